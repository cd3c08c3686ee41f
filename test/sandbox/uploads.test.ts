/**
 * Resource folders, file uploads and deletes (§7.1, §7.5) over HTTP against the demo archive, and
 * the fault injection client tests rely on (downloads cut or stalled part-way, uploads cut, sessions
 * expiring during an upload).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startSandbox } from '../../src/sandbox/index.js';
import { startSandboxWithFaults, type SandboxWithFaults } from '../../src/sandbox/testing.js';
import { demoBasic } from './fixture.js';
import { createZip } from '../../src/sandbox/zip.js';

let sb: SandboxWithFaults;
beforeAll(async () => {
  sb = await startSandboxWithFaults();
});
afterAll(async () => {
  await sb.close();
});
afterEach(() => {
  sb.faults.clear();
});

interface Call {
  login?: string;
  body?: RequestInit['body'];
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

function call(method: string, path: string, { login = 'alice', body, headers = {}, signal }: Call = {}) {
  return fetch(`${sb.url}${path}`, {
    method,
    headers: { Authorization: demoBasic(login), ...headers },
    ...(body === undefined ? {} : { body }),
    ...(signal ? { signal } : {}),
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
}

const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');

/** The first BRAIN_MR MR session (its label), from the demo archive. */
function brainSession(): { id: string; label: string; subject: string } {
  const session = [...sb.archive.experiments.values()].find(
    (e) => e.project === 'BRAIN_MR' && e.xsiType === 'xnat:mrSessionData',
  );
  if (!session) throw new Error('the demo archive has no BRAIN_MR session');
  const subject = sb.archive.subjects.get(session.subjectId);
  return { id: session.id, label: session.label, subject: subject?.label ?? '' };
}

let resourceCounter = 0;
/** A fresh resource folder URL under the BRAIN_MR session, so tests do not see each other's files. */
function freshResource(): string {
  const { id } = brainSession();
  resourceCounter++;
  return `/data/experiments/${id}/resources/UP${resourceCounter}`;
}

interface FileRow {
  Name: string;
  Size: string;
  URI: string;
  digest: string;
  file_format: string;
  file_content: string;
  file_tags: string;
  collection: string;
}

async function listing(resourceUrl: string, login = 'alice'): Promise<FileRow[]> {
  const response = await call('GET', `${resourceUrl}/files?format=json`, { login });
  expect(response.status).toBe(200);
  return ((await response.json()) as { ResultSet: { Result: FileRow[] } }).ResultSet.Result;
}

async function blobCount(): Promise<number> {
  return (await readdir(sb.archiveDir)).length;
}

