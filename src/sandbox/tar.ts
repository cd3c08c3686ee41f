/**
 * Tar archives without a dependency: a ustar writer for `format=tar` / `format=tar.gz` downloads
 * (entries built in memory, like zip.ts: sandbox files are small) and a reader for uploads with
 * `extract=true` that walks the headers of a tar stored on disk and streams each entry's bytes from
 * the file. The reader understands ustar prefixes, pax `path` records and GNU long names; links and
 * devices are skipped, as nothing but files belongs in a resource.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

import { SandboxHttpError } from './errors.js';

const BLOCK = 512;

export interface TarEntry {
  name: string;
  data: Buffer;
  /** Epoch milliseconds. */
  modified: number;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: Buffer, size: number, modified: number, type: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  name.copy(block, 0, 0, Math.min(name.length, 100));
  block.write(octal(0o644, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(Math.floor(modified / 1000), 12), 136, 'ascii');
  block.write(type, 156, 'ascii');
  block.write('ustar\0' + '00', 257, 'ascii');
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

const padding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** A pax extended header carrying `path` for names that do not fit ustar's 100 bytes. */
function paxPath(name: string, modified: number): Buffer[] {
  const body = ` path=${name}\n`;
  // The record's length counts its own digits.
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length++;
  const record = Buffer.from(`${length}${body}`, 'utf8');
  return [
    header(Buffer.from('PaxHeader', 'ascii'), record.length, modified, 'x'),
    record,
    padding(record.length),
  ];
}

export function createTar(entries: TarEntry[]): Buffer {
  const chunks: Buffer[] = [];
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    if (name.length > 100) chunks.push(...paxPath(entry.name, entry.modified));
    chunks.push(header(name, entry.data.length, entry.modified, '0'), entry.data, padding(entry.data.length));
  }
  chunks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(chunks);
}

export interface TarEntryInfo {
  name: string;
  /** Offset of the entry's data in the archive file. */
  offset: number;
  size: number;
  isDirectory: boolean;
}

const notATar = (): SandboxHttpError =>
  new SandboxHttpError(400, 'The uploaded file is not a valid tar archive.');

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

/** A numeric field: octal text, or GNU base-256 when the high bit is set. */
function number(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  if ((field[0] ?? 0) & 0x80) {
    let value = (field[0] ?? 0) & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const digits = field
    .toString('ascii')
    .replace(/[\0 ]+$/, '')
    .trim();
  if (!/^[0-7]*$/.test(digits)) throw notATar();
  return digits === '' ? 0 : parseInt(digits, 8);
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] ?? 0);
  return number(block, 148, 8) === sum;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.toString('ascii', at, space));
    if (space < 0 || !Number.isInteger(length) || length <= 0) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/** Whether a file on disk starts with a valid tar header (a gzip member may hold a tar or a single file). */
export async function isTar(location: string): Promise<boolean> {
  const handle = await open(location, 'r');
  try {
    const block = await readAt(handle, 0, BLOCK);
    return block.length === BLOCK && checksumOk(block);
  } catch {
    return false;
  } finally {
    await handle.close();
  }
}

/** The entries of a tar stored on disk, in archive order; 400 when it is not a tar. */
export async function readTarDirectory(location: string): Promise<TarEntryInfo[]> {
  const handle = await open(location, 'r');
  const entries: TarEntryInfo[] = [];
  try {
    const { size: total } = await handle.stat();
    let offset = 0;
    let longName: string | undefined;
    while (offset + BLOCK <= total) {
      const block = await readAt(handle, offset, BLOCK);
      if (block.every((b) => b === 0)) break;
      if (!checksumOk(block)) throw notATar();
      const size = number(block, 124, 12);
      const type = String.fromCharCode(block[156] ?? 0);
      const data = offset + BLOCK;
      if (data + size > total) throw notATar();
      offset = data + size + ((BLOCK - (size % BLOCK)) % BLOCK);
      if (type === 'x' || type === 'L') {
        const body = await readAt(handle, data, size);
        longName = type === 'L' ? text(body, 0, body.length) : (paxRecords(body).get('path') ?? longName);
        continue;
      }
      if (type === 'g') continue;
      const prefix = text(block, 257, 6) === 'ustar' ? text(block, 345, 155) : '';
      const name = longName ?? (prefix === '' ? text(block, 0, 100) : `${prefix}/${text(block, 0, 100)}`);
      longName = undefined;
      if (type === '0' || type === '\0' || type === '7') {
        entries.push({ name, offset: data, size, isDirectory: name.endsWith('/') });
      } else if (type === '5') {
        entries.push({ name, offset: data, size: 0, isDirectory: true });
      }
    }
  } finally {
    await handle.close();
  }
  return entries;
}

/** The entry's bytes as a stream. */
export function openTarEntry(location: string, entry: TarEntryInfo): Readable {
  if (entry.size === 0) return Readable.from([]);
  return createReadStream(location, { start: entry.offset, end: entry.offset + entry.size - 1 });
}
