/**
 * The prearchive (§7.7, §7.8): listings of received sessions, a session's row, zip and deletion,
 * per-session actions (`build`, `move` and `commit` answer like `PrearcSessionResource`: the 301s
 * carry the new URI in the body and no Location header), the archiver service and the batch
 * move/delete/rebuild services; and archiving itself, shared with the import service.
 */
import { canEditProject } from './access.js';
import { insertStamp, newSubject, nextExperimentId } from './records.js';
import { SandboxHttpError } from './errors.js';
import { findExperimentIn, findProject, findSubjectIn } from './lookup.js';
import type {
  PrearchiveSession,
  PrearchiveStatus,
  SandboxArchive,
  StoredExperiment,
  StoredFile,
  StoredProject,
  StoredScan,
} from './model.js';
import { emptyReply, textReply, type AuthedContext, type Reply } from './reply.js';
import { tableReply } from './table.js';
import { createZip } from './zip.js';

/** The prearchive folder of sessions whose project could not be identified. */
export const UNASSIGNED = 'Unassigned';

export type Overwrite = 'none' | 'append' | 'delete';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `java.sql.Timestamp#toString` (UTC): `2022-01-18 16:41:25.0`, `2021-12-29 10:11:28.996`. */
export function javaTimestamp(epochMillis: number): string {
  const d = new Date(epochMillis);
  const fraction = pad(d.getUTCMilliseconds(), 3).replace(/0+$/, '') || '0';
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${fraction}`;
}

/** Insert dates of archived items, as the rest of the sandbox writes them. */

/** Upload folder names: `yyyyMMdd_HHmmssSSS`. */
function folderTimestamp(epochMillis: number): string {
  const d = new Date(epochMillis);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}_${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}${pad(d.getUTCMilliseconds(), 3)}`;
}

function entriesOf(archive: SandboxArchive): PrearchiveSession[] {
  return (archive.prearchive ??= []);
}

export function prearchiveUri(entry: PrearchiveSession): string {
  return `/data/prearchive/projects/${entry.project}/${entry.timestamp}/${entry.folderName}`;
}

export interface NewEntry {
  project: string;
  name: string;
  subject: string;
  session: StoredExperiment;
  now: number;
  autoarchive: PrearchiveSession['autoarchive'];
  preventAnon: boolean;
  preventAutoCommit: boolean;
  source: string;
}

/** A READY prearchive entry in a folder no other entry of the project uses. */
export function newPrearchiveEntry(archive: SandboxArchive, spec: NewEntry): PrearchiveSession {
  const taken = (timestamp: string): boolean =>
    entriesOf(archive).some(
      (e) => e.project === spec.project && e.timestamp === timestamp && e.folderName === spec.name,
    );
  let stamp = spec.now;
  while (taken(folderTimestamp(stamp))) stamp++;
  const first = spec.session;
  return {
    project: spec.project,
    timestamp: folderTimestamp(stamp),
    folderName: spec.name,
    name: spec.name,
    subject: spec.subject,
    tag: String(first.attributes.UID ?? ''),
    status: 'READY',
    uploaded: spec.now,
    lastmod: spec.now,
    autoarchive: spec.autoarchive,
    preventAnon: spec.preventAnon,
    preventAutoCommit: spec.preventAutoCommit,
    source: spec.source,
    visit: '',
    protocol: '',
    timezone: '',
    session: spec.session,
  };
}

/** Query parameters plus, for form posts, the form fields (pyxnat posts prearchive operations as forms). */
export async function requestParams(ctx: AuthedContext): Promise<URLSearchParams> {
  const params = new URLSearchParams(ctx.query);
  const type = (ctx.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    for (const [key, value] of new URLSearchParams((await ctx.body()).toString('utf8')))
      params.append(key, value);
  }
  return params;
}

// ---------------------------------------------------------------- archiving

export interface ArchiveOptions {
  project: StoredProject;
  /** Subject label (or accession ID) in the project; created when missing. */
  subject: string;
  label: string;
  overwrite: Overwrite;
  quarantine: boolean;
  /** `overwrite_files=true`: with `append`, files of the same name are replaced instead of kept. */
  overwriteFiles?: boolean;
}

