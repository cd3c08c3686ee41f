/**
 * Downloads of resources with many small files through XNAT's zip of the resource: one request,
 * every file verified against the listing and placed like a single download; a zip that does not
 * deliver a file intact (links, escaping names, sizes beyond the listing, a wrong MD5) leaves that
 * file to the per-file download. The sandbox's zip writer and the client's reader check each other.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/client.js';
import { XnatCancelledError, XnatProtocolError } from '../../src/client/errors.js';
import type { XnatFile } from '../../src/client/models.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createZip } from '../../src/sandbox/zip.js';
import { useSyncCommand } from '../../src/client/transfers/fs-sync.js';
import { onLocalDisk } from '../../src/client/transfers/partials.js';

const FILES = 40;
let sandbox: RunningSandbox;
let work: string;
let admin: XnatClient;
let files: XnatFile[];
const contents = new Map<string, Buffer>();
const servers: Server[] = [];

function bytesOf(i: number): Buffer {
  return Buffer.from(
    createHash('sha256')
      .update(`file ${i}`)
      .digest('hex')
      .repeat(1 + (i % 7)),
  );
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** Every file below a folder, relative paths, hidden ones (partial downloads) included. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(join(dir, entry.name), rel);
      else out.push(rel);
    }
  };
  if (existsSync(root)) walk(root, '');
  return out.sort();
}

beforeAll(async () => {
  sandbox = await startSandbox();
  work = mkdtempSync(join(tmpdir(), 'xnat-zip-download-'));
  admin = new XnatClient({ url: sandbox.url, user: 'admin', password: 'admin' });
  const page = await admin.listExperiments({ project: 'BRAIN_MR', xsiType: 'xnat:mrSessionData', limit: 1 });
  const experiment = page.items[0]!.id;
  const scan = (await admin.listScans(experiment))[0]!.id;
  const local = join(work, 'source');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const upload = [];
  for (let i = 0; i < FILES; i++) {
    const remotePath = `${i % 3 === 0 ? 'sub/' : ''}IM${String(i).padStart(4, '0')}.dcm`;
    const localPath = join(local, remotePath);
    mkdirSync(join(localPath, '..'), { recursive: true });
    writeFileSync(localPath, bytesOf(i));
    contents.set(remotePath, bytesOf(i));
    upload.push({ localPath, remotePath });
  }
  await admin.upload({ parent: { experiment, scan }, resource: 'MANY', files: upload, overwrite: true });
  files = await admin.listFiles({ experiment, scan, resource: 'MANY' });
  expect(files).toHaveLength(FILES);
});

afterAll(async () => {
  await admin?.close();
  await sandbox?.close();
  for (const server of servers) server.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('zipped downloads of many small files', () => {
  it('fetch the resource zip in one request and verify and place every file', async () => {
    const destDir = mkdtempSync(join(work, 'zip-'));
    const before = admin.stats.requests;
    const progress: number[] = [];
    const result = await admin.download({
      files,
      destDir,
      layout: 'xnat',
      onProgress: (p) => progress.push(p.filesDone),
    });
    expect(admin.stats.requests - before).toBe(1);
    expect(result.files).toHaveLength(FILES);
    expect(result.files.every((f) => f.checksum === 'match')).toBe(true);
    expect(progress[progress.length - 1]).toBe(FILES);
    const expected = [...contents.keys()].map((p) => `scans/${files[0]!.scan}/resources/MANY/files/${p}`);
    expect(tree(destDir)).toEqual(expected.sort());
    for (const [path, data] of contents) {
      expect(readFileSync(join(destDir, 'scans', files[0]!.scan!, 'resources/MANY/files', path))).toEqual(
        data,
      );
    }
  });

  it('fetch one file per request when zips are turned off, with the same result', async () => {
    const destDir = mkdtempSync(join(work, 'nozip-'));
    const before = admin.stats.requests;
    const result = await admin.download({ files, destDir, layout: 'flat', zip: false });
    expect(admin.stats.requests - before).toBe(FILES);
    expect(result.files).toHaveLength(FILES);
    for (const [path, data] of contents)
      expect(readFileSync(join(destDir, path.split('/').pop()!))).toEqual(data);
  });

  it('keep local files as before: present ones are recognised, only the missing come down', async () => {
    const destDir = mkdtempSync(join(work, 'resume-'));
    await admin.download({ files: files.slice(0, 10), destDir, layout: 'flat', zip: false });
    const result = await admin.download({ files, destDir, layout: 'flat' });
    expect(result.skipped).toHaveLength(10);
    expect(result.skipped.every((s) => s.reason === 'already present and identical')).toBe(true);
    expect(result.files).toHaveLength(FILES - 10);
  });

  it('stop when cancelled, leaving no partial file and no zip behind', async () => {
    const destDir = mkdtempSync(join(work, 'cancel-'));
    const cancel = new AbortController();
    const error = await admin
      .download({
        files,
        destDir,
        layout: 'flat',
        concurrency: 1,
        signal: cancel.signal,
        onProgress: (p) => {
          if (p.filesDone === 3) cancel.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(XnatCancelledError);
    const left = tree(destDir);
    expect(left.some((name) => name.includes('.xnat-mcp-partial-'))).toBe(false);
    expect(left.length).toBeLessThan(FILES);
  });

  it('do not deliver a file whose bytes do not match the listed MD5, by zip or otherwise', async () => {
    const destDir = mkdtempSync(join(work, 'bad-md5-'));
    const tampered = files.map((f, i) => (i === 5 ? { ...f, digest: '0'.repeat(32) } : f));
    const error = await admin
      .download({ files: tampered, destDir, layout: 'flat', concurrency: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(XnatProtocolError);
    expect((error as Error).message).toContain(`but XNAT lists ${'0'.repeat(32)}`);
    expect(tree(destDir)).not.toContain(files[5]!.name);
    expect(tree(destDir).some((name) => name.includes('.xnat-mcp-partial-'))).toBe(false);
    expect(tree(destDir).length).toBe(FILES - 1);
  });
});

/** A server answering a session login, one resource zip and single files by name, recording each request. */
async function zipServer(zip: Buffer, data: Map<string, Buffer>, seen: string[]): Promise<string> {
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === '/data/JSESSION') return res.writeHead(200).end(req.method === 'POST' ? 'ABC' : '');
    if (req.url === '/data/experiments/E1/resources/11/files?format=zip') {
      return res.writeHead(200, { 'content-type': 'application/zip' }).end(zip);
    }
    const name = /\/files\/([^?]+)$/.exec(req.url ?? '')?.[1];
    const body = name === undefined ? undefined : data.get(name);
    if (body === undefined) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function listingOf(data: Map<string, Buffer>): XnatFile[] {
  return [...data].map(([name, bytes]) => ({
    name,
    path: name,
    resource: 'R',
    size: bytes.length,
    digest: md5(bytes),
    format: '',
    content: '',
    uri: `/data/experiments/E1/resources/11/files/${name}`,
  }));
}

