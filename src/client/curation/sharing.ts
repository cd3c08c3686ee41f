/** Sharing subjects and experiments into other projects, and taking shares back. */
import { XnatBadRequestError, XnatNotFoundError } from '../errors.js';
import { xnatPath } from '../http.js';
import type { Share } from '../models.js';
import {
  checkLabel,
  experimentPath,
  requireExperiment,
  requireSubject,
  subjectPath,
  write,
  type CurationContext,
} from './common.js';

export interface ShareRequest {
  kind: 'subject' | 'experiment';
  id: string;
  project?: string | undefined;
  toProject: string;
  /** Label in the destination project (default: the same label). */
  label?: string | undefined;
  /** Make the destination the owning project. */
  primary?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export interface UnshareRequest {
  kind: 'subject' | 'experiment';
  id: string;
  project?: string | undefined;
  fromProject: string;
  signal?: AbortSignal | undefined;
}

async function shareTarget(
  ctx: CurationContext,
  kind: 'subject' | 'experiment',
  id: string,
  project: string | undefined,
  signal: AbortSignal | undefined,
): Promise<{
  path: string[];
  read: () => Promise<{ owningProject: string; shares: Share[] }>;
  label: string;
}> {
  if (kind === 'subject') {
    const subject = await requireSubject(ctx, id, project, signal);
    return {
      path: subjectPath(subject),
      label: subject.label,
      read: async () => {
        const now = await requireSubject(ctx, subject.id, undefined, signal);
        return { owningProject: now.owningProject, shares: now.shares };
      },
    };
  }
  const experiment = await requireExperiment(ctx, id, project, signal);
  return {
    path: experimentPath(experiment),
    label: experiment.label,
    read: async () => {
      const now = await requireExperiment(ctx, experiment.id, undefined, signal);
      return { owningProject: now.owningProject, shares: now.shares };
    },
  };
}

export async function share(
  ctx: CurationContext,
  q: ShareRequest,
): Promise<{ owningProject: string; shares: Share[] }> {
  checkLabel(q.toProject, 'Destination project ID');
  if (q.label !== undefined) checkLabel(q.label, 'Label in the destination project');
  const target = await shareTarget(ctx, q.kind, q.id, q.project, q.signal);
  await write(
    ctx,
    'PUT',
    xnatPath(...target.path, 'projects', q.toProject),
    {
      ...(q.label !== undefined ? { label: q.label } : {}),
      ...(q.primary ? { primary: 'true' } : {}),
      format: 'json',
    },
    q.signal,
  );
  return target.read();
}

export async function unshare(
  ctx: CurationContext,
  q: UnshareRequest,
): Promise<{ owningProject: string; shares: Share[] }> {
  const target = await shareTarget(ctx, q.kind, q.id, q.project, q.signal);
  const before = await target.read();
  if (before.owningProject === q.fromProject) {
    throw new XnatBadRequestError(
      `${q.kind} ${target.label} is owned by ${q.fromProject}, not shared into it; to remove it there, delete it`,
    );
  }
  if (!before.shares.some((s) => s.project === q.fromProject)) {
    throw new XnatNotFoundError(`${q.kind} ${target.label} is not shared into project ${q.fromProject}`);
  }
  await write(ctx, 'DELETE', xnatPath(...target.path, 'projects', q.fromProject), {}, q.signal);
  return target.read();
}
