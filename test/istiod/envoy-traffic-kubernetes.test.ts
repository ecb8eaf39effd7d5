/** A real Envoy carrying traffic on the Kubernetes route (test-support/envoy-suite.ts). */
import { envoySuite } from '../../test-support/envoy-suite.js';

await envoySuite({ mode: 'kubernetes', namespace: 'mb-envoy-kube' });
