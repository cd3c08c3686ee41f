/**
 * Planning of transfers, beside the safety gate that guards their local paths: which local files an
 * upload or import reads (each path checked against the allowed roots), where each lands in XNAT and
 * which remote files it would replace; which XNAT files a download takes and into which local folder.
 * Planning reads (local folders, zip directories, remote listings) and never changes anything.
 */
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { ObjectDescription, ObjectKind, ResourceParent, XnatClient, XnatFile } from '../client/index.js';
// The local listing and the zip reader (zlib) load on a plan's first use (`await import` below), not
// at every server start.
import { ToolInputError } from './errors.js';
import type { Safety } from './safety.js';

const MAX_LOCAL_FILES = 10_000;

/** What planning uses of a tool call's context. */
export interface PlanContext {
  client: XnatClient;
  signal: AbortSignal;
  safety: Safety;
}

/** Where a resource hangs, checked: a project, subject or experiment, or a scan or assessor of an experiment. */
export function resourceParent(args: ResourceParent): ResourceParent {
  const { project, subject, experiment, scan, assessor } = args;
  if (project === undefined && subject === undefined && experiment === undefined) {
    throw new ToolInputError(
      'Name where the resource hangs: project, subject or experiment (plus scan or assessor).',
    );
  }
  if ((scan !== undefined || assessor !== undefined) && experiment === undefined) {
    throw new ToolInputError('A scan or assessor needs its experiment.');
  }
  if (scan !== undefined && assessor !== undefined) {
    throw new ToolInputError('Give either a scan or an assessor, not both.');
  }
  return { project, subject, experiment, scan, assessor };
}

/** The kind of the innermost object named. */
export function resourceParentKind(p: ResourceParent): ObjectKind {
  if (p.assessor !== undefined) return 'assessor';
  if (p.scan !== undefined) return 'scan';
  if (p.experiment !== undefined) return 'experiment';
  if (p.subject !== undefined) return 'subject';
  return 'project';
}

