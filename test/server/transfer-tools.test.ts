/**
 * uploadResource and downloadFiles end to end: an MCP client, the server from the one factory, the
 * sandbox over loopback HTTP, real files in a temporary root. Covers the happy paths, conflicts and
 * confirmation, a collaborator's refusal, bad input and path escapes, progress, cancellation, a server
 * failure mid-download and a session expiring mid-upload.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedZip } from '../../src/client/zipcheck.js';
import { startSandboxWithFaults, type SandboxWithFaults } from '../../src/sandbox/testing.js';
import type { SandboxArchive, StoredExperiment } from '../../src/sandbox/model.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import type { ServerOptions } from '../../src/server.js';
import { ALICE, call, callOk, connectInMemory, textOf, type Connected } from './helpers.js';

let sandbox: SandboxWithFaults;
let archive: SandboxArchive;
let root: string;
let outside: string;
const open: Connected[] = [];

interface UploadOut {
  target: string;
  uploaded: Array<{ remotePath: string; size: number; digest: string; verified: boolean }>;
  uploadedCount: number;
  conflicts: string[];
  conflictCount: number;
  planned?: Array<{ remotePath: string; size: number }>;
  dryRun: boolean;
  summary: string;
}
interface DownloadOut {
  destination: string;
  files: Array<{ localPath: string; size: number; md5: string; checksum: string }>;
  fileCount: number;
  skipped: Array<{ localPath: string; reason: string }>;
  summary: string;
}

async function connect(
  user: { user: string; password: string } = ALICE,
  options: ServerOptions = {},
): Promise<Connected> {
  const connected = await connectInMemory(sandbox.url, user, { roots: [root], ...options });
  open.push(connected);
  return connected;
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

function bytes(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 13 + seed) & 0xff;
  return b;
}

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), rel);
      else out.push(rel);
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return out.sort();
}

function folder(name: string): string {
  return mkdtempSync(join(root, `${name}-`));
}

function brainSession(): StoredExperiment {
  const found = [...archive.experiments.values()].find(
    (e) => e.project === 'BRAIN_MR' && e.imageSessionId === '' && e.scans.length >= 2,
  );
  if (!found) throw new Error('no BRAIN_MR session');
  return found;
}

beforeAll(async () => {
  archive = createDemoArchive();
  sandbox = await startSandboxWithFaults({ archive });
  root = realpathSync(mkdtempSync(join(tmpdir(), 'xnat-mcp-root-')));
  outside = realpathSync(mkdtempSync(join(tmpdir(), 'xnat-mcp-outside-')));
});

afterAll(async () => {
  for (const c of open) await c.close();
  await sandbox.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('uploadResource', () => {
  it('uploads a folder recursively and a file into an experiment resource, then downloads them back identically', async () => {
    const { mcp } = await connect();
    const session = brainSession();
    const src = folder('src');
    mkdirSync(join(src, 'anat'));
    const t1 = bytes(150_000, 1);
    const json = Buffer.from('{"EchoTime": 0.003}');
    writeFileSync(join(src, 'anat', 't1.nii'), t1);
    writeFileSync(join(src, 'anat', 't1.json'), json);
    const notes = join(root, 'notes.txt');
    writeFileSync(notes, 'uploaded by the MCP test');

    const out = await callOk<UploadOut>(mcp, 'uploadResource', {
      project: 'BRAIN_MR',
      experiment: session.label,
      resource: 'BIDS',
      localPaths: [src, 'notes.txt'],
      format: 'NIFTI',
    });
    expect(out.uploaded).toEqual([
      { remotePath: 'anat/t1.json', size: json.length, digest: md5(json), verified: true },
      { remotePath: 'anat/t1.nii', size: t1.length, digest: md5(t1), verified: true },
      { remotePath: 'notes.txt', size: 24, digest: md5(readFileSync(notes)), verified: true },
    ]);
    expect(out.target).toBe(
      `resource BIDS of experiment ${session.label} (${session.id}) in project BRAIN_MR`,
    );
    const stored = session.resources.find((r) => r.label === 'BIDS');
    expect(stored?.files.map((f) => f.path).sort()).toEqual(['anat/t1.json', 'anat/t1.nii', 'notes.txt']);

    const dest = folder('back');
    const back = await callOk<DownloadOut>(mcp, 'downloadFiles', {
      experiment: session.id,
      resource: 'BIDS',
      destination: dest,
    });
    expect(back.fileCount).toBe(3);
    expect(back.files.every((f) => f.checksum === 'match')).toBe(true);
    expect(readFileSync(join(dest, session.label, 'resources', 'BIDS', 'files', 'anat', 't1.nii'))).toEqual(
      t1,
    );
  });

  it('reports existing files as conflicts, replaces them only with overwrite and confirmation, and dry-runs', async () => {
    const { mcp } = await connect();
    const local = folder('conflict');
    const first = join(local, 'data.bin');
    writeFileSync(first, bytes(4000, 2));
    const args = { project: 'BRAIN_MR', resource: 'E7_TOOL_CONFLICT', localPaths: [first] };
    await callOk<UploadOut>(mcp, 'uploadResource', args);
    const stored = () =>
      archive.projects.get('BRAIN_MR')!.resources.find((r) => r.label === 'E7_TOOL_CONFLICT')!.files[0]!;
    const originalDigest = stored().digest;

    writeFileSync(first, bytes(5000, 3));
    const again = await callOk<UploadOut>(mcp, 'uploadResource', args);
    expect(again).toMatchObject({ uploadedCount: 0, conflicts: ['data.bin'], conflictCount: 1 });
    expect(stored().digest).toBe(originalDigest);

    const dry = await callOk<UploadOut>(mcp, 'uploadResource', { ...args, overwrite: true, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, planned: [{ remotePath: 'data.bin', size: 5000 }] });
    expect(stored().digest).toBe(originalDigest);

    const unconfirmed = await call(mcp, 'uploadResource', { ...args, overwrite: true });
    expect(unconfirmed.isError).toBe(true);
    expect(textOf(unconfirmed)).toContain('confirm: "BRAIN_MR"');
    expect(stored().digest).toBe(originalDigest);

    const confirmed = await callOk<UploadOut>(mcp, 'uploadResource', {
      ...args,
      overwrite: true,
      confirm: 'BRAIN_MR',
    });
    expect(confirmed.uploaded).toEqual([
      { remotePath: 'data.bin', size: 5000, digest: md5(bytes(5000, 3)), verified: true },
    ]);
    expect(stored().digest).toBe(md5(bytes(5000, 3)));
  });

  it('a collaborator cannot upload (carol on BRAIN_MR)', async () => {
    const { mcp } = await connect({ user: 'carol', password: 'carol123' });
    const local = folder('carol');
    writeFileSync(join(local, 'x.txt'), 'x');
    const result = await call(mcp, 'uploadResource', {
      project: 'BRAIN_MR',
      resource: 'CAROL_TRY',
      localPaths: [join(local, 'x.txt')],
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/not allowed/);
    expect(archive.projects.get('BRAIN_MR')!.resources.some((r) => r.label === 'CAROL_TRY')).toBe(false);
  });

  it('refuses local paths outside the roots: ../, absolute paths and symbolic links', async () => {
    const { mcp } = await connect();
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'innocent.txt'));
    for (const path of [
      '../' + outside.split('/').pop() + '/secret.txt',
      join(outside, 'secret.txt'),
      'innocent.txt',
    ]) {
      const result = await call(mcp, 'uploadResource', {
        project: 'BRAIN_MR',
        resource: 'E7_ESCAPE',
        localPaths: [path],
      });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/outside the allowed directories/);
    }
    expect(archive.projects.get('BRAIN_MR')!.resources.some((r) => r.label === 'E7_ESCAPE')).toBe(false);
  });

  it('names an uploaded file as the caller named it, not after the target of a symbolic link', async () => {
    const { mcp } = await connect();
    const local = folder('linked');
    writeFileSync(join(local, 'v3.bin'), bytes(500, 3));
    symlinkSync(join(local, 'v3.bin'), join(local, 'latest.bin'));
    const out = await callOk<UploadOut>(mcp, 'uploadResource', {
      project: 'BRAIN_MR',
      resource: 'E7_LINKED',
      localPaths: [join(local, 'latest.bin')],
    });
    expect(out.uploaded.map((u) => u.remotePath)).toEqual(['latest.bin']);
  });

  it('refuses a zip whose entries would leave the resource, and other bad input', async () => {
    const { mcp } = await connect();
    const local = folder('zip');
    writeFileSync(join(local, 'p.txt'), 'payload');
    const body = await storedZip([{ localPath: join(local, 'p.txt'), name: 'zz/p.txt' }]);
    const chunks: Buffer[] = [];
    for await (const c of body.open()) chunks.push(c as Buffer);
    const evil = Buffer.from(
      Buffer.concat(chunks).toString('latin1').replaceAll('zz/p.txt', '../p.txt'),
      'latin1',
    );
    writeFileSync(join(local, 'evil.zip'), evil);
    const slip = await call(mcp, 'uploadResource', {
      project: 'BRAIN_MR',
      resource: 'E7_SLIP',
      localPaths: [join(local, 'evil.zip')],
      extract: true,
    });
    expect(slip.isError).toBe(true);
    expect(textOf(slip)).toMatch(/"\.\." segment/);

    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { project: 'BRAIN_MR', resource: 'X', localPaths: [join(local, 'p.txt')], extract: true },
        /one \.zip/,
      ],
      [
        { project: 'BRAIN_MR', scan: '1', resource: 'X', localPaths: [join(local, 'p.txt')] },
        /needs its experiment/,
      ],
      [{ resource: 'X', localPaths: [join(local, 'p.txt')] }, /Name where the resource hangs/],
      [
        { project: 'BRAIN_MR', resource: 'X', localPaths: [join(local, 'p.txt')], remoteFolder: '../up' },
        /Invalid remote path/,
      ],
      [{ project: 'BRAIN_MR', resource: 'X', localPaths: ['missing.bin'] }, /does not exist/],
    ];
    for (const [args, message] of cases) {
      const result = await call(mcp, 'uploadResource', args);
      expect(result.isError, JSON.stringify(args)).toBe(true);
      expect(textOf(result)).toMatch(message);
    }
  });

  it('is refused for a project outside the allow-list', async () => {
    const { mcp } = await connect(ALICE, { projects: ['PET_AMYLOID'] });
    writeFileSync(join(root, 'allow.txt'), 'a');
    const result = await call(mcp, 'uploadResource', {
      project: 'BRAIN_MR',
      resource: 'E7_ALLOW',
      localPaths: ['allow.txt'],
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/not in this server's allowed projects/);
  });

  it('survives a session expiring mid-upload, with progress notifications', async () => {
    const { mcp } = await connect();
    const local = folder('expire');
    for (let i = 0; i < 3; i++) writeFileSync(join(local, `part${i}.bin`), bytes(300_000, i));
    sandbox.faults.expireSessionsDuringNextUpload({ afterBytes: 100_000 });
    const progress: Progress[] = [];
    const result = (await mcp.callTool(
      {
        name: 'uploadResource',
        arguments: { project: 'BRAIN_MR', resource: 'E7_EXPIRE', localPaths: [local] },
      },
      undefined,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const out = result.structuredContent as unknown as UploadOut;
    expect(out.uploaded.map((u) => u.verified)).toEqual([true, true, true]);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[progress.length - 1]).toMatchObject({ progress: 900_003, total: 900_003 });
    expect(progress[progress.length - 1]?.message).toMatch(/3\/3 files/);
  });
});

describe('downloadFiles', () => {
  it('downloads scans chosen by type, flat, and keeps existing files unless asked', async () => {
    const { mcp } = await connect();
    const session = brainSession();
    const type = session.scans[0]!.type;
    const chosen = session.scans.filter((s) => s.type === type);
    const expected = chosen.flatMap((s) => s.resources.flatMap((r) => r.files));
    const dest = folder('bytype');
    const out = await callOk<DownloadOut>(mcp, 'downloadFiles', {
      experiment: session.label,
      project: 'BRAIN_MR',
      scanTypes: [type.toUpperCase()],
      destination: dest,
      layout: 'flat',
    });
    expect(out.fileCount).toBe(expected.length);
    expect(files(dest)).toEqual(expected.map((f) => f.path.split('/').pop()!).sort());
    for (const f of expected)
      expect(md5(readFileSync(join(dest, f.path.split('/').pop()!)))).toBe(md5(f.bytes()));

    const again = await callOk<DownloadOut>(mcp, 'downloadFiles', {
      experiment: session.id,
      scanTypes: [type],
      destination: dest,
      layout: 'flat',
    });
    expect(again.fileCount).toBe(0);
    expect(again.skipped).toHaveLength(expected.length);
  });

  it('matches scan types case-insensitively with * wildcards, takes scan IDs as numbers, and lists the types when none match', async () => {
    const { mcp } = await connect();
    const session = [...archive.experiments.values()].find(
      (e) => e.project === 'BRAIN_MR' && e.scans.some((s) => s.type === 'T1w_MPR'),
    )!;
    const t1 = session.scans.filter((s) => s.type === 'T1w_MPR');
    const expected = t1.flatMap((s) => s.resources.flatMap((r) => r.files));
    const out = await callOk<DownloadOut>(mcp, 'downloadFiles', {
      experiment: session.id,
      scanTypes: ['t1w*'],
      destination: folder('wildcard'),
      layout: 'flat',
    });
    expect(out.fileCount).toBe(expected.length);
    const byNumber = await callOk<DownloadOut>(mcp, 'downloadFiles', {
      experiment: session.id,
      scans: [Number(t1[0]!.id)],
      destination: folder('numeric'),
      layout: 'flat',
    });
    expect(byNumber.fileCount).toBe(t1[0]!.resources.flatMap((r) => r.files).length);
    const none = await call(mcp, 'downloadFiles', {
      experiment: session.id,
      scanTypes: ['T1w'],
      destination: folder('none'),
    });
    expect(none.isError).toBe(true);
    expect(textOf(none)).toContain('T1w_MPR');
    expect(textOf(none)).toMatch(/no scan .*type/i);
  });

  it("keeps an experiment's files inside the destination whatever its label on XNAT", async () => {
    const { mcp, xnat } = await connect();
    const label = `E7_DOTS_${Math.floor(Math.random() * 1e9)}`;
    const subject = await callOk<{ id: string }>(mcp, 'createSubject', { project: 'BRAIN_MR', label });
    const created = await callOk<{ id: string }>(mcp, 'createExperiment', {
      project: 'BRAIN_MR',
      subject: subject.id,
      label,
      xsiType: 'xnat:mrSessionData',
    });
    const local = folder('dots-src');
    writeFileSync(join(local, 'f.bin'), bytes(1000, 7));
    await xnat.upload({
      parent: { experiment: created.id },
      resource: 'DOTS',
      files: [{ localPath: join(local, 'f.bin'), remotePath: 'f.bin' }],
    });
    // XNAT's data is not ours to trust: a label that would climb out of the destination.
    archive.experiments.get(created.id)!.label = '..';
    const parent = folder('dots-parent');
    const dest = join(parent, 'dest');
    mkdirSync(dest);
    const out = await callOk<DownloadOut>(mcp, 'downloadFiles', {
      experiment: created.id,
      destination: dest,
    });
    expect(out.fileCount).toBe(1);
    expect(files(parent)).toEqual([`dest/${created.id}/resources/DOTS/files/f.bin`]);
  });

  it('refuses a destination outside the roots', async () => {
    const { mcp } = await connect();
    const result = await call(mcp, 'downloadFiles', {
      experiment: brainSession().id,
      destination: join(outside, 'here'),
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/outside the allowed directories/);
    expect(files(outside).filter((f) => f.startsWith('here'))).toEqual([]);
  });

  it('restarts a download the server cut mid-file, and the result is verified', async () => {
    const { mcp } = await connect();
    const session = brainSession();
    const scan = session.scans[1]!;
    const target = scan.resources[0]!.files[0]!;
    sandbox.faults.failNextDownload({ afterBytes: Math.floor(target.size / 2), path: target.path });
    const dest = folder('cut');
    const out = await callOk<DownloadOut>(mcp, 'downloadFiles', {
      experiment: session.id,
      scans: [scan.id],
      resource: scan.resources[0]!.label,
      destination: dest,
    });
    expect(out.files.every((f) => f.checksum === 'match')).toBe(true);
    const local = join(
      dest,
      session.label,
      'scans',
      scan.id,
      'resources',
      scan.resources[0]!.label,
      'files',
      target.path,
    );
    expect(md5(readFileSync(local))).toBe(md5(target.bytes()));
    expect(files(dest).some((f) => f.includes('.xnat-mcp-partial-'))).toBe(false);
  });

  it('stops when the call is cancelled, leaving no partial file', async () => {
    const { mcp, xnat } = await connect();
    const local = folder('bigsrc');
    writeFileSync(join(local, 'big.bin'), bytes(2 << 20, 5));
    await xnat.upload({
      parent: { project: 'BRAIN_MR' },
      resource: 'E7_CANCEL',
      files: [{ localPath: join(local, 'big.bin'), remotePath: 'big.bin' }],
    });
    sandbox.faults.stallNextDownload({ afterBytes: 1 << 20, path: 'big.bin' });
    const dest = folder('cancelled');
    const controller = new AbortController();
    const pending = mcp.callTool(
      {
        name: 'downloadFiles',
        arguments: { project: 'BRAIN_MR', resource: 'E7_CANCEL', destination: dest, layout: 'flat' },
      },
      undefined,
      {
        signal: controller.signal,
        onprogress: (p) => {
          if (p.progress > 0) controller.abort();
        },
      },
    );
    await expect(pending).rejects.toThrow();
    // The server cleans up after the cancellation arrives; wait for it, bounded.
    for (let i = 0; i < 100 && files(dest).length > 0; i++) await sleep(50);
    expect(files(dest)).toEqual([]);
    sandbox.faults.clear();
  });
});
