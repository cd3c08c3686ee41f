/**
 * A minimal zip writer (deflate via node:zlib, CRC-32 from zlib) for `format=zip` downloads, so the
 * sandbox needs no archive dependency. Entries are built in memory: sandbox files are small.
 * `zipStream` writes a resource's files the way XNAT does, as a stream (Java's ZipOutputStream over
 * the response): each deflated entry's local header leaves CRC and sizes at zero and flags a data
 * descriptor that follows the data; only the central directory at the end holds every value.
 */
import { Readable } from 'node:stream';
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  data: Buffer;
  /** Epoch milliseconds. */
  modified: number;
}

function dosDateTime(epochMillis: number): { time: number; date: number } {
  const d = new Date(epochMillis);
  const year = Math.max(1980, d.getFullYear());
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

const UTF8_NAMES = 0x0800;
const DEFLATE = 8;
const STORE = 0;

const DATA_DESCRIPTOR = 0x0008;
/** Entries written between turns of the event loop, so the response goes out as it is made. */
const ENTRIES_PER_TURN = 32;

/**
 * One entry's bytes in the zip (local header, name, data, and a data descriptor when
 * `descriptors`) and its central directory record at `offset`. With descriptors, as Java's
 * ZipOutputStream writes a deflated entry: its local header leaves CRC and sizes at zero. Java
 * stores an entry only when told its sizes first, so a stored one keeps them in its header.
 */
function entryRecords(
  entry: ZipEntry,
  offset: number,
  descriptors: boolean,
): { local: Buffer[]; central: Buffer[]; length: number } {
  const name = Buffer.from(entry.name, 'utf8');
  const deflated = deflateRawSync(entry.data);
  const useDeflate = deflated.length < entry.data.length;
  const payload = useDeflate ? deflated : entry.data;
  const crc = crc32(entry.data);
  const described = descriptors && useDeflate;
  const flags = UTF8_NAMES | (described ? DATA_DESCRIPTOR : 0);
  const method = useDeflate ? DEFLATE : STORE;
  const { time, date } = dosDateTime(entry.modified);

  // Local and central headers share these fields, from "version needed" on, in the same order.
  const fields = (b: Buffer, at: number, sized: boolean): void => {
    b.writeUInt16LE(20, at);
    b.writeUInt16LE(flags, at + 2);
    b.writeUInt16LE(method, at + 4);
    b.writeUInt16LE(time, at + 6);
    b.writeUInt16LE(date, at + 8);
    if (!sized) return;
    b.writeUInt32LE(crc, at + 10);
    b.writeUInt32LE(payload.length, at + 14);
    b.writeUInt32LE(entry.data.length, at + 18);
  };

  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  fields(local, 4, !described);
  local.writeUInt16LE(name.length, 26);
  const descriptor = Buffer.alloc(described ? 16 : 0);
  if (described) {
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc, 4);
    descriptor.writeUInt32LE(payload.length, 8);
    descriptor.writeUInt32LE(entry.data.length, 12);
  }

  const header = Buffer.alloc(46);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE(20, 4);
  fields(header, 6, true);
  header.writeUInt16LE(name.length, 28);
  header.writeUInt32LE(offset, 42);
  return {
    local: [local, name, payload, descriptor],
    central: [header, name],
    length: local.length + name.length + payload.length + descriptor.length,
  };
}

/** The central directory and its end record, for `count` entries whose data ends at `offset`. */
function centralDirectory(central: Buffer[], count: number, offset: number): Buffer {
  const centralSize = central.reduce((sum, b) => sum + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...central, end]);
}

export function createZip(entries: ZipEntry[]): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const records = entryRecords(entry, offset, false);
    chunks.push(...records.local);
    central.push(...records.central);
    offset += records.length;
  }
  return Buffer.concat([...chunks, centralDirectory(central, entries.length, offset)]);
}

/** The zip of `entries` as a stream, entry by entry, as XNAT's ZipOutputStream writes it. */
export function zipStream(entries: readonly ZipEntry[]): Readable {
  return Readable.from(streamedParts(entries), { objectMode: false });
}

async function* streamedParts(entries: readonly ZipEntry[]): AsyncGenerator<Buffer> {
  const central: Buffer[] = [];
  let offset = 0;
  for (const [index, entry] of entries.entries()) {
    if (index % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1)
      await new Promise((resolve) => setImmediate(resolve));
    const records = entryRecords(entry, offset, true);
    yield Buffer.concat(records.local);
    central.push(...records.central);
    offset += records.length;
  }
  yield centralDirectory(central, entries.length, offset);
}