const VALID_LABEL = /^[A-Za-z0-9_-]+$/;

function allFiles(scans: StoredScan[]): StoredFile[] {
  return scans.flatMap((scan) => scan.resources.flatMap((r) => r.files));
}

/** Scans get their site-wide keys (scan and resource sequences) when they enter the archive. */
function numberScans(archive: SandboxArchive, scans: StoredScan[]): void {
  for (const scan of scans) {
    scan.xnatImagescandataId = archive.sequences.scan++;
    for (const resource of scan.resources) resource.xnatAbstractresourceId = archive.sequences.resource++;
  }
}

/** `append`: new scans are added; files of existing scans are added, a same-named file kept unless `replace`. */
function appendScans(existing: StoredExperiment, incoming: StoredScan[], replace: boolean): StoredFile[] {
  const unused: StoredFile[] = [];
  for (const scan of incoming) {
    const current = existing.scans.find((s) => s.id === scan.id);
    if (!current) {
      existing.scans.push(scan);
      continue;
    }
    for (const resource of scan.resources) {
      const target = current.resources.find((r) => r.label === resource.label);
      if (!target) {
        current.resources.push(resource);
        continue;
      }
      for (const file of resource.files) {
        const at = target.files.findIndex((f) => f.path === file.path);
        const previous = target.files[at];
        if (!previous) target.files.push(file);
        else if (replace) {
          unused.push(previous);
          target.files[at] = file;
        } else unused.push(file);
      }
    }
  }
  return unused;
}

/**
 * Moves a prearchive entry's session into the archive (`Archiver`/`PrearcSessionArchiver`): all
 * checks come first and the catalog changes without interruption, so a refused archive changes nothing.
 * Returns the archived session and its URI; files made redundant are removed from disk.
 */
export async function archiveSession(
  ctx: AuthedContext,
  entry: PrearchiveSession,
  options: ArchiveOptions,
): Promise<{ experiment: StoredExperiment; uri: string }> {
  const { archive, storage } = ctx.state;
  const { project } = options;
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      `Specified user account has insufficient create privileges for ${project.id}.`,
    );
  }
  for (const [what, value] of [
    ['subject', options.subject],
    ['session', options.label],
  ] as const) {
    if (!VALID_LABEL.test(value)) {
      throw new SandboxHttpError(
        400,
        `Invalid ${what} label '${value}': use letters, digits, '_' and '-' only.`,
      );
    }
  }
  const subject = findSubjectIn(archive, project.id, options.subject);
  const existing = findExperimentIn(archive, project.id, options.label);
  if (existing) {
    if (options.overwrite === 'none') {
      throw new SandboxHttpError(
        409,
        `Session already exists: ${options.label} in project ${project.id}. Use overwrite=append or overwrite=delete to modify it.`,
      );
    }
    if (!subject || existing.subjectId !== subject.id) {
      throw new SandboxHttpError(
        409,
        `Session ${options.label} already exists in ${project.id} for another subject.`,
      );
    }
    if (existing.xsiType !== entry.session.xsiType) {
      throw new SandboxHttpError(
        409,
        `Session ${options.label} is a ${existing.xsiType}; the upload is a ${entry.session.xsiType}.`,
      );
    }
  }

  const entries = entriesOf(archive);
  if (entries.includes(entry)) entries.splice(entries.indexOf(entry), 1);
  let owner = subject;
  if (!owner) {
    owner = newSubject(archive, project.id, options.subject, ctx.user.login);
    archive.subjects.set(owner.id, owner);
  }
  const incoming = entry.session.scans;
  numberScans(archive, incoming);
  let experiment: StoredExperiment;
  let redundant: StoredFile[] = [];
  if (existing) {
    if (options.overwrite === 'delete') {
      redundant = allFiles(existing.scans);
      existing.scans = incoming;
    } else {
      redundant = appendScans(existing, incoming, options.overwriteFiles === true);
    }
    existing.lastModified = insertStamp();
    experiment = existing;
  } else {
    const stamp = insertStamp();
    experiment = Object.assign(entry.session, {
      id: nextExperimentId(archive),
      project: project.id,
      subjectId: owner.id,
      label: options.label,
      insertDate: stamp,
      insertUser: ctx.user.login,
      lastModified: stamp,
    });
    archive.experiments.set(experiment.id, experiment);
  }
  if (options.quarantine || project.quarantineCode === 1) experiment.status = 'quarantine';
  await storage.discard(redundant);
  return {
    experiment,
    uri: `/data/archive/projects/${project.id}/subjects/${owner.id}/experiments/${experiment.id}`,
  };
}

