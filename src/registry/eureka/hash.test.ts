import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileHashCode } from './hash.js';

test('reconcile hash: <STATUS>_<count>_ in status-name order, as Applications.getReconcileHashCode', () => {
  const cases: Array<[string[], string]> = [
    [[], ''],
    [['UP'], 'UP_1_'],
    [['UP', 'UP', 'UP', 'DOWN'], 'DOWN_1_UP_3_'],
    [['UP', 'OUT_OF_SERVICE'], 'OUT_OF_SERVICE_1_UP_1_'],
    [['STARTING', 'UNKNOWN', 'DOWN', 'UP', 'OUT_OF_SERVICE', 'UP'], 'DOWN_1_OUT_OF_SERVICE_1_STARTING_1_UNKNOWN_1_UP_2_'],
  ];
  for (const [statuses, want] of cases) assert.equal(reconcileHashCode(statuses), want, statuses.join(','));
});
