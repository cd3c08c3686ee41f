/**
 * A prearchive session's scans, resources and files (§7.7), as XNAT's PrearcScansListResource,
 * PrearcSessionResourcesList, PrearcScanResourceList and PrearcSessionResourceFiles answer them:
 * plain tables without title or totalRecords, file URIs under the request's own path, and the
 * files themselves by their catalog URI.
 */
import { SandboxHttpError } from './errors.js';
import { fileReply, fileStats } from './files.js';
import type { PrearchiveSession, StoredResource, StoredScan } from './model.js';
import { urlEntry } from './prearchive.js';
import { textReply, type AuthedContext, type Reply } from './reply.js';
import { tableReply } from './table.js';

/** `.../scans`: ID, xsiType and series description of every scan. */
export function listPrearchiveScans(ctx: AuthedContext): Reply {
  const { session } = urlEntry(ctx);
  return tableReply(ctx, {
    columns: ['ID', 'xsiType', 'series_description'],
    rows: session.scans.map((scan) => ({
      ID: scan.id,
      xsiType: scan.xsiType,
      series_description: scan.seriesDescription,
    })),
  });
}

/** `.../resources`: every scan resource of the session with its file statistics. */
export function listPrearchiveResources(ctx: AuthedContext): Reply {
  const { session } = urlEntry(ctx);
  const rows = session.scans.flatMap((scan) =>
    scan.resources.map((resource) => {
      const stats = fileStats(resource);
      return {
        category: 'scans',
        cat_id: scan.id,
        label: resource.label,
        file_count: String(stats.count),
        file_size: String(stats.size),
      };
    }),
  );
  return tableReply(ctx, { columns: ['category', 'cat_id', 'label', 'file_count', 'file_size'], rows });
}

/** The URL's scan; a missing one gets a 404 without a message (Restlet's default description). */
function urlScan(ctx: AuthedContext): { entry: PrearchiveSession; scan: StoredScan } {
  const entry = urlEntry(ctx);
  const scan = entry.session.scans.find((s) => s.id === ctx.params.scan);
  if (!scan) throw new SandboxHttpError(404, '');
  return { entry, scan };
}

/** `.../scans/{id}/resources`: the scan's resources with their file statistics. */
export function listPrearchiveScanResources(ctx: AuthedContext): Reply {
  const { scan } = urlScan(ctx);
  const rows = scan.resources.map((resource) => {
    const stats = fileStats(resource);
    return { label: resource.label, file_count: String(stats.count), file_size: String(stats.size) };
  });
  return tableReply(ctx, { columns: ['label', 'file_count', 'file_size'], rows });
}

function urlResource(ctx: AuthedContext): {
  entry: PrearchiveSession;
  scan: StoredScan;
  resource: StoredResource;
} {
  const { entry, scan } = urlScan(ctx);
  const resource = scan.resources.find((r) => r.label === ctx.params.resource);
  if (!resource) throw new SandboxHttpError(404, '');
  return { entry, scan, resource };
}

/**
 * `.../scans/{id}/resources/{label}/files[/{path}]`: Name, Size and URI of each file, or one file's
 * bytes. An unknown path is a 400 with an empty body, as PrearcSessionResourceFiles sets it.
 */
export function prearchiveFiles(ctx: AuthedContext): Reply {
  const { entry, scan, resource } = urlResource(ctx);
  const path = ctx.rest.join('/');
  if (path !== '') {
    const file = resource.files.find((f) => f.path === path);
    if (!file) return textReply(400, '');
    return fileReply(ctx, file);
  }
  const base =
    `/data/prearchive/projects/${entry.project}/${entry.timestamp}/${entry.folderName}` +
    `/scans/${scan.id}/resources/${resource.label}/files`;
  const rows = resource.files.map((file) => ({
    Name: file.path.slice(file.path.lastIndexOf('/') + 1),
    Size: String(file.size),
    URI: `${base}/${file.path}`,
  }));
  return tableReply(ctx, { columns: ['Name', 'Size', 'URI'], rows });
}
