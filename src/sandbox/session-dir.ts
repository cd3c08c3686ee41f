/**
 * DIRResource (`/experiments/{e}/DIR[/...]`, `/projects/{p}/experiments/{e}/DIR[/...]` and the same
 * with `XAR`): the session's archive directory as files on disk. XNAT registers only the `DIR` and
 * `XAR` templates; Restlet matches them by prefix, so whatever follows `DIR/` is a glob path into
 * the session directory. Files are listed by archive-relative path (`SCANS/1/...`, `RESOURCES/...`)
 * in a `Name`/`DIR`/`Size`/`URI` table, served when one file matches, or zipped with `format=zip`.
 *
 * DIRResource walks the directory on disk, so each resource's catalog XML is listed (and zipped)
 * beside its files, at the path the resource's `URI` names.
 */
import { SandboxHttpError } from './errors.js';
import { catalogDocument, fileReply } from './files.js';
import { archiveDirectory, catalogPath } from './item-parts.js';
import { experimentXml } from './item-xml.js';
import { resolvePath } from './lookup.js';
import type { SandboxArchive, StoredExperiment, StoredFile, StoredResource } from './model.js';
import type { AuthedContext, Reply } from './reply.js';
import { tableReply } from './table.js';
import { elementName } from './types.js';
import { xmlDocument } from './xml.js';
import { createZip, type ZipEntry } from './zip.js';

/** A node of the session directory: a file (with its catalog entry) or a folder. */
interface Node {
  /** Session-relative path; folders end in `/`, as `File.toURI()` writes existing directories. */
  rel: string;
  file?: StoredFile;
}

/** `File.length()` of a directory: what Linux file systems commonly report; XNAT passes it through. */
const DIRECTORY_SIZE = '4096';

