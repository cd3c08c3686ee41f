/**
 * Deletes of subjects, experiments, scans, assessors, resources and files, always with their files.
 * A delete whose answer was lost (a reset connection; the retry then meets a 404) is judged by
 * whether the object is still there, not by the error.
 */
import { XnatBadRequestError, XnatError, XnatNotFoundError } from '../errors.js';
import { xnatPath, type QueryValue } from '../http.js';
import {
  experimentPath,
  findExperiment,
  findFile,
  findResource,
  findSubject,
  requireExperiment,
  requireOwningContext,
  requireSubject,
  resourceParent,
  subjectPath,
  write,
  type CurationContext,
  type ObjectKind,
  type ObjectRef,
} from './common.js';

export async function deleteObject(
  ctx: CurationContext,
  ref: ObjectRef & { kind: ObjectKind },
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<void> {
  const { signal } = opts;
  const removeFiles = { removeFiles: 'true' };
  switch (ref.kind) {
    case 'project':
      throw new XnatBadRequestError(
        'Deleting a whole project is not offered here; a site administrator can do it in XNAT',
      );
    case 'subject': {
      if (!ref.subject) throw new XnatBadRequestError('Name the subject (ID, or label with project)');
      const s = await requireSubject(ctx, ref.subject, ref.project, signal);
      requireOwningContext(`Subject ${s.label} (${s.id})`, s.owningProject, s.project, 'delete');
      await remove(ctx, xnatPath(...subjectPath(s)), removeFiles, signal, async () =>
        Boolean(await findSubject(ctx, s.id, undefined, signal)),
      );
      return;
    }
    case 'experiment': {
      if (!ref.experiment) throw new XnatBadRequestError('Name the experiment (ID, or label with project)');
      const e = await requireExperiment(ctx, ref.experiment, ref.project, signal);
      requireOwningContext(`Experiment ${e.label} (${e.id})`, e.owningProject, e.project, 'delete');
      await remove(ctx, xnatPath(...experimentPath(e)), removeFiles, signal, async () =>
        Boolean(await findExperiment(ctx, e.id, undefined, signal)),
      );
      return;
    }
    case 'scan':
    case 'assessor': {
      if (ref.kind === 'scan' && ref.scan === undefined) throw new XnatBadRequestError('Name the scan ID');
      if (ref.kind === 'assessor' && ref.assessor === undefined)
        throw new XnatBadRequestError('Name the assessor');
      const parent = await resourceParent(ctx, { ...ref, resource: undefined }, signal);
      const path = xnatPath(...parent.path);
      await remove(ctx, path, removeFiles, signal, () => exists(ctx, path, signal));
      return;
    }
    case 'resource': {
      if (!ref.resource) throw new XnatBadRequestError('Name the resource (its label)');
      const parent = await resourceParent(ctx, ref, signal);
      const r = await findResource(ctx, parent.path, ref.resource, signal);
      if (!r) throw new XnatNotFoundError(`Resource "${ref.resource}" was not found on ${parent.what}`);
      await remove(ctx, xnatPath(...parent.path, 'resources', r.label), removeFiles, signal, async () =>
        Boolean(await findResource(ctx, parent.path, r.label, signal)),
      );
      return;
    }
    case 'file': {
      if (!ref.resource || !ref.file)
        throw new XnatBadRequestError('Name the resource and the file path in it');
      const parent = await resourceParent(ctx, ref, signal);
      const f = await findFile(ctx, parent.path, ref.resource, ref.file, signal);
      if (!f)
        throw new XnatNotFoundError(
          `File "${ref.file}" was not found in resource ${ref.resource} of ${parent.what}`,
        );
      const segments = (f.path || f.name).split('/');
      const resource = ref.resource;
      await remove(
        ctx,
        xnatPath(...parent.path, 'resources', resource, 'files', ...segments),
        {},
        signal,
        async () => Boolean(await findFile(ctx, parent.path, resource, f.path || f.name, signal)),
      );
      return;
    }
  }
}

/**
 * Sends the DELETE. When its outcome is unclear (the connection failed, or a retry after a lost
 * answer found nothing to delete), asks XNAT whether the object is still there: gone means done.
 */
async function remove(
  ctx: CurationContext,
  path: string,
  query: Record<string, QueryValue>,
  signal: AbortSignal | undefined,
  stillThere: () => Promise<boolean>,
): Promise<void> {
  try {
    await write(ctx, 'DELETE', path, query, signal);
  } catch (err) {
    const unclear =
      err instanceof XnatError &&
      (err.kind === 'not_found' || err.kind === 'network' || err.kind === 'timeout');
    if (!unclear || signal?.aborted) throw err;
    if (await stillThere().catch(() => true)) throw err;
  }
}

/** Whether XNAT serves the object at `path` (404: it does not). */
async function exists(ctx: CurationContext, path: string, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await ctx.request({ method: 'GET', path, query: { format: 'json' }, expect: 'json', signal });
    return true;
  } catch (err) {
    if (err instanceof XnatNotFoundError) return false;
    throw err;
  }
}
