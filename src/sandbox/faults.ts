/**
 * Fault injection for tests of clients: transfers that break or hang part-way, sessions that expire
 * during an upload, slow responses. Each one-shot fault applies to the next matching transfer only.
 * Test-only: it reaches a sandbox through the hooks the testing entry installs (testing.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { ConnectionCut, type SandboxHooks } from './hooks.js';

export interface DownloadFault {
  /** Body bytes sent before the fault strikes (default 0: right after the headers). */
  afterBytes?: number;
  /** Only a file whose path in its resource ends with this (default: any single-file download). */
  path?: string;
}

export interface UploadFault {
  /** Body bytes received before the fault strikes (default 0). */
  afterBytes?: number;
}

export interface ReplyFault {
  /** The HTTP method of the request (`PUT`, `DELETE`, ...). */
  method: string;
  /** Only a request whose URL path (as sent, without the query) ends with this (default: any). */
  path?: string;
}

/** The methods tests call on a sandbox's faults (`startSandboxWithFaults(...).faults`). */
export interface SandboxFaults {
  /** The next single-file download sends its headers (full Content-Length) and `afterBytes` bytes, then drops the connection. */
  failNextDownload(fault?: DownloadFault): void;
  /** The next single-file download sends `afterBytes` bytes, then stops sending until the client gives up (for cancellation tests). */
  stallNextDownload(fault?: DownloadFault): void;
  /** The next file upload (or import) drops the connection after `afterBytes` body bytes; nothing is stored. */
  failNextUpload(fault?: UploadFault): void;
  /** The next file upload (or import) stops reading its body after `afterBytes` bytes until the client gives up. */
  stallNextUpload(fault?: UploadFault): void;
  /**
   * Once the next file upload (or import) has received `afterBytes`, every JSESSION is invalidated.
   * The upload itself completes (XNAT authenticates a request when it starts); later requests need a new login.
   */
  expireSessionsDuringNextUpload(fault?: UploadFault): void;
  /**
   * The next matching request is applied as usual, then the connection is dropped instead of the
   * answer: the ambiguous outcome of a reset after XNAT stored an upload or deleted an object.
   */
  dropNextReply(fault: ReplyFault): void;
  /** Holds every response `ms` milliseconds before sending it (0 stops). */
  delayResponses(ms: number): void;
  /** Forgets every pending fault and delay. */
  clear(): void;
}

type Action = 'fail' | 'stall' | 'expire';

interface Pending {
  action: Action;
  afterBytes: number;
  path?: string;
}

/**
 * A pass-through that triggers `act` once `afterBytes` bytes went by. `act` returns whether data
 * keeps flowing; a stalled tap never calls back again, so backpressure holds the transfer still.
 */
class FaultTap extends Transform {
  private seen = 0;
  private struck = false;

  constructor(
    private readonly afterBytes: number,
    private readonly act: (tap: FaultTap) => 'continue' | 'fail' | 'stall',
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.struck) {
      callback(null, chunk);
      return;
    }
    const room = this.afterBytes - this.seen;
    if (chunk.length < room) {
      this.seen += chunk.length;
      callback(null, chunk);
      return;
    }
    this.struck = true;
    if (room > 0) this.push(chunk.subarray(0, room));
    const outcome = this.act(this);
    if (outcome === 'continue') callback(null, chunk.subarray(Math.max(room, 0)));
    else if (outcome === 'fail') callback(new ConnectionCut('sandbox fault injection: transfer cut'));
    // 'stall': never call back; the transfer stays open until the peer goes away.
  }

  override _flush(callback: TransformCallback): void {
    // A fault that never reached its byte count (short body) strikes at the end.
    if (!this.struck && this.act(this) === 'fail') {
      callback(new ConnectionCut('sandbox fault injection: transfer cut'));
      return;
    }
    callback();
  }
}

export class FaultInjector implements SandboxFaults, SandboxHooks {
  private download: Pending | undefined;
  private upload: Pending | undefined;
  private reply: ReplyFault | undefined;
  private delayMs = 0;

  constructor(private readonly expireSessions: () => void) {}

  failNextDownload(fault: DownloadFault = {}): void {
    this.download = { action: 'fail', afterBytes: fault.afterBytes ?? 0, ...pathOf(fault) };
  }

  stallNextDownload(fault: DownloadFault = {}): void {
    this.download = { action: 'stall', afterBytes: fault.afterBytes ?? 0, ...pathOf(fault) };
  }

  failNextUpload(fault: UploadFault = {}): void {
    this.upload = { action: 'fail', afterBytes: fault.afterBytes ?? 0 };
  }

  stallNextUpload(fault: UploadFault = {}): void {
    this.upload = { action: 'stall', afterBytes: fault.afterBytes ?? 0 };
  }

  expireSessionsDuringNextUpload(fault: UploadFault = {}): void {
    this.upload = { action: 'expire', afterBytes: fault.afterBytes ?? 0 };
  }

  dropNextReply(fault: ReplyFault): void {
    this.reply = { ...fault, method: fault.method.toUpperCase() };
  }

  delayResponses(ms: number): void {
    this.delayMs = Math.max(0, ms);
  }

  clear(): void {
    this.download = undefined;
    this.upload = undefined;
    this.reply = undefined;
    this.delayMs = 0;
  }

  /** Waits out the configured response delay; drops the reply to a request matching `dropNextReply`. */
  async beforeReply(request: { method: string; path: string }): Promise<'drop' | undefined> {
    if (this.delayMs > 0) await sleep(this.delayMs);
    const armed = this.reply;
    if (armed === undefined || armed.method !== request.method) return undefined;
    if (armed.path !== undefined && !request.path.endsWith(armed.path)) return undefined;
    this.reply = undefined;
    return 'drop';
  }

  /** Taps for a single-file download body (none when no fault is armed for it). */
  downloadTaps(path: string): Transform[] {
    const pending = this.download;
    if (!pending || (pending.path !== undefined && !path.endsWith(pending.path))) return [];
    this.download = undefined;
    return [new FaultTap(pending.afterBytes, () => (pending.action === 'stall' ? 'stall' : 'fail'))];
  }

  /** Taps for an upload or import request body. */
  uploadTaps(): Transform[] {
    const pending = this.upload;
    if (!pending) return [];
    this.upload = undefined;
    return [
      new FaultTap(pending.afterBytes, () => {
        if (pending.action !== 'expire') return pending.action;
        this.expireSessions();
        return 'continue';
      }),
    ];
  }
}

function pathOf(fault: DownloadFault): { path?: string } {
  return fault.path === undefined ? {} : { path: fault.path };
}
