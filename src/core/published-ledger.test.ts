// PublishedLedger on its own: deltas, keys moving between hosts, duplicate keys, shared entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PublishedLedger } from './published-ledger.js';
import { ResourceKind, type IstioResource } from '../snapshot/index.js';
import { buildResource } from '../convert/resource.js';

/** A ServiceEntry named `name` (a new object on every call). */
const res = (name: string): IstioResource => buildResource(ResourceKind.ServiceEntry, 'ns', name, {}, {}, {});

const names = (rs: readonly IstioResource[]): string[] => rs.map((r) => r.name);

test('a delta upserts what a host has now and removes what it no longer has', () => {
  const l = new PublishedLedger();
  l.record('a', [res('a'), res('a-we')]);
  const now = new Map([['a', [res('a')]], ['b', [res('b')]]]);
  const d = l.delta(['a', 'b'], (h) => now.get(h) ?? []);
  assert.deepEqual(names(d?.upserts ?? []), ['a', 'b']);
  assert.deepEqual(names(d?.removed ?? []), ['a-we']);
  const again = l.delta(['a'], () => []);
  assert.deepEqual(names(again?.removed ?? []), ['a'], 'the recorded state moved on');
});

test('a key moving to another host declines the delta; one key under two owners makes deltas inexact', () => {
  const l = new PublishedLedger();
  l.record('a', [res('x')]);
  assert.equal(l.delta(['b'], () => [res('x')]), undefined);
  assert.equal(l.deltasExact, true);
  l.record('b', [res('x')]);
  assert.equal(l.deltasExact, false);
  l.restart();
  assert.equal(l.deltasExact, true);
});

test('shared entries: all of them in a full list, those gone as removed in a delta', () => {
  const l = new PublishedLedger();
  const full = { all: [] as IstioResource[] };
  l.shared([res('s1'), res('s2')], full);
  assert.deepEqual(names(full.all), ['s1', 's2']);
  const delta = { upserts: [] as IstioResource[], removed: [] as IstioResource[] };
  l.shared([res('s2')], delta);
  assert.deepEqual(names(delta.upserts), ['s2']);
  assert.deepEqual(names(delta.removed), ['s1']);
  l.record('h', [res('s2')]);
  assert.equal(l.deltasExact, false, 'a host took a shared key');
});
