/**
 * Resources and files (§7.2–7.4): resource listings (CatalogResourceList), file listings (FileList)
 * with their ID-based URIs, single-file downloads, catalog documents and `format=zip` archives.
 */
import { canReadItem } from './access.js';
import { SandboxHttpError } from './errors.js';
import { resolvePath, selectScans } from './lookup.js';
import type { StoredExperiment, StoredFile, StoredResource } from './model.js';
import { textReply, type AuthedContext, type Reply } from './reply.js';
import { tableReply } from './table.js';
import { element, xmlDocument } from './xml.js';
import { createZip } from './zip.js';

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

/** `GET .../resources/{r}`: the resource's catalog document. */
export function getCatalog(ctx: AuthedContext): Reply {
  const { entries } = selectedEntries(ctx);
  const entry = entries[0];
  if (!entry) throw new SandboxHttpError(404, 'Unable to find the specified catalog.');
  const { resource } = entry;
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
  return textReply(200, xmlDocument(catalog), 'text/xml;charset=UTF-8');
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

function zipReply(ctx: AuthedContext, hits: FileHit[], zipName: string): Reply {
  if (hits.length === 0) throw new SandboxHttpError(404, 'No matching files found.');
  const simplified = ctx.query.get('structure') === 'simplified';
  const zip = createZip(
    hits.map(({ entry, file }) => ({
      name: simplified
        ? `${entry.zipBase}/${entry.resource.label}/${file.path}`
        : `${entry.zipBase}/resources/${entry.resource.label}/files/${file.path}`,
      data: file.bytes(),
      modified: file.lastModified,
    })),
  );
  return {
    status: 200,
    headers: {
      'Content-Type': 'application/zip',
      'Content-Disposition': `attachment; filename=${encodeURIComponent(zipName)}.zip`,
    },
    body: zip,
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
  const format = ctx.query.get('format')?.toLowerCase();
  if (format === 'zip') return zipReply(ctx, hits, zipName);
  if (format === 'tar' || format === 'tar.gz')
    throw new SandboxHttpError(406, `Unsupported archive format: ${format}`);
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
  const bytes = hit.bytes();
  const extension = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  return {
    status: 200,
    headers: {
      'Content-Type': CONTENT_TYPES[extension] ?? 'application/octet-stream',
      'Content-Length': String(bytes.length),
      'Last-Modified': new Date(hit.lastModified).toUTCString(),
    },
    body: bytes,
  };
}
