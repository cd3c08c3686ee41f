/**
 * A picture of a scan, rendered here from its DICOM files streamed from XNAT: one slice, a montage
 * of evenly spaced slices, or three orthogonal views of a volume, as a PNG within a size cap.
 * Memory stays bounded: headers first (the first bytes of each file, to order the frames), then only
 * the files holding the chosen slices, one decoded file at a time per worker.
 */
import { XnatBadRequestError, XnatNotFoundError, XnatProtocolError } from '../errors.js';
import type { RequestContext } from '../http.js';
import type { XnatFile } from '../models.js';
import { runPool } from '../transfers/common.js';
import { NeedMoreBytes, NotDicomError, readDicomHeader, type DicomHeader } from './dicom-header.js';
import { checkSyntax, decodeDicom, type DecodedFile, type Window } from './decode.js';
import { evenlySpaced, mosaicLayout, orderVolumes, type SliceRef } from './frames.js';
import { autoWindow, plane, readNifti } from './nifti.js';
import { crop, encodePng, fitInside, grid, resize, type Raster } from './raster.js';
import { MAX_IMAGE_BYTES, MAX_IMAGE_SIZE, MAX_MONTAGE, WINDOW_PRESETS, type WindowPreset } from './limits.js';

export { MAX_IMAGE_BYTES, MAX_IMAGE_SIZE, MAX_MONTAGE, WINDOW_PRESETS, type WindowPreset };

export type ImageMode = 'slice' | 'montage' | 'orthogonal';

export interface ScanImageRequest {
  files: XnatFile[];
  /** For messages: `scan 3 of E1`. */
  what: string;
  mode: ImageMode;
  /** `slice` mode: 0-based index in the volume's spatial order (default: the middle). */
  slice?: number | undefined;
  /** `montage` mode: how many slices (default 16). */
  count?: number | undefined;
  /** 4-D series: 0-based volume (time point), default 0. */
  volume?: number | undefined;
  /** `dicom` (the file's window, else its pixel range), a preset, or explicit. */
  window?: 'dicom' | WindowPreset | Window | undefined;
  /** Longest side of the image (default and maximum 1024). */
  maxSize?: number | undefined;
  /** Largest PNG in bytes (default and maximum MAX_IMAGE_BYTES). */
  maxBytes?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface ScanImage {
  png: Buffer;
  /** What was decoded: DICOM files, or one NIfTI volume file. */
  source: 'dicom' | 'nifti';
  width: number;
  height: number;
  mode: ImageMode;
  /** 0-based indices (spatial order) of the slices shown; orthogonal: the crossing slice. */
  slices: number[];
  sliceCount: number;
  volume: number;
  volumeCount: number;
  window?: Window & { source: 'dicom' | 'auto' | 'preset' | 'explicit' };
  transferSyntax: string;
  photometric: string;
  /** Pixel size of one source slice. */
  rows: number;
  columns: number;
  filesRead: number;
}

const HEADER_CHUNK_LIMIT = 4 * 1024 * 1024;
const MAX_FILE_BYTES = 1024 * 1024 * 1024;
const CONCURRENCY = 4;

const DATA_URI = /^\/(data|REST)\/[^?#]+$/;

function checkUri(file: XnatFile): string {
  if (!DATA_URI.test(file.uri)) throw new XnatProtocolError(`XNAT listed ${file.path} at an unusable URI`);
  return file.uri;
}

/** The first bytes of a file, enough for its header; the rest of the body is never read. */
async function fetchHeader(ctx: RequestContext, file: XnatFile, signal?: AbortSignal): Promise<DicomHeader> {
  const res = await ctx.request({ method: 'GET', path: checkUri(file), streamResponse: true, signal });
  const stream = res.stream;
  if (!stream) throw new XnatProtocolError(`XNAT sent no body for ${file.path}`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size < 132) continue;
      try {
        return readDicomHeader(Buffer.concat(chunks));
      } catch (err) {
        if (!(err instanceof NeedMoreBytes) || size > HEADER_CHUNK_LIMIT) throw err;
      }
    }
    return readDicomHeader(Buffer.concat(chunks));
  } catch (err) {
    if (err instanceof NeedMoreBytes) {
      throw new XnatBadRequestError(`${file.path} ends before its image attributes: it holds no image`);
    }
    if (err instanceof NotDicomError) throw new XnatBadRequestError(`${file.path} is ${err.message}`);
    throw err;
  } finally {
    // Closes the connection mid-body: the pixels are not wanted.
    if (!stream.readableEnded) stream.destroy();
  }
}

