/**
 * Writes below a session: image assessors (ExptAssessmentResource) and scans (ScanResource).
 */
import { applyQcScans } from './qc-scans.js';
import { canEditProject } from './access.js';
import { SandboxHttpError } from './errors.js';
import { applyExperiment, applyReconstruction, applyScan, validate } from './item-values.js';
import { findExperimentIn, findReconstruction, labelIn } from './lookup.js';
import { insertStamp, newExperiment, newReconstruction, newScan } from './records.js';
import { emptyReply, textReply, type AuthedContext, type Reply } from './reply.js';
import { readSubmission, submittedId } from './submission.js';
import type { StoredExperiment } from './model.js';
import {
  checkNewId,
  checkTypeName,
  existingAssessor,
  isImageAssessorType,
  manageStatus,
  owningProject,
  rename,
  sessionOfUrl,
  urlProject,
} from './write-common.js';

/** `PUT .../experiments/{e}/assessors/{a}` (ExptAssessmentResource): 201 + ID / 200 + ID. */
export async function putAssessor(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const session = sessionOfUrl(ctx);
  const key = ctx.params.assessor ?? '';
  const project = urlProject(ctx) ?? owningProject(archive, session);
  const submission = await readSubmission(ctx, 'experiment');
  const existing = existingAssessor(ctx, session, key);
  if (existing) {
    const owning = owningProject(archive, existing);
    if (!canEditProject(owning, ctx.user)) {
      throw new SandboxHttpError(
        403,
        'Specified user account has insufficient edit privileges for experiments in this project.',
      );
    }
    const label = ctx.query.get('label');
    if (label)
      return rename(
        ctx,
        existing,
        labelIn(existing, project.id) === undefined ? owning.id : project.id,
        label,
        findExperimentIn,
      );
    const id = submittedId(submission);
    if (id !== undefined && id !== existing.id) throw new SandboxHttpError(400, 'ID cannot be modified');
    validate('experiment', existing.xsiType, submission.values);
    applyExperiment(existing, applyQcScans(archive, existing, submission));
    existing.lastModified = insertStamp();
    manageStatus(ctx, existing);
    return textReply(200, existing.id);
  }
  const xsiType = submission.xsiType;
  if (xsiType === undefined) throw new SandboxHttpError(417, 'Need PUT Contents');
  checkTypeName(xsiType);
  if (!isImageAssessorType(xsiType)) {
    throw new SandboxHttpError(422, 'Only xnat:imageAssessorData documents can be PUT to this address.');
  }
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient create privileges for experiments in this project.',
    );
  }
  const label = submission.document?.label ?? ctx.query.get('label') ?? key;
  if (findExperimentIn(archive, project.id, label))
    throw new SandboxHttpError(409, 'Specified label is already in use.');
  validate('experiment', xsiType, submission.values);
  const id = submittedId(submission);
  checkNewId(id, archive.experiments, 'experiment');
  const assessor = newExperiment(archive, {
    xsiType,
    project: project.id,
    label,
    subjectId: '',
    imageSessionId: session.id,
    login: ctx.user.login,
    ...(id === undefined ? {} : { id }),
  });
  applyExperiment(assessor, applyQcScans(archive, assessor, submission));
  archive.experiments.set(assessor.id, assessor);
  manageStatus(ctx, assessor);
  return textReply(201, assessor.id);
}

// ---------------------------------------------------------------- scans

const MULTIPLE_MODALITIES =
  'Multiple scan modalities can be associated here.  Please retry with the specification of a particular modality (i.e. ?xsiType=xnat:mrScanData).';

/** `PUT .../scans/{scan}` (ScanResource): 200 with an empty body, new or updated. */
export async function putScan(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const session = sessionOfUrl(ctx);
  const scanId = ctx.params.scan ?? '';
  const submission = await readSubmission(ctx, 'scan');
  const existing = session.scans.find((s) => s.id === scanId);
  const xsiType = submission.xsiType ?? existing?.xsiType;
  if (xsiType === undefined) {
    if (submission.values.length === 0) throw new SandboxHttpError(417, 'Need PUT Contents');
    throw new SandboxHttpError(400, MULTIPLE_MODALITIES);
  }
  checkTypeName(xsiType);
  if (!/ScanData$/i.test(xsiType)) {
    throw new SandboxHttpError(
      400,
      `Only Scan documents can be PUT to this address. Expected: xnat:imageScanData Received: ${xsiType}`,
    );
  }
  if (xsiType === 'xnat:imageScanData' && !existing) throw new SandboxHttpError(400, MULTIPLE_MODALITIES);
  const project = owningProject(archive, session);
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      `Specified user account has insufficient ${existing ? 'edit' : 'create'} privileges for sessions in this project.`,
    );
  }
  if (existing && existing.xsiType !== 'xnat:imageScanData' && existing.xsiType !== xsiType) {
    throw new SandboxHttpError(409, 'Specified xsiType differs from existing xsiType');
  }
  validate('scan', xsiType, submission.values);
  const scan = existing ?? newScan(archive, scanId, xsiType, ctx.user.login);
  scan.xsiType = xsiType;
  applyScan(scan, submission.values);
  scan.lastModified = insertStamp();
  if (!existing) session.scans.push(scan);
  return emptyReply();
}

// ---------------------------------------------------------------- reconstructions

/** The session a reconstruction PUT names; XNAT answers 417 when there is none. */
function reconstructedSession(ctx: AuthedContext): StoredExperiment {
  try {
    return sessionOfUrl(ctx);
  } catch (error) {
    if (error instanceof SandboxHttpError && error.status === 404) {
      throw new SandboxHttpError(417, 'Specified reconstruction must reference a valid image session.');
    }
    throw error;
  }
}

/**
 * `PUT .../experiments/{e}/reconstructions/{id}` (ReconResource): 200 with an empty body, new or
 * updated. The ID is the document's or `ID=`, else the URL's; IDs are unique site-wide, so an
 * existing reconstruction of that ID is updated (and re-pointed at this session, as XNAT does).
 */
export async function putReconstruction(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const session = reconstructedSession(ctx);
  const submission = await readSubmission(ctx, 'reconstruction');
  const xsiType = submission.xsiType ?? 'xnat:reconstructedImageData';
  checkTypeName(xsiType);
  if (xsiType.toLowerCase() !== 'xnat:reconstructedimagedata') {
    throw new SandboxHttpError(422, 'Only reconstruction documents can be PUT to this address.');
  }
  const id = submittedId(submission) ?? ctx.params.reconstruction ?? '';
  const found = findReconstruction(archive, id);
  if (!canEditProject(owningProject(archive, session), ctx.user)) {
    throw new SandboxHttpError(
      403,
      `Specified user account has insufficient ${found ? 'edit' : 'create'} privileges for sessions in this project.`,
    );
  }
  validate('reconstruction', xsiType, submission.values);
  const recon = found?.reconstruction ?? newReconstruction(archive, id, ctx.user.login);
  applyReconstruction(recon, submission.values);
  const provenance = submission.elements.find((e) => e.name.endsWith('provenance'));
  if (provenance) recon.provenance = provenance;
  recon.lastModified = insertStamp();
  if (found && found.session !== session) {
    found.session.reconstructions = found.session.reconstructions?.filter((r) => r !== recon);
  }
  if (found?.session !== session) (session.reconstructions ??= []).push(recon);
  return emptyReply();
}
