/**
 * Sharded MCP (ADR 0016) through the real istiod: Meshbridge serves 4 config sources, istiod
 * lists all four; a sidecar-posing xDS client of istiod must get exactly the routing the
 * unsharded route gives (test-support/routing-suite.ts checks every published entry).
 */
import { routingSuite } from '../../test-support/routing-suite.js';

await routingSuite({ mode: 'mcp', namespace: 'mb-routing-mcp-sharded', shards: 4 });
