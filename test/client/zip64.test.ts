/**
 * Packing large sessions for the import service: beyond 65,535 files (or 4 GiB) the stored zip is
 * written as ZIP64, which the client's own check and the sandbox's importer both read.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/client.js';
import { checkZip, storedZip, type ZipSource } from '../../src/client/zipcheck.js';
import { mrDicom } from '../fixtures/mr-dicom.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import type { SandboxArchive } from '../../src/sandbox/model.js';
import { openZipEntry, readZipDirectory } from '../../src/sandbox/unzip.js';

let sandbox: RunningSandbox;
let archive: SandboxArchive;
let client: XnatClient;
let work: string;

beforeAll(async () => {
  archive = createDemoArchive();
  sandbox = await startSandbox({ archive });
  client = new XnatClient({ url: sandbox.url, user: 'alice', password: 'alice123' });
  work = mkdtempSync(join(tmpdir(), 'xnat-mcp-zip64-'));
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
  rmSync(work, { recursive: true, force: true });
});

function dicom(uid: string, instance: number): Buffer {
  return mrDicom({
    study: uid,
    series: 1,
    instance: instance,
    seriesDescription: 'BOLD_MB',
    patientName: 'DOE^ZIP64',
    patientId: 'ZIP64PAT',
  });
}

async function writeZip(path: string, sources: ZipSource[], options?: { zip64?: boolean }): Promise<void> {
  const body = await storedZip(sources, options);
  const chunks: Buffer[] = [];
  for await (const chunk of body.open()) chunks.push(chunk as Buffer);
  const zip = Buffer.concat(chunks);
  expect(zip.length).toBe(body.length);
  writeFileSync(path, zip);
}

describe('ZIP64 packing', () => {
  it('packs more than 65,535 files as ZIP64, which the client checks and the sandbox imports', async () => {
    const uid = '1.2.826.0.1.3680043.8.499.64.1';
    const dir = join(work, 'session');
    mkdirSync(dir);
    writeFileSync(join(dir, '1.dcm'), dicom(uid, 1));
    writeFileSync(join(dir, '2.dcm'), dicom(uid, 2));
    writeFileSync(join(dir, 'empty.txt'), '');
    // 65,535 empty entries beside the DICOM (one local file under many names keeps the test fast).
    const sources: ZipSource[] = [
      { localPath: join(dir, '1.dcm'), name: 'series1/1.dcm' },
      ...Array.from({ length: 65_535 }, (_, i) => ({
        localPath: join(dir, 'empty.txt'),
        name: `notes/${i % 256}/${i}.txt`,
      })),
      { localPath: join(dir, '2.dcm'), name: 'series1/2.dcm' },
    ];
    const zip = join(work, 'session.zip');
    await writeZip(zip, sources);

    const entries = await checkZip(zip);
    expect(entries).toHaveLength(65_537);
    expect(entries[65_536]).toEqual({ name: 'series1/2.dcm', size: dicom(uid, 2).length, directory: false });

    const result = await client.importSession({
      zipPath: zip,
      project: 'BRAIN_MR',
      destination: 'prearchive',
    });
    expect(result.uris).toHaveLength(1);
    const session = archive.prearchive?.find((s) => s.tag === uid);
    expect(session?.project).toBe('BRAIN_MR');
    // Both DICOM files arrived, the last one after all the ZIP64 entries included.
    expect(session?.session.scans.flatMap((s) => s.resources.flatMap((r) => r.files))).toHaveLength(2);
  }, 120_000);

  it('writes ZIP64 sizes and offsets that both readers take, whatever the entry count', async () => {
    const dir = join(work, 'forced');
    mkdirSync(dir);
    const sources = ['a.bin', 'sub/b.bin', 'c.bin'].map((name, i) => {
      const localPath = join(dir, name.replace('/', '-'));
      writeFileSync(localPath, Buffer.alloc(1000 * (i + 1), i + 1));
      return { localPath, name };
    });
    const zip = join(work, 'forced.zip');
    await writeZip(zip, sources, { zip64: true });
    const bytes = readFileSync(zip);
    // ZIP64 end record and locator before the classic end record; a ZIP64 extra in the first local header.
    expect(bytes.readUInt32LE(bytes.length - 22 - 20 - 56)).toBe(0x06064b50);
    expect(bytes.readUInt32LE(bytes.length - 22 - 20)).toBe(0x07064b50);
    expect(bytes.readUInt32LE(18)).toBe(0xffffffff);
    expect(bytes.readUInt16LE(30 + 'a.bin'.length)).toBe(0x0001);

    expect(await checkZip(zip)).toEqual([
      { name: 'a.bin', size: 1000, directory: false },
      { name: 'sub/b.bin', size: 2000, directory: false },
      { name: 'c.bin', size: 3000, directory: false },
    ]);
    const entries = await readZipDirectory(zip);
    expect(entries.map((e) => [e.name, e.size, e.compressedSize])).toEqual([
      ['a.bin', 1000, 1000],
      ['sub/b.bin', 2000, 2000],
      ['c.bin', 3000, 3000],
    ]);
    for (const [i, entry] of entries.entries()) {
      const chunks: Buffer[] = [];
      for await (const chunk of await openZipEntry(zip, entry)) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks)).toEqual(readFileSync(sources[i]!.localPath));
    }
  });
});
