/**
 * Selection (registries[].select, src/convert/selection.ts): what deciding which services to
 * import costs per service, for the rule shapes users write, against a floor.
 */
import { compileSelection, type SelectionRules } from '../src/convert/selection.js';
import { Health, type Endpoint, type Service } from '../src/model/index.js';
import { Compare, Role, runCase, timeSync, type Bench, type CaseResult } from './harness.js';

const N = 100_000;

function ep(address: string, env: string): Endpoint {
  return { address, ports: {}, labels: { env }, health: Health.HEALTHY, origin: 'bench' };
}

/** 100,000 services, 3 endpoints each: a third `com.shop.*`, the rest `org.a.*`; every 5th in group dev. */
function services(): Service[] {
  return Array.from({ length: N }, (_, i) => ({
    registry: 'bench',
    registryKind: 'file',
    name: i % 3 === 0 ? `com.shop.S${i}` : `org.a.S${i}`,
    attributes: { group: i % 5 === 0 ? 'dev' : 'prod' },
    ports: [],
    endpoints: [ep('10.0.0.1', 'prod'), ep('10.0.0.2', i % 2 === 0 ? 'test' : 'prod'), ep('10.0.0.3', 'prod')],
  }));
}

const NAMES: SelectionRules = { services: { include: ['com.shop.*', '/org\\.(a|b)\\..*/'], exclude: ['*Internal*'] }, attributes: {} };
const ATTRIBUTES: SelectionRules = { ...NAMES, attributes: { group: { include: ['prod'] } } };
const METADATA: SelectionRules = { ...ATTRIBUTES, endpoints: { metadata: { env: { exclude: ['test'] } }, scope: 'endpoints' } };

export const selectionBench: Bench = {
  name: 'selection',
  title: 'Selection: deciding which of 100,000 services (3 endpoints each) to import',
  description:
    'compileSelection(rules).apply over 100,000 services, for three rule sets: service names (two includes, a glob and a regex, one ' +
    'exclude glob); plus one attribute include; plus one endpoint-metadata exclude (scope endpoints: half the services get a narrowed ' +
    'copy). Baseline: a floor that reads each service name once (startsWith). Why: a full pass evaluates every service; the pipeline ' +
    'then keeps each outcome until the service changes, so a flush after one change evaluates one.',
  compare: Compare.TIME,
  async run(): Promise<CaseResult[]> {
    const all = services();
    const out: CaseResult[] = [];
    for (const [label, rules] of [
      ['names: 2 includes (glob, regex), 1 exclude glob', NAMES],
      ['names + one attribute include', ATTRIBUTES],
      ['names + attribute + endpoint-metadata exclude (scope endpoints)', METADATA],
    ] as const) {
      const sel = compileSelection(rules);
      let kept = 0;
      out.push(
        await runCase({
          label,
          role: Role.SUBJECT,
          baseline: 'floor: read every name once',
          n: N,
          unit: 'services',
          warmup: 2,
          iterations: 10,
          step: () =>
            timeSync(() => {
              kept = 0;
              for (const s of all) if ('kept' in sel.apply(s)) kept++;
            }),
          notes: () => [`${kept.toLocaleString('en-US')} kept`],
        }),
      );
    }
    let shop = 0;
    out.push(
      await runCase({
        label: 'floor: read every name once',
        role: Role.BASELINE,
        n: N,
        unit: 'services',
        warmup: 2,
        iterations: 10,
        step: () =>
          timeSync(() => {
            shop = 0;
            for (const s of all) if (s.name.startsWith('com.shop.')) shop++;
          }),
        notes: () => [`${shop.toLocaleString('en-US')} match`],
      }),
    );
    return out;
  },
};
