/**
 * Resources and files (§7.2–7.4): resource listings (CatalogResourceList), file listings (FileList)
 * with their ID-based URIs, single-file downloads (streamed), catalog documents and `format=zip`,
 * `tar` and `tar.gz` archives; and the writes (§7.1, §7.5): resource folders, file uploads (streamed
 * to the archive directory, raw or multipart, `extract=true`, duplicates) and deletes.
 */
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

import { canEditProject, canReadItem } from './access.js';
import { SandboxHttpError } from './errors.js';
import { extractArchives, type Received } from './extract.js';
import { throughTaps } from './hooks.js';
import { requireScan, resolvePath, selectScans } from './lookup.js';
import type { StoredExperiment, StoredFile, StoredProject, StoredResource, StoredSubject } from './model.js';
import { multipartBoundary, partText, readMultipart } from './multipart.js';
import { emptyReply, textReply, type AuthedContext, type Reply } from './reply.js';
import { openFile, type Blob } from './storage.js';
import { tableReply } from './table.js';
import { createTar } from './tar.js';
import { safeEntryPath } from './unzip.js';
import { element, xmlDocument } from './xml.js';
import { zipStream } from './zip.js';

export function fileStats(resource: StoredResource): { count: number; size: number } {
  return { count: resource.files.length, size: resource.files.reduce((sum, f) => sum + f.size, 0) };
}

/** A resource with where it hangs: listing category, URI base of its files and its folder in zips. */
interface ResourceEntry {
  resource: StoredResource;
  category: 'resources' | 'scans' | 'assessors';
  catId: string;
  catDesc: string;
  /** File URIs are `${uriBase}/resources/${id}/files/${path}`. */
  uriBase: string;
  /** Zip entries are `${zipBase}/resources/${label}/files/${path}` (session-relative, labels not IDs). */
  zipBase: string;
}

function scanEntries(session: StoredExperiment, selector: string): ResourceEntry[] {
  return selectScans(session, selector).flatMap((scan) =>
    scan.resources.map((resource) => ({
      resource,
      category: 'scans' as const,
      catId: scan.id,
      catDesc: scan.type,
      uriBase: `/data/experiments/${session.id}/scans/${scan.id}`,
      zipBase: `${session.label}/scans/${scan.id}`,
    })),
  );
}

function assessorEntries(
  session: StoredExperiment,
  assessor: StoredExperiment,
  direction: string,
): ResourceEntry[] {
  const resources = direction === 'in' ? assessor.inResources : assessor.resources;
  return resources.map((resource) => ({
    resource,
    category: 'assessors' as const,
    catId: assessor.id,
    catDesc: assessor.label,
    uriBase: `/data/experiments/${session.id}/assessors/${assessor.id}/${direction}`,
    zipBase: `${session.label}/assessors/${assessor.label}/${direction}`,
  }));
}

