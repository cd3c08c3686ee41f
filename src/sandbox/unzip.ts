/**
 * Reading zip archives stored on disk (uploads with `extract=true`, the import service): the
 * central directory (zip64 included) by random access, entries streamed through inflate, and
 * entry names checked so that nothing can be written outside its target folder (zip slip).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { createInflateRaw } from 'node:zlib';

import { SandboxHttpError } from './errors.js';

export interface ZipEntryInfo {
  /** The name as stored in the archive. */
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  isDirectory: boolean;
}

const STORE = 0;
const DEFLATE = 8;
const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

const notAZip = (): SandboxHttpError =>
  new SandboxHttpError(400, 'The uploaded file is not a readable zip archive.');

async function readAt(
  handle: Awaited<ReturnType<typeof open>>,
  position: number,
  length: number,
): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  if (bytesRead !== length) throw notAZip();
  return buffer;
}

/** Values the 32-bit fields defer to the zip64 extra field (0x0001), in the order the spec gives. */
function zip64Extra(
  extra: Buffer,
  needs: { size: boolean; compressed: boolean; offset: boolean },
): { size?: number; compressed?: number; offset?: number } {
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === 0x0001) {
      let cursor = at + 4;
      const take = (): number => {
        const value = Number(extra.readBigUInt64LE(cursor));
        cursor += 8;
        return value;
      };
      return {
        ...(needs.size ? { size: take() } : {}),
        ...(needs.compressed ? { compressed: take() } : {}),
        ...(needs.offset ? { offset: take() } : {}),
      };
    }
    at += 4 + length;
  }
  return {};
}

/** The entries of the zip at `location`; 400 when it is not a zip. */
export async function readZipDirectory(location: string): Promise<ZipEntryInfo[]> {
  const handle = await open(location, 'r');
  try {
    const { size: fileSize } = await handle.stat();
    const tailLength = Math.min(fileSize, 22 + MAX_COMMENT);
    if (tailLength < 22) throw notAZip();
    const tail = await readAt(handle, fileSize - tailLength, tailLength);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw notAZip();
    let count = tail.readUInt16LE(eocd + 10);
    let directorySize = tail.readUInt32LE(eocd + 12);
    let directoryOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
      const locatorAt = eocd - 20;
      if (locatorAt < 0 || tail.readUInt32LE(locatorAt) !== ZIP64_LOCATOR) throw notAZip();
      const recordOffset = Number(tail.readBigUInt64LE(locatorAt + 8));
      const record = await readAt(handle, recordOffset, 56);
      if (record.readUInt32LE(0) !== ZIP64_EOCD) throw notAZip();
      count = Number(record.readBigUInt64LE(32));
      directorySize = Number(record.readBigUInt64LE(40));
      directoryOffset = Number(record.readBigUInt64LE(48));
    }
    if (directoryOffset + directorySize > fileSize) throw notAZip();
    const directory = await readAt(handle, directoryOffset, directorySize);
    const entries: ZipEntryInfo[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL) throw notAZip();
      const flags = directory.readUInt16LE(at + 8);
      const method = directory.readUInt16LE(at + 10);
      let compressedSize = directory.readUInt32LE(at + 20);
      let size = directory.readUInt32LE(at + 24);
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      let localHeaderOffset = directory.readUInt32LE(at + 42);
      const nameBytes = directory.subarray(at + 46, at + 46 + nameLength);
      // Bit 11: UTF-8 names; others are CP437, of which the ASCII part is all we need to judge paths.
      const name = nameBytes.toString(flags & 0x0800 ? 'utf8' : 'latin1');
      const extra = directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
      const wide = zip64Extra(extra, {
        size: size === 0xffffffff,
        compressed: compressedSize === 0xffffffff,
        offset: localHeaderOffset === 0xffffffff,
      });
      size = wide.size ?? size;
      compressedSize = wide.compressed ?? compressedSize;
      localHeaderOffset = wide.offset ?? localHeaderOffset;
      entries.push({
        name,
        method,
        compressedSize,
        size,
        localHeaderOffset,
        isDirectory: name.endsWith('/') || name.endsWith('\\'),
      });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    await handle.close();
  }
}

/**
 * The entry's path relative to the extraction folder, `/`-separated, or undefined when it would
 * land outside it: absolute paths, drive letters, UNC names and `..` segments are refused.
 */
export function safeEntryPath(name: string): string | undefined {
  if (name.includes('\0')) return undefined;
  const unified = name.replaceAll('\\', '/');
  if (unified.startsWith('/') || /^[A-Za-z]:/.test(unified)) return undefined;
  const segments = unified.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.includes('..')) return undefined;
  return segments.join('/');
}

/** The entry's uncompressed content as a stream. */
export async function openZipEntry(location: string, entry: ZipEntryInfo): Promise<Readable> {
  if (entry.method !== STORE && entry.method !== DEFLATE) {
    throw new SandboxHttpError(400, `Unsupported zip compression method ${entry.method} in ${entry.name}.`);
  }
  const handle = await open(location, 'r');
  let header: Buffer;
  try {
    header = await readAt(handle, entry.localHeaderOffset, 30);
  } finally {
    await handle.close();
  }
  if (header.readUInt32LE(0) !== LOCAL) throw notAZip();
  const start = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (entry.compressedSize === 0) return Readable.from([]);
  const raw = createReadStream(location, { start, end: start + entry.compressedSize - 1 });
  if (entry.method === STORE) return raw;
  return pipeline(raw, createInflateRaw(), () => undefined);
}
