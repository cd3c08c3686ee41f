/**
 * Subject and experiment writes as SubjectResource and SubjAssessmentResource answer them (§4):
 * create and update by PUT (201 or 200 with the accession ID as plain text), creation from the
 * lists by POST, `?label=` renames and the checks an update passes first.
 */
import { canEditProject } from './access.js';
import { SandboxHttpError } from './errors.js';
import { applyExperiment, applyScan, applySubject, validate } from './item-values.js';
import { findExperimentIn, findSubjectIn, labelIn, visibleProject } from './lookup.js';
import type { SandboxArchive, StoredExperiment, StoredProject, StoredSubject } from './model.js';
import { insertStamp, newExperiment, newScan, newSubject } from './records.js';
import { textReply, type AuthedContext, type Reply } from './reply.js';
import { readSubmission, submittedId, valueOf, type Submission } from './submission.js';
import {
  checkNewId,
  checkTypeName,
  createdFromList,
  existingExperiment,
  existingSubject,
  isSubjectAssessorType,
  manageStatus,
  owningProject,
  rename,
  urlProject,
} from './write-common.js';

/** `SubjAssessmentResource#createNewSubject`: an experiment PUT under an unknown subject label creates it. */
function autoCreateSubject(ctx: AuthedContext, project: StoredProject, label: string): StoredSubject {
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      `User ${ctx.user.login} has insufficient create privileges for subjects in this project.`,
    );
  }
  const { archive } = ctx.state;
  const subject = newSubject(archive, project.id, label, ctx.user.login);
  archive.subjects.set(subject.id, subject);
  return subject;
}

/**
 * What a PUT to an existing subject or experiment passes before anything changes: the project moves
 * only through its own URI (409), the owning project must be editable (403), then `?label=` renames
 * (the answer is `renamed`) and a submitted ID must be the stored one (400). `whenAllowed` runs once
 * the edit is allowed, before a rename (an experiment PUT re-points its subject there). Returns the
 * project of the URL, or the owning one.
 */
function checkUpdate(
  ctx: AuthedContext,
  existing: StoredSubject | StoredExperiment,
  projectInUrl: StoredProject | undefined,
  submission: Submission,
  kind: {
    plural: 'subjects' | 'experiments';
    find: (
      archive: SandboxArchive,
      project: string,
      key: string,
    ) => StoredSubject | StoredExperiment | undefined;
    whenAllowed?: (project: StoredProject) => void;
  },
): { project: StoredProject; renamed?: Reply } {
  const owning = owningProject(ctx.state.archive, existing);
  const project = projectInUrl ?? owning;
  if (submission.document?.project !== undefined && submission.document.project !== existing.project) {
    throw new SandboxHttpError(409, 'Project must be modified through separate URI.');
  }
  if (!canEditProject(owning, ctx.user)) {
    throw new SandboxHttpError(
      403,
      `Specified user account has insufficient edit privileges for ${kind.plural} in this project.`,
    );
  }
  kind.whenAllowed?.(project);
  const label = ctx.query.get('label');
  if (label) return { project, renamed: rename(ctx, existing, project.id, label, kind.find) };
  const id = submittedId(submission);
  if (id !== undefined && id !== existing.id) throw new SandboxHttpError(400, 'ID cannot be modified');
  return { project };
}

/** `PUT .../subjects/{s}`: 201 + ID when created, 200 + ID when updated; `?label=` renames. */
export async function putSubject(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  let project = urlProject(ctx);
  const key = ctx.params.subject ?? '';
  const submission = await readSubmission(ctx, 'subject');
  const id = submittedId(submission);
  // SubjectResource also matches the submitted ID (`getXnatSubjectdatasById`).
  const existing =
    existingSubject(ctx, project, key) ??
    (id === undefined ? undefined : existingSubject(ctx, undefined, id));
  if (existing) {
    const { renamed } = checkUpdate(ctx, existing, project, submission, {
      plural: 'subjects',
      find: findSubjectIn,
    });
    if (renamed) return renamed;
    validate('subject', 'xnat:subjectData', submission.values);
    applySubject(existing, submission.values);
    existing.lastModified = insertStamp();
    manageStatus(ctx, existing);
    return textReply(200, existing.id);
  }
  if (ctx.params.project === undefined && submission.document?.project !== undefined) {
    project = visibleProject(ctx, submission.document.project);
  }
  if (!project)
    throw new SandboxHttpError(422, 'Submitted subject record must include the project attribute.');
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient create privileges for subjects in this project.',
    );
  }
  const label = submission.document?.label ?? ctx.query.get('label') ?? key;
  if (findSubjectIn(archive, project.id, label)) {
    throw new SandboxHttpError(409, 'Specified label is already in use.');
  }
  checkNewId(id, archive.subjects, 'subject');
  validate('subject', 'xnat:subjectData', submission.values);
  const subject = newSubject(archive, project.id, label, ctx.user.login, id);
  applySubject(subject, submission.values);
  archive.subjects.set(subject.id, subject);
  manageStatus(ctx, subject);
  return textReply(201, subject.id);
}

