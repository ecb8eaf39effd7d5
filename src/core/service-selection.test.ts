import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConversionOptions, type ConversionOptions } from '../convert/options.js';
import { Health, type Service } from '../model/index.js';
import { ServiceSelection } from './service-selection.js';

const svc = (name: string, envs: readonly string[]): Service => ({
  registry: 'r',
  registryKind: 'file',
  name,
  attributes: {},
  ports: [],
  endpoints: envs.map((env, i) => ({ address: `10.0.0.${i + 1}`, ports: {}, labels: { env }, health: Health.HEALTHY, origin: 'r' })),
});

test('note() keeps the counts exact through exclusion, narrowing, keeping and deletion', () => {
  const conversion = new Map<string, ConversionOptions>([
    ['r', { ...defaultConversionOptions, selection: { services: { exclude: ['x-*'] }, endpoints: { metadata: { env: { include: ['prod'] } }, scope: 'endpoints' } } }],
  ]);
  const sel = new ServiceSelection(conversion);
  const stats = () => sel.stats(['r'])[0];
  sel.note('r', 'k', svc('x-a', ['prod', 'prod']));
  assert.deepEqual(stats(), { registry: 'r', excludedServices: 1, excludedEndpoints: 2, narrowedServices: 0 });
  sel.note('r', 'k', svc('a', ['prod', 'test', 'test']));
  assert.deepEqual(stats(), { registry: 'r', excludedServices: 0, excludedEndpoints: 2, narrowedServices: 1 });
  sel.note('r', 'k', svc('a', ['prod']));
  assert.deepEqual(stats(), { registry: 'r', excludedServices: 0, excludedEndpoints: 0, narrowedServices: 0 });
  assert.deepEqual(sel.list('r', 10), []);
  sel.note('r', 'k', svc('x-b', ['prod']));
  sel.note('r', 'j', svc('x-c', []));
  assert.deepEqual(sel.list('r', 10).map((r) => [r.service, r.rule]), [['x-b', 'services.exclude "x-*"'], ['x-c', 'services.exclude "x-*"']]);
  assert.deepEqual(sel.list('r', 0), [], 'limit 0 lists nothing (registryz wants only the counts)');
  sel.note('r', 'k', undefined);
  assert.deepEqual(stats(), { registry: 'r', excludedServices: 1, excludedEndpoints: 0, narrowedServices: 0 });
  sel.retain(new Set());
  assert.deepEqual(stats(), { registry: 'r', excludedServices: 0, excludedEndpoints: 0, narrowedServices: 0 });
});

test('outcomes are memoised per service object until reset(); pick gives the same narrowed copy', () => {
  const conversion = new Map<string, ConversionOptions>([['r', { ...defaultConversionOptions, selection: { endpoints: { metadata: { env: { include: ['prod'] } }, scope: 'endpoints' } } }]]);
  const sel = new ServiceSelection(conversion);
  const s = svc('a', ['prod', 'test']);
  const p = sel.pick(s);
  assert.ok(p !== undefined && p !== s && p.endpoints.length === 1);
  assert.equal(sel.pick(s), p, 'the same copy: conversion caches keyed by service object keep hitting');
  conversion.set('r', { ...defaultConversionOptions, selection: { services: { exclude: ['a'] } } });
  assert.equal(sel.pick(s), p, 'memoised until reset');
  sel.reset();
  assert.equal(sel.pick(s), undefined, 'the new rules apply after reset');
  conversion.set('r', defaultConversionOptions);
  sel.reset();
  assert.equal(sel.pick(s), s, 'no rules: the service itself');
});
