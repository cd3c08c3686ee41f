/**
 * The prearchive and the import service (§7.6–7.8 of the reference): list sessions waiting for
 * review, archive, move, delete or rebuild them, and import a DICOM zip (or a folder, packed on the
 * fly) through `POST /data/services/import`. XNAT answers a prearchive move or commit with 301 and
 * the new URI in the body (no Location header): that body is the result, not a redirect to follow.
 * The archiver may instead answer 303 with only a Location header (`redirect=true`, auto-archive).
 */
import { XnatBadRequestError, XnatLocalFileError, XnatProtocolError } from './errors.js';
import { xnatPath, type RequestContext, type StreamBody } from './http.js';
import type { PrearchiveSession } from './models.js';
import { decodeSegments, parseTable, toPrearchiveSession } from './rows.js';
import type { TransferProgress } from './transfers/common.js';
import { listLocalFiles } from './transfers/local.js';
import { storedZip } from './zipcheck.js';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';

/** The prearchive needs nothing but the authenticated request. */
export type PrearchiveContext = RequestContext;

/** A prearchive session: its `url` from a listing, or its three parts. */
export type PrearchiveRef = string | { project: string; timestamp: string; folderName: string };

export type ImportOverwrite = 'none' | 'append' | 'delete';

export interface ArchiveRequest {
  session: PrearchiveRef;
  /** Archive into this project (default: the session's own). */
  project?: string;
  subject?: string;
  /** Experiment label (default: the session's name). */
  label?: string;
  overwrite?: ImportOverwrite;
  quarantine?: boolean;
  signal?: AbortSignal;
}

export interface ImportRequest {
  /** A zip of DICOM files; or give `directory`. */
  zipPath?: string;
  /** A folder of DICOM files, packed into a zip while it is sent. */
  directory?: string;
  project: string;
  subject?: string;
  label?: string;
  overwrite?: ImportOverwrite;
  quarantine?: boolean;
  /** `archive` (default) or the project's `prearchive` for review first. */
  destination?: 'archive' | 'prearchive';
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
}

export interface ImportResult {
  /** XNAT's answer, one URI per created session (`/data/archive/...` or `/data/prearchive/...`). */
  uris: string[];
  /** Accession ID of the archived experiment, when XNAT's URI names it. */
  experimentId?: string;
}

