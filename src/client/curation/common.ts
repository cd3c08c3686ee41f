/**
 * What every curation write shares. Writes go through the owning project's URL (XNAT treats a
 * sharing project's URL differently: a DELETE there only unshares), are checked before they are sent
 * and read back afterwards; this module finds the objects they act on and checks names.
 */
import { XnatBadRequestError, XnatNotFoundError } from '../errors.js';
import { xnatPath, type HttpResponse, type QueryValue, type RequestContext } from '../http.js';
import type { ExperimentDetail, ProjectDetail, Resource, Scan, SubjectDetail, XnatFile } from '../models.js';
import type { ObjectOptions } from '../reads.js';
import { parseTable, toFile, toResource } from '../rows.js';

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

/** XNAT refuses other characters in IDs and labels (417 "Invalid character ..."). */
const LABEL = /^[A-Za-z0-9_-]+$/;
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

export const DEMOGRAPHICS = 'xnat:subjectData/demographics[@xsi:type=xnat:demographicData]';

/** Sent with every write: sites that require a justification for changes refuse writes without one. */
const EVENT_REASON = 'xnat-mcp';

/** The reads curation checks before and after each write (XnatClient's own). */
export interface CurationReads {
  getProject(project: string, opts: { signal?: AbortSignal }): Promise<ProjectDetail>;
  getSubject(subject: string, opts: ObjectOptions): Promise<SubjectDetail>;
  getExperiment(experiment: string, opts: ObjectOptions): Promise<ExperimentDetail>;
  listScans(experiment: string, opts: ObjectOptions): Promise<Scan[]>;
}

/** What curation needs: the authenticated request (writes clear the label → ID memory) and those reads. */
export interface CurationContext extends RequestContext, CurationReads {}

export function checkLabel(value: string, what: string): void {
  if (!LABEL.test(value)) {
    throw new XnatBadRequestError(
      `${what} "${value}" is not valid: XNAT allows only letters, digits, '_' and '-'`,
    );
  }
}

export function checkFieldNames(fields: Record<string, string> | undefined): void {
  for (const name of Object.keys(fields ?? {})) {
    if (!FIELD_NAME.test(name)) {
      throw new XnatBadRequestError(
        `Custom variable name "${name}" is not valid: use letters, digits and '_', starting with a letter`,
      );
    }
  }
}

export function customFieldParams(
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
export function fieldValue(fields: Record<string, string>, name: string): string {
  const key = Object.keys(fields).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? '' : (fields[key] ?? '');
}

function isNotFound(err: unknown): boolean {
  return err instanceof XnatNotFoundError;
}

export async function write(
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

export function findSubject(
  ctx: CurationContext,
  subject: string,
  project: string | undefined,
  signal: AbortSignal | undefined,
): Promise<SubjectDetail | undefined> {
  return unlessNotFound(requireSubject(ctx, subject, project, signal));
}

export function findExperiment(
  ctx: CurationContext,
  experiment: string,
  project: string | undefined,
  signal: AbortSignal | undefined,
): Promise<ExperimentDetail | undefined> {
  return unlessNotFound(requireExperiment(ctx, experiment, project, signal));
}

export async function requireSubject(
  ctx: CurationContext,
  subject: string,
  project: string | undefined,
  signal: AbortSignal | undefined,
): Promise<SubjectDetail> {
  return ctx.getSubject(subject, { ...(project ? { project } : {}), ...(signal ? { signal } : {}) });
}

export async function requireExperiment(
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

export function subjectPath(subject: SubjectDetail): string[] {
  return ['data', 'projects', subject.owningProject, 'subjects', subject.id];
}

export function experimentPath(experiment: ExperimentDetail): string[] {
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

export function findAssessor(
  experiment: ExperimentDetail,
  assessor: string,
): ExperimentDetail['assessors'][number] {
  const found = experiment.assessors.find((a) => a.id === assessor || a.label === assessor);
  if (!found) {
    throw new XnatNotFoundError(
      `Assessor "${assessor}" was not found in experiment ${experiment.label} (${experiment.id}), or you cannot read it`,
    );
  }
  return found;
}

export function findScan(experiment: ExperimentDetail, scan: string): Scan {
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
export function requireOwningContext(
  what: string,
  owningProject: string,
  project: string,
  action: string,
): void {
  if (project !== owningProject) {
    throw new XnatBadRequestError(
      `${what} belongs to project ${owningProject} and is only shared into ${project}; to ${action} it, name project ${owningProject} (to remove it from ${project} only, unshare it)`,
    );
  }
}

/** Path segments of the object a resource hangs off, and a description of it. */
export async function resourceParent(
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

export async function findResource(
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

export async function findFile(
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

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
