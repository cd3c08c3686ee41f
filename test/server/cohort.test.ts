/**
 * Cohort-wide writes through a real SDK client over Streamable HTTP against the sandbox: one dry run
 * and one confirmation (elicitation or the `confirm` argument) for a set of 100 sessions, named by
 * its count and digest; per-item results; a failure in the middle stops or continues as asked, with
 * every session written at most once (counted at the sandbox); a changed set needs a new
 * confirmation; the allow-list refuses a set touching another project before anything changes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import { cohortDigest, mapBounded, type CohortOutput } from '../../src/mcp/cohort.js';
import type { ServerOptions } from '../../src/server.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { generateArchive } from '../../src/sandbox/testing.js';
import { callTool, cohortOf, connectCohort, type CohortConnection } from './cohort-helpers.js';
import { ADMIN, textOf } from './helpers.js';

let sandbox: RunningSandbox;
let xnat: XnatClient;
/** Every session of the generated project, in label order. */
let sessions: Array<{ id: string; label: string }>;
/** PUTs the sandbox received, per experiment ID. */
const puts = new Map<string, number>();
/** Runs when the sandbox receives a PUT of an experiment (before it answers). */
let onPut: (id: string) => Promise<void> = async () => undefined;
const cleanups: Array<() => Promise<void>> = [];

const PROJECT = 'COHORT';
/** The one session of a second project. */
let elsewhere: string;

