/**
 * The processing toolset end to end, through an SDK client over Streamable HTTP against the
 * sandbox's container service: discover → dry run → launch on five sessions → watch to completion →
 * the NIfTI outputs listed, downloaded, and byte-identical to what pyxnat downloads; a failing job's
 * stderr tail; refusals before any request reaches the launch endpoint.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { startHttpServer, type RunningHttpServer } from '../../src/transports/http.js';
import { pyxnatPython } from '../pyxnat/pyxnat-available.js';
import { ALICE, textOf } from '../server/helpers.js';

const run = promisify(execFile);
const PYTHON = await pyxnatPython();
const SCRIPT = fileURLToPath(new URL('./pyxnat_outputs.py', import.meta.url));

interface CohortOut {
  count: number;
  dryRun: boolean;
  confirm?: string;
  done?: number;
  failed?: number;
  items: Array<{
    id: string;
    label?: string;
    project?: string;
    summary?: string;
    outcome?: string;
    detail?: string;
  }>;
}
interface LaunchOut {
  dryRun?: boolean;
  wrapper: string;
  cohort?: CohortOut;
  targets: Array<{
    experiment: string;
    label: string;
    inputs?: Record<string, string>;
    workflowId?: string;
    containerId?: string;
    status?: string;
  }>;
  launched?: number;
  summary: string;
}
interface JobOut {
  containerId?: string;
  workflowId?: string;
  status: string;
  finished: boolean;
  succeeded?: boolean;
  stderrTail?: string;
  outputs?: Array<{
    resource: string;
    scan?: string;
    experiment: string;
    files: Array<{ name: string; size: number; uri: string }>;
  }>;
}
interface StatusOut {
  jobs: JobOut[];
  waited: string;
  summary: string;
}

let sandbox: RunningSandbox;
let xnat: XnatClient;
let server: RunningHttpServer;
let mcp: Client;
let root: string;
let sessions: Array<{ id: string; label: string }>;
const requests: Array<{ method: string; path: string }> = [];

async function callTool(
  name: string,
  args: Record<string, unknown>,
  onprogress?: (p: { message?: string }) => void,
) {
  return (await mcp.callTool({ name, arguments: args }, undefined, {
    timeout: 170_000,
    ...(onprogress ? { onprogress } : {}),
  })) as CallToolResult;
}

async function ok<T>(
  name: string,
  args: Record<string, unknown>,
  onprogress?: (p: { message?: string }) => void,
): Promise<T> {
  const result = await callTool(name, args, onprogress);
  if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
  return result.structuredContent as T;
}

/** A launch needs the user's agreement: the refusal names the value to confirm with. */
async function launchConfirmed(args: Record<string, unknown>): Promise<LaunchOut> {
  const refused = await callTool('launchPipeline', args);
  expect(refused.isError).toBe(true);
  const expected = /confirm: "([^"]+)"/.exec(textOf(refused))?.[1];
  expect(expected).toBeDefined();
  return ok<LaunchOut>('launchPipeline', { ...args, confirm: expected });
}

const launchPosts = () => requests.filter((r) => r.method === 'POST' && /\/(bulk)?launch$/.test(r.path));

