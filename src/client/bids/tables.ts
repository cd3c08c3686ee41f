/**
 * The dataset-level files of an export: `dataset_description.json`, `README`, `participants.tsv`
 * (+ `.json`) from subject demographics and custom variables, and each subject's `sessions.tsv`.
 * Birth dates never leave XNAT: ages are given instead (in years, at the session when it is known).
 */
import type { ExperimentDetail, ProjectDetail, SubjectDetail } from '../models.js';
import type { BidsPlan } from './plan.js';

export const BIDS_VERSION = '1.8.0';

export interface DatasetFile {
  /** Relative to the dataset root, `/`-separated. */
  path: string;
  bytes: Buffer;
}

const json = (path: string, value: unknown): DatasetFile => ({
  path,
  bytes: Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8'),
});

/** A TSV cell: `n/a` for nothing, no tabs or line breaks. */
const cell = (value: string | undefined): string => {
  const text = (value ?? '').replace(/[\t\r\n]+/g, ' ').trim();
  return text === '' ? 'n/a' : text;
};

function tsv(path: string, columns: string[], rows: Array<Record<string, string | undefined>>): DatasetFile {
  const lines = [columns.join('\t'), ...rows.map((r) => columns.map((c) => cell(r[c])).join('\t'))];
  return { path, bytes: Buffer.from(`${lines.join('\n')}\n`, 'utf8') };
}

const SEX: Record<string, string> = { male: 'M', female: 'F', other: 'O', m: 'M', f: 'F', o: 'O' };
const HAND: Record<string, string> = { right: 'R', left: 'L', ambidextrous: 'A', r: 'R', l: 'L', a: 'A' };

/** Demographics that identify or are shown otherwise (sex, handedness, age) stay out of the extra columns. */
const NOT_COPIED = new Set(['dob', 'yob', 'gender', 'handedness', 'age', 'ID', 'id']);

/** Whole years between a birth date (or year) and a session date; undefined when either is unknown. */
export function ageAt(demographics: Record<string, string>, date: string): number | undefined {
  const on = /^(\d{4})-(\d{2})-(\d{2})/.exec(date);
  if (!on) return undefined;
  const dob = /^(\d{4})-(\d{2})-(\d{2})/.exec(demographics.dob ?? '');
  if (dob) {
    const years = Number(on[1]) - Number(dob[1]);
    const before = `${on[2]}${on[3]}` < `${dob[2]}${dob[3]}`;
    return years - (before ? 1 : 0);
  }
  const yob = Number.parseInt(demographics.yob ?? '', 10);
  return Number.isFinite(yob) ? Number(on[1]) - yob : undefined;
}

export interface DatasetInput {
  plan: BidsPlan;
  project: ProjectDetail;
  /** Site URL of XNAT (no credentials), for the dataset's source. */
  siteUrl: string;
  name?: string;
  subjects: Map<string, SubjectDetail>;
  sessions: Map<string, ExperimentDetail>;
  generatedBy: { name: string; version: string };
}

