/**
 * Progress notifications of tool calls: the one sender per call (only when the caller asked for
 * progress, only increasing values, never failing the call), and the throttled reporter transfers
 * feed with the client core's TransferProgress.
 */
import type { ProgressToken, ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import type { TransferProgress } from '../client/index.js';
import { mib } from './format.js';

export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
}

export type SendProgress = (update: ProgressUpdate) => Promise<void>;

/** Sends notifications/progress when the caller passed a progressToken; otherwise a no-op. Never throws. */
export function progressSender(
  progressToken: ProgressToken | undefined,
  sendNotification: (notification: ServerNotification) => Promise<void>,
): SendProgress {
  let lastProgress = -Infinity;
  return async (update) => {
    // The spec requires increasing values; a stale or repeated value is dropped.
    if (progressToken === undefined || update.progress <= lastProgress) return;
    lastProgress = update.progress;
    await sendNotification({ method: 'notifications/progress', params: { progressToken, ...update } }).catch(
      () => undefined,
    );
  };
}

/**
 * Progress for MCP clients that asked for it: at each finished file and at every 1% of the bytes,
 * so a 2,000-file or 1 GiB transfer sends at most a few hundred notifications. The value counts
 * bytes plus finished files, so finishing a file (bytes already counted) still moves it forward.
 */
export function progressReporter(progress: SendProgress, verb: string): (p: TransferProgress) => void {
  let lastFiles = -1;
  let lastBytes = -1;
  return (p) => {
    const bytesTotal = p.bytesTotal ?? 0;
    const step = Math.max(1, Math.floor(bytesTotal / 100));
    if (p.filesDone === lastFiles && p.bytesDone - lastBytes < step && p.bytesDone !== bytesTotal) return;
    lastFiles = p.filesDone;
    lastBytes = p.bytesDone;
    void progress({
      progress: p.bytesDone + p.filesDone,
      ...(p.bytesTotal !== undefined ? { total: p.bytesTotal + p.filesTotal } : {}),
      message: `${verb} ${p.filesDone}/${p.filesTotal} files, ${mib(p.bytesDone)}${p.bytesTotal !== undefined ? ` of ${mib(p.bytesTotal)}` : ''}`,
    });
  };
}
