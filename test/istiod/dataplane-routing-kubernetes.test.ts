/** Issue 11's proof on the Kubernetes route (test-support/routing-suite.ts). */
import { routingSuite } from '../../test-support/routing-suite.js';

await routingSuite({ mode: 'kubernetes', namespace: 'mb-routing-kube' });
