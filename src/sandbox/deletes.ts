/**
 * Deletes (§5): through the owning project an item goes with everything below it (owners only);
 * through a project it is shared into, only that share goes. `removeFiles=true` also deletes the
 * catalogued files from the archive directory.
 */
import { canDeleteProject, canReadItem } from './access.js';
import { SandboxHttpError } from './errors.js';
import { findReconstruction, resolvePath } from './lookup.js';
import type {
  SandboxArchive,
  StoredExperiment,
  StoredFile,
  StoredProject,
  StoredResource,
  StoredSubject,
} from './model.js';
import { emptyReply, type AuthedContext, type Reply } from './reply.js';
import {
  existingAssessor,
  existingSubject,
  flag,
  owningProject,
  sessionOfUrl,
  urlProject,
} from './write-common.js';

/** `DELETE .../scans/{scan}`: owners of the session's project only. */
export async function deleteScan(ctx: AuthedContext): Promise<Reply> {
  const session = sessionOfUrl(ctx);
  const index = session.scans.findIndex((s) => s.id === ctx.params.scan);
  if (index < 0) throw new SandboxHttpError(404, 'Unable to find the specified scan.');
  if (!canDeleteProject(owningProject(ctx.state.archive, session), ctx.user)) {
    throw new SandboxHttpError(403, "User account doesn't have permission to modify this session.");
  }
  const [scan] = session.scans.splice(index, 1);
  await removeFilesIfAsked(ctx, filesOf(scan?.resources ?? []));
  return emptyReply();
}

/** `DELETE .../reconstructions/{id}` (ReconResource): owners of the session's project; `removeFiles` takes its `out` files. */
export async function deleteReconstruction(ctx: AuthedContext): Promise<Reply> {
  const session = sessionOfUrl(ctx);
  const found = findReconstruction(ctx.state.archive, ctx.params.reconstruction ?? '');
  if (!found || !canReadItem(ctx.state.archive, found.session, ctx.user)) {
    throw new SandboxHttpError(404, 'Unable to find the specified reconstruction.');
  }
  if (!canDeleteProject(owningProject(ctx.state.archive, session), ctx.user)) {
    throw new SandboxHttpError(403, "User account doesn't have permission to modify this session.");
  }
  found.session.reconstructions = found.session.reconstructions?.filter((r) => r !== found.reconstruction);
  await removeFilesIfAsked(ctx, filesOf(found.reconstruction.resources));
  return emptyReply();
}

// ---------------------------------------------------------------- deletes and unsharing

export function filesOf(resources: StoredResource[]): StoredFile[] {
  return resources.flatMap((r) => r.files);
}

/** Removes a session or assessor (a session's assessors go with it); returns the files it held. */
export function removeExperiment(archive: SandboxArchive, experiment: StoredExperiment): StoredFile[] {
  archive.experiments.delete(experiment.id);
  const files = [
    ...filesOf(experiment.resources),
    ...filesOf(experiment.inResources),
    ...experiment.scans.flatMap((scan) => filesOf(scan.resources)),
    ...(experiment.reconstructions ?? []).flatMap((recon) => filesOf(recon.resources)),
  ];
  for (const assessor of [...archive.experiments.values()])
    if (assessor.imageSessionId === experiment.id) files.push(...removeExperiment(archive, assessor));
  return files;
}

/** Removes a subject with its experiments; returns the files they held. */
export function removeSubject(archive: SandboxArchive, subject: StoredSubject): StoredFile[] {
  archive.subjects.delete(subject.id);
  const files = filesOf(subject.resources);
  for (const experiment of [...archive.experiments.values()])
    if (experiment.subjectId === subject.id) files.push(...removeExperiment(archive, experiment));
  return files;
}

/**
 * `removeFiles=true` deletes the catalogued files from the archive directory; without it XNAT
 * removes only the database rows and leaves the files where they were.
 */
export async function removeFilesIfAsked(ctx: AuthedContext, files: StoredFile[]): Promise<void> {
  if (flag(ctx, 'removeFiles')) await ctx.state.storage.discard(files);
}

/**
 * `SecureResource#deleteItem`: through the owning project the item is deleted (owners only);
 * through a project it is shared into, only that share goes (`BaseXnatExperimentdata#delete`).
 */
export async function deleteOrUnshare(
  ctx: AuthedContext,
  item: StoredSubject | StoredExperiment,
  through: StoredProject | undefined,
  noun: 'subject' | 'experiment',
): Promise<Reply> {
  const { archive } = ctx.state;
  const owning = owningProject(archive, item);
  if (through && through.id !== owning.id) {
    if (!canDeleteProject(owning, ctx.user) && !canDeleteProject(through, ctx.user)) {
      // XNAT's text names subjects for experiments too.
      throw new SandboxHttpError(403, `User cannot delete subjects for project ${through.id}`);
    }
    item.shares = item.shares.filter((s) => s.project !== through.id);
    return emptyReply();
  }
  if (!canDeleteProject(owning, ctx.user)) {
    throw new SandboxHttpError(403, `User account doesn't have permission to delete this ${noun}.`);
  }
  await removeFilesIfAsked(
    ctx,
    'demographics' in item ? removeSubject(archive, item) : removeExperiment(archive, item),
  );
  return emptyReply();
}

export function deleteSubject(ctx: AuthedContext): Promise<Reply> {
  const project = urlProject(ctx);
  const subject = existingSubject(ctx, project, ctx.params.subject ?? '');
  if (!subject) throw new SandboxHttpError(404, 'Unable to find the specified subject.');
  return deleteOrUnshare(ctx, subject, project, 'subject');
}

export function deleteExperiment(ctx: AuthedContext): Promise<Reply> {
  const { experiment, project } = resolvePath(ctx);
  if (!experiment) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  return deleteOrUnshare(ctx, experiment, project, 'experiment');
}

export function deleteAssessor(ctx: AuthedContext): Promise<Reply> {
  const session = sessionOfUrl(ctx);
  const assessor = existingAssessor(ctx, session, ctx.params.assessor ?? '');
  if (!assessor) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  return deleteOrUnshare(ctx, assessor, urlProject(ctx), 'experiment');
}