/**
 * The zip with its first local header naming a method the streaming reader does not take (the
 * central directory keeps the real one): every entry then comes from the complete zip, in batches.
 */
function unstreamable(zip: Buffer): Buffer {
  zip.writeUInt16LE(99, 8);
  return zip;
}

describe('zips of more files than one batch places at once', () => {
  it('place every file of a 1,100-entry zip (two batches) in one request, verified, with no partial file left', async () => {
    const names = Array.from({ length: 1100 }, (_, i) => `f${String(i).padStart(4, '0')}.dcm`);
    const data = new Map(names.map((name, i) => [name, bytesOf(i)]));
    const zip = unstreamable(
      createZip(
        names.map((name) => ({
          name: `S1/resources/R/files/${name}`,
          data: data.get(name)!,
          modified: Date.now(),
        })),
      ),
    );
    const seen: string[] = [];
    const xnat = new XnatClient({ url: await zipServer(zip, data, seen), user: 'alice', password: 'x' });
    const destDir = mkdtempSync(join(work, 'batches-'));
    try {
      const result = await xnat.download({ files: listingOf(data), destDir, layout: 'flat' });
      expect(result.files).toHaveLength(1100);
      expect(result.files.every((f) => f.checksum === 'match')).toBe(true);
    } finally {
      await xnat.close();
    }
    expect(seen.filter((line) => line.startsWith('GET /data/experiments/'))).toEqual([
      'GET /data/experiments/E1/resources/11/files?format=zip',
    ]);
    expect(tree(destDir)).toEqual(names);
    for (const name of names) expect(readFileSync(join(destDir, name))).toEqual(data.get(name));
  });
});