/** `POST /data/projects/{p}/subjects`: the label comes from `label=` or the document. */
export async function postSubject(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const project = visibleProject(ctx, ctx.params.project ?? '');
  const submission = await readSubmission(ctx, 'subject');
  const label = submission.document?.label ?? ctx.query.get('label');
  if (!label) throw new SandboxHttpError(400, 'Subject label is required.');
  if (findSubjectIn(archive, project.id, label)) throw new SandboxHttpError(409, 'Subject already exists.');
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient create privileges for subjects in this project.',
    );
  }
  validate('subject', 'xnat:subjectData', submission.values);
  const id = submittedId(submission);
  checkNewId(id, archive.subjects, 'subject');
  const subject = newSubject(archive, project.id, label, ctx.user.login, id);
  applySubject(subject, submission.values);
  archive.subjects.set(subject.id, subject);
  manageStatus(ctx, subject);
  return createdFromList(ctx, subject.id);
}

/** Scans of a submitted session document: created or updated in place. */
function applyDocumentScans(ctx: AuthedContext, session: StoredExperiment, scans: Submission[]): void {
  for (const scanSubmission of scans) {
    const id = scanSubmission.document?.id;
    if (!id) continue;
    const xsiType = scanSubmission.xsiType ?? 'xnat:imageScanData';
    validate('scan', xsiType, scanSubmission.values);
    let scan = session.scans.find((s) => s.id === id);
    if (!scan) {
      scan = newScan(ctx.state.archive, id, xsiType, ctx.user.login);
      session.scans.push(scan);
    }
    applyScan(scan, scanSubmission.values);
  }
}

/** The experiment saved by a PUT: project auto-quarantine, then the status flags. */
function afterExperimentSave(ctx: AuthedContext, experiment: StoredExperiment, project: StoredProject): void {
  experiment.lastModified = insertStamp();
  if (project.quarantineCode === 1) experiment.status = 'quarantine';
  manageStatus(ctx, experiment);
}

/**
 * `PUT .../experiments/{e}` (`SubjAssessmentResource#handlePut`; also `/data/experiments/{id}`):
 * 201 + ID when created, 200 + ID when updated; an unknown subject label in the URL is created.
 */
