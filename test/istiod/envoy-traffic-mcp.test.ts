/** A real Envoy carrying traffic on the MCP route (test-support/envoy-suite.ts). */
import { envoySuite } from '../../test-support/envoy-suite.js';

await envoySuite({ mode: 'mcp', namespace: 'mb-envoy-mcp' });
