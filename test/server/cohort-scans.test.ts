/**
 * Cohorts of scans through a real SDK client over Streamable HTTP against the sandbox: targets named
 * `<experiment>/<scan>` in a list, or found by a search of a scan type with searchArchive's criteria;
 * one dry run and one confirmation for the set (its count and the digest of its pairs); every scan
 * written at most once (PUTs counted at the sandbox) and read back; a scan gone in the middle stops
 * or continues as asked; every scan's project passes the allow-list; one audit line per scan; and
 * pyxnat, a real XNAT client, reads a rating back.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import { cohortDigest } from '../../src/mcp/cohort.js';
import type { ServerOptions } from '../../src/server.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { generateArchive } from '../../src/sandbox/testing.js';
import { pyxnatPython } from '../pyxnat/pyxnat-available.js';
import { callTool, cohortOf, connectCohort, type CohortConnection } from './cohort-helpers.js';
import { ADMIN, textOf } from './helpers.js';

const run = promisify(execFile);
/** The interpreter with pyxnat, or undefined when its test is skipped (the helper said why). */
const PYTHON = await pyxnatPython();

const PROJECT = 'SCANS';
/** Generated sessions have scan 1 localizer, 2 T1w_MPR, 3 T2w_SPC. */
const T1 = '2';

let sandbox: RunningSandbox;
let xnat: XnatClient;
/** Every session of the generated project, in label order. */
let sessions: Array<{ id: string; label: string; subjectId: string }>;
/** PUTs the sandbox received, per `<experiment>/<scan>`. */
const puts = new Map<string, number>();
/** Runs when the sandbox receives a PUT of a scan (before it answers). */
let onPut: (pair: string) => Promise<void> = async () => undefined;
const cleanups: Array<() => Promise<void>> = [];
/** A T1 scan of a session in a second project, for the allow-list. */
let elsewhere: string;

const authorization = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;

beforeAll(async () => {
  sandbox = await startSandbox({
    archive: generateArchive({ experiments: 12, project: PROJECT, scansPerExperiment: 3 }),
  });
  sandbox.setHooks({
    async beforeReply({ method, path }) {
      const match = /\/experiments\/([^/]+)\/scans\/([^/]+)$/.exec(path);
      if (method === 'PUT' && match) {
        const pair = `${match[1]}/${match[2]}`;
        puts.set(pair, (puts.get(pair) ?? 0) + 1);
        await onPut(pair);
      }
      return undefined;
    },
  });
  xnat = new XnatClient({ url: sandbox.url, ...ADMIN });
  const listed = await xnat.listExperiments({ project: PROJECT, limit: 100 });
  sessions = listed.items
    .map((e) => ({ id: e.id, label: e.label, subjectId: e.subjectId }))
    .sort((a, b) => (a.label < b.label ? -1 : 1));
  // A second project with one T1 scan, for the allow-list.
  const other = await fetch(`${sandbox.url}/data/projects/ELSEWHERE`, {
    method: 'PUT',
    headers: { authorization },
  });
  expect(other.ok).toBe(true);
  await xnat.createSubject({ project: 'ELSEWHERE', label: 'E1' });
  const { experiment } = await xnat.createExperiment({
    project: 'ELSEWHERE',
    subject: 'E1',
    label: 'E1_MR1',
    xsiType: 'xnat:mrSessionData',
  });
  const scan = await fetch(
    `${sandbox.url}/data/experiments/${experiment.id}/scans/${T1}?xsiType=xnat:mrScanData&type=T1w_MPR`,
    { method: 'PUT', headers: { authorization } },
  );
  expect(scan.ok).toBe(true);
  elsewhere = `${experiment.id}/${T1}`;
});

beforeEach(() => {
  puts.clear();
  onPut = async () => undefined;
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await xnat?.close();
  await sandbox?.close();
});

async function connect(
  options: ServerOptions = {},
  elicit?: 'accept' | 'decline',
): Promise<CohortConnection> {
  const connection = await connectCohort(xnat, options, elicit);
  cleanups.push(() => connection.close());
  return connection;
}

/** `<experiment>/<scan>` of scan `scan` in each of `from`. */
const pairs = (from: ReadonlyArray<{ id: string }>, scan: string) => from.map((s) => `${s.id}/${scan}`);

async function scanOf(pair: string) {
  const [experiment = '', scan = ''] = pair.split('/');
  return (await xnat.getExperiment(experiment)).scans.find((s) => s.id === scan);
}

