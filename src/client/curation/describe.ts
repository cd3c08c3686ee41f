/** Any object resolved to its ID, label, owning project and a one-line summary (shown before a delete). */
import { XnatBadRequestError, XnatNotFoundError } from '../errors.js';
import {
  findAssessor,
  findFile,
  findResource,
  findScan,
  plural,
  requireExperiment,
  requireSubject,
  resourceParent,
  type CurationContext,
  type ObjectKind,
  type ObjectRef,
} from './common.js';

export interface ObjectDescription {
  kind: ObjectKind;
  id: string;
  label?: string | undefined;
  /** A scan's or assessor's experiment (its accession ID): scan IDs are unique only within it. */
  experiment?: string | undefined;
  /** The owning project (where the object's data lives). */
  project?: string | undefined;
  /** A subject/experiment addressed through a project it is only shared into: that project. */
  sharedVia?: string | undefined;
  /** Quarantine status, for an experiment (read with it anyway); absent for other kinds. */
  status?: 'active' | 'quarantine' | undefined;
  summary: string;
}

type Ref = ObjectRef & { kind: ObjectKind };
type Signal = AbortSignal | undefined;

export async function describeObject(
  ctx: CurationContext,
  ref: Ref,
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<ObjectDescription> {
  const { signal } = opts;
  switch (ref.kind) {
    case 'project':
      return describeProject(ctx, ref, signal);
    case 'subject':
      return describeSubject(ctx, ref, signal);
    case 'experiment':
      return describeExperiment(ctx, ref, signal);
    case 'scan':
      return describeScan(ctx, ref, signal);
    case 'assessor':
      return describeAssessor(ctx, ref, signal);
    case 'resource':
      return describeResource(ctx, ref, signal);
    case 'file':
      return describeFile(ctx, ref, signal);
  }
}

async function describeProject(ctx: CurationContext, ref: Ref, signal: Signal): Promise<ObjectDescription> {
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

async function describeSubject(ctx: CurationContext, ref: Ref, signal: Signal): Promise<ObjectDescription> {
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

async function describeExperiment(
  ctx: CurationContext,
  ref: Ref,
  signal: Signal,
): Promise<ObjectDescription> {
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

async function describeScan(ctx: CurationContext, ref: Ref, signal: Signal): Promise<ObjectDescription> {
  if (!ref.experiment || !ref.scan) throw new XnatBadRequestError('Name the experiment and the scan ID');
  const e = await requireExperiment(ctx, ref.experiment, ref.project, signal);
  const scan = findScan(e, ref.scan);
  return {
    kind: 'scan',
    id: scan.id,
    label: scan.seriesDescription || scan.type,
    experiment: e.id,
    project: e.owningProject,
    summary: `scan ${scan.id} (${scan.type || 'no type'}${scan.seriesDescription ? `, ${scan.seriesDescription}` : ''}) of experiment ${e.label} (${e.id}) in project ${e.owningProject}: ${plural(scan.fileCount ?? 0, 'file')}`,
  };
}

async function describeAssessor(ctx: CurationContext, ref: Ref, signal: Signal): Promise<ObjectDescription> {
  if (!ref.experiment || !ref.assessor) throw new XnatBadRequestError('Name the experiment and the assessor');
  const e = await requireExperiment(ctx, ref.experiment, ref.project, signal);
  const a = findAssessor(e, ref.assessor);
  return {
    kind: 'assessor',
    id: a.id,
    label: a.label,
    experiment: e.id,
    project: e.owningProject,
    summary: `assessor ${a.label} (${a.id}, ${a.xsiType}) of experiment ${e.label} (${e.id}) in project ${e.owningProject}`,
  };
}

async function describeResource(ctx: CurationContext, ref: Ref, signal: Signal): Promise<ObjectDescription> {
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

async function describeFile(ctx: CurationContext, ref: Ref, signal: Signal): Promise<ObjectDescription> {
  if (!ref.resource || !ref.file) throw new XnatBadRequestError('Name the resource and the file path in it');
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
