/**
 * Downloads of listed files into a local folder, streamed, several at a time. Each file lands in a
 * hidden temporary file next to its target and is renamed into place only when complete and verified
 * against XNAT's listed size and MD5; any failure or cancellation removes the temporary file.
 */
import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  XnatBadRequestError,
  XnatCancelledError,
  XnatError,
  XnatLocalFileError,
  XnatProtocolError,
  fsErrorCode,
  localFileError,
} from '../errors.js';
import type { XnatFile } from '../models.js';
import { decodeSegments } from '../rows.js';
import {
  Digesting,
  checkConcurrency,
  md5OfFile,
  plural,
  runPool,
  withSummary,
  type TransferContext,
  type TransferProgress,
} from './common.js';
import {
  checkBeforePlacing,
  discardPartial,
  isInside,
  openPartial,
  partialSink,
  placePartial,
  sweepPartials,
  syncFolder,
  type Partial,
} from './partials.js';

export interface DownloadRequest {
  files: XnatFile[];
  /** Absolute local directory (created when missing). */
  destDir: string;
  /**
   * `xnat`: `[scans/<id>/]resources/<label>/files/<path>` as in XNAT's zips; `flat`: file names only;
   * a function: the relative path each file is saved as (`/`-separated, checked like XNAT's).
   */
  layout: DownloadLayout;
  overwrite?: boolean;
  concurrency?: number;
  /** False: never fetch a resource's many small files as XNAT's zip of it (one request per file). */
  zip?: boolean;
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

/** A download cut off mid-stream is restarted this many times before the file counts as failed. */
const DOWNLOAD_RETRIES = 2;

const DATA_URI = /^\/(data|REST)\/[^?#]+$/;

export type DownloadLayout = 'xnat' | 'flat' | ((file: XnatFile) => string);

const unusableSegments = (segments: string[]): boolean =>
  segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\'));

/** The local path of a file below the destination, relative, per layout. */
function localRelativePath(file: XnatFile, layout: DownloadLayout): string {
  const segments = file.path.split('/');
  if (file.path === '' || unusableSegments(segments)) {
    throw new XnatProtocolError(`XNAT listed a file with an unusable path "${file.path}"`);
  }
  if (typeof layout === 'function') {
    const named = layout(file).split('/');
    if (unusableSegments(named)) throw new XnatBadRequestError(`Unusable local path "${named.join('/')}"`);
    return named.join(sep);
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

/** A failure worth restarting the file for: the stream broke, not the request. */
function isRestartable(err: unknown): boolean {
  if (err instanceof XnatCancelledError || err instanceof XnatLocalFileError) return false;
  if (err instanceof XnatError)
    return err.kind === 'network' || err.kind === 'timeout' || err.kind === 'protocol';
  const code = fsErrorCode(err);
  return code !== undefined && /^(ECONNRESET|EPIPE|UND_ERR|ERR_STREAM_PREMATURE_CLOSE)/.test(code);
}

interface PlannedDownload {
  file: XnatFile;
  localPath: string;
}

export async function download(ctx: TransferContext, q: DownloadRequest): Promise<DownloadResult> {
  const { signal } = q;
  const concurrency = checkConcurrency(q.concurrency);
  const planned = planDownloads(q);
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

  const swept = new Set<string>();
  const downloadOne = async ({ file, localPath }: PlannedDownload): Promise<void> => {
    await prepareFolder(root, localPath, q.destDir);
    // Temporary files of a killed earlier run go on the first visit of each folder.
    const folder = dirname(localPath);
    if (!swept.has(folder)) {
      swept.add(folder);
      await sweepPartials(folder);
    }
    const present = await lstat(localPath).catch(() => undefined);
    if (present !== undefined && !q.overwrite) {
      result.skipped.push({ localPath, reason: await whyKept(localPath, present.isFile(), file, signal) });
      bytesDone += file.size;
    } else {
      const got = await fetchVerified(ctx, { root, file, localPath }, q, {
        chunk: (n) => {
          bytesDone += n;
          report(file.path);
        },
        takeBack: (n) => (bytesDone -= n),
      });
      if (got === undefined) {
        result.skipped.push({ localPath, reason: 'a local file appeared meanwhile; kept it' });
      } else {
        const checksum = file.digest === '' ? 'unavailable' : 'match';
        result.files.push({ localPath, size: got.size, digest: got.digest, checksum });
      }
    }
    filesDone++;
    report(file.path);
  };

  const delivered = (item: PlannedDownload, got: { size: number; digest: string } | undefined): void => {
    if (got === undefined) {
      result.skipped.push({ localPath: item.localPath, reason: 'a local file appeared meanwhile; kept it' });
    } else {
      const checksum = item.file.digest === '' ? 'unavailable' : 'match';
      result.files.push({ localPath: item.localPath, size: got.size, digest: got.digest, checksum });
    }
    bytesDone += item.file.size;
    filesDone++;
    report(item.file.path);
  };
  await zipFirst(ctx, planned, root, q, concurrency, delivered)
    .then((zipped) =>
      runPool(
        zipped.size === 0 ? planned : planned.filter((p) => !zipped.has(p)),
        concurrency,
        downloadOne,
        signal,
      ),
    )
    // Each file's data was flushed before it took its name; the names are flushed once per folder.
    .finally(() => Promise.all([...new Set(result.files.map((f) => dirname(f.localPath)))].map(syncFolder)))
    .catch((err: unknown) => {
      const kept = result.files.length;
      throw withSummary(
        err,
        `${plural(kept, 'file')} of ${planned.length} had been downloaded and verified into ${q.destDir} (kept), ${result.skipped.length} skipped; no partial file was left. Repeating the same call resumes: completed files are recognised and skipped`,
      );
    });
  return result;
}

/**
 * Resources of many small files come as XNAT's zip of each (zip-download.ts, loaded only then);
 * returns the downloads delivered that way. Files already present locally are left to `downloadOne`.
 */
async function zipFirst(
  ctx: TransferContext,
  planned: PlannedDownload[],
  root: string,
  q: DownloadRequest,
  concurrency: number,
  delivered: (item: PlannedDownload, got: { size: number; digest: string } | undefined) => void,
): Promise<Set<PlannedDownload>> {
  const done = new Set<PlannedDownload>();
  if (q.zip === false || planned.length < 2) return done;
  const { downloadZipped, zipGroups } = await import('./zip-download.js');
  const absent: PlannedDownload[] = [];
  // Synchronous: thousands of lookups through the thread pool cost more than the lookups themselves.
  for (const p of planned) {
    if (q.overwrite === true || !existsLocally(p.localPath)) absent.push(p);
  }
  for (const group of zipGroups(absent)) {
    const zipped = await downloadZipped(ctx, group, {
      root,
      destDir: q.destDir,
      overwrite: q.overwrite === true,
      concurrency,
      signal: q.signal,
      prepareFolder: (localPath) => prepareFolder(root, localPath, q.destDir),
      delivered,
    });
    for (const item of zipped) done.add(item);
  }
  return done;
}

/** Something (anything) is at `path`; a path that cannot be looked up counts as free, as before a download. */
function existsLocally(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/** Each file's local path; two files may not land on the same one. */
function planDownloads(q: DownloadRequest): PlannedDownload[] {
  if (!isAbsolute(q.destDir)) throw new XnatBadRequestError(`destDir must be absolute (got ${q.destDir})`);
  // Normalised once; each relative path is checked segment by segment, so joining is concatenation.
  const base = normalize(q.destDir).replace(/[\\/]+$/, '');
  const planned = q.files.map((file) => {
    if (!DATA_URI.test(file.uri) || file.uri.includes('/../') || file.uri.endsWith('/..')) {
      throw new XnatProtocolError(`XNAT listed a file with an unusable URI "${file.uri}"`);
    }
    return { file, localPath: `${base}${sep}${localRelativePath(file, q.layout)}` };
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
  return planned;
}

/** Creates the folder of a download, refusing one a symbolic link leads outside the destination. */
async function prepareFolder(root: string, localPath: string, destDir: string): Promise<void> {
  const folder = dirname(localPath);
  try {
    // Checked on the nearest existing folder before anything is created below it.
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
      throw new XnatLocalFileError(`Refusing to write ${localPath}: its folder leads outside ${destDir}`);
    }
    await mkdir(folder, { recursive: true });
  } catch (err) {
    throw localFileError('create the folder', folder, err);
  }
}

/**
 * Fetches one file into a temporary file, verifies it and moves it into place, restarting a broken
 * stream a few times; the bytes of a failed attempt are taken back from the progress.
 * Undefined when a local file appeared meanwhile and was kept.
 */
async function fetchVerified(
  ctx: TransferContext,
  where: { root: string; file: XnatFile; localPath: string },
  q: DownloadRequest,
  progress: { chunk: (bytes: number) => void; takeBack: (bytes: number) => void },
): Promise<{ size: number; digest: string } | undefined> {
  const { signal } = q;
  const { root, file, localPath } = where;
  for (let attempt = 0; ; attempt++) {
    let partial: Partial | undefined;
    let attemptBytes = 0;
    try {
      // Opened once XNAT answers, and checked against the root then, not only before asking.
      const openFile = async (): Promise<Partial> =>
        (partial = await openPartial(root, q.destDir, localPath));
      const got = await fetchToFile(ctx, file, openFile, signal, (n) => {
        attemptBytes += n;
        progress.chunk(n);
      });
      if (got.size !== file.size) {
        throw new XnatProtocolError(`XNAT listed ${file.size} bytes for ${file.path} but sent ${got.size}`);
      }
      if (file.digest !== '' && got.digest !== file.digest) {
        throw new XnatProtocolError(
          `${file.path} arrived with MD5 ${got.digest}, but XNAT lists ${file.digest}`,
        );
      }
      await checkBeforePlacing(root, q.destDir, [{ partial: partial!, target: localPath }]);
      const placed = await placePartial(partial!, localPath, q.overwrite === true);
      return placed ? got : undefined;
    } catch (err) {
      if (partial !== undefined) await discardPartial(partial);
      progress.takeBack(attemptBytes);
      if (attempt < DOWNLOAD_RETRIES && !signal?.aborted && isRestartable(err)) continue;
      throw signal?.aborted ? new XnatCancelledError('The download was cancelled') : err;
    }
  }
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
  openFile: () => Promise<Partial>,
  signal: AbortSignal | undefined,
  onChunk: (bytes: number) => void,
): Promise<{ size: number; digest: string }> {
  const res = await ctx.request({ method: 'GET', path: file.uri, streamResponse: true, signal });
  const stream = res.stream;
  if (stream === undefined) throw new XnatProtocolError(`XNAT sent no body for ${file.path}`);
  let partial: Partial;
  try {
    partial = await openFile();
  } catch (err) {
    stream.on('error', () => undefined).destroy();
    throw err;
  }
  const digesting = new Digesting(onChunk);
  let localFailure: unknown;
  const out = partialSink(partial, (err) => (localFailure = err));
  try {
    await pipeline(stream, digesting, out, { signal });
  } catch (err) {
    if (signal?.aborted) throw new XnatCancelledError('The download was cancelled');
    if (localFailure !== undefined) throw localFileError('write', partial.path, localFailure);
    throw new XnatProtocolError(`The download of ${file.path} broke off after ${digesting.bytes} bytes`, {
      method: 'GET',
      path: file.uri,
      cause: err,
    });
  }
  return { size: digesting.bytes, digest: digesting.digest() };
}

/**
 * Writes generated bytes (a sidecar, a table) to `relativePath` below `destDir` the way downloads land:
 * a temporary file placed when complete, never through a link leading outside. An identical file is
 * kept; a different one is replaced only with `overwrite`, else kept with the reason.
 */
export async function writeLocalFile(
  destDir: string,
  relativePath: string,
  bytes: Buffer,
  opts: { overwrite?: boolean; signal?: AbortSignal } = {},
): Promise<{ localPath: string; written: boolean; reason?: string }> {
  if (!isAbsolute(destDir)) throw new XnatBadRequestError(`destDir must be absolute (got ${destDir})`);
  const segments = relativePath.split('/');
  if (unusableSegments(segments)) throw new XnatBadRequestError(`Unusable local path "${relativePath}"`);
  const localPath = join(destDir, ...segments);
  let root: string;
  try {
    await mkdir(destDir, { recursive: true });
    root = await realpath(destDir);
  } catch (err) {
    throw localFileError('create the folder', destDir, err);
  }
  await prepareFolder(root, localPath, destDir);
  const present = await lstat(localPath).catch(() => undefined);
  if (present !== undefined && !opts.overwrite) {
    const digest = createHash('md5').update(bytes).digest('hex');
    const wanted = { path: relativePath, size: bytes.length, digest } as XnatFile;
    return {
      localPath,
      written: false,
      reason: await whyKept(localPath, present.isFile(), wanted, opts.signal),
    };
  }
  const partial = await openPartial(root, destDir, localPath);
  try {
    await partialSink(
      partial,
      () => undefined,
    )(Readable.from([bytes])).catch((err: unknown) => {
      throw localFileError('write', partial.path, err);
    });
    await checkBeforePlacing(root, destDir, [{ partial, target: localPath }]);
    const placed = await placePartial(partial, localPath, opts.overwrite === true);
    return placed
      ? { localPath, written: true }
      : { localPath, written: false, reason: 'a local file appeared meanwhile; kept it' };
  } catch (err) {
    await discardPartial(partial);
    throw err;
  }
}