beforeAll(async () => {
  // A few hundred milliseconds a state: the jobs are still running when the first poll looks.
  sandbox = await startSandbox({
    archive: createDemoArchive(),
    containerTimings: { queuedMs: 50, createdMs: 200, runningMs: 1500 },
  });
  sandbox.setHooks({
    beforeReply: async (r) => {
      requests.push(r);
      return undefined;
    },
  });
  root = realpathSync(mkdtempSync(join(tmpdir(), 'xnat-mcp-processing-')));
  xnat = new XnatClient({ url: sandbox.url, ...ALICE });
  server = await startHttpServer(
    { client: xnat },
    { toolsets: ['processing', 'transfer'], roots: [root] },
    { port: 0 },
  );
  mcp = new Client({ name: 'processing-test', version: '0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  await mcp.listTools();
  const page = await xnat.listExperiments({ project: 'BRAIN_MR', limit: 5 });
  sessions = page.items.map((e) => ({ id: e.id, label: e.label }));
  expect(sessions).toHaveLength(5);
});

afterAll(async () => {
  await mcp?.close();
  await server?.close();
  await xnat?.close();
  await sandbox?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('processing tools', () => {
  it('finds the pipelines for sessions, with enablement and inputs explained', async () => {
    const out = await ok<{
      pipelines: Array<{
        wrapper: string;
        wrapperId: number;
        enabled: boolean;
        sessions?: string[];
        inputs: Array<{ name: string; role: string; default?: string; choices?: string[] }>;
      }>;
    }>('findPipelines', { project: 'BRAIN_MR', experiments: sessions.map((s) => s.label) });
    const byName = new Map(out.pipelines.map((p) => [p.wrapper, p]));
    expect(byName.get('dcm2niix-session')).toMatchObject({
      enabled: true,
      sessions: sessions.map((s) => s.label),
    });
    expect(byName.get('dcm2niix-session')?.inputs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'session', role: 'target' }),
        expect.objectContaining({ name: 'bids', role: 'parameter', default: 'y', choices: ['y', 'n'] }),
      ]),
    );
    expect(byName.get('mriqc-session')?.enabled).toBe(false);
    // Without sessions: the pipelines for the project's session types.
    const project = await ok<{
      pipelines: Array<{ wrapper: string; appliesTo: string[]; sessions?: string[] }>;
    }>('findPipelines', { project: 'BRAIN_MR' });
    const dcm2niix = project.pipelines.find((p) => p.wrapper === 'dcm2niix-session');
    expect(dcm2niix?.appliesTo).toContain('xnat:mrSessionData');
    expect(dcm2niix?.sessions).toBeUndefined();
    expect(byName.get('recon-all-session')?.inputs).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'session-label', role: 'derived' })]),
    );
  });

  it('dry run resolves the inputs per session, for a list or a search, and launches nothing', async () => {
    const before = launchPosts().length;
    const out = await ok<LaunchOut>('launchPipeline', {
      project: 'BRAIN_MR',
      pipeline: 'dcm2niix-session',
      cohort: { targets: sessions.map((s) => s.label) },
      inputs: { compress: 'y' },
      dryRun: true,
    });
    expect(out.cohort).toMatchObject({
      dryRun: true,
      count: 5,
      confirm: expect.stringMatching(/^5:[0-9a-f]{12}$/),
    });
    for (const item of out.cohort!.items) {
      expect(item.summary).toContain(`session=/archive/experiments/${item.id}`);
      expect(item.summary).toContain('bids=y');
      expect(item.summary).toContain('filename=%s_%d');
    }
    const searched = await ok<LaunchOut>('launchPipeline', {
      project: 'BRAIN_MR',
      pipeline: 'dcm2niix-session',
      cohort: {
        search: { xsiType: 'xnat:mrSessionData', where: ['PROJECT = BRAIN_MR', 'LABEL LIKE BMR00*'] },
      },
      dryRun: true,
    });
    expect(searched.cohort!.count).toBeGreaterThan(1);
    expect(
      searched.cohort!.items.every((i) => i.label?.startsWith('BMR00') && i.project === 'BRAIN_MR'),
    ).toBe(true);
    expect(launchPosts().length).toBe(before);
    expect(await xnat.listJobs({ project: 'BRAIN_MR' })).toHaveLength(0);
  });

  it('launches on five sessions, watches them finish and lists real NIfTI outputs that download as pyxnat downloads them', async () => {
    const launched = await launchConfirmed({
      project: 'BRAIN_MR',
      pipeline: 'dcm2niix-session',
      cohort: { targets: sessions.map((s) => s.label) },
    });
    expect(launched.cohort).toMatchObject({ count: 5, done: 5, failed: 0 });
    const workflows = launched.cohort!.items.map((i) => /^workflow (\d+)$/.exec(i.detail ?? '')?.[1]);
    expect(workflows.every((w) => w !== undefined)).toBe(true);

    const messages: string[] = [];
    const status = await ok<StatusOut>('getJobStatus', { workflows, wait: 160 }, (p) =>
      messages.push(p.message ?? ''),
    );
    expect(status.waited).toBe('finished');
    expect(messages.length).toBeGreaterThan(0);
    expect(messages[0]).toMatch(/job\(s\) finished/);
    expect(status.jobs).toHaveLength(5);
    for (const job of status.jobs) {
      expect(job).toMatchObject({ status: 'Complete', finished: true, succeeded: true });
      expect(job.containerId).toBeTruthy();
      const scans = job.outputs ?? [];
      expect(scans.length).toBeGreaterThan(3);
      for (const o of scans) {
        expect(o.resource).toBe('NIFTI');
        expect(o.files.map((f) => f.name).some((n) => n.endsWith('.nii.gz'))).toBe(true);
        expect(o.files.map((f) => f.name).some((n) => n.endsWith('.json'))).toBe(true);
      }
    }

    // The handles link workflows to containers.
    const job = status.jobs[0]!;
    const container = await xnat.getJob(job.containerId!);
    expect(container.workflowId).toBe(job.workflowId);

    const output = job.outputs!.find((o) => o.scan === '2')!;
    const ours = join(root, 'ours');
    const download = await ok<{ fileCount: number }>('downloadFiles', {
      experiment: output.experiment,
      scans: ['2'],
      resource: 'NIFTI',
      destination: ours,
      layout: 'flat',
    });
    expect(download.fileCount).toBe(output.files.length);
    const nifti = output.files.find((f) => f.name.endsWith('.nii.gz'))!;
    // dcm2niix's name (-f %s_%d), not a seeded file's.
    expect(nifti.name).toMatch(/^2_.+\.nii\.gz$/);
    const bytes = readFileSync(join(ours, nifti.name));
    expect(bytes.length).toBe(nifti.size);
    // A real NIfTI-1 volume: header size 348, magic n+1, int16 voxels after byte 352.
    const raw = gunzipSync(bytes);
    expect(raw.readInt32LE(0)).toBe(348);
    expect(raw.toString('latin1', 344, 347)).toBe('n+1');
    const dims = [1, 2, 3].map((i) => raw.readInt16LE(40 + i * 2));
    expect(raw.length).toBe(352 + dims[0]! * dims[1]! * dims[2]! * 2);
    const sidecar = JSON.parse(
      readFileSync(join(ours, nifti.name.replace('.nii.gz', '.json')), 'utf8'),
    ) as Record<string, unknown>;
    expect(sidecar).toMatchObject({ Modality: 'MR', ConversionSoftware: 'dcm2niix' });

    if (PYTHON) {
      const theirs = join(root, 'pyxnat');
      mkdirSync(theirs);
      const { stdout } = await run(PYTHON, [
        SCRIPT,
        JSON.stringify({
          url: sandbox.url,
          ...ALICE,
          experiment: output.experiment,
          scan: '2',
          resource: 'NIFTI',
          destination: theirs,
        }),
      ]);
      const seen = JSON.parse(stdout) as { files: string[] };
      expect(seen.files).toEqual(output.files.map((f) => f.name).sort());
      for (const name of seen.files) {
        expect(readFileSync(join(theirs, name)).equals(readFileSync(join(ours, name)))).toBe(true);
      }
    }
  }, 180_000);

  it('reports the stderr tail of a failing job', async () => {
    const launched = await launchConfirmed({
      project: 'BRAIN_MR',
      pipeline: 'recon-all-session',
      experiment: sessions[0]!.label,
    });
    const status = await ok<StatusOut>('getJobStatus', {
      workflows: [launched.targets[0]!.workflowId],
      wait: 60,
    });
    const job = status.jobs[0]!;
    expect(job).toMatchObject({ status: 'Failed', finished: true, succeeded: false });
    expect(job.stderrTail).toMatch(/license file .* not found/);
    expect(job.outputs).toBeUndefined();
    expect(status.summary).toMatch(/1 failed/);
  }, 90_000);

  it('refuses an unknown or disabled pipeline and unknown inputs before any request to the launch endpoint', async () => {
    const before = launchPosts().length;
    const experiment = sessions[1]!.label;
    const unknown = await callTool('launchPipeline', {
      project: 'BRAIN_MR',
      pipeline: 999,
      experiment,
      confirm: 'x',
    });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/No pipeline "999".*available: .*dcm2niix-session/);
    const disabled = await callTool('launchPipeline', {
      project: 'BRAIN_MR',
      pipeline: 'mriqc-session',
      cohort: { targets: sessions.map((s) => s.label) },
      confirm: 'x',
    });
    expect(disabled.isError).toBe(true);
    expect(textOf(disabled)).toMatch(/not enabled in project BRAIN_MR/);
    const badInput = await callTool('launchPipeline', {
      project: 'BRAIN_MR',
      pipeline: 'dcm2niix-session',
      experiment,
      inputs: { bids: 'maybe' },
    });
    expect(badInput.isError).toBe(true);
    expect(textOf(badInput)).toMatch(/bids must be one of y, n/);
    expect(launchPosts().length).toBe(before);
  });
});
