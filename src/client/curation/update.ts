/**
 * Field updates and renames of projects, subjects, experiments and scans: the values are read before
 * and after the write, and a change XNAT silently ignored is reported as an error.
 */
import { XnatBadRequestError, XnatNotFoundError } from '../errors.js';
import { xnatPath, type QueryValue } from '../http.js';
import type { ExperimentDetail, ProjectDetail, Scan, SubjectDetail } from '../models.js';
import {
  DEMOGRAPHICS,
  checkFieldNames,
  checkLabel,
  customFieldParams,
  experimentPath,
  fieldValue,
  findScan,
  requireExperiment,
  requireOwningContext,
  requireSubject,
  subjectPath,
  write,
  type CurationContext,
  type ObjectRef,
} from './common.js';
import { UPDATABLE_FIELDS, type UpdatableKind } from '../vocabulary.js';

export { UPDATABLE_FIELDS, type UpdatableKind } from '../vocabulary.js';

export interface FieldChanges {
  /** New label (rename) of a subject or experiment. */
  label?: string | undefined;
  /** Standard fields by their XNAT short name (see UPDATABLE_FIELDS). */
  standard?: Record<string, string> | undefined;
  /** Custom variables (projects, subjects, experiments). */
  fields?: Record<string, string> | undefined;
}

export interface FieldChange {
  field: string;
  old: string;
  new: string;
}

const SUBJECT_DEMOGRAPHIC_FIELDS = new Set(
  UPDATABLE_FIELDS.subject.filter((f) => f !== 'group' && f !== 'src'),
);

/** Current values of the updatable standard fields and custom variables of an object. */
interface Snapshot {
  standard: Record<string, string>;
  fields: Record<string, string>;
  label: string;
}

function projectSnapshot(p: ProjectDetail): Snapshot {
  return {
    label: p.id,
    fields: p.fields,
    standard: {
      name: p.name,
      secondary_ID: p.secondaryId,
      description: p.description,
      keywords: p.keywords,
      pi_firstname: p.piFirstname,
      pi_lastname: p.piLastname,
    },
  };
}

function subjectSnapshot(s: SubjectDetail): Snapshot {
  const standard: Record<string, string> = { group: s.group ?? '' };
  for (const name of SUBJECT_DEMOGRAPHIC_FIELDS) standard[name] = s.demographics[name] ?? '';
  return { label: s.label, fields: s.fields, standard };
}

function experimentSnapshot(e: ExperimentDetail): Snapshot {
  const standard: Record<string, string> = {};
  for (const name of UPDATABLE_FIELDS.experiment) standard[name] = e.attributes[name] ?? '';
  Object.assign(standard, {
    date: e.date,
    time: e.time,
    visit_id: e.visitId,
    note: e.note,
    modality: e.modality,
  });
  return { label: e.label, fields: e.fields, standard };
}

function scanSnapshot(s: Scan): Snapshot {
  return {
    label: s.id,
    fields: {},
    standard: {
      type: s.type,
      series_description: s.seriesDescription,
      quality: s.quality,
      note: s.note,
      modality: s.modality ?? '',
      frames: s.frames === undefined ? '' : String(s.frames),
    },
  };
}

interface UpdateTarget {
  path: string[];
  xsiType: string;
  read(): Promise<Snapshot>;
  /** Subjects and experiments have labels; projects and scans are named by fixed IDs. */
  renamable: boolean;
}

async function updateTarget(
  ctx: CurationContext,
  ref: ObjectRef & { kind: UpdatableKind },
  signal: AbortSignal | undefined,
): Promise<UpdateTarget> {
  const opts = signal ? { signal } : {};
  switch (ref.kind) {
    case 'project': {
      if (!ref.project) throw new XnatBadRequestError('Name the project to update');
      const project = ref.project;
      return {
        path: ['data', 'projects', project],
        xsiType: 'xnat:projectData',
        renamable: false,
        read: async () => projectSnapshot(await ctx.getProject(project, opts)),
      };
    }
    case 'subject': {
      if (!ref.subject)
        throw new XnatBadRequestError('Name the subject to update (ID, or label with project)');
      const subject = await requireSubject(ctx, ref.subject, ref.project, signal);
      requireOwningContext(
        `Subject ${subject.label} (${subject.id})`,
        subject.owningProject,
        subject.project,
        'update',
      );
      return {
        path: subjectPath(subject),
        xsiType: 'xnat:subjectData',
        renamable: true,
        read: async () =>
          subjectSnapshot(await requireSubject(ctx, subject.id, subject.owningProject, signal)),
      };
    }
    case 'experiment': {
      if (!ref.experiment)
        throw new XnatBadRequestError('Name the experiment to update (ID, or label with project)');
      const experiment = await requireExperiment(ctx, ref.experiment, ref.project, signal);
      requireOwningContext(
        `Experiment ${experiment.label} (${experiment.id})`,
        experiment.owningProject,
        experiment.project,
        'update',
      );
      return {
        path: experimentPath(experiment),
        xsiType: experiment.xsiType,
        renamable: true,
        read: async () =>
          experimentSnapshot(await requireExperiment(ctx, experiment.id, experiment.owningProject, signal)),
      };
    }
    case 'scan': {
      if (!ref.experiment || !ref.scan)
        throw new XnatBadRequestError('Name the experiment and the scan ID to update');
      const experiment = await requireExperiment(ctx, ref.experiment, ref.project, signal);
      const scan = findScan(experiment, ref.scan);
      const scanId = scan.id;
      return {
        path: ['data', 'experiments', experiment.id, 'scans', scanId],
        xsiType: scan.xsiType || 'xnat:imageScanData',
        renamable: false,
        read: async () => {
          const scans = await ctx.listScans(experiment.id, opts);
          const current = scans.find((s) => s.id === scanId);
          if (!current)
            throw new XnatNotFoundError(`Scan ${scanId} of ${experiment.id} disappeared while updating it`);
          return scanSnapshot(current);
        },
      };
    }
  }
}