/** Where each resource's files sit below the session directory: the folder of its catalog `URI`. */
function resourceFolders(session: StoredExperiment): Array<[string, StoredResource]> {
  const folderOf = (base: string, resource: StoredResource): string => {
    const catalog = catalogPath(base, resource);
    return catalog.slice(0, catalog.lastIndexOf('/'));
  };
  return [
    ...session.resources.map((r): [string, StoredResource] => [folderOf('', r), r]),
    ...session.scans.flatMap((scan) =>
      scan.resources.map((r): [string, StoredResource] => [folderOf(`/SCANS/${scan.id}`, r), r]),
    ),
    ...(session.reconstructions ?? []).flatMap((recon) =>
      recon.resources.map((r): [string, StoredResource] => [folderOf(`/PROCESSED/${recon.id}`, r), r]),
    ),
  ].map(([folder, r]): [string, StoredResource] => [folder.replace(/^\//, ''), r]);
}

/** The catalog file on disk: its document as XNAT writes it, named by the resource's `URI`. */
function catalogFile(resource: StoredResource): StoredFile {
  const bytes = Buffer.from(catalogDocument(resource), 'utf8');
  const catalog = catalogPath('', resource);
  const lastModified = Math.max(0, ...resource.files.map((f) => f.lastModified));
  return {
    path: catalog.slice(catalog.lastIndexOf('/') + 1),
    size: bytes.length,
    digest: '',
    format: '',
    content: '',
    tags: [],
    bytes: () => bytes,
    lastModified: lastModified || Date.now(),
  };
}

/** Every file and folder of the session directory, by session-relative path. */
function sessionTree(session: StoredExperiment): Map<string, Node> {
  const nodes = new Map<string, Node>();
  for (const [folder, resource] of resourceFolders(session)) {
    for (const file of [...resource.files, catalogFile(resource)]) {
      const rel = `${folder}/${file.path}`;
      nodes.set(rel, { rel, file });
      const parts = rel.split('/');
      for (let i = 1; i < parts.length; i++) {
        const dir = `${parts.slice(0, i).join('/')}/`;
        if (!nodes.has(dir)) nodes.set(dir, { rel: dir });
      }
    }
  }
  return nodes;
}

function children(tree: Map<string, Node>, dir: string, recursive: boolean): Node[] {
  return [...tree.values()]
    .filter((n) => n.rel.startsWith(dir) && n.rel !== dir)
    .filter((n) =>
      recursive ? n.file !== undefined : !n.rel.slice(dir.length).replace(/\/$/, '').includes('/'),
    )
    .sort((a, b) => a.rel.localeCompare(b.rel));
}

/** GlobFilenameFilter's `*` and `?` over one path segment. */
function globMatcher(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** DIRResource.getFiles: each segment is a glob; folders matched before the last segment are descended. */
function matchPath(tree: Map<string, Node>, path: string): Node[] {
  const segments = path.split('/');
  if (segments.some((s) => s.trim() === '..')) {
    throw new SandboxHttpError(400, "'..' is not allowed in this resource URI.");
  }
  let current: Node[] = [{ rel: '' }];
  segments.forEach((segment, index) => {
    if (index > 0 && segment === '' && index === segments.length - 1) return;
    const pattern = globMatcher(segment === '' ? '*' : segment);
    current = current.flatMap((parent) => {
      if (parent.file) return [parent];
      return children(tree, parent.rel, false).filter((n) =>
        pattern.test(n.rel.slice(parent.rel.length).replace(/\/$/, '')),
      );
    });
  });
  return current;
}

function zipEntries(session: StoredExperiment, nodes: Node[]): ZipEntry[] {
  // ZipRepresentation names entries from the archive directory name on and skips folders.
  return nodes.flatMap((n) =>
    n.file
      ? [{ name: `${session.label}/${n.rel}`, data: n.file.bytes(), modified: n.file.lastModified }]
      : [],
  );
}

function zipReply(body: Buffer, type: string, downloadName: string): Reply {
  return {
    status: 200,
    headers: {
      'Content-Type': type,
      'Content-Disposition': `attachment; filename=${encodeURIComponent(downloadName)}`,
    },
    body,
  };
}

/** The session document as XAR's `{ID}.xml`, its file URIs relative to the session directory (SAXWriter's relativizePath). */
function sessionDocument(archive: SandboxArchive, session: StoredExperiment, ctx: AuthedContext): Buffer {
  const xml = xmlDocument(experimentXml(archive, session, ctx.user, elementName(session.xsiType)));
  return Buffer.from(xml.split(`${archiveDirectory(archive, session)}/`).join(''), 'utf8');
}

function requireSession(ctx: AuthedContext): StoredExperiment {
  if (ctx.state.guest !== undefined && ctx.user === ctx.state.guest) {
    throw new SandboxHttpError(401, 'Unauthorized');
  }
  const { experiment } = resolvePath(ctx);
  if (!experiment) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  if (experiment.imageSessionId !== '' || experiment.subjectId === '') {
    throw new SandboxHttpError(
      400,
      'Resource only available for extensions of the xnat:subjectAssessorData type.',
    );
  }
  return experiment;
}

/** `GET .../DIR[/{path+}]` and `GET .../XAR`. */
export function getSessionDir(ctx: AuthedContext): Reply {
  const session = requireSession(ctx);
  const { archive } = ctx.state;
  const xar = ctx.rest.length === 0 && ctx.segments.at(-1) === 'XAR';
  const format = ctx.query.get('format')?.toLowerCase() ?? '';
  const tree = sessionTree(session);
  const path = ctx.rest.join('/') + (ctx.trailingSlash && ctx.rest.length > 0 ? '/' : '');
  const src = path === '' ? [{ rel: '' }] : matchPath(tree, path);
  if (src.length === 0) throw new SandboxHttpError(404, "Specified request didn't match any stored files.");
  const [only] = src;
  if (src.length === 1 && only?.file) {
    if (format !== 'zip') return fileReply(ctx, only.file);
    const name = only.rel.slice(only.rel.lastIndexOf('/') + 1);
    return zipReply(createZip(zipEntries(session, [only])), 'application/zip', `${name}.zip`);
  }
  const recursive = ctx.query.get('recursive') === 'true' || xar;
  const sets = src.map((parent) => ({
    parent,
    matches: parent.file ? [parent] : children(tree, parent.rel, recursive),
  }));
  const matches = sets.flatMap((s) => s.matches);
  if (xar) {
    const document = {
      name: `${session.id}.xml`,
      data: sessionDocument(archive, session, ctx),
      modified: Date.now(),
    };
    return zipReply(
      createZip([document, ...zipEntries(session, matches)]),
      'application/xar',
      `${session.label}.xar`,
    );
  }
  if (format === 'zip')
    return zipReply(createZip(zipEntries(session, matches)), 'application/zip', `${session.label}.zip`);
  const formatParam = ctx.query.get('format');
  const qs = formatParam === null ? '' : `?format=${formatParam}`;
  const rows = sets.flatMap(({ parent, matches: found }) =>
    found.map((n) => ({
      Name: n.rel.slice(parent.file ? n.rel.length : parent.rel.length),
      DIR: String(n.file === undefined),
      Size: n.file ? String(n.file.size) : DIRECTORY_SIZE,
      URI: `/data/experiments/${session.id}/DIR/${n.rel}${n.file ? '' : qs}`,
    })),
  );
  return tableReply(ctx, {
    columns: ['Name', 'DIR', 'Size', 'URI'],
    rows,
    columnMeta: [{ key: 'URI', serverRoot: ctx.state.contextPath }],
    params: { title: 'Files' },
  });
}
