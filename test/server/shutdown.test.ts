/**
 * Stopping the built CLI (`dist/cli.js`) mid-transfer: a signal cancels the running calls, removes
 * their temporary files, logs out and exits; partial files a killed process left behind are swept
 * by the next download into that folder.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxArchive, StoredFile } from '../../src/sandbox/model.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { startSandboxWithFaults, type SandboxWithFaults } from '../../src/sandbox/testing.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
const PARTIAL = /^\..+\.xnat-mcp-partial-/;

let sandbox: SandboxWithFaults;
let archive: SandboxArchive;
let work: string;
const requestLog: string[] = [];

beforeAll(async () => {
  archive = createDemoArchive();
  sandbox = await startSandboxWithFaults({ archive, log: (line) => requestLog.push(line) });
  work = mkdtempSync(join(tmpdir(), 'xnat-mcp-shutdown-'));
});

afterAll(async () => {
  await sandbox?.close();
  rmSync(work, { recursive: true, force: true });
});

/** The largest scan file of a BRAIN_MR session: big enough to stall half-way. */
interface Target {
  experiment: string;
  scan: string;
  resource: string;
  file: StoredFile;
}

function largestScanFile(): Target {
  let best: Target | undefined;
  for (const e of archive.experiments.values()) {
    if (e.project !== 'BRAIN_MR') continue;
    for (const scan of e.scans)
      for (const r of scan.resources)
        for (const file of r.files)
          if (!best || file.size > best.file.size)
            best = { experiment: e.id, scan: scan.id, resource: r.label, file };
  }
  if (!best) throw new Error('no BRAIN_MR scan file');
  return best;
}

interface Served {
  mcp: Client;
  transport: StdioClientTransport;
  exited: Promise<void>;
}

async function serve(root: string): Promise<Served> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, '--root', root],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: work,
      XNAT_URL: sandbox.url,
      XNAT_USER: 'alice',
      XNAT_PASSWORD: 'alice123',
    },
    cwd: root,
    stderr: 'ignore',
  });
  const exited = new Promise<void>((resolve) => (transport.onclose = () => resolve()));
  const mcp = new Client({ name: 'shutdown-test', version: '0' });
  await mcp.connect(transport);
  return { mcp, transport, exited };
}

function download(mcp: Client, dest: string, target: Target) {
  return mcp.callTool({
    name: 'downloadFiles',
    arguments: {
      experiment: target.experiment,
      scans: [target.scan],
      resource: target.resource,
      file: target.file.path,
      destination: dest,
      layout: 'flat',
    },
  });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(20);
}

const partials = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir).filter((n) => PARTIAL.test(n)) : [];

describe('signals', () => {
  it('SIGTERM mid-download cancels it, removes the partial file, logs out and exits', async () => {
    const root = mkdtempSync(join(work, 'term-'));
    const dest = join(root, 'out');
    const target = largestScanFile();
    const { mcp, transport, exited } = await serve(root);
    sandbox.faults.stallNextDownload({ afterBytes: Math.floor(target.file.size / 2) });
    const call = download(mcp, dest, target).catch((err: unknown) => err);
    await until(() => partials(dest).length > 0);
    const logoutsBefore = requestLog.filter((l) => l.startsWith('DELETE /data/JSESSION')).length;
    process.kill(transport.pid!, 'SIGTERM');
    await exited;
    await call;
    expect(partials(dest)).toEqual([]);
    expect(readdirSync(dest)).toEqual([]);
    expect(requestLog.filter((l) => l.startsWith('DELETE /data/JSESSION')).length).toBe(logoutsBefore + 1);
    sandbox.faults.clear();
  }, 60_000);

  it('SIGTERM mid-upload cancels it: the process exits and XNAT keeps nothing of it', async () => {
    const root = mkdtempSync(join(work, 'up-'));
    writeFileSync(join(root, 'big.bin'), Buffer.alloc(1 << 20, 7));
    const { mcp, transport, exited } = await serve(root);
    sandbox.faults.stallNextUpload({ afterBytes: 1 << 18 });
    const requestsBefore = requestLog.length;
    const call = mcp
      .callTool({
        name: 'uploadResource',
        arguments: { project: 'BRAIN_MR', resource: 'SIGTERM_UP', localPaths: ['big.bin'] },
      })
      .catch((err: unknown) => err);
    // The PUT of the file is under way once the resource folder was created.
    await until(() =>
      requestLog.slice(requestsBefore).some((l) => /^PUT \S+\/resources\/SIGTERM_UP /.test(l)),
    );
    await sleep(100);
    process.kill(transport.pid!, 'SIGTERM');
    await exited;
    await call;
    sandbox.faults.clear();
    const project = archive.projects.get('BRAIN_MR');
    const files = project?.resources.find((r) => r.label === 'SIGTERM_UP')?.files ?? [];
    expect(files).toEqual([]);
  }, 60_000);

  it('SIGKILL leaves a partial file that the next download into that folder sweeps', async () => {
    const root = mkdtempSync(join(work, 'kill-'));
    const dest = join(root, 'out');
    const target = largestScanFile();
    const first = await serve(root);
    sandbox.faults.stallNextDownload({ afterBytes: Math.floor(target.file.size / 2) });
    void download(first.mcp, dest, target).catch(() => undefined);
    await until(() => partials(dest).length > 0);
    process.kill(first.transport.pid!, 'SIGKILL');
    await first.exited;
    sandbox.faults.clear();
    expect(partials(dest)).toHaveLength(1);

    const second = await serve(root);
    const result = await download(second.mcp, dest, target);
    expect(result.isError).toBeFalsy();
    expect(readdirSync(dest)).toEqual([target.file.path.split('/').pop()]);
    await second.mcp.close();
    await second.exited;
  }, 60_000);
});
