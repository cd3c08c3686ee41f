/**
 * Local zip handling for transfers: a zip that XNAT will extract is checked here first, from its
 * central directory (no entry may leave the target folder), and a directory being imported is packed
 * into a stored (uncompressed) zip that streams from disk. Both work in constant memory whatever the
 * archive size, apart from the central directory itself.
 */
import { open, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { XnatLocalFileError, localFileError } from './errors.js';
import type { StreamBody } from './http.js';

export interface ZipEntry {
  /** Entry name as stored (`/`-separated; directories end with `/`). */
  name: string;
  /** Uncompressed size in bytes. */
  size: number;
  directory: boolean;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const UTF8_FLAG = 0x0800;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

function bad(path: string, reason: string): XnatLocalFileError {
  return new XnatLocalFileError(`${path} is not a usable zip file: ${reason}`);
}

async function readAt(
  handle: Awaited<ReturnType<typeof open>>,
  position: number,
  length: number,
): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** Why an entry name could write outside the extraction folder, or undefined when it cannot. */
export function unsafeEntryReason(name: string): string | undefined {
  // Windows tools write `\` separators, and extractors on either system may honour them.
  const normalized = name.replace(/\\/g, '/');
  if (normalized === '') return 'an empty name';
  if (normalized.startsWith('/')) return 'an absolute path';
  if (/^[A-Za-z]:/.test(normalized)) return 'a drive letter';
  if (normalized.includes('\0')) return 'a NUL character';
  if (normalized.split('/').some((segment) => segment === '..')) return 'a ".." segment';
  return undefined;
}

/**
 * Reads a zip's central directory and refuses entries that could escape the folder they are
 * extracted into (`..`, absolute paths, drive letters, symbolic links).
 */
export async function checkZip(path: string): Promise<ZipEntry[]> {
  const handle = await open(path, 'r').catch((err: unknown) => {
    throw localFileError('read', path, err);
  });
  try {
    const { size } = await handle.stat();
    if (size < EOCD_SIZE) throw bad(path, 'too short');
    const tailLength = Math.min(size, EOCD_SIZE + MAX_COMMENT);
    const tail = await readAt(handle, size - tailLength, tailLength);
    let eocd = -1;
    for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw bad(path, 'no end-of-central-directory record');
    let count = tail.readUInt16LE(eocd + 10);
    let directorySize = tail.readUInt32LE(eocd + 12);
    let directoryOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
      const locatorAt = size - tailLength + eocd - 20;
      const locator = locatorAt >= 0 ? await readAt(handle, locatorAt, 20) : Buffer.alloc(0);
      if (locator.length < 20 || locator.readUInt32LE(0) !== ZIP64_LOCATOR_SIGNATURE) {
        throw bad(path, 'a ZIP64 archive without its locator');
      }
      const zip64 = await readAt(handle, Number(locator.readBigUInt64LE(8)), 56);
      if (zip64.length < 56 || zip64.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) {
        throw bad(path, 'a damaged ZIP64 record');
      }
      count = Number(zip64.readBigUInt64LE(32));
      directorySize = Number(zip64.readBigUInt64LE(40));
      directoryOffset = Number(zip64.readBigUInt64LE(48));
    }
    if (directoryOffset + directorySize > size) throw bad(path, 'the central directory lies beyond the end');
    const directory = await readAt(handle, directoryOffset, directorySize);
    const entries: ZipEntry[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_SIGNATURE) {
        throw bad(path, 'a damaged central directory');
      }
      const flags = directory.readUInt16LE(at + 8);
      let entrySize = directory.readUInt32LE(at + 24);
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      const mode = directory.readUInt32LE(at + 38) >>> 16;
      const nameBytes = directory.subarray(at + 46, at + 46 + nameLength);
      const name = nameBytes.toString(flags & UTF8_FLAG ? 'utf8' : 'latin1');
      if (entrySize === 0xffffffff) {
        const extra = directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
        for (let e = 0; e + 4 <= extra.length;) {
          const id = extra.readUInt16LE(e);
          const length = extra.readUInt16LE(e + 2);
          if (id === 0x0001 && length >= 8) entrySize = Number(extra.readBigUInt64LE(e + 4));
          e += 4 + length;
        }
      }
      const reason = unsafeEntryReason(name);
      if (reason !== undefined) {
        throw new XnatLocalFileError(
          `Refusing ${path}: entry "${name}" has ${reason} and could be written outside the resource; repack the zip with relative paths`,
        );
      }
      if ((mode & S_IFMT) === S_IFLNK) {
        throw new XnatLocalFileError(
          `Refusing ${path}: entry "${name}" is a symbolic link, which could point outside the resource`,
        );
      }
      entries.push({ name, size: entrySize, directory: name.endsWith('/') });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    await handle.close();
  }
}

export interface ZipSource {
  /** Path of the file on disk. */
  localPath: string;
  /** Entry name inside the zip (`/`-separated, relative). */
  name: string;
}

/** Beyond these a field does not fit its classic zip slot and moves to ZIP64 records. */
const MAX_32 = 0xffffffff;
const MAX_16 = 0xffff;
const ZIP64_EXTRA = 0x0001;
const ZIP64_EOCD_SIZE = 56;
const ZIP64_LOCATOR_SIZE = 20;
/** Version needed to extract: 2.0 (stored, UTF-8 names), 4.5 with ZIP64. */
const VERSION_20 = 20;
const VERSION_45 = 45;

interface PackedEntry extends ZipSource {
  size: number;
  crc: number;
  nameBytes: Buffer;
  offset: number;
  zip64: boolean;
}

/** Size, CRC and entry name of each file to pack, checked; entry offsets as if written one after another. */
async function measure(sources: readonly ZipSource[], forceZip64: boolean): Promise<PackedEntry[]> {
  const entries: PackedEntry[] = [];
  let offset = 0;
  for (const source of sources) {
    const reason = unsafeEntryReason(source.name);
    if (reason !== undefined) throw new XnatLocalFileError(`Cannot pack "${source.name}": ${reason}`);
    let size: number;
    let crc = 0;
    try {
      size = (await stat(source.localPath)).size;
      if (size > 0)
        for await (const chunk of createReadStream(source.localPath)) crc = crc32(chunk as Buffer, crc);
    } catch (err) {
      throw localFileError('read', source.localPath, err);
    }
    const nameBytes = Buffer.from(source.name, 'utf8');
    if (nameBytes.length > MAX_16)
      throw new XnatLocalFileError(`Cannot pack "${source.name}": its name is too long`);
    // Local headers always carry both sizes, so ZIP64 there depends on the size alone.
    const zip64 = forceZip64 || size >= MAX_32;
    entries.push({ ...source, size, crc, nameBytes, offset, zip64 });
    offset += 30 + nameBytes.length + (zip64 ? 20 : 0) + size;
  }
  return entries;
}

/** The ZIP64 fields of a central header: the values that did not fit, in the order the spec gives. */
function centralZip64(entry: PackedEntry, forceZip64: boolean): bigint[] {
  const wide: bigint[] = [];
  if (entry.zip64) wide.push(BigInt(entry.size), BigInt(entry.size));
  if (forceZip64 || entry.offset >= MAX_32) wide.push(BigInt(entry.offset));
  return wide;
}

function extraField(values: bigint[]): Buffer {
  if (values.length === 0) return Buffer.alloc(0);
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(ZIP64_EXTRA, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => extra.writeBigUInt64LE(v, 4 + 8 * i));
  return extra;
}

// 1980-01-01 00:00, the DOS epoch: the importer takes dates from DICOM headers, not from the zip.
const DOS_DATE = (1 << 5) | 1;

function header(entry: PackedEntry, central: { forceZip64: boolean } | undefined): Buffer {
  const wide = central
    ? centralZip64(entry, central.forceZip64)
    : entry.zip64
      ? [BigInt(entry.size), BigInt(entry.size)]
      : [];
  const extra = extraField(wide);
  const version = wide.length > 0 ? VERSION_45 : VERSION_20;
  const fixed = Buffer.alloc(central ? 46 : 30);
  let at = 0;
  const u16 = (v: number): void => void (at = fixed.writeUInt16LE(v, at));
  const u32 = (v: number): void => void (at = fixed.writeUInt32LE(v >>> 0, at));
  u32(central ? CENTRAL_SIGNATURE : LOCAL_SIGNATURE);
  if (central) u16(version);
  u16(version);
  u16(UTF8_FLAG);
  u16(0); // stored
  u16(0);
  u16(DOS_DATE);
  u32(entry.crc);
  u32(entry.zip64 ? MAX_32 : entry.size);
  u32(entry.zip64 ? MAX_32 : entry.size);
  u16(entry.nameBytes.length);
  u16(extra.length);
  if (central) {
    u16(0);
    u16(0);
    u16(0);
    u32(0);
    u32(central.forceZip64 || entry.offset >= MAX_32 ? MAX_32 : entry.offset);
  }
  return Buffer.concat([fixed, entry.nameBytes, extra]);
}

/** The end records: ZIP64 end record and locator when a count, size or offset needs them, then the classic one. */
function endRecords(
  count: number,
  directorySize: number,
  directoryOffset: number,
  forceZip64: boolean,
): Buffer {
  const zip64 = forceZip64 || count >= MAX_16 || directorySize >= MAX_32 || directoryOffset >= MAX_32;
  const classic = Buffer.alloc(EOCD_SIZE);
  classic.writeUInt32LE(EOCD_SIGNATURE, 0);
  classic.writeUInt16LE(zip64 ? MAX_16 : count, 8);
  classic.writeUInt16LE(zip64 ? MAX_16 : count, 10);
  classic.writeUInt32LE(zip64 ? MAX_32 : directorySize, 12);
  classic.writeUInt32LE(zip64 ? MAX_32 : directoryOffset, 16);
  if (!zip64) return classic;
  const record = Buffer.alloc(ZIP64_EOCD_SIZE);
  record.writeUInt32LE(ZIP64_EOCD_SIGNATURE, 0);
  record.writeBigUInt64LE(BigInt(ZIP64_EOCD_SIZE - 12), 4);
  record.writeUInt16LE(VERSION_45, 12);
  record.writeUInt16LE(VERSION_45, 14);
  record.writeBigUInt64LE(BigInt(count), 24);
  record.writeBigUInt64LE(BigInt(count), 32);
  record.writeBigUInt64LE(BigInt(directorySize), 40);
  record.writeBigUInt64LE(BigInt(directoryOffset), 48);
  const locator = Buffer.alloc(ZIP64_LOCATOR_SIZE);
  locator.writeUInt32LE(ZIP64_LOCATOR_SIGNATURE, 0);
  locator.writeBigUInt64LE(BigInt(directoryOffset + directorySize), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([record, locator, classic]);
}

/**
 * Packs files into a stored zip, as a request body that can be reopened (for a retry after a
 * re-login). CRCs are computed in a first pass, so the local headers carry them: Java's
 * ZipInputStream, which XNAT's importers use, cannot read stored entries with trailing descriptors.
 * More than 65,534 files, a file of 4 GiB or more, or an archive beyond 4 GiB is written as ZIP64
 * (`zip64: true` forces it everywhere, for tests of the readers on small data).
 */
export async function storedZip(
  sources: readonly ZipSource[],
  options: { zip64?: boolean } = {},
): Promise<StreamBody> {
  if (sources.length === 0) throw new XnatLocalFileError('There are no files to pack');
  const forceZip64 = options.zip64 === true;
  const entries = await measure(sources, forceZip64);
  const last = entries[entries.length - 1]!;
  const directoryOffset = last.offset + 30 + last.nameBytes.length + (last.zip64 ? 20 : 0) + last.size;
  const directorySize = entries.reduce((sum, e) => sum + header(e, { forceZip64 }).length, 0);
  const end = endRecords(entries.length, directorySize, directoryOffset, forceZip64);

  async function* generate(): AsyncGenerator<Buffer> {
    for (const entry of entries) {
      yield header(entry, undefined);
      if (entry.size === 0) continue;
      let written = 0;
      for await (const chunk of createReadStream(entry.localPath, { end: entry.size - 1 })) {
        const buffer = chunk as Buffer;
        written += buffer.length;
        yield buffer;
      }
      if (written !== entry.size) {
        throw new XnatLocalFileError(`${entry.localPath} changed while it was being sent`);
      }
    }
    for (const entry of entries) yield header(entry, { forceZip64 });
    yield end;
  }

  return { open: () => Readable.from(generate()), length: directoryOffset + directorySize + end.length };
}
