/**
 * What the item writes share: finding the item a write URL names (readable, else "not there"), the
 * owning project, XNAT's flag parsing, the post-save status flags and the create-from-list reply.
 */
import { canActivateProject, canReadItem } from './access.js';
import { SandboxHttpError } from './errors.js';
import {
  findExperimentIn,
  findProject,
  findSubjectIn,
  labelIn,
  resolvePath,
  visibleProject,
} from './lookup.js';
import type { ItemStatus, SandboxArchive, StoredExperiment, StoredProject, StoredSubject } from './model.js';
import { insertStamp } from './records.js';
import { IMAGE_ASSESSOR_DATA, SUBJECT_ASSESSOR_DATA, isSameType, typeLineage } from './types.js';
import { emptyReply, textReply, type AuthedContext, type Reply } from './reply.js';

/** XftStringUtils.isValidId: accession IDs and project IDs are letters, digits, `_` and `-`. */
export const VALID_ID = /^[A-Za-z0-9_-]+$/;

/** Sets the label an item carries in a project: its own in the owning project, the share's elsewhere. */
function setLabelIn(item: StoredSubject | StoredExperiment, project: string, label: string): void {
  if (item.project === project) item.label = label;
  else {
    const share = item.shares.find((s) => s.project === project);
    if (share) share.label = label;
  }
}

export function owningProject(
  archive: SandboxArchive,
  item: StoredSubject | StoredExperiment,
): StoredProject {
  const project = archive.projects.get(item.project);
  if (!project) throw new SandboxHttpError(500, `Project ${item.project} is missing`);
  return project;
}

function siteUrl(ctx: AuthedContext): string {
  return `http://${ctx.headers.host ?? 'localhost'}${ctx.state.contextPath}`;
}

/** `SecureResource#returnSuccessfulCreateFromList`: 200 with the new object's URL (also as Location). */
export function createdFromList(ctx: AuthedContext, id: string): Reply {
  const url = `${siteUrl(ctx)}/data/${ctx.segments.join('/')}/${encodeURIComponent(id)}`;
  const reply = textReply(200, url);
  reply.headers.Location = url;
  return reply;
}

// ---------------------------------------------------------------- quarantine

/** XNAT's isQueryVariableTrue: present and not `false`/`0`. */
export function flag(ctx: AuthedContext, name: string): boolean {
  const value = ctx.query.get(name);
  return value !== null && !['false', '0'].includes(value.toLowerCase());
}

// XNAT's own text, double space included (InsufficientPrivilegesException in SecureResource).
const ACTIVATION_DENIED =
  'Specified user  account has insufficient activation privileges for experiments in this project.';
// The lock branch throws a ClientException whose text has a single space.
const LOCK_DENIED =
  'Specified user account has insufficient activation privileges for experiments in this project.';

/** `SecureResource#postSaveManageStatus`: `activate`, `quarantine`, `_lock`/`_unlock`/`_obsolete` after a save. */
export function manageStatus(ctx: AuthedContext, item: StoredSubject | StoredExperiment): void {
  const project = owningProject(ctx.state.archive, item);
  const allowed = canActivateProject(project, ctx.user);
  const apply = (name: string, status: ItemStatus, denied = ACTIVATION_DENIED): void => {
    if (!flag(ctx, name)) return;
    if (!allowed) throw new SandboxHttpError(403, denied);
    item.status = status;
  };
  apply('activate', 'active');
  apply('quarantine', 'quarantine');
  if (flag(ctx, '_lock')) apply('_lock', 'locked', LOCK_DENIED);
  else if (flag(ctx, '_unlock')) apply('_unlock', 'active');
  else apply('_obsolete', 'obsolete');
}

/** A readable subject named by the URL (label or ID within the project, or accession ID); undefined if none. */
export function existingSubject(
  ctx: AuthedContext,
  project: StoredProject | undefined,
  key: string,
): StoredSubject | undefined {
  const { archive } = ctx.state;
  const found = project ? findSubjectIn(archive, project.id, key) : archive.subjects.get(key);
  return found && canReadItem(archive, found, ctx.user) ? found : undefined;
}

export function urlProject(ctx: AuthedContext): StoredProject | undefined {
  return ctx.params.project === undefined ? undefined : visibleProject(ctx, ctx.params.project);
}

const TYPE_NAME = /^[A-Za-z_][\w-]*:[A-Za-z_][\w-]*$/;

/** Whether a type extends xnat:subjectAssessorData, by the data-type table's lineage (a made-up name by its kind). */
export function isSubjectAssessorType(xsiType: string): boolean {
  return typeLineage(xsiType).some((t) => isSameType(t, SUBJECT_ASSESSOR_DATA));
}

/** Whether a type extends xnat:imageAssessorData, by the data-type table's lineage (a made-up name by its kind). */
export function isImageAssessorType(xsiType: string): boolean {
  return typeLineage(xsiType).some((t) => isSameType(t, IMAGE_ASSESSOR_DATA));
}

export function checkTypeName(xsiType: string): void {
  if (!TYPE_NAME.test(xsiType)) throw new SandboxHttpError(400, `Invalid xsiType: ${xsiType}`);
}

export function existingExperiment(
  ctx: AuthedContext,
  project: StoredProject | undefined,
  key: string,
): StoredExperiment | undefined {
  const { archive } = ctx.state;
  const found = project ? findExperimentIn(archive, project.id, key) : archive.experiments.get(key);
  return found && canReadItem(archive, found, ctx.user) ? found : undefined;
}

// ---------------------------------------------------------------- image assessors

export function without(params: Record<string, string>, name: string): Record<string, string> {
  const rest = { ...params };
  delete rest[name];
  return rest;
}

export function sessionOfUrl(ctx: AuthedContext): StoredExperiment {
  const { experiment } = resolvePath({ ...ctx, params: without(ctx.params, 'assessor') });
  if (!experiment) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  return experiment;
}

export function existingAssessor(
  ctx: AuthedContext,
  session: StoredExperiment,
  key: string,
): StoredExperiment | undefined {
  const { archive } = ctx.state;
  const project = ctx.params.project === undefined ? undefined : findProject(archive, ctx.params.project)?.id;
  for (const candidate of archive.experiments.values()) {
    if (candidate.imageSessionId !== session.id) continue;
    if (candidate.id === key || labelIn(candidate, project ?? candidate.project) === key) {
      return canReadItem(archive, candidate, ctx.user) ? candidate : undefined;
    }
  }
  return undefined;
}

/** A `?label=` rename (files move with it in XNAT); 409 when the label is taken in that project. */
export function rename(
  ctx: AuthedContext,
  item: StoredSubject | StoredExperiment,
  project: string,
  label: string,
  find: (
    archive: SandboxArchive,
    project: string,
    key: string,
  ) => StoredSubject | StoredExperiment | undefined,
): Reply {
  if (label !== labelIn(item, project)) {
    if (find(ctx.state.archive, project, label)) {
      throw new SandboxHttpError(409, 'Specified label is already in use.');
    }
    setLabelIn(item, project, label);
    item.lastModified = insertStamp();
  }
  return emptyReply();
}

/** A submitted accession ID for a new item is kept; 417 when it cannot be one (or names an item the user cannot see). */
export function checkNewId(
  id: string | undefined,
  taken: Map<string, unknown>,
  noun: 'subject' | 'experiment',
): void {
  if (id !== undefined && (!VALID_ID.test(id) || taken.has(id))) {
    throw new SandboxHttpError(417, `Invalid character in ${noun} label.`);
  }
}
