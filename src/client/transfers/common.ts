/**
 * What uploads and downloads share: where a resource hangs, its file listing, checks of remote paths
 * and labels, a bounded worker pool, byte counting with MD5, and errors that say what was done.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  XnatBadRequestError,
  XnatCancelledError,
  XnatError,
  XnatLocalFileError,
  XnatNotFoundError,
  type XnatErrorDetails,
} from '../errors.js';
import { xnatPath, type RequestContext } from '../http.js';
import type { ExperimentIdLookup } from '../lookups.js';
import type { XnatFile } from '../models.js';
import { parseTable, toFile } from '../rows.js';

export interface TransferProgress {
  bytesDone: number;
  bytesTotal?: number;
  filesDone: number;
  filesTotal: number;
  /** Remote path of the file last worked on. */
  current?: string;
}

/**
 * Where a resource hangs. The most specific object given wins: an experiment (accession ID, or label
 * with `project`) optionally narrowed to one `scan` or `assessor`; else a subject (ID, or label with
 * `project`); else the project itself.
 */
export interface ResourceParent {
  project?: string | undefined;
  subject?: string | undefined;
  experiment?: string | undefined;
  scan?: string | undefined;
  assessor?: string | undefined;
}

/** What the transfer functions need from the client: its one authenticated session, and ID lookups. */
export type TransferContext = RequestContext & ExperimentIdLookup;

export const DEFAULT_CONCURRENCY = 4;

const MAX_CONCURRENCY = 16;

export function checkConcurrency(value: number | undefined): number {
  const n = value ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) {
    throw new XnatBadRequestError(`concurrency must be an integer from 1 to ${MAX_CONCURRENCY} (got ${n})`);
  }
  return n;
}

/** A path inside a resource: relative, `/`-separated, no empty, `.` or `..` segments. */
export function checkRemotePath(path: string): string[] {
  const segments = path.split('/');
  if (
    path === '' ||
    path.includes('\\') ||
    path.includes('\0') ||
    segments.some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new XnatBadRequestError(
      `Invalid remote path "${path}": use a relative path inside the resource like "dir/file.dcm" (no "..", no leading or doubled "/")`,
    );
  }
  return segments;
}

export function checkResourceLabel(label: string): void {
  if (label === '' || /[/\\?#%]/.test(label) || label === '.' || label === '..') {
    throw new XnatBadRequestError(`Invalid resource label "${label}": use a plain name like DICOM or NIFTI`);
  }
}

/** Path segments of the object a resource hangs on. */
export async function resourceParentPath(
  ctx: TransferContext,
  parent: ResourceParent,
  signal?: AbortSignal,
): Promise<string[]> {
  const { project, subject, experiment, scan, assessor } = parent;
  if (scan !== undefined && assessor !== undefined) {
    throw new XnatBadRequestError('Give either a scan or an assessor, not both');
  }
  if (experiment !== undefined) {
    const id = await ctx.experimentId(experiment, project, signal);
    if (scan !== undefined) return ['data', 'experiments', id, 'scans', scan];
    // Assessor files live in its `out` resources (the `in` ones are its inputs).
    if (assessor !== undefined) return ['data', 'experiments', id, 'assessors', assessor, 'out'];
    return ['data', 'experiments', id];
  }
  if (scan !== undefined || assessor !== undefined) {
    throw new XnatBadRequestError('A scan or assessor needs its experiment');
  }
  if (subject !== undefined) {
    return project ? ['data', 'projects', project, 'subjects', subject] : ['data', 'subjects', subject];
  }
  if (project !== undefined) return ['data', 'projects', project];
  throw new XnatBadRequestError('Name where the resource hangs: a project, subject or experiment');
}

/** The files of one resource, or undefined when the resource does not exist. */
export async function listResourceFiles(
  ctx: TransferContext,
  parent: ResourceParent,
  resource: string,
  signal?: AbortSignal,
): Promise<XnatFile[] | undefined> {
  checkResourceLabel(resource);
  const base = await resourceParentPath(ctx, parent, signal);
  return listAt(ctx, [...base, 'resources', resource], signal);
}

export async function listAt(
  ctx: RequestContext,
  resourcePath: string[],
  signal: AbortSignal | undefined,
): Promise<XnatFile[] | undefined> {
  const path = xnatPath(...resourcePath, 'files');
  try {
    const res = await ctx.request({ method: 'GET', path, query: { format: 'json' }, expect: 'json', signal });
    return parseTable(res.body, { method: 'GET', path }).rows.map(toFile);
  } catch (err) {
    if (err instanceof XnatNotFoundError) return undefined;
    throw err;
  }
}

/** Counts bytes and computes the MD5 of what flows through, reporting each chunk. */
export class Digesting extends Transform {
  private readonly hash = createHash('md5');
  bytes = 0;
  constructor(private readonly onChunk: (bytes: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onChunk(chunk.length);
    done(null, chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Size and MD5 of a local file, streamed. */
export async function md5OfFile(
  path: string,
  signal?: AbortSignal,
): Promise<{ size: number; digest: string }> {
  const digesting = new Digesting(() => undefined);
  await pipeline(
    createReadStream(path),
    digesting,
    async (source: AsyncIterable<Buffer>) => {
      for await (const _chunk of source) {
        // drained: only the hash matters
      }
    },
    { signal },
  );
  return { size: digesting.bytes, digest: digesting.digest() };
}

/** Runs `work` over `items` with at most `limit` at once; stops starting new items after the first failure. */
export async function runPool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && !signal?.aborted && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  if (signal?.aborted) throw new XnatCancelledError('The transfer was cancelled');
}

/** Re-throws `err` (same class) with what the transfer achieved before it stopped. */
export function withSummary(err: unknown, summary: string): XnatError {
  const base =
    err instanceof XnatError
      ? err
      : new XnatLocalFileError(err instanceof Error ? err.message : String(err), { cause: err });
  const ErrorClass = base.constructor as new (message: string, details?: XnatErrorDetails) => XnatError;
  return new ErrorClass(`${base.message}. ${summary}`, {
    method: base.method,
    path: base.path,
    status: base.status,
    xnatMessage: base.xnatMessage,
    cause: base,
  });
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
