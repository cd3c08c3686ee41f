/**
 * Project writes (ProjectResource, ProjectListResource): create and update by PUT, create from the
 * list by POST, the plain-text settings (`quarantine_code`, `prearchive_code`, `accessibility`) and
 * the delete of a project with everything it owns.
 */
import { canDeleteProject, canListProject, roleIn } from './access.js';
import { filesOf, removeExperiment, removeFilesIfAsked, removeSubject } from './deletes.js';
import { SandboxHttpError } from './errors.js';
import { applyProject, validate } from './item-values.js';
import { findProject, visibleProject } from './lookup.js';
import type { SandboxArchive, StoredProject } from './model.js';
import { insertStamp } from './records.js';
import { emptyReply, type AuthedContext, type Reply } from './reply.js';
import { readSubmission, valueOf, type Submission } from './submission.js';
import { createdFromList, VALID_ID } from './write-common.js';

/** Project IDs of deleted projects, per archive: XNAT never lets them be reused. */
const deletedProjects = new WeakMap<SandboxArchive, Set<string>>();

function deletedIn(archive: SandboxArchive): Set<string> {
  let set = deletedProjects.get(archive);
  if (!set) deletedProjects.set(archive, (set = new Set()));
  return set;
}

/** Project documents and settings are edited by the project's owners (members edit its data only). */
function ownsProject(project: StoredProject, ctx: AuthedContext): boolean {
  return ctx.user.admin || roleIn(project, ctx.user) === 'owner';
}

function applyAccessibility(ctx: AuthedContext, project: StoredProject, value: string | null): void {
  if (value === null) return;
  if (value !== 'public' && value !== 'protected' && value !== 'private') {
    throw new SandboxHttpError(400, `Invalid accessibility: ${value}`);
  }
  project.accessibility = value;
}

function titleConflict(archive: SandboxArchive, project: StoredProject): string | undefined {
  for (const other of archive.projects.values()) {
    if (other.id === project.id) continue;
    if (other.name === project.name) return `Invalid project title: '${project.name}' is already being used.`;
    if (other.secondaryId === project.secondaryId)
      return `Invalid project running title: '${project.secondaryId}' is already being used.`;
  }
  return undefined;
}

async function createProject(ctx: AuthedContext, id: string, submission: Submission): Promise<StoredProject> {
  const { archive } = ctx.state;
  if (!VALID_ID.test(id)) throw new SandboxHttpError(417, 'Invalid character in project ID.');
  if (deletedIn(archive).has(id)) {
    throw new SandboxHttpError(
      403,
      `The project ID ${id} was used in a previously deleted project and cannot be reused.`,
    );
  }
  const project: StoredProject = {
    id,
    secondaryId: id,
    name: id,
    description: '',
    keywords: '',
    piFirstname: '',
    piLastname: '',
    accessibility: 'private',
    aliases: [],
    fields: {},
    users: { [ctx.user.login]: 'owner' },
    quarantineCode: 0,
    prearchiveCode: 4,
    insertDate: insertStamp(),
    insertUser: ctx.user.login,
    resources: [],
  };
  validate('project', 'xnat:projectData', submission.values);
  applyProject(project, submission.values, submission.elements);
  applyAccessibility(ctx, project, ctx.query.get('accessibility'));
  const conflict = titleConflict(archive, project);
  if (conflict) throw new SandboxHttpError(409, conflict);
  archive.projects.set(id, project);
  return project;
}

/** `PUT /data/projects/{p}`: creates (the creator owns it) or updates; 200 with an empty body. */
export async function putProject(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const key = ctx.params.project ?? '';
  const submission = await readSubmission(ctx, 'project');
  const existing = findProject(archive, key);
  if (!existing) {
    await createProject(ctx, submission.document?.id ?? key, submission);
    return emptyReply();
  }
  if (!canListProject(existing, ctx.user))
    throw new SandboxHttpError(404, `Unable to identify project ${key}`);
  if (!ownsProject(existing, ctx)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient edit privileges for this project.',
    );
  }
  if (submission.document?.id !== undefined && submission.document.id !== existing.id) {
    throw new SandboxHttpError(400, 'ID cannot be modified');
  }
  validate('project', 'xnat:projectData', submission.values);
  const before = { name: existing.name, secondaryId: existing.secondaryId };
  applyProject(existing, submission.values, submission.elements);
  const conflict = titleConflict(archive, existing);
  if (conflict) {
    Object.assign(existing, before);
    throw new SandboxHttpError(409, conflict);
  }
  applyAccessibility(ctx, existing, ctx.query.get('accessibility'));
  return emptyReply();
}

/** `POST /data/projects`: creation from the list; the ID comes from the document or `ID=`. */
export async function postProject(ctx: AuthedContext): Promise<Reply> {
  const submission = await readSubmission(ctx, 'project');
  const id = submission.document?.id ?? valueOf(submission, 'ID');
  if (!id) throw new SandboxHttpError(400, 'Project ID is required.');
  if (findProject(ctx.state.archive, id)) throw new SandboxHttpError(409, 'Project already exists.');
  const project = await createProject(ctx, id, submission);
  return createdFromList(ctx, project.id);
}

/** `PUT /data/projects/{p}/{quarantine_code|prearchive_code|accessibility}/{value}`: owners only. */
export function putProjectSetting(ctx: AuthedContext): Reply {
  const project = visibleProject(ctx, ctx.params.project ?? '');
  const value = ctx.params.value ?? '';
  if (!ownsProject(project, ctx)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient edit privileges for this project.',
    );
  }
  switch (ctx.segments[2]) {
    case 'quarantine_code': {
      const code = { '0': 0, '1': 1, true: 1, false: 0 }[value.toLowerCase()];
      if (code === undefined) throw new SandboxHttpError(400, `Invalid quarantine code: ${value}`);
      project.quarantineCode = code as 0 | 1;
      break;
    }
    case 'prearchive_code': {
      const code = Number(value);
      if (code !== 0 && code !== 4 && code !== 5 && code !== 10)
        throw new SandboxHttpError(400, `Invalid prearchive code: ${value}`);
      project.prearchiveCode = code;
      break;
    }
    case 'accessibility':
      applyAccessibility(ctx, project, value);
      break;
    default:
      throw new SandboxHttpError(404, '');
  }
  return emptyReply();
}

/** `DELETE /data/projects/{p}`: owners only; its subjects and experiments go, shares into it are removed. */
export async function deleteProject(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const project = visibleProject(ctx, ctx.params.project ?? '');
  if (!canDeleteProject(project, ctx.user)) {
    throw new SandboxHttpError(403, "User account doesn't have permission to delete this project.");
  }
  const files = filesOf(project.resources);
  for (const experiment of [...archive.experiments.values()]) {
    if (!archive.experiments.has(experiment.id)) continue;
    if (experiment.project === project.id) files.push(...removeExperiment(archive, experiment));
    else experiment.shares = experiment.shares.filter((s) => s.project !== project.id);
  }
  for (const subject of [...archive.subjects.values()]) {
    if (subject.project === project.id) files.push(...removeSubject(archive, subject));
    else subject.shares = subject.shares.filter((s) => s.project !== project.id);
  }
  archive.projects.delete(project.id);
  deletedIn(archive).add(project.id);
  await removeFilesIfAsked(ctx, files);
  return emptyReply();
}
