/**
 * The sandbox's container service as XNAT answers it, over loopback HTTP: XNAT's launch quirks
 * (an unknown wrapper "succeeds" with workflow-id "To be assigned", an unknown project is a bare
 * 500), enablement per project, bulk launch, a launch of a wrapper the project has not enabled
 * failing in its workflow, and the log poll.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';

let sandbox: RunningSandbox;
let session: string;
const auth = `Basic ${Buffer.from('admin:admin').toString('base64')}`;

async function xnat(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, text: await res.text() };
}
const json = async <T>(method: string, path: string, body?: unknown): Promise<T> =>
  JSON.parse((await xnat(method, path, body)).text) as T;
const mrSessions = (): string[] =>
  [...sandbox.archive.experiments.values()]
    .filter((e) => e.project === 'BRAIN_MR' && e.xsiType === 'xnat:mrSessionData')
    .map((e) => e.id);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  sandbox = await startSandbox({
    archive: createDemoArchive(),
    containerTimings: { queuedMs: 10, createdMs: 10, runningMs: 600_000 },
    // Each request here logs in afresh (Basic auth): let polling open as many sessions as it needs.
    maxSessionsPerUser: 1_000_000,
  });
  session = mrSessions()[0]!;
});

afterAll(async () => {
  await sandbox?.close();
});

describe('the sandbox container service', () => {
  it('launches an unknown wrapper "successfully" and answers a bare 500 for an unknown project', async () => {
    const unknown = await xnat('POST', '/xapi/projects/BRAIN_MR/wrappers/999/root/session/launch', {
      session,
    });
    expect(unknown.status).toBe(200);
    expect(JSON.parse(unknown.text)).toMatchObject({ status: 'success', 'workflow-id': 'To be assigned' });
    const project = await xnat('POST', '/xapi/projects/NO_SUCH/wrappers/1/root/session/launch', { session });
    expect(project).toEqual({ status: 500, text: 'null' });
  });

  it('reports and changes enablement per project; a launch of a disabled wrapper fails in its workflow', async () => {
    expect(await json('GET', '/xapi/projects/BRAIN_MR/wrappers/4/enabled')).toEqual({
      'enabled-for-site': true,
      'enabled-for-project': false,
      project: 'BRAIN_MR',
    });
    const report = await json<{ status: string; 'workflow-id': string }>(
      'POST',
      '/xapi/projects/BRAIN_MR/wrappers/4/root/session/launch',
      { session: `/archive/experiments/${session}` },
    );
    expect(report.status).toBe('success');
    let workflow: { status: string; details: string };
    do {
      await pause(50);
      const doc = await json<{ items: Array<{ data_fields: { status: string; details: string } }> }>(
        'GET',
        `/data/workflows/${report['workflow-id']}?format=json`,
      );
      workflow = doc.items[0]!.data_fields;
    } while (workflow.status === 'Queued');
    expect(workflow).toMatchObject({
      status: 'Failed (Staging)',
      details: expect.stringContaining('not enabled'),
    });

    expect(
      (await xnat('PUT', '/xapi/projects/BRAIN_MR/commands/4/wrappers/mriqc-session/enabled')).status,
    ).toBe(200);
    const available = await json<Array<{ 'wrapper-name': string; enabled: boolean }>>(
      'GET',
      '/xapi/commands/available?project=BRAIN_MR&xsiType=xnat:mrSessionData',
    );
    expect(available.find((a) => a['wrapper-name'] === 'mriqc-session')?.enabled).toBe(true);
    await xnat('PUT', '/xapi/projects/BRAIN_MR/wrappers/4/disabled');
    expect(
      (await json<{ 'enabled-for-project': boolean }>('GET', '/xapi/projects/BRAIN_MR/wrappers/4/enabled'))[
        'enabled-for-project'
      ],
    ).toBe(false);
  });

  it('bulk-launches every target of a JSON list, reporting each "To be assigned", and polls logs', async () => {
    const targets = mrSessions()
      .slice(1, 3)
      .map((id) => `/archive/experiments/${id}`);
    const bulk = await json<{
      'bulk-launch-id': string;
      'pipeline-name': string;
      successes: Array<{ 'workflow-id': string; params: { session: string } }>;
      failures: unknown[];
    }>('POST', '/xapi/projects/BRAIN_MR/wrappers/2/root/session/bulklaunch', {
      session: JSON.stringify(targets),
    });
    expect(bulk).toMatchObject({ 'pipeline-name': 'session-snapshots', failures: [] });
    expect(bulk['bulk-launch-id']).toMatch(/^bulk-admin\d+/);
    expect(bulk.successes.map((s) => s.params.session)).toEqual(targets);
    expect(bulk.successes.every((s) => s['workflow-id'] === 'To be assigned')).toBe(true);

    let running: Array<{ id: number; status: string; history: Array<{ status: string }> }> = [];
    while (running.filter((c) => c.status === 'Running').length < 2) {
      await pause(50);
      running = await json('GET', '/xapi/projects/BRAIN_MR/containers?nonfinalized=true');
    }
    const container = running.find((c) => c.status === 'Running')!;
    expect(container.history.map((h) => h.status)).toEqual(['Created', 'Running']);
    let poll: { content: string; fromFile: boolean; timestamp: string };
    do {
      await pause(50);
      poll = await json('GET', `/xapi/containers/${container.id}/logSince/stdout`);
    } while (poll.content === '');
    expect(poll).toMatchObject({ fromFile: false, content: expect.stringContaining('.png') });
    expect(
      await json(
        'GET',
        `/xapi/containers/${container.id}/logSince/stdout?since=${Number(poll.timestamp) + 1}`,
      ),
    ).toMatchObject({ content: '' });
    const killed = await xnat('POST', `/xapi/containers/${container.id}/kill`);
    expect(killed.status).toBe(200);
    expect(killed.text).toMatch(/^[0-9a-f]{64}$/);
    expect((await xnat('POST', `/xapi/containers/${container.id}/kill`)).status).toBe(500);
    const after = await json<{ status: string }[]>(
      'GET',
      '/xapi/projects/BRAIN_MR/containers?nonfinalized=true',
    );
    expect(after.some((c) => (c as unknown as { id: number }).id === container.id)).toBe(false);
  });
});
