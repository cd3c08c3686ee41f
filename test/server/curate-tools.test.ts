/**
 * The curate toolset end to end: an MCP client calls the tools of a server whose XNAT client talks
 * to the sandbox over loopback HTTP. Outcomes are checked in the sandbox archive itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import type { SandboxArchive, StoredExperiment } from '../../src/sandbox/model.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import type { Logger } from '../../src/mcp/logger.js';
import { TOOLSETS } from '../../src/mcp/define.js';
import { ALICE, call, callOk, connectInMemory, textOf, type Connected } from './helpers.js';

let sandbox: RunningSandbox;
let archive: SandboxArchive;
let alice: Connected;
const logLines: string[] = [];
const captureLog: Logger = {
  debug: (m) => logLines.push(m),
  info: (m) => logLines.push(m),
  warning: (m) => logLines.push(m),
  error: (m) => logLines.push(m),
};
const others: Connected[] = [];

async function as(user: 'bob' | 'carol'): Promise<Connected> {
  const connected = await connectInMemory(sandbox.url, { user, password: `${user}123` });
  others.push(connected);
  return connected;
}

let counter = 0;
function uniqueLabel(prefix: string): string {
  counter += 1;
  return `${prefix}_${counter}`;
}

async function newSession(): Promise<StoredExperiment> {
  const subject = await callOk<{ id: string }>(alice.mcp, 'createSubject', {
    project: 'BRAIN_MR',
    label: uniqueLabel('T'),
  });
  const experiment = await callOk<{ id: string }>(alice.mcp, 'createExperiment', {
    project: 'BRAIN_MR',
    subject: subject.id,
    label: uniqueLabel('T_MR'),
    xsiType: 'xnat:mrSessionData',
    date: '2024-01-15',
  });
  const stored = archive.experiments.get(experiment.id);
  if (!stored) throw new Error('created experiment is not in the archive');
  return stored;
}

beforeAll(async () => {
  archive = createDemoArchive();
  sandbox = await startSandbox({ archive });
  alice = await connectInMemory(sandbox.url, ALICE, { toolsets: [...TOOLSETS] }, captureLog);
});

afterAll(async () => {
  await Promise.all(others.map((c) => c.close()));
  await alice?.close();
  await sandbox?.close();
});

describe('tool declarations', () => {
  it('lists the writing tools as writes, destructive where they can lose data', async () => {
    const { tools } = await alice.mcp.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of [
      'createSubject',
      'createExperiment',
      'updateFields',
      'shareObject',
      'setQuarantine',
      'deleteObject',
    ]) {
      expect(byName.get(name)?.annotations).toMatchObject({ readOnlyHint: false, openWorldHint: true });
    }
    expect(byName.get('deleteObject')?.annotations?.destructiveHint).toBe(true);
    expect(byName.get('setQuarantine')?.annotations?.destructiveHint).toBe(true);
    expect(byName.get('createSubject')?.annotations?.destructiveHint).toBe(false);
    // Both transfer tools can replace files (remote or local) when asked to overwrite.
    expect(byName.get('uploadResource')?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
    });
    expect(byName.get('downloadFiles')?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
    });
    expect(byName.get('listPrearchive')?.annotations).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
    });
    expect(Object.keys(byName.get('deleteObject')?.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['confirm', 'dryRun']),
    );
  });
});

describe('createSubject and createExperiment', () => {
  it('creates, then reports a conflict or returns the existing subject as asked', async () => {
    const label = uniqueLabel('NEW');
    const created = await callOk<{
      created: boolean;
      id: string;
      label: string;
      demographics: Record<string, string>;
    }>(alice.mcp, 'createSubject', {
      project: 'BRAIN_MR',
      label,
      gender: 'female',
      yob: 1975,
      fields: { cohort: 'A' },
    });
    expect(created).toMatchObject({ created: true, label });
    expect(archive.subjects.get(created.id)?.demographics).toMatchObject({ gender: 'female', yob: 1975 });
    const again = await call(alice.mcp, 'createSubject', { project: 'BRAIN_MR', label, gender: 'male' });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toContain('already exists');
    expect(archive.subjects.get(created.id)?.demographics.gender).toBe('female');
    const returned = await callOk<{ created: boolean; id: string }>(alice.mcp, 'createSubject', {
      project: 'BRAIN_MR',
      label,
      ifExists: 'return',
    });
    expect(returned).toMatchObject({ created: false, id: created.id });
    expect(logLines.filter((l) => l.includes(`object=subject ${created.id}`))).toHaveLength(1);
  });

  it('creates an experiment and refuses a missing subject with a pointer to createSubject', async () => {
    const session = await newSession();
    expect(session.date).toBe('2024-01-15');
    const missing = await call(alice.mcp, 'createExperiment', {
      project: 'BRAIN_MR',
      subject: 'NO_SUCH_SUBJECT',
      label: uniqueLabel('X'),
      xsiType: 'xnat:mrSessionData',
    });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toContain('createSubject');
  });

  it('rejects bad input with an actionable message, not a stack trace', async () => {
    const bad = await call(alice.mcp, 'createSubject', { project: 'BRAIN_MR', label: '../etc' });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/letters, digits/);
    expect(textOf(bad)).not.toMatch(/\n\s+at /);
    const badType = await call(alice.mcp, 'createExperiment', {
      project: 'BRAIN_MR',
      subject: 'S',
      label: 'L',
      xsiType: 'mr',
    });
    expect(textOf(badType)).toMatch(/xnat:mrSessionData/);
  });

  it('a collaborator cannot create: XNAT refuses and the tool says so', async () => {
    const carol = await as('carol');
    const label = uniqueLabel('CAROL');
    const result = await call(carol.mcp, 'createSubject', { project: 'BRAIN_MR', label });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/not allowed/);
    expect([...archive.subjects.values()].some((s) => s.label === label)).toBe(false);
  });
});

describe('updateFields and shareObject', () => {
  it('reports old and new values, and renames', async () => {
    const session = await newSession();
    const oldLabel = session.label;
    const newLabel = uniqueLabel('RN');
    const out = await callOk<{ changes: Array<{ field: string; old: string; new: string }> }>(
      alice.mcp,
      'updateFields',
      {
        kind: 'experiment',
        experiment: session.id,
        label: newLabel,
        standard: { note: 'checked' },
        fields: { reader: 'AB' },
      },
    );
    expect(out.changes).toEqual([
      { field: 'label', old: oldLabel, new: newLabel },
      { field: 'note', old: '', new: 'checked' },
      { field: 'fields.reader', old: '', new: 'AB' },
    ]);
    expect(archive.experiments.get(session.id)?.label).toBe(newLabel);
  });

  it('a rename onto a taken label is a conflict and changes nothing', async () => {
    const a = await newSession();
    const b = await newSession();
    const result = await call(alice.mcp, 'updateFields', {
      kind: 'experiment',
      experiment: a.id,
      label: b.label,
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/conflict/i);
    expect(archive.experiments.get(a.id)?.label).toBe(a.label);
  });

  it('shares into another project and unshares', async () => {
    const session = await newSession();
    const label = uniqueLabel('AMY');
    const shared = await callOk<{ owningProject: string; shares: unknown[] }>(alice.mcp, 'shareObject', {
      kind: 'experiment',
      id: session.id,
      targetProject: 'PET_AMYLOID',
      label,
    });
    expect(shared).toMatchObject({ owningProject: 'BRAIN_MR', shares: [{ project: 'PET_AMYLOID', label }] });
    const again = await call(alice.mcp, 'shareObject', {
      kind: 'experiment',
      id: session.id,
      targetProject: 'PET_AMYLOID',
    });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/Already assigned/);
    const unshared = await callOk<{ shares: unknown[] }>(alice.mcp, 'shareObject', {
      action: 'unshare',
      kind: 'experiment',
      id: session.id,
      targetProject: 'PET_AMYLOID',
    });
    expect(unshared.shares).toEqual([]);
    expect(archive.experiments.get(session.id)?.shares).toEqual([]);
  });
});

describe('setQuarantine and deleteObject: confirmation, dry run, permissions', () => {
  it('setQuarantine fails closed without confirm, previews on dryRun, and applies with the ID', async () => {
    const session = await newSession();
    const refused = await call(alice.mcp, 'setQuarantine', { experiment: session.id, quarantined: true });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(`confirm: "${session.id}"`);
    expect(archive.experiments.get(session.id)?.status).toBe('active');
    const dry = await callOk<{ dryRun: boolean; status: string }>(alice.mcp, 'setQuarantine', {
      experiment: session.id,
      quarantined: true,
      dryRun: true,
    });
    expect(dry).toMatchObject({ dryRun: true, status: 'active' });
    const done = await callOk<{ status: string; previousStatus: string }>(alice.mcp, 'setQuarantine', {
      project: 'BRAIN_MR',
      experiment: session.label,
      quarantined: true,
      confirm: session.id,
    });
    expect(done).toMatchObject({ status: 'quarantine', previousStatus: 'active' });
    expect(archive.experiments.get(session.id)?.status).toBe('quarantine');
  });

  it('setQuarantine reads the experiment once: a dry run costs the requests of one getExperiment', async () => {
    const session = await newSession();
    const requestsOf = async (name: string, args: Record<string, unknown>): Promise<number> => {
      const before = sandbox.stats.requests;
      await callOk(alice.mcp, name, args);
      return sandbox.stats.requests - before;
    };
    const dryRun = { experiment: session.id, quarantined: true, dryRun: true };
    await requestsOf('setQuarantine', dryRun); // the login's user lookup, cached after the first write
    const read = await requestsOf('getExperiment', { experiment: session.id });
    expect(read).toBeGreaterThan(0);
    expect(await requestsOf('setQuarantine', dryRun)).toBe(read);
  });

  it('deleteObject: dry run, no confirm, wrong confirm change nothing; the right confirm deletes and is audited', async () => {
    const session = await newSession();
    const dry = await callOk<{ deleted: boolean; summary: string }>(alice.mcp, 'deleteObject', {
      kind: 'experiment',
      experiment: session.id,
      dryRun: true,
    });
    expect(dry.deleted).toBe(false);
    expect(dry.summary).toContain(session.id);
    for (const confirm of [undefined, 'yes', session.label]) {
      const refused = await call(alice.mcp, 'deleteObject', {
        kind: 'experiment',
        experiment: session.id,
        ...(confirm === undefined ? {} : { confirm }),
      });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain(`confirm: "${session.id}"`);
    }
    expect(archive.experiments.has(session.id)).toBe(true);
    const deleted = await callOk<{ deleted: boolean }>(alice.mcp, 'deleteObject', {
      kind: 'experiment',
      experiment: session.id,
      confirm: session.id,
    });
    expect(deleted.deleted).toBe(true);
    expect(archive.experiments.has(session.id)).toBe(false);
    const audit = logLines.find((l) => l.includes(`action=deleteObject object=experiment ${session.id}`));
    expect(audit).toMatch(/^write user=alice /);
    expect(logLines.join('\n')).not.toContain(ALICE.password);
  });

  it('a member cannot delete (XNAT 403) and a missing object is reported as not found', async () => {
    const session = await newSession();
    const bob = await as('bob');
    const result = await call(bob.mcp, 'deleteObject', {
      kind: 'experiment',
      experiment: session.id,
      confirm: session.id,
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/not allowed/);
    expect(archive.experiments.has(session.id)).toBe(true);
    const missing = await call(alice.mcp, 'deleteObject', {
      kind: 'experiment',
      experiment: 'XNAT_E99999',
      confirm: 'XNAT_E99999',
    });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/not found/);
  });

  it('through a project the experiment is only shared into, nothing is deleted and unsharing is suggested', async () => {
    const shared = [...archive.experiments.values()].find((e) =>
      e.shares.some((x) => x.project === 'PET_AMYLOID'),
    );
    const share = shared?.shares.find((x) => x.project === 'PET_AMYLOID');
    if (!shared || !share) throw new Error('no experiment shared into PET_AMYLOID');
    const result = await call(alice.mcp, 'deleteObject', {
      kind: 'experiment',
      project: 'PET_AMYLOID',
      experiment: share.label,
      confirm: shared.id,
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/only shared into PET_AMYLOID.*unshare/);
    expect(archive.experiments.has(shared.id)).toBe(true);
  });

  it('deletes a scan file and refuses a kind without its identifiers', async () => {
    const session = [...archive.experiments.values()].find(
      (e) =>
        e.project === 'BRAIN_MR' && (e.scans ?? []).some((s) => s.resources.some((r) => r.files.length > 0)),
    );
    const scan = session?.scans?.find((s) => s.resources.some((r) => r.files.length > 0));
    const resource = scan?.resources.find((r) => r.files.length > 0);
    const file = resource?.files[0];
    if (!session || !scan || !resource || !file) throw new Error('no file in the demo archive');
    const args = {
      kind: 'file',
      experiment: session.id,
      scan: scan.id,
      resource: resource.label,
      file: file.path,
    };
    const refused = await call(alice.mcp, 'deleteObject', args);
    expect(textOf(refused)).toContain(`confirm: "${file.path}"`);
    await callOk(alice.mcp, 'deleteObject', { ...args, confirm: file.path });
    expect(resource.files.some((f) => f.path === file.path)).toBe(false);
    const incomplete = await call(alice.mcp, 'deleteObject', { kind: 'scan', experiment: session.id });
    expect(incomplete.isError).toBe(true);
    expect(textOf(incomplete)).toMatch(/scan/i);
  });
});