export async function putExperiment(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  let project = urlProject(ctx);
  const key = ctx.params.experiment ?? '';
  const submission = await readSubmission(ctx, 'experiment');
  const id = submittedId(submission);
  let subject: StoredSubject | undefined;
  if (project && ctx.params.subject !== undefined) {
    subject =
      existingSubject(ctx, project, ctx.params.subject) ??
      autoCreateSubject(ctx, project, ctx.params.subject);
  }
  let existing =
    existingExperiment(ctx, project, key) ??
    (id === undefined ? undefined : existingExperiment(ctx, undefined, id));
  if (existing && experimentIsImageAssessor(existing)) existing = undefined;
  const xsiType = existing?.xsiType ?? submission.xsiType;
  if (!existing) {
    if (xsiType === undefined) {
      if (submission.values.length === 0) throw new SandboxHttpError(417, 'Need PUT Contents');
      throw new SandboxHttpError(422, 'Only xnat:Subject documents can be PUT to this address.');
    }
    checkTypeName(xsiType);
    if (!isSubjectAssessorType(xsiType)) {
      throw new SandboxHttpError(422, 'Only xnat:Subject documents can be PUT to this address.');
    }
  }
  const type = xsiType ?? '';

  if (existing) {
    const current = existing;
    const checked = checkUpdate(ctx, existing, project, submission, {
      plural: 'experiments',
      find: findExperimentIn,
      whenAllowed: (allowedIn) => {
        const subjectParam = ctx.query.get('subject_ID');
        if (subjectParam && subjectParam !== current.subjectId) {
          subject =
            existingSubject(ctx, allowedIn, subjectParam) ?? autoCreateSubject(ctx, allowedIn, subjectParam);
        }
      },
    });
    if (checked.renamed) return checked.renamed;
    project = checked.project;
    // The item is loaded over the stored one, so a label from the document or a `.../label` xpath that
    // differs is refused (ExperimentResource); only `?label=` renames.
    const submittedLabel = submission.document?.label ?? valueOf(submission, 'label');
    if (submittedLabel !== undefined && submittedLabel !== labelIn(existing, project.id)) {
      throw new SandboxHttpError(400, 'Label must be modified through separate URI.');
    }
    validate('experiment', type, submission.values);
    submission.scans.forEach((s) => validate('scan', s.xsiType ?? 'xnat:imageScanData', s.values));
    // XNAT re-points the experiment at the subject the URL names.
    if (subject) existing.subjectId = subject.id;
    applyExperiment(existing, submission.values);
    applyDocumentScans(ctx, existing, submission.scans);
    afterExperimentSave(ctx, existing, project);
    return textReply(200, existing.id);
  }

  if (!project) {
    const named = submission.document?.project ?? valueOf(submission, 'project');
    if (named === undefined) {
      throw new SandboxHttpError(422, 'Submitted experiment record must include the project attribute.');
    }
    project = visibleProject(ctx, named);
  }
  if (!subject) {
    const named = valueOf(submission, 'subject_ID') ?? ctx.query.get('subject_ID');
    if (named) subject = existingSubject(ctx, project, named) ?? autoCreateSubject(ctx, project, named);
  }
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient create privileges for experiments in this project.',
    );
  }
  if (!subject) throw new SandboxHttpError(422, 'Submitted experiment record must include the subject.');
  const label = submission.document?.label ?? ctx.query.get('label') ?? key;
  if (findExperimentIn(archive, project.id, label)) {
    throw new SandboxHttpError(409, 'Specified label is already in use.');
  }
  checkNewId(id, archive.experiments, 'experiment');
  validate('experiment', type, submission.values);
  submission.scans.forEach((s) => validate('scan', s.xsiType ?? 'xnat:imageScanData', s.values));
  const experiment = storeNewExperiment(ctx, { xsiType: type, project, subject, label, id }, submission);
  return textReply(201, experiment.id);
}

/** A new experiment under `subject` with the submission's values and scans, stored and saved (PUT and POST alike). */
function storeNewExperiment(
  ctx: AuthedContext,
  what: {
    xsiType: string;
    project: StoredProject;
    subject: StoredSubject;
    label: string;
    id: string | undefined;
  },
  submission: Submission,
): StoredExperiment {
  const experiment = newExperiment(ctx.state.archive, {
    xsiType: what.xsiType,
    project: what.project.id,
    label: what.label,
    subjectId: what.subject.id,
    imageSessionId: '',
    login: ctx.user.login,
    ...(what.id === undefined ? {} : { id: what.id }),
  });
  applyExperiment(experiment, submission.values);
  applyDocumentScans(ctx, experiment, submission.scans);
  ctx.state.archive.experiments.set(experiment.id, experiment);
  afterExperimentSave(ctx, experiment, what.project);
  return experiment;
}

function experimentIsImageAssessor(experiment: StoredExperiment): boolean {
  return experiment.imageSessionId !== '';
}

/** `POST /data/projects/{p}/subjects/{s}/experiments`: 404 for an unknown subject; 200 + URL. */
export async function postExperiment(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const project = visibleProject(ctx, ctx.params.project ?? '');
  const subject = existingSubject(ctx, project, ctx.params.subject ?? '');
  if (!subject) throw new SandboxHttpError(404, 'Unable to find the specified subject.');
  const submission = await readSubmission(ctx, 'experiment');
  const label = submission.document?.label ?? ctx.query.get('label');
  if (!label) throw new SandboxHttpError(400, 'Experiment label is required.');
  if (findExperimentIn(archive, project.id, label)) {
    throw new SandboxHttpError(409, 'Specified experiment already exists.');
  }
  const xsiType = submission.xsiType;
  if (xsiType === undefined) throw new SandboxHttpError(417, 'Need PUT Contents');
  checkTypeName(xsiType);
  if (!isSubjectAssessorType(xsiType)) {
    throw new SandboxHttpError(422, 'Only xnat:Subject documents can be PUT to this address.');
  }
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient create privileges for experiments in this project.',
    );
  }
  validate('experiment', xsiType, submission.values);
  const id = submittedId(submission);
  checkNewId(id, archive.experiments, 'experiment');
  const experiment = storeNewExperiment(ctx, { xsiType, project, subject, label, id }, submission);
  return createdFromList(ctx, experiment.id);
}
