/**
 * Stopping things, through an SDK client over Streamable HTTP: cancelling a call that waits for a job
 * stops the waiting (and says so) but not the job; killJob, once confirmed, stops a running job,
 * which then uploads nothing. The sandbox's jobs here run far longer than the test.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import type { Logger } from '../../src/mcp/logger.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { startHttpServer, type RunningHttpServer } from '../../src/transports/http.js';
import { ALICE, textOf } from '../server/helpers.js';

let sandbox: RunningSandbox;
let xnat: XnatClient;
let server: RunningHttpServer;
let mcp: Client;
let session: { id: string; label: string };
let workflowId: string;
let containerId: string;
const logLines: string[] = [];
const log: Logger = {
  debug: (m) => logLines.push(m),
  info: (m) => logLines.push(m),
  warning: (m) => logLines.push(m),
  error: (m) => logLines.push(m),
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function callTool(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await mcp.callTool({ name, arguments: args })) as CallToolResult;
}

async function confirmed(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const refused = await callTool(name, args);
  expect(refused.isError).toBe(true);
  const expected = /confirm: "([^"]+)"/.exec(textOf(refused))?.[1];
  expect(expected).toBeDefined();
  const result = await callTool(name, { ...args, confirm: expected });
  if (result.isError) throw new Error(textOf(result));
  return result.structuredContent as Record<string, unknown>;
}

beforeAll(async () => {
  sandbox = await startSandbox({
    archive: createDemoArchive(),
    containerTimings: { queuedMs: 20, createdMs: 50, runningMs: 600_000 },
  });
  xnat = new XnatClient({ url: sandbox.url, ...ALICE });
  server = await startHttpServer({ client: xnat, log }, { toolsets: ['processing'] }, { port: 0 });
  mcp = new Client({ name: 'job-control-test', version: '0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  await mcp.listTools();
  const page = await xnat.listExperiments({ project: 'BRAIN_MR', limit: 1 });
  session = { id: page.items[0]!.id, label: page.items[0]!.label };
  const launched = (await confirmed('launchPipeline', {
    project: 'BRAIN_MR',
    pipeline: 'dcm2niix-session',
    experiment: session.label,
  })) as { targets: Array<{ workflowId: string }> };
  workflowId = launched.targets[0]!.workflowId;
  // XNAT creates the container after resolving the launch: poll until it runs.
  for (;;) {
    const job = (await xnat.listJobs({ project: 'BRAIN_MR' })).find((j) => j.workflowId === workflowId);
    if (job?.status === 'Running') {
      containerId = job.id;
      break;
    }
    await pause(50);
  }
});

afterAll(async () => {
  await mcp?.close();
  await server?.close();
  await xnat?.close();
  await sandbox?.close();
});

describe('job control', () => {
  it('cancelling a waiting getJobStatus stops the waiting, says so, and leaves the job running', async () => {
    const controller = new AbortController();
    const progress: string[] = [];
    const waiting = mcp.callTool(
      { name: 'getJobStatus', arguments: { workflows: [workflowId], wait: 300 } },
      undefined,
      {
        signal: controller.signal,
        timeout: 120_000,
        onprogress: (p) => {
          progress.push(p.message ?? '');
          controller.abort('the user moved on');
        },
      },
    );
    await expect(waiting).rejects.toThrow();
    expect(progress[0]).toMatch(/0\/1 job\(s\) finished; Running/);
    while (!logLines.some((l) => l.includes('Stopped waiting'))) await pause(20);
    expect(logLines.find((l) => l.includes('Stopped waiting'))).toMatch(
      new RegExp(`Stopped waiting \\(cancelled\\); the jobs keep running in XNAT.*${workflowId}`),
    );
    const job = await xnat.getJob(containerId);
    expect(job).toMatchObject({ status: 'Running', finished: false });
    const status = (await callTool('getJobStatus', { containers: [containerId] })).structuredContent as {
      jobs: Array<{ status: string; finished: boolean }>;
      waited: string;
    };
    expect(status).toMatchObject({ waited: 'no', jobs: [{ status: 'Running', finished: false }] });
  });

  it('kills a running job once confirmed; it then uploads nothing and cannot be killed again', async () => {
    const scans = sandbox.archive.experiments.get(session.id)!.scans;
    const niftiIds = () =>
      scans.map((s) => s.resources.find((r) => r.label === 'NIFTI')?.xnatAbstractresourceId);
    const before = niftiIds();
    const dry = await callTool('killJob', { container: containerId, dryRun: true });
    expect(dry.structuredContent).toMatchObject({ dryRun: true, status: 'Running' });
    expect((await xnat.getJob(containerId)).status).toBe('Running');

    const killed = await confirmed('killJob', { container: containerId });
    expect(killed).toMatchObject({ containerId, status: 'Killed' });
    expect(logLines.some((l) => l.includes('action=killJob') && l.includes(`container ${containerId}`))).toBe(
      true,
    );

    const status = (await callTool('getJobStatus', { workflows: [workflowId] })).structuredContent as {
      jobs: Array<{ status: string; finished: boolean; succeeded?: boolean; outputs?: unknown[] }>;
    };
    expect(status.jobs[0]).toMatchObject({ status: 'Killed', finished: true, succeeded: false });
    expect((await xnat.getWorkflow(workflowId)).status).toBe('Failed (Killed)');
    // The session's NIFTI resources (the seeded ones, if any) are the same as before the launch.
    expect(niftiIds()).toEqual(before);

    const again = await callTool('killJob', { container: containerId, confirm: containerId });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/already finished \(Killed\)/);
  });

  it("waiting on a project's running jobs follows them until they finish", async () => {
    const launched = await xnat.launchPipeline({
      project: 'BRAIN_MR',
      wrapperId: 3,
      rootInput: 'session',
      inputs: { session: `/archive/experiments/${session.id}` },
    });
    let id = '';
    while (id === '') {
      const job = (await xnat.listJobs({ project: 'BRAIN_MR', running: true })).find(
        (j) => j.workflowId === launched.workflowId && j.status === 'Running',
      );
      id = job?.id ?? '';
      if (id === '') await pause(50);
    }
    let killed: Promise<string> | undefined;
    const waiting = mcp.callTool(
      { name: 'getJobStatus', arguments: { project: 'BRAIN_MR', wait: 120 } },
      undefined,
      {
        timeout: 120_000,
        // Once the call is waiting, the job ends (killed): the call then reports it, finished.
        onprogress: () => {
          killed ??= xnat.killJob(id);
        },
      },
    );
    const out = (await waiting).structuredContent as {
      waited: string;
      jobs: Array<{ containerId: string; status: string; finished: boolean }>;
    };
    await killed;
    expect(out.waited).toBe('finished');
    expect(out.jobs).toEqual([
      expect.objectContaining({ containerId: id, status: 'Killed', finished: true }),
    ]);
  });
});
