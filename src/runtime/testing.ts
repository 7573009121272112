/**
 * What tests of this module and of the services above it use, and production code never does
 * (the public surface is index.ts): the fake runtime, tiny OCI bundles for the real one, and the
 * runtime suite every driver runs.
 */
export { FakeRuntime, type FakeProgram, type FakeTask } from './fake.ts';
export { makeBusyboxRootfs, makeTestBundle, type TestBundleOptions } from './test-bundle.ts';
export { runtimeSuite, taskId, type RuntimeFixture, type TaskShape } from './suite.ts';