describe('cohorts of scans', { timeout: 120_000 }, () => {
  it('rateScan on every scan a search finds: one dry run, one confirmation, each scan written once and read back', async () => {
    const { mcp, audits } = await connect();
    const rate = {
      action: 'rateScan',
      quality: 'questionable',
      note: 'motion',
      cohort: {
        search: {
          xsiType: 'xnat:mrScanData',
          where: ['TYPE LIKE T1w*', `xnat:mrSessionData.PROJECT = ${PROJECT}`],
        },
      },
    };
    const t1 = pairs(sessions, T1);
    const preview = await cohortOf(mcp, 'recordQc', { ...rate, dryRun: true });
    expect(preview).toMatchObject({ count: sessions.length, dryRun: true, digest: cohortDigest(t1) });
    expect(preview.confirm).toBe(`${sessions.length}:${cohortDigest(t1)}`);
    expect(new Set(preview.items.map((i) => i.id))).toEqual(new Set(t1));
    expect(preview.items[0]).toMatchObject({ project: PROJECT });
    expect(preview.items[0]?.summary).toMatch(/^scan 2 of .* → questionable \[T1w_MPR\]$/);
    expect(puts.size).toBe(0);

    const refused = await callTool(mcp, 'recordQc', rate);
    expect(refused.result.isError).toBe(true);
    expect(textOf(refused.result)).toContain(`${sessions.length} scans (set ${cohortDigest(t1)})`);
    expect(puts.size).toBe(0);

    const { result, progress } = await callTool(mcp, 'recordQc', { ...rate, confirm: preview.confirm });
    expect(result.isError).toBeFalsy();
    const out = (result.structuredContent as { cohort: typeof preview }).cohort;
    expect(out).toMatchObject({ count: sessions.length, done: sessions.length, failed: 0, notStarted: 0 });
    expect(out.action).toBe('set quality questionable of');
    expect(out.items.every((i) => i.outcome === 'done' && i.detail?.includes('quality=questionable'))).toBe(
      true,
    );
    // Exactly one write per rated scan, none to any other scan.
    expect(Object.fromEntries(puts)).toEqual(Object.fromEntries(t1.map((p) => [p, 1])));
    for (const pair of t1)
      expect(await scanOf(pair)).toMatchObject({ quality: 'questionable', note: 'motion' });
    expect((await scanOf(pairs(sessions, '1')[0] ?? ''))?.quality).not.toBe('questionable');
    // One audit line per scan, naming it with its session.
    const lines = audits.filter((a) => a.includes('action=recordQc'));
    expect(lines).toHaveLength(sessions.length);
    for (const s of sessions) expect(lines.some((l) => l.includes(`object=scan 2 of ${s.id}`))).toBe(true);
    expect(progress.at(-1)).toBe(2 * sessions.length);
  });

  it('a saved search of scans names them by its scan ID and session ID columns', async () => {
    const field = (id: string, n: number) =>
      `<xdat:search_field><xdat:element_name>xnat:mrScanData</xdat:element_name><xdat:field_ID>${id}</xdat:field_ID><xdat:sequence>${n}</xdat:sequence><xdat:header>${id}</xdat:header></xdat:search_field>`;
    const document = `<?xml version="1.0" encoding="UTF-8"?>
<xdat:bundle ID="t1_scans" allow-diff-columns="0" secure="0" brief-description="T1 scans" xmlns:xdat="http://nrg.wustl.edu/security" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<xdat:root_element_name>xnat:mrScanData</xdat:root_element_name>
${field('IMAGE_SESSION_ID', 0)}${field('ID', 1)}${field('TYPE', 2)}
<xdat:search_where method="AND"><xdat:criteria override_value_formatting="0"><xdat:schema_field>xnat:mrScanData.TYPE</xdat:schema_field><xdat:comparison_type>=</xdat:comparison_type><xdat:value>T1w_MPR</xdat:value></xdat:criteria></xdat:search_where>
</xdat:bundle>`;
    const stored = await fetch(`${sandbox.url}/data/search/saved/t1_scans`, {
      method: 'PUT',
      headers: { authorization, 'content-type': 'text/xml' },
      body: document,
    });
    expect(stored.ok).toBe(true);
    const { mcp } = await connect();
    // Site-wide: the T1 scan of the other project too.
    const t1 = [...pairs(sessions, T1), elsewhere];
    const preview = await cohortOf(mcp, 'updateFields', {
      kind: 'scan',
      standard: { note: 'seen' },
      cohort: { search: { savedSearch: 't1_scans' } },
      dryRun: true,
    });
    expect(preview).toMatchObject({ count: t1.length, digest: cohortDigest(t1) });
    expect(preview.items.find((i) => i.id === t1[0])).toMatchObject({
      project: PROJECT,
      label: 't1_mprage_sag_p2',
      summary: 'set note',
    });
    // A saved search of sessions shows no scan IDs: refused with what to do instead.
    const sessionsSaved = await callTool(mcp, 'updateFields', {
      kind: 'scan',
      standard: { note: 'seen' },
      cohort: { search: { savedSearch: '@xnat:mrSessionData' } },
      dryRun: true,
    });
    expect(textOf(sessionsSaved.result)).toMatch(/saved search shows not both the scan ID/);
    expect(puts.size).toBe(0);
  });

  it.skipIf(PYTHON === undefined)('pyxnat reads back the quality a cohort rating set', async () => {
    const { mcp } = await connect({}, 'accept');
    const [session] = sessions.slice(-1);
    if (!session) throw new Error('no session');
    const out = await cohortOf(mcp, 'recordQc', {
      action: 'rateScan',
      quality: 'unusable',
      cohort: { targets: [`${session.id}/3`] },
    });
    expect(out).toMatchObject({ count: 1, done: 1 });
    const script = [
      'import json, sys, warnings',
      "warnings.simplefilter('ignore')",
      'from pyxnat import Interface',
      'c = json.loads(sys.argv[1])',
      "i = Interface(server=c['url'], user=c['user'], password=c['password'])",
      "scan = i.select.project(c['project']).subject(c['subject']).experiment(c['experiment']).scan(c['scan'])",
      "print(json.dumps({'quality': scan.attrs.get('xnat:mrScanData/quality'), 'type': scan.attrs.get('xnat:mrScanData/type')}))",
    ].join('\n');
    const config = {
      url: sandbox.url,
      ...ADMIN,
      project: PROJECT,
      subject: session.subjectId,
      experiment: session.id,
      scan: '3',
    };
    const { stdout } = await run(PYTHON ?? '', ['-c', script, JSON.stringify(config)]);
    expect(JSON.parse(stdout)).toEqual({ quality: 'unusable', type: 'T2w_SPC' });
  });

  it('a list naming an unknown scan is refused before anything changes, whatever onError says', async () => {
    const { mcp } = await connect({}, 'accept');
    const targets = [...pairs(sessions.slice(0, 3), '3'), `${sessions[3]?.id}/99`];
    for (const onError of ['stop', 'continue']) {
      const { result } = await callTool(mcp, 'updateFields', {
        kind: 'scan',
        standard: { note: 'reviewed' },
        cohort: { targets, onError },
      });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/Scan "99" was not found in experiment/);
    }
    const malformed = await callTool(mcp, 'updateFields', {
      kind: 'scan',
      standard: { note: 'reviewed' },
      cohort: { targets: [sessions[0]?.id] },
    });
    expect(textOf(malformed.result)).toContain('A scan target is "<experiment>/<scan>"');
    const sessionsSearched = await callTool(mcp, 'deleteObject', {
      kind: 'scan',
      cohort: { search: { xsiType: 'xnat:mrSessionData' } },
    });
    expect(textOf(sessionsSearched.result)).toContain(
      'A cohort of scans needs a search of scans, not of xnat:mrSessionData: e.g. of xnat:mrScanData',
    );
    expect(puts.size).toBe(0);
  });

  /** Acts on 10 pairs, two at a time; when the 3rd is written, the 7th scan is deleted, so acting on it fails. */
  async function failingRun(
    onError: 'stop' | 'continue',
    scan: string,
    call: { tool: string; args: Record<string, unknown> },
  ) {
    const { mcp } = await connect();
    const targets = pairs(sessions.slice(0, 10), scan);
    const victim = targets[6] ?? '';
    const cohort = { targets, onError, concurrency: 2 };
    const { confirm } = await cohortOf(mcp, call.tool, { ...call.args, cohort, dryRun: true });
    onPut = async (pair) => {
      if (pair !== targets[2]) return;
      const [experiment, id] = victim.split('/');
      await xnat.deleteObject({ kind: 'scan', experiment, scan: id });
    };
    const out = await cohortOf(mcp, call.tool, { ...call.args, cohort, confirm });
    return { targets, victim, out, byId: new Map(out.items.map((i) => [i.id, i])) };
  }

  it("a scan gone in the middle, onError 'stop': it fails, nothing new starts, none is written twice", async () => {
    const { targets, victim, out, byId } = await failingRun('stop', '3', {
      tool: 'updateFields',
      args: { kind: 'scan', standard: { note: 'reviewed', type: 'T2w' } },
    });
    expect(out).toMatchObject({ count: 10, failed: 1 });
    expect(byId.get(victim)).toMatchObject({ outcome: 'failed' });
    expect(byId.get(victim)?.error).toMatch(/not found/i);
    for (const pair of targets.slice(0, 6)) expect(byId.get(pair)?.outcome).toBe('done');
    expect(byId.get(targets[0] ?? '')?.detail).toContain('note:  → reviewed');
    // With two at a time, at most one item after the victim started; the rest never did.
    expect(out.notStarted).toBeGreaterThanOrEqual(2);
    for (const pair of targets) {
      const outcome = byId.get(pair)?.outcome;
      expect(puts.get(pair) ?? 0, `${pair} ${outcome}`).toBe(outcome === 'done' ? 1 : 0);
    }
    expect(await scanOf(targets[0] ?? '')).toMatchObject({ note: 'reviewed', type: 'T2w' });
    expect((await scanOf(targets[9] ?? ''))?.note).toBe('');
  });

  it("a scan gone in the middle, onError 'continue': every other scan is done, once", async () => {
    const { targets, victim, out, byId } = await failingRun('continue', '1', {
      tool: 'recordQc',
      args: { action: 'rateScan', quality: 'unusable' },
    });
    expect(out).toMatchObject({ count: 10, done: 9, failed: 1, notStarted: 0 });
    expect(byId.get(victim)?.outcome).toBe('failed');
    for (const pair of targets) expect(puts.get(pair) ?? 0).toBe(pair === victim ? 0 : 1);
    expect((await scanOf(targets[9] ?? ''))?.quality).toBe('unusable');
  });

  it('deleteObject of a scan cohort: the dry run lists the pairs and deletes nothing; then one confirmation deletes each', async () => {
    const { mcp, audits, elicitations } = await connect({}, 'accept');
    // The localizers of the last two sessions (the 7th session's scan 1 went in the test above).
    const doomed = pairs(sessions.slice(10, 12), '1');
    const preview = await cohortOf(mcp, 'deleteObject', {
      kind: 'scan',
      cohort: { targets: doomed },
      dryRun: true,
    });
    expect(preview).toMatchObject({ action: 'delete', count: 2, digest: cohortDigest(doomed) });
    expect(preview.items.map((i) => i.id)).toEqual(doomed);
    expect(preview.items[0]).toMatchObject({ project: PROJECT, label: 'localizer', summary: 'delete' });
    expect(elicitations).toHaveLength(0);
    for (const pair of doomed) expect(await scanOf(pair)).toBeDefined();

    const out = await cohortOf(mcp, 'deleteObject', { kind: 'scan', cohort: { targets: doomed } });
    expect(out).toMatchObject({ count: 2, done: 2, failed: 0 });
    expect(elicitations).toHaveLength(1);
    expect(elicitations[0]?.message).toContain(`2 scans (set ${cohortDigest(doomed)})`);
    for (const pair of doomed) expect(await scanOf(pair)).toBeUndefined();
    // Only the named scans went: the sessions' other scans are there.
    expect(await scanOf(pairs(sessions.slice(10, 11), T1)[0] ?? '')).toBeDefined();
    const lines = audits.filter((a) => a.includes('action=deleteObject'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/object=scan 1 of /);
  });

  it('the allow-list checks the project of every scan before anything changes', async () => {
    const { mcp } = await connect({ projects: [PROJECT] });
    const targets = [...pairs(sessions.slice(0, 5), T1), elsewhere];
    const { result } = await callTool(mcp, 'recordQc', {
      action: 'rateScan',
      quality: 'usable',
      cohort: { targets },
      confirm: `${targets.length}:${cohortDigest(targets)}`,
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('ELSEWHERE');
    expect(puts.size).toBe(0);
  });
});