describe('file upload', () => {
  it('stores a raw body under the URL path, creating the resource, with size and MD5 digest', async () => {
    const url = freshResource();
    const bytes = Buffer.from('raw upload body\n'.repeat(100));
    const put = await call('PUT', `${url}/files/sub/dir/notes.txt?format=TXT&content=NOTES&tags=a,b=c`, {
      body: bytes,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(put.status).toBe(200);
    expect(await put.text()).toBe('');

    const rows = await listing(url);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      Name: 'notes.txt',
      Size: String(bytes.length),
      digest: md5(bytes),
      file_format: 'TXT',
      file_content: 'NOTES',
      file_tags: 'a,b=c',
      collection: url.slice(url.lastIndexOf('/') + 1),
    });
    expect(rows[0]?.URI).toMatch(/\/resources\/\d+\/files\/sub\/dir\/notes\.txt$/);

    const resources = await call('GET', `${url.slice(0, url.lastIndexOf('/'))}?format=json`);
    const resourceRows = (
      (await resources.json()) as { ResultSet: { Result: Array<Record<string, string>> } }
    ).ResultSet.Result;
    expect(resourceRows.find((r) => url.endsWith(`/${r.label}`))).toMatchObject({
      file_count: '1',
      file_size: String(bytes.length),
      format: 'TXT',
    });

    const get = await call('GET', `${url}/files/sub/dir/notes.txt`);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-length')).toBe(String(bytes.length));
    expect(Buffer.from(await get.arrayBuffer())).toEqual(bytes);
  });

  it('answers an existing file without overwrite with 200 and a duplicates body, keeping the old file', async () => {
    const url = freshResource();
    const first = Buffer.from('first version');
    await call('PUT', `${url}/files/a.txt`, { body: first, headers: { 'Content-Type': 'text/plain' } });
    const before = await blobCount();

    const again = await call('PUT', `${url}/files/a.txt`, {
      body: 'second version',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(again.status).toBe(200);
    expect(again.headers.get('content-type')).toMatch(/^text\/html/);
    expect(JSON.parse(await again.text())).toEqual({ duplicates: ['a.txt'] });
    expect((await listing(url))[0]?.digest).toBe(md5(first));
    expect(Buffer.from(await (await call('GET', `${url}/files/a.txt`)).arrayBuffer())).toEqual(first);
    expect(await blobCount()).toBe(before);

    const second = Buffer.from('second version');
    const overwrite = await call('PUT', `${url}/files/a.txt?overwrite=true`, {
      body: second,
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(overwrite.status).toBe(200);
    expect(await overwrite.text()).toBe('');
    const rows = await listing(url);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.digest).toBe(md5(second));
    // The replaced file's bytes are gone from the archive directory.
    expect(await blobCount()).toBe(before);
  });

  it('accepts a body without Content-Type when inbody=true (pyxnat), addressed by numeric resource ID', async () => {
    const url = freshResource();
    expect((await call('PUT', url)).status).toBe(200);
    const parent = url.slice(0, url.lastIndexOf('/'));
    const resources = await call('GET', `${parent}?format=json`);
    const row = (
      (await resources.json()) as { ResultSet: { Result: Array<Record<string, string>> } }
    ).ResultSet.Result.find((r) => url.endsWith(`/${r.label}`));
    const id = row?.xnat_abstractresource_id ?? '';
    const bytes = Buffer.from('no content type');
    const post = await call('POST', `${parent}/${id}/files/plain.bin?inbody=true&overwrite=false&format=U`, {
      body: Readable.toWeb(Readable.from([bytes])) as ReadableStream,
    });
    expect(post.status).toBe(200);
    expect((await listing(url)).map((r) => [r.Name, r.digest])).toEqual([['plain.bin', md5(bytes)]]);
  });

  it('takes multipart uploads: file parts by filename, form fields as parameters', async () => {
    const url = freshResource();
    const form = new FormData();
    form.append('format', 'NIFTI');
    form.append('file', new Blob([Buffer.from('volume one')]), 'one.nii');
    form.append('file', new Blob([Buffer.from('volume two, longer')]), 'two.nii');
    const post = await call('POST', `${url}/files`, { body: form });
    expect(post.status).toBe(200);
    const rows = await listing(url);
    expect(rows.map((r) => [r.Name, r.Size, r.file_format, r.digest]).sort()).toEqual(
      [
        ['one.nii', '10', 'NIFTI', md5(Buffer.from('volume one'))],
        ['two.nii', '18', 'NIFTI', md5(Buffer.from('volume two, longer'))],
      ].sort(),
    );
  });

  it('finds a multipart boundary after a long preamble arriving in small pieces, and refuses a body without it', async () => {
    const url = freshResource();
    const boundary = 'sandboxBoundary7';
    const body = Buffer.from(
      `${'preamble text that clients may send before the first part\r\n'.repeat(2000)}` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="notes.txt"\r\n` +
        `Content-Type: text/plain\r\n\r\nthe notes\r\n--${boundary}--\r\n`,
    );
    // 7-byte pieces: the boundary straddles chunks wherever it falls.
    const pieces = (bytes: Buffer): ReadableStream =>
      Readable.toWeb(
        Readable.from(
          (function* () {
            for (let at = 0; at < bytes.length; at += 7) yield bytes.subarray(at, at + 7);
          })(),
        ),
      ) as ReadableStream;
    const headers = { 'Content-Type': `multipart/form-data; boundary=${boundary}` };
    const post = await call('POST', `${url}/files`, { body: pieces(body), headers });
    expect(post.status).toBe(200);
    expect((await listing(url)).map((r) => [r.Name, r.digest])).toEqual([
      ['notes.txt', md5(Buffer.from('the notes'))],
    ]);

    const other = freshResource();
    const wrong = await call('POST', `${other}/files`, {
      body: pieces(Buffer.alloc(256 * 1024, 'x')),
      headers,
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('Malformed multipart request body.');
    expect((await call('GET', `${other}/files?format=json`)).status).toBe(404);
  });

  it('streams a large body to disk and records its digest', async () => {
    const url = freshResource();
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const chunks = 48;
    const hash = createHash('md5');
    for (let i = 0; i < chunks; i++) hash.update(chunk);
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < chunks; i++) yield chunk;
      })(),
    );
    const put = await call('PUT', `${url}/files/big.bin`, {
      body: Readable.toWeb(source) as ReadableStream,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(put.status).toBe(200);
    const [row] = await listing(url);
    expect(row).toMatchObject({ Size: String(chunk.length * chunks), digest: hash.digest('hex') });
    const get = await call('GET', `${url}/files/big.bin`);
    expect(get.headers.get('content-length')).toBe(String(chunk.length * chunks));
    const downloaded = createHash('md5');
    for await (const part of get.body as unknown as AsyncIterable<Uint8Array>) downloaded.update(part);
    expect(downloaded.digest('hex')).toBe(row?.digest);
  });

  it('refuses an empty upload with 400', async () => {
    const url = freshResource();
    const put = await call('PUT', `${url}/files/empty.txt`, {
      body: '',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(put.status).toBe(400);
    expect(await put.text()).toContain("didn't provide any data");
    const form = await call('PUT', `${url}/files/x.txt`, {
      body: 'a=b',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(400);
  });

  it('refuses writes by a collaborator (403) and by a user who cannot read the project (404)', async () => {
    const url = freshResource();
    const carol = await call('PUT', `${url}/files/c.txt`, {
      login: 'carol',
      body: 'x',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(carol.status).toBe(403);
    expect((await call('PUT', url, { login: 'carol' })).status).toBe(403);
    const dave = await call('PUT', `${url}/files/d.txt`, {
      login: 'dave',
      body: 'x',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(dave.status).toBe(404);
    // Nothing was created by either attempt.
    expect((await call('GET', `${url}/files?format=json`)).status).toBe(404);
  });

  it('lets a project member upload (members edit)', async () => {
    const url = freshResource();
    const put = await call('PUT', `${url}/files/bob.txt`, {
      login: 'bob',
      body: 'from bob',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(put.status).toBe(200);
    expect((await listing(url)).map((r) => r.Name)).toEqual(['bob.txt']);
  });

  it('refuses paths that leave the resource', async () => {
    const url = freshResource();
    const put = await call('PUT', `${url}/files/..%2F..%2Fescape.txt`, {
      body: 'x',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(put.status).toBe(400);
    const form = new FormData();
    form.append('file', new Blob(['x']), '../escape.txt');
    expect((await call('POST', `${url}/files`, { body: form })).status).toBe(400);
  });
});

describe('extract=true', () => {
  it('unpacks a zip into the resource, keeping relative paths', async () => {
    const url = freshResource();
    const zip = createZip([
      { name: 'scan/1.dcm', data: Buffer.from('dicom one'), modified: Date.UTC(2020, 0, 1) },
      { name: 'scan/2.dcm', data: Buffer.from('dicom two '.repeat(50)), modified: Date.UTC(2020, 0, 1) },
      { name: 'readme.txt', data: Buffer.from('readme'), modified: Date.UTC(2020, 0, 1) },
    ]);
    const put = await call('PUT', `${url}/files/upload.zip?extract=true`, {
      body: zip,
      headers: { 'Content-Type': 'application/zip' },
    });
    expect(put.status).toBe(200);
    const rows = await listing(url);
    expect(rows.map((r) => r.URI.replace(/.*\/files\//, '')).sort()).toEqual([
      'readme.txt',
      'scan/1.dcm',
      'scan/2.dcm',
    ]);
    expect(rows.find((r) => r.Name === '2.dcm')?.digest).toBe(md5(Buffer.from('dicom two '.repeat(50))));
  });

  it.each([['../evil.txt'], ['/etc/evil.txt'], ['C:/evil.txt'], ['ok/../../evil.txt'], ['..\\evil.txt']])(
    'refuses the whole zip when an entry is %s (zip slip) and stores nothing',
    async (name) => {
      const url = freshResource();
      const before = await blobCount();
      const zip = createZip([
        { name: 'fine.txt', data: Buffer.from('fine'), modified: 0 },
        { name, data: Buffer.from('evil'), modified: 0 },
      ]);
      const put = await call('PUT', `${url}/files/bad.zip?extract=true`, {
        body: zip,
        headers: { 'Content-Type': 'application/zip' },
      });
      expect(put.status).toBe(400);
      expect(await put.text()).toContain('outside the resource');
      expect((await call('GET', `${url}/files?format=json`)).status).toBe(404);
      expect(await blobCount()).toBe(before);
    },
  );

  it('keeps a zip as a file without extract=true', async () => {
    const url = freshResource();
    const zip = createZip([{ name: 'a.txt', data: Buffer.from('a'), modified: 0 }]);
    await call('PUT', `${url}/files/keep.zip`, { body: zip, headers: { 'Content-Type': 'application/zip' } });
    expect((await listing(url)).map((r) => r.Name)).toEqual(['keep.zip']);
  });
});

describe('resource folders and deletes', () => {
  it('creates a folder (200, empty), refuses an existing label (409) and deletes it with its files', async () => {
    const url = freshResource();
    const created = await call('PUT', `${url}?format=NIFTI&content=T1&description=derived`);
    expect(created.status).toBe(200);
    expect(await created.text()).toBe('');
    const again = await call('PUT', url);
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('Specified resource already exists.');

    const before = await blobCount();
    await call('PUT', `${url}/files/x.nii`, {
      body: 'voxels',
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(await blobCount()).toBe(before + 1);
    expect((await call('DELETE', url, { login: 'carol' })).status).toBe(403);
    const deleted = await call('DELETE', url);
    expect(deleted.status).toBe(200);
    expect((await call('GET', `${url}/files?format=json`)).status).toBe(404);
    expect(await blobCount()).toBe(before);
    expect((await call('DELETE', url)).status).toBe(404);
  });

  it('reads xpath-style query fields of a resource PUT (xsiType, req_format=qs), as XNAT loadItem does', async () => {
    const url = freshResource();
    const query = new URLSearchParams({
      xsiType: 'xnat:resourceCatalog',
      req_format: 'qs',
      'xnat:resourceCatalog/format': 'NIFTI',
      'xnat:resourceCatalog/content': 'RAW',
      'xnat:resourceCatalog/description': 'converted',
    });
    expect((await call('PUT', `${url}?${query}`)).status).toBe(200);
    const label = url.slice(url.lastIndexOf('/') + 1);
    const parent = url.slice(0, url.lastIndexOf('/'));
    const listed = await call('GET', `${parent}?format=json`);
    const rows = ((await listed.json()) as { ResultSet: { Result: Array<Record<string, string>> } }).ResultSet
      .Result;
    expect(rows.find((r) => r.label === label)).toMatchObject({ format: 'NIFTI', content: 'RAW' });
    const stored = sb.archive.experiments.get(brainSession().id)?.resources.find((r) => r.label === label);
    expect(stored?.description).toBe('converted');

    // Plain parameters win over the xpath fields; another document type is refused.
    const plain = freshResource();
    const both = new URLSearchParams({ 'xnat:resourceCatalog/format': 'NIFTI', format: 'DICOM' });
    expect((await call('PUT', `${plain}?${both}`)).status).toBe(200);
    const plainLabel = plain.slice(plain.lastIndexOf('/') + 1);
    expect(
      sb.archive.experiments.get(brainSession().id)?.resources.find((r) => r.label === plainLabel)?.format,
    ).toBe('DICOM');
    const other = await call('PUT', `${freshResource()}?xsiType=xnat:mrSessionData`);
    expect(other.status).toBe(422);
    expect(await other.text()).toContain('Only ResourceCatalog documents can be PUT to this address.');
  });

  it('deletes a file, a folder, and answers a missing file with 404 (204 with accept-not-found)', async () => {
    const url = freshResource();
    for (const path of ['keep.txt', 'dir/a.txt', 'dir/b.txt', 'gone.txt']) {
      await call('PUT', `${url}/files/${path}`, { body: path, headers: { 'Content-Type': 'text/plain' } });
    }
    expect((await call('DELETE', `${url}/files/gone.txt`, { login: 'carol' })).status).toBe(403);
    expect((await call('DELETE', `${url}/files/gone.txt`)).status).toBe(200);
    const missing = await call('DELETE', `${url}/files/gone.txt`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('File missing');
    expect((await call('DELETE', `${url}/files/gone.txt?accept-not-found=true`)).status).toBe(204);
    expect((await call('DELETE', `${url}/files/dir`)).status).toBe(200);
    expect((await listing(url)).map((r) => r.Name)).toEqual(['keep.txt']);
  });

  it('uploads into scan, subject, project and assessor resources', async () => {
    const { id, subject } = brainSession();
    const session = sb.archive.experiments.get(id);
    const scan = session?.scans[0]?.id ?? '1';
    const targets = [
      `/data/experiments/${id}/scans/${scan}/resources/EXTRA`,
      `/data/projects/BRAIN_MR/subjects/${encodeURIComponent(subject)}/resources/EXTRA`,
      `/data/projects/BRAIN_MR/resources/EXTRA`,
    ];
    for (const target of targets) {
      const put = await call('PUT', `${target}/files/extra.txt`, {
        body: 'extra',
        headers: { 'Content-Type': 'text/plain' },
      });
      expect(put.status, target).toBe(200);
      expect((await listing(target)).map((r) => r.Name)).toContain('extra.txt');
    }
  });
});

describe('fault injection', () => {
  async function uploaded(size: number): Promise<{ url: string; bytes: Buffer }> {
    const url = freshResource();
    const bytes = Buffer.alloc(size, 3);
    await call('PUT', `${url}/files/f.bin`, {
      body: bytes,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    return { url, bytes };
  }

  it('cuts the next download after the given bytes (headers promised the full length)', async () => {
    const { url, bytes } = await uploaded(256 * 1024);
    sb.faults.failNextDownload({ afterBytes: 1000 });
    const response = await call('GET', `${url}/files/f.bin`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(bytes.length));
    await expect(response.arrayBuffer()).rejects.toThrow();
    // One-shot: the next download is whole.
    const again = await call('GET', `${url}/files/f.bin`);
    expect(Buffer.from(await again.arrayBuffer())).toEqual(bytes);
  });

  it('answers HEAD with the headers of GET, without reading the file or using up a download fault', async () => {
    const { url, bytes } = await uploaded(64 * 1024);
    const stored = [...sb.archive.experiments.values()]
      .flatMap((e) => e.resources)
      .find((r) => url.endsWith(`/resources/${r.label}`))
      ?.files.find((f) => f.path === 'f.bin');
    const open = stored?.open;
    if (!stored || !open) throw new Error('the uploaded file is not in the archive');
    let opened = 0;
    stored.open = () => {
      opened++;
      return open();
    };
    sb.faults.failNextDownload({ afterBytes: 1000 });
    const head = await call('HEAD', `${url}/files/f.bin`);
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(opened).toBe(0);
    // The fault still waits for the GET.
    const cut = await call('GET', `${url}/files/f.bin`);
    await expect(cut.arrayBuffer()).rejects.toThrow();
    const get = await call('GET', `${url}/files/f.bin`);
    expect(Buffer.from(await get.arrayBuffer())).toEqual(bytes);
    for (const name of ['content-length', 'content-type', 'last-modified']) {
      expect(head.headers.get(name), name).toBe(get.headers.get(name));
    }
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
  });

  it('only cuts a download whose path matches', async () => {
    const { url, bytes } = await uploaded(1024);
    sb.faults.failNextDownload({ path: 'other.bin' });
    expect(Buffer.from(await (await call('GET', `${url}/files/f.bin`)).arrayBuffer())).toEqual(bytes);
  });

  it('stalls a download after the given bytes until the client aborts', async () => {
    const { url } = await uploaded(256 * 1024);
    sb.faults.stallNextDownload({ afterBytes: 4096 });
    const controller = new AbortController();
    const response = await call('GET', `${url}/files/f.bin`, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = 0;
    while (received < 4096) {
      const { value, done } = await reader.read();
      if (done) break;
      received += value.length;
    }
    expect(received).toBe(4096);
    const next = reader.read();
    controller.abort();
    await expect(next).rejects.toThrow();
  });

  it('drops the connection of the next upload part-way and stores nothing', async () => {
    const url = freshResource();
    const before = await blobCount();
    sb.faults.failNextUpload({ afterBytes: 64 * 1024 });
    await expect(
      call('PUT', `${url}/files/cut.bin`, {
        body: Buffer.alloc(1024 * 1024, 1),
        headers: { 'Content-Type': 'application/octet-stream' },
      }),
    ).rejects.toThrow();
    expect((await call('GET', `${url}/files?format=json`)).status).toBe(404);
    // The client can see the dropped socket before the sandbox has removed its partial blob: wait
    // for the removal (the test's timeout bounds the wait) rather than racing it.
    while ((await blobCount()) !== before) await new Promise((resolve) => setImmediate(resolve));
  });

  it('stalls an upload until the client goes away, storing nothing', async () => {
    const url = freshResource();
    const before = await blobCount();
    sb.faults.stallNextUpload({ afterBytes: 1024 });
    const { hostname, port } = new URL(sb.url);
    const upload = request({
      hostname,
      port,
      method: 'PUT',
      path: `${url}/files/stalled.bin`,
      headers: { Authorization: demoBasic('alice'), 'Content-Type': 'application/octet-stream' },
    });
    const failed = new Promise((resolve) => upload.on('error', resolve));
    upload.write(Buffer.alloc(64 * 1024, 2));
    // The sandbox started receiving (its blob exists) and then stopped reading: the client gives up.
    while ((await blobCount()) === before) await new Promise((resolve) => setImmediate(resolve));
    upload.destroy();
    await failed;
    while ((await blobCount()) !== before) await new Promise((resolve) => setImmediate(resolve));
    expect((await call('GET', `${url}/files?format=json`)).status).toBe(404);
  });

  it('expires every session during the next upload: that upload completes, the next request needs a login', async () => {
    const url = freshResource();
    const login = await call('POST', '/data/JSESSION');
    const jsession = await login.text();
    const cookie = { Cookie: `JSESSIONID=${jsession}` };
    sb.faults.expireSessionsDuringNextUpload({ afterBytes: 10 });
    const put = await fetch(`${sb.url}${url}/files/e.bin`, {
      method: 'PUT',
      headers: { ...cookie, 'Content-Type': 'application/octet-stream' },
      body: Buffer.alloc(4096, 5),
    });
    expect(put.status).toBe(200);
    const after = await fetch(`${sb.url}${url}/files?format=json`, { headers: cookie });
    expect(after.status).toBe(401);
    expect((await listing(url)).map((r) => r.Name)).toEqual(['e.bin']);
  });

  it('holds responses while delayed, so a client can cancel a request in flight', async () => {
    sb.faults.delayResponses(60_000);
    const controller = new AbortController();
    const before = sb.stats.requests;
    const pending = call('GET', '/data/projects?format=json', { signal: controller.signal });
    while (sb.stats.requests === before) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await expect(pending).rejects.toThrow();
    sb.faults.clear();
    expect((await call('GET', '/data/projects?format=json')).status).toBe(200);
  });
});

describe('archive directory', () => {
  it('lives inside SandboxOptions.archiveDir and is removed on close', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'archive-parent-'));
    try {
      const own = await startSandbox({ archiveDir: parent });
      expect(dirname(own.archiveDir)).toBe(parent);
      const { id } = [...own.archive.experiments.values()][0] ?? { id: '' };
      const put = await fetch(`${own.url}/data/experiments/${id}/resources/X/files/a.txt`, {
        method: 'PUT',
        headers: { Authorization: demoBasic('alice'), 'Content-Type': 'text/plain' },
        body: 'on disk',
      });
      expect(put.status).toBe(200);
      expect(await readdir(own.archiveDir)).toHaveLength(1);
      await own.close();
      expect(await readdir(parent)).toEqual([]);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
