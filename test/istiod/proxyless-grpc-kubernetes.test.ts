/**
 * The Kubernetes route proven from the data plane: file registry -> `meshbridge run`
 * (sinks.kubernetes) -> ServiceEntries in a kube-apiserver with the pinned release's CRDs ->
 * istiod in Kubernetes mode -> a proxyless gRPC client (@grpc/grpc-js-xds) -> real gRPC servers on
 * loopback. The checks are in test-support/proxyless-suite.ts.
 */
import { proxylessSuite } from '../../test-support/proxyless-suite.js';

await proxylessSuite({ mode: 'kubernetes', namespace: 'mb-grpc-k8s' });