/**
 * A zip as a streaming writer makes it (Java's ZipOutputStream, which XNAT's zips come from): each
 * deflated entry's local header has flag 3 set and zero CRC and sizes, and a data descriptor follows
 * its data; only the central directory holds the real values. Written here, not by the sandbox.
 */
function streamedZip(entries: ReadonlyArray<{ name: string; data: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const deflated = deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0808, 6); // UTF-8 names, data descriptor
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(nameBytes.length, 26);
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc, 4);
    descriptor.writeUInt32LE(deflated.length, 8);
    descriptor.writeUInt32LE(data.length, 12);
    parts.push(local, nameBytes, deflated, descriptor);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(0x0808, 8);
    header.writeUInt16LE(8, 10);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(deflated.length, 20);
    header.writeUInt32LE(data.length, 24);
    header.writeUInt16LE(nameBytes.length, 28);
    header.writeUInt32LE(offset, 42);
    central.push(header, nameBytes);
    offset += local.length + nameBytes.length + deflated.length + descriptor.length;
  }
  const centralSize = central.reduce((sum, b) => sum + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

describe('zips written as a stream, as XNAT writes them', () => {
  it('read entries whose local headers hold no sizes (data descriptors) from the central directory', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `d${i}.dcm`);
    const data = new Map(names.map((name, i) => [name, bytesOf(i)]));
    const zip = streamedZip(
      names.map((name) => ({ name: `S1/resources/R/files/${name}`, data: data.get(name)! })),
    );
    const seen: string[] = [];
    const xnat = new XnatClient({ url: await zipServer(zip, data, seen), user: 'alice', password: 'x' });
    const destDir = mkdtempSync(join(work, 'descriptors-'));
    try {
      const result = await xnat.download({ files: listingOf(data), destDir, layout: 'flat' });
      expect(result.files).toHaveLength(30);
    } finally {
      await xnat.close();
    }
    // One request: every file came from the zip, none was fetched on its own.
    expect(seen.filter((line) => line.startsWith('GET /data/experiments/'))).toEqual([
      'GET /data/experiments/E1/resources/11/files?format=zip',
    ]);
    for (const name of names) expect(readFileSync(join(destDir, name))).toEqual(data.get(name));
  });
});

describe('which disks get synchronous file calls', () => {
  it('local disks only: tmpfs yes; a kernel file system or a missing folder no (as a network one would)', async () => {
    expect(await onLocalDisk('/dev/shm')).toBe(true);
    expect(await onLocalDisk('/proc')).toBe(false);
    expect(await onLocalDisk(join(work, 'no-such-folder'))).toBe(false);
  });
});

describe('flushing many files without `sync -f`', () => {
  it('flushes each file through a descriptor of its own (they were closed after writing) and places them all', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `g${String(i).padStart(3, '0')}.dcm`);
    const data = new Map(names.map((name, i) => [name, bytesOf(i)]));
    const zip = createZip(
      names.map((name) => ({
        name: `S1/resources/R/files/${name}`,
        data: data.get(name)!,
        modified: Date.now(),
      })),
    );
    const xnat = new XnatClient({ url: await zipServer(zip, data, []), user: 'alice', password: 'x' });
    const destDir = mkdtempSync(join(work, 'no-sync-command-'));
    useSyncCommand(null);
    try {
      const result = await xnat.download({ files: listingOf(data), destDir, layout: 'flat' });
      expect(result.files).toHaveLength(200);
    } finally {
      useSyncCommand(undefined);
      await xnat.close();
    }
    expect(tree(destDir)).toEqual(names);
    for (const name of names) expect(readFileSync(join(destDir, name))).toEqual(data.get(name));
  });
});

