/**
 * Envoy's filter-chain selection (FilterChainManagerImpl::findFilterChain): a decision tree over
 * destination port, destination IP, server name, transport protocol, application protocols,
 * direct source IP, source type, source IP and source port. At each level the most specific value
 * that matches the connection wins and only the chains holding it go on; there is no
 * backtracking: when no chain matches at a later level the listener's default_filter_chain is
 * used (or the connection is closed).
 */
import { cidrContains, parseCidr, parseIp, type Cidr, type Ip } from './cidr.js';
import { unwrap, type FilterChain, type FilterChainMatch } from './types.js';

/** What the listener filters know about a connection when a chain is chosen. */
export interface ConnectionFacts {
  readonly destinationIp: string;
  readonly destinationPort: number;
  /** SNI; '' for plaintext. */
  readonly serverName: string;
  /** 'raw_buffer' for plaintext ('tls' when tls_inspector saw a ClientHello). */
  readonly transportProtocol: string;
  /** As http_inspector sets them: ['http/1.1'], ['h2c'], or [] (not HTTP, or not inspected). */
  readonly applicationProtocols: readonly string[];
  /** The peer's address, when known; chains with source conditions match only when it is. */
  readonly sourceIp?: string;
  readonly sourcePort?: number;
}

interface CompiledChain {
  readonly index: number;
  readonly chain: FilterChain;
  readonly port: number | undefined;
  readonly destination: readonly Cidr[];
  readonly serverNames: readonly string[];
  readonly transport: string;
  readonly alpn: readonly string[];
  readonly directSource: readonly Cidr[];
  readonly sourceType: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  readonly source: readonly Cidr[];
  readonly sourcePorts: readonly number[];
}

export interface ChainChoice {
  /** Index into filter_chains, or -1 for the default_filter_chain. */
  readonly index: number;
  readonly chain: FilterChain;
  /** Why: the level that decided, for traces. */
  readonly why: string;
  /** More than one chain was left after every level (Envoy refuses such a listener). */
  readonly ambiguous: boolean;
}

const compiled = new WeakMap<readonly FilterChain[], readonly CompiledChain[]>();

function compileOne(chain: FilterChain, index: number): CompiledChain {
  const m: FilterChainMatch = chain.filter_chain_match ?? {};
  const cidrs = (r: FilterChainMatch['prefix_ranges']): Cidr[] => (r ?? []).map(parseCidr).filter((c): c is Cidr => c !== undefined);
  const port = unwrap(m.destination_port, 0);
  return {
    index,
    chain,
    port: port === 0 ? undefined : port,
    destination: cidrs(m.prefix_ranges),
    serverNames: (m.server_names ?? []).map((n) => n.toLowerCase()),
    transport: m.transport_protocol ?? '',
    alpn: m.application_protocols ?? [],
    directSource: cidrs(m.direct_source_prefix_ranges),
    sourceType: m.source_type ?? 'ANY',
    source: cidrs(m.source_prefix_ranges),
    sourcePorts: m.source_ports ?? [],
  };
}

function compile(chains: readonly FilterChain[]): readonly CompiledChain[] {
  let c = compiled.get(chains);
  if (c === undefined) {
    c = chains.map(compileOne);
    compiled.set(chains, c);
  }
  return c;
}

/** Longest prefix of `ranges` holding `ip`; 0 for no ranges (any address); -1 for none matching. */
function prefixScore(ranges: readonly Cidr[], ip: Ip | undefined): number {
  if (ranges.length === 0) return 0;
  if (ip === undefined) return -1;
  let best = -1;
  for (const r of ranges) if (r.length > best && cidrContains(r, ip)) best = r.length;
  return best;
}

/** Keeps the candidates with the highest non-negative score; empty when none scores >= 0. */
function keepBest(cands: readonly CompiledChain[], score: (c: CompiledChain) => number): CompiledChain[] {
  let best = -1;
  let out: CompiledChain[] = [];
  for (const c of cands) {
    const s = score(c);
    if (s < 0 || s < best) continue;
    if (s > best) {
      best = s;
      out = [];
    }
    out.push(c);
  }
  return out;
}

/** Server-name score: exact 1000+, wildcard "*.x" by suffix length, no names 0. */
function serverNameScore(names: readonly string[], sni: string): number {
  if (names.length === 0) return 0;
  if (sni === '') return -1;
  let best = -1;
  for (const n of names) {
    if (n === sni) return 100_000;
    if (n.startsWith('*.') && sni.endsWith(n.slice(1)) && n.length - 1 > best) best = n.length - 1;
  }
  return best;
}

function isLoopbackOrSame(source: Ip, destination: Ip | undefined): boolean {
  if (destination !== undefined && source.v6 === destination.v6 && source.value === destination.value) return true;
  return source.v6 ? source.value === 1n : source.value >> 24n === 127n;
}

/**
 * Chooses the filter chain of `chains` (a listener's filter_chains) for a connection, or the
 * `defaultChain`; undefined when neither applies (Envoy closes the connection). Compiles each
 * filter_chains array once (cached by identity).
 */
export function selectFilterChain(chains: readonly FilterChain[], defaultChain: FilterChain | undefined, facts: ConnectionFacts): ChainChoice | undefined {
  const all = compile(chains);
  const dst = parseIp(facts.destinationIp);
  const src = facts.sourceIp !== undefined ? parseIp(facts.sourceIp) : undefined;
  const levels: Array<[string, (c: CompiledChain) => number]> = [
    ['destination_port', (c) => (c.port === undefined ? 0 : c.port === facts.destinationPort ? 1 : -1)],
    ['prefix_ranges', (c) => prefixScore(c.destination, dst)],
    ['server_names', (c) => serverNameScore(c.serverNames, facts.serverName.toLowerCase())],
    ['transport_protocol', (c) => (c.transport === '' ? 0 : c.transport === facts.transportProtocol ? 1 : -1)],
    ['application_protocols', (c) => (c.alpn.length === 0 ? 0 : facts.applicationProtocols.some((p) => c.alpn.includes(p)) ? 1 : -1)],
    ['direct_source_prefix_ranges', (c) => prefixScore(c.directSource, src)],
    [
      'source_type',
      (c) => {
        if (c.sourceType === 'ANY') return 0;
        if (src === undefined) return -1;
        return (c.sourceType === 'SAME_IP_OR_LOOPBACK') === isLoopbackOrSame(src, dst) ? 1 : -1;
      },
    ],
    ['source_prefix_ranges', (c) => prefixScore(c.source, src)],
    ['source_ports', (c) => (c.sourcePorts.length === 0 ? 0 : facts.sourcePort !== undefined && c.sourcePorts.includes(facts.sourcePort) ? 1 : -1)],
  ];
  let cands: readonly CompiledChain[] = all;
  let decided = 'only chain';
  for (const [name, score] of levels) {
    const before = cands.length;
    cands = keepBest(cands, score);
    if (cands.length === 0) {
      return defaultChain !== undefined ? { index: -1, chain: defaultChain, why: `default_filter_chain (no chain matched at ${name})`, ambiguous: false } : undefined;
    }
    if (cands.length < before) decided = name;
  }
  const first = cands[0]!;
  return { index: first.index, chain: first.chain, why: `decided by ${decided}`, ambiguous: cands.length > 1 };
}
