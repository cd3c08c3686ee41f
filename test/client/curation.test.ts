/**
 * Curation through XnatClient against the sandbox over loopback HTTP: creates, updates, shares,
 * quarantine and deletes, checked against what the sandbox archive holds afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/client.js';
import {
  XnatBadRequestError,
  XnatConflictError,
  XnatNotFoundError,
  XnatPermissionError,
} from '../../src/client/errors.js';
import { startSandboxWithFaults, type SandboxWithFaults } from '../../src/sandbox/testing.js';
import type { SandboxArchive, StoredExperiment, StoredSubject } from '../../src/sandbox/model.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';

let sandbox: SandboxWithFaults;
let archive: SandboxArchive;
let alice: XnatClient;
const clients: XnatClient[] = [];

function connect(user: string): XnatClient {
  const client = new XnatClient({
    url: sandbox.url,
    user,
    password: user === 'admin' ? 'admin' : `${user}123`,
  });
  clients.push(client);
  return client;
}

function subjectByLabel(project: string, label: string): StoredSubject | undefined {
  return [...archive.subjects.values()].find((s) => s.project === project && s.label === label);
}

function experimentById(id: string): StoredExperiment | undefined {
  return archive.experiments.get(id);
}

/** An MR session of BRAIN_MR with at least one scan and one resource file. */
function brainSession(): StoredExperiment {
  const found = [...archive.experiments.values()].find(
    (e) =>
      e.project === 'BRAIN_MR' &&
      e.shares.length === 0 &&
      (e.scans?.length ?? 0) > 1 &&
      (e.scans ?? []).some((s) => s.resources.some((r) => r.files.length > 0)),
  );
  if (!found) throw new Error('demo archive has no BRAIN_MR session with scans');
  return found;
}

let counter = 0;
function uniqueLabel(prefix: string): string {
  counter += 1;
  return `${prefix}_${counter}`;
}

beforeAll(async () => {
  archive = createDemoArchive();
  sandbox = await startSandboxWithFaults({ archive });
  alice = connect('alice');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sandbox?.close();
});

describe('createSubject', () => {
  it('creates a subject with group, demographics and custom variables', async () => {
    const label = uniqueLabel('NEW');
    const { created, subject } = await alice.createSubject({
      project: 'BRAIN_MR',
      label,
      group: 'control',
      demographics: { gender: 'female', handedness: 'left', yob: 1980 },
      fields: { cohort: 'B' },
    });
    expect(created).toBe(true);
    const stored = subjectByLabel('BRAIN_MR', label);
    expect(stored).toBeDefined();
    expect(subject.id).toBe(stored?.id);
    expect(subject.label).toBe(label);
    expect(subject.group).toBe('control');
    expect(subject.gender).toBe('female');
    expect(stored?.demographics.handedness).toBe('left');
    expect(stored?.demographics.yob).toBe(1980);
    expect(Object.fromEntries(Object.entries(subject.fields).map(([k, v]) => [k.toLowerCase(), v]))).toEqual({
      cohort: 'B',
    });
  });

  it('never touches an existing subject: conflict by default, the existing one on request', async () => {
    const existing = [...archive.subjects.values()].find((s) => s.project === 'BRAIN_MR');
    if (!existing) throw new Error('no BRAIN_MR subject');
    const groupBefore = existing.group;
    await expect(
      alice.createSubject({ project: 'BRAIN_MR', label: existing.label, group: 'changed' }),
    ).rejects.toBeInstanceOf(XnatConflictError);
    const returned = await alice.createSubject({
      project: 'BRAIN_MR',
      label: existing.label,
      group: 'changed',
      ifExists: 'return',
    });
    expect(returned.created).toBe(false);
    expect(returned.subject.id).toBe(existing.id);
    expect(existing.group).toBe(groupBefore);
  });

  it('treats a label equal to an existing accession ID in the project as taken', async () => {
    const existing = [...archive.subjects.values()].find((s) => s.project === 'BRAIN_MR');
    if (!existing) throw new Error('no BRAIN_MR subject');
    await expect(alice.createSubject({ project: 'BRAIN_MR', label: existing.id })).rejects.toBeInstanceOf(
      XnatConflictError,
    );
  });

  it('refuses invalid labels before sending anything', async () => {
    const requests = alice.stats.requests;
    await expect(alice.createSubject({ project: 'BRAIN_MR', label: 'bad label/..' })).rejects.toBeInstanceOf(
      XnatBadRequestError,
    );
    expect(alice.stats.requests).toBe(requests);
  });

  it('a collaborator cannot create subjects', async () => {
    const label = uniqueLabel('CAROL');
    await expect(connect('carol').createSubject({ project: 'BRAIN_MR', label })).rejects.toBeInstanceOf(
      XnatPermissionError,
    );
    expect(subjectByLabel('BRAIN_MR', label)).toBeUndefined();
  });
});

