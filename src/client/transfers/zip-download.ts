/**
 * Resources of many small files come down as XNAT's zip of the resource (`files?format=zip`), one
 * request instead of one per file. The zip streams into a hidden temporary file whose size is
 * bounded; its central directory names the entries, and each entry whose name ends in a listed
 * file's `resources/<label>/files/<path>` is inflated (bounded by the listed size) into that file's
 * own temporary file, checked against the listed size, its CRC-32 and the listed MD5, and moved into
 * place exactly as a single download is. Entry names never become paths: a file lands where the
 * listing puts it, so no entry can escape the folder, and links or other odd entries are not
 * extracted. Whatever the zip does not deliver intact is left to the per-file download.
 * This reader shares nothing with the sandbox's zip writer, so each checks the other.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import { XnatCancelledError, XnatLocalFileError, XnatProtocolError, localFileError } from '../errors.js';
import type { XnatFile } from '../models.js';
import { Digesting, runPool, type TransferContext } from './common.js';
import { partialSink, type Partial } from './partials.js';

/** A planned download the zip may deliver. */
export interface ZipCandidate {
  file: XnatFile;
  localPath: string;
}

/** What the zip path borrows from the per-file download, so both place files the same way. */
export interface ZipDownloadOptions {
  root: string;
  overwrite: boolean;
  concurrency: number;
  signal: AbortSignal | undefined;
  prepareFolder(localPath: string): Promise<void>;
  /** A temporary file for `target`, opened inside the root with no link followed (partials.ts). */
  openPartial(target: string): Promise<Partial>;
  /** Re-checks the root and moves the file into place; false when a local file appeared meanwhile and was kept. */
  place(partial: Partial, target: string): Promise<boolean>;
  discard(partial: Partial): Promise<void>;
  /** A file delivered: its size and MD5, or undefined when a local file was kept instead. */
  delivered(item: ZipCandidate, got: { size: number; digest: string } | undefined): void;
}

const EXTRACT_CONCURRENCY = 16;
/** A resource is fetched as a zip from this many files on, when they are small on average. */
export const ZIP_MIN_FILES = 16;
const ZIP_MAX_MEAN_SIZE = 1 << 20;
/** Beyond these a zip needs ZIP64 records, which this reader leaves to the per-file download. */
const ZIP_MAX_FILES = 60_000;
const ZIP_MAX_BYTES = 0xffff_0000;

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const ENCRYPTED = 0x1;
const STORED = 0;
const DEFLATED = 8;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

interface Entry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** The resource a file belongs to (`.../resources/<id>`), from its URI. */
function resourcePathOf(uri: string): string | undefined {
  return /^(\/.*?\/resources\/[^/]+)\/files\/./.exec(uri)?.[1];
}

/** Downloads worth one zip each: many small files of one resource. */
export function zipGroups(items: readonly ZipCandidate[]): ZipCandidate[][] {
  const byResource = new Map<string, ZipCandidate[]>();
  for (const item of items) {
    const resource = resourcePathOf(item.file.uri);
    if (resource === undefined) continue;
    const group = byResource.get(resource) ?? [];
    group.push(item);
    byResource.set(resource, group);
  }
  return [...byResource.values()].filter((group) => {
    const bytes = group.reduce((sum, item) => sum + item.file.size, 0);
    return (
      group.length >= ZIP_MIN_FILES &&
      group.length <= ZIP_MAX_FILES &&
      bytes / group.length <= ZIP_MAX_MEAN_SIZE &&
      bytes <= ZIP_MAX_BYTES / 2
    );
  });
}

/**
 * Fetches one resource's zip and delivers the group's files from it; returns those delivered (or
 * kept because a local file appeared). A zip that cannot be fetched or read delivers nothing.
 */
