// Example Meshbridge registry plug-in (docs/plugins.md): services from a line-based directory
// file, the kind of home-grown registry a team keeps in a repository or on a share:
//
//   orders   10.1.0.11:8080  version=v1
//   orders   10.1.0.12:8080  version=v2
//
// Config:
//   - name: legacy
//     kind: plugin
//     namespace: shop
//     plugin:
//       package: "@acme/meshbridge-registry-lines"
//       settings: { path: directory.txt, intervalMs: 2000 }
//
// Plain ESM, no dependencies: everything it builds on comes in `kit` from the Meshbridge that
// loads it (ServiceSetRegistry, errors and codes, helpers).
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parseDirectory } from './parse.js';

/** @type {import('meshbridge/registry-kit').RegistryPlugin<{ path: string, intervalMs: number, portName: string, protocol: string }>} */
export const registryPlugin = {
  apiVersion: 1,
  kind: 'lines',
  description: 'services from a line-based directory file (<service> <address>:<port> [key=value ...])',
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['path'],
    properties: {
      path: { type: 'string', minLength: 1, description: 'The directory file; relative to the config file.' },
      intervalMs: { type: 'integer', minimum: 100, default: 2000, description: 'How often the file is checked for a change.' },
      portName: { type: 'string', pattern: '^[a-z][a-z0-9-]*$', default: 'http', description: 'Name of the one port (its protocol follows from it).' },
    },
  },
  check(settings, add) {
    if (settings.portName === 'tcp' && settings.path.endsWith('.http')) add(['portName'], 'a .http directory wants an http port');
  },
  resolve(settings, base) {
    const portName = settings.portName ?? 'http';
    return {
      path: isAbsolute(settings.path) ? settings.path : resolve(base, settings.path),
      intervalMs: settings.intervalMs ?? 2000,
      portName,
      protocol: portName.startsWith('grpc') ? 'GRPC' : portName.startsWith('http') ? 'HTTP' : 'TCP',
    };
  },
  create(settings, common, kit) {
    return new LinesRegistry(settings, common, kit);
  },
};

/** Built lazily: the class extends the host's ServiceSetRegistry, which arrives with `kit`. */
let LinesRegistryClass;

function LinesRegistry(settings, common, kit) {
  LinesRegistryClass ??= defineClass(kit);
  return new LinesRegistryClass(settings, common, kit);
}

function defineClass(kit) {
  return class extends kit.ServiceSetRegistry {
    constructor(settings, common, kit_) {
      super(common.name, 'lines'); // no I/O here
      this.settings = settings;
      this.common = common;
      this.kit = kit_;
      this.once = new kit_.ReportOnce((e) => common.context.report(e));
      this.lastText = undefined;
      this.backoff = new kit_.Backoff({ initialMs: settings.intervalMs, maxMs: 10 * settings.intervalMs });
    }

    async start(signal) {
      if (!this.claimStart(signal)) return;
      await this.superviseUntilFirst(signal, (e) => this.common.context.report(e), async (firstDone) => {
        while (!signal.aborted) {
          const ok = await this.readOnce();
          firstDone();
          await this.kit.sleep(ok ? this.settings.intervalMs : this.backoff.next(), signal);
        }
      });
    }

    async readOnce() {
      const { kit, settings, common } = this;
      try {
        const text = await readFile(settings.path, 'utf8');
        if (text !== this.lastText) {
          const { services, problems } = parseDirectory(text, { registry: this.name, file: settings.path, portName: settings.portName, protocol: settings.protocol, kit });
          // Each persisting problem is reported once; one that went away may be reported again later.
          const now = new Set(problems.map((p) => p.path ?? p.message));
          for (const key of this.problemKeys ?? []) if (!now.has(key)) this.once.clear(key);
          this.problemKeys = now;
          for (const p of problems) this.once.problem(p.path ?? p.message, p);
          this.replaceAll(services);
          this.lastText = text;
        } else {
          this.markSyncedNow();
        }
        this.backoff.reset();
        if (this.sourceRecovered()) common.logger.info({ path: settings.path }, 'directory file readable again');
        return true;
      } catch (e) {
        this.sourceFailed(new kit.MeshbridgeError(kit.ErrorCode.SOURCE_READ, `cannot read the directory file: ${kit.describeError(e)}`, { path: settings.path, cause: e }), (x) => common.context.report(x));
        return false;
      }
    }
  };
}
