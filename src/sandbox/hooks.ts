/**
 * Where test tooling plugs into a running sandbox (`RunningSandbox.setHooks`): file transfer bodies
 * and the moment before a reply is sent. A sandbox without hooks serves every request untouched; the
 * fault injector of the testing entry (faults.ts) is the one implementation.
 */
import { pipeline, type Readable, type Transform } from 'node:stream';

export interface SandboxHooks {
  /** Pass-throughs for a single-file download body (`path`: the file's path in its resource). */
  downloadTaps?(path: string): Transform[];
  /** Pass-throughs for an upload or import request body. */
  uploadTaps?(): Transform[];
  /**
   * Awaited before each reply is sent, after the request was applied; `drop` closes the connection
   * instead of answering (the change stands, the client never hears of it).
   */
  beforeReply?(request: { method: string; path: string }): Promise<'drop' | undefined>;
}

/**
 * Raised by a tap to cut the transfer: the server answers it by dropping the connection, as a
 * network failure would, rather than with an error page.
 */
export class ConnectionCut extends Error {
  constructor(message = 'transfer cut') {
    super(message);
    this.name = 'ConnectionCut';
  }
}

/** `source` as seen through `taps` (errors in any of them destroy the chain). */
export function throughTaps(source: Readable, taps: Transform[] | undefined): Readable {
  const last = taps?.[taps.length - 1];
  if (!taps || !last) return source;
  pipeline([source, ...taps], () => undefined);
  return last;
}
