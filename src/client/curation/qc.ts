/**
 * A manual QC assessment of an image session (`xnat:qcManualAssessorData`): created under the
 * session through its owning project, never over an existing label, and read back.
 */
import { XnatBadRequestError, XnatConflictError } from '../errors.js';
import { xnatPath } from '../http.js';
import type { ExperimentDetail } from '../models.js';
import { checkLabel, experimentPath, requireExperiment, write, type CurationContext } from './common.js';

export const QC_ASSESSOR_TYPE = 'xnat:qcManualAssessorData';

export interface QcAssessmentRequest {
  /** The image session assessed: accession ID, or label with `project`. */
  experiment: string;
  project?: string | undefined;
  /** Default `<session label>_QC`. */
  label?: string | undefined;
  rater?: string | undefined;
  comments?: string | undefined;
  /** The overall verdict. */
  pass?: boolean | undefined;
  /** ISO date of the rating. */
  date?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface QcAssessment {
  session: ExperimentDetail;
  assessment: ExperimentDetail;
}

export async function createQcAssessment(
  ctx: CurationContext,
  q: QcAssessmentRequest,
): Promise<QcAssessment> {
  const session = await requireExperiment(ctx, q.experiment, q.project, q.signal);
  if (session.subjectId === '' || session.scans.length === 0) {
    throw new XnatBadRequestError(
      `${session.label} (${session.id}, ${session.xsiType}) is not an image session with scans; QC assesses a session`,
    );
  }
  const label = q.label ?? `${session.label}_QC`;
  checkLabel(label, 'Assessment label');
  const taken = session.assessors.find((a) => a.label === label);
  if (taken) {
    throw new XnatConflictError(
      `Experiment ${session.label} (${session.id}) already has an assessor labelled "${label}" (${taken.id}); nothing was changed (choose another label)`,
    );
  }
  const t = QC_ASSESSOR_TYPE;
  const res = await write(
    ctx,
    'PUT',
    xnatPath(...experimentPath(session), 'assessors', label),
    {
      xsiType: t,
      req_format: 'qs',
      ...(q.date !== undefined ? { [`${t}/date`]: q.date } : {}),
      ...(q.rater !== undefined ? { [`${t}/rater`]: q.rater } : {}),
      ...(q.comments !== undefined ? { [`${t}/comments`]: q.comments } : {}),
      ...(q.pass !== undefined ? { [`${t}/pass`]: q.pass ? '1' : '0' } : {}),
    },
    q.signal,
  );
  const id = res.body.trim() || label;
  const assessment = await requireExperiment(ctx, id, session.owningProject, q.signal);
  return { session, assessment };
}