describe('createExperiment', () => {
  it('creates a session of any xsiType with date, time, visit, note and fields', async () => {
    const { subject } = await alice.createSubject({ project: 'BRAIN_MR', label: uniqueLabel('SUBJ') });
    const label = uniqueLabel('PET');
    const { created, experiment } = await alice.createExperiment({
      project: 'BRAIN_MR',
      subject: subject.label,
      label,
      xsiType: 'xnat:petSessionData',
      date: '2024-02-29',
      time: '09:30:00',
      visitId: 'V2',
      note: 'baseline',
      fields: { tracer_batch: 'B12' },
    });
    expect(created).toBe(true);
    const stored = experimentById(experiment.id);
    expect(stored?.label).toBe(label);
    expect(stored?.subjectId).toBe(subject.id);
    expect(experiment.xsiType).toBe('xnat:petSessionData');
    expect(experiment.date).toBe('2024-02-29');
    expect(experiment.visitId).toBe('V2');
    expect(experiment.note).toBe('baseline');
    expect(Object.values(experiment.fields)).toEqual(['B12']);
  });

  it('refuses a missing subject instead of letting XNAT create one', async () => {
    const missing = uniqueLabel('NOSUCH');
    await expect(
      alice.createExperiment({
        project: 'BRAIN_MR',
        subject: missing,
        label: uniqueLabel('MR'),
        xsiType: 'xnat:mrSessionData',
      }),
    ).rejects.toBeInstanceOf(XnatNotFoundError);
    expect(subjectByLabel('BRAIN_MR', missing)).toBeUndefined();
  });

  it('an existing label is a conflict, or returned unchanged', async () => {
    const session = brainSession();
    const subject = archive.subjects.get(session.subjectId);
    const q = {
      project: 'BRAIN_MR',
      subject: subject?.label ?? '',
      label: session.label,
      xsiType: 'xnat:mrSessionData',
      note: 'must not be written',
    };
    await expect(alice.createExperiment(q)).rejects.toBeInstanceOf(XnatConflictError);
    const returned = await alice.createExperiment({ ...q, ifExists: 'return' });
    expect(returned).toMatchObject({ created: false, experiment: { id: session.id } });
    expect(session.note).not.toBe('must not be written');
  });

  it('rejects malformed dates and types locally', async () => {
    const base = { project: 'BRAIN_MR', subject: 'x', label: 'L1', xsiType: 'xnat:mrSessionData' };
    await expect(alice.createExperiment({ ...base, date: '2024-13-45' })).rejects.toBeInstanceOf(
      XnatBadRequestError,
    );
    await expect(alice.createExperiment({ ...base, xsiType: 'mrSession' })).rejects.toBeInstanceOf(
      XnatBadRequestError,
    );
  });
});