// ---------------------------------------------------------------- listing and lookup

const COLUMNS = [
  'project',
  'timestamp',
  'lastmod',
  'uploaded',
  'scan_date',
  'scan_time',
  'subject',
  'folderName',
  'name',
  'tag',
  'status',
  'url',
  'autoarchive',
  'prevent_anon',
  'prevent_auto_commit',
  'SOURCE',
  'VISIT',
  'PROTOCOL',
  'TIMEZONE',
];

function row(entry: PrearchiveSession): Record<string, string> {
  return {
    project: entry.project,
    timestamp: entry.timestamp,
    lastmod: javaTimestamp(entry.lastmod),
    uploaded: javaTimestamp(entry.uploaded),
    scan_date: entry.session.date,
    scan_time: entry.session.time,
    subject: entry.subject,
    folderName: entry.folderName,
    name: entry.name,
    tag: entry.tag,
    status: entry.status,
    url: `/prearchive/projects/${entry.project}/${entry.timestamp}/${entry.folderName}`,
    autoarchive: entry.autoarchive,
    prevent_anon: String(entry.preventAnon),
    prevent_auto_commit: String(entry.preventAutoCommit),
    SOURCE: entry.source,
    VISIT: entry.visit,
    PROTOCOL: entry.protocol,
    TIMEZONE: entry.timezone,
  };
}

function rowsReply(ctx: AuthedContext, entries: PrearchiveSession[]): Reply {
  return tableReply(ctx, { columns: COLUMNS, rows: entries.map(row) });
}

/** Whether the user sees a prearchive project's sessions: editors of the project; Unassigned for admins. */
function canManage(ctx: AuthedContext, projectId: string): boolean {
  if (ctx.user.admin) return true;
  const project = ctx.state.archive.projects.get(projectId);
  return project !== undefined && canEditProject(project, ctx.user);
}

/** A prearchive project named in a URL: 404 when unknown, 403 when the user may not manage it. */
function managedProjectId(ctx: AuthedContext, idOrAlias: string): string {
  if (idOrAlias === UNASSIGNED) {
    if (!ctx.user.admin)
      throw new SandboxHttpError(403, 'Only administrators can access unassigned sessions.');
    return UNASSIGNED;
  }
  const project = findProject(ctx.state.archive, idOrAlias);
  if (!project) throw new SandboxHttpError(404, `Unable to identify project ${idOrAlias}`);
  if (!canManage(ctx, project.id)) {
    throw new SandboxHttpError(
      403,
      `Specified user account has insufficient privileges for project ${project.id}.`,
    );
  }
  return project.id;
}

function byUpload(a: PrearchiveSession, b: PrearchiveSession): number {
  return a.timestamp.localeCompare(b.timestamp) || a.folderName.localeCompare(b.folderName);
}

/** `GET /data/prearchive/projects[/{p1,p2}][?tag=<StudyInstanceUID>]`. */
export function listPrearchive(ctx: AuthedContext): Reply {
  const { archive } = ctx.state;
  const wanted = ctx.params.projects?.split(',').map((p) => managedProjectId(ctx, p));
  // `tag=<StudyInstanceUID>` finds a study wherever it was received.
  const tag = ctx.query.get('tag');
  const entries = entriesOf(archive).filter(
    (e) =>
      (wanted
        ? wanted.includes(e.project)
        : canManage(ctx, e.project) && (e.project !== UNASSIGNED || ctx.user.admin)) &&
      (tag === null || e.tag === tag),
  );
  return rowsReply(ctx, [...entries].sort(byUpload));
}

