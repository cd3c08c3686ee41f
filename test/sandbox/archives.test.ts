/**
 * Tar and gzip over HTTP, as XNAT's FileList handles them: `extract=true` unpacks tar, tar.gz/tgz
 * and gz uploads (with the zip-slip refusal zips get), and `format=tar` / `format=tar.gz` download
 * resources and scans as archives.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createTar } from '../../src/sandbox/tar.js';
import { demoBasic } from './fixture.js';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(async () => {
  await sb.close();
});

function call(method: string, path: string, body?: Buffer, login = 'alice'): Promise<Response> {
  return fetch(`${sb.url}${path}`, {
    method,
    headers: { Authorization: demoBasic(login), 'Content-Type': 'application/octet-stream' },
    ...(body ? { body } : {}),
  });
}

const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');

function session(): { id: string; label: string } {
  const found = [...sb.archive.experiments.values()].find(
    (e) => e.project === 'BRAIN_MR' && e.xsiType === 'xnat:mrSessionData',
  );
  if (!found) throw new Error('the demo archive has no BRAIN_MR session');
  return { id: found.id, label: found.label };
}

let counter = 0;
function freshResource(): string {
  counter++;
  return `/data/experiments/${session().id}/resources/ARCH${counter}`;
}

interface FileRow {
  Name: string;
  URI: string;
  digest: string;
}

async function paths(resource: string): Promise<Map<string, FileRow>> {
  const response = await call('GET', `${resource}/files?format=json`);
  expect(response.status).toBe(200);
  const rows = ((await response.json()) as { ResultSet: { Result: FileRow[] } }).ResultSet.Result;
  return new Map(rows.map((r) => [r.URI.replace(/.*?\/files\//, ''), r]));
}

const LONG = `${'deep/'.repeat(25)}leaf.dcm`;
const entries = [
  { name: 'scan/1.dcm', data: Buffer.from('dicom one'), modified: Date.UTC(2020, 0, 1) },
  { name: 'scan/2.dcm', data: Buffer.from('dicom two '.repeat(300)), modified: Date.UTC(2020, 0, 1) },
  { name: LONG, data: Buffer.from('long name'), modified: Date.UTC(2020, 0, 1) },
];

/** The entries of a ustar archive, read here independently of the sandbox's reader. */
function tarNames(tar: Buffer): Array<{ name: string; data: Buffer }> {
  const found: Array<{ name: string; data: Buffer }> = [];
  let offset = 0;
  let pending: string | undefined;
  while (offset + 512 <= tar.length && tar[offset] !== 0) {
    const header = tar.subarray(offset, offset + 512);
    const field = (start: number, length: number) =>
      header.toString('utf8', start, start + length).replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12), 8);
    const data = tar.subarray(offset + 512, offset + 512 + size);
    const type = field(156, 1);
    if (type === 'x') pending = /path=(.*)\n/.exec(data.toString('utf8'))?.[1];
    else {
      const prefix = field(345, 155);
      found.push({ name: pending ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100)), data });
      pending = undefined;
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return found;
}