export function datasetFiles(input: DatasetInput): DatasetFile[] {
  const { plan, project } = input;
  const exported = new Set(plan.scans.filter((s) => s.source).map((s) => s.experiment));
  const sessions = plan.sessions.filter((s) => exported.has(s.experiment));
  const subjectsWithData = new Set(sessions.map((s) => s.subject));
  const subjects = plan.subjects.filter((s) => subjectsWithData.has(s.label));
  const pi = [project.piFirstname, project.piLastname].filter((n) => n.trim() !== '').join(' ');
  const files: DatasetFile[] = [
    json('dataset_description.json', {
      Name: input.name ?? (project.name || project.id),
      BIDSVersion: BIDS_VERSION,
      DatasetType: 'raw',
      ...(pi ? { Authors: [pi] } : {}),
      GeneratedBy: [{ Name: input.generatedBy.name, Version: input.generatedBy.version }],
      SourceDatasets: [{ URL: `${input.siteUrl}/data/projects/${encodeURIComponent(project.id)}` }],
    }),
    {
      path: 'README',
      bytes: Buffer.from(
        `${project.name || project.id}\n\nExported from XNAT project ${project.id}.\n${project.description ? `\n${project.description}\n` : ''}`,
        'utf8',
      ),
    },
  ];
  files.push(...participants(subjects, input));
  for (const subject of subjects) {
    const own = sessions.filter((s) => s.subject === subject.label);
    const detail = input.subjects.get(subject.id);
    const fieldNames = [
      ...new Set(own.flatMap((s) => Object.keys(input.sessions.get(s.experiment)?.fields ?? {}))),
    ];
    const rows = own.map((s) => {
      const session = input.sessions.get(s.experiment);
      const time = session?.time && /^\d{2}:\d{2}(:\d{2})?$/.test(session.time) ? session.time : undefined;
      const age = detail ? ageAt(detail.demographics, s.date) : undefined;
      return {
        session_id: `ses-${s.bids}`,
        acq_time: s.date && time ? `${s.date}T${time.length === 5 ? `${time}:00` : time}` : undefined,
        age: age === undefined ? undefined : String(age),
        xnat_session: s.label,
        ...Object.fromEntries(fieldNames.map((f) => [f, session?.fields[f]])),
      };
    });
    const columns = ['session_id', 'acq_time', 'age', 'xnat_session', ...fieldNames];
    const stem = `sub-${subject.bids}/sub-${subject.bids}_sessions`;
    files.push(tsv(`${stem}.tsv`, columns, rows), json(`${stem}.json`, sessionsDictionary(fieldNames)));
  }
  return files;
}

function sessionsDictionary(fields: string[]): Record<string, unknown> {
  const dictionary: Record<string, unknown> = {
    acq_time: { Description: 'Date and time the XNAT session started' },
    age: { Description: 'Age in years at the session (from XNAT demographics)', Units: 'year' },
    xnat_session: { Description: 'Label of the session in XNAT' },
  };
  for (const f of fields) dictionary[f] = { Description: `XNAT custom variable ${f} of the session` };
  return dictionary;
}

function participants(subjects: BidsPlan['subjects'], input: DatasetInput): DatasetFile[] {
  const details = subjects.map((s) => ({ bids: s.bids, detail: input.subjects.get(s.id) }));
  const extra = [
    ...new Set(
      details.flatMap((d) => Object.keys(d.detail?.demographics ?? {}).filter((k) => !NOT_COPIED.has(k))),
    ),
  ];
  const base = ['participant_id', 'sex', 'age', 'handedness', 'group', ...extra];
  const custom = [...new Set(details.flatMap((d) => Object.keys(d.detail?.fields ?? {})))].filter(
    (f) => !base.includes(f),
  );
  const firstDate = (id: string) =>
    input.plan.sessions
      .filter((s) => input.subjects.get(id)?.label === s.subject && s.date !== '')
      .map((s) => s.date)
      .sort()[0];
  const rows = subjects.map((s) => {
    const d = input.subjects.get(s.id);
    const demo = d?.demographics ?? {};
    const date = firstDate(s.id);
    const age = demo.age ?? (date ? ageAt(demo, date)?.toString() : undefined);
    return {
      participant_id: `sub-${s.bids}`,
      sex: SEX[(demo.gender ?? '').toLowerCase()],
      age,
      handedness: HAND[(demo.handedness ?? '').toLowerCase()],
      group: d?.group ?? d?.fields.group,
      ...Object.fromEntries(extra.map((k) => [k, demo[k]])),
      ...Object.fromEntries(custom.map((k) => [k, d?.fields[k]])),
    };
  });
  const columns = [...base, ...custom];
  const describe: Record<string, unknown> = {
    participant_id: { Description: 'BIDS label of the XNAT subject' },
    sex: { Description: 'Sex recorded in XNAT (gender)', Levels: { M: 'male', F: 'female', O: 'other' } },
    age: {
      Description: 'Age in years at the first exported session (from XNAT demographics)',
      Units: 'year',
    },
    handedness: { Description: 'Handedness', Levels: { R: 'right', L: 'left', A: 'ambidextrous' } },
    group: { Description: 'XNAT subject group' },
  };
  for (const k of extra) describe[k] = { Description: `XNAT demographics: ${k}` };
  for (const k of custom) describe[k] = { Description: `XNAT custom variable ${k} of the subject` };
  return [tsv('participants.tsv', columns, rows), json('participants.json', describe)];
}