export async function downloadZipped(
  ctx: TransferContext,
  group: readonly ZipCandidate[],
  o: ZipDownloadOptions,
): Promise<Set<ZipCandidate>> {
  const done = new Set<ZipCandidate>();
  const resource = resourcePathOf(group[0]!.file.uri)!;
  let zipFile: Partial | undefined;
  try {
    zipFile = await o.openPartial(join(o.root, 'resource.zip'));
    const zipPath = zipFile.path;
    if (!(await fetchZip(ctx, resource, zipFile, zipBound(group), o.signal))) return done;
    const handle = await open(zipPath, 'r');
    try {
      const entries = await centralDirectory(handle);
      if (entries === undefined) return done;
      const matched = matchEntries(entries, group);
      // Each folder is checked and created once, not once per file.
      const folders = new Map<string, Promise<void>>();
      const prepareFolder = (localPath: string): Promise<void> => {
        const folder = dirname(localPath);
        let ready = folders.get(folder);
        if (ready === undefined) folders.set(folder, (ready = o.prepareFolder(localPath)));
        return ready;
      };
      const options = { ...o, prepareFolder };
      await runPool(
        [...matched],
        // Extraction is local disk work (each file synced before its rename), not XNAT connections:
        // more at once overlaps the syncs.
        Math.max(o.concurrency, EXTRACT_CONCURRENCY),
        async ([item, entry]) => {
          if (await extract(handle, zipPath, entry, item, options)) done.add(item);
        },
        o.signal,
      );
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (o.signal?.aborted) throw new XnatCancelledError('The download was cancelled');
    if (err instanceof XnatLocalFileError || err instanceof XnatCancelledError) throw err;
    // Anything else (XNAT without zips, a broken zip): the per-file download takes over.
  } finally {
    if (zipFile !== undefined) await o.discard(zipFile);
  }
  return done;
}

/** The most a zip of the group may weigh: stored data plus generous headers per entry. */
function zipBound(group: readonly ZipCandidate[]): number {
  const data = group.reduce((sum, item) => sum + item.file.size, 0);
  const headers = group.reduce((sum, item) => sum + 200 + 4 * item.file.uri.length, 0);
  // Twice over: the zip holds the whole resource, which may have a few more files than asked for.
  return 2 * (data + headers) + (1 << 20);
}

/** Streams the zip into its temporary file; false when XNAT sent none or more than `bound` bytes. */
async function fetchZip(
  ctx: TransferContext,
  resource: string,
  zipFile: Partial,
  bound: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const path = `${resource}/files`;
  const res = await ctx.request({
    method: 'GET',
    path,
    query: { format: 'zip' },
    streamResponse: true,
    signal,
  });
  if (res.stream === undefined) return false;
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      bytes += chunk.length;
      if (bytes > bound) callback(new XnatProtocolError(`The zip of ${path} is larger than its files`));
      else callback(null, chunk);
    },
  });
  let localFailure: unknown;
  const out = partialSink(zipFile, (err) => (localFailure = err));
  try {
    await pipeline(res.stream, limit, out, { signal });
  } catch (err) {
    if (localFailure !== undefined) throw localFileError('write', zipFile.path, localFailure);
    throw err;
  }
  return true;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** The zip's entries from its central directory; undefined for what this reader does not take. */
async function centralDirectory(handle: FileHandle): Promise<Entry[] | undefined> {
  const { size } = await handle.stat();
  if (size < EOCD_SIZE) return undefined;
  const tailLength = Math.min(size, EOCD_SIZE + MAX_COMMENT);
  const tail = await readAt(handle, size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0 && eocd < 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE) eocd = i;
  }
  if (eocd < 0) return undefined;
  const count = tail.readUInt16LE(eocd + 10);
  const cdSize = tail.readUInt32LE(eocd + 12);
  const cdOffset = tail.readUInt32LE(eocd + 16);
  // ZIP64 markers, or a directory that does not fit before its end record.
  if (count === 0xffff || cdOffset === 0xffffffff || cdOffset + cdSize > size - tailLength + eocd) {
    return undefined;
  }
  const cd = await readAt(handle, cdOffset, cdSize);
  const entries: Entry[] = [];
  for (let at = 0, record = 0; record < count; record++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL_SIGNATURE) return undefined;
    const flags = cd.readUInt16LE(at + 8);
    const nameLength = cd.readUInt16LE(at + 28);
    const next = at + 46 + nameLength + cd.readUInt16LE(at + 30) + cd.readUInt16LE(at + 32);
    if (next > cd.length) return undefined;
    const madeByUnix = cd.readUInt8(at + 5) === 3;
    const mode = cd.readUInt32LE(at + 38) >>> 16;
    const entry: Entry = {
      name: cd.toString('utf8', at + 46, at + 46 + nameLength),
      method: cd.readUInt16LE(at + 10),
      crc: cd.readUInt32LE(at + 16),
      compressedSize: cd.readUInt32LE(at + 20),
      size: cd.readUInt32LE(at + 24),
      localOffset: cd.readUInt32LE(at + 42),
    };
    // Only plain files: no encryption, no links or devices, nothing needing ZIP64 fields.
    const regular = !madeByUnix || mode === 0 || (mode & S_IFMT) === S_IFREG;
    const plain = (flags & ENCRYPTED) === 0 && (entry.method === STORED || entry.method === DEFLATED);
    const sized = entry.size !== 0xffffffff && entry.compressedSize !== 0xffffffff;
    if (regular && plain && sized && !entry.name.endsWith('/')) entries.push(entry);
    at = next;
  }
  return entries;
}

