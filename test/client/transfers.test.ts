/**
 * Streamed transfers of XnatClient against the sandbox over loopback HTTP: downloads verified and
 * renamed into place, uploads that never replace a file silently, zips checked before extraction,
 * and the failure cases (cancellation, a cut connection, an expiring session) leaving no partial file.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/client.js';
import {
  XnatBadRequestError,
  XnatCancelledError,
  XnatError,
  XnatLocalFileError,
  XnatPermissionError,
} from '../../src/client/errors.js';
import type { TransferProgress } from '../../src/client/transfers/index.js';
import { checkZip, storedZip } from '../../src/client/zipcheck.js';
import { startSandboxWithFaults, type SandboxWithFaults } from '../../src/sandbox/testing.js';
import type { SandboxArchive, StoredExperiment, StoredFile } from '../../src/sandbox/model.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';

let sandbox: SandboxWithFaults;
let archive: SandboxArchive;
let work: string;
const clients: XnatClient[] = [];

function connect(user = 'alice'): XnatClient {
  const client = new XnatClient({
    url: sandbox.url,
    user,
    password: user === 'admin' ? 'admin' : `${user}123`,
  });
  clients.push(client);
  return client;
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** Every file below a folder, relative paths, including hidden ones (partial downloads). */
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

function freshDir(name: string): string {
  return mkdtempSync(join(work, `${name}-`));
}

/** A BRAIN_MR session with scan files, and its largest scan file. */
function sessionWithFiles(): { session: StoredExperiment; largest: { scan: string; file: StoredFile } } {
  for (const session of archive.experiments.values()) {
    if (session.project !== 'BRAIN_MR' || session.imageSessionId !== '') continue;
    const files = session.scans.flatMap((scan) =>
      scan.resources.flatMap((r) => r.files.map((file) => ({ scan: scan.id, file }))),
    );
    if (files.length >= 2) {
      const largest = files.reduce((a, b) => (b.file.size > a.file.size ? b : a));
      return { session, largest };
    }
  }
  throw new Error('no BRAIN_MR session with files');
}

function writeLocal(dir: string, name: string, size: number, seed: number): { path: string; bytes: Buffer } {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, bytes };
}

async function zipFile(path: string, entries: Array<{ localPath: string; name: string }>): Promise<void> {
  const body = await storedZip(entries);
  const chunks: Buffer[] = [];
  for await (const chunk of body.open()) chunks.push(chunk as Buffer);
  writeFileSync(path, Buffer.concat(chunks));
}

beforeAll(async () => {
  archive = createDemoArchive();
  sandbox = await startSandboxWithFaults({ archive });
  work = mkdtempSync(join(tmpdir(), 'xnat-mcp-transfers-'));
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sandbox.close();
  rmSync(work, { recursive: true, force: true });
});

