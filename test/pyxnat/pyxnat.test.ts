/**
 * pyxnat (Debian's python3-pyxnat, pyxnat 1.5) against the sandbox: a Python script drives pyxnat's
 * public API and prints what it saw; here it is checked against the archive the sandbox serves.
 * pyxnat is a real XNAT client, so any disagreement means the sandbox is not behaving like XNAT.
 * The probe runs as the site admin and as a project owner who is no admin (alice), one process each.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { canListProject, canReadItem } from '../../src/sandbox/access.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import type { SandboxArchive, StoredExperiment, StoredSubject } from '../../src/sandbox/model.js';
import { canUseSearch, savedSearchesOf } from '../../src/sandbox/saved-searches.js';
import { searchElementRows } from '../../src/sandbox/search.js';
import {
  DEMO_UNICODE_EXPERIMENT_LABEL,
  DEMO_UNICODE_SUBJECT_LABEL,
  createDemoArchive,
} from '../../src/sandbox/seed.js';
import { pyxnatPython } from './pyxnat-available.js';

const run = promisify(execFile);
/** The interpreter with pyxnat, or undefined when the tests are skipped (the helper said why). */
const PYTHON = await pyxnatPython();
const PROBE = fileURLToPath(new URL('./pyxnat_probe.py', import.meta.url));
const PROJECT = 'BRAIN_MR';
const SHARED_PROJECT = 'PET_AMYLOID';
const DATE_FROM = '2022-01-01';
/**
 * Who the probe logs in as, with a saved search each may run: alice is an allowed user of the secure
 * `BRAIN_MR 3T sessions`; the admin is not (secure searches need an allowed user, admins included),
 * so it runs the open `Female subjects`.
 */
const ROLES = [
  { role: 'the site admin', login: 'admin', password: 'admin', savedSearch: 'Female subjects' },
  {
    role: 'alice, owner of BRAIN_MR (no admin)',
    login: 'alice',
    password: 'alice123',
    savedSearch: 'BRAIN_MR 3T sessions',
  },
] as const;

interface ProbeOutput {
  steps: Record<string, unknown>;
  errors: Record<string, string>;
}

let sandbox: RunningSandbox;
let archive: SandboxArchive;
let probe: ProbeOutput | undefined;

const labelIn = (item: StoredSubject | StoredExperiment, project: string): string =>
  item.project === project ? item.label : (item.shares.find((s) => s.project === project)?.label ?? '');
const inProject = (item: StoredSubject | StoredExperiment, project: string): boolean =>
  item.project === project || item.shares.some((s) => s.project === project);

function userNamed(login: string) {
  const user = archive.users.find((u) => u.login === login);
  if (!user) throw new Error(`the demo archive has no ${login}`);
  return user;
}

/** The subject the probe walks down from: the BRAIN_MR subject shared into PET_AMYLOID. */
function sharedSubject(): StoredSubject {
  const subject = [...archive.subjects.values()].find((s) => s.project === PROJECT && s.shares.length > 0);
  if (!subject) throw new Error('the demo archive has no shared subject');
  return subject;
}

function firstSession(subject: StoredSubject): StoredExperiment {
  const session = [...archive.experiments.values()].find(
    (e) => e.subjectId === subject.id && e.project === PROJECT && e.xsiType === 'xnat:mrSessionData',
  );
  if (!session) throw new Error(`no MR session for ${subject.label}`);
  return session;
}

/** The scan of the session with the most resources (DICOM, NIFTI and SNAPSHOTS). */
function richestScan(session: StoredExperiment) {
  const scan = [...session.scans].sort((a, b) => b.resources.length - a.resources.length)[0];
  if (!scan) throw new Error(`no scans in ${session.label}`);
  return scan;
}

function unicodeSubjectOfExperiment(): StoredSubject {
  const experiment = [...archive.experiments.values()].find((e) => e.label === DEMO_UNICODE_EXPERIMENT_LABEL);
  const subject = archive.subjects.get(experiment?.subjectId ?? '');
  if (!subject) throw new Error('the demo archive has no session with a non-ASCII label');
  return subject;
}

