// Pure parsing of the directory file: one instance per line,
//   <service> <address>:<port> [key=value ...]     # comment
// Blank lines and comments are skipped. Each bad line is a coded problem; its neighbours stay.

/**
 * @param {string} text the file
 * @param {{ registry: string, file: string, portName: string, protocol: string, kit: import('meshbridge/registry-kit').RegistryKit }} o
 * @returns {{ services: import('meshbridge/registry-kit').Service[], problems: import('meshbridge/registry-kit').MeshbridgeError[] }}
 */
export function parseDirectory(text, o) {
  const { kit } = o;
  const problems = [];
  const byName = new Map();
  const bad = (code, line, message) => problems.push(new kit.MeshbridgeError(code, message, { path: `${o.file}:${line}`, details: { registry: o.registry, line } }));
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const content = raw.replace(/#.*/, '').trim();
    if (content === '') return;
    const [name, target, ...pairs] = content.split(/\s+/);
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):([0-9]{1,5})$/.exec(target ?? '');
    if (m === null) return bad(kit.ErrorCode.ENTRY_INVALID, line, `expected "<service> <address>:<port>", got "${content.slice(0, 60)}"; line skipped`);
    const address = kit.normaliseAddress(m[1], { refuseUnspecified: true });
    if (address === undefined) return bad(kit.ErrorCode.ENTRY_BAD_ADDRESS, line, `"${m[1]}" is not an IP address or DNS name; line skipped`);
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return bad(kit.ErrorCode.ENTRY_BAD_PORT, line, `port ${m[2]} is outside 1-65535; line skipped`);
    const labels = {};
    for (const p of pairs) {
      const eq = p.indexOf('=');
      if (eq <= 0) bad(kit.ErrorCode.ENTRY_INVALID, line, `"${p}" is not key=value; ignored`);
      else labels[p.slice(0, eq)] = p.slice(eq + 1);
    }
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name).push({ address, ports: { [o.portName]: port }, labels, health: kit.Health.UNKNOWN, origin: o.registry });
  });
  const services = [...byName].map(([name, endpoints]) => ({
    registry: o.registry,
    registryKind: 'lines',
    name,
    attributes: {},
    ports: [{ number: endpoints[0].ports[o.portName], name: o.portName, protocol: o.protocol }],
    endpoints,
  }));
  return { services, problems };
}
