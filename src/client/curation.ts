/**
 * Curation writes: create subjects and experiments, update fields and labels, share, quarantine and
 * delete. Every write goes through the owning project's URL (XNAT treats a sharing project's URL
 * differently: a DELETE there only unshares), is checked before it is sent (a create never lands
 * on an existing object, since XNAT's PUT would silently update it) and is read back afterwards.
 * XnatClient exposes these as thin methods and hands in the few reads they need.
 */
import { XnatBadRequestError, XnatConflictError, XnatNotFoundError } from './errors.js';
import { xnatPath, type HttpResponse, type QueryValue, type RequestContext } from './http.js';
import type {
  ExperimentDetail,
  ProjectDetail,
  Resource,
  Scan,
  Share,
  SubjectDetail,
  XnatFile,
} from './models.js';
import { parseStatus, parseTable, toFile, toResource } from './rows.js';

export type ObjectKind = 'project' | 'subject' | 'experiment' | 'scan' | 'assessor' | 'resource' | 'file';

/**
 * Names an object. Subjects and experiments: accession ID, or label together with `project`.
 * Scans and assessors need `experiment`; a resource needs its parent (project, subject, experiment,
 * or experiment plus scan/assessor); a file needs its resource and its path inside it.
 */
export interface ObjectRef {
  project?: string | undefined;
  subject?: string | undefined;
  experiment?: string | undefined;
  scan?: string | undefined;
  assessor?: string | undefined;
  resource?: string | undefined;
  file?: string | undefined;
}

export interface ObjectDescription {
  kind: ObjectKind;
  id: string;
  label?: string | undefined;
  /** The owning project (where the object's data lives). */
  project?: string | undefined;
  /** A subject/experiment addressed through a project it is only shared into: that project. */
  sharedVia?: string | undefined;
  /** Quarantine status, for an experiment (read with it anyway); absent for other kinds. */
  status?: 'active' | 'quarantine' | undefined;
  summary: string;
}

export interface Demographics {
  gender?: string | undefined;
  handedness?: string | undefined;
  yob?: number | undefined;
  dob?: string | undefined;
  age?: number | undefined;
}

export interface CreateSubjectRequest {
  project: string;
  label: string;
  group?: string | undefined;
  demographics?: Demographics | undefined;
  fields?: Record<string, string> | undefined;
  /** What to do when the label is taken in the project: return the existing subject, or fail (default). */
  ifExists?: 'return' | 'error' | undefined;
  signal?: AbortSignal | undefined;
}

export interface CreateExperimentRequest {
  project: string;
  /** Accession ID or label in `project`; it must exist (create it with createSubject). */
  subject: string;
  label: string;
  /** E.g. `xnat:mrSessionData`. */
  xsiType: string;
  /** ISO `YYYY-MM-DD`. */
  date?: string | undefined;
  /** `HH:MM[:SS]`. */
  time?: string | undefined;
  visitId?: string | undefined;
  note?: string | undefined;
  fields?: Record<string, string> | undefined;
  ifExists?: 'return' | 'error' | undefined;
  signal?: AbortSignal | undefined;
}

export type UpdatableKind = 'project' | 'subject' | 'experiment' | 'scan';

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

