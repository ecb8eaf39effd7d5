/**
 * convert: the pure conversion (src/convert) on its own, no cache: hostFor + convert for 10,000
 * ordinary services, and one 5,000-endpoint service in WorkloadEntry form (5,001 resources).
 *
 * Baseline: JSON.stringify of the same input services — one pass that visits every field with
 * no logic. It is a floor, not an alternative implementation: the ratio says how many
 * "serialise the input once" the conversion costs (conversion sorts, sanitises labels, builds
 * names and hashes every resource's content with SHA-256).
 */
import { convert, hostFor } from '../src/convert/index.js';
import type { Service } from '../src/model/index.js';
import { benchServices, bigService, options, SERVICES, workloadEntryOptions } from './data.js';
import { Compare, Role, runCase, timeSync, type Bench, type CaseResult } from './harness.js';

const BIG_ENDPOINTS = 5_000;


function convertAll(services: readonly Service[]): number {
  let resources = 0;
  for (const s of services) {
    const host = hostFor(s, options);
    resources += convert({ host, primary: s, ports: s.ports, endpoints: s.endpoints, origins: [s.registry] }, options).resources.length;
  }
  return resources;
}

function stringifyAll(services: readonly Service[]): number {
  let chars = 0;
  for (const s of services) chars += JSON.stringify(s).length;
  return chars;
}

export const convertBench: Bench = {
  name: 'convert',
  title: 'Pure conversion: 10,000 services; one 5,000-endpoint service as WorkloadEntries',
  description:
    'hostFor + convert (src/convert) for 10,000 services (3 endpoints, 2 ports, 4 instance labels, locality, weight) in inline form, and ' +
    'convert of one service with 5,000 endpoints in WorkloadEntry form (1 ServiceEntry + 5,000 WorkloadEntries). No caching: this is the ' +
    'cost the pipeline pays for every host whose input changed. Baseline: JSON.stringify of the same services, a floor that touches every ' +
    'field once with no logic. Why: conversion is the per-change CPU cost; the 5,000-endpoint case is the largest single host a Dubbo or ' +
    'Eureka registry realistically has.',
  compare: Compare.TIME,
  async run(): Promise<CaseResult[]> {
    const services = benchServices();
    const big = bigService(BIG_ENDPOINTS);
    const bigHost = hostFor(big, workloadEntryOptions);
    let produced = 0;
    let bigProduced = 0;
    let chars = 0;
    const out: CaseResult[] = [];
    out.push(
      await runCase({
        label: 'hostFor + convert, 10,000 services (inline)',
        role: Role.SUBJECT,
        baseline: 'JSON.stringify, 10,000 services',
        n: SERVICES,
        unit: 'services',
        warmup: 2,
        iterations: 10,
        step: () =>
          timeSync(() => {
            produced = convertAll(services);
          }),
        notes: () => [`${produced} resources`],
      }),
    );
    out.push(
      await runCase({
        label: 'JSON.stringify, 10,000 services',
        role: Role.BASELINE,
        n: SERVICES,
        unit: 'services',
        warmup: 2,
        iterations: 10,
        step: () =>
          timeSync(() => {
            chars = stringifyAll(services);
          }),
        notes: () => [`${chars.toLocaleString('en-US')} characters of JSON`],
      }),
    );
    out.push(
      await runCase({
        label: 'convert, 1 service x 5,000 endpoints (WorkloadEntry form)',
        role: Role.SUBJECT,
        baseline: 'JSON.stringify, 1 service x 5,000 endpoints',
        n: BIG_ENDPOINTS,
        unit: 'endpoints',
        warmup: 2,
        iterations: 15,
        step: () =>
          timeSync(() => {
            bigProduced = convert({ host: bigHost, primary: big, ports: big.ports, endpoints: big.endpoints, origins: [big.registry] }, workloadEntryOptions).resources.length;
          }),
        notes: () => [`${bigProduced} resources`],
      }),
    );
    out.push(
      await runCase({
        label: 'JSON.stringify, 1 service x 5,000 endpoints',
        role: Role.BASELINE,
        n: BIG_ENDPOINTS,
        unit: 'endpoints',
        warmup: 2,
        iterations: 15,
        step: () =>
          timeSync(() => {
            chars = JSON.stringify(big).length;
          }),
        notes: () => [`${chars.toLocaleString('en-US')} characters of JSON`],
      }),
    );
    return out;
  },
};
