/**
 * Reading a zip's entries while it arrives (client/transfers/zip-stream.ts), fed in small pieces:
 * entries come out as soon as their bytes are in, whether the writer put sizes in the local headers
 * (createZip) or data descriptors after deflated data (zipStream, as XNAT's ZipOutputStream does).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ZipStreamReader } from '../../src/client/transfers/zip-stream.js';
import { createZip, zipStream, type ZipEntry } from '../../src/sandbox/zip.js';

const entries: ZipEntry[] = Array.from({ length: 40 }, (_, i) => ({
  name: `S1/resources/R/files/f${i}.dcm`,
  // Compressible (deflated) and random (stored) entries alternate.
  data:
    i % 2 === 0
      ? Buffer.from(
          createHash('sha256')
            .update(String(i))
            .digest('hex')
            .repeat(40 + i),
        )
      : createHash('sha512').update(String(i)).digest(),
  modified: Date.UTC(2026, 0, 2),
}));
const sizes = new Map(entries.map((e) => [e.name, e.data.length]));

async function bytesOf(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Feeds `zip` in pieces of `piece` bytes; the names read, and how many were read by half-way. */
function readInPieces(
  zip: Buffer,
  piece: number,
): { names: string[]; byHalf: number; data: Map<string, Buffer> } {
  const reader = new ZipStreamReader(zip.length);
  const names: string[] = [];
  const data = new Map<string, Buffer>();
  let byHalf = 0;
  for (let at = 0; at < zip.length; at += piece) {
    reader.push(zip.subarray(at, at + piece));
    for (;;) {
      const entry = reader.next((name) => sizes.get(name), 1 << 20);
      if (entry === undefined) break;
      if (entry === 'skipped') continue;
      names.push(entry.name);
      data.set(entry.name, entry.data);
    }
    if (at < zip.length / 2) byHalf = names.length;
  }
  return { names, byHalf, data };
}

describe('reading a zip while it arrives', () => {
  it.each([
    ['sizes in the local headers (createZip)', () => Promise.resolve(createZip(entries))],
    ['data descriptors after deflated data (zipStream, as XNAT writes)', () => bytesOf(zipStream(entries))],
  ])('%s: every entry, in order, each as soon as it is complete', async (_, make) => {
    const zip = await make();
    for (const piece of [7, 1000, 65536]) {
      const { names, byHalf, data } = readInPieces(zip, piece);
      expect(names).toEqual(entries.map((e) => e.name));
      for (const e of entries) expect(data.get(e.name)).toEqual(e.data);
      if (piece < zip.length / 4) expect(byHalf).toBeGreaterThan(0);
    }
  });

  it('skips entries not asked for, and stops at what it does not take (an encrypted entry)', async () => {
    const zip = createZip(entries.slice(0, 4));
    const reader = new ZipStreamReader(zip.length);
    reader.push(zip);
    const seen: Array<string | undefined> = [];
    for (let i = 0; i < 4; i++) {
      const entry = reader.next((name) => (name.endsWith('f1.dcm') ? undefined : sizes.get(name)), 1 << 20);
      seen.push(entry === 'skipped' ? 'skipped' : entry?.name);
    }
    expect(seen).toEqual([entries[0]!.name, 'skipped', entries[2]!.name, entries[3]!.name]);
    expect(reader.next(() => 1, 1 << 20)).toBeUndefined();

    const encrypted = Buffer.from(zip);
    encrypted.writeUInt16LE(encrypted.readUInt16LE(6) | 1, 6);
    const stopped = new ZipStreamReader(encrypted.length);
    stopped.push(encrypted);
    expect(stopped.next((name) => sizes.get(name), 1 << 20)).toBeUndefined();
  });

  it('never inflates past the listed size', async () => {
    const zip = await bytesOf(zipStream(entries.slice(0, 1)));
    const reader = new ZipStreamReader(zip.length);
    reader.push(zip);
    expect(reader.next(() => 10, 1 << 20)).toBeUndefined();
  });
});
