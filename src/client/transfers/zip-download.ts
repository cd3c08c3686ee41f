/**
 * Resources of many small files come down as XNAT's zip of the resource (`files?format=zip`), one
 * request instead of one per file. The zip is held in memory when small, else streamed into a
 * hidden temporary file; either way its size is bounded. Each entry whose name ends in a listed
 * file's `resources/<label>/files/<path>` is inflated (bounded by the listed size), checked against
 * the listed size, its CRC-32 and the listed MD5, and written to that file's own temporary file.
 * A zip held in memory is read while it arrives (zip-stream.ts: XNAT writes its zips as a stream),
 * so files are verified and written while the rest is on its way; the central directory, once the
 * zip is complete, must then confirm each of them (else it is removed and read again). Entries not
 * taken that way are read from the central directory. On a local disk the file calls are
 * synchronous, in slices that give way to the event loop (for 4 KiB files a thread hand-off per
 * system call costs more than the calls); elsewhere, where a disk may stall, they go through the
 * thread pool. Files are placed in batches: the batch's data is flushed to disk together (one flush
 * of the file system, partials.ts) while the next batch is written, each folder is checked against
 * the root once, then every file is moved into place; the folders' entries are flushed once at the
 * end of the download. So each file appears complete or not at all, even after a power loss (which
 * may lose the names of the last files placed: a re-run fetches those again).
 * Entry names never become paths: a file lands where the listing puts it, so no entry can escape
 * the folder, and links or other odd entries are not extracted. Whatever the zip does not deliver
 * intact is left to the per-file download.
 * This reader shares nothing with the sandbox's zip writer, so each checks the other.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import { XnatCancelledError, XnatLocalFileError, XnatProtocolError, localFileError } from '../errors.js';
import type { XnatFile } from '../models.js';
import { Digesting, runPool, type TransferContext } from './common.js';
import { ZipStreamReader, inflateBounded, type StreamedEntry } from './zip-stream.js';
import {
  checkBeforePlacing,
  checkFolder,
  discardPartial,
  flushEarly,
  onLocalDisk,
  openPartial,
  partialSink,
  placePartial,
  writePartial,
  type Partial,
} from './partials.js';

/** A planned download the zip may deliver. */
export interface ZipCandidate {
  file: XnatFile;
  localPath: string;
}

/** What the zip path borrows from the per-file download, so both place files the same way. */
export interface ZipDownloadOptions {
  /** `destDir` resolved. */
  root: string;
  destDir: string;
  overwrite: boolean;
  concurrency: number;
  signal: AbortSignal | undefined;
  prepareFolder(localPath: string): Promise<void>;
  /** A file delivered: its size and MD5, or undefined when a local file was kept instead. */
  delivered(item: ZipCandidate, got: { size: number; digest: string } | undefined): void;
}

