/**
 * Uploads into a resource, streamed, several files at a time. Files are never silently replaced: the
 * resource listing is checked first and XNAT's `duplicates` answer is reported as a conflict;
 * afterwards the listing is read again and every file's size and digest is compared with what was sent.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import {
  XnatBadRequestError,
  XnatError,
  XnatLocalFileError,
  XnatProtocolError,
  localFileError,
} from '../errors.js';
import { xnatPath, type StreamBody } from '../http.js';
import { checkZip } from '../zipcheck.js';
import {
  Digesting,
  checkConcurrency,
  checkRemotePath,
  checkResourceLabel,
  listAt,
  md5OfFile,
  plural,
  resourceParentPath,
  runPool,
  withSummary,
  type ResourceParent,
  type TransferContext,
  type TransferProgress,
} from './common.js';

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

interface PlannedUpload {
  localPath: string;
  remotePath: string;
  size: number;
}

/** A file XNAT should hold afterwards: a sent file, or an entry of the zip it extracts. */
interface ExpectedFile {
  remotePath: string;
  size: number;
}

export async function upload(ctx: TransferContext, q: UploadRequest): Promise<UploadResult> {
  const { signal } = q;
  const concurrency = checkConcurrency(q.concurrency);
  const planned = await planUploads(q);
  // The names XNAT will hold afterwards: the zip's entries when it extracts, else the remote paths.
  const zipEntries = q.extractZip ? await checkZip(planned[0]!.localPath) : undefined;
  const zipFolder = planned[0]!.remotePath.includes('/') ? dirname(planned[0]!.remotePath) : '';
  const expected: ExpectedFile[] = zipEntries
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
  // Created once up front: parallel first uploads would otherwise race to create it.
  if (existing === undefined) await createResource(ctx, resourcePath, q);

  const sentDigests = await sendFiles(ctx, q, resourcePath, toSend, concurrency, conflicts);
  const refused = new Set(conflicts);
  const sentPaths = zipEntries ? undefined : new Set(toSend.map((p) => p.remotePath));
  const uploaded = await verifyUploads(ctx, q, resourcePath, {
    expected: expected.filter((e) => !refused.has(e.remotePath) && (sentPaths?.has(e.remotePath) ?? true)),
    sentDigests,
  });
  return { uploaded, conflicts };
}

/** Checks the request and the local files; their sizes are what XNAT must hold afterwards. */
async function planUploads(q: UploadRequest): Promise<PlannedUpload[]> {
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
  return planned;
}

async function createResource(ctx: TransferContext, resourcePath: string[], q: UploadRequest): Promise<void> {
  try {
    await ctx.request({
      method: 'PUT',
      path: xnatPath(...resourcePath),
      query: { format: q.format, content: q.content },
      signal: q.signal,
    });
  } catch (err) {
    // Someone else created it meanwhile: just as good.
    if (!(err instanceof XnatError && err.kind === 'conflict')) throw err;
  }
}

/**
 * Sends the files, `concurrency` at a time, counting and hashing each as it streams. Returns the MD5
 * of each file sent; files XNAT refused as duplicates are added to `conflicts`.
 */
async function sendFiles(
  ctx: TransferContext,
  q: UploadRequest,
  resourcePath: string[],
  toSend: PlannedUpload[],
  concurrency: number,
  conflicts: string[],
): Promise<Map<string, string>> {
  let bytesDone = 0;
  let filesDone = 0;
  const bytesTotal = toSend.reduce((sum, p) => sum + p.size, 0);
  const sentDigests = new Map<string, string>();
  const report = (current: string): void =>
    q.onProgress?.({ bytesDone, bytesTotal, filesDone, filesTotal: toSend.length, current });

  /** The MD5 of the local file when XNAT holds exactly it under the remote path; else undefined. */
  const holdsSent = async (file: PlannedUpload): Promise<string | undefined> => {
    const remote = (await listAt(ctx, resourcePath, q.signal))?.find((f) => f.path === file.remotePath);
    if (remote === undefined || remote.size !== file.size || remote.digest === '') return undefined;
    const local = await md5OfFile(file.localPath, q.signal).catch((err: unknown) => {
      throw localFileError('read', file.localPath, err);
    });
    return local.size === file.size && local.digest === remote.digest ? local.digest : undefined;
  };

  const sendOne = async (file: PlannedUpload): Promise<void> => {
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
    let answer: string;
    try {
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
        signal: q.signal,
      });
      answer = res.body;
    } catch (err) {
      // The connection failed after the body went out: XNAT may have stored the file all the same.
      const unclear = err instanceof XnatError && (err.kind === 'network' || err.kind === 'timeout');
      const ask = unclear && !q.extractZip && !q.signal?.aborted;
      const held = ask ? await holdsSent(file).catch(() => undefined) : undefined;
      if (held === undefined) throw err;
      sentDigests.set(file.remotePath, held);
      answer = '';
    }
    if (/"duplicates"/.test(answer)) {
      // The file appeared since the listing: our own earlier attempt (its answer lost to a reset
      // connection, then retried) if XNAT holds exactly these bytes, else someone else's: a conflict.
      const held = q.extractZip ? undefined : await holdsSent(file);
      if (held === undefined) conflicts.push(file.remotePath);
      else sentDigests.set(file.remotePath, held);
    } else if (sentDigests.has(file.remotePath)) {
      // Settled above by reading back what XNAT holds.
    } else if (digesting !== undefined && digesting.bytes === file.size) {
      sentDigests.set(file.remotePath, digesting.digest());
    } else {
      throw new XnatLocalFileError(`${file.localPath} changed size while it was being uploaded`);
    }
    filesDone++;
    report(file.remotePath);
  };

  await runPool(toSend, concurrency, sendOne, q.signal).catch((err: unknown) => {
    throw withSummary(
      err,
      `${plural(filesDone, 'file')} of ${toSend.length} had been uploaded to ${q.resource} before the upload stopped`,
    );
  });
  return sentDigests;
}

/** Reads back what XNAT holds and compares it with what was sent. */
async function verifyUploads(
  ctx: TransferContext,
  q: UploadRequest,
  resourcePath: string[],
  sent: { expected: ExpectedFile[]; sentDigests: Map<string, string> },
): Promise<UploadResult['uploaded']> {
  const after = new Map(((await listAt(ctx, resourcePath, q.signal)) ?? []).map((f) => [f.path, f]));
  const uploaded: UploadResult['uploaded'] = [];
  for (const e of sent.expected) {
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
    const digest = sent.sentDigests.get(e.remotePath);
    if (digest !== undefined && remote.digest !== '' && remote.digest !== digest) {
      throw new XnatProtocolError(
        `XNAT's MD5 of ${e.remotePath} (${remote.digest}) differs from the file sent (${digest}); upload it again with overwrite`,
      );
    }
    uploaded.push({
      remotePath: e.remotePath,
      size: remote.size,
      digest: remote.digest,
      // Extracted entries are checked by size only: their MD5 is not known locally.
      verified: digest !== undefined && remote.digest === digest,
    });
  }
  return uploaded;
}
