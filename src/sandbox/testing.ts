/**
 * The sandbox's test tooling (`xnat-mcp/sandbox/testing`), kept apart from what `demo` and
 * `xnat-mcp sandbox` run: fault injection for client tests and large generated archives for
 * benchmarks and paging tests.
 */
import { FaultInjector, type SandboxFaults } from './faults.js';
import { startSandbox, type RunningSandbox, type SandboxOptions } from './server.js';

export type { DownloadFault, ReplyFault, SandboxFaults, UploadFault } from './faults.js';
export { generateArchive, type GenerateOptions } from './generate.js';

export interface SandboxWithFaults extends RunningSandbox {
  /**
   * `failNextDownload` / `stallNextDownload` ({ afterBytes?, path? }), `failNextUpload` /
   * `stallNextUpload` / `expireSessionsDuringNextUpload` ({ afterBytes? }), `dropNextReply` ({ method,
   * path? }: applied, then the connection reset before the answer), `delayResponses(ms)`,
   * `clear()`. Each fault applies to the next matching transfer.
   */
  faults: SandboxFaults;
}

/** Arms `sandbox` with fault injection (transfers cut or stalled part-way, sessions expiring mid-upload, slow replies). */
export function installFaults(sandbox: RunningSandbox): SandboxFaults {
  const faults = new FaultInjector(() => sandbox.expireSessions());
  sandbox.setHooks(faults);
  return faults;
}

/** `startSandbox` with fault injection installed. */
export async function startSandboxWithFaults(options: SandboxOptions = {}): Promise<SandboxWithFaults> {
  const sandbox = await startSandbox(options);
  return { ...sandbox, faults: installFaults(sandbox) };
}