const EXTRACT_CONCURRENCY = 16;
/** Files verified, flushed and placed together. */
const BATCH = 1024;
/** Files written while a zip arrives between early starts of their flush (partials.ts, flushEarly). */
const FLUSH_EARLY_EVERY = 512;
/** Synchronous file work gives way to the event loop this often (ms), even on a slow disk. */
const SLICE_MS = 10;
/** Zips up to this size are held in memory: reading entries back then costs no system calls. */
const IN_MEMORY_ZIP = 64 << 20;
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
  let zip: ZipSource | undefined;
  // Written while the zip arrived, by local offset, until the central directory confirms them.
  const streamed = new Map<number, Staged & { entry: StreamedEntry }>();
  try {
    const local = await onLocalDisk(o.root);
    // Each folder is created and checked once, not once per file.
    const folders = new Map<string, Promise<void>>();
    const prepareFolder = (localPath: string): Promise<void> => {
      const folder = dirname(localPath);
      let ready = folders.get(folder);
      if (ready === undefined) {
        ready = o
          .prepareFolder(localPath)
          .then(() => checkFolder(o.root, o.destDir, folder, join(folder, '.')));
        folders.set(folder, ready);
      }
      return ready;
    };
    const listedAs = listedNames(group);
    const taken = new Set<ZipCandidate>();
    const onArrived = async (reader: ZipStreamReader): Promise<void> => {
      for (;;) {
        if (o.signal?.aborted) throw new XnatCancelledError('The download was cancelled');
        let item: ZipCandidate | undefined;
        const entry = reader.next((name) => {
          item = listedAs(name, (candidate) => !taken.has(candidate));
          return item?.file.size;
        }, SMALL_ENTRY);
        if (entry === undefined) return;
        if (entry === 'skipped' || item === undefined) continue;
        const digest = listedDigest(entry.data, entry.crc, item);
        if (digest === undefined) continue;
        taken.add(item);
        await prepareFolder(item.localPath);
        const partial = await writePartial(o.root, o.destDir, item.localPath, entry.data, local);
        streamed.set(entry.localOffset, { item, partial, size: entry.data.length, digest, entry });
        if (local && streamed.size % FLUSH_EARLY_EVERY === 0) flushEarly(dirname(item.localPath));
      }
    };
    zip = await fetchZip(ctx, resource, zipBound(group), o, onArrived);
    if (zip === undefined) return done;
    const entries = await centralDirectory(zip);
    if (entries === undefined) return done;
    const matched = [...matchEntries(entries, group)];
    const confirmed = await confirmStreamed(matched, streamed);
    // The files written while the zip arrived are placed together (one flush); the others come in
    // batches, batch k flushed to disk while batch k+1 is verified and written.
    let placing: Promise<void> | undefined =
      confirmed.size > 0 ? placeBatch([...confirmed.values()], o, done, local) : undefined;
    placing?.catch(() => undefined);
    const rest = matched.filter(([item]) => !confirmed.has(item));
    try {
      for (let at = 0; at < rest.length; at += BATCH) {
        const batch = rest.slice(at, at + BATCH);
        await Promise.all(batch.map(([item]) => prepareFolder(item.localPath)));
        const staged = await stageBatch(zip, batch, o, local);
        try {
          await placing;
        } catch (err) {
          for (const s of staged) await discardPartial(s.partial);
          throw err;
        }
        placing = placeBatch(staged, o, done, local);
        // Handled when awaited; until then a failure must not count as unhandled.
        placing.catch(() => undefined);
      }
      await placing;
    } finally {
      await placing?.catch(() => undefined);
    }
  } catch (err) {
    if (o.signal?.aborted) throw new XnatCancelledError('The download was cancelled');
    if (err instanceof XnatLocalFileError || err instanceof XnatCancelledError) throw err;
    // Anything else (XNAT without zips, a broken zip): the per-file download takes over.
  } finally {
    // Written while the zip arrived but never confirmed or placed.
    for (const s of streamed.values()) if (!done.has(s.item)) await discardPartial(s.partial);
    await zip?.close();
  }
  return done;
}

/**
 * The files written while the zip arrived whose central directory record agrees with what their
 * local header said (same offset and name, method, CRC and sizes, a plain file: the directory is the
 * zip's own account, and links and the like are only marked there). The others are removed now; the
 * entries they came from are read again from the complete zip or left to the per-file download.
 */
async function confirmStreamed(
  matched: ReadonlyArray<readonly [ZipCandidate, Entry]>,
  streamed: Map<number, Staged & { entry: StreamedEntry }>,
): Promise<Map<ZipCandidate, Staged>> {
  const confirmed = new Map<ZipCandidate, Staged>();
  for (const [item, entry] of matched) {
    const s = streamed.get(entry.localOffset);
    if (
      s !== undefined &&
      s.item === item &&
      s.entry.name === entry.name &&
      s.entry.method === entry.method &&
      s.entry.crc === entry.crc &&
      s.entry.compressedSize === entry.compressedSize &&
      s.size === entry.size
    ) {
      confirmed.set(item, s);
    }
  }
  for (const [offset, s] of streamed) {
    if (confirmed.get(s.item) === s) continue;
    streamed.delete(offset);
    await discardPartial(s.partial);
  }
  return confirmed;
}