describe('download', () => {
  it('downloads a whole experiment in XNAT layout, verified against XNAT size and MD5', async () => {
    const alice = connect();
    const { session } = sessionWithFiles();
    const files = await alice.listFiles({ experiment: session.id });
    const dest = freshDir('experiment');
    const progress: TransferProgress[] = [];
    const result = await alice.download({
      files,
      destDir: dest,
      layout: 'xnat',
      onProgress: (p) => progress.push(p),
    });
    expect(result.skipped).toEqual([]);
    expect(result.files).toHaveLength(files.length);
    const expected = session.scans.flatMap((scan) =>
      scan.resources.flatMap((r) =>
        r.files.map((f) => ({
          rel: `scans/${scan.id}/resources/${r.label}/files/${f.path}`,
          bytes: f.bytes(),
        })),
      ),
    );
    for (const { rel, bytes } of expected) {
      const local = readFileSync(join(dest, rel));
      expect(md5(local)).toBe(md5(bytes));
      const entry = result.files.find((f) => f.localPath === join(dest, rel));
      expect(entry?.checksum).toBe(
        files.find((f) => f.uri.endsWith(rel.split('/files/')[1]!))?.digest ? 'match' : 'unavailable',
      );
      expect(entry?.digest).toBe(md5(bytes));
    }
    expect(tree(dest).some((p) => p.includes('.xnat-mcp-partial-'))).toBe(false);
    const last = progress[progress.length - 1]!;
    expect(last.filesDone).toBe(files.length);
    expect(last.bytesDone).toBe(files.reduce((s, f) => s + f.size, 0));
  });

  it('keeps local files unless asked: identical ones are recognised, different ones left alone or replaced', async () => {
    const alice = connect();
    const { session, largest } = sessionWithFiles();
    const files = (await alice.listFiles({ experiment: session.id, scan: largest.scan })).filter(
      (f) => f.path === largest.file.path,
    );
    const dest = freshDir('existing');
    await alice.download({ files, destDir: dest, layout: 'flat' });
    const target = join(dest, files[0]!.name);

    const again = await alice.download({ files, destDir: dest, layout: 'flat' });
    expect(again.files).toEqual([]);
    expect(again.skipped).toEqual([
      { localPath: target, reason: expect.stringMatching(/identical|same size/) },
    ]);

    writeFileSync(target, 'my own notes');
    const kept = await alice.download({ files, destDir: dest, layout: 'flat' });
    expect(kept.skipped[0]?.reason).toMatch(/overwrite/);
    expect(readFileSync(target, 'utf8')).toBe('my own notes');

    const replaced = await alice.download({ files, destDir: dest, layout: 'flat', overwrite: true });
    expect(replaced.files).toHaveLength(1);
    expect(md5(readFileSync(target))).toBe(md5(largest.file.bytes()));
  });

  it('refuses a flat layout that would put two files on one name', async () => {
    const alice = connect();
    const { session } = sessionWithFiles();
    const listed = await alice.listFiles({ experiment: session.id });
    const first = listed.find((f) => f.scan !== undefined)!;
    const second = listed.find((f) => f.scan !== undefined && f.scan !== first.scan)!;
    // As when two scans both hold a `1.dcm`.
    const twins = [first, { ...second, name: first.name, path: first.path }];
    const dest = freshDir('flat');
    await expect(alice.download({ files: twins, destDir: dest, layout: 'flat' })).rejects.toThrow(
      /would both be saved as/,
    );
    expect(tree(dest)).toEqual([]);
    const kept = await alice.download({ files: twins, destDir: dest, layout: 'xnat' });
    expect(kept.files).toHaveLength(2);
  });

  it('does not follow a symbolic link out of the destination', async () => {
    const alice = connect();
    const { session, largest } = sessionWithFiles();
    const files = await alice.listFiles({ experiment: session.id, scan: largest.scan });
    const dest = freshDir('symlinked');
    const outside = freshDir('outside');
    await symlink(outside, join(dest, 'scans'));
    await expect(alice.download({ files, destDir: dest, layout: 'xnat' })).rejects.toThrow(
      XnatLocalFileError,
    );
    // Not even an empty folder was made through the link.
    expect(readdirSync(outside)).toEqual([]);
  });

  it('refuses to write when its folder is swapped for a link leading outside while XNAT stalls', async () => {
    // A short timeout: the stalled attempt gives up and is restarted, into the swapped folder.
    const alice = new XnatClient({ url: sandbox.url, user: 'alice', password: 'alice123', timeoutMs: 1000 });
    clients.push(alice);
    const { session, largest } = sessionWithFiles();
    const files = (await alice.listFiles({ experiment: session.id, scan: largest.scan })).filter(
      (f) => f.path === largest.file.path,
    );
    const root = freshDir('swap-root');
    const dest = join(root, 'dl');
    const outside = freshDir('swap-outside');
    sandbox.faults.stallNextDownload({ afterBytes: Math.floor(largest.file.size / 2) });
    let swapped = false;
    const error = await alice
      .download({
        files,
        destDir: dest,
        layout: 'flat',
        onProgress: (p) => {
          if (swapped || p.bytesDone === 0) return;
          // The root check passed long ago; now the folder becomes a link out of it.
          renameSync(dest, join(root, 'dl-moved'));
          symlinkSync(outside, dest);
          swapped = true;
        },
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    sandbox.faults.clear();
    expect(swapped).toBe(true);
    expect(error).toBeInstanceOf(XnatLocalFileError);
    expect(String(error)).toMatch(/outside/);
    expect(readdirSync(outside)).toEqual([]);
    // The stalled attempt's temporary file was removed where it really was.
    expect(tree(join(root, 'dl-moved'))).toEqual([]);
  });

  it('restarts a file whose connection broke mid-stream and still verifies it', async () => {
    const alice = connect();
    const { session, largest } = sessionWithFiles();
    const files = (await alice.listFiles({ experiment: session.id, scan: largest.scan })).filter(
      (f) => f.path === largest.file.path,
    );
    const dest = freshDir('cut-once');
    sandbox.faults.failNextDownload({ afterBytes: Math.floor(largest.file.size / 2) });
    const result = await alice.download({ files, destDir: dest, layout: 'flat' });
    expect(result.files).toHaveLength(1);
    expect(md5(readFileSync(result.files[0]!.localPath))).toBe(md5(largest.file.bytes()));
    expect(tree(dest)).toEqual([files[0]!.name]);
  });

  it('a server that keeps failing mid-download leaves no partial file, and a retry resumes', async () => {
    const alice = connect();
    const local = freshDir('big-src');
    const big = writeLocal(local, 'big.bin', 1 << 20, 12);
    const small = writeLocal(local, 'small.txt', 100, 13);
    const parent = { project: 'BRAIN_MR' };
    await alice.upload({
      parent,
      resource: 'E7_BIG',
      files: [
        { localPath: small.path, remotePath: 'small.txt' },
        { localPath: big.path, remotePath: 'big.bin' },
      ],
    });
    const files = (await alice.listResourceFiles(parent, 'E7_BIG')) ?? [];
    const dest = freshDir('cut-always');
    const cut = { afterBytes: 1 << 19, path: 'big.bin' };
    sandbox.faults.failNextDownload(cut);
    const error = await alice
      .download({
        files,
        destDir: dest,
        layout: 'flat',
        concurrency: 1,
        // Re-arms the fault while big.bin streams, so every attempt at it breaks half-way.
        onProgress: (p) => {
          if (p.current === 'big.bin') sandbox.faults.failNextDownload(cut);
        },
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    sandbox.faults.clear();
    expect(error).toBeInstanceOf(XnatError);
    expect(String(error)).toMatch(/no partial file was left/);
    expect(tree(dest).filter((p) => p !== 'small.txt')).toEqual([]);

    const retry = await alice.download({ files, destDir: dest, layout: 'flat' });
    expect(retry.files.map((f) => f.localPath)).toEqual([join(dest, 'big.bin')]);
    expect(retry.skipped.every((s) => /identical/.test(s.reason))).toBe(true);
    expect(readFileSync(join(dest, 'big.bin'))).toEqual(big.bytes);
    expect(tree(dest)).toEqual(['big.bin', 'small.txt']);
  });

  it('cancellation mid-transfer stops promptly and leaves no partial file', async () => {
    const alice = connect();
    const { session, largest } = sessionWithFiles();
    const files = (await alice.listFiles({ experiment: session.id, scan: largest.scan })).filter(
      (f) => f.path === largest.file.path,
    );
    const dest = freshDir('cancel');
    sandbox.faults.stallNextDownload({ afterBytes: Math.floor(largest.file.size / 2) });
    const controller = new AbortController();
    const pending = alice.download({
      files,
      destDir: dest,
      layout: 'flat',
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytesDone > 0) controller.abort();
      },
    });
    await expect(pending).rejects.toThrow(XnatCancelledError);
    sandbox.faults.clear();
    expect(tree(dest)).toEqual([]);
  });
});

describe('upload', () => {
  it('uploads files into a new resource, reports XNAT digests, and they read back identically', async () => {
    const alice = connect();
    const { session } = sessionWithFiles();
    const local = freshDir('up');
    const a = writeLocal(local, 'a.bin', 200_000, 1);
    const b = writeLocal(local, 'b.txt', 1234, 2);
    const progress: TransferProgress[] = [];
    const result = await alice.upload({
      parent: { experiment: session.label, project: 'BRAIN_MR' },
      resource: 'E7_UPLOAD',
      files: [
        { localPath: a.path, remotePath: 'a.bin' },
        { localPath: b.path, remotePath: 'sub/dir/b.txt' },
      ],
      format: 'BIN',
      onProgress: (p) => progress.push(p),
    });
    expect(result.conflicts).toEqual([]);
    expect(result.uploaded).toEqual([
      { remotePath: 'a.bin', size: a.bytes.length, digest: md5(a.bytes), verified: true },
      { remotePath: 'sub/dir/b.txt', size: b.bytes.length, digest: md5(b.bytes), verified: true },
    ]);
    expect(progress[progress.length - 1]).toMatchObject({
      filesDone: 2,
      bytesDone: 201_234,
      bytesTotal: 201_234,
    });

    const listed = await alice.listFiles({ experiment: session.id, resource: 'E7_UPLOAD' });
    expect(listed.map((f) => f.path).sort()).toEqual(['a.bin', 'sub/dir/b.txt']);
    const dest = freshDir('up-back');
    const back = await alice.download({ files: listed, destDir: dest, layout: 'xnat' });
    expect(back.files.every((f) => f.checksum === 'match')).toBe(true);
    expect(readFileSync(join(dest, 'resources', 'E7_UPLOAD', 'files', 'sub', 'dir', 'b.txt'))).toEqual(
      b.bytes,
    );
  });

  it('uploads into a subject resource (label with project) and an assessor resource', async () => {
    const alice = connect();
    const local = freshDir('parents');
    const f = writeLocal(local, 'report.txt', 321, 14);
    const subject = [...archive.subjects.values()].find((s) => s.project === 'BRAIN_MR')!;
    const toSubject = await alice.upload({
      parent: { project: 'BRAIN_MR', subject: subject.label },
      resource: 'E7_SUBJECT',
      files: [{ localPath: f.path, remotePath: 'report.txt' }],
    });
    expect(toSubject.uploaded[0]).toMatchObject({ remotePath: 'report.txt', verified: true });
    expect(subject.resources.find((r) => r.label === 'E7_SUBJECT')?.files.map((x) => x.path)).toEqual([
      'report.txt',
    ]);

    const assessor = [...archive.experiments.values()].find(
      (e) => e.project === 'BRAIN_MR' && e.imageSessionId !== '',
    )!;
    const toAssessor = await alice.upload({
      parent: { experiment: assessor.imageSessionId, assessor: assessor.id },
      resource: 'E7_QC',
      files: [{ localPath: f.path, remotePath: 'qc/report.txt' }],
    });
    expect(toAssessor.uploaded[0]).toMatchObject({ remotePath: 'qc/report.txt', digest: md5(f.bytes) });
    const listed = await alice.listFiles({
      experiment: assessor.imageSessionId,
      assessor: assessor.id,
      resource: 'E7_QC',
    });
    expect(listed.map((x) => [x.path, x.digest])).toEqual([['qc/report.txt', md5(f.bytes)]]);
  });

  it('never replaces an existing file without overwrite: it is a conflict, and XNAT keeps the old bytes', async () => {
    const alice = connect();
    const local = freshDir('conflict');
    const first = writeLocal(local, 'same.bin', 5000, 3);
    const parent = { project: 'BRAIN_MR' };
    await alice.upload({
      parent,
      resource: 'E7_CONFLICT',
      files: [{ localPath: first.path, remotePath: 'same.bin' }],
    });
    const second = writeLocal(local, 'other.bin', 7000, 4);
    const again = await alice.upload({
      parent,
      resource: 'E7_CONFLICT',
      files: [
        { localPath: second.path, remotePath: 'same.bin' },
        { localPath: second.path, remotePath: 'new.bin' },
      ],
    });
    expect(again.conflicts).toEqual(['same.bin']);
    expect(again.uploaded.map((u) => u.remotePath)).toEqual(['new.bin']);
    const listed = await alice.listResourceFiles(parent, 'E7_CONFLICT');
    expect(listed?.find((f) => f.path === 'same.bin')?.digest).toBe(md5(first.bytes));

    const replaced = await alice.upload({
      parent,
      resource: 'E7_CONFLICT',
      files: [{ localPath: second.path, remotePath: 'same.bin' }],
      overwrite: true,
    });
    expect(replaced).toEqual({
      uploaded: [{ remotePath: 'same.bin', size: 7000, digest: md5(second.bytes), verified: true }],
      conflicts: [],
    });
  });

  it('a file XNAT stored before the connection reset is reported uploaded, not as a conflict', async () => {
    const alice = connect();
    const local = freshDir('reset-upload');
    const sent = writeLocal(local, 'reset.bin', 5000, 21);
    const parent = { project: 'BRAIN_MR' };
    // XNAT stores the file, the answer is lost, and the retried PUT meets XNAT's "duplicates".
    sandbox.faults.dropNextReply({ method: 'PUT', path: '/files/reset.bin' });
    const result = await alice.upload({
      parent,
      resource: 'E2_RESET',
      files: [{ localPath: sent.path, remotePath: 'reset.bin' }],
    });
    expect(result.conflicts).toEqual([]);
    expect(result.uploaded).toEqual([
      { remotePath: 'reset.bin', size: 5000, digest: md5(sent.bytes), verified: true },
    ]);
  });

  it('a collaborator cannot upload (carol on BRAIN_MR)', async () => {
    const carol = connect('carol');
    const local = freshDir('carol');
    const f = writeLocal(local, 'x.bin', 100, 5);
    await expect(
      carol.upload({
        parent: { project: 'BRAIN_MR' },
        resource: 'CAROL',
        files: [{ localPath: f.path, remotePath: 'x.bin' }],
      }),
    ).rejects.toThrow(XnatPermissionError);
    expect(await connect().listResourceFiles({ project: 'BRAIN_MR' }, 'CAROL')).toBeUndefined();
  });

  it('rejects bad remote paths and missing local files before sending anything', async () => {
    const alice = connect();
    const local = freshDir('bad');
    const f = writeLocal(local, 'x.bin', 10, 6);
    const parent = { project: 'BRAIN_MR' };
    for (const remotePath of ['../x.bin', '/abs.bin', 'a//b', 'a\\b']) {
      await expect(
        alice.upload({ parent, resource: 'E7_BAD', files: [{ localPath: f.path, remotePath }] }),
      ).rejects.toThrow(XnatBadRequestError);
    }
    await expect(
      alice.upload({
        parent,
        resource: 'E7_BAD',
        files: [{ localPath: join(local, 'missing'), remotePath: 'm' }],
      }),
    ).rejects.toThrow(XnatLocalFileError);
    expect(await alice.listResourceFiles(parent, 'E7_BAD')).toBeUndefined();
  });

  it('renews a session that expires mid-upload without failing the transfer', async () => {
    const alice = connect();
    const local = freshDir('expire');
    const files = [1, 2, 3].map((i) => writeLocal(local, `f${i}.bin`, 300_000, i));
    await alice.serverInfo();
    const loginsBefore = alice.stats.logins;
    sandbox.faults.expireSessionsDuringNextUpload({ afterBytes: 100_000 });
    const result = await alice.upload({
      parent: { project: 'BRAIN_MR' },
      resource: 'E7_EXPIRE',
      files: files.map((f, i) => ({ localPath: f.path, remotePath: `f${i + 1}.bin` })),
      concurrency: 1,
    });
    expect(result.uploaded.map((u) => u.verified)).toEqual([true, true, true]);
    expect(alice.stats.logins).toBeGreaterThan(loginsBefore);
  });

  it('resends a file whose upload connection was cut (the body is reopened)', async () => {
    const alice = connect();
    const local = freshDir('cut-up');
    const f = writeLocal(local, 'cut.bin', 400_000, 7);
    sandbox.faults.failNextUpload({ afterBytes: 150_000 });
    const result = await alice.upload({
      parent: { project: 'BRAIN_MR' },
      resource: 'E7_CUT',
      files: [{ localPath: f.path, remotePath: 'cut.bin' }],
    });
    expect(result.uploaded).toEqual([
      { remotePath: 'cut.bin', size: 400_000, digest: md5(f.bytes), verified: true },
    ]);
  });

  it('a cancelled upload stops promptly and leaves nothing on XNAT', async () => {
    const alice = connect();
    const local = freshDir('cancel-up');
    const f = writeLocal(local, 'stalled.bin', 600_000, 15);
    sandbox.faults.stallNextUpload({ afterBytes: 200_000 });
    const controller = new AbortController();
    const pending = alice.upload({
      parent: { project: 'BRAIN_MR' },
      resource: 'E7_CANCEL_UP',
      files: [{ localPath: f.path, remotePath: 'stalled.bin' }],
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytesDone >= 200_000) controller.abort();
      },
    });
    await expect(pending).rejects.toThrow(XnatCancelledError);
    sandbox.faults.clear();
    const listed = await alice.listResourceFiles({ project: 'BRAIN_MR' }, 'E7_CANCEL_UP');
    expect((listed ?? []).map((x) => x.path)).toEqual([]);
  });

  it('uploads a zip for XNAT to extract, listing the extracted entries', async () => {
    const alice = connect();
    const local = freshDir('zip');
    const one = writeLocal(local, 'one.txt', 300, 8);
    const two = writeLocal(local, 'two.txt', 500, 9);
    const zip = join(local, 'bundle.zip');
    await zipFile(zip, [
      { localPath: one.path, name: 'one.txt' },
      { localPath: two.path, name: 'nested/two.txt' },
    ]);
    const result = await alice.upload({
      parent: { project: 'BRAIN_MR' },
      resource: 'E7_ZIP',
      files: [{ localPath: zip, remotePath: 'bundle.zip' }],
      extractZip: true,
    });
    expect(result.conflicts).toEqual([]);
    expect(result.uploaded.map((u) => [u.remotePath, u.size, u.digest])).toEqual([
      ['one.txt', 300, md5(one.bytes)],
      ['nested/two.txt', 500, md5(two.bytes)],
    ]);
  });

  it('refuses a zip whose entries could escape the resource, before any request', async () => {
    const local = freshDir('zipslip');
    const payload = writeLocal(local, 'p.txt', 20, 10);
    const zip = join(local, 'evil.zip');
    await zipFile(zip, [{ localPath: payload.path, name: 'xx/evil.txt' }]);
    // Same length, so the archive stays well-formed: only the name changes, in both headers.
    const bytes = readFileSync(zip);
    writeFileSync(
      zip,
      Buffer.from(bytes.toString('latin1').replaceAll('xx/evil.txt', '../evil.txt'), 'latin1'),
    );
    await expect(checkZip(zip)).rejects.toThrow(/"\.\." segment/);
    const alice = connect();
    const before = alice.stats.requests;
    await expect(
      alice.upload({
        parent: { project: 'BRAIN_MR' },
        resource: 'E7_SLIP',
        files: [{ localPath: zip, remotePath: 'evil.zip' }],
        extractZip: true,
      }),
    ).rejects.toThrow(XnatLocalFileError);
    expect(alice.stats.requests).toBe(before);
  });
});

describe('local zip checks', () => {
  it('names each kind of escaping entry', async () => {
    const local = freshDir('zipnames');
    const payload = writeLocal(local, 'p.txt', 5, 11);
    const cases: Array<[string, RegExp]> = [
      ['/abs/olute.txt', /absolute path/],
      ['C:/windows.txt', /drive letter/],
      ['a\\..\\..\\b.txt', /"\.\." segment/],
    ];
    for (const [index, [name, reason]] of cases.entries()) {
      const placeholder = 'q'.repeat(name.length);
      const zip = join(local, `case-${index}.zip`);
      await zipFile(zip, [{ localPath: payload.path, name: placeholder }]);
      const bytes = readFileSync(zip).toString('latin1').replaceAll(placeholder, name);
      writeFileSync(zip, Buffer.from(bytes, 'latin1'));
      await expect(checkZip(zip)).rejects.toThrow(reason);
    }
  });
});