export interface ShareRequest {
  kind: 'subject' | 'experiment';
  id: string;
  project?: string | undefined;
  toProject: string;
  /** Label in the destination project (default: the same label). */
  label?: string | undefined;
  /** Make the destination the owning project. */
  primary?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export interface UnshareRequest {
  kind: 'subject' | 'experiment';
  id: string;
  project?: string | undefined;
  fromProject: string;
  signal?: AbortSignal | undefined;
}

export interface QuarantineRequest {
  experiment: string;
  project?: string | undefined;
  /** An assessor of the experiment (ID or label) instead of the experiment itself. */
  assessor?: string | undefined;
  quarantined: boolean;
  signal?: AbortSignal | undefined;
}

/** Standard fields each kind accepts, by XNAT short name (§2.4 of the reference), read back to verify. */
export const UPDATABLE_FIELDS: Record<UpdatableKind, readonly string[]> = {
  project: ['name', 'secondary_ID', 'description', 'keywords', 'pi_firstname', 'pi_lastname'],
  subject: [
    'group',
    'src',
    'gender',
    'handedness',
    'yob',
    'dob',
    'age',
    'ses',
    'education',
    'race',
    'ethnicity',
    'weight',
    'height',
  ],
  experiment: [
    'date',
    'time',
    'visit_id',
    'note',
    'scanner',
    'operator',
    'session_type',
    'modality',
    'fieldStrength',
    'coil',
    'marker',
    'stabilization',
    'dcmAccessionNumber',
    'dcmPatientId',
    'dcmPatientName',
  ],
  scan: ['type', 'series_description', 'quality', 'note', 'modality', 'frames'],
};

/** XNAT refuses other characters in IDs and labels (417 "Invalid character ..."). */
const LABEL = /^[A-Za-z0-9_-]+$/;
const XSI_TYPE = /^[A-Za-z][A-Za-z0-9_]*:[A-Za-z][A-Za-z0-9_]*$/;
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{2}:\d{2}(:\d{2})?$/;
const DEMOGRAPHICS = 'xnat:subjectData/demographics[@xsi:type=xnat:demographicData]';
const SUBJECT_DEMOGRAPHIC_FIELDS = new Set(
  UPDATABLE_FIELDS.subject.filter((f) => f !== 'group' && f !== 'src'),
);
/** Sent with every write: sites that require a justification for changes refuse writes without one. */
const EVENT_REASON = 'xnat-mcp';

interface ReadOptions {
  project?: string;
  signal?: AbortSignal;
}

/** The reads curation checks before and after each write (XnatClient's own). */
export interface CurationReads {
  getProject(project: string, opts: { signal?: AbortSignal }): Promise<ProjectDetail>;
  getSubject(subject: string, opts: ReadOptions): Promise<SubjectDetail>;
  getExperiment(experiment: string, opts: ReadOptions): Promise<ExperimentDetail>;
  listScans(experiment: string, opts: ReadOptions): Promise<Scan[]>;
}

/** What curation needs: the authenticated request (writes clear the label → ID memory) and those reads. */
export interface CurationContext extends RequestContext, CurationReads {}

function checkLabel(value: string, what: string): void {
  if (!LABEL.test(value)) {
    throw new XnatBadRequestError(
      `${what} "${value}" is not valid: XNAT allows only letters, digits, '_' and '-'`,
    );
  }
}

function checkFieldNames(fields: Record<string, string> | undefined): void {
  for (const name of Object.keys(fields ?? {})) {
    if (!FIELD_NAME.test(name)) {
      throw new XnatBadRequestError(
        `Custom variable name "${name}" is not valid: use letters, digits and '_', starting with a letter`,
      );
    }
  }
}

function customFieldParams(
  xsiType: string,
  fields: Record<string, string> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(fields ?? {})) {
    out[`${xsiType}/fields/field[name=${name}]/field`] = value;
  }
  return out;
}

/** XNAT stores custom variable names in lower case; compare them that way. */
function fieldValue(fields: Record<string, string>, name: string): string {
  const key = Object.keys(fields).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? '' : (fields[key] ?? '');
}

function isNotFound(err: unknown): boolean {
  return err instanceof XnatNotFoundError;
}

async function write(
  ctx: CurationContext,
  method: 'PUT' | 'DELETE',
  path: string,
  query: Record<string, QueryValue>,
  signal: AbortSignal | undefined,
): Promise<HttpResponse> {
  return ctx.request({
    method,
    path,
    query: { ...query, event_reason: EVENT_REASON },
    expect: 'text',
    signal,
  });
}