/**
 * Runs `work` on every item: on a local disk one after another, synchronous file calls and all, giving
 * way to the event loop (requests, progress, cancellation) every few milliseconds; elsewhere several at
 * once through the thread pool, so that the waits overlap.
 */
async function eachFile<T>(
  items: readonly T[],
  local: boolean,
  signal: AbortSignal | undefined,
  work: (item: T) => Promise<void>,
): Promise<void> {
  if (!local) return runPool(items, EXTRACT_CONCURRENCY, work, signal);
  let started = performance.now();
  for (const item of items) {
    if (performance.now() - started >= SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      started = performance.now();
    }
    if (signal?.aborted) throw new XnatCancelledError('The download was cancelled');
    await work(item);
  }
}

/** An entry inflated, verified and written to its temporary file, not yet in place. */
interface Staged {
  item: ZipCandidate;
  partial: Partial;
  size: number;
  digest: string;
}

/**
 * One batch verified into temporary files, not yet flushed or placed: small entries inflated and
 * checked whole, large ones streamed. If anything fails, nothing of the batch is left.
 */
async function stageBatch(
  zip: ZipSource,
  batch: ReadonlyArray<readonly [ZipCandidate, Entry]>,
  o: ZipDownloadOptions,
  local: boolean,
): Promise<Staged[]> {
  const staged: Staged[] = [];
  try {
    // The folders were checked once for the whole batch: each open needs no check of its own.
    for (const folder of new Set(batch.map(([item]) => dirname(item.localPath)))) {
      await checkFolder(o.root, o.destDir, folder, join(folder, '.'));
    }
    const isSmall = ([item, entry]: readonly [ZipCandidate, Entry]): boolean =>
      entry.compressedSize <= SMALL_ENTRY && item.file.size <= SMALL_ENTRY;
    await eachFile(batch.filter(isSmall), local, o.signal, async ([item, entry]) => {
      const verified = await verifiedSmall(zip, entry, item);
      if (verified === undefined) return;
      const partial = await writePartial(o.root, o.destDir, item.localPath, verified.data, local);
      staged.push({ item, partial, size: verified.data.length, digest: verified.digest });
    });
    await runPool(
      batch.filter((pair) => !isSmall(pair)),
      // Local disk work, not XNAT connections: more at once overlaps the system calls.
      Math.max(o.concurrency, EXTRACT_CONCURRENCY),
      async ([item, entry]) => {
        let partial: Partial | undefined;
        try {
          const got = await extractLarge(zip, entry, item, o, local, (opened) => (partial = opened));
          if (got !== undefined) staged.push({ item, partial: partial!, ...got });
          else if (partial !== undefined) await discardPartial(partial);
        } catch (err) {
          if (partial !== undefined) await discardPartial(partial);
          throw err;
        }
      },
      o.signal,
    );
    return staged;
  } catch (err) {
    for (const s of staged) await discardPartial(s.partial);
    throw err;
  }
}

/** A staged batch flushed, checked and moved into place, each file added to `done` once delivered. */
async function placeBatch(
  staged: readonly Staged[],
  o: ZipDownloadOptions,
  done: Set<ZipCandidate>,
  local: boolean,
): Promise<void> {
  const settled = new Set<Staged>();
  try {
    await checkBeforePlacing(
      o.root,
      o.destDir,
      staged.map(({ partial, item }) => ({ partial, target: item.localPath })),
    );
    await eachFile(staged, local, o.signal, async (s) => {
      const kept = !(await placePartial(s.partial, s.item.localPath, o.overwrite));
      settled.add(s);
      o.delivered(s.item, kept ? undefined : { size: s.size, digest: s.digest });
      done.add(s.item);
    });
  } finally {
    for (const s of staged) if (!settled.has(s)) await discardPartial(s.partial);
  }
}

