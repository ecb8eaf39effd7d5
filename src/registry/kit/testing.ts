/**
 * `meshbridge/registry-kit/testing` (package.json "exports"): the test kit the built-in kinds use,
 * for a plug-in's own tests (docs/plugins.md, "Testing a plug-in"): the conformance check every
 * adapter passes, the common wiring with test defaults, a recorder of events and problems, a
 * short poll, and an in-memory registry.
 */
export { checkRegistryConformance, type ConformanceSubject } from './conformance.js';
export { adapterCommon } from '../testing/adapter-options.js';
export { Recorder, until, addressesOf, expectOutage, expectSecondStartRefused, type OutageCheck } from '../testing/adapter-run.js';
export { FakeRegistry, svc } from '../testing/fake-registry.js';
