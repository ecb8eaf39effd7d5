/**
 * The schema of registries[].select and registries[].identity (convert/selection.ts,
 * convert/identity.ts): a part of buildSchema (schema.ts), kept apart to keep files small.
 */
import { EndpointScope } from '../convert/selection.js';
import type { JsonSchema, SchemaBuilder } from '../registry/kind.js';
import { Patterns } from './patterns.js';

/** Include/exclude patterns for one value (convert/selection.ts). */
function patternList(s: SchemaBuilder, what: string): JsonSchema {
  const list = (d: string): JsonSchema => ({ type: 'array', description: d, items: s.str('A glob (* and ?) or a /regular expression/ (optionally /.../i); either must match the whole value.', { minLength: 1 }) });
  return s.object(`Patterns for ${what}; an absent value is matched as "". Kept: include empty or absent or one include matches, and no exclude matches.`, {
    include: list('Keep only values matching one of these.'),
    exclude: list('Drop values matching one of these (wins over include).'),
  });
}

/** registries[].select (docs/mapping.md#selection). */
export function selectSchema(s: SchemaBuilder): JsonSchema {
  const byKey = (what: string, d: string): JsonSchema => ({ type: 'object', description: d, propertyNames: { minLength: 1 }, additionalProperties: patternList(s, what) });
  return s.object('Which services and endpoints of this registry are published (docs/mapping.md#selection); the others are not, and the deletion guard does not count them as lost. Absent: everything.', {
    services: patternList(s, 'the registry-native service name (Dubbo interface, Consul service, Eureka app, ...)'),
    namespaces: patternList(s, "the service's registry namespace (Nacos namespace, Consul datacenter[/partition][/namespace], etcd or file namespace)"),
    attributes: byKey('this service attribute', 'Patterns per service attribute: group, version, interface, application (zookeeper), group (nacos), datacenter, partition, consulNamespace (consul), app, vipAddress (eureka), key placeholders (etcd), attributes (file).'),
    endpoints: s.object('Selection by instance metadata.', {
      metadata: byKey('this metadata key', 'Patterns per instance metadata key: an endpoint matches when every key listed passes.'),
      scope: s.str('endpoints: publish only the matching endpoints (the service stays, possibly without endpoints); services: publish a service whole when at least one endpoint matches, else exclude it.', { enum: Object.values(EndpointScope), default: EndpointScope.ENDPOINTS }),
    }, ['metadata']),
  });
}

/** registries[].identity (docs/identity.md). */
export function identitySchema(s: SchemaBuilder): JsonSchema {
  return s.object('The Kubernetes service account of each endpoint, set as serviceAccount on inline endpoints and WorkloadEntries: the SPIFFE identity istiod gives the workload for mTLS and AuthorizationPolicy (docs/identity.md).', {
    serviceAccount: s.str('Template of the account: text with {name}, {namespace}, {registry}, {kind}, {attributes.KEY} (a service attribute) and {labels.KEY} (instance metadata), e.g. {labels.application}.', { minLength: 1 }),
    map: {
      type: 'object',
      description: 'Rendered value -> service account (e.g. application name -> account); values not listed are used as rendered.',
      propertyNames: { minLength: 1 },
      additionalProperties: s.str('A service account name (DNS-1123 subdomain).', { pattern: Patterns.DNS_SUBDOMAIN, maxLength: 253 }),
    },
    fallback: s.str('Account of endpoints for which a placeholder has no value. Absent: those get none. Never used for an invalid rendered account (MB_IDENTITY_INVALID: published without one).', { pattern: Patterns.DNS_SUBDOMAIN, maxLength: 253 }),
  }, ['serviceAccount']);
}

