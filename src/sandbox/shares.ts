/**
 * Sharing (§4.4): `PUT .../projects/{dest}` shares a subject, experiment or assessor into another
 * project (or with `primary=true` moves it there); `DELETE` unshares.
 */
import { canDeleteProject, canEditProject, canReadProject } from './access.js';
import { deleteOrUnshare } from './deletes.js';
import { SandboxHttpError } from './errors.js';
import { listItemProjects } from './listings.js';
import { findExperimentIn, findSubjectIn, resolvePath } from './lookup.js';
import type { SandboxArchive, StoredExperiment, StoredProject, StoredSubject } from './model.js';
import { insertStamp } from './records.js';
import { emptyReply, type AuthedContext, type Reply } from './reply.js';
import { flag, owningProject, without } from './write-common.js';

/** The subject, experiment or assessor a sharing URL (`.../projects/{dest}`) is about. */
function sharedItem(ctx: AuthedContext): StoredSubject | StoredExperiment {
  const objects = resolvePath({ ...ctx, params: without(ctx.params, 'dest') });
  const item = objects.assessor ?? objects.experiment ?? objects.subject;
  if (!item) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  return item;
}

/** The destination of a share: by ID, readable by the user, else 404 as XNAT's getXnatProjectdatasById. */
function destinationProject(ctx: AuthedContext): StoredProject {
  const id = ctx.params.dest ?? '';
  const project = ctx.state.archive.projects.get(id);
  if (!project || !canReadProject(project, ctx.user)) {
    throw new SandboxHttpError(404, `Unable to identify project: ${id}`);
  }
  return project;
}

function labelTaken(
  archive: SandboxArchive,
  item: StoredSubject | StoredExperiment,
  project: string,
  label: string,
): boolean {
  const other =
    'demographics' in item
      ? findSubjectIn(archive, project, label)
      : findExperimentIn(archive, project, label);
  return other !== undefined && other !== item;
}

/**
 * `PUT .../{subjects/{s}|experiments/{e}|assessors/{a}}/projects/{dest}[?label=&primary=true]`:
 * shares the item into `dest` (200 with the item's project table), or with `primary=true` moves
 * ownership there (200, empty).
 */
export function putShare(ctx: AuthedContext): Reply {
  const { archive } = ctx.state;
  const item = sharedItem(ctx);
  const noun = 'demographics' in item ? 'subjects' : 'experiments';
  const dest = destinationProject(ctx);
  const newLabel = ctx.query.get('label') ?? undefined;
  const owning = owningProject(archive, item);
  if (noun === 'experiments' && item.project === dest.id) {
    throw new SandboxHttpError(409, `Already assigned to project:${dest.id}`);
  }
  const matched = item.shares.find((s) => s.project === dest.id);
  // SubjectResource reads `primary` as a flag, SubjAssessmentResource compares it with "true".
  const primary = noun === 'subjects' ? flag(ctx, 'primary') : ctx.query.get('primary') === 'true';
  if (matched && newLabel !== undefined && matched.label !== newLabel) {
    if (labelTaken(archive, item, dest.id, newLabel))
      throw new SandboxHttpError(409, `Label already in use:${newLabel}`);
    matched.label = newLabel;
    if (noun === 'subjects' && !primary)
      return listItemProjects({ ...ctx, params: without(ctx.params, 'dest') });
  }
  if (primary) {
    if (!canDeleteProject(owning, ctx.user) || !canEditProject(dest, ctx.user)) {
      throw new SandboxHttpError(
        403,
        `Specified user account has insufficient privileges for ${noun} in this project.`,
      );
    }
    const label = newLabel || matched?.label || item.label;
    if (labelTaken(archive, item, dest.id, label) && !matched) {
      throw new SandboxHttpError(409, `Label already in use:${label}`);
    }
    item.project = dest.id;
    item.label = label;
    item.shares = item.shares.filter((s) => s.project !== dest.id);
    item.lastModified = insertStamp();
    return emptyReply();
  }
  if (matched) throw new SandboxHttpError(409, `Already assigned to project:${dest.id}`);
  if (item.project === dest.id) throw new SandboxHttpError(409, `Already assigned to project:${dest.id}`);
  if (newLabel !== undefined && labelTaken(archive, item, dest.id, newLabel)) {
    throw new SandboxHttpError(409, `Label already in use:${newLabel}`);
  }
  if (!canEditProject(dest, ctx.user)) {
    throw new SandboxHttpError(
      403,
      `Specified user account has insufficient create privileges for ${noun} in the ${dest.id} project.`,
    );
  }
  item.shares.push({ project: dest.id, label: newLabel || item.label });
  return listItemProjects({ ...ctx, params: without(ctx.params, 'dest') });
}

/** `DELETE .../projects/{dest}`: unshares; naming the owning project deletes the item, as XNAT does. */
export function deleteShare(ctx: AuthedContext): Promise<Reply> {
  const item = sharedItem(ctx);
  const dest = destinationProject(ctx);
  return deleteOrUnshare(ctx, item, dest, 'demographics' in item ? 'subject' : 'experiment');
}