/** Pairs listed files with the entries ending in their `resources/<label>/files/<path>`. */
function matchEntries(entries: readonly Entry[], group: readonly ZipCandidate[]): Map<ZipCandidate, Entry> {
  const wanted = new Map(
    group.map((item) => [`resources/${item.file.resource}/files/${item.file.path}`, item]),
  );
  const matched = new Map<ZipCandidate, Entry>();
  for (const entry of entries) {
    for (let at = entry.name.indexOf('resources/'); at >= 0; at = entry.name.indexOf('resources/', at + 1)) {
      if (at > 0 && entry.name[at - 1] !== '/') continue;
      const item = wanted.get(entry.name.slice(at));
      if (item !== undefined && !matched.has(item) && entry.size === item.file.size) {
        matched.set(item, entry);
        break;
      }
    }
  }
  return matched;
}

/** Counts, bounds and CRCs the inflated bytes of one entry. */
class Bounded extends Transform {
  crc = 0;
  bytes = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) return done(new XnatProtocolError('A zip entry is larger than listed'));
    this.crc = crc32(chunk, this.crc);
    done(null, chunk);
  }
}

/** One entry into its file's temporary file, verified, then into place; false when it did not verify. */
async function extract(
  handle: FileHandle,
  zipPath: string,
  entry: Entry,
  item: ZipCandidate,
  o: ZipDownloadOptions,
): Promise<boolean> {
  const local = await readAt(handle, entry.localOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_SIGNATURE) return false;
  const start = entry.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  await o.prepareFolder(item.localPath);
  if (entry.compressedSize <= SMALL_ENTRY && item.file.size <= SMALL_ENTRY) {
    return extractSmall(handle, start, entry, item, o);
  }
  const partial = await o.openPartial(item.localPath);
  let settled = false;
  const bounded = new Bounded(item.file.size);
  const digesting = new Digesting(() => undefined);
  let localFailure: unknown;
  const out = partialSink(partial, (err) => (localFailure = err));
  try {
    // A zero-length range cannot be expressed as a read stream: an empty entry reads nothing.
    const source =
      entry.compressedSize === 0
        ? Readable.from([])
        : createReadStream(zipPath, { start, end: start + entry.compressedSize - 1 });
    if (entry.method === DEFLATED) {
      await pipeline(source, createInflateRaw(), bounded, digesting, out, { signal: o.signal });
    } else {
      await pipeline(source, bounded, digesting, out, { signal: o.signal });
    }
    const digest = digesting.digest();
    const intact =
      bounded.bytes === item.file.size &&
      bounded.crc === entry.crc &&
      (item.file.digest === '' || digest === item.file.digest);
    if (!intact) return false;
    const placed = await o.place(partial, item.localPath);
    settled = true;
    o.delivered(item, placed ? { size: bounded.bytes, digest } : undefined);
    return true;
  } catch (err) {
    if (o.signal?.aborted) throw new XnatCancelledError('The download was cancelled');
    if (localFailure !== undefined) throw localFileError('write', partial.path, localFailure);
    if (err instanceof XnatLocalFileError) throw err;
    return false;
  } finally {
    if (!settled) await o.discard(partial);
  }
}

/** Entries up to this size are read, checked and written whole: streams cost more than the bytes. */
const SMALL_ENTRY = 1 << 20;

async function extractSmall(
  handle: FileHandle,
  start: number,
  entry: Entry,
  item: ZipCandidate,
  o: ZipDownloadOptions,
): Promise<boolean> {
  const stored = await readAt(handle, start, entry.compressedSize);
  let data: Buffer;
  try {
    // Bounded: inflating past the listed size fails rather than filling memory.
    data =
      entry.method === DEFLATED
        ? inflateRawSync(stored, { maxOutputLength: Math.max(1, item.file.size) })
        : stored;
  } catch {
    return false;
  }
  const digest = createHash('md5').update(data).digest('hex');
  const intact =
    stored.length === entry.compressedSize &&
    data.length === item.file.size &&
    crc32(data) === entry.crc &&
    (item.file.digest === '' || digest === item.file.digest);
  if (!intact) return false;
  if (o.signal?.aborted) throw new XnatCancelledError('The download was cancelled');
  // Opened only once the entry verified, inside the root with no link followed (partials.ts).
  const partial = await o.openPartial(item.localPath);
  let placed: boolean;
  try {
    await partial.handle.writeFile(data).catch((err: unknown) => {
      throw localFileError('write', partial.path, err);
    });
    placed = await o.place(partial, item.localPath);
  } catch (err) {
    await o.discard(partial);
    throw err;
  }
  o.delivered(item, placed ? { size: data.length, digest } : undefined);
  return true;
}
