/**
 * copyData end to end: two sandboxes (two XNAT servers), the MCP server over Streamable HTTP with
 * both configured by name, an SDK Client. A session copied from one to the other reads back through
 * pyxnat identically; an interrupted copy resumes without duplicates; a second copy changes nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import { serverDirectory, type ServerDirectory } from '../../src/mcp/servers.js';
import type { CopyShaped } from '../../src/mcp/format-copy.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { startHttpServer, type RunningHttpServer } from '../../src/transports/http.js';
import { pyxnatPython } from '../pyxnat/pyxnat-available.js';
import { basic, resultRows } from '../sandbox/fixture.js';
import { ALICE, call, callOk, textOf } from '../server/helpers.js';

const run = promisify(execFile);
const PYTHON = await pyxnatPython();
const SCRIPT = fileURLToPath(new URL('./pyxnat_session.py', import.meta.url));

const SOURCE_PROJECT = 'BRAIN_MR';
/** On the target, alice is a member of PET_AMYLOID, which holds no BRAIN_MR subjects. */
const TARGET_PROJECT = 'PET_AMYLOID';
const SESSION = 'BMR001_MR1';
const SUBJECT = 'BMR001';

let source: RunningSandbox;
let target: RunningSandbox;
let sourceClient: XnatClient;
let servers: ServerDirectory;
let http: RunningHttpServer;
let mcp: Client;
/** Requests that change the target (anything but GET/HEAD), as its hook sees them. */
const targetWrites: string[] = [];
/** Requests the target has applied and is about to answer (every method). */
let targetApplied = 0;

/**
 * Waits until the target has applied every request it received. An aborted client stops waiting at
 * once, but a PUT whose body had fully arrived is still stored by the server (as XNAT would).
 */