describe.skipIf(PYTHON === undefined).each(ROLES)('pyxnat as $role against the sandbox', (role) => {
  const user = () => userNamed(role.login);

  beforeAll(async () => {
    sandbox = await startSandbox({ archive: createDemoArchive() });
    archive = sandbox.archive;
    const subject = sharedSubject();
    const session = firstSession(subject);
    const config = {
      url: sandbox.url,
      user: role.login,
      password: role.password,
      project: PROJECT,
      subject: subject.label,
      experiment: session.label,
      scan: richestScan(session).id,
      dateFrom: DATE_FROM,
      sharedProject: SHARED_PROJECT,
      sharedSubject: labelIn(subject, SHARED_PROJECT),
      unicodeSubject: DEMO_UNICODE_SUBJECT_LABEL,
      unicodeExperimentSubject: unicodeSubjectOfExperiment().label,
      unicodeExperiment: DEMO_UNICODE_EXPERIMENT_LABEL,
      hiddenProject: 'PEDS_DTI',
      savedSearch: role.savedSearch,
    };
    const { stdout } = await run(PYTHON ?? '', [PROBE, JSON.stringify(config)], {
      maxBuffer: 16 * 1024 * 1024,
    });
    probe = JSON.parse(stdout) as ProbeOutput;
  }, 120_000);

  afterAll(async () => {
    await sandbox?.close();
  });

  /** What pyxnat saw in one step; fails with pyxnat's own error when that step raised. */
  function seen(step: string): unknown {
    if (!probe) throw new Error('the pyxnat probe did not run');
    const error = probe.errors[step];
    if (error !== undefined) throw new Error(`pyxnat failed in step "${step}": ${error}`);
    return probe.steps[step];
  }

  it('runs every step without a pyxnat error', () => {
    expect(probe?.errors).toEqual({});
  });

  it('logs in and lists the projects the user can see', () => {
    const expected = [...archive.projects.values()].filter((p) => canListProject(p, user())).map((p) => p.id);
    expect(seen('projects')).toEqual(expected.sort());
    const hidden = archive.projects.get('PEDS_DTI');
    expect(hidden?.accessibility).toBe('private');
    expect(seen('hidden_project_exists')).toBe(hidden !== undefined && canListProject(hidden, user()));
  });

  it('reads project attributes', () => {
    const project = archive.projects.get(PROJECT);
    expect(seen('project_exists')).toBe(true);
    expect(seen('project_attrs')).toEqual({
      name: project?.name,
      pi_lastname: project?.piLastname,
      description: project?.description,
    });
  });

  it('lists subjects by ID and label', () => {
    const subjects = [...archive.subjects.values()].filter((s) => inProject(s, PROJECT));
    expect(seen('subject_ids')).toEqual(subjects.map((s) => s.id).sort());
    expect(seen('subject_labels')).toEqual(subjects.map((s) => labelIn(s, PROJECT)).sort());
  });

  it('selects a subject by label and reads its demographics', () => {
    const subject = sharedSubject();
    expect(seen('subject')).toEqual({
      exists: true,
      id: subject.id,
      label: subject.label,
      gender: subject.demographics.gender,
    });
    const sessions = [...archive.experiments.values()].filter(
      (e) => e.subjectId === subject.id && inProject(e, PROJECT),
    );
    expect(seen('experiment_labels')).toEqual(sessions.map((e) => labelIn(e, PROJECT)).sort());
  });

  it('selects an experiment and reads its attributes and scans', () => {
    const session = firstSession(sharedSubject());
    expect(seen('experiment')).toEqual({
      exists: true,
      id: session.id,
      label: session.label,
      datatype: session.xsiType,
      date: session.date,
      field_strength: session.attributes.fieldStrength,
    });
    expect(seen('scan_ids')).toEqual(session.scans.map((s) => s.id).sort());
    const scan = richestScan(session);
    expect(seen('scan')).toEqual({
      exists: true,
      type: scan.type,
      quality: scan.quality,
      series_description: scan.seriesDescription,
    });
  });

  it('lists resources and files, and downloads files with the catalogued size and digest', () => {
    const scan = richestScan(firstSession(sharedSubject()));
    expect(seen('resources')).toEqual(scan.resources.map((r) => r.label).sort());
    const dicom = scan.resources.find((r) => r.label === 'DICOM');
    const files = dicom?.files ?? [];
    expect(files.length).toBeGreaterThan(0);
    expect(seen('files')).toEqual(files.map((f) => f.path).sort());
    expect(seen('file_attributes')).toEqual(
      Object.fromEntries(
        files.map((f) => [f.path, { size: String(f.size), format: f.format, content: f.content }]),
      ),
    );
    expect(seen('downloads')).toEqual(
      Object.fromEntries(files.map((f) => [f.path, { size: f.size, md5: f.digest }])),
    );
  });

  it('searches MR sessions with select(...).where(...)', () => {
    const result = seen('search') as { rows: Array<Record<string, string>> };
    const expected = [...archive.experiments.values()].filter(
      (e) =>
        e.xsiType === 'xnat:mrSessionData' &&
        e.project === PROJECT &&
        e.date >= DATE_FROM &&
        canReadItem(archive, e, user()),
    );
    expect(expected.length).toBeGreaterThan(0);
    const byId = (a: { session_id?: string }, b: { session_id?: string }) =>
      (a.session_id ?? '').localeCompare(b.session_id ?? '');
    expect([...result.rows].sort(byId)).toEqual(
      expected
        .map((e) => ({
          session_id: e.id,
          label: e.label,
          date: e.date,
          xnat_subjectdata_subject_label: archive.subjects.get(e.subjectId)?.label,
        }))
        .sort(byId),
    );
  });

  it('lists experiments with array.experiments(project_id=..., columns=[...])', () => {
    const result = seen('array') as { rows: Array<Record<string, string>> };
    const expected = [...archive.experiments.values()].filter(
      (e) => e.xsiType === 'xnat:mrSessionData' && e.project === PROJECT,
    );
    const rows = [...result.rows].sort((a, b) => (a.ID ?? '').localeCompare(b.ID ?? ''));
    expect(rows.map((r) => r.ID)).toEqual(expected.map((e) => e.id).sort());
    for (const row of rows) {
      const experiment = archive.experiments.get(row.ID ?? '');
      expect(row.project).toBe(PROJECT);
      expect(row['xnat:mrsessiondata/label']).toBe(experiment?.label);
      expect(row['xnat:mrsessiondata/date']).toBe(experiment?.date);
      expect(row['xnat:mrsessiondata/subject_id']).toBe(experiment?.subjectId);
    }
  });

  it('discovers the searchable data types with inspect.datatypes()', () => {
    const types = seen('datatypes') as string[];
    expect(types).toEqual(
      searchElementRows(archive, user())
        .map((r) => r.ELEMENT_NAME)
        .sort(),
    );
    expect(types).toEqual(
      expect.arrayContaining([
        'xnat:projectData',
        'xnat:subjectData',
        'xnat:mrSessionData',
        'xnat:petSessionData',
      ]),
    );
  });

  it('runs select(type).all(), where(), inspect.field_values() and lists type fields', () => {
    const readableMr = [...archive.experiments.values()].filter(
      (e) => e.xsiType === 'xnat:mrSessionData' && canReadItem(archive, e, user()),
    );
    expect(seen('select_all')).toBe(readableMr.length);
    expect(seen('select_where')).toBe(readableMr.filter((e) => e.project === PROJECT).length);
    expect(seen('field_values')).toEqual([...new Set(readableMr.map((e) => e.project))].sort());
    // The searchable fields of mrSessionData_display.xml (LABEL is not one of them).
    const fields = seen('mr_fields') as string[];
    expect(fields).toEqual(
      expect.arrayContaining(['xnat:mrSessionData/SESSION_ID', 'xnat:mrSessionData/MR_SCAN_COUNT_AGG']),
    );
    expect(fields).not.toContain('xnat:mrSessionData/LABEL');
  });

  it("reads a project's aliases (the listing answers ID with alias)", () => {
    expect(seen('aliases')).toEqual(archive.projects.get(PROJECT)?.aliases);
  });

  it('lists the saved searches the user may use and runs one by name', () => {
    const usable = [...savedSearchesOf(archive).values()].filter((search) =>
      canUseSearch(search, role.login),
    );
    expect(seen('saved_searches')).toEqual(usable.map((search) => search.briefDescription).sort());
    const results =
      role.savedSearch === 'Female subjects'
        ? [...archive.subjects.values()].filter(
            (s) => s.demographics.gender === 'female' && canReadItem(archive, s, user()),
          )
        : [...archive.experiments.values()].filter(
            (e) =>
              e.xsiType === 'xnat:mrSessionData' && e.project === PROJECT && canReadItem(archive, e, user()),
          );
    expect(results.length).toBeGreaterThan(0);
    expect(seen('saved_search_results')).toBe(results.length);
  });

  it('finds objects whose labels have spaces and non-ASCII characters', () => {
    const subject = [...archive.subjects.values()].find((s) => s.label === DEMO_UNICODE_SUBJECT_LABEL);
    const experiment = [...archive.experiments.values()].find(
      (e) => e.label === DEMO_UNICODE_EXPERIMENT_LABEL,
    );
    expect(seen('unicode')).toEqual({ subject: subject?.id, experiment: experiment?.id });
  });

  it('finds a shared subject under its label in the project it is shared into', () => {
    const subject = sharedSubject();
    const experiments = [...archive.experiments.values()].filter(
      (e) => e.subjectId === subject.id && inProject(e, SHARED_PROJECT),
    );
    expect(experiments.some((e) => e.project !== SHARED_PROJECT)).toBe(true);
    expect(seen('shared_subject')).toEqual({
      exists: true,
      id: subject.id,
      label: labelIn(subject, SHARED_PROJECT),
      experiment_ids: experiments.map((e) => e.id).sort(),
      experiment_labels: experiments.map((e) => labelIn(e, SHARED_PROJECT)).sort(),
    });
  });
});
