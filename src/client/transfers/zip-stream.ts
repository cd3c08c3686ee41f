/**
 * A zip's entries read in order while it arrives, from their local headers, so that files can be
 * verified and written while the rest of the zip is still on its way. Both ways writers put entries:
 * with sizes in the local header, or (streaming writers such as Java's ZipOutputStream, which XNAT's
 * zips come from) with a data descriptor after deflated data whose end the inflater finds. What a
 * local header says is only provisional: the central directory, read once the zip is complete,
 * confirms each entry (zip-download.ts) before any file takes its name. Anything this reader does
 * not take (ZIP64, encryption, other methods) stops it; the central directory path does the rest.
 */
import { inflateRawSync } from 'node:zlib';

const LOCAL_SIGNATURE = 0x04034b50;
const DESCRIPTOR_SIGNATURE = 0x08074b50;
const ENCRYPTED = 0x1;
const HAS_DESCRIPTOR = 0x8;
const STORED = 0;
const DEFLATED = 8;

/** One entry as its local header (and descriptor) gave it, with its bytes inflated. */
export interface StreamedEntry {
  localOffset: number;
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  data: Buffer;
}

export class ZipStreamReader {
  private buffer: Buffer;
  private length = 0;
  private at = 0;
  private stopped = false;

  /** `capacity`: the most the zip may weigh (the caller refuses more). */
  constructor(capacity: number) {
    this.buffer = Buffer.allocUnsafe(Math.min(capacity, 1 << 20));
  }

  push(chunk: Buffer): void {
    if (this.length + chunk.length > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + chunk.length));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    chunk.copy(this.buffer, this.length);
    this.length += chunk.length;
  }

  /** Everything received, for the central directory once the zip is complete. */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /**
   * The next entry whose bytes have all arrived: `wanted` gives the most it may inflate to (the
   * listed size) or undefined to skip it unread. Undefined when more bytes are needed or reading
   * stopped. Entries over `maxEntry` stop the reader (they are streamed from the complete zip).
   */
  next(
    wanted: (name: string) => number | undefined,
    maxEntry: number,
  ): StreamedEntry | 'skipped' | undefined {
    if (this.stopped || this.length - this.at < 30) return undefined;
    const b = this.buffer;
    const at = this.at;
    if (b.readUInt32LE(at) !== LOCAL_SIGNATURE) return this.stop();
    const flags = b.readUInt16LE(at + 6);
    const method = b.readUInt16LE(at + 8);
    const nameLength = b.readUInt16LE(at + 26);
    const start = at + 30 + nameLength + b.readUInt16LE(at + 28);
    if ((flags & ENCRYPTED) !== 0 || (method !== STORED && method !== DEFLATED)) return this.stop();
    if (this.length < start) return undefined;
    const name = b.toString('utf8', at + 30, at + 30 + nameLength);
    const limit = wanted(name);
    if ((flags & HAS_DESCRIPTOR) === 0) {
      const compressedSize = b.readUInt32LE(at + 18);
      const size = b.readUInt32LE(at + 22);
      if (compressedSize === 0xffffffff || size === 0xffffffff || size > maxEntry) return this.stop();
      if (this.length < start + compressedSize) return undefined;
      this.at = start + compressedSize;
      if (limit === undefined) return 'skipped';
      const stored = b.subarray(start, start + compressedSize);
      const data = method === STORED ? stored : inflateBounded(stored, limit);
      if (data === undefined) return this.stop();
      const crc = b.readUInt32LE(at + 14);
      return { localOffset: at, name, method, crc, compressedSize, data };
    }
    // A descriptor follows deflated data of unknown length: the inflater finds where it ends.
    if (method !== DEFLATED || limit === undefined || limit > maxEntry) return this.stop();
    let inflated: { data: Buffer; consumed: number } | 'more';
    try {
      const { buffer, engine } = inflateRawSync(b.subarray(start, this.length), {
        info: true,
        maxOutputLength: Math.max(1, limit),
        chunkSize: chunkFor(limit),
      }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      inflated = { data: buffer, consumed: engine.bytesWritten };
    } catch (err) {
      // The deflated data has not all arrived yet; any other failure stops the reader.
      if ((err as { code?: string }).code !== 'Z_BUF_ERROR') return this.stop();
      inflated = 'more';
    }
    if (inflated === 'more') return undefined;
    const end = start + inflated.consumed;
    if (this.length < end + 16) return undefined;
    const signed = b.readUInt32LE(end) === DESCRIPTOR_SIGNATURE ? 4 : 0;
    const crc = b.readUInt32LE(end + signed);
    const compressedSize = b.readUInt32LE(end + signed + 4);
    const size = b.readUInt32LE(end + signed + 8);
    if (compressedSize !== inflated.consumed || size !== inflated.data.length) return this.stop();
    this.at = end + signed + 12;
    return { localOffset: at, name, method, crc, compressedSize, data: inflated.data };
  }

  private stop(): undefined {
    this.stopped = true;
    return undefined;
  }
}

/**
 * zlib's output buffer for an entry of at most `limit` bytes: one of the entry's size, up to 1 MiB.
 * Its default, 16 KiB, is allocated anew for every entry and kept by the entry's bytes (a slice of
 * it) while they wait to be placed: for thousands of small files, most of the memory and collection.
 */
function chunkFor(limit: number): number {
  return Math.max(64, Math.min(limit, 1 << 20) + 1);
}

/** Inflates at most `limit` bytes; undefined when the data is broken or inflates to more. */
export function inflateBounded(stored: Buffer, limit: number): Buffer | undefined {
  try {
    return inflateRawSync(stored, { maxOutputLength: Math.max(1, limit), chunkSize: chunkFor(limit) });
  } catch {
    return undefined;
  }
}
