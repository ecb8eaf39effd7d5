/** Issue 11's proof on the MCP route (test-support/routing-suite.ts). */
import { routingSuite } from '../../test-support/routing-suite.js';

await routingSuite({ mode: 'mcp', namespace: 'mb-routing-mcp' });