/** The resources of the URL's parent object (`all=true` on a session adds its scans' and assessors' resources). */
function parentEntries(ctx: AuthedContext): { entries: ResourceEntry[]; zipName: string } {
  const objects = resolvePath(ctx);
  const { params } = ctx;
  const { project, subject, experiment, assessor } = objects;
  if (experiment && assessor) {
    const direction = params.direction ?? 'out';
    if (direction !== 'in' && direction !== 'out')
      throw new SandboxHttpError(404, 'Unable to find the specified catalog.');
    return { entries: assessorEntries(experiment, assessor, direction), zipName: experiment.label };
  }
  if (experiment && params.scan !== undefined) {
    const entries = scanEntries(experiment, params.scan);
    if (entries.length === 0 && selectScans(experiment, params.scan).length === 0) {
      throw new SandboxHttpError(404, 'Unable to find the specified scan.');
    }
    return { entries, zipName: experiment.label };
  }
  if (experiment) {
    const own: ResourceEntry[] = experiment.resources.map((resource) => ({
      resource,
      category: 'resources',
      catId: '',
      catDesc: '',
      uriBase: `/data/experiments/${experiment.id}`,
      zipBase: experiment.label,
    }));
    if (ctx.query.get('all') !== 'true') return { entries: own, zipName: experiment.label };
    const { archive } = ctx.state;
    const assessors = [...archive.experiments.values()].filter(
      (a) => a.imageSessionId === experiment.id && canReadItem(archive, a, ctx.user),
    );
    return {
      entries: [
        ...own,
        ...scanEntries(experiment, 'ALL'),
        ...assessors.flatMap((a) => [
          ...assessorEntries(experiment, a, 'out'),
          ...assessorEntries(experiment, a, 'in'),
        ]),
      ],
      zipName: experiment.label,
    };
  }
  if (subject) {
    const uriBase = project
      ? `/data/projects/${project.id}/subjects/${subject.id}`
      : `/data/subjects/${subject.id}`;
    return {
      entries: subject.resources.map((resource) => ({
        resource,
        category: 'resources',
        catId: '',
        catDesc: '',
        uriBase,
        zipBase: subject.label,
      })),
      zipName: subject.label,
    };
  }
  if (project) {
    return {
      entries: project.resources.map((resource) => ({
        resource,
        category: 'resources',
        catId: '',
        catDesc: '',
        uriBase: `/data/projects/${project.id}`,
        zipBase: project.id,
      })),
      zipName: project.id,
    };
  }
  throw new SandboxHttpError(404, 'Unable to find the specified catalog.');
}

/** Entries narrowed by the `{resource}` selector: labels or numeric IDs, comma lists allowed. */
function selectedEntries(ctx: AuthedContext): { entries: ResourceEntry[]; zipName: string } {
  const parent = parentEntries(ctx);
  const selector = ctx.params.resource;
  if (selector === undefined) return parent;
  const wanted = selector.split(',');
  const entries = parent.entries.filter(
    (e) => wanted.includes(e.resource.label) || wanted.includes(String(e.resource.xnatAbstractresourceId)),
  );
  if (entries.length === 0) throw new SandboxHttpError(404, 'Unable to find the specified catalog.');
  return { entries, zipName: parent.zipName };
}

export function listResources(ctx: AuthedContext): Reply {
  const { entries } = parentEntries(ctx);
  const columns = [
    'xnat_abstractresource_id',
    'label',
    'element_name',
    'category',
    'cat_id',
    'cat_desc',
    'file_count',
    'file_size',
    'tags',
    'content',
    'format',
  ];
  const rows = entries.map(({ resource, category, catId, catDesc }) => {
    const stats = fileStats(resource);
    return {
      xnat_abstractresource_id: String(resource.xnatAbstractresourceId),
      label: resource.label,
      element_name: resource.xsiType,
      category,
      cat_id: catId,
      cat_desc: catDesc,
      file_count: String(stats.count),
      file_size: String(stats.size),
      tags: resource.tags.join(','),
      content: resource.content,
      format: resource.format,
    };
  });
  return tableReply(ctx, {
    columns,
    rows,
    params: { title: 'Resources', totalRecords: String(rows.length) },
  });
}

/** A resource's catalog document (`cat:Catalog` with one `cat:entry` a file), as XNAT stores it beside the files. */
export function catalogDocument(resource: StoredResource): string {
  const catalog = element(
    'cat:Catalog',
    [
      ['ID', String(resource.xnatAbstractresourceId)],
      ['xmlns:cat', 'http://nrg.wustl.edu/catalog'],
      ['xmlns:xsi', 'http://www.w3.org/2001/XMLSchema-instance'],
    ],
    [
      element(
        'cat:entries',
        [],
        resource.files.map((f) =>
          element('cat:entry', [
            ['ID', f.path],
            ['URI', f.path],
            ['digest', f.digest],
            ['format', f.format],
            ['content', f.content],
            ['name', basename(f.path)],
            ['xsi:type', 'cat:entry'],
          ]),
        ),
      ),
    ],
  );
  return xmlDocument(catalog);
}

