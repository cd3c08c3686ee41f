/**
 * A manual QC assessment of an image session (`xnat:qcManualAssessorData`): created under the
 * session through its owning project, never over an existing label, and read back. Per-scan
 * ratings go in its `scans/scan` elements (`xnat:qcScanData`), addressed as XNAT's own QC form
 * addresses them: `scans/scan[N]/imageScan_ID`, `.../rating`, `.../comments`, `.../pass`.
 */
import { XnatBadRequestError, XnatConflictError } from '../errors.js';
import { xnatPath } from '../http.js';
import type { ExperimentDetail } from '../models.js';
import { checkLabel, experimentPath, requireExperiment, write, type CurationContext } from './common.js';

export const QC_ASSESSOR_TYPE = 'xnat:qcManualAssessorData';

/** One scan's rating inside the assessment. */
export interface QcScanRating {
  /** The image scan's ID in the session. */
  scan: string;
  /** E.g. usable, questionable, unusable. */
  rating?: string | undefined;
  comments?: string | undefined;
  pass?: boolean | undefined;
}

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
  /** Per-scan ratings, each of a scan of the session (read back as the assessment's `scans`). */
  scans?: readonly QcScanRating[] | undefined;
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
  const scans = q.scans ?? [];
  const unknown = scans.filter((r) => !session.scans.some((s) => s.id === r.scan)).map((r) => r.scan);
  if (unknown.length > 0) {
    throw new XnatBadRequestError(
      `Scan ${unknown.join(', ')} is not in ${session.label}; its scans are ${session.scans.map((s) => s.id).join(', ')}`,
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
      ...Object.fromEntries(scans.flatMap((r, i) => scanParams(`${t}/scans/scan[${i}]`, r))),
    },
    q.signal,
  );
  const id = res.body.trim() || label;
  const assessment = await requireExperiment(ctx, id, session.owningProject, q.signal);
  return { session, assessment };
}

function scanParams(path: string, r: QcScanRating): Array<[string, string]> {
  return [
    [`${path}/imageScan_ID`, r.scan],
    ...(r.rating !== undefined ? [[`${path}/rating`, r.rating] as [string, string]] : []),
    ...(r.comments !== undefined ? [[`${path}/comments`, r.comments] as [string, string]] : []),
    ...(r.pass !== undefined ? [[`${path}/pass`, r.pass ? '1' : '0'] as [string, string]] : []),
  ];
}
