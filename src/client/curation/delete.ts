/** Deletes of subjects, experiments, scans, assessors, resources and files, always with their files. */
import { XnatBadRequestError, XnatNotFoundError } from '../errors.js';
import { xnatPath } from '../http.js';
import {
  experimentPath,
  findFile,
  findResource,
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
      await write(ctx, 'DELETE', xnatPath(...subjectPath(s)), removeFiles, signal);
      return;
    }
    case 'experiment': {
      if (!ref.experiment) throw new XnatBadRequestError('Name the experiment (ID, or label with project)');
      const e = await requireExperiment(ctx, ref.experiment, ref.project, signal);
      requireOwningContext(`Experiment ${e.label} (${e.id})`, e.owningProject, e.project, 'delete');
      await write(ctx, 'DELETE', xnatPath(...experimentPath(e)), removeFiles, signal);
      return;
    }
    case 'scan':
    case 'assessor': {
      if (ref.kind === 'scan' && ref.scan === undefined) throw new XnatBadRequestError('Name the scan ID');
      if (ref.kind === 'assessor' && ref.assessor === undefined)
        throw new XnatBadRequestError('Name the assessor');
      const parent = await resourceParent(ctx, { ...ref, resource: undefined }, signal);
      await write(ctx, 'DELETE', xnatPath(...parent.path), removeFiles, signal);
      return;
    }
    case 'resource': {
      if (!ref.resource) throw new XnatBadRequestError('Name the resource (its label)');
      const parent = await resourceParent(ctx, ref, signal);
      const r = await findResource(ctx, parent.path, ref.resource, signal);
      if (!r) throw new XnatNotFoundError(`Resource "${ref.resource}" was not found on ${parent.what}`);
      await write(ctx, 'DELETE', xnatPath(...parent.path, 'resources', r.label), removeFiles, signal);
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
      await write(
        ctx,
        'DELETE',
        xnatPath(...parent.path, 'resources', ref.resource, 'files', ...segments),
        {},
        signal,
      );
      return;
    }
  }
}