describe('updateFields', () => {
  it('updates standard fields and custom variables of a subject and reports old and new values', async () => {
    const { subject } = await alice.createSubject({
      project: 'BRAIN_MR',
      label: uniqueLabel('UPD'),
      group: 'control',
      demographics: { gender: 'male' },
    });
    const { changes } = await alice.updateFields(
      { kind: 'subject', project: 'BRAIN_MR', subject: subject.label },
      { standard: { group: 'patient', gender: 'female' }, fields: { site: 'Oslo' } },
    );
    expect(changes).toEqual([
      { field: 'group', old: 'control', new: 'patient' },
      { field: 'gender', old: 'male', new: 'female' },
      { field: 'fields.site', old: '', new: 'Oslo' },
    ]);
    const stored = archive.subjects.get(subject.id);
    expect(stored?.group).toBe('patient');
    expect(stored?.demographics.gender).toBe('female');
  });

  it('renames a subject, and a taken label is a conflict', async () => {
    const { subject } = await alice.createSubject({ project: 'BRAIN_MR', label: uniqueLabel('OLD') });
    const newLabel = uniqueLabel('RENAMED');
    const { changes } = await alice.updateFields(
      { kind: 'subject', subject: subject.id },
      { label: newLabel },
    );
    expect(changes).toEqual([{ field: 'label', old: subject.label, new: newLabel }]);
    expect(archive.subjects.get(subject.id)?.label).toBe(newLabel);
    const other = [...archive.subjects.values()].find((s) => s.project === 'BRAIN_MR' && s.id !== subject.id);
    await expect(
      alice.updateFields({ kind: 'subject', subject: subject.id }, { label: other?.label ?? '' }),
    ).rejects.toBeInstanceOf(XnatConflictError);
    expect(archive.subjects.get(subject.id)?.label).toBe(newLabel);
  });

  it('updates an experiment date and note, and a scan type and quality', async () => {
    const session = brainSession();
    const { changes } = await alice.updateFields(
      { kind: 'experiment', project: 'BRAIN_MR', experiment: session.label },
      { standard: { note: 'reviewed', visit_id: 'V9' } },
    );
    expect(changes.map((c) => [c.field, c.new])).toEqual([
      ['note', 'reviewed'],
      ['visit_id', 'V9'],
    ]);
    expect(experimentById(session.id)?.note).toBe('reviewed');
    const scan = session.scans?.[0];
    if (!scan) throw new Error('no scan');
    const scanChanges = await alice.updateFields(
      { kind: 'scan', experiment: session.id, scan: scan.id },
      { standard: { quality: 'questionable' } },
    );
    expect(scanChanges.changes).toEqual([{ field: 'quality', old: expect.any(String), new: 'questionable' }]);
    expect(scan.quality).toBe('questionable');
  });

  it('accepts the owning project by its alias', async () => {
    const session = brainSession();
    const { changes } = await alice.updateFields(
      { kind: 'experiment', project: 'BRAINMRI', experiment: session.label },
      { standard: { note: 'via alias' } },
    );
    expect(changes).toEqual([{ field: 'note', old: expect.any(String), new: 'via alias' }]);
  });

  it('updates a project description', async () => {
    const { changes } = await alice.updateFields(
      { kind: 'project', project: 'BRAIN_MR' },
      { standard: { description: 'Updated.' } },
    );
    expect(changes[0]).toMatchObject({ field: 'description', new: 'Updated.' });
    expect(archive.projects.get('BRAIN_MR')?.description).toBe('Updated.');
  });

  it('refuses unknown fields, empty updates and writes through a sharing project', async () => {
    const session = brainSession();
    await expect(
      alice.updateFields({ kind: 'experiment', experiment: session.id }, { standard: { colour: 'red' } }),
    ).rejects.toThrow(/Unknown experiment field colour/);
    await expect(
      alice.updateFields({ kind: 'experiment', experiment: session.id }, {}),
    ).rejects.toBeInstanceOf(XnatBadRequestError);
    const shared = [...archive.subjects.values()].find((s) =>
      s.shares.some((x) => x.project === 'PET_AMYLOID'),
    );
    const share = shared?.shares.find((x) => x.project === 'PET_AMYLOID');
    if (!shared || !share) throw new Error('no shared subject');
    await expect(
      alice.updateFields({ kind: 'subject', project: share.project, subject: share.label }, { label: 'X1' }),
    ).rejects.toThrow(/belongs to project/);
  });

  it('a collaborator cannot update', async () => {
    const session = brainSession();
    await expect(
      connect('carol').updateFields(
        { kind: 'experiment', experiment: session.id },
        { standard: { note: 'carol' } },
      ),
    ).rejects.toBeInstanceOf(XnatPermissionError);
    expect(experimentById(session.id)?.note).not.toBe('carol');
  });
});

