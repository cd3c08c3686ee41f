/**
 * File transfers between local disk and XNAT resources, streamed in both directions (memory stays
 * flat whatever the file size), several files at a time over the client's one keep-alive pool.
 *
 * Downloads land in a hidden temporary file next to the target and are renamed into place only when
 * complete and verified against XNAT's listed size and MD5; any failure or cancellation removes the
 * temporary file. Uploads never silently replace a file: the resource listing is checked first and
 * XNAT's `duplicates` answer is reported as a conflict; afterwards the listing is read again and
 * every file's size and digest is compared with what was sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, lstat, mkdir, readdir, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  XnatBadRequestError,
  XnatCancelledError,
  XnatError,
  XnatLocalFileError,
  XnatNotFoundError,
  XnatProtocolError,
  fsErrorCode,
  localFileError,
  type XnatErrorDetails,
} from './errors.js';
import { xnatPath, type RequestContext, type StreamBody } from './http.js';
import type { ExperimentIdLookup } from './lookups.js';
import type { XnatFile } from './models.js';
import { decodeSegments, parseTable, toFile } from './rows.js';
import { checkZip } from './zipcheck.js';

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

export interface UploadRequest {
  parent: ResourceParent;
  /** Resource label (`DICOM`, `NIFTI`, ...); created when missing. */
  resource: string;
  /** `remotePath` is relative to the resource root, `/`-separated (sub-folders allowed). */
  files: Array<{ localPath: string; remotePath: string }>;
  /** One zip file that XNAT extracts into the resource (checked locally first). */
  extractZip?: boolean;
  /** Replace files that already exist; without it they are reported as conflicts and left alone. */
  overwrite?: boolean;
  format?: string;
  content?: string;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
}

export interface UploadResult {
  /** What XNAT now holds, read back from its listing; `verified`: size and MD5 both match the local file. */
  uploaded: Array<{ remotePath: string; size: number; digest: string; verified: boolean }>;
  /** Remote paths that already existed and were left unchanged (no `overwrite`). */
  conflicts: string[];
}

export interface DownloadRequest {
  files: XnatFile[];
  /** Absolute local directory (created when missing). */
  destDir: string;
  /** `xnat`: `[scans/<id>/]resources/<label>/files/<path>` as in XNAT's zips; `flat`: file names only. */
  layout: 'xnat' | 'flat';
  overwrite?: boolean;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
}

export interface DownloadResult {
  files: Array<{
    localPath: string;
    size: number;
    digest: string;
    checksum: 'match' | 'mismatch' | 'unavailable';
  }>;
  /** Files not downloaded because a local file was already there (identical, or different without `overwrite`). */
  skipped: Array<{ localPath: string; reason: string }>;
}

/** What the transfer functions need from the client: its one authenticated session, and ID lookups. */
export type TransferContext = RequestContext & ExperimentIdLookup;

