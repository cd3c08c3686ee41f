/**
 * What hangs below an experiment: scans, assessors, resources and files, each in one listing request
 * under `/data/experiments/{ID}` (an experiment named by label is looked up once, see lookups.ts).
 */
import { XnatBadRequestError } from './errors.js';
import { xnatPath, type RequestContext } from './http.js';
import type { ExperimentIdLookup } from './lookups.js';
import type { Assessor, Resource, Scan, XnatFile } from './models.js';
import { notFoundHint, readTable, type ObjectOptions } from './reads.js';
import { toAssessor, toFile, toResource, toScan } from './rows.js';

export interface FileTarget {
  experiment: string;
  project?: string;
  scan?: string;
  assessor?: string;
}

export type FileContext = RequestContext & ExperimentIdLookup;

export async function listScans(
  ctx: FileContext,
  experiment: string,
  opts: ObjectOptions = {},
): Promise<Scan[]> {
  const id = await ctx.experimentId(experiment, opts.project, opts.signal);
  const path = xnatPath('data', 'experiments', id, 'scans');
  const table = await readTable(
    ctx,
    path,
    {},
    opts.signal,
    notFoundHint('Experiment', experiment, opts.project),
  );
  return table.rows.map(toScan);
}

export async function listAssessors(
  ctx: FileContext,
  experiment: string,
  opts: ObjectOptions = {},
): Promise<Assessor[]> {
  const id = await ctx.experimentId(experiment, opts.project, opts.signal);
  const path = xnatPath('data', 'experiments', id, 'assessors');
  const table = await readTable(
    ctx,
    path,
    {},
    opts.signal,
    notFoundHint('Experiment', experiment, opts.project),
  );
  return table.rows.map((row) => toAssessor(row, id));
}

/** Resources of an experiment (all of them: session, scans, assessors, reconstructions), a scan or an assessor. */
export async function listResources(
  ctx: FileContext,
  target: FileTarget,
  signal?: AbortSignal,
): Promise<Resource[]> {
  const { parent, all } = await fileParent(ctx, target, signal);
  const table = await readTable(
    ctx,
    xnatPath(...parent, 'resources'),
    all ? { all: true } : {},
    signal,
    notFoundHint('Experiment', target.experiment, target.project),
  );
  return table.rows.map(toResource);
}

/** Files of one resource, or of every resource under the target, in a single listing request. */
export async function listFiles(
  ctx: FileContext,
  target: FileTarget & { resource?: string },
  signal?: AbortSignal,
): Promise<XnatFile[]> {
  const { parent, all } = await fileParent(ctx, target, signal);
  const path = target.resource
    ? xnatPath(...parent, 'resources', target.resource, 'files')
    : xnatPath(...parent, 'files');
  const table = await readTable(
    ctx,
    path,
    all && !target.resource ? { all: true } : {},
    signal,
    notFoundHint('Experiment', target.experiment, target.project),
  );
  return table.rows.map(toFile);
}

async function fileParent(
  ctx: FileContext,
  target: FileTarget,
  signal?: AbortSignal,
): Promise<{ parent: string[]; all: boolean }> {
  if (target.scan !== undefined && target.assessor !== undefined) {
    throw new XnatBadRequestError('Give either a scan or an assessor, not both');
  }
  const id = await ctx.experimentId(target.experiment, target.project, signal);
  if (target.scan !== undefined)
    return { parent: ['data', 'experiments', id, 'scans', target.scan], all: false };
  if (target.assessor !== undefined) {
    return { parent: ['data', 'experiments', id, 'assessors', target.assessor], all: false };
  }
  return { parent: ['data', 'experiments', id], all: true };
}