describe('extract=true with tar and gzip', () => {
  it.each([
    ['upload.tar', createTar(entries)],
    ['upload.tar.gz', gzipSync(createTar(entries))],
    ['upload.tgz', gzipSync(createTar(entries))],
  ])('unpacks %s into the resource, keeping relative paths and long names', async (name, body) => {
    const resource = freshResource();
    const put = await call('PUT', `${resource}/files/${name}?extract=true`, body);
    expect(put.status).toBe(200);
    const files = await paths(resource);
    expect([...files.keys()].sort()).toEqual(['scan/1.dcm', 'scan/2.dcm', LONG].sort());
    expect(files.get('scan/2.dcm')?.digest).toBe(md5(Buffer.from('dicom two '.repeat(300))));
    const long = await call('GET', `${resource}/files/${LONG}`);
    expect(await long.text()).toBe('long name');
  });

  it('unpacks into the folder of the archive path, and a plain .gz into its file', async () => {
    const resource = freshResource();
    expect(
      (await call('PUT', `${resource}/files/sub/bundle.tar?extract=true`, createTar(entries))).status,
    ).toBe(200);
    const nifti = Buffer.from('not really a nifti, but gzipped');
    expect((await call('PUT', `${resource}/files/img/t1.nii.gz?extract=true`, gzipSync(nifti))).status).toBe(
      200,
    );
    const files = await paths(resource);
    expect([...files.keys()].sort()).toEqual(
      ['img/t1.nii', 'sub/scan/1.dcm', 'sub/scan/2.dcm', `sub/${LONG}`].sort(),
    );
    expect(files.get('img/t1.nii')?.digest).toBe(md5(nifti));
  });

  it.each([['../evil.txt'], ['/etc/evil.txt'], ['ok/../../evil.txt']])(
    'refuses the whole tar when an entry is %s and stores nothing',
    async (evil) => {
      const resource = freshResource();
      const before = (await readdir(sb.archiveDir)).length;
      const tar = createTar([
        { name: 'fine.txt', data: Buffer.from('fine'), modified: 0 },
        { name: evil, data: Buffer.from('evil'), modified: 0 },
      ]);
      for (const [name, body] of [
        ['bad.tar', tar],
        ['bad.tar.gz', gzipSync(tar)],
      ] as const) {
        const put = await call('PUT', `${resource}/files/${name}?extract=true`, body);
        expect(put.status).toBe(400);
        expect(await put.text()).toContain('outside the resource');
      }
      expect((await call('GET', `${resource}/files?format=json`)).status).toBe(404);
      expect((await readdir(sb.archiveDir)).length).toBe(before);
    },
  );

  it('answers 400 for a .tar that is not one, and keeps archives as files without extract=true', async () => {
    const resource = freshResource();
    const bad = await call('PUT', `${resource}/files/broken.tar?extract=true`, Buffer.alloc(2048, 0x41));
    expect(bad.status).toBe(400);
    await call('PUT', `${resource}/files/keep.tar.gz`, gzipSync(createTar(entries)));
    expect([...(await paths(resource)).keys()]).toEqual(['keep.tar.gz']);
  });
});

describe('format=tar and format=tar.gz downloads', () => {
  it('archives a resource as tar and tar.gz with the zip layout', async () => {
    const resource = freshResource();
    await call('PUT', `${resource}/files/a.txt`, Buffer.from('alpha'));
    await call('PUT', `${resource}/files/sub/b.txt`, Buffer.from('beta'));
    await call('PUT', `${resource}/files/${LONG}`, Buffer.from('long name'));
    const label = resource.slice(resource.lastIndexOf('/') + 1);
    const base = `${session().label}/resources/${label}/files`;

    const tar = await call('GET', `${resource}/files?format=tar`);
    expect(tar.status).toBe(200);
    expect(tar.headers.get('content-type')).toBe('application/x-tar');
    expect(tar.headers.get('content-disposition')).toMatch(/filename=.*\.tar$/);
    const plain = tarNames(Buffer.from(await tar.arrayBuffer()));
    expect(plain.map((e) => [e.name, e.data.toString()])).toEqual([
      [`${base}/a.txt`, 'alpha'],
      [`${base}/sub/b.txt`, 'beta'],
      // Longer than ustar's 100 bytes: carried in a pax header.
      [`${base}/${LONG}`, 'long name'],
    ]);

    const tgz = await call('GET', `${resource}/files?format=tar.gz`);
    expect(tgz.status).toBe(200);
    expect(tgz.headers.get('content-disposition')).toMatch(/filename=.*\.tar\.gz$/);
    const unpacked = tarNames(gunzipSync(Buffer.from(await tgz.arrayBuffer())));
    expect(unpacked.map((e) => e.name)).toEqual(plain.map((e) => e.name));
  });

  it('archives scans', async () => {
    const { id, label } = session();
    const response = await call('GET', `/data/experiments/${id}/scans/ALL/files?format=tar.gz`);
    expect(response.status).toBe(200);
    const names = tarNames(gunzipSync(Buffer.from(await response.arrayBuffer()))).map((e) => e.name);
    expect(names.length).toBeGreaterThan(3);
    expect(names.every((n) => n.startsWith(`${label}/scans/`))).toBe(true);
    expect((await call('GET', `/data/experiments/${id}/scans/NOPE/files?format=tar`)).status).toBe(404);
  });
});
