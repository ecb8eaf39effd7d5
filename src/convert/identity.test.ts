import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Health, type Endpoint, type Service } from '../model/index.js';
import { identityTemplateProblem, isServiceAccountName, renderIdentity, serviceAccountOf, type IdentityRules } from './identity.js';

const e = (labels: Record<string, string> = {}): Endpoint => ({ address: '10.0.0.1', ports: {}, labels, health: Health.HEALTHY, origin: 'zk' });
const s: Service = {
  registry: 'zk',
  registryKind: 'zookeeper',
  name: 'com.shop.Cart',
  namespace: 'shop',
  attributes: { group: 'prod', application: 'cart-app' },
  ports: [],
  endpoints: [],
};

test('templates render built-ins, service attributes and endpoint metadata', () => {
  assert.equal(renderIdentity({ serviceAccount: '{attributes.application}' }, s, e()), 'cart-app');
  assert.equal(renderIdentity({ serviceAccount: '{labels.application}-{attributes.group}' }, s, e({ application: 'cart' })), 'cart-prod');
  assert.equal(renderIdentity({ serviceAccount: '{registry}.{kind}.{namespace}' }, s, e()), 'zk.zookeeper.shop');
  assert.equal(renderIdentity({ serviceAccount: 'fixed' }, s, e()), 'fixed');
  assert.equal(renderIdentity({ serviceAccount: '{labels.missing}' }, s, e()), undefined);
  assert.equal(renderIdentity({ serviceAccount: 'sa-{labels.app}' }, s, e({ app: '' })), undefined, 'an empty value counts as absent');
});

test('serviceAccountOf: map, fallback for a missing value, none when invalid (never the fallback)', () => {
  const rules: IdentityRules = { serviceAccount: '{labels.application}', map: { CartApp: 'cart' }, fallback: 'registry-default' };
  assert.deepEqual(serviceAccountOf(rules, s, e({ application: 'orders' })), { account: 'orders' });
  assert.deepEqual(serviceAccountOf(rules, s, e({ application: 'CartApp' })), { account: 'cart' }, 'the table translates');
  assert.deepEqual(serviceAccountOf(rules, s, e()), { account: 'registry-default' });
  assert.deepEqual(serviceAccountOf(rules, s, e({ application: 'Bad_Name' })), { invalid: 'Bad_Name' });
  assert.deepEqual(serviceAccountOf({ serviceAccount: '{labels.application}' }, s, e()), { none: true });
  assert.deepEqual(serviceAccountOf({ serviceAccount: '{labels.a}' }, s, e({ a: 'x'.repeat(254) })), { invalid: 'x'.repeat(254) });
});

test('identityTemplateProblem accepts the placeholders and names what is wrong', () => {
  assert.equal(identityTemplateProblem('{attributes.application}'), undefined);
  assert.equal(identityTemplateProblem('sa-{labels.dubbo.application}'), undefined);
  assert.match(identityTemplateProblem('{app}') ?? '', /unknown placeholder \{app\}/);
  assert.match(identityTemplateProblem('{labels.app') ?? '', /unbalanced/);
  assert.match(identityTemplateProblem('{labels.}') ?? '', /unknown placeholder/);
});

test('service account names are DNS-1123 subdomains', () => {
  assert.ok(isServiceAccountName('cart'));
  assert.ok(isServiceAccountName('cart.v1-a'));
  for (const bad of ['', 'Cart', 'cart_app', '-cart', 'cart.', 'a'.repeat(64)]) assert.ok(!isServiceAccountName(bad), bad);
});
