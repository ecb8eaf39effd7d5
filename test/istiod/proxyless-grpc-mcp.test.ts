/**
 * The MCP route proven from the data plane: file registry -> `meshbridge run` (sinks.xds) ->
 * istiod (Istio config only over MCP; services and pods from a kube-apiserver, the hybrid mode the
 * pinned istiod needs) -> a proxyless gRPC client (@grpc/grpc-js-xds) -> real gRPC servers on
 * loopback. The checks are in test-support/proxyless-suite.ts.
 */
import { proxylessSuite } from '../../test-support/proxyless-suite.js';

await proxylessSuite({ mode: 'mcp', namespace: 'mb-grpc-mcp' });