async function targetSettled(): Promise<void> {
  for (let waited = 0; target.stats.requests > targetApplied; waited += 20) {
    if (waited > 10_000)
      throw new Error(`target still busy: ${target.stats.requests} requests, ${targetApplied} applied`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  [source, target] = await Promise.all([
    startSandbox({ archive: createDemoArchive() }),
    startSandbox({ archive: createDemoArchive() }),
  ]);
  target.setHooks({
    beforeReply: async ({ method, path }) => {
      targetApplied += 1;
      if (method !== 'GET' && method !== 'HEAD') targetWrites.push(`${method} ${path}`);
      return undefined;
    },
  });
  sourceClient = new XnatClient({ url: source.url, ...ALICE });
  servers = serverDirectory([
    { name: 'main', url: source.url, client: sourceClient },
    { name: 'backup', url: target.url, create: () => new XnatClient({ url: target.url, ...ALICE }) },
  ]);
  http = await startHttpServer(
    { client: sourceClient, servers },
    { toolsets: ['core', 'copy'] },
    { port: 0 },
  );
  mcp = new Client({ name: 'copy-test', version: '0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(http.url)));
  await mcp.listTools();
  await seedSubjectResource(SUBJECT, 'CONSENT', {
    'consent.txt': 'signed 2023-01-09\n',
    'intake.txt': 'intake form, page 1 of 1\n',
  });
  // A folder inside the resource too (pyxnat's file() cannot fetch those, so not on BMR001).
  await seedSubjectResource('BMR004', 'CONSENT', {
    'consent.txt': 'signed 2023-03-02\n',
    'forms/intake.txt': 'intake form, page 1 of 1\n',
  });
}, 60_000);

afterAll(async () => {
  await mcp?.close();
  await http?.close();
  await servers?.close();
  await sourceClient?.close();
  await Promise.all([source?.close(), target?.close()]);
});

const copyArgs = {
  from: 'main',
  to: 'backup',
  ids: [SESSION],
  sourceProject: SOURCE_PROJECT,
  targetProject: TARGET_PROJECT,
};

/** Runs copyData, repeating it with the confirm value the server names (the user agreed). */
async function copyConfirmed(args: Record<string, unknown>): Promise<CopyShaped> {
  const first = await call(mcp, 'copyData', args);
  if (!first.isError) return first.structuredContent as unknown as CopyShaped;
  const confirm = /confirm: "([^"]+)"/.exec(textOf(first))?.[1];
  if (confirm === undefined) throw new Error(`copyData failed: ${textOf(first)}`);
  return callOk<CopyShaped>(mcp, 'copyData', { ...args, confirm });
}

const BASIC = basic(ALICE.user, ALICE.password);

/** One REST call as alice, as any HTTP client would make it (subject resources have no client call). */
async function rest(url: string, method: string, path: string, body?: string): Promise<Response> {
  const response = await fetch(`${url}${path}`, { method, headers: { Authorization: BASIC }, body });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

/** A subject's own resource files as `<resource>/<path> <size> <md5>`, sorted. */
async function subjectFiles(url: string, project: string, subject: string): Promise<string[]> {
  const base = `/data/projects/${project}/subjects/${subject}/resources`;
  const out: string[] = [];
  for (const { label } of await resultRows(await rest(url, 'GET', `${base}?format=json`))) {
    const files = await resultRows(await rest(url, 'GET', `${base}/${label}/files?format=json`));
    out.push(...files.map((f) => `${label}/${f.Name} ${f.Size} ${f.digest}`));
  }
  return out.sort();
}

/** Puts files into a subject's own resource on the source (consent forms, say). */
async function seedSubjectResource(
  subject: string,
  label: string,
  files: Record<string, string>,
): Promise<void> {
  const base = `/data/projects/${SOURCE_PROJECT}/subjects/${subject}/resources/${label}`;
  await rest(source.url, 'PUT', `${base}?format=TXT&content=consent`);
  for (const [path, text] of Object.entries(files)) {
    await rest(source.url, 'PUT', `${base}/files/${path}?inbody=true`, text);
  }
}

/** The files a copy of SESSION carries: the session's and its scans', and its subject's own. */
async function sourceFileCount(): Promise<number> {
  const e = await sourceClient.getExperiment(SESSION, { project: SOURCE_PROJECT });
  const own = await subjectFiles(source.url, SOURCE_PROJECT, SUBJECT);
  return e.resources.reduce((n, r) => n + r.fileCount, 0) + own.length;
}

describe('named servers', () => {
  it('getServerInfo lists the servers by name and URL and asks the one named, never showing credentials', async () => {
    const info = await callOk<{ url: string; servers: Array<{ name: string; url: string }> }>(
      mcp,
      'getServerInfo',
      { server: 'backup' },
    );
    expect(info.url).toBe(target.url);
    expect(info.servers).toEqual([
      { name: 'main', url: source.url },
      { name: 'backup', url: target.url },
    ]);
    const text = textOf(await call(mcp, 'getServerInfo', {}));
    expect(text).toContain(`backup ${target.url}`);
    expect(text).not.toContain(ALICE.password);
    const unknown = await call(mcp, 'getServerInfo', { server: 'nope' });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/Unknown XNAT server "nope".*main, backup/);
  });
});

describe('copyData between two sandboxes', () => {
  it('dry run lists what would be created and changes nothing', async () => {
    const before = targetWrites.length;
    const plan = await callOk<CopyShaped>(mcp, 'copyData', { ...copyArgs, dryRun: true });
    expect(plan.dryRun).toBe(true);
    expect(plan.items).toHaveLength(1);
    expect(plan.items[0]).toMatchObject({
      subject: SUBJECT,
      experiment: SESSION,
      action: 'create',
      subjectExists: false,
      filesToCopy: await sourceFileCount(),
      filesSame: 0,
    });
    expect(plan.items[0]!.scansToCreate.length).toBeGreaterThan(0);
    expect(targetWrites.length).toBe(before);
  });

  it('takes its targets from a search on the source server (the cohort module), subjects with their experiments', async () => {
    const plan = await callOk<CopyShaped>(mcp, 'copyData', {
      from: 'main',
      to: 'backup',
      kind: 'subject',
      cohort: { search: { xsiType: 'xnat:subjectData', where: ['SUBJECT_LABEL LIKE BMR002*'] } },
      sourceProject: SOURCE_PROJECT,
      targetProject: TARGET_PROJECT,
      dryRun: true,
    });
    const subject = await sourceClient.getSubject('BMR002', { project: SOURCE_PROJECT });
    expect(plan.items.map((i) => `${i.subject}/${i.experiment}`).sort()).toEqual(
      subject.experiments
        .filter((e) => e.project === SOURCE_PROJECT)
        .map((e) => `BMR002/${e.label}`)
        .sort(),
    );
    expect(plan.items.every((i) => i.action === 'create')).toBe(true);
  });

  it('an interrupted copy is a conflict by default, and resumed with merge completes without duplicates', async () => {
    // Interrupt through the client core: abort once a few files have arrived.
    const backup = servers.client('backup');
    const stop = new AbortController();
    const request = {
      kind: 'experiment' as const,
      ids: [SESSION],
      sourceProject: SOURCE_PROJECT,
      targetProject: TARGET_PROJECT,
      concurrency: 2,
      signal: stop.signal,
      onProgress: (p: { filesDone: number }) => {
        if (p.filesDone >= 5) stop.abort();
      },
    };
    const planned = await sourceClient.planCopy(backup, request);
    await expect(sourceClient.runCopy(backup, planned, request)).rejects.toThrow();
    await targetSettled();
    const partial = await backup.getExperiment(SESSION, { project: TARGET_PROJECT });
    const partialFiles =
      partial.resources.reduce((n, r) => n + r.fileCount, 0) +
      (await subjectFiles(target.url, TARGET_PROJECT, SUBJECT)).length;
    const total = await sourceFileCount();
    expect(partialFiles).toBeGreaterThanOrEqual(5);
    expect(partialFiles).toBeLessThan(total);

    const conflict = await callOk<CopyShaped>(mcp, 'copyData', { ...copyArgs, dryRun: true });
    expect(conflict.items[0]).toMatchObject({ action: 'conflict', subjectExists: true });
    const refused = await copyConfirmed(copyArgs);
    expect(refused.items[0]!.action).toBe('conflict');
    expect(refused.items[0]!.copied).toBeUndefined();

    const resumed = await copyConfirmed({ ...copyArgs, onExisting: 'merge' });
    expect(resumed.items[0]).toMatchObject({ action: 'merge', filesToCopy: total - partialFiles });
    expect(resumed.items[0]!.copied).toEqual({
      files: total - partialFiles,
      bytes: expect.any(Number),
      verified: total - partialFiles,
    });
    expect(resumed.items[0]!.error).toBeUndefined();

    // One session, one subject, every file once, each with the source's size and MD5.
    const subjects = await backup.listSubjects({ project: TARGET_PROJECT, limit: 100 });
    expect(subjects.items.filter((s) => s.label === SUBJECT)).toHaveLength(1);
    const sessions = await backup.listExperiments({ project: TARGET_PROJECT, limit: 100 });
    expect(sessions.items.filter((e) => e.label === SESSION)).toHaveLength(1);
    const copied = await backup.getExperiment(SESSION, { project: TARGET_PROJECT });
    const original = await sourceClient.getExperiment(SESSION, { project: SOURCE_PROJECT });
    const digests = async (client: XnatClient, id: string) =>
      (await client.listFiles({ experiment: id }))
        .map((f) => `${f.scan ?? ''}/${f.resource}/${f.path} ${f.size} ${f.digest}`)
        .sort();
    const targetFiles = [
      ...(await digests(backup, copied.id)),
      ...(await subjectFiles(target.url, TARGET_PROJECT, SUBJECT)),
    ];
    expect(targetFiles).toEqual([
      ...(await digests(sourceClient, original.id)),
      ...(await subjectFiles(source.url, SOURCE_PROJECT, SUBJECT)),
    ]);
    expect(targetFiles.filter((f) => f.startsWith('CONSENT/'))).toHaveLength(2);
    expect(new Set(targetFiles).size).toBe(total);
  }, 120_000);

  it('a second identical copy changes nothing on the target', async () => {
    const before = targetWrites.length;
    const again = await copyConfirmed({ ...copyArgs, onExisting: 'merge' });
    expect(again.items[0]).toMatchObject({ action: 'merge', filesToCopy: 0, scansToCreate: [] });
    expect(again.items[0]!.filesSame).toBe(await sourceFileCount());
    expect(targetWrites.slice(before)).toEqual([]);
    const skipped = await copyConfirmed({ ...copyArgs, onExisting: 'skip' });
    expect(skipped.items[0]!.action).toBe('skip');
    expect(targetWrites.slice(before)).toEqual([]);
  });

  it('merge replaces a file the target holds with other bytes, and verifies it', async () => {
    const backup = servers.client('backup');
    const copied = await backup.getExperiment(SESSION, { project: TARGET_PROJECT });
    const [victim] = await backup.listFiles({ experiment: copied.id, scan: '1', resource: 'DICOM' });
    const dir = mkdtempSync(join(tmpdir(), 'xnat-copy-'));
    const local = join(dir, 'other.dcm');
    writeFileSync(local, 'not the original bytes');
    try {
      await backup.upload({
        parent: { experiment: copied.id, scan: '1' },
        resource: 'DICOM',
        files: [{ localPath: local, remotePath: victim!.path }],
        overwrite: true,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const plan = await callOk<CopyShaped>(mcp, 'copyData', {
      ...copyArgs,
      onExisting: 'merge',
      dryRun: true,
    });
    expect(plan.items[0]).toMatchObject({ action: 'merge', filesToCopy: 1, filesDifferent: 1 });
    const merged = await copyConfirmed({ ...copyArgs, onExisting: 'merge' });
    expect(merged.items[0]!.copied).toEqual({ files: 1, bytes: victim!.size, verified: 1 });
    const [now] = (await backup.listFiles({ experiment: copied.id, scan: '1', resource: 'DICOM' })).filter(
      (f) => f.path === victim!.path,
    );
    expect({ size: now!.size, digest: now!.digest }).toEqual({ size: victim!.size, digest: victim!.digest });
  });

  it("copies a subject's own resources once, with its first experiment, however many experiments come", async () => {
    const args = { ...copyArgs, kind: 'subject', ids: ['BMR004'] };
    const subject = await sourceClient.getSubject('BMR004', { project: SOURCE_PROJECT });
    const sessions = subject.experiments.filter((e) => e.project === SOURCE_PROJECT);
    expect(sessions.length).toBe(2);
    const sessionFiles = async (label: string) =>
      (await sourceClient.getExperiment(label, { project: SOURCE_PROJECT })).resources.reduce(
        (n, r) => n + r.fileCount,
        0,
      );
    const plan = await callOk<CopyShaped>(mcp, 'copyData', { ...args, dryRun: true });
    expect(plan.items.map((i) => [i.experiment, i.filesToCopy])).toEqual(
      await Promise.all(
        plan.items.map(async (i, k) => [
          i.experiment,
          (await sessionFiles(i.experiment!)) + (k === 0 ? 2 : 0),
        ]),
      ),
    );
    expect(plan.items.map((i) => i.subjectResources)).toEqual([['CONSENT'], undefined]);
    const done = await copyConfirmed(args);
    expect(done.items.map((i) => i.error)).toEqual([undefined, undefined]);
    expect(done.items[0]!.copied!.files).toBe(plan.items[0]!.filesToCopy);
    expect(await subjectFiles(target.url, TARGET_PROJECT, 'BMR004')).toEqual(
      await subjectFiles(source.url, SOURCE_PROJECT, 'BMR004'),
    );
    const again = await callOk<CopyShaped>(mcp, 'copyData', { ...args, onExisting: 'merge', dryRun: true });
    expect(again.items.map((i) => i.filesToCopy)).toEqual([0, 0]);
  }, 120_000);

  it('refuses a target project outside the allow-list before reading anything', async () => {
    const restricted = await startHttpServer(
      { client: sourceClient, servers },
      { toolsets: ['copy'], projects: ['OTHER'] },
      { port: 0 },
    );
    const client = new Client({ name: 'copy-test-2', version: '0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(restricted.url)));
      const result = (await client.callTool({ name: 'copyData', arguments: copyArgs })) as Awaited<
        ReturnType<typeof call>
      >;
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain(TARGET_PROJECT);
    } finally {
      await client.close();
      await restricted.close();
    }
  });
});

describe.skipIf(PYTHON === undefined)('pyxnat reads the copy back', () => {
  it('the copied session reads back through pyxnat on the target exactly as on the source', async () => {
    const original = await sourceClient.getExperiment(SESSION, { project: SOURCE_PROJECT });
    const subject = await sourceClient.getSubject(SUBJECT, { project: SOURCE_PROJECT });
    const read = async (url: string, project: string) => {
      const { stdout } = await run(
        PYTHON ?? '',
        [
          SCRIPT,
          JSON.stringify({
            url,
            ...ALICE,
            project,
            subject: SUBJECT,
            experiment: SESSION,
            subjectFields: Object.keys(subject.fields),
            experimentFields: Object.keys(original.fields),
          }),
        ],
        { maxBuffer: 16 * 1024 * 1024, timeout: 240_000 },
      );
      return JSON.parse(stdout) as Record<string, unknown>;
    };
    const [fromSource, fromTarget] = await Promise.all([
      read(source.url, SOURCE_PROJECT),
      read(target.url, TARGET_PROJECT),
    ]);
    expect(Object.keys(fromSource.scans as object).length).toBeGreaterThan(0);
    expect(Object.keys((fromSource.subject as { resources: object }).resources)).toContain('CONSENT');
    expect(fromTarget).toEqual(fromSource);
  }, 300_000);
});
