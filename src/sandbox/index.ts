/** The XNAT sandbox: a faithful re-implementation of XNAT's REST API over real HTTP on loopback. */
export { startSandbox, type RunningSandbox, type SandboxOptions } from './server.js';
export { SandboxHttpError } from './errors.js';
/**
 * Fault injection (`RunningSandbox.faults`), for client tests: `failNextDownload` / `stallNextDownload`
 * ({ afterBytes?, path? }), `failNextUpload` / `stallNextUpload` / `expireSessionsDuringNextUpload`
 * ({ afterBytes? }), `delayResponses(ms)`, `clear()`. Each fault applies to the next matching transfer.
 */
export type { DownloadFault, SandboxFaults, UploadFault } from './faults.js';
export type * from './model.js';
export { createDemoArchive } from './seed.js';
export { generateArchive } from './generate.js';
