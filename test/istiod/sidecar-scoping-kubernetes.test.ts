/** Sidecar scoping from consumers (ADR 0023) on the Kubernetes route (test-support/sidecar-suite.ts). */
import { sidecarSuite } from '../../test-support/sidecar-suite.js';

await sidecarSuite({ mode: 'kubernetes', namespace: 'mb-sidecars-kube' });