async function fetchWhole(ctx: RequestContext, file: XnatFile, signal?: AbortSignal): Promise<Buffer> {
  if (file.size > MAX_FILE_BYTES) {
    throw new XnatBadRequestError(`${file.path} is too large to render here (${file.size} bytes)`);
  }
  const res = await ctx.request({ method: 'GET', path: checkUri(file), streamResponse: true, signal });
  if (!res.stream) throw new XnatProtocolError(`XNAT sent no body for ${file.path}`);
  const chunks: Buffer[] = [];
  for await (const chunk of res.stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function chooseWindow(
  request: ScanImageRequest['window'],
  header: Pick<DicomHeader, 'windowCenter' | 'windowWidth'>,
): ScanImage['window'] | undefined {
  if (typeof request === 'object') return { ...request, source: 'explicit' };
  if (request !== undefined && request !== 'dicom') return { ...WINDOW_PRESETS[request], source: 'preset' };
  if (header.windowCenter !== undefined && header.windowWidth !== undefined && header.windowWidth > 0) {
    return { center: header.windowCenter, width: header.windowWidth, source: 'dicom' };
  }
  return undefined;
}

/** Renders the slices `refs` (decoding each file once), in order. */
class SliceRenderer {
  window: ScanImage['window'];
  filesRead = 0;

  constructor(
    private readonly ctx: RequestContext,
    private readonly files: XnatFile[],
    private readonly headers: DicomHeader[],
    private readonly grey: boolean,
    window: ScanImage['window'],
    private readonly signal: AbortSignal | undefined,
  ) {
    this.window = window;
  }

  /** The file that settled the window, kept for the panel that shows it. */
  private first: { file: number; decoded: DecodedFile } | undefined;

  private async open(file: number): Promise<DecodedFile> {
    if (this.first?.file === file) return this.first.decoded;
    const bytes = await fetchWhole(this.ctx, this.files[file]!, this.signal);
    this.filesRead++;
    return decodeDicom(bytes, this.files[file]!.path);
  }

  /** Fixes an automatic window from the first slice, so that every panel shares one. */
  async settleWindow(first: SliceRef): Promise<void> {
    if (this.window || !this.grey) return;
    const decoded = await this.open(first.file);
    this.first = { file: first.file, decoded };
    const used = decoded.render(first.frame, undefined).window;
    if (used) this.window = { ...used, source: 'auto' };
  }

  async renderAll(refs: readonly SliceRef[], each: (index: number, r: Raster) => void): Promise<void> {
    const byFile = new Map<number, number[]>();
    refs.forEach((ref, i) => byFile.set(ref.file, [...(byFile.get(ref.file) ?? []), i]));
    await runPool(
      [...byFile.entries()],
      CONCURRENCY,
      async ([file, indices]) => {
        const decoded = await this.open(file);
        const mosaic = mosaicLayout(this.headers[file]!);
        const frames = new Map<number, Raster>();
        for (const i of indices) {
          const ref = refs[i]!;
          let frame = frames.get(ref.frame);
          if (!frame) {
            if (ref.frame >= decoded.frames)
              throw new XnatProtocolError(`${this.files[file]!.path} has no frame ${ref.frame + 1}`);
            frame = decoded.render(ref.frame, this.window).raster;
            frames.set(ref.frame, frame);
          }
          each(i, mosaic && ref.tile !== undefined ? tileOf(frame, mosaic, ref.tile) : frame);
        }
      },
      this.signal,
    );
  }
}

function tileOf(frame: Raster, m: NonNullable<ReturnType<typeof mosaicLayout>>, tile: number): Raster {
  return crop(
    frame,
    (tile % m.grid) * m.tileColumns,
    Math.floor(tile / m.grid) * m.tileRows,
    m.tileColumns,
    m.tileRows,
  );
}

/** Scales to the size cap, then shrinks further until the PNG fits the byte cap. */
function encodeWithin(image: Raster, maxSize: number, maxBytes: number): { png: Buffer; raster: Raster } {
  let size = fitInside(image.width, image.height, maxSize);
  for (;;) {
    const raster = resize(image, size.width, size.height);
    const png = encodePng(raster);
    if (png.length <= maxBytes || Math.max(size.width, size.height) <= 64) return { png, raster };
    size = fitInside(size.width, size.height, Math.floor(Math.max(size.width, size.height) * 0.75));
  }
}

/**
 * The headers of the files that hold images; files that are not DICOM or hold no image (reports,
 * presentation states) are left out, and only when none is left is that an error.
 */
async function readHeaders(
  ctx: RequestContext,
  listed: XnatFile[],
  what: string,
  signal: AbortSignal | undefined,
): Promise<{ files: XnatFile[]; headers: DicomHeader[] }> {
  if (listed.length === 0) throw new XnatNotFoundError(`${what} has no DICOM files to render`);
  const read: Array<DicomHeader | XnatBadRequestError> = new Array(listed.length);
  await runPool(
    listed.map((_, i) => i),
    8,
    async (i) => {
      try {
        read[i] = await fetchHeader(ctx, listed[i]!, signal);
      } catch (err) {
        if (!(err instanceof XnatBadRequestError)) throw err;
        read[i] = err;
      }
    },
    signal,
  );
  const kept = listed.flatMap((file, i) => {
    const header = read[i];
    return header instanceof XnatBadRequestError || !header || header.rows === 0 ? [] : [{ file, header }];
  });
  if (kept.length === 0) {
    throw (
      read.find((r) => r instanceof XnatBadRequestError) ?? new XnatBadRequestError(`${what} holds no images`)
    );
  }
  return { files: kept.map((k) => k.file), headers: kept.map((k) => k.header) };
}

function checkRequest(q: Pick<ScanImageRequest, 'mode' | 'count' | 'slice'>): void {
  if (q.mode !== 'montage' && q.count !== undefined)
    throw new XnatBadRequestError('`count` applies to mode "montage" only');
  if (q.mode !== 'slice' && q.slice !== undefined)
    throw new XnatBadRequestError('`slice` applies to mode "slice" only');
}

export async function renderScanImage(ctx: RequestContext, q: ScanImageRequest): Promise<ScanImage> {
  checkRequest(q);
  const { signal } = q;
  const { files, headers } = await readHeaders(ctx, q.files, q.what, signal);
  for (const [i, h] of headers.entries()) checkSyntax(h.transferSyntax, files[i]!.path);
  const volumes = orderVolumes(headers);
  const volume = q.volume ?? 0;
  if (volume >= volumes.length) {
    throw new XnatBadRequestError(
      `${q.what} has ${volumes.length} volume(s); pass volume between 0 and ${volumes.length - 1}`,
    );
  }
  const slices = volumes[volume]!.slices;
  const total = slices.length;
  let chosen: number[];
  if (q.mode === 'slice') {
    const index = q.slice ?? Math.floor(total / 2);
    if (index >= total)
      throw new XnatBadRequestError(`${q.what} has ${total} slices; pass slice between 0 and ${total - 1}`);
    chosen = [index];
  } else if (q.mode === 'montage') {
    chosen = evenlySpaced(total, Math.min(q.count ?? 16, MAX_MONTAGE));
  } else {
    chosen = Array.from({ length: total }, (_, i) => i);
  }
  const middle = slices[chosen[Math.floor(chosen.length / 2)]!]!;
  const header = headers[middle.file]!;
  const grey = header.samplesPerPixel === 1 && !/^PALETTE/.test(header.photometric);
  const renderer = new SliceRenderer(ctx, files, headers, grey, chooseWindow(q.window, header), signal);
  await renderer.settleWindow(middle);
  const refs = chosen.map((i) => slices[i]!);
  const maxSize = Math.min(q.maxSize ?? MAX_IMAGE_SIZE, MAX_IMAGE_SIZE);
  const image =
    q.mode === 'orthogonal'
      ? await orthogonal(renderer, refs, header, sliceSpacing(headers, refs), maxSize)
      : await montage(renderer, refs, maxSize);
  const { png, raster } = encodeWithin(
    image,
    maxSize,
    Math.min(q.maxBytes ?? MAX_IMAGE_BYTES, MAX_IMAGE_BYTES),
  );
  const tile = mosaicLayout(header);
  return {
    png,
    source: 'dicom',
    width: raster.width,
    height: raster.height,
    mode: q.mode,
    slices: q.mode === 'orthogonal' ? [Math.floor(total / 2)] : chosen,
    sliceCount: total,
    volume,
    volumeCount: volumes.length,
    ...(renderer.window ? { window: renderer.window } : {}),
    transferSyntax: header.transferSyntax,
    photometric: header.photometric,
    rows: tile ? tile.tileRows : header.rows,
    columns: tile ? tile.tileColumns : header.columns,
    filesRead: renderer.filesRead,
  };
}

/** Renders the slices `refs`, handing each to `each` with its index, in any order. */
type RenderSlices = Pick<SliceRenderer, 'renderAll'>;

async function montage(renderer: RenderSlices, refs: SliceRef[], maxSize: number): Promise<Raster> {
  const columns = Math.ceil(Math.sqrt(refs.length));
  const rows = Math.ceil(refs.length / columns);
  const tiles: Raster[] = new Array(refs.length);
  let cell = { width: 1, height: 1 };
  await renderer.renderAll(refs, (i, r) => {
    // Panels shrink as they arrive: a large montage never holds its full-resolution slices.
    const fit = fitInside(r.width, r.height, Math.floor(maxSize / Math.max(columns, rows)));
    tiles[i] = resize(r, fit.width, fit.height);
    cell = { width: Math.max(cell.width, fit.width), height: Math.max(cell.height, fit.height) };
  });
  return refs.length === 1 ? tiles[0]! : grid(tiles, columns, cell.width, cell.height);
}

/** Axial (the crossing slice), coronal and sagittal reformats, stretched to physical proportions. */
async function orthogonal(
  renderer: SliceRenderer,
  refs: SliceRef[],
  header: DicomHeader,
  sliceSpacing: number,
  maxSize: number,
): Promise<Raster> {
  const crossing = Math.floor(refs.length / 2);
  if (refs.length < 2)
    throw new XnatBadRequestError('Orthogonal views need a volume of several slices; use mode "slice"');
  let axial: Raster | undefined;
  let coronal: Raster | undefined;
  let sagittal: Raster | undefined;
  await renderer.renderAll(refs, (i, r) => {
    const c = r.channels;
    if (i === crossing) axial = r;
    coronal ??= {
      width: r.width,
      height: refs.length,
      channels: c,
      data: new Uint8Array(r.width * refs.length * c),
    };
    sagittal ??= {
      width: r.height,
      height: refs.length,
      channels: c,
      data: new Uint8Array(r.height * refs.length * c),
    };
    // Superior slices on top: the last slice in spatial order is the first row.
    const row = refs.length - 1 - i;
    const mid = Math.floor(r.height / 2);
    coronal.data.set(r.data.subarray(mid * r.width * c, (mid + 1) * r.width * c), row * r.width * c);
    const midX = Math.floor(r.width / 2);
    for (let y = 0; y < r.height; y++) {
      for (let k = 0; k < c; k++)
        sagittal.data[(row * r.height + y) * c + k] = r.data[(y * r.width + midX) * c + k]!;
    }
  });
  const [rowSpacing, columnSpacing] = header.pixelSpacing ?? [1, 1];
  const stretch = (img: Raster, inPlane: number): Raster =>
    resize(img, img.width, Math.max(1, Math.round((img.height * sliceSpacing) / (inPlane || 1))));
  return threeViews(
    [axial!, stretch(coronal!, columnSpacing ?? 1), stretch(sagittal!, rowSpacing ?? 1)],
    maxSize,
  );
}

function threeViews(views: Raster[], maxSize: number): Raster {
  const cell = Math.floor(maxSize / 3);
  const fitted = views.map((v) => {
    const f = fitInside(v.width, v.height, cell);
    return resize(v, f.width, f.height);
  });
  return grid(fitted, 3, cell, Math.max(...fitted.map((f) => f.height)));
}

/** Mean distance between slice positions (mm); without positions, the in-plane spacing stands in. */
function sliceSpacing(headers: DicomHeader[], refs: SliceRef[]): number {
  const first = headers[refs[0]!.file]!.position;
  const last = headers[refs[refs.length - 1]!.file]!.position;
  if (first && last && first.length === 3 && last.length === 3) {
    const gap =
      Math.hypot(last[0]! - first[0]!, last[1]! - first[1]!, last[2]! - first[2]!) / (refs.length - 1);
    if (gap > 0) return gap;
  }
  return headers[refs[0]!.file]!.pixelSpacing?.[0] ?? 1;
}

/** The same picture from one NIfTI volume file (slices along its third axis). */
export async function renderNiftiImage(
  ctx: RequestContext,
  q: Omit<ScanImageRequest, 'files'> & { file: XnatFile },
): Promise<ScanImage> {
  checkRequest(q);
  const volume = q.volume ?? 0;
  const v = readNifti(await fetchWhole(ctx, q.file, q.signal), q.file.path, volume);
  const [nx, ny, nz] = v.dims;
  const requested = chooseWindow(q.window, {
    windowCenter: undefined,
    windowWidth: undefined,
  } as DicomHeader);
  const window = requested ?? { ...autoWindow(v), source: 'auto' as const };
  let chosen: number[];
  if (q.mode === 'slice') {
    const index = q.slice ?? Math.floor(nz / 2);
    if (index >= nz)
      throw new XnatBadRequestError(`${q.what} has ${nz} slices; pass slice between 0 and ${nz - 1}`);
    chosen = [index];
  } else {
    chosen =
      q.mode === 'montage' ? evenlySpaced(nz, Math.min(q.count ?? 16, MAX_MONTAGE)) : [Math.floor(nz / 2)];
  }
  const maxSize = Math.min(q.maxSize ?? MAX_IMAGE_SIZE, MAX_IMAGE_SIZE);
  const [sx, sy, sz] = v.spacing;
  const stretch = (img: Raster, across: number, up: number): Raster =>
    resize(img, img.width, Math.max(1, Math.round((img.height * up) / across)));
  const image =
    q.mode === 'orthogonal'
      ? threeViews(
          [
            stretch(plane(v, 2, Math.floor(nz / 2), window), sx, sy),
            stretch(plane(v, 1, Math.floor(ny / 2), window), sx, sz),
            stretch(plane(v, 0, Math.floor(nx / 2), window), sy, sz),
          ],
          maxSize,
        )
      : await montage(
          {
            renderAll: async (refs, each) =>
              refs.forEach((ref, i) => each(i, plane(v, 2, ref.frame, window))),
          },
          chosen.map((k) => ({ file: 0, frame: k })),
          maxSize,
        );
  const { png, raster } = encodeWithin(
    image,
    maxSize,
    Math.min(q.maxBytes ?? MAX_IMAGE_BYTES, MAX_IMAGE_BYTES),
  );
  return {
    png,
    source: 'nifti',
    width: raster.width,
    height: raster.height,
    mode: q.mode,
    slices: chosen,
    sliceCount: nz,
    volume,
    volumeCount: v.volumes,
    window,
    transferSyntax: `NIfTI-1 ${v.datatype}`,
    photometric: 'MONOCHROME2',
    rows: ny,
    columns: nx,
    filesRead: 1,
  };
}