/** `GET .../resources/{r}`: the resource's catalog document. */
export function getCatalog(ctx: AuthedContext): Reply {
  const { entries } = selectedEntries(ctx);
  const entry = entries[0];
  if (!entry) throw new SandboxHttpError(404, 'Unable to find the specified catalog.');
  return textReply(200, catalogDocument(entry.resource), 'text/xml;charset=UTF-8');
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

interface FileHit {
  entry: ResourceEntry;
  file: StoredFile;
}

/** `file_format=`/`file_content=` filters (repeatable; `NULL` matches empty). */
function filterFiles(ctx: AuthedContext, hits: FileHit[]): FileHit[] {
  const formats = ctx.query.getAll('file_format');
  const contents = ctx.query.getAll('file_content');
  const matches = (wanted: string[], value: string): boolean =>
    wanted.length === 0 || wanted.some((w) => (w === 'NULL' ? value === '' : w === value));
  return hits.filter((h) => matches(formats, h.file.format) && matches(contents, h.file.content));
}

/** The archive formats FileList answers for `format=` (MediaType zip, x-tar, x-gtar = gzipped tar). */
const ARCHIVES = {
  zip: { type: 'application/zip', extension: 'zip' },
  tar: { type: 'application/x-tar', extension: 'tar' },
  'tar.gz': { type: 'application/x-gtar', extension: 'tar.gz' },
} as const;

type ArchiveFormat = keyof typeof ARCHIVES;

function archiveReply(ctx: AuthedContext, hits: FileHit[], zipName: string, format: ArchiveFormat): Reply {
  if (hits.length === 0) throw new SandboxHttpError(404, 'No matching files found.');
  const simplified = ctx.query.get('structure') === 'simplified';
  const entries = hits.map(({ entry, file }) => ({
    name: simplified
      ? `${entry.zipBase}/${entry.resource.label}/${file.path}`
      : `${entry.zipBase}/resources/${entry.resource.label}/files/${file.path}`,
    data: file.bytes(),
    modified: file.lastModified,
  }));
  const body =
    format === 'zip'
      ? zipStream(entries)
      : format === 'tar'
        ? createTar(entries)
        : gzipSync(createTar(entries));
  const { type, extension } = ARCHIVES[format];
  return {
    status: 200,
    headers: {
      'Content-Type': type,
      'Content-Disposition': `attachment; filename=${encodeURIComponent(zipName)}.${extension}`,
    },
    body,
  };
}

/** `.../files` listings (resource, scan selector, parent) or, with `format=zip`, their archive. */
export function listFiles(ctx: AuthedContext): Reply {
  const { entries, zipName } = selectedEntries(ctx);
  let hits = entries.flatMap((entry) => entry.resource.files.map((file) => ({ entry, file })));
  if (ctx.rest.length > 0) {
    const folder = `${ctx.rest.join('/')}/`;
    hits = hits.filter((h) => h.file.path.startsWith(folder));
  }
  hits = filterFiles(ctx, hits);
  const format = ctx.query.get('format')?.toLowerCase() ?? '';
  if (Object.hasOwn(ARCHIVES, format)) return archiveReply(ctx, hits, zipName, format as ArchiveFormat);
  const rows = hits.map(({ entry, file }) => ({
    Name: basename(file.path),
    Size: String(file.size),
    URI: `${entry.uriBase}/resources/${entry.resource.xnatAbstractresourceId}/files/${file.path}`,
    collection: entry.resource.label,
    file_tags: file.tags.join(','),
    file_format: file.format,
    file_content: file.content,
    cat_ID: String(entry.resource.xnatAbstractresourceId),
    digest: file.digest,
  }));
  return tableReply(ctx, {
    columns: [
      'Name',
      'Size',
      'URI',
      'collection',
      'file_tags',
      'file_format',
      'file_content',
      'cat_ID',
      'digest',
    ],
    rows,
    columnMeta: [{ key: 'URI', serverRoot: ctx.state.contextPath }],
    params: { title: 'Files' },
  });
}

const CONTENT_TYPES: Record<string, string> = {
  bmp: 'image/bmp',
  gif: 'image/gif',
  html: 'text/html',
  htm: 'text/html',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  pdf: 'application/pdf',
  png: 'image/png',
  svg: 'image/svg+xml',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  txt: 'text/plain',
  xml: 'text/xml',
};

/** `GET .../resources/{r}/files/{path}`: the bytes (a trailing `/` lists the folder instead). */
export function getFile(ctx: AuthedContext): Reply {
  if (ctx.trailingSlash) return listFiles(ctx);
  const { entries } = selectedEntries(ctx);
  const path = ctx.rest.join('/');
  const hit = entries.flatMap((entry) => entry.resource.files.filter((f) => f.path === path))[0];
  if (!hit) {
    if (ctx.query.get('accept-not-found') === 'true') return { status: 204, headers: {}, body: '' };
    throw new SandboxHttpError(404, 'Unable to find file.');
  }
  return fileReply(ctx, hit);
}

/** One stored file's bytes, streamed, with SecureResource's media type by extension. */
export function fileReply(ctx: AuthedContext, file: StoredFile): Reply {
  const extension = file.path.slice(file.path.lastIndexOf('.') + 1).toLowerCase();
  const headers = {
    'Content-Type': CONTENT_TYPES[extension] ?? 'application/octet-stream',
    'Content-Length': String(file.size),
    'Last-Modified': new Date(file.lastModified).toUTCString(),
  };
  // A HEAD neither reads the file nor uses up a one-shot download fault meant for a GET.
  if (ctx.method === 'HEAD') return { status: 200, headers, body: '' };
  const taps = ctx.state.hooks.downloadTaps?.(file.path);
  // Streamed: uploaded files can be far larger than memory should hold.
  return { status: 200, headers, body: throughTaps(openFile(file), taps) };
}

/** Where a URL's resources live, for writes: the parent's resource list and the project that owns it. */
interface ResourceHome {
  resources: StoredResource[];
  owner: StoredProject;
}

/** The parent of `.../resources` in a write URL; 404 when unreadable, 403 when the user may not edit it. */
function editableHome(ctx: AuthedContext): ResourceHome {
  const { project, subject, experiment, assessor } = resolvePath(ctx);
  const { params } = ctx;
  const { archive } = ctx.state;
  let resources: StoredResource[];
  let ownerId: string;
  let item: StoredSubject | StoredExperiment | undefined;
  if (experiment && assessor) {
    const direction = params.direction ?? 'out';
    if (direction !== 'in' && direction !== 'out')
      throw new SandboxHttpError(404, 'Unable to find the specified catalog.');
    resources = direction === 'in' ? assessor.inResources : assessor.resources;
    ownerId = assessor.project;
    item = assessor;
  } else if (experiment) {
    resources =
      params.scan === undefined ? experiment.resources : requireScan(experiment, params.scan).resources;
    ownerId = experiment.project;
    item = experiment;
  } else if (subject) {
    resources = subject.resources;
    ownerId = subject.project;
    item = subject;
  } else if (project) {
    resources = project.resources;
    ownerId = project.id;
  } else {
    throw new SandboxHttpError(404, 'Unable to find the specified catalog.');
  }
  const owner = archive.projects.get(ownerId);
  if (!owner || !canEditProject(owner, ctx.user)) {
    throw new SandboxHttpError(
      403,
      `Specified user account has insufficient edit privileges for ${ownerId}.`,
    );
  }
  if (item?.status === 'locked')
    throw new SandboxHttpError(403, 'This item is locked and cannot be modified.');
  return { resources, owner };
}

function findResource(resources: StoredResource[], selector: string): StoredResource | undefined {
  return resources.find((r) => r.label === selector || String(r.xnatAbstractresourceId) === selector);
}

/** `tags=` values (repeatable, comma lists). */
function tagsOf(query: URLSearchParams): string[] {
  return query
    .getAll('tags')
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

const CATALOG_TYPE = 'xnat:resourceCatalog';

/**
 * A resource attribute from the query: the plain parameter (`format=`), else the xpath-style field
 * XNAT's item loader reads from every query string (`xnat:resourceCatalog/format=`).
 */
function catalogAttribute(query: URLSearchParams, field: 'format' | 'content' | 'description'): string {
  return query.get(field) ?? query.get(`${CATALOG_TYPE}/${field}`) ?? '';
}

function newResource(ctx: AuthedContext, label: string, query: URLSearchParams): StoredResource {
  return {
    xnatAbstractresourceId: ctx.state.archive.sequences.resource++,
    label,
    xsiType: CATALOG_TYPE,
    format: catalogAttribute(query, 'format'),
    content: catalogAttribute(query, 'content'),
    description: catalogAttribute(query, 'description'),
    tags: tagsOf(query),
    files: [],
  };
}

/** The data type a resource PUT describes (`xsiType=`, `ELEMENT_0=` or the first xpath field's root), as XNAT's loadItem reads it. */
function describedType(query: URLSearchParams): string | undefined {
  const explicit = query.get('xsiType') ?? query.get('ELEMENT_0');
  if (explicit !== null) return explicit;
  const xpath = [...query.keys()].find((key) => key.includes(':') && key.includes('/'));
  return xpath?.slice(0, xpath.indexOf('/'));
}

/** `PUT|POST <parent>/resources/{label}` (CatalogResource): a new, empty resource folder. */
export function createResource(ctx: AuthedContext): Reply {
  const home = editableHome(ctx);
  const label = ctx.params.resource ?? '';
  if (findResource(home.resources, label))
    throw new SandboxHttpError(409, 'Specified resource already exists.');
  const type = describedType(ctx.query);
  if (type !== undefined && type !== CATALOG_TYPE)
    throw new SandboxHttpError(422, 'Only ResourceCatalog documents can be PUT to this address.');
  home.resources.push(newResource(ctx, label, ctx.query));
  return emptyReply();
}

/** `DELETE <parent>/resources/{label}`: the folder and its files. */
export async function deleteResource(ctx: AuthedContext): Promise<Reply> {
  const home = editableHome(ctx);
  const resource = findResource(home.resources, ctx.params.resource ?? '');
  if (!resource) throw new SandboxHttpError(404, 'Unable to find the specified catalog.');
  home.resources.splice(home.resources.indexOf(resource), 1);
  if (ctx.query.get('removeFiles') !== 'false') await ctx.state.storage.discard(resource.files);
  return emptyReply();
}

/** `DELETE .../files/{path}`: one file, or a folder (trailing `/`, or a path that only names a folder). */
export async function deleteFile(ctx: AuthedContext): Promise<Reply> {
  const home = editableHome(ctx);
  const resource = findResource(home.resources, ctx.params.resource ?? '');
  const path = ctx.rest.join('/');
  const exact = ctx.trailingSlash ? [] : (resource?.files.filter((f) => f.path === path) ?? []);
  const doomed =
    exact.length > 0 ? exact : (resource?.files.filter((f) => f.path.startsWith(`${path}/`)) ?? []);
  if (!resource || doomed.length === 0) {
    if (ctx.query.get('accept-not-found') === 'true') return emptyReply(204);
    throw new SandboxHttpError(404, 'File missing');
  }
  resource.files = resource.files.filter((f) => !doomed.includes(f));
  if (ctx.query.get('removeFiles') !== 'false') await ctx.state.storage.discard(doomed);
  return emptyReply();
}

const NO_DATA =
  "You tried to PUT to this service, but didn't provide any data. Please use a multipart form upload or put the file in the request body with inbody=true.";

/** A path inside a resource from URL segments or a part's filename; 400 when it would leave the resource. */
function resourcePath(raw: string): string {
  const path = safeEntryPath(raw);
  if (path === undefined) throw new SandboxHttpError(400, `Invalid file path: ${raw}`);
  return path;
}

/** The request body after any fault-injection taps (one stream, errors propagated). */
function uploadSource(ctx: AuthedContext): Readable {
  return throughTaps(ctx.bodyStream(), ctx.state.hooks.uploadTaps?.());
}

/** Whether a non-multipart body is a file: a concrete Content-Type or `inbody=true` (form posts are parameters). */
function isFileInBody(ctx: AuthedContext): boolean {
  if (ctx.query.get('inbody') === 'true') return true;
  const type = (ctx.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type !== '' && type !== 'application/x-www-form-urlencoded';
}

/** Receives the uploaded files into blobs; form fields of a multipart body are added to `params`. */
async function receiveFiles(ctx: AuthedContext, params: URLSearchParams): Promise<Received[]> {
  const { storage } = ctx.state;
  const urlPath = ctx.rest.length > 0 ? resourcePath(ctx.rest.join('/')) : undefined;
  const boundary = multipartBoundary(ctx.headers['content-type']);
  const received: Received[] = [];
  try {
    if (boundary !== undefined) {
      if (params.get('inbody') === 'true') throw new SandboxHttpError(400, NO_DATA);
      await readMultipart(uploadSource(ctx), boundary, async (info, body) => {
        if (info.filename === undefined) {
          params.append(info.name, await partText(body));
          return;
        }
        const path = urlPath ?? resourcePath(info.filename);
        received.push({ path, blob: await storage.store(body) });
      });
    } else if (isFileInBody(ctx)) {
      if (urlPath === undefined) throw new SandboxHttpError(400, NO_DATA);
      received.push({ path: urlPath, blob: await storage.store(uploadSource(ctx)) });
    }
    if (received.length === 0 || received.every((r) => r.blob.size === 0)) {
      throw new SandboxHttpError(400, NO_DATA);
    }
    return received;
  } catch (error) {
    await Promise.all(received.map((r) => storage.drop(r.blob)));
    throw error;
  }
}

/**
 * `PUT|POST <parent>/resources/{r}/files[/{path}]` (§7.5): raw body or multipart, streamed to disk
 * with an MD5 digest; creates the resource when missing. An existing file without `overwrite=true`
 * is kept and reported in a 200 `{"duplicates":[...]}` body, as XNAT does.
 */
export async function uploadFiles(ctx: AuthedContext): Promise<Reply> {
  const home = editableHome(ctx);
  const { storage } = ctx.state;
  const params = new URLSearchParams(ctx.query);
  let received = await receiveFiles(ctx, params);
  if (params.get('extract') === 'true') received = await extractArchives(storage, received);

  // From here to the reply nothing awaits before the catalog is updated: concurrent uploads see a consistent resource.
  const label = ctx.params.resource ?? '';
  let resource = findResource(home.resources, label);
  if (!resource) {
    resource = newResource(ctx, label, params);
    home.resources.push(resource);
  }
  const overwrite = params.get('overwrite') === 'true';
  const duplicates: string[] = [];
  const unused: Blob[] = [];
  const replaced: StoredFile[] = [];
  for (const { path, blob } of received) {
    const at = resource.files.findIndex((f) => f.path === path);
    if (at >= 0 && !overwrite) {
      duplicates.push(path);
      unused.push(blob);
      continue;
    }
    const file = storage.catalogue(blob, {
      path,
      format: params.get('format') ?? '',
      content: params.get('content') ?? '',
      tags: tagsOf(params),
    });
    const previous = resource.files[at];
    if (previous) {
      replaced.push(previous);
      resource.files[at] = file;
    } else {
      resource.files.push(file);
    }
  }
  await Promise.all([storage.discard(replaced), ...unused.map((b) => storage.drop(b))]);
  if (duplicates.length > 0) {
    return textReply(200, JSON.stringify({ duplicates }), 'text/html;charset=UTF-8');
  }
  return textReply(200, '');
}