describe('a zipped download that fails while placing', () => {
  it.each([
    ['from the complete zip, in batches', unstreamable],
    ['written while the zip arrived', (zip: Buffer) => zip],
  ])(
    'leaves no temporary file when placing fails (%s), of the failed batch nor of the next one',
    async (_, shape) => {
      // 1,100 entries: a first batch being placed while the second is written. A folder (not empty)
      // stands where a file of the first batch goes, so its move into place fails.
      const names = Array.from({ length: 1100 }, (_, i) => `f${String(i).padStart(4, '0')}.dcm`);
      const data = new Map(names.map((name, i) => [name, bytesOf(i)]));
      const zip = shape(
        createZip(
          names.map((name) => ({
            name: `S1/resources/R/files/${name}`,
            data: data.get(name)!,
            modified: Date.now(),
          })),
        ),
      );
      const xnat = new XnatClient({ url: await zipServer(zip, data, []), user: 'alice', password: 'x' });
      const destDir = mkdtempSync(join(work, 'place-fails-'));
      const { mkdirSync, writeFileSync } = await import('node:fs');
      mkdirSync(join(destDir, 'f0100.dcm'));
      writeFileSync(join(destDir, 'f0100.dcm', 'keep.txt'), 'in the way');
      try {
        await expect(
          xnat.download({ files: listingOf(data), destDir, layout: 'flat', overwrite: true }),
        ).rejects.toThrow(/f0100\.dcm/);
      } finally {
        await xnat.close();
      }
      const left = tree(destDir);
      expect(left.filter((name) => name.includes('.xnat-mcp-partial-'))).toEqual([]);
      expect(left).toContain('f0100.dcm/keep.txt');
      // Whatever was placed before the failure is whole.
      for (const name of left.filter((n) => n.endsWith('.dcm')))
        expect(readFileSync(join(destDir, name))).toEqual(data.get(name));
    },
  );
});

/** A zip from the sandbox's writer with entry `index`'s central record marked as a Unix symbolic link. */
function withLink(zip: Buffer, index: number): Buffer {
  let seen = 0;
  for (let at = 0; at + 4 <= zip.length; at++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) continue;
    if (seen++ === index) {
      zip.writeUInt8(3, at + 5); // made by Unix
      zip.writeUInt32LE((0o120777 << 16) >>> 0, at + 38);
      return zip;
    }
  }
  throw new Error('no such entry');
}

describe('zips that do not deliver a file intact', () => {
  it('never write an escaping or linked entry and fetch the files it should have held one by one', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `f${i}.dcm`);
    const data = new Map(names.map((name, i) => [name, bytesOf(i)]));
    const listing = listingOf(data);
    const entries = names.map((name) => ({
      name: `S1/resources/R/files/${name}`,
      data: data.get(name)!,
      modified: Date.now(),
    }));
    // f1 is a link, f2 is larger than listed, f3 is missing; an escaping entry names a listed file.
    entries[2] = { ...entries[2]!, data: Buffer.concat([data.get('f2.dcm')!, Buffer.alloc(4096)]) };
    entries.splice(3, 1);
    entries.push({
      name: '../../resources/R/files/escape.txt',
      data: Buffer.from('x'),
      modified: Date.now(),
    });
    const zip = withLink(createZip(entries), 1);
    const seen: string[] = [];
    const url = await zipServer(zip, data, seen);
    const xnat = new XnatClient({ url, user: 'alice', password: 'x' });
    const destDir = mkdtempSync(join(work, 'odd-zip-'));
    try {
      const result = await xnat.download({ files: listing, destDir, layout: 'flat' });
      expect(result.files).toHaveLength(20);
    } finally {
      await xnat.close();
    }
    expect(tree(destDir)).toEqual([...names].sort());
    for (const name of names) expect(readFileSync(join(destDir, name))).toEqual(data.get(name));
    expect(existsSync(join(work, 'escape.txt'))).toBe(false);
    const perFile = seen.filter((line) => line.startsWith('GET /data/experiments/E1/resources/11/files/'));
    expect(perFile.sort()).toEqual(
      ['f1.dcm', 'f2.dcm', 'f3.dcm'].map((n) => `GET /data/experiments/E1/resources/11/files/${n}`),
    );
  });
});
