/** The XNAT sandbox: a faithful re-implementation of XNAT's REST API over real HTTP on loopback. */
export { startSandbox, type RunningSandbox, type SandboxOptions } from './server.js';
export { SandboxHttpError } from './errors.js';
export type * from './model.js';
export { createDemoArchive } from './seed.js';
export { generateArchive } from './generate.js';
