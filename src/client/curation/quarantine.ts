/** Quarantine and activation of an experiment or one of its assessors, with the status read back. */
import { xnatPath } from '../http.js';
import { parseStatus } from '../rows.js';
import { experimentPath, findAssessor, requireExperiment, write, type CurationContext } from './common.js';

export interface QuarantineRequest {
  experiment: string;
  project?: string | undefined;
  /** An assessor of the experiment (ID or label) instead of the experiment itself. */
  assessor?: string | undefined;
  quarantined: boolean;
  signal?: AbortSignal | undefined;
}

async function quarantinePath(
  ctx: CurationContext,
  q: {
    experiment: string;
    project?: string | undefined;
    assessor?: string | undefined;
    signal?: AbortSignal | undefined;
  },
): Promise<string[]> {
  const experiment = await requireExperiment(ctx, q.experiment, q.project, q.signal);
  const path = experimentPath(experiment);
  return q.assessor === undefined ? path : [...path, 'assessors', findAssessor(experiment, q.assessor).id];
}

async function readStatus(
  ctx: CurationContext,
  path: string[],
  signal: AbortSignal | undefined,
): Promise<'active' | 'quarantine'> {
  const statusPath = xnatPath(...path, 'status');
  const res = await ctx.request({ method: 'GET', path: statusPath, expect: 'text', signal });
  return parseStatus(res.body, { method: 'GET', path: statusPath });
}

/** The quarantine status of an experiment or one of its assessors. */
export async function getQuarantineStatus(
  ctx: CurationContext,
  q: {
    experiment: string;
    project?: string | undefined;
    assessor?: string | undefined;
    signal?: AbortSignal | undefined;
  },
): Promise<'active' | 'quarantine'> {
  return readStatus(ctx, await quarantinePath(ctx, q), q.signal);
}

export async function setQuarantine(
  ctx: CurationContext,
  q: QuarantineRequest,
): Promise<{ status: 'active' | 'quarantine' }> {
  const path = await quarantinePath(ctx, q);
  await write(
    ctx,
    'PUT',
    xnatPath(...path),
    q.quarantined ? { quarantine: 'true' } : { activate: 'true' },
    q.signal,
  );
  return { status: await readStatus(ctx, path, q.signal) };
}