/** The zip: in memory, or in a temporary file when large. */
interface ZipSource {
  size: number;
  read(position: number, length: number): Promise<Buffer>;
  /** The bytes from `start` on, `length` of them, as a stream. */
  stream(start: number, length: number): Readable;
  close(): Promise<void>;
}

function memoryZip(data: Buffer): ZipSource {
  return {
    size: data.length,
    read: (position, length) => Promise.resolve(data.subarray(position, position + length)),
    stream: (start, length) => Readable.from([data.subarray(start, start + length)]),
    close: () => Promise.resolve(),
  };
}

async function fileZip(partial: Partial): Promise<ZipSource> {
  const handle: FileHandle = await open(partial.path, 'r');
  const { size } = await handle.stat();
  return {
    size,
    read: async (position, length) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      return buffer.subarray(0, bytesRead);
    },
    // A zero-length range cannot be expressed as a read stream: an empty entry reads nothing.
    stream: (start, length) =>
      length === 0 ? Readable.from([]) : createReadStream(partial.path, { start, end: start + length - 1 }),
    close: async () => {
      await handle.close();
      await discardPartial(partial);
    },
  };
}

/** The most a zip of the group may weigh: stored data plus generous headers per entry. */
function zipBound(group: readonly ZipCandidate[]): number {
  const data = group.reduce((sum, item) => sum + item.file.size, 0);
  const headers = group.reduce((sum, item) => sum + 200 + 4 * item.file.uri.length, 0);
  // Twice over: the zip holds the whole resource, which may have a few more files than asked for.
  return 2 * (data + headers) + (1 << 20);
}

/** Fetches the zip (at most `bound` bytes), into memory when that is small; undefined when XNAT sent none. */
async function fetchZip(
  ctx: TransferContext,
  resource: string,
  bound: number,
  o: ZipDownloadOptions,
  /** Held in memory: called as bytes arrive, to take the entries that are complete. */
  onArrived: (reader: ZipStreamReader) => Promise<void>,
): Promise<ZipSource | undefined> {
  const { signal } = o;
  const path = `${resource}/files`;
  const res = await ctx.request({
    method: 'GET',
    path,
    query: { format: 'zip' },
    streamResponse: true,
    signal,
  });
  if (res.stream === undefined) return undefined;
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      bytes += chunk.length;
      if (bytes > bound) callback(new XnatProtocolError(`The zip of ${path} is larger than its files`));
      else callback(null, chunk);
    },
  });
  if (bound <= IN_MEMORY_ZIP) {
    const reader = new ZipStreamReader(bound);
    await pipeline(
      res.stream,
      limit,
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) {
          reader.push(chunk);
          await onArrived(reader);
        }
      },
      { signal },
    );
    return memoryZip(reader.bytes());
  }
  const zipFile = await openPartial(o.root, o.destDir, join(o.root, 'resource.zip'));
  let localFailure: unknown;
  const out = partialSink(zipFile, (err) => (localFailure = err));
  try {
    await pipeline(res.stream, limit, out, { signal });
    return await fileZip(zipFile);
  } catch (err) {
    await discardPartial(zipFile);
    if (localFailure !== undefined) throw localFileError('write', zipFile.path, localFailure);
    throw err;
  }
}

/** The zip's entries from its central directory; undefined for what this reader does not take. */
async function centralDirectory(zip: ZipSource): Promise<Entry[] | undefined> {
  const { size } = zip;
  if (size < EOCD_SIZE) return undefined;
  const tailLength = Math.min(size, EOCD_SIZE + MAX_COMMENT);
  const tail = await zip.read(size - tailLength, tailLength);
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
  const cd = await zip.read(cdOffset, cdSize);
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
  const listedAs = listedNames(group);
  const matched = new Map<ZipCandidate, Entry>();
  for (const entry of entries) {
    const item = listedAs(
      entry.name,
      (candidate) => !matched.has(candidate) && entry.size === candidate.file.size,
    );
    if (item !== undefined) matched.set(item, entry);
  }
  return matched;
}