/** The object when it exists and is readable; undefined when XNAT answers 404 (both cases look alike). */
async function unlessNotFound<T>(lookup: Promise<T>): Promise<T | undefined> {
  try {
    return await lookup;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function findSubject(
  ctx: CurationContext,
  subject: string,
  project: string | undefined,
  signal: AbortSignal | undefined,
): Promise<SubjectDetail | undefined> {
  return unlessNotFound(requireSubject(ctx, subject, project, signal));
}

function findExperiment(
  ctx: CurationContext,
  experiment: string,
  project: string | undefined,
  signal: AbortSignal | undefined,
): Promise<ExperimentDetail | undefined> {
  return unlessNotFound(requireExperiment(ctx, experiment, project, signal));
}

async function requireSubject(
  ctx: CurationContext,
  subject: string,
  project: string | undefined,
  signal: AbortSignal | undefined,
): Promise<SubjectDetail> {
  return ctx.getSubject(subject, { ...(project ? { project } : {}), ...(signal ? { signal } : {}) });
}

async function requireExperiment(
  ctx: CurationContext,
  experiment: string,
  project: string | undefined,
  signal: AbortSignal | undefined,
): Promise<ExperimentDetail> {
  return ctx.getExperiment(experiment, {
    ...(project ? { project } : {}),
    ...(signal ? { signal } : {}),
  });
}

function subjectPath(subject: SubjectDetail): string[] {
  return ['data', 'projects', subject.owningProject, 'subjects', subject.id];
}

function experimentPath(experiment: ExperimentDetail): string[] {
  return [
    'data',
    'projects',
    experiment.owningProject,
    'subjects',
    experiment.subjectId,
    'experiments',
    experiment.id,
  ];
}

function findAssessor(experiment: ExperimentDetail, assessor: string): ExperimentDetail['assessors'][number] {
  const found = experiment.assessors.find((a) => a.id === assessor || a.label === assessor);
  if (!found) {
    throw new XnatNotFoundError(
      `Assessor "${assessor}" was not found in experiment ${experiment.label} (${experiment.id}), or you cannot read it`,
    );
  }
  return found;
}

function findScan(experiment: ExperimentDetail, scan: string): Scan {
  const found = experiment.scans.find((s) => s.id === scan);
  if (!found) {
    throw new XnatNotFoundError(
      `Scan "${scan}" was not found in experiment ${experiment.label} (${experiment.id}); scans are named by their ID (e.g. "1", "3")`,
    );
  }
  return found;
}

/**
 * A write addressed through a sharing project would act on the share only: say so instead.
 * `project` is the canonical project the object was addressed through (an alias is resolved).
 */
function requireOwningContext(what: string, owningProject: string, project: string, action: string): void {
  if (project !== owningProject) {
    throw new XnatBadRequestError(
      `${what} belongs to project ${owningProject} and is only shared into ${project}; to ${action} it, name project ${owningProject} (to remove it from ${project} only, unshare it)`,
    );
  }
}

export async function createSubject(
  ctx: CurationContext,
  q: CreateSubjectRequest,
): Promise<{ created: boolean; subject: SubjectDetail }> {
  checkLabel(q.project, 'Project ID');
  checkLabel(q.label, 'Subject label');
  checkFieldNames(q.fields);
  const existing = await findSubject(ctx, q.label, q.project, q.signal);
  if (existing) {
    if (q.ifExists === 'return') return { created: false, subject: existing };
    throw new XnatConflictError(
      `Subject "${q.label}" already exists in project ${q.project} (${existing.id}); nothing was changed (pass ifExists "return" to use it)`,
    );
  }
  const demographics: Record<string, QueryValue> = {};
  for (const [name, value] of Object.entries(q.demographics ?? {})) {
    if (value !== undefined) demographics[`${DEMOGRAPHICS}/${name}`] = value;
  }
  const res = await write(
    ctx,
    'PUT',
    xnatPath('data', 'projects', q.project, 'subjects', q.label),
    {
      xsiType: 'xnat:subjectData',
      req_format: 'qs',
      ...(q.group !== undefined ? { 'xnat:subjectData/group': q.group } : {}),
      ...demographics,
      ...customFieldParams('xnat:subjectData', q.fields),
    },
    q.signal,
  );
  const id = res.body.trim() || q.label;
  const subject = await requireSubject(ctx, id, q.project, q.signal);
  // 200 instead of 201: someone created the label between our check and the PUT.
  return { created: res.status === 201, subject };
}

export async function createExperiment(
  ctx: CurationContext,
  q: CreateExperimentRequest,
): Promise<{ created: boolean; experiment: ExperimentDetail }> {
  checkLabel(q.project, 'Project ID');
  checkLabel(q.label, 'Experiment label');
  checkFieldNames(q.fields);
  if (!XSI_TYPE.test(q.xsiType)) {
    throw new XnatBadRequestError(
      `xsiType "${q.xsiType}" is not a data type name such as xnat:mrSessionData`,
    );
  }
  if (q.date !== undefined && (!ISO_DATE.test(q.date) || Number.isNaN(Date.parse(q.date)))) {
    throw new XnatBadRequestError(`date must be an ISO date YYYY-MM-DD (got "${q.date}")`);
  }
  if (q.time !== undefined && !TIME.test(q.time)) {
    throw new XnatBadRequestError(`time must be HH:MM or HH:MM:SS (got "${q.time}")`);
  }
  const existing = await findExperiment(ctx, q.label, q.project, q.signal);
  if (existing) {
    if (q.ifExists === 'return') return { created: false, experiment: existing };
    throw new XnatConflictError(
      `Experiment "${q.label}" already exists in project ${q.project} (${existing.id}, subject ${existing.subjectLabel || existing.subjectId}); nothing was changed (pass ifExists "return" to use it)`,
    );
  }
  // XNAT would create a missing subject on the fly; a typo must not make a new subject.
  const subject = await findSubject(ctx, q.subject, q.project, q.signal);
  if (!subject) {
    throw new XnatNotFoundError(
      `Subject "${q.subject}" was not found in project ${q.project}; create it first with createSubject`,
    );
  }
  const t = q.xsiType;
  const res = await write(
    ctx,
    'PUT',
    xnatPath('data', 'projects', q.project, 'subjects', subject.id, 'experiments', q.label),
    {
      xsiType: t,
      req_format: 'qs',
      ...(q.date !== undefined ? { [`${t}/date`]: q.date } : {}),
      ...(q.time !== undefined ? { [`${t}/time`]: q.time } : {}),
      ...(q.visitId !== undefined ? { [`${t}/visit_id`]: q.visitId } : {}),
      ...(q.note !== undefined ? { [`${t}/note`]: q.note } : {}),
      ...customFieldParams(t, q.fields),
    },
    q.signal,
  );
  const id = res.body.trim() || q.label;
  const experiment = await requireExperiment(ctx, id, q.project, q.signal);
  return { created: res.status === 201, experiment };
}

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

async function shareTarget(
  ctx: CurationContext,
  kind: 'subject' | 'experiment',
  id: string,
  project: string | undefined,
  signal: AbortSignal | undefined,
): Promise<{
  path: string[];
  read: () => Promise<{ owningProject: string; shares: Share[] }>;
  label: string;
}> {
  if (kind === 'subject') {
    const subject = await requireSubject(ctx, id, project, signal);
    return {
      path: subjectPath(subject),
      label: subject.label,
      read: async () => {
        const now = await requireSubject(ctx, subject.id, undefined, signal);
        return { owningProject: now.owningProject, shares: now.shares };
      },
    };
  }
  const experiment = await requireExperiment(ctx, id, project, signal);
  return {
    path: experimentPath(experiment),
    label: experiment.label,
    read: async () => {
      const now = await requireExperiment(ctx, experiment.id, undefined, signal);
      return { owningProject: now.owningProject, shares: now.shares };
    },
  };
}

export async function share(
  ctx: CurationContext,
  q: ShareRequest,
): Promise<{ owningProject: string; shares: Share[] }> {
  checkLabel(q.toProject, 'Destination project ID');
  if (q.label !== undefined) checkLabel(q.label, 'Label in the destination project');
  const target = await shareTarget(ctx, q.kind, q.id, q.project, q.signal);
  await write(
    ctx,
    'PUT',
    xnatPath(...target.path, 'projects', q.toProject),
    {
      ...(q.label !== undefined ? { label: q.label } : {}),
      ...(q.primary ? { primary: 'true' } : {}),
      format: 'json',
    },
    q.signal,
  );
  return target.read();
}

export async function unshare(
  ctx: CurationContext,
  q: UnshareRequest,
): Promise<{ owningProject: string; shares: Share[] }> {
  const target = await shareTarget(ctx, q.kind, q.id, q.project, q.signal);
  const before = await target.read();
  if (before.owningProject === q.fromProject) {
    throw new XnatBadRequestError(
      `${q.kind} ${target.label} is owned by ${q.fromProject}, not shared into it; to remove it there, delete it`,
    );
  }
  if (!before.shares.some((s) => s.project === q.fromProject)) {
    throw new XnatNotFoundError(`${q.kind} ${target.label} is not shared into project ${q.fromProject}`);
  }
  await write(ctx, 'DELETE', xnatPath(...target.path, 'projects', q.fromProject), {}, q.signal);
  return target.read();
}

async function quarantinePath(
  ctx: CurationContext,
  q: {
    experiment: string;
    project?: string | undefined;
    assessor?: string | undefined;
    signal?: AbortSignal | undefined;
  },
): Promise<string[]> {
  const experiment = await requireExperiment(ctx, q.experiment, q.project, q.signal);
  const path = experimentPath(experiment);
  return q.assessor === undefined ? path : [...path, 'assessors', findAssessor(experiment, q.assessor).id];
}

async function readStatus(
  ctx: CurationContext,
  path: string[],
  signal: AbortSignal | undefined,
): Promise<'active' | 'quarantine'> {
  const statusPath = xnatPath(...path, 'status');
  const res = await ctx.request({ method: 'GET', path: statusPath, expect: 'text', signal });
  return parseStatus(res.body, { method: 'GET', path: statusPath });
}

/** The quarantine status of an experiment or one of its assessors. */
export async function getQuarantineStatus(
  ctx: CurationContext,
  q: {
    experiment: string;
    project?: string | undefined;
    assessor?: string | undefined;
    signal?: AbortSignal | undefined;
  },
): Promise<'active' | 'quarantine'> {
  return readStatus(ctx, await quarantinePath(ctx, q), q.signal);
}

export async function setQuarantine(
  ctx: CurationContext,
  q: QuarantineRequest,
): Promise<{ status: 'active' | 'quarantine' }> {
  const path = await quarantinePath(ctx, q);
  await write(
    ctx,
    'PUT',
    xnatPath(...path),
    q.quarantined ? { quarantine: 'true' } : { activate: 'true' },
    q.signal,
  );
  return { status: await readStatus(ctx, path, q.signal) };
}

/** Path segments of the object a resource hangs off, and a description of it. */
async function resourceParent(
  ctx: CurationContext,
  ref: ObjectRef,
  signal: AbortSignal | undefined,
): Promise<{ path: string[]; what: string; project: string | undefined }> {
  if (ref.experiment !== undefined) {
    const experiment = await requireExperiment(ctx, ref.experiment, ref.project, signal);
    const base = ['data', 'experiments', experiment.id];
    const where = `experiment ${experiment.label} (${experiment.id})`;
    if (ref.scan !== undefined && ref.assessor !== undefined) {
      throw new XnatBadRequestError('Give either a scan or an assessor, not both');
    }
    if (ref.scan !== undefined) {
      const scan = findScan(experiment, ref.scan);
      return {
        path: [...base, 'scans', scan.id],
        what: `scan ${scan.id} of ${where}`,
        project: experiment.owningProject,
      };
    }
    if (ref.assessor !== undefined) {
      const assessor = findAssessor(experiment, ref.assessor);
      return {
        path: [...base, 'assessors', assessor.id],
        what: `assessor ${assessor.label} of ${where}`,
        project: experiment.owningProject,
      };
    }
    return { path: base, what: where, project: experiment.owningProject };
  }
  if (ref.subject !== undefined) {
    const subject = await requireSubject(ctx, ref.subject, ref.project, signal);
    return {
      path: subjectPath(subject),
      what: `subject ${subject.label} (${subject.id})`,
      project: subject.owningProject,
    };
  }
  if (ref.project !== undefined) {
    return { path: ['data', 'projects', ref.project], what: `project ${ref.project}`, project: ref.project };
  }
  throw new XnatBadRequestError(
    'Name the parent of the resource: a project, subject or experiment (plus scan or assessor)',
  );
}

async function findResource(
  ctx: CurationContext,
  parent: string[],
  resource: string,
  signal: AbortSignal | undefined,
): Promise<Resource | undefined> {
  const path = xnatPath(...parent, 'resources');
  const res = await ctx.request({ method: 'GET', path, query: { format: 'json' }, expect: 'json', signal });
  return parseTable(res.body, { method: 'GET', path })
    .rows.map(toResource)
    .find((r) => r.label === resource || r.id === resource);
}

async function findFile(
  ctx: CurationContext,
  parent: string[],
  resource: string,
  file: string,
  signal: AbortSignal | undefined,
): Promise<XnatFile | undefined> {
  const path = xnatPath(...parent, 'resources', resource, 'files');
  const res = await ctx.request({ method: 'GET', path, query: { format: 'json' }, expect: 'json', signal });
  return parseTable(res.body, { method: 'GET', path })
    .rows.map(toFile)
    .find((f) => f.path === file || (f.path === '' && f.name === file));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export async function describeObject(
  ctx: CurationContext,
  ref: ObjectRef & { kind: ObjectKind },
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<ObjectDescription> {
  const { signal } = opts;
  switch (ref.kind) {
    case 'project': {
      if (!ref.project) throw new XnatBadRequestError('Name the project');
      const p = await ctx.getProject(ref.project, signal ? { signal } : {});
      return {
        kind: 'project',
        id: p.id,
        label: p.name,
        project: p.id,
        summary: `project ${p.id} (${p.name}): ${plural(p.subjectCount, 'subject')}, ${plural(p.experimentCount, 'experiment')}`,
      };
    }
    case 'subject': {
      if (!ref.subject) throw new XnatBadRequestError('Name the subject (ID, or label with project)');
      const s = await requireSubject(ctx, ref.subject, ref.project, signal);
      const shared = s.shares.length > 0 ? `, shared into ${s.shares.map((x) => x.project).join(', ')}` : '';
      return {
        kind: 'subject',
        id: s.id,
        label: s.label,
        project: s.owningProject,
        ...(s.project !== s.owningProject ? { sharedVia: s.project } : {}),
        summary: `subject ${s.label} (${s.id}) of project ${s.owningProject}: ${plural(s.experiments.length, 'experiment')}${shared}`,
      };
    }
    case 'experiment': {
      if (!ref.experiment) throw new XnatBadRequestError('Name the experiment (ID, or label with project)');
      const e = await requireExperiment(ctx, ref.experiment, ref.project, signal);
      const files = e.resources.reduce((n, r) => n + r.fileCount, 0);
      return {
        kind: 'experiment',
        id: e.id,
        label: e.label,
        project: e.owningProject,
        ...(e.project !== e.owningProject ? { sharedVia: e.project } : {}),
        status: e.status,
        summary: `experiment ${e.label} (${e.id}, ${e.xsiType}${e.date ? `, ${e.date}` : ''}) of subject ${e.subjectLabel || e.subjectId} in project ${e.owningProject}: ${plural(e.scans.length, 'scan')}, ${plural(e.assessors.length, 'assessor')}, ${plural(files, 'file')}, status ${e.status}`,
      };
    }
    case 'scan': {
      if (!ref.experiment || !ref.scan) throw new XnatBadRequestError('Name the experiment and the scan ID');
      const e = await requireExperiment(ctx, ref.experiment, ref.project, signal);
      const scan = findScan(e, ref.scan);
      return {
        kind: 'scan',
        id: scan.id,
        label: scan.seriesDescription || scan.type,
        project: e.owningProject,
        summary: `scan ${scan.id} (${scan.type || 'no type'}${scan.seriesDescription ? `, ${scan.seriesDescription}` : ''}) of experiment ${e.label} (${e.id}) in project ${e.owningProject}: ${plural(scan.fileCount ?? 0, 'file')}`,
      };
    }
    case 'assessor': {
      if (!ref.experiment || !ref.assessor)
        throw new XnatBadRequestError('Name the experiment and the assessor');
      const e = await requireExperiment(ctx, ref.experiment, ref.project, signal);
      const a = findAssessor(e, ref.assessor);
      return {
        kind: 'assessor',
        id: a.id,
        label: a.label,
        project: e.owningProject,
        summary: `assessor ${a.label} (${a.id}, ${a.xsiType}) of experiment ${e.label} (${e.id}) in project ${e.owningProject}`,
      };
    }
    case 'resource': {
      if (!ref.resource) throw new XnatBadRequestError('Name the resource (its label, e.g. DICOM)');
      const parent = await resourceParent(ctx, ref, signal);
      const r = await findResource(ctx, parent.path, ref.resource, signal);
      if (!r) throw new XnatNotFoundError(`Resource "${ref.resource}" was not found on ${parent.what}`);
      return {
        kind: 'resource',
        id: r.id,
        label: r.label,
        project: parent.project,
        summary: `resource ${r.label} of ${parent.what}: ${plural(r.fileCount, 'file')}, ${r.fileSize} bytes`,
      };
    }
    case 'file': {
      if (!ref.resource || !ref.file)
        throw new XnatBadRequestError('Name the resource and the file path in it');
      const parent = await resourceParent(ctx, ref, signal);
      const f = await findFile(ctx, parent.path, ref.resource, ref.file, signal);
      if (!f)
        throw new XnatNotFoundError(
          `File "${ref.file}" was not found in resource ${ref.resource} of ${parent.what}`,
        );
      return {
        kind: 'file',
        id: f.path || f.name,
        label: f.name,
        project: parent.project,
        summary: `file ${f.path || f.name} (${f.size} bytes) in resource ${ref.resource} of ${parent.what}`,
      };
    }
  }
}

export async function deleteObject(
  ctx: CurationContext,
  ref: ObjectRef & { kind: ObjectKind },
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<void> {
  const { signal } = opts;
  const removeFiles = { removeFiles: 'true' };
  switch (ref.kind) {
    case 'project':
      throw new XnatBadRequestError(
        'Deleting a whole project is not offered here; a site administrator can do it in XNAT',
      );
    case 'subject': {
      if (!ref.subject) throw new XnatBadRequestError('Name the subject (ID, or label with project)');
      const s = await requireSubject(ctx, ref.subject, ref.project, signal);
      requireOwningContext(`Subject ${s.label} (${s.id})`, s.owningProject, s.project, 'delete');
      await write(ctx, 'DELETE', xnatPath(...subjectPath(s)), removeFiles, signal);
      return;
    }
    case 'experiment': {
      if (!ref.experiment) throw new XnatBadRequestError('Name the experiment (ID, or label with project)');
      const e = await requireExperiment(ctx, ref.experiment, ref.project, signal);
      requireOwningContext(`Experiment ${e.label} (${e.id})`, e.owningProject, e.project, 'delete');
      await write(ctx, 'DELETE', xnatPath(...experimentPath(e)), removeFiles, signal);
      return;
    }
    case 'scan':
    case 'assessor': {
      if (ref.kind === 'scan' && ref.scan === undefined) throw new XnatBadRequestError('Name the scan ID');
      if (ref.kind === 'assessor' && ref.assessor === undefined)
        throw new XnatBadRequestError('Name the assessor');
      const parent = await resourceParent(ctx, { ...ref, resource: undefined }, signal);
      await write(ctx, 'DELETE', xnatPath(...parent.path), removeFiles, signal);
      return;
    }
    case 'resource': {
      if (!ref.resource) throw new XnatBadRequestError('Name the resource (its label)');
      const parent = await resourceParent(ctx, ref, signal);
      const r = await findResource(ctx, parent.path, ref.resource, signal);
      if (!r) throw new XnatNotFoundError(`Resource "${ref.resource}" was not found on ${parent.what}`);
      await write(ctx, 'DELETE', xnatPath(...parent.path, 'resources', r.label), removeFiles, signal);
      return;
    }
    case 'file': {
      if (!ref.resource || !ref.file)
        throw new XnatBadRequestError('Name the resource and the file path in it');
      const parent = await resourceParent(ctx, ref, signal);
      const f = await findFile(ctx, parent.path, ref.resource, ref.file, signal);
      if (!f)
        throw new XnatNotFoundError(
          `File "${ref.file}" was not found in resource ${ref.resource} of ${parent.what}`,
        );
      const segments = (f.path || f.name).split('/');
      await write(
        ctx,
        'DELETE',
        xnatPath(...parent.path, 'resources', ref.resource, 'files', ...segments),
        {},
        signal,
      );
      return;
    }
  }
}