const SEGMENT = /^[^/\\?#]+$/;

/** `/prearchive/projects/P/TS/NAME` (with or without `/data`) → its parts, checked. */
export function prearchiveParts(ref: PrearchiveRef): {
  project: string;
  timestamp: string;
  folderName: string;
} {
  let parts: { project: string; timestamp: string; folderName: string };
  if (typeof ref === 'string') {
    const notAUrl = (): XnatBadRequestError =>
      new XnatBadRequestError(
        `"${ref}" is not a prearchive session URL; use the url listPrearchive shows, like /prearchive/projects/P/20240611_101128996/SESSION`,
      );
    const match = /^(?:\/data)?\/prearchive\/projects\/([^/]+)\/([^/]+)\/([^/]+)\/?$/.exec(ref.trim());
    if (!match) throw notAUrl();
    try {
      parts = {
        project: decodeURIComponent(match[1]!),
        timestamp: decodeURIComponent(match[2]!),
        folderName: decodeURIComponent(match[3]!),
      };
    } catch {
      throw notAUrl();
    }
  } else parts = ref;
  for (const value of Object.values(parts)) {
    if (!SEGMENT.test(value) || value === '.' || value === '..') {
      throw new XnatBadRequestError(`Invalid prearchive session part "${value}"`);
    }
  }
  return parts;
}

function srcOf(ref: PrearchiveRef): string {
  const { project, timestamp, folderName } = prearchiveParts(ref);
  return `/prearchive${xnatPath('projects', project, timestamp, folderName)}`;
}

function sessionPath(ref: PrearchiveRef): string {
  const { project, timestamp, folderName } = prearchiveParts(ref);
  return xnatPath('data', 'prearchive', 'projects', project, timestamp, folderName);
}

/** XNAT's text/uri-list answer → its URIs. */
function uriList(body: string): string[] {
  return body
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The experiment named by an archive URI (`/data/archive/projects/P/subjects/S/experiments/E`). */
function experimentOf(uri: string): string | undefined {
  const match = /\/experiments\/([^/?#]+)\/?$/.exec(uri);
  return match ? decodeSegments(match[1]!) : undefined;
}

export async function listPrearchive(
  ctx: PrearchiveContext,
  q: { project?: string; signal?: AbortSignal } = {},
): Promise<PrearchiveSession[]> {
  const path = q.project
    ? xnatPath('data', 'prearchive', 'projects', q.project)
    : xnatPath('data', 'prearchive', 'projects');
  const res = await ctx.request({
    method: 'GET',
    path,
    query: { format: 'json' },
    expect: 'json',
    signal: q.signal,
  });
  return parseTable(res.body, { method: 'GET', path }).rows.map(toPrearchiveSession);
}

/** One prearchive session, as listed. */
export async function getPrearchiveSession(
  ctx: PrearchiveContext,
  ref: PrearchiveRef,
  signal?: AbortSignal,
): Promise<PrearchiveSession> {
  const { project } = prearchiveParts(ref);
  const src = srcOf(ref);
  const found = (await listPrearchive(ctx, { project, signal })).find((s) => s.url === src);
  if (found === undefined) {
    throw new XnatBadRequestError(`No prearchive session ${src}; use listPrearchive to see what is waiting`);
  }
  return found;
}

export async function archivePrearchive(ctx: PrearchiveContext, q: ArchiveRequest): Promise<ImportResult> {
  const path = xnatPath('data', 'services', 'archive');
  const res = await ctx.request({
    method: 'POST',
    path,
    query: {
      src: srcOf(q.session),
      project: q.project,
      subject: q.subject,
      session: q.label,
      overwrite: q.overwrite,
      quarantine: q.quarantine,
    },
    expect: 'text',
    // Auto-archived sessions may be answered with a redirect status whose body is the URI.
    acceptStatuses: [301, 303],
    signal: q.signal,
  });
  const edge = { method: 'POST', path };
  const fromBody = uriList(res.body);
  if (fromBody.length > 0 || res.location === undefined) return importResult(fromBody, edge);
  return importResult([serverRelative(res.location, edge)], edge);
}

/**
 * A Location header (absolute, or carrying the deployment's context path) → the server-relative
 * `/data/...` URI XNAT puts in bodies. The API part is found by its shape, since this module does
 * not know the context path and `/data/archive/` cannot be part of one.
 */
function serverRelative(location: string, edge: { method: string; path: string }): string {
  const { pathname } = new URL(location, 'http://xnat.invalid');
  const match = /\/(?:data|REST)\/(?:archive|projects|experiments|prearchive)\/.*$/.exec(pathname);
  if (!match) {
    throw new XnatProtocolError(`XNAT redirected to "${pathname}", which names no archived session`, edge);
  }
  return match[0];
}

/** Moves a session to another project's prearchive; returns its new URL (from XNAT's 301 body). */
export async function movePrearchive(
  ctx: PrearchiveContext,
  q: { session: PrearchiveRef; toProject: string; signal?: AbortSignal },
): Promise<string> {
  if (!SEGMENT.test(q.toProject)) throw new XnatBadRequestError(`Invalid project "${q.toProject}"`);
  const path = sessionPath(q.session);
  const res = await ctx.request({
    method: 'POST',
    path,
    query: { action: 'move', newProject: q.toProject },
    expect: 'text',
    acceptStatuses: [301],
    signal: q.signal,
  });
  const [uri] = uriList(res.body);
  if (uri === undefined) {
    throw new XnatProtocolError('XNAT moved the session but did not say where to', { method: 'POST', path });
  }
  return uri.replace(/^\/data(?=\/prearchive\/)/, '');
}

export async function deletePrearchive(
  ctx: PrearchiveContext,
  q: { session: PrearchiveRef; signal?: AbortSignal },
): Promise<void> {
  await ctx.request({ method: 'DELETE', path: sessionPath(q.session), signal: q.signal });
}

/** Rebuilds the session from its files (after a change or an ERROR status). */
export async function rebuildPrearchive(
  ctx: PrearchiveContext,
  q: { session: PrearchiveRef; signal?: AbortSignal },
): Promise<void> {
  await ctx.request({
    method: 'POST',
    path: sessionPath(q.session),
    query: { action: 'build' },
    expect: 'text',
    signal: q.signal,
  });
}

function importResult(uris: string[], edge: { method: string; path: string }): ImportResult {
  if (uris.length === 0) throw new XnatProtocolError('XNAT answered without the URI of the result', edge);
  const archived = uris.find((u) => /\/archive\/|^\/data\/(projects|experiments)\//.test(u));
  const experimentId = archived === undefined ? undefined : experimentOf(archived);
  return { uris, ...(experimentId !== undefined ? { experimentId } : {}) };
}

/** Counts the bytes a request body yields, for progress. */
class Counting extends Transform {
  constructor(private readonly onChunk: (bytes: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.onChunk(chunk.length);
    done(null, chunk);
  }
}

export async function importSession(ctx: PrearchiveContext, q: ImportRequest): Promise<ImportResult> {
  if ((q.zipPath === undefined) === (q.directory === undefined)) {
    throw new XnatBadRequestError('Give either a zip file or a directory to import');
  }
  if (!SEGMENT.test(q.project)) throw new XnatBadRequestError(`Invalid project "${q.project}"`);
  let source: StreamBody;
  if (q.zipPath !== undefined) {
    const zipPath = q.zipPath;
    const info = await stat(zipPath).catch((err: unknown) => {
      throw new XnatLocalFileError(`Cannot read ${zipPath}: it does not exist or is not readable`, {
        cause: err,
      });
    });
    if (!info.isFile()) throw new XnatLocalFileError(`${zipPath} is not a file`);
    source = { length: info.size, open: (): Readable => createReadStream(zipPath) };
  } else {
    const { files } = await listLocalFiles(q.directory!);
    if (files.length === 0) throw new XnatLocalFileError(`${q.directory} holds no files to import`);
    source = await storedZip(files.map((f) => ({ localPath: f.localPath, name: f.relativePath })));
  }
  let bytesDone = 0;
  const body: StreamBody = {
    length: source.length,
    open(): Readable {
      bytesDone = 0;
      const stream = source.open();
      const counting = new Counting((n) => {
        bytesDone += n;
        q.onProgress?.({ bytesDone, bytesTotal: source.length, filesDone: 0, filesTotal: 1 });
      });
      stream.on('error', (err) => counting.destroy(err));
      counting.on('close', () => stream.destroy());
      return stream.pipe(counting);
    },
  };
  const destination = q.destination ?? 'archive';
  const path = xnatPath('data', 'services', 'import');
  const res = await ctx.request({
    method: 'POST',
    path,
    query: {
      'import-handler': 'DICOM-zip',
      inbody: true,
      PROJECT_ID: q.project,
      SUBJECT_ID: q.subject,
      EXPT_LABEL: q.label,
      overwrite: q.overwrite,
      quarantine: q.quarantine,
      dest: `/${destination}${xnatPath('projects', q.project)}`,
    },
    headers: { 'content-type': 'application/zip' },
    body,
    expect: 'text',
    signal: q.signal,
  });
  q.onProgress?.({ bytesDone: source.length, bytesTotal: source.length, filesDone: 1, filesTotal: 1 });
  return importResult(uriList(res.body), { method: 'POST', path });
}