/**
 * The listed file an entry name stands for: the name ends in the file's
 * `resources/<label>/files/<path>` (at a folder boundary), and `fits` accepts it.
 */
function listedNames(
  group: readonly ZipCandidate[],
): (name: string, fits: (item: ZipCandidate) => boolean) => ZipCandidate | undefined {
  const wanted = new Map(
    group.map((item) => [`resources/${item.file.resource}/files/${item.file.path}`, item]),
  );
  return (name, fits) => {
    for (let at = name.indexOf('resources/'); at >= 0; at = name.indexOf('resources/', at + 1)) {
      if (at > 0 && name[at - 1] !== '/') continue;
      const item = wanted.get(name.slice(at));
      if (item !== undefined && fits(item)) return item;
    }
    return undefined;
  };
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

/** Where an entry's stored bytes start; undefined when its local header is not where it should be. */
async function dataStart(zip: ZipSource, entry: Entry): Promise<number | undefined> {
  const local = await zip.read(entry.localOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_SIGNATURE) return undefined;
  return entry.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
}

/**
 * A large entry streamed into its file's temporary file (handed to `opened` as soon as it exists);
 * undefined when it did not verify (the caller removes the temporary file).
 */
async function extractLarge(
  zip: ZipSource,
  entry: Entry,
  item: ZipCandidate,
  o: ZipDownloadOptions,
  local: boolean,
  opened: (partial: Partial) => void,
): Promise<{ size: number; digest: string } | undefined> {
  const start = await dataStart(zip, entry);
  if (start === undefined) return undefined;
  const partial = await openPartial(o.root, o.destDir, item.localPath, { folderChecked: true, local });
  opened(partial);
  const bounded = new Bounded(item.file.size);
  const digesting = new Digesting(() => undefined);
  let localFailure: unknown;
  const out = partialSink(partial, (err) => (localFailure = err));
  try {
    const source = zip.stream(start, entry.compressedSize);
    if (entry.method === DEFLATED) {
      await pipeline(source, createInflateRaw(), bounded, digesting, out, { signal: o.signal });
    } else {
      await pipeline(source, bounded, digesting, out, { signal: o.signal });
    }
  } catch (err) {
    if (o.signal?.aborted) throw new XnatCancelledError('The download was cancelled');
    if (localFailure !== undefined) throw localFileError('write', partial.path, localFailure);
    if (err instanceof XnatLocalFileError) throw err;
    return undefined;
  }
  const digest = digesting.digest();
  const intact =
    bounded.bytes === item.file.size &&
    bounded.crc === entry.crc &&
    (item.file.digest === '' || digest === item.file.digest);
  return intact ? { size: bounded.bytes, digest } : undefined;
}

/** Entries up to this size are read, checked and written whole: streams cost more than the bytes. */
const SMALL_ENTRY = 1 << 20;

/** A small entry inflated whole and verified; undefined when it does not match its listing. */
async function verifiedSmall(
  zip: ZipSource,
  entry: Entry,
  item: ZipCandidate,
): Promise<{ data: Buffer; digest: string } | undefined> {
  const start = await dataStart(zip, entry);
  if (start === undefined) return undefined;
  const stored = await zip.read(start, entry.compressedSize);
  // Bounded: inflating past the listed size fails rather than filling memory.
  const data = entry.method === DEFLATED ? inflateBounded(stored, item.file.size) : stored;
  if (data === undefined || stored.length !== entry.compressedSize) return undefined;
  const digest = listedDigest(data, entry.crc, item);
  return digest === undefined ? undefined : { data, digest };
}

/** An entry's inflated bytes checked against the zip's CRC and the listing's size and MD5: their MD5, or undefined. */
function listedDigest(data: Buffer, crc: number, item: ZipCandidate): string | undefined {
  if (data.length !== item.file.size || crc32(data) !== crc) return undefined;
  const digest = createHash('md5').update(data).digest('hex');
  return item.file.digest === '' || digest === item.file.digest ? digest : undefined;
}