describe('share and unshare', () => {
  it('shares a subject into another project under a new label, then unshares it', async () => {
    const { subject } = await alice.createSubject({ project: 'BRAIN_MR', label: uniqueLabel('SHR') });
    const label = uniqueLabel('PETLBL');
    const shared = await alice.share({ kind: 'subject', id: subject.id, toProject: 'PET_AMYLOID', label });
    expect(shared).toEqual({ owningProject: 'BRAIN_MR', shares: [{ project: 'PET_AMYLOID', label }] });
    expect(archive.subjects.get(subject.id)?.shares).toEqual([{ project: 'PET_AMYLOID', label }]);
    await expect(
      alice.share({ kind: 'subject', id: subject.id, toProject: 'PET_AMYLOID' }),
    ).rejects.toBeInstanceOf(XnatConflictError);
    const unshared = await alice.unshare({ kind: 'subject', id: subject.id, fromProject: 'PET_AMYLOID' });
    expect(unshared).toEqual({ owningProject: 'BRAIN_MR', shares: [] });
    await expect(
      alice.unshare({ kind: 'subject', id: subject.id, fromProject: 'PET_AMYLOID' }),
    ).rejects.toBeInstanceOf(XnatNotFoundError);
  });

  it('shares an experiment, and refuses an unknown destination', async () => {
    const { subject } = await alice.createSubject({ project: 'BRAIN_MR', label: uniqueLabel('SHE') });
    const { experiment } = await alice.createExperiment({
      project: 'BRAIN_MR',
      subject: subject.id,
      label: uniqueLabel('SHE_MR'),
      xsiType: 'xnat:mrSessionData',
    });
    const shared = await alice.share({ kind: 'experiment', id: experiment.id, toProject: 'PET_AMYLOID' });
    expect(shared.shares).toEqual([{ project: 'PET_AMYLOID', label: experiment.label }]);
    await expect(
      alice.share({ kind: 'experiment', id: experiment.id, toProject: 'NO_SUCH_PROJECT' }),
    ).rejects.toBeInstanceOf(XnatNotFoundError);
  });

  it('sharing needs create rights in the destination project', async () => {
    const session = brainSession();
    // carol reads BRAIN_MR (collaborator) but has no role in PET_AMYLOID.
    await expect(
      connect('carol').share({ kind: 'experiment', id: session.id, toProject: 'PET_AMYLOID' }),
    ).rejects.toBeInstanceOf(XnatPermissionError);
    expect(experimentById(session.id)?.shares.some((s) => s.project === 'PET_AMYLOID')).toBe(false);
  });
});

describe('setQuarantine', () => {
  it('quarantines and activates an experiment, reading the status back', async () => {
    const session = brainSession();
    expect(await alice.setQuarantine({ experiment: session.id, quarantined: true })).toEqual({
      status: 'quarantine',
    });
    expect(experimentById(session.id)?.status).toBe('quarantine');
    expect(await alice.getQuarantineStatus({ experiment: session.label, project: 'BRAIN_MR' })).toBe(
      'quarantine',
    );
    expect(await alice.setQuarantine({ experiment: session.id, quarantined: false })).toEqual({
      status: 'active',
    });
    expect(experimentById(session.id)?.status).toBe('active');
  });

  it('a collaborator cannot change the status', async () => {
    const session = brainSession();
    await expect(
      connect('carol').setQuarantine({ experiment: session.id, quarantined: true }),
    ).rejects.toBeInstanceOf(XnatPermissionError);
    expect(experimentById(session.id)?.status).toBe('active');
  });
});