export const DEFAULT_CONCURRENCY = 4;
const MAX_CONCURRENCY = 16;
/** A download cut off mid-stream is restarted this many times before the file counts as failed. */
const DOWNLOAD_RETRIES = 2;
const PARTIAL_MARKER = '.xnat-mcp-partial-';
const DATA_URI = /^\/(data|REST)\/[^?#]+$/;

function checkConcurrency(value: number | undefined): number {
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

function checkResourceLabel(label: string): void {
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

async function listAt(
  ctx: TransferContext,
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
class Digesting extends Transform {
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

async function md5OfFile(path: string, signal?: AbortSignal): Promise<{ size: number; digest: string }> {
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
async function runPool<T>(
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
function withSummary(err: unknown, summary: string): XnatError {
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

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------
// Uploads

interface PlannedUpload {
  localPath: string;
  remotePath: string;
  size: number;
}

export async function upload(ctx: TransferContext, q: UploadRequest): Promise<UploadResult> {
  const { signal } = q;
  const concurrency = checkConcurrency(q.concurrency);
  checkResourceLabel(q.resource);
  if (q.files.length === 0) throw new XnatBadRequestError('There are no files to upload');
  if (q.extractZip && q.files.length !== 1) {
    throw new XnatBadRequestError('extractZip takes exactly one zip file');
  }
  const seen = new Set<string>();
  for (const f of q.files) {
    checkRemotePath(f.remotePath);
    if (seen.has(f.remotePath)) {
      throw new XnatBadRequestError(`Two local files would both become ${f.remotePath} in the resource`);
    }
    seen.add(f.remotePath);
  }
  const planned: PlannedUpload[] = [];
  for (const f of q.files) {
    let info;
    try {
      info = await stat(f.localPath);
    } catch (err) {
      throw localFileError('read', f.localPath, err);
    }
    if (!info.isFile()) throw new XnatLocalFileError(`Cannot upload ${f.localPath}: not a regular file`);
    planned.push({ localPath: f.localPath, remotePath: f.remotePath, size: info.size });
  }
  // The names XNAT will hold afterwards: the zip's entries when it extracts, else the remote paths.
  const zipEntries = q.extractZip ? await checkZip(planned[0]!.localPath) : undefined;
  const zipFolder = planned[0]!.remotePath.includes('/') ? dirname(planned[0]!.remotePath) : '';
  const expected = zipEntries
    ? zipEntries
        .filter((e) => !e.directory)
        .map((e) => ({ remotePath: zipFolder ? `${zipFolder}/${e.name}` : e.name, size: e.size }))
    : planned.map((p) => ({ remotePath: p.remotePath, size: p.size }));

  const resourcePath = [...(await resourceParentPath(ctx, q.parent, signal)), 'resources', q.resource];
  const existing = await listAt(ctx, resourcePath, signal);
  const existingPaths = new Set((existing ?? []).map((f) => f.path));
  const conflicts = q.overwrite
    ? []
    : expected.filter((e) => existingPaths.has(e.remotePath)).map((e) => e.remotePath);
  // An archive is extracted as a whole: any clash means nothing is sent.
  const toSend = zipEntries
    ? conflicts.length > 0
      ? []
      : planned
    : planned.filter((p) => !existingPaths.has(p.remotePath) || q.overwrite);
  if (toSend.length === 0) return { uploaded: [], conflicts };

  if (existing === undefined) {
    // Created once up front: parallel first uploads would otherwise race to create it.
    try {
      await ctx.request({
        method: 'PUT',
        path: xnatPath(...resourcePath),
        query: { format: q.format, content: q.content },
        signal,
      });
    } catch (err) {
      if (!(err instanceof XnatError && err.kind === 'conflict')) throw err;
    }
  }

  const bytesTotal = toSend.reduce((sum, p) => sum + p.size, 0);
  let bytesDone = 0;
  let filesDone = 0;
  const sentDigests = new Map<string, string>();
  const report = (current: string): void =>
    q.onProgress?.({ bytesDone, bytesTotal, filesDone, filesTotal: toSend.length, current });

  await runPool(
    toSend,
    concurrency,
    async (file) => {
      let attemptBytes = 0;
      let digesting: Digesting | undefined;
      const body: StreamBody = {
        length: file.size,
        open(): Readable {
          // A retry after a re-login starts over: take back the bytes of the failed attempt.
          bytesDone -= attemptBytes;
          attemptBytes = 0;
          const current = new Digesting((n) => {
            attemptBytes += n;
            bytesDone += n;
            report(file.remotePath);
          });
          digesting = current;
          const source = createReadStream(file.localPath);
          source.on('error', (err) => current.destroy(localFileError('read', file.localPath, err)));
          current.on('close', () => source.destroy());
          return source.pipe(current);
        },
      };
      const res = await ctx.request({
        method: 'PUT',
        path: xnatPath(...resourcePath, 'files', ...checkRemotePath(file.remotePath)),
        query: {
          inbody: true,
          overwrite: q.overwrite ? true : undefined,
          extract: q.extractZip ? true : undefined,
          format: q.format,
          content: q.content,
        },
        headers: { 'content-type': q.extractZip ? 'application/zip' : 'application/octet-stream' },
        body,
        signal,
      });
      if (/"duplicates"/.test(res.body)) {
        // XNAT kept its file (someone wrote it since the listing): a conflict, not an upload.
        conflicts.push(file.remotePath);
      } else if (digesting !== undefined && digesting.bytes === file.size) {
        sentDigests.set(file.remotePath, digesting.digest());
      } else {
        throw new XnatLocalFileError(`${file.localPath} changed size while it was being uploaded`);
      }
      filesDone++;
      report(file.remotePath);
    },
    signal,
  ).catch((err: unknown) => {
    throw withSummary(
      err,
      `${plural(filesDone, 'file')} of ${toSend.length} had been uploaded to ${q.resource} before the upload stopped`,
    );
  });

  // Read back what XNAT holds and compare it with what was sent.
  const refused = new Set(conflicts);
  const after = new Map(((await listAt(ctx, resourcePath, signal)) ?? []).map((f) => [f.path, f]));
  const uploaded: UploadResult['uploaded'] = [];
  const sentPaths = new Set(toSend.map((p) => p.remotePath));
  for (const e of expected) {
    if (refused.has(e.remotePath)) continue;
    if (!zipEntries && !sentPaths.has(e.remotePath)) continue;
    const remote = after.get(e.remotePath);
    if (remote === undefined) {
      throw new XnatProtocolError(
        `XNAT accepted ${e.remotePath} but does not list it in resource ${q.resource}; check the resource`,
      );
    }
    if (remote.size !== e.size) {
      throw new XnatProtocolError(
        `XNAT holds ${remote.size} bytes for ${e.remotePath} but ${e.size} were sent; upload it again with overwrite`,
      );
    }
    const sent = sentDigests.get(e.remotePath);
    if (sent !== undefined && remote.digest !== '' && remote.digest !== sent) {
      throw new XnatProtocolError(
        `XNAT's MD5 of ${e.remotePath} (${remote.digest}) differs from the file sent (${sent}); upload it again with overwrite`,
      );
    }
    uploaded.push({
      remotePath: e.remotePath,
      size: remote.size,
      digest: remote.digest,
      // Extracted entries are checked by size only: their MD5 is not known locally.
      verified: sent !== undefined && remote.digest === sent,
    });
  }
  return { uploaded, conflicts };
}

// ---------------------------------------------------------------------------------------------
// Downloads

/** The local path of a file below the destination, relative, per layout. */
function localRelativePath(file: XnatFile, layout: 'xnat' | 'flat'): string {
  const segments = file.path.split('/');
  if (file.path === '' || segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\'))) {
    throw new XnatProtocolError(`XNAT listed a file with an unusable path "${file.path}"`);
  }
  if (layout === 'flat') return segments[segments.length - 1]!;
  // `/data/experiments/E/scans/1/resources/123/files/x` → `scans/1/resources/<label>/files/x`.
  const owner = /\/((?:scans|assessors|reconstructions)\/[^/]+\/(?:(?:in|out)\/)?)resources\//.exec(file.uri);
  const ownerPath = owner?.[1] ? decodeSegments(owner[1]) : '';
  const folder = `${ownerPath}resources/${file.resource}/files`;
  if (folder.split('/').some((s) => s === '' || s === '.' || s === '..' || s.includes('\\'))) {
    throw new XnatProtocolError(`XNAT listed a file with an unusable location "${file.uri}"`);
  }
  return [...folder.split('/'), ...segments].join(sep);
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

function partialName(target: string): string {
  return join(dirname(target), `.${basename(target)}${PARTIAL_MARKER}${randomBytes(6).toString('hex')}`);
}

/** A failure worth restarting the file for: the stream broke, not the request. */
function isRestartable(err: unknown): boolean {
  if (err instanceof XnatCancelledError || err instanceof XnatLocalFileError) return false;
  if (err instanceof XnatError)
    return err.kind === 'network' || err.kind === 'timeout' || err.kind === 'protocol';
  const code = fsErrorCode(err);
  return code !== undefined && /^(ECONNRESET|EPIPE|UND_ERR|ERR_STREAM_PREMATURE_CLOSE)/.test(code);
}

export async function download(ctx: TransferContext, q: DownloadRequest): Promise<DownloadResult> {
  const { signal } = q;
  const concurrency = checkConcurrency(q.concurrency);
  if (!isAbsolute(q.destDir)) throw new XnatBadRequestError(`destDir must be absolute (got ${q.destDir})`);
  const planned = q.files.map((file) => {
    if (!DATA_URI.test(file.uri) || file.uri.split('/').includes('..')) {
      throw new XnatProtocolError(`XNAT listed a file with an unusable URI "${file.uri}"`);
    }
    return { file, localPath: join(q.destDir, localRelativePath(file, q.layout)) };
  });
  const byPath = new Map<string, XnatFile>();
  for (const p of planned) {
    const other = byPath.get(p.localPath);
    if (other !== undefined) {
      throw new XnatBadRequestError(
        `${other.uri} and ${p.file.uri} would both be saved as ${p.localPath}; use layout "xnat" to keep XNAT's folders`,
      );
    }
    byPath.set(p.localPath, p.file);
  }
  let root: string;
  try {
    await mkdir(q.destDir, { recursive: true });
    root = await realpath(q.destDir);
  } catch (err) {
    throw localFileError('create the folder', q.destDir, err);
  }

  const result: DownloadResult = { files: [], skipped: [] };
  const bytesTotal = planned.reduce((sum, p) => sum + p.file.size, 0);
  let bytesDone = 0;
  let filesDone = 0;
  const report = (current: string): void =>
    q.onProgress?.({ bytesDone, bytesTotal, filesDone, filesTotal: planned.length, current });

  const downloadOne = async ({ file, localPath }: { file: XnatFile; localPath: string }): Promise<void> => {
    const folder = dirname(localPath);
    try {
      // A symbolic link among the sub-folders must not carry the file out of the destination:
      // checked on the nearest existing folder before anything is created below it.
      let existing = folder;
      while (
        !(await lstat(existing).then(
          () => true,
          () => false,
        ))
      )
        existing = dirname(existing);
      const realFolder = await realpath(existing);
      if (realFolder !== root && !isInside(root, realFolder)) {
        throw new XnatLocalFileError(`Refusing to write ${localPath}: its folder leads outside ${q.destDir}`);
      }
      await mkdir(folder, { recursive: true });
    } catch (err) {
      throw localFileError('create the folder', folder, err);
    }
    const finish = (): void => {
      filesDone++;
      report(file.path);
    };
    const present = await lstat(localPath).catch(() => undefined);
    if (present !== undefined && !q.overwrite) {
      result.skipped.push({ localPath, reason: await whyKept(localPath, present.isFile(), file, signal) });
      bytesDone += file.size;
      return finish();
    }
    for (let attempt = 0; ; attempt++) {
      const partial = partialName(localPath);
      let attemptBytes = 0;
      try {
        const got = await fetchToFile(ctx, file, partial, signal, (n) => {
          attemptBytes += n;
          bytesDone += n;
          report(file.path);
        });
        if (got.size !== file.size) {
          throw new XnatProtocolError(`XNAT listed ${file.size} bytes for ${file.path} but sent ${got.size}`);
        }
        if (file.digest !== '' && got.digest !== file.digest) {
          throw new XnatProtocolError(
            `${file.path} arrived with MD5 ${got.digest}, but XNAT lists ${file.digest}`,
          );
        }
        const placed = await place(partial, localPath, q.overwrite === true);
        if (!placed) {
          result.skipped.push({ localPath, reason: 'a local file appeared meanwhile; kept it' });
        } else {
          result.files.push({
            localPath,
            size: got.size,
            digest: got.digest,
            checksum: file.digest === '' ? 'unavailable' : 'match',
          });
        }
        return finish();
      } catch (err) {
        await rm(partial, { force: true });
        bytesDone -= attemptBytes;
        if (attempt < DOWNLOAD_RETRIES && !signal?.aborted && isRestartable(err)) continue;
        throw signal?.aborted ? new XnatCancelledError('The download was cancelled') : err;
      }
    }
  };

  await runPool(planned, concurrency, downloadOne, signal).catch((err: unknown) => {
    const kept = result.files.length;
    throw withSummary(
      err,
      `${plural(kept, 'file')} of ${planned.length} had been downloaded and verified into ${q.destDir} (kept), ${result.skipped.length} skipped; no partial file was left. Repeating the same call resumes: completed files are recognised and skipped`,
    );
  });
  return result;
}

/** Why an existing local file is kept: identical to XNAT's, or different (then `overwrite` replaces it). */
async function whyKept(
  localPath: string,
  regular: boolean,
  file: XnatFile,
  signal: AbortSignal | undefined,
): Promise<string> {
  if (!regular) return 'something that is not a regular file is in the way; kept it';
  try {
    const local = await md5OfFile(localPath, signal);
    if (local.size === file.size && (file.digest === '' || local.digest === file.digest)) {
      return file.digest === '' ? 'already present with the same size' : 'already present and identical';
    }
  } catch (err) {
    if (signal?.aborted) throw new XnatCancelledError('The download was cancelled');
    throw localFileError('read', localPath, err);
  }
  return 'a different local file exists; pass overwrite to replace it';
}

async function fetchToFile(
  ctx: TransferContext,
  file: XnatFile,
  partial: string,
  signal: AbortSignal | undefined,
  onChunk: (bytes: number) => void,
): Promise<{ size: number; digest: string }> {
  const res = await ctx.request({ method: 'GET', path: file.uri, streamResponse: true, signal });
  const stream = res.stream;
  if (stream === undefined) throw new XnatProtocolError(`XNAT sent no body for ${file.path}`);
  const digesting = new Digesting(onChunk);
  // `wx`: never write through a file (or link) that appeared under the temporary name; `flush`: fsync before close.
  const out = createWriteStream(partial, { flags: 'wx', flush: true });
  let localFailure: unknown;
  out.on('error', (err) => (localFailure = err));
  try {
    await pipeline(stream, digesting, out, { signal });
  } catch (err) {
    if (signal?.aborted) throw new XnatCancelledError('The download was cancelled');
    if (localFailure !== undefined) throw localFileError('write', partial, localFailure);
    throw new XnatProtocolError(`The download of ${file.path} broke off after ${digesting.bytes} bytes`, {
      method: 'GET',
      path: file.uri,
      cause: err,
    });
  }
  return { size: digesting.bytes, digest: digesting.digest() };
}

/**
 * Moves a verified download into place. Without overwrite a hard link refuses to replace a file that
 * appeared in the meantime (no clobbering race); file systems without hard links fall back to a check.
 */
async function place(partial: string, target: string, overwrite: boolean): Promise<boolean> {
  if (overwrite) {
    await rename(partial, target);
    return true;
  }
  try {
    await link(partial, target);
  } catch (err) {
    const code = fsErrorCode(err);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV')
      throw localFileError('write', target, err);
    if (
      await lstat(target).then(
        () => true,
        () => false,
      )
    )
      return false;
    await rename(partial, target);
    return true;
  }
  await unlink(partial);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Local folders

export interface LocalFile {
  localPath: string;
  /** Path below the folder, `/`-separated. */
  relativePath: string;
  size: number;
}

/**
 * Every regular file below a folder. Symbolic links are not followed (they could lead outside the
 * folder the caller was allowed to read); they are returned as `skipped`.
 */
export async function listLocalFiles(folder: string): Promise<{ files: LocalFile[]; skipped: string[] }> {
  const files: LocalFile[] = [];
  const skipped: string[] = [];
  const walk = async (dir: string, prefix: string[]): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      throw localFileError('read the folder', dir, err);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, [...prefix, entry.name]);
      else if (entry.isFile()) {
        const size = await stat(path).then(
          (info) => info.size,
          (err: unknown) => {
            throw localFileError('read', path, err);
          },
        );
        files.push({ localPath: path, relativePath: [...prefix, entry.name].join('/'), size });
      } else skipped.push(path);
    }
  };
  await walk(folder, []);
  return { files, skipped };
}
