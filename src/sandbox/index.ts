/**
 * The XNAT sandbox: a faithful re-implementation of XNAT's REST API over real HTTP on loopback.
 * Test tooling (fault injection, generated archives) lives in the testing entry (testing.ts).
 */
export { startSandbox, type RunningSandbox, type SandboxOptions } from './server.js';
export { SandboxHttpError } from './errors.js';
export type { SandboxHooks } from './hooks.js';
export type * from './model.js';
export { createDemoArchive } from './seed.js';