export function findEntry(
  ctx: AuthedContext,
  project: string,
  timestamp: string,
  folder: string,
): PrearchiveSession {
  const projectId = managedProjectId(ctx, project);
  const entry = entriesOf(ctx.state.archive).find(
    (e) => e.project === projectId && e.timestamp === timestamp && e.folderName === folder,
  );
  if (!entry) throw new SandboxHttpError(404, 'Unable to find the specified prearchive session.');
  return entry;
}

/** The session a `/prearchive/projects/{p}/{ts}/{folder}[/...]` URL names (404/403 as XNAT answers). */
export function urlEntry(ctx: AuthedContext): PrearchiveSession {
  return findEntry(ctx, ctx.params.project ?? '', ctx.params.timestamp ?? '', ctx.params.folder ?? '');
}

/** `src=/prearchive/projects/P/TS/NAME` (with or without `/data`). */
function srcEntry(ctx: AuthedContext, src: string | null): PrearchiveSession {
  const match = src ? /^(?:\/data)?\/prearchive\/projects\/([^/]+)\/([^/]+)\/([^/?]+)\/?$/.exec(src) : null;
  if (!match)
    throw new SandboxHttpError(
      400,
      `Invalid src: expected /prearchive/projects/{project}/{timestamp}/{session}`,
    );
  const [, project = '', timestamp = '', folder = ''] = match;
  return findEntry(
    ctx,
    decodeURIComponent(project),
    decodeURIComponent(timestamp),
    decodeURIComponent(folder),
  );
}

// ---------------------------------------------------------------- session URLs

/** `GET .../{timestamp}/{session}`: its row (`format=json|xml|csv|html`) or `format=zip`. */
export function getPrearchiveSession(ctx: AuthedContext): Reply {
  const entry = urlEntry(ctx);
  if (ctx.query.get('format')?.toLowerCase() !== 'zip') return rowsReply(ctx, [entry]);
  const zip = createZip(
    entry.session.scans.flatMap((scan) =>
      scan.resources.flatMap((resource) =>
        resource.files.map((file) => ({
          name: `${entry.folderName}/scans/${scan.id}/resources/${resource.label}/files/${file.path}`,
          data: file.bytes(),
          modified: file.lastModified,
        })),
      ),
    ),
  );
  return {
    status: 200,
    headers: {
      'Content-Type': 'application/zip',
      'Content-Disposition': `attachment; filename=${encodeURIComponent(entry.folderName)}.zip`,
    },
    body: zip,
  };
}

async function removeEntry(ctx: AuthedContext, entry: PrearchiveSession): Promise<void> {
  const entries = entriesOf(ctx.state.archive);
  if (entries.includes(entry)) entries.splice(entries.indexOf(entry), 1);
  await ctx.state.storage.discard(allFiles(entry.session.scans));
}

/** `DELETE .../{timestamp}/{session}`. */
export async function deletePrearchiveSession(ctx: AuthedContext): Promise<Reply> {
  await removeEntry(ctx, urlEntry(ctx));
  return emptyReply();
}

function moveEntry(ctx: AuthedContext, entry: PrearchiveSession, newProject: string | null): void {
  if (!newProject) throw new SandboxHttpError(400, 'Missing newProject parameter.');
  const target = managedProjectId(ctx, newProject);
  if (target === entry.project) return;
  const clash = entriesOf(ctx.state.archive).some(
    (e) => e.project === target && e.timestamp === entry.timestamp && e.folderName === entry.folderName,
  );
  if (clash)
    throw new SandboxHttpError(
      409,
      `A session ${entry.folderName} already exists in ${target}'s prearchive.`,
    );
  entry.project = target;
  entry.lastmod = Date.now();
}

const STATUSES: PrearchiveStatus[] = ['READY', 'RECEIVING', 'BUILDING', 'ERROR', 'CONFLICT'];

function overwriteOf(value: string | null): Overwrite {
  if (value === null || value === '' || value === 'none') return 'none';
  if (value === 'append' || value === 'delete') return value;
  throw new SandboxHttpError(400, `Invalid overwrite value: ${value} (none, append or delete)`);
}

