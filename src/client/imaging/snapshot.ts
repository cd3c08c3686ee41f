/**
 * XNAT's own snapshots (xnat-web SnapshotGenerationApi): a GIF of one slice or a montage, or a
 * half-size thumbnail. Not a pure read: XNAT writes the image it generates into the scan's
 * SNAPSHOTS resource (and serves it from there afterwards).
 */
import { XnatBadRequestError, XnatProtocolError } from '../errors.js';
import { xnatPath } from '../http.js';
import type { FileContext } from '../files.js';
import { withHint } from '../reads.js';

export interface SnapshotQuery {
  experiment: string;
  project?: string | undefined;
  scan: string;
  /** Montage grid; both 1 (the default) for one slice. */
  columns?: number | undefined;
  rows?: number | undefined;
  thumbnail?: boolean | undefined;
  /** Largest image accepted, in bytes. */
  maxBytes: number;
  signal?: AbortSignal | undefined;
}

export interface Snapshot {
  image: Buffer;
  mimeType: string;
  width: number;
  height: number;
}

/** Width and height from a GIF or PNG header. */
function dimensions(image: Buffer, mimeType: string): { width: number; height: number } {
  if (image.toString('latin1', 0, 3) === 'GIF' && image.length >= 10) {
    return { width: image.readUInt16LE(6), height: image.readUInt16LE(8) };
  }
  if (image.toString('latin1', 1, 4) === 'PNG' && image.length >= 24) {
    return { width: image.readUInt32BE(16), height: image.readUInt32BE(20) };
  }
  throw new XnatProtocolError(`XNAT's snapshot is not a GIF or PNG image (${mimeType || 'no content type'})`);
}

export async function scanSnapshot(ctx: FileContext, q: SnapshotQuery): Promise<Snapshot> {
  const columns = q.columns ?? 1;
  const rows = q.rows ?? 1;
  const id = await ctx.experimentId(q.experiment, q.project, q.signal);
  const segments = ['xapi', 'experiments', id, 'scan', q.scan, q.thumbnail ? 'thumbnail' : 'snapshot'];
  // SnapshotGenerationApi's view is `{columns}X{rows}`; none means one slice.
  if (columns !== 1 || rows !== 1) segments.push(`${columns}X${rows}`);
  const path = xnatPath(...segments);
  let res;
  try {
    res = await ctx.request({ method: 'GET', path, streamResponse: true, signal: q.signal });
  } catch (err) {
    throw withHint(
      err,
      `XNAT has no snapshot of scan ${q.scan} of ${q.experiment} (no such scan, or no DICOM it can draw)`,
    );
  }
  if (!res.stream) throw new XnatProtocolError('XNAT sent no snapshot');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > q.maxBytes) {
      res.stream.destroy();
      throw new XnatBadRequestError(
        `XNAT's snapshot of scan ${q.scan} is larger than ${q.maxBytes} bytes; ask for the thumbnail or fewer panels`,
      );
    }
    chunks.push(chunk);
  }
  const image = Buffer.concat(chunks);
  const mimeType = res.contentType.split(';')[0]!.trim() || 'image/gif';
  return { image, mimeType, ...dimensions(image, mimeType) };
}
