/**
 * Addressing objects in URLs the way XNAT's resources do (§3.1): projects by ID or alias, subjects
 * and experiments by label within a project (including the label they were shared under) or by
 * accession ID, and everything the user cannot read answers 404 as if it did not exist.
 */
import { canListProject, canReadItem, canReadProject, projectsOf } from './access.js';
import { SandboxHttpError } from './errors.js';
import type {
  SandboxArchive,
  StoredExperiment,
  StoredProject,
  StoredReconstruction,
  StoredScan,
  StoredSubject,
} from './model.js';
import type { AuthedContext } from './reply.js';
import { experimentKind } from './types.js';

/** The label an object carries in a project: its own in the owning project, the share label elsewhere. */
export function labelIn(item: StoredSubject | StoredExperiment, project: string): string | undefined {
  if (item.project === project) return item.label;
  return item.shares.find((s) => s.project === project)?.label;
}

export function findProject(archive: SandboxArchive, idOrAlias: string): StoredProject | undefined {
  const direct = archive.projects.get(idOrAlias);
  if (direct) return direct;
  for (const project of archive.projects.values()) if (project.aliases.includes(idOrAlias)) return project;
  return undefined;
}

/** A project the user can see (listed in /data/projects); 404 otherwise, as XNAT hides private projects. */
export function visibleProject(ctx: AuthedContext, idOrAlias: string, message?: string): StoredProject {
  const project = findProject(ctx.state.archive, idOrAlias);
  if (!project || !canListProject(project, ctx.user)) {
    throw new SandboxHttpError(404, message ?? `Unable to identify project ${idOrAlias}`);
  }
  return project;
}

/** A project whose data the user may read; a visible but protected project answers 403 (§9.2). */
export function readableProject(ctx: AuthedContext, idOrAlias: string): StoredProject {
  const project = visibleProject(ctx, idOrAlias);
  if (!canReadProject(project, ctx.user)) {
    throw new SandboxHttpError(403, `Unable to read subjects for Project: ${project.id}`);
  }
  return project;
}

export function findSubjectIn(
  archive: SandboxArchive,
  project: string,
  key: string,
): StoredSubject | undefined {
  for (const subject of archive.subjects.values()) if (labelIn(subject, project) === key) return subject;
  const byId = archive.subjects.get(key);
  return byId && projectsOf(byId).includes(project) ? byId : undefined;
}

export function findExperimentIn(
  archive: SandboxArchive,
  project: string,
  key: string,
): StoredExperiment | undefined {
  for (const experiment of archive.experiments.values())
    if (labelIn(experiment, project) === key) return experiment;
  const byId = archive.experiments.get(key);
  return byId && projectsOf(byId).includes(project) ? byId : undefined;
}

function readable<T extends StoredSubject | StoredExperiment>(
  ctx: AuthedContext,
  item: T | undefined,
  message: string,
): T {
  if (!item || !canReadItem(ctx.state.archive, item, ctx.user)) throw new SandboxHttpError(404, message);
  return item;
}

const SUBJECT_NOT_FOUND = 'Unable to find the specified subject.';
const EXPERIMENT_NOT_FOUND = 'Unable to find the specified experiment.';

/** The objects named by a URL's `{project}`, `{subject}`, `{experiment}`, `{assessor}` parameters. */
export interface PathObjects {
  project?: StoredProject;
  subject?: StoredSubject;
  experiment?: StoredExperiment;
  assessor?: StoredExperiment;
}

/**
 * Resolves the path parameters present in `ctx.params`, outermost first, each relative to its parent.
 * `/data/subjects/{id}` and `/data/experiments/{id}` accept accession IDs only.
 */
export function resolvePath(ctx: AuthedContext): PathObjects {
  const { archive } = ctx.state;
  const { params } = ctx;
  const objects: PathObjects = {};
  if (params.project !== undefined) objects.project = visibleProject(ctx, params.project);
  const projectId = objects.project?.id;
  if (params.subject !== undefined) {
    const found =
      projectId === undefined
        ? archive.subjects.get(params.subject)
        : findSubjectIn(archive, projectId, params.subject);
    objects.subject = readable(ctx, found, SUBJECT_NOT_FOUND);
  }
  if (params.experiment !== undefined) {
    const found =
      projectId === undefined
        ? archive.experiments.get(params.experiment)
        : findExperimentIn(archive, projectId, params.experiment);
    if (found && objects.subject && found.subjectId !== objects.subject.id) {
      throw new SandboxHttpError(404, EXPERIMENT_NOT_FOUND);
    }
    objects.experiment = readable(ctx, found, EXPERIMENT_NOT_FOUND);
  }
  if (params.assessor !== undefined) {
    const session = objects.experiment;
    const key = params.assessor;
    let found: StoredExperiment | undefined;
    for (const candidate of archive.experiments.values()) {
      if (session && candidate.imageSessionId !== session.id) continue;
      if (candidate.id === key || labelIn(candidate, projectId ?? candidate.project) === key) {
        found = candidate;
        break;
      }
    }
    objects.assessor = readable(
      ctx,
      found && experimentKind(found) === 'imageAssessor' ? found : undefined,
      EXPERIMENT_NOT_FOUND,
    );
  }
  return objects;
}

/** Scans named by a file-URL selector: IDs or types, comma lists, `ALL`/`*`, `NULL` for an empty type. */
export function selectScans(experiment: StoredExperiment, selector: string): StoredScan[] {
  const unescape = (s: string): string => s.replaceAll('[SLASH]', '/').replaceAll('[COMMA]', ',');
  const wanted = selector.split(',').map(unescape);
  if (wanted.some((w) => w === 'ALL' || w === '*')) return experiment.scans;
  return experiment.scans.filter((scan) =>
    wanted.some((w) => w === scan.id || w === scan.type || (w === 'NULL' && scan.type === '')),
  );
}

export function requireScan(experiment: StoredExperiment, scanId: string): StoredScan {
  const scan = experiment.scans.find((s) => s.id === scanId);
  if (!scan) throw new SandboxHttpError(404, 'Unable to find the specified scan.');
  return scan;
}

/** A reconstruction by its ID, unique site-wide (`getXnatReconstructedimagedatasById`), with its session. */
export function findReconstruction(
  archive: SandboxArchive,
  id: string,
): { session: StoredExperiment; reconstruction: StoredReconstruction } | undefined {
  for (const session of archive.experiments.values()) {
    const reconstruction = session.reconstructions?.find((r) => r.id === id);
    if (reconstruction) return { session, reconstruction };
  }
  return undefined;
}
