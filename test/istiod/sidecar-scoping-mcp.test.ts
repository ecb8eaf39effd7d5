/** Sidecar scoping from consumers (ADR 0023) on the MCP route (test-support/sidecar-suite.ts). */
import { sidecarSuite } from '../../test-support/sidecar-suite.js';

await sidecarSuite({ mode: 'mcp', namespace: 'mb-sidecars-mcp' });