function archiveProject(
  ctx: AuthedContext,
  entry: PrearchiveSession,
  requested: string | null,
): StoredProject {
  const id = requested ?? entry.project;
  if (id === UNASSIGNED)
    throw new SandboxHttpError(400, 'Specify project= to archive an unassigned session.');
  const project = findProject(ctx.state.archive, id);
  if (!project) throw new SandboxHttpError(404, `Unable to identify project ${id}`);
  return project;
}

/** `POST .../{timestamp}/{session}?action=build|move|commit|reset-status|set-status`. */
export async function postPrearchiveSession(ctx: AuthedContext): Promise<Reply> {
  const params = await requestParams(ctx);
  const entry = urlEntry(ctx);
  const action = params.get('action');
  switch (action) {
    case 'build':
    case 'rebuild':
    case 'reset-status':
      entry.status = 'READY';
      entry.lastmod = Date.now();
      return emptyReply();
    case 'set-status': {
      const status = params.get('status') as PrearchiveStatus | null;
      if (!status || !STATUSES.includes(status)) {
        throw new SandboxHttpError(400, `Invalid status: ${status ?? ''} (${STATUSES.join(', ')})`);
      }
      entry.status = status;
      entry.lastmod = Date.now();
      return emptyReply();
    }
    case 'move':
      moveEntry(ctx, entry, params.get('newProject'));
      // PrearcSessionResource answers with returnString(uri, REDIRECTION_PERMANENT): the URI is the body.
      return textReply(301, prearchiveUri(entry));
    case 'commit': {
      if (params.get('AA') !== 'true') return textReply(200, prearchiveUri(entry));
      const { uri } = await archiveSession(ctx, entry, {
        project: archiveProject(ctx, entry, null),
        subject: entry.subject,
        label: entry.name,
        overwrite: 'none',
        quarantine: false,
      });
      return textReply(301, uri);
    }
    default:
      throw new SandboxHttpError(400, `Unsupported action: ${action ?? '(none)'}`);
  }
}

// ---------------------------------------------------------------- services

/** `POST /data/services/archive?src=...` (`Archiver`): 200 with the archive URI, 303 to it with `redirect=true`. */
export async function archiveService(ctx: AuthedContext): Promise<Reply> {
  const params = await requestParams(ctx);
  const entry = srcEntry(ctx, params.get('src'));
  const { uri } = await archiveSession(ctx, entry, {
    project: archiveProject(ctx, entry, params.get('project')),
    subject: params.get('subject') ?? entry.subject,
    label: params.get('session') ?? params.get('label') ?? entry.name,
    overwrite: overwriteOf(params.get('overwrite')),
    quarantine: params.get('quarantine') === 'true',
    overwriteFiles: params.get('overwrite_files') === 'true',
  });
  if (params.get('redirect') === 'true') {
    return { status: 303, headers: { Location: `${ctx.state.contextPath}${uri}` }, body: '' };
  }
  return textReply(200, uri, 'text/uri-list;charset=UTF-8');
}

/** `POST /data/services/prearchive/{move|delete|rebuild}?src=...` (repeatable `src`): the affected rows. */
export async function prearchiveBatch(ctx: AuthedContext): Promise<Reply> {
  const params = await requestParams(ctx);
  const operation = ctx.params.operation;
  if (operation !== 'move' && operation !== 'delete' && operation !== 'rebuild') {
    throw new SandboxHttpError(404, `Unknown prearchive operation: ${operation ?? ''}`);
  }
  const sources = params.getAll('src').flatMap((s) => s.split(','));
  if (sources.length === 0) throw new SandboxHttpError(400, 'Missing src parameter.');
  // Every source is looked up (and permission-checked) before any of them changes.
  const entries = sources.map((src) => srcEntry(ctx, src));
  for (const entry of entries) {
    if (operation === 'move') moveEntry(ctx, entry, params.get('newProject'));
    else if (operation === 'rebuild') {
      entry.status = 'READY';
      entry.lastmod = Date.now();
    } else await removeEntry(ctx, entry);
  }
  return rowsReply(ctx, entries);
}
