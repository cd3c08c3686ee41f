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

const MAX_STORED = 0xffffffff;

/**
 * Packs files into a stored zip, as a request body that can be reopened (for a retry after a
 * re-login). CRCs are computed in a first pass, so the local headers carry them: Java's
 * ZipInputStream, which XNAT's importers use, cannot read stored entries with trailing descriptors.
 */
export async function storedZip(sources: readonly ZipSource[]): Promise<StreamBody> {
  if (sources.length === 0) throw new XnatLocalFileError('There are no files to pack');
  if (sources.length >= 0xffff) {
    throw new XnatLocalFileError(`Too many files to pack (${sources.length}); zip them yourself (ZIP64)`);
  }
  const entries: Array<ZipSource & { size: number; crc: number; nameBytes: Buffer; offset: number }> = [];
  let offset = 0;
  for (const source of sources) {
    const reason = unsafeEntryReason(source.name);
    if (reason !== undefined) throw new XnatLocalFileError(`Cannot pack "${source.name}": ${reason}`);
    let size: number;
    let crc = 0;
    try {
      size = (await stat(source.localPath)).size;
      for await (const chunk of createReadStream(source.localPath)) crc = crc32(chunk as Buffer, crc);
    } catch (err) {
      throw localFileError('read', source.localPath, err);
    }
    const nameBytes = Buffer.from(source.name, 'utf8');
    entries.push({ ...source, size, crc, nameBytes, offset });
    offset += 30 + nameBytes.length + size;
  }
  const directorySize = entries.reduce((sum, e) => sum + 46 + e.nameBytes.length, 0);
  if (offset + directorySize > MAX_STORED) {
    throw new XnatLocalFileError('The files add up to more than 4 GiB; zip them yourself (ZIP64)');
  }
  // 1980-01-01 00:00, the DOS epoch: the importer takes dates from DICOM headers, not from the zip.
  const dosDate = (1 << 5) | 1;

  function header(entry: (typeof entries)[number], central: boolean): Buffer {
    const fixed = Buffer.alloc(central ? 46 : 30);
    let at = 0;
    const u16 = (v: number): void => void (at = fixed.writeUInt16LE(v, at));
    const u32 = (v: number): void => void (at = fixed.writeUInt32LE(v >>> 0, at));
    u32(central ? CENTRAL_SIGNATURE : LOCAL_SIGNATURE);
    if (central) u16(20);
    u16(20);
    u16(UTF8_FLAG);
    u16(0); // stored
    u16(0);
    u16(dosDate);
    u32(entry.crc);
    u32(entry.size);
    u32(entry.size);
    u16(entry.nameBytes.length);
    u16(0);
    if (central) {
      u16(0);
      u16(0);
      u16(0);
      u32(0);
      u32(entry.offset);
    }
    return Buffer.concat([fixed, entry.nameBytes]);
  }

  function end(): Buffer {
    const record = Buffer.alloc(EOCD_SIZE);
    record.writeUInt32LE(EOCD_SIGNATURE, 0);
    record.writeUInt16LE(entries.length, 8);
    record.writeUInt16LE(entries.length, 10);
    record.writeUInt32LE(directorySize, 12);
    record.writeUInt32LE(offset, 16);
    return record;
  }

  async function* generate(): AsyncGenerator<Buffer> {
    for (const entry of entries) {
      yield header(entry, false);
      let written = 0;
      for await (const chunk of createReadStream(entry.localPath, { end: Math.max(0, entry.size - 1) })) {
        const buffer = chunk as Buffer;
        written += buffer.length;
        if (entry.size > 0) yield buffer;
      }
      if (entry.size > 0 && written !== entry.size) {
        throw new XnatLocalFileError(`${entry.localPath} changed while it was being sent`);
      }
    }
    for (const entry of entries) yield header(entry, true);
    yield end();
  }

  return { open: () => Readable.from(generate()), length: offset + directorySize + EOCD_SIZE };
}
