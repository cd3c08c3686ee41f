/**
 * Creates subjects and experiments. A create never lands on an existing object (XNAT's PUT would
 * silently update it): the label is checked first, and the new object is read back.
 */
import { XnatBadRequestError, XnatConflictError, XnatNotFoundError } from '../errors.js';
import { xnatPath, type QueryValue } from '../http.js';
import type { ExperimentDetail, SubjectDetail } from '../models.js';
import {
  DEMOGRAPHICS,
  checkFieldNames,
  checkLabel,
  customFieldParams,
  findExperiment,
  findSubject,
  requireExperiment,
  requireSubject,
  write,
  type CurationContext,
} from './common.js';

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

const XSI_TYPE = /^[A-Za-z][A-Za-z0-9_]*:[A-Za-z][A-Za-z0-9_]*$/;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

const TIME = /^\d{2}:\d{2}(:\d{2})?$/;

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