function sameValue(field: string, wanted: string, actual: string): boolean {
  if (wanted === actual) return true;
  // XNAT may normalise numbers (`1.50` → `1.5`) and times (`09:30` → `09:30:00`).
  if (field === 'time') return actual.startsWith(wanted);
  const a = Number(wanted);
  const b = Number(actual);
  return wanted.trim() !== '' && !Number.isNaN(a) && a === b;
}

export async function updateFields(
  ctx: CurationContext,
  ref: ObjectRef & { kind: UpdatableKind },
  changes: FieldChanges,
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<{ changes: FieldChange[] }> {
  const { signal } = opts;
  const standard = changes.standard ?? {};
  const fields = changes.fields ?? {};
  const allowed = UPDATABLE_FIELDS[ref.kind];
  const unknown = Object.keys(standard).filter((name) => !allowed.includes(name));
  if (unknown.length > 0) {
    throw new XnatBadRequestError(
      `Unknown ${ref.kind} field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; updatable ${ref.kind} fields: ${allowed.join(', ')} (custom variables go in fields)`,
    );
  }
  if (Object.keys(fields).length > 0 && ref.kind === 'scan') {
    throw new XnatBadRequestError('Scans have no custom variables; set standard scan fields instead');
  }
  checkFieldNames(fields);
  if (changes.label !== undefined) checkLabel(changes.label, 'New label');
  if (Object.keys(standard).length === 0 && Object.keys(fields).length === 0 && changes.label === undefined) {
    throw new XnatBadRequestError('Nothing to update: give a label, standard fields or custom variables');
  }
  const target = await updateTarget(ctx, ref, signal);
  if (changes.label !== undefined && !target.renamable) {
    throw new XnatBadRequestError(
      `A ${ref.kind} cannot be renamed (only subjects and experiments have labels)`,
    );
  }
  const before = await target.read();
  const params: Record<string, QueryValue> = {};
  for (const [name, value] of Object.entries(standard)) {
    const key =
      ref.kind === 'subject' && SUBJECT_DEMOGRAPHIC_FIELDS.has(name) ? `${DEMOGRAPHICS}/${name}` : name;
    params[key] = value;
  }
  Object.assign(params, customFieldParams(target.xsiType, fields));
  if (Object.keys(params).length > 0) {
    await write(
      ctx,
      'PUT',
      xnatPath(...target.path),
      { xsiType: target.xsiType, req_format: 'qs', ...params },
      signal,
    );
  }
  // XNAT handles a rename alone (`?label=` returns before any other change is applied).
  if (changes.label !== undefined && changes.label !== before.label) {
    await write(ctx, 'PUT', xnatPath(...target.path), { label: changes.label }, signal);
  }
  const after = await target.read();
  const report: FieldChange[] = [];
  const ignored: string[] = [];
  if (changes.label !== undefined) report.push({ field: 'label', old: before.label, new: after.label });
  for (const [name, value] of Object.entries(standard)) {
    const now = after.standard[name] ?? '';
    report.push({ field: name, old: before.standard[name] ?? '', new: now });
    if (!sameValue(name, value, now)) ignored.push(name);
  }
  for (const [name, value] of Object.entries(fields)) {
    const now = fieldValue(after.fields, name);
    report.push({ field: `fields.${name}`, old: fieldValue(before.fields, name), new: now });
    if (now !== value) ignored.push(`fields.${name}`);
  }
  if (changes.label !== undefined && after.label !== changes.label) ignored.push('label');
  if (ignored.length > 0) {
    throw new XnatBadRequestError(
      `XNAT did not apply ${ignored.join(', ')} (values read back: ${report
        .filter((c) => ignored.includes(c.field))
        .map((c) => `${c.field}="${c.new}"`)
        .join(', ')}); check the value formats`,
    );
  }
  return { changes: report };
}