/** E.g. `experiment MR1 (XNAT_E00001) in project P`: the object a transfer is about, named for people. */
export function ownerName(owner: ObjectDescription, experiment: string | undefined): string {
  const name =
    owner.label && owner.label !== owner.id
      ? `${owner.kind} ${owner.label} (${owner.id})`
      : `${owner.kind} ${owner.id}`;
  const of = owner.kind === 'scan' || owner.kind === 'assessor' ? ` of experiment ${experiment ?? ''}` : '';
  return `${name}${of}${owner.project ? ` in project ${owner.project}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Uploads

export interface PlannedFile {
  remotePath: string;
  size: number;
}

export interface UploadPlan {
  /** The local files to send, and where each lands (with extract: the one zip). */
  files: Array<{ localPath: string; remotePath: string; size: number }>;
  /** What ends up in the resource: the files, or the zip's entries. */
  planned: PlannedFile[];
  /** Planned remote paths that exist already. */
  clashes: string[];
  /** What the upload would write: everything planned with overwrite, else only the new paths. */
  writes: PlannedFile[];
  /** Symbolic links and special files, left out. */
  skippedLocal: string[];
}

export interface UploadRequest {
  parent: ResourceParent;
  resource: string;
  localPaths: readonly string[];
  remoteFolder?: string | undefined;
  extract: boolean;
  overwrite: boolean;
}

/** Folders are read recursively; a file keeps the name the caller gave, not a symbolic link's target (like cp and scp). */
async function collectLocalFiles(
  paths: readonly string[],
  folder: string | undefined,
  safety: Safety,
): Promise<Pick<UploadPlan, 'files' | 'skippedLocal'>> {
  const remote = (name: string): string => (folder ? `${folder}/${name}` : name);
  const files: UploadPlan['files'] = [];
  const skippedLocal: string[] = [];
  for (const path of paths) {
    const real = await safety.resolveLocalPath(path, 'read');
    const info = await stat(real);
    if (info.isDirectory()) {
      const { listLocalFiles } = await import('../client/transfers/local.js');
      const listed = await listLocalFiles(real);
      skippedLocal.push(...listed.skipped);
      for (const f of listed.files) {
        files.push({ localPath: f.localPath, remotePath: remote(f.relativePath), size: f.size });
      }
    } else if (info.isFile()) {
      files.push({ localPath: real, remotePath: remote(basename(resolve(path))), size: info.size });
    } else {
      skippedLocal.push(real);
    }
    if (files.length > MAX_LOCAL_FILES) {
      throw new ToolInputError(
        `More than ${MAX_LOCAL_FILES} files to upload; upload folders in smaller parts.`,
      );
    }
  }
  return { files, skippedLocal };
}

export async function planUpload(request: UploadRequest, ctx: PlanContext): Promise<UploadPlan> {
  const folder = request.remoteFolder?.replace(/^\/+|\/+$/g, '');
  const { files, skippedLocal } = await collectLocalFiles(request.localPaths, folder, ctx.safety);
  if (files.length === 0)
    throw new ToolInputError('There is nothing to upload: the paths hold no regular files.');
  const zip = files[0]!;
  if (request.extract && (files.length !== 1 || !zip.localPath.toLowerCase().endsWith('.zip'))) {
    throw new ToolInputError('extract: true takes exactly one .zip file.');
  }
  const listed = await ctx.client.listResourceFiles(request.parent, request.resource, { signal: ctx.signal });
  const existing = new Set((listed ?? []).map((f) => f.path));
  const { checkZip } = await import('../client/zipcheck.js');
  const planned = request.extract
    ? (await checkZip(zip.localPath))
        .filter((e) => !e.directory)
        .map((e) => ({ remotePath: folder ? `${folder}/${e.name}` : e.name, size: e.size }))
    : files.map((f) => ({ remotePath: f.remotePath, size: f.size }));
  return {
    files,
    planned,
    clashes: planned.filter((p) => existing.has(p.remotePath)).map((p) => p.remotePath),
    writes: request.overwrite ? planned : planned.filter((p) => !existing.has(p.remotePath)),
    skippedLocal,
  };
}

// ---------------------------------------------------------------------------------------------
// Imports

export interface ImportSource {
  /** The real local path: a folder of DICOM files or a zip. */
  path: string;
  directory: boolean;
  files: number;
  bytes: number;
}

/** The folder or zip an import sends, checked against the allowed roots, with its file count and size. */
export async function inspectImportSource(path: string, safety: Safety): Promise<ImportSource> {
  const source = await safety.resolveLocalPath(path, 'read');
  const info = await stat(source);
  if (info.isDirectory()) {
    const { listLocalFiles } = await import('../client/transfers/local.js');
    const listed = await listLocalFiles(source);
    if (listed.files.length === 0) throw new ToolInputError(`${path} holds no files to import.`);
    const bytes = listed.files.reduce((sum, f) => sum + f.size, 0);
    return { path: source, directory: true, files: listed.files.length, bytes };
  }
  if (info.isFile()) {
    const { checkZip } = await import('../client/zipcheck.js');
    const entries = (await checkZip(source)).filter((e) => !e.directory);
    const bytes = entries.reduce((sum, e) => sum + e.size, 0);
    return { path: source, directory: false, files: entries.length, bytes };
  }
  throw new ToolInputError(`${path} is neither a zip file nor a folder.`);
}

// ---------------------------------------------------------------------------------------------
// Downloads

export interface DownloadSelection {
  project?: string | undefined;
  subject?: string | undefined;
  experiment?: string | undefined;
  scans?: string[] | undefined;
  scanTypes?: string[] | undefined;
  assessor?: string | undefined;
  resource?: string | undefined;
  file?: string | undefined;
}

/** The kind of object a download is about (its files or one of its resources). */
export function downloadKind(selection: DownloadSelection): ObjectKind {
  const kind: ObjectKind =
    selection.experiment !== undefined
      ? 'experiment'
      : selection.subject !== undefined
        ? 'subject'
        : 'project';
  if (kind === 'project' && selection.project === undefined) {
    throw new ToolInputError('Name an experiment, or a project or subject resource, to download.');
  }
  return kind;
}

/** The XNAT files a download takes: an experiment's (all, some scans, an assessor's), or one resource's; optionally one file. */
async function selectFiles(args: DownloadSelection, ctx: PlanContext): Promise<XnatFile[]> {
  const { client, signal } = ctx;
  const byResource = (files: XnatFile[]): XnatFile[] =>
    args.resource === undefined ? files : files.filter((f) => f.resource === args.resource);
  const byFile = (files: XnatFile[]): XnatFile[] =>
    args.file === undefined ? files : files.filter((f) => f.path === args.file);
  if (args.file !== undefined && args.resource === undefined) {
    throw new ToolInputError('A single file needs its resource too (see listFiles for both).');
  }
  if (args.experiment === undefined) {
    if (args.scans || args.scanTypes || args.assessor) {
      throw new ToolInputError('Scans and assessors need their experiment.');
    }
    if (args.resource === undefined) {
      throw new ToolInputError('Name an experiment, or a resource of the project or subject, to download.');
    }
    const files = await client.listResourceFiles(
      { project: args.project, subject: args.subject },
      args.resource,
      { signal },
    );
    if (files === undefined) throw new ToolInputError(`There is no resource ${args.resource} there.`);
    return byFile(files);
  }
  const target = { experiment: args.experiment, ...(args.project ? { project: args.project } : {}) };
  if (args.assessor !== undefined) {
    if (args.scans || args.scanTypes) throw new ToolInputError('Give scans or an assessor, not both.');
    return byFile(byResource(await client.listFiles({ ...target, assessor: args.assessor }, { signal })));
  }
  const all = byFile(byResource(await client.listFiles(target, { signal })));
  if (args.scans === undefined && args.scanTypes === undefined) return all;
  const wanted = new Set(args.scans ?? []);
  if (args.scanTypes !== undefined) {
    const matches = scanTypeMatcher(args.scanTypes);
    const scans = await client.listScans(args.experiment, { ...target, signal });
    const matched = scans.filter((scan) => matches(scan.type));
    if (matched.length === 0) {
      const types = [...new Set(scans.map((s) => s.type).filter((t) => t !== ''))];
      throw new ToolInputError(
        `No scan of experiment ${args.experiment} has a type matching ${args.scanTypes.map((t) => `"${t}"`).join(', ')}; its scan types are: ${types.length > 0 ? types.join(', ') : '(none)'}. Use one of them, or a pattern such as "T1w*".`,
      );
    }
    for (const scan of matched) wanted.add(scan.id);
  }
  return all.filter((f) => f.scan !== undefined && wanted.has(f.scan));
}

/** Scan types are site names (T1w_MPR, t1_mprage_sag): matched ignoring case, `*` for any run of characters. */
function scanTypeMatcher(patterns: readonly string[]): (type: string) => boolean {
  const regexes = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('*')
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
        'i',
      ),
  );
  return (type) => regexes.some((r) => r.test(type));
}

/** A label from XNAT used as a local folder name must stay one folder: no separators, no `.`/`..`. */
function isPlainSegment(name: string | undefined): name is string {
  return name !== undefined && name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

export interface DownloadPlan {
  files: XnatFile[];
  /** The local folder the files go into (created if missing). */
  destDir: string;
}

export async function planDownload(
  request: DownloadSelection & { destination: string; layout: 'xnat' | 'flat' },
  owner: ObjectDescription,
  source: string,
  ctx: PlanContext,
): Promise<DownloadPlan> {
  const destination = await ctx.safety.resolveLocalPath(request.destination, 'write');
  const files = await selectFiles(request, ctx);
  if (files.length === 0) throw new ToolInputError(`No files match in ${source}; check with listFiles.`);
  // In XNAT's layout an experiment's files sit under its label, as in XNAT's own zips; a label
  // that is not one plain folder name (XNAT's data is not ours to trust) falls back to the ID.
  const folderName = [owner.label, owner.id].find(isPlainSegment);
  const destDir =
    request.layout === 'xnat' && request.experiment !== undefined && folderName !== undefined
      ? join(destination, folderName)
      : destination;
  return { files, destDir };
}