describe('describeObject and deleteObject', () => {
  async function freshSession(): Promise<{ subjectId: string; experimentId: string; label: string }> {
    const { subject } = await alice.createSubject({ project: 'BRAIN_MR', label: uniqueLabel('DEL') });
    const { experiment } = await alice.createExperiment({
      project: 'BRAIN_MR',
      subject: subject.id,
      label: uniqueLabel('DEL_MR'),
      xsiType: 'xnat:mrSessionData',
    });
    return { subjectId: subject.id, experimentId: experiment.id, label: experiment.label };
  }

  it('describes objects with their owning project', async () => {
    const session = brainSession();
    const d = await alice.describeObject({
      kind: 'experiment',
      project: 'BRAIN_MR',
      experiment: session.label,
    });
    expect(d).toMatchObject({
      kind: 'experiment',
      id: session.id,
      label: session.label,
      project: 'BRAIN_MR',
    });
    expect(d.summary).toContain(session.id);
    const scan = session.scans?.[0];
    const s = await alice.describeObject({ kind: 'scan', experiment: session.id, scan: scan?.id ?? '' });
    expect(s).toMatchObject({ kind: 'scan', id: scan?.id, project: 'BRAIN_MR' });
    await expect(
      alice.describeObject({ kind: 'scan', experiment: session.id, scan: 'nope' }),
    ).rejects.toBeInstanceOf(XnatNotFoundError);
  });

  it('deletes an experiment, then its subject', async () => {
    const { subjectId, experimentId } = await freshSession();
    await alice.deleteObject({ kind: 'experiment', experiment: experimentId });
    expect(experimentById(experimentId)).toBeUndefined();
    await alice.deleteObject({ kind: 'subject', subject: subjectId });
    expect(archive.subjects.has(subjectId)).toBe(false);
    await expect(alice.deleteObject({ kind: 'subject', subject: subjectId })).rejects.toBeInstanceOf(
      XnatNotFoundError,
    );
  });

  it('a label deleted, re-created or renamed away names what XNAT now holds, not a remembered ID', async () => {
    const { subjectId, experimentId, label } = await freshSession();
    const byLabel = { experiment: label, project: 'BRAIN_MR' };
    await alice.listScans(label, { project: 'BRAIN_MR' });
    await alice.deleteObject({ kind: 'experiment', experiment: experimentId });
    const { experiment: again } = await alice.createExperiment({
      project: 'BRAIN_MR',
      subject: subjectId,
      label,
      xsiType: 'xnat:mrSessionData',
    });
    expect(again.id).not.toBe(experimentId);
    await expect(alice.listResources(byLabel)).resolves.toEqual([]);

    await alice.updateFields({ kind: 'experiment', experiment: again.id }, { label: uniqueLabel('MOVED') });
    await expect(alice.listScans(label, { project: 'BRAIN_MR' })).rejects.toBeInstanceOf(XnatNotFoundError);
  });

  it('a delete XNAT carried out before the connection reset is reported done, not "not found"', async () => {
    const session = brainSession();
    const scan = (session.scans ?? []).find((s) => s.resources.length > 0);
    if (!scan) throw new Error('no scan with a resource');
    // XNAT deletes, the answer is lost, the retried DELETE meets a 404.
    sandbox.faults.dropNextReply({ method: 'DELETE', path: `/scans/${scan.id}` });
    await alice.deleteObject({ kind: 'scan', experiment: session.id, scan: scan.id });
    expect(experimentById(session.id)?.scans?.some((s) => s.id === scan.id)).toBe(false);

    const label = uniqueLabel('GONE');
    const { subject: made } = await alice.createSubject({ project: 'BRAIN_MR', label });
    sandbox.faults.dropNextReply({ method: 'DELETE', path: `/subjects/${made.id}` });
    await alice.deleteObject({ kind: 'subject', subject: made.id });
    expect(subjectByLabel('BRAIN_MR', label)).toBeUndefined();
  });

  it('deletes a file, a resource and a scan of a session', async () => {
    const session = brainSession();
    const scan = (session.scans ?? []).find((s) => s.resources.some((r) => r.files.length > 1));
    const resource = scan?.resources.find((r) => r.files.length > 1);
    const file = resource?.files[0];
    if (!scan || !resource || !file) throw new Error('no scan with files');
    const filesBefore = resource.files.length;
    await alice.deleteObject({
      kind: 'file',
      experiment: session.id,
      scan: scan.id,
      resource: resource.label,
      file: file.path,
    });
    const afterFile = session.scans
      ?.find((s) => s.id === scan.id)
      ?.resources.find((r) => r.label === resource.label);
    expect(afterFile?.files.length).toBe(filesBefore - 1);
    await alice.deleteObject({
      kind: 'resource',
      experiment: session.id,
      scan: scan.id,
      resource: resource.label,
    });
    expect(
      session.scans?.find((s) => s.id === scan.id)?.resources.some((r) => r.label === resource.label),
    ).toBe(false);
    await alice.deleteObject({ kind: 'scan', experiment: session.id, scan: scan.id });
    expect(experimentById(session.id)?.scans?.some((s) => s.id === scan.id)).toBe(false);
  });

  it('refuses deleting through a sharing project, and members cannot delete', async () => {
    const shared = [...archive.experiments.values()].find((e) =>
      e.shares.some((s) => s.project === 'PET_AMYLOID'),
    );
    const share = shared?.shares.find((s) => s.project === 'PET_AMYLOID');
    if (!shared || !share) throw new Error('no shared experiment');
    await expect(
      alice.deleteObject({ kind: 'experiment', project: share.project, experiment: share.label }),
    ).rejects.toThrow(/only shared into/);
    expect(experimentById(shared.id)).toBeDefined();
    const { experimentId } = await freshSession();
    await expect(
      connect('bob').deleteObject({ kind: 'experiment', experiment: experimentId }),
    ).rejects.toBeInstanceOf(XnatPermissionError);
    expect(experimentById(experimentId)).toBeDefined();
  });

  it('will not delete a project', async () => {
    await expect(alice.deleteObject({ kind: 'project', project: 'BRAIN_MR' })).rejects.toBeInstanceOf(
      XnatBadRequestError,
    );
    expect(archive.projects.has('BRAIN_MR')).toBe(true);
  });
});