beforeAll(async () => {
  sandbox = await startSandbox({
    archive: generateArchive({ experiments: 120, project: PROJECT, scansPerExperiment: 1 }),
  });
  sandbox.setHooks({
    async beforeReply({ method, path }) {
      const id = /\/experiments\/([^/]+)$/.exec(path)?.[1];
      if (method === 'PUT' && id !== undefined) {
        puts.set(id, (puts.get(id) ?? 0) + 1);
        await onPut(id);
      }
      return undefined;
    },
  });
  xnat = new XnatClient({ url: sandbox.url, ...ADMIN });
  const listed = await xnat.listExperiments({ project: PROJECT, limit: 1000 });
  sessions = listed.items
    .map((e) => ({ id: e.id, label: e.label }))
    .sort((a, b) => (a.label < b.label ? -1 : 1));
  // A second project, for shares and for the allow-list.
  const other = await fetch(`${sandbox.url}/data/projects/ELSEWHERE`, {
    method: 'PUT',
    headers: { authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}` },
  });
  expect(other.ok).toBe(true);
  await xnat.createSubject({ project: 'ELSEWHERE', label: 'E1' });
  const { experiment } = await xnat.createExperiment({
    project: 'ELSEWHERE',
    subject: 'E1',
    label: 'E1_MR1',
    xsiType: 'xnat:mrSessionData',
  });
  elsewhere = experiment.id;
  puts.clear();
});

afterEach(async () => {
  puts.clear();
  onPut = async () => undefined;
  // Every test starts from an all-active project.
  await mapBounded(sessions, 8, async (s) => {
    if ((await xnat.getExperimentStatus(s.id)) === 'quarantine')
      await xnat.setQuarantine({ experiment: s.id, quarantined: false });
  });
  puts.clear();
}, 120_000);

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

const first = (n: number) => sessions.slice(0, n).map((s) => s.id);
const statusOf = (id: string) => xnat.getExperimentStatus(id);
const putCounts = (ids: readonly string[]) => ids.map((id) => puts.get(id) ?? 0);

// Each case walks 100 sessions over HTTP through two processes' worth of work on a shared machine.
describe('cohort writes', { timeout: 120_000 }, () => {
  it('a dry run lists the set by pages and names its count, digest and the confirm value; nothing changes', async () => {
    const { mcp } = await connect();
    const ids = first(100);
    const { result } = await callTool(mcp, 'setQuarantine', {
      quarantined: true,
      cohort: { targets: ids },
      dryRun: true,
    });
    const preview = (result.structuredContent as { cohort: CohortOutput }).cohort;
    expect(preview).toMatchObject({ count: 100, dryRun: true, digest: cohortDigest(ids) });
    expect(preview.confirm).toBe(`100:${cohortDigest(ids)}`);
    expect(preview.items.map((i) => i.id)).toEqual(ids);
    expect(preview.items[0]).toMatchObject({ project: PROJECT, summary: 'active → quarantine' });
    // Text equals structure: what the structured preview says is in the text too.
    const text = textOf(result);
    for (const value of [preview.digest, preview.confirm ?? '', ...preview.items.map((i) => i.label ?? '')]) {
      expect(text).toContain(value);
    }
    // A search selects the same kind of set; a set larger than a page is listed page by page.
    const all = await cohortOf(mcp, 'setQuarantine', {
      quarantined: true,
      cohort: { search: { xsiType: 'xnat:mrSessionData', where: [`PROJECT = ${PROJECT}`] } },
      dryRun: true,
    });
    expect(all.count).toBe(sessions.length);
    expect(all.digest).toBe(cohortDigest(sessions.map((s) => s.id)));
    expect(all.items).toHaveLength(100);
    expect(all.nextListFrom).toBe(100);
    const rest = await cohortOf(mcp, 'setQuarantine', {
      quarantined: true,
      cohort: {
        search: { xsiType: 'xnat:mrSessionData', where: [`PROJECT = ${PROJECT}`] },
        listFrom: 100,
      },
      dryRun: true,
    });
    expect(new Set([...all.items, ...rest.items].map((i) => i.id))).toEqual(
      new Set(sessions.map((s) => s.id)),
    );
    expect(rest.nextListFrom).toBeUndefined();
    // A saved search (here the type's default listing, every session) names its targets by its columns.
    const saved = await cohortOf(mcp, 'setQuarantine', {
      quarantined: true,
      cohort: { search: { savedSearch: '@xnat:mrSessionData' } },
      dryRun: true,
    });
    expect(saved.count).toBe(sessions.length + 1);
    expect(saved.items[0]?.project).toBeDefined();
    expect([...puts.values()]).toEqual([]);
  });

  it('with the confirm argument: refused until confirm names the set, then 100 results, each written once', async () => {
    const { mcp, audits } = await connect();
    const ids = first(100);
    const refused = await callTool(mcp, 'setQuarantine', { quarantined: true, cohort: { targets: ids } });
    expect(refused.result.isError).toBe(true);
    const expected = `100:${cohortDigest(ids)}`;
    expect(textOf(refused.result)).toContain(`confirm: "${expected}"`);
    expect(textOf(refused.result)).toContain('100 experiments');
    expect(puts.size).toBe(0);

    const { result, progress } = await callTool(mcp, 'setQuarantine', {
      quarantined: true,
      cohort: { targets: ids, concurrency: 8 },
      confirm: expected,
    });
    expect(result.isError).toBeFalsy();
    const out = (result.structuredContent as { cohort: CohortOutput }).cohort;
    expect(out).toMatchObject({ count: 100, done: 100, failed: 0, notStarted: 0, dryRun: false });
    expect(out.items.map((i) => i.id).sort()).toEqual([...ids].sort());
    expect(out.items.every((i) => i.outcome === 'done' && i.detail === 'now quarantine')).toBe(true);
    expect(putCounts(ids).every((n) => n === 1)).toBe(true);
    expect(await statusOf(ids[0] ?? '')).toBe('quarantine');
    expect(await statusOf(sessions[100]?.id ?? '')).toBe('active');
    // One audit line per changed session.
    expect(audits.filter((a) => a.includes('action=setQuarantine'))).toHaveLength(100);
    // Progress rose to the end (checking, then acting).
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(200);
  });

  it('with elicitation: one question for the whole set, naming its count and digest', async () => {
    const { mcp, elicitations } = await connect({}, 'accept');
    const ids = first(100);
    const out = await cohortOf(mcp, 'setQuarantine', { quarantined: true, cohort: { targets: ids } });
    expect(out).toMatchObject({ count: 100, done: 100, failed: 0, notStarted: 0 });
    expect(elicitations).toHaveLength(1);
    expect(elicitations[0]?.message).toContain(`100 experiments (set ${cohortDigest(ids)})`);
    expect(putCounts(ids).every((n) => n === 1)).toBe(true);

    const declining = await connect({}, 'decline');
    const { result } = await callTool(declining.mcp, 'setQuarantine', {
      quarantined: false,
      cohort: { targets: ids },
    });
    expect(result.isError).toBe(true);
    expect(declining.elicitations).toHaveLength(1);
    expect(await statusOf(ids[50] ?? '')).toBe('quarantine');
  });

  /** Quarantines 100 sessions; when the 40th is written, the 50th is deleted, so acting on it fails. */
  async function failingRun(onError: 'stop' | 'continue') {
    const { mcp } = await connect();
    const ids = first(100);
    const victim = ids[49] ?? '';
    const confirm = (
      await cohortOf(mcp, 'setQuarantine', { quarantined: true, cohort: { targets: ids }, dryRun: true })
    ).confirm;
    onPut = async (id) => {
      if (id === ids[39]) await xnat.deleteObject({ kind: 'experiment', experiment: victim });
    };
    const out = await cohortOf(mcp, 'setQuarantine', {
      quarantined: true,
      cohort: { targets: ids, onError, concurrency: 4 },
      confirm,
    });
    const byId = new Map(out.items.map((i) => [i.id, i]));
    sessions = sessions.filter((s) => s.id !== victim);
    return { ids, victim, out, byId };
  }

  it("onError 'stop': the failure is reported, nothing new starts, running items finish; none is written twice", async () => {
    const { ids, victim, out, byId } = await failingRun('stop');
    expect(out.count).toBe(100);
    expect(out.failed).toBe(1);
    expect(byId.get(victim)).toMatchObject({ outcome: 'failed' });
    expect(byId.get(victim)?.error).toMatch(/not found|404/i);
    expect((out.done ?? 0) + (out.notStarted ?? 0)).toBe(99);
    // Items start in order: all before the victim ran; what never started is the tail of the list
    // (the three other workers may have started a few more while the victim was failing).
    for (const id of ids.slice(0, 49)) expect(byId.get(id)?.outcome).toBe('done');
    const tail = ids.findIndex((id) => byId.get(id)?.outcome === 'notStarted');
    expect(tail).toBeGreaterThan(49);
    expect(ids.slice(tail).every((id) => byId.get(id)?.outcome === 'notStarted')).toBe(true);
    expect(out.notStarted).toBe(100 - tail);
    expect(out.notStarted).toBeGreaterThanOrEqual(40);
    // What the result says is what the sandbox saw: one write per done item, none for the others.
    for (const id of ids) {
      const outcome = byId.get(id)?.outcome;
      expect(puts.get(id) ?? 0, `${id} ${outcome}`).toBe(outcome === 'done' ? 1 : 0);
    }
    expect(await statusOf(ids[0] ?? '')).toBe('quarantine');
    expect(await statusOf(ids[99] ?? '')).toBe('active');
  });

  it("onError 'continue': every other item is done, once", async () => {
    const { ids, victim, out, byId } = await failingRun('continue');
    expect(out).toMatchObject({ count: 100, done: 99, failed: 1, notStarted: 0 });
    expect(byId.get(victim)?.outcome).toBe('failed');
    for (const id of ids) expect(puts.get(id) ?? 0).toBe(id === victim ? 0 : 1);
    expect(await statusOf(ids[99] ?? '')).toBe('quarantine');
  });

  it('a changed set with an old confirmation is refused, and nothing changes', async () => {
    const { mcp } = await connect();
    const ids = first(10);
    const { confirm } = await cohortOf(mcp, 'setQuarantine', {
      quarantined: true,
      cohort: { targets: ids },
      dryRun: true,
    });
    const changed = [...ids.slice(0, 9), sessions[10]?.id ?? ''];
    const { result } = await callTool(mcp, 'setQuarantine', {
      quarantined: true,
      cohort: { targets: changed },
      confirm,
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain(`confirm: "10:${cohortDigest(changed)}"`);
    expect(textOf(result)).toContain('does not match');
    // A search whose answer changed after the dry run: the old confirmation no longer fits.
    const search = {
      xsiType: 'xnat:mrSessionData',
      where: [`LABEL LIKE ${sessions[0]?.label.slice(0, 9)}*`],
    };
    const before = await cohortOf(mcp, 'updateFields', {
      kind: 'experiment',
      standard: { note: 'checked' },
      cohort: { search },
      dryRun: true,
    });
    expect(before.count).toBeGreaterThan(1);
    await xnat.deleteObject({ kind: 'experiment', experiment: before.items.at(-1)?.id ?? '' });
    const stale = await callTool(mcp, 'updateFields', {
      kind: 'experiment',
      standard: { note: 'checked' },
      cohort: { search },
      confirm: before.confirm,
    });
    expect(stale.result.isError).toBe(true);
    expect(textOf(stale.result)).toContain(`${before.count - 1} experiments`);
    expect(puts.size).toBe(0);
    sessions = sessions.filter((s) => s.id !== before.items.at(-1)?.id);
  });

  it('the other writing tools take cohorts: fields of subjects found by a search, shares, QC, deletes', async () => {
    const { mcp, audits } = await connect({}, 'accept');
    const subjects = await cohortOf(mcp, 'updateFields', {
      kind: 'subject',
      fields: { site: 'Boston' },
      cohort: { search: { xsiType: 'xnat:subjectData', where: ['SUBJECT_LABEL LIKE SUBJ0000*'] } },
    });
    expect(subjects).toMatchObject({ count: 9, done: 9, failed: 0 });
    expect(subjects.items[0]?.detail).toContain('→ Boston');
    const subject = await xnat.getSubject(subjects.items[0]?.id ?? '');
    expect(subject.fields.site).toBe('Boston');

    // One target, and a tool without a preview of its own: a dry run shows it as a set of one.
    const one = await cohortOf(mcp, 'updateFields', {
      kind: 'subject',
      subject: subjects.items[0]?.id,
      fields: { site: 'Paris' },
      dryRun: true,
    });
    expect(one).toMatchObject({ count: 1, dryRun: true, items: [{ id: subjects.items[0]?.id }] });
    expect(one.confirm).toBeUndefined();
    expect((await xnat.getSubject(subjects.items[0]?.id ?? '')).fields.site).toBe('Boston');

    const ids = first(5);
    const shared = await cohortOf(mcp, 'shareObject', {
      kind: 'experiment',
      targetProject: 'ELSEWHERE',
      cohort: { targets: ids },
    });
    expect(shared).toMatchObject({ count: 5, done: 5 });
    expect(shared.items[0]?.detail).toContain('shared into ELSEWHERE');

    const qc = await cohortOf(mcp, 'recordQc', {
      action: 'createQcAssessment',
      pass: true,
      rater: 'cohort-test',
      cohort: { targets: ids },
    });
    expect(qc).toMatchObject({ count: 5, done: 5 });
    expect(qc.items.every((i) => i.detail?.startsWith('assessment '))).toBe(true);

    const doomed = sessions.slice(-3).map((s) => s.id);
    const gone = await cohortOf(mcp, 'deleteObject', { kind: 'experiment', cohort: { targets: doomed } });
    expect(gone).toMatchObject({ count: 3, done: 3, action: 'delete' });
    sessions = sessions.filter((s) => !doomed.includes(s.id));
    await expect(xnat.getExperiment(doomed[0] ?? '')).rejects.toThrow(/not found/i);
    expect(audits.filter((a) => a.includes('action=deleteObject'))).toHaveLength(3);

    // Bad cohorts are refused with what to change.
    const both = await callTool(mcp, 'setQuarantine', {
      experiment: ids[0],
      quarantined: true,
      cohort: { targets: ids },
    });
    expect(textOf(both.result)).toContain('not both');
    const assessors = await callTool(mcp, 'deleteObject', { kind: 'assessor', cohort: { targets: ids } });
    expect(textOf(assessors.result)).toContain('one at a time');
    const wrongType = await callTool(mcp, 'setQuarantine', {
      quarantined: true,
      cohort: { search: { xsiType: 'xnat:subjectData' } },
    });
    expect(textOf(wrongType.result)).toContain(
      'A cohort of experiments needs a search of experiments, not of xnat:subjectData',
    );
    const malformed = await callTool(mcp, 'setQuarantine', {
      quarantined: true,
      cohort: { concurrency: 99 },
    });
    expect(textOf(malformed.result)).toMatch(/cohort: .*concurrency/);
  });

  it('the allow-list refuses a set touching another project before anything changes', async () => {
    const { mcp } = await connect({ projects: [PROJECT] });
    const ids = [...first(20), elsewhere, ...sessions.slice(20, 30).map((s) => s.id)];
    const confirm = `${ids.length}:${cohortDigest(ids)}`;
    const { result } = await callTool(mcp, 'setQuarantine', {
      quarantined: true,
      cohort: { targets: ids },
      confirm,
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('ELSEWHERE');
    expect(puts.size).toBe(0);
    expect(await statusOf(ids[0] ?? '')).toBe('active');
  });
});
