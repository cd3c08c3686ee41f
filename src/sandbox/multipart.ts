/**
 * A streaming `multipart/form-data` reader: each part's body is handed over as a stream while the
 * request is still arriving, so a large file part goes to disk without being buffered.
 */
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';

import { SandboxHttpError } from './errors.js';

export interface PartInfo {
  /** `name` of the Content-Disposition header ('' when absent). */
  name: string;
  /** `filename` of the Content-Disposition header, when the part is a file. */
  filename?: string;
  contentType: string;
}

/** The boundary of a multipart Content-Type, or undefined when the body is not multipart. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\//i.test(contentType)) return undefined;
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

function parseHeaders(block: string): PartInfo {
  const info: PartInfo = { name: '', contentType: '' };
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'content-type') info.contentType = value;
    if (key === 'content-disposition') {
      const name = /\bname="([^"]*)"/i.exec(value);
      const filename = /\bfilename="([^"]*)"/i.exec(value);
      if (name?.[1] !== undefined) info.name = name[1];
      if (filename?.[1] !== undefined) info.filename = filename[1];
    }
  }
  return info;
}

const malformed = (): SandboxHttpError => new SandboxHttpError(400, 'Malformed multipart request body.');

/**
 * Reads every part of `source`, calling `onPart` with the part's headers and a stream of its body.
 * `onPart` must consume the stream; the next part is read once its promise settles.
 */
export async function readMultipart(
  source: Readable,
  boundary: string,
  onPart: (info: PartInfo, body: Readable) => Promise<void>,
): Promise<void> {
  const opening = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let buffer: Buffer = Buffer.alloc(0);
  type State = 'preamble' | 'headers' | 'body' | 'done';
  let state = 'preamble' as State;
  let body: PassThrough | undefined;
  let consumer: Promise<void> | undefined;
  let consumerFailure: unknown;

  const finishPart = async (): Promise<void> => {
    body?.end();
    if (consumer) await consumer;
    body = undefined;
    consumer = undefined;
  };

  const feed = async (data: Buffer): Promise<void> => {
    if (consumerFailure !== undefined) throw consumerFailure;
    if (!body || !consumer || data.length === 0) return;
    // Backpressure: wait for the consumer, but never past its failure.
    if (!body.write(data)) await Promise.race([once(body, 'drain'), consumer]);
  };

  /** After a boundary (two bytes are there): `--` ends the body, CRLF starts another part. */
  const afterBoundary = (): State => {
    const marker = buffer.subarray(0, 2).toString('latin1');
    buffer = buffer.subarray(2);
    if (marker === '--') return 'done';
    if (marker === '\r\n') return 'headers';
    throw malformed();
  };

  try {
    for await (const chunk of source) {
      buffer = buffer.length === 0 ? (chunk as Buffer) : Buffer.concat([buffer, chunk as Buffer]);
      for (;;) {
        if (state === 'done') break;
        if (state === 'preamble') {
          const at = buffer.indexOf(opening);
          if (at < 0) {
            // Only a boundary's length can matter later: a body without its boundary is not kept whole.
            buffer = buffer.subarray(Math.max(0, buffer.length - opening.length));
            break;
          }
          if (buffer.length < at + opening.length + 2) break;
          buffer = buffer.subarray(at + opening.length);
          state = afterBoundary();
          continue;
        }
        if (state === 'headers') {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) {
            if (buffer.length > 64 * 1024) throw malformed();
            break;
          }
          const info = parseHeaders(buffer.subarray(0, end).toString('utf8'));
          buffer = buffer.subarray(end + 4);
          const stream = new PassThrough();
          body = stream;
          consumer = onPart(info, stream);
          // Awaited in finishPart; noting the failure early stops feeding a consumer that gave up.
          consumer.catch((error: unknown) => {
            consumerFailure = error ?? new Error('multipart consumer failed');
          });
          state = 'body';
          continue;
        }
        const at = buffer.indexOf(delimiter);
        if (at < 0) {
          // Keep a delimiter's length back: it may straddle two chunks.
          const safe = buffer.length - delimiter.length;
          if (safe > 0) {
            const data = buffer.subarray(0, safe);
            buffer = buffer.subarray(safe);
            await feed(data);
          }
          break;
        }
        if (buffer.length < at + delimiter.length + 2) break;
        await feed(buffer.subarray(0, at));
        buffer = buffer.subarray(at + delimiter.length);
        await finishPart();
        state = afterBoundary();
      }
    }
    if (state !== 'done') throw malformed();
  } catch (error) {
    // Without an error: the consumer may be gone, and an unheard stream error would crash the process.
    body?.destroy();
    if (consumer) await consumer.catch(() => undefined);
    throw error;
  }
}

/** Collects a (small) form-field part as text. */
export async function partText(body: Readable, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new SandboxHttpError(400, 'Form field too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
