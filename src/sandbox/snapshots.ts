/**
 * XNAT's snapshot XAPI (xnat-web `SnapshotGenerationApi`, `SnapshotProvider`,
 * `SnapshotResourceGenerator`): `GET /xapi/[projects/{p}/]experiments/{e}/scan/{s}/snapshot[/{view}]`
 * and `.../thumbnail[/{view}]` answer a GIF: one slice (ORIGINAL) or a montage (`view` = `{cols}X{rows}`)
 * of the scan's DICOM, ordered by InstanceNumber, slices picked as `SliceCoordinateCalculator` does;
 * thumbnails are scaled by 0.5. The GIF is written into the scan's SNAPSHOTS resource (format GIF,
 * content ORIGINAL, `{c}X{r}`, THUMBNAIL or `{c}X{r}_THUMBNAIL`) as `{session}_{scan}[_{c}x{r}]_qc[_t].gif`
 * and served from there on later calls. A scan without a readable DICOM resource answers 404.
 * The sandbox reads only the uncompressed little-endian DICOM it writes itself (dicom.ts) and the like.
 */
import { Readable } from 'node:stream';
import { SandboxHttpError } from './errors.js';
import { fileReply } from './files.js';
import { requireScan, resolvePath } from './lookup.js';
import type { StoredFile, StoredResource, StoredScan } from './model.js';
import type { AuthedContext, Reply } from './reply.js';
import { openFile } from './storage.js';

interface Slice {
  instance: number;
  width: number;
  height: number;
  values: Float64Array;
}

/** A grey raster: one byte per pixel. */
interface Grey {
  width: number;
  height: number;
  data: Uint8Array;
}

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT']);

async function readAll(file: StoredFile): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of openFile(file) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The pixels of an uncompressed little-endian grey DICOM file; undefined for anything else. */
function readSlice(bytes: Buffer): Slice | undefined {
  if (bytes.length < 132 || bytes.toString('latin1', 128, 132) !== 'DICM') return undefined;
  let pos = 132;
  let syntax = '';
  const attrs = new Map<number, Buffer>();
  while (pos + 8 <= bytes.length) {
    const tag = ((bytes.readUInt16LE(pos) << 16) | bytes.readUInt16LE(pos + 2)) >>> 0;
    const explicit = tag >>> 16 === 0x0002 || syntax === EXPLICIT_LE;
    let length: number;
    if (explicit) {
      const vr = bytes.toString('latin1', pos + 4, pos + 6);
      const long = LONG_VRS.has(vr);
      length = long ? bytes.readUInt32LE(pos + 8) : bytes.readUInt16LE(pos + 6);
      pos += long ? 12 : 8;
    } else {
      length = bytes.readUInt32LE(pos + 4);
      pos += 8;
    }
    if (length === 0xffffffff || pos + length > bytes.length) return undefined;
    const value = bytes.subarray(pos, pos + length);
    pos += length;
    if (tag === 0x00020010) {
      syntax = value.toString('latin1').replace(/[\0 ]+$/, '');
      if (syntax !== EXPLICIT_LE && syntax !== IMPLICIT_LE) return undefined;
    }
    attrs.set(tag, value);
  }
  const us = (tag: number): number | undefined => attrs.get(tag)?.readUInt16LE(0);
  const rows = us(0x00280010);
  const columns = us(0x00280011);
  const bits = us(0x00280100);
  const pixels = attrs.get(0x7fe00010);
  if (!rows || !columns || (bits !== 8 && bits !== 16) || !pixels || (us(0x00280002) ?? 1) !== 1)
    return undefined;
  if (pixels.length < rows * columns * (bits / 8)) return undefined;
  const signed = us(0x00280103) === 1;
  const values = new Float64Array(rows * columns);
  for (let i = 0; i < values.length; i++) {
    if (bits === 8) values[i] = signed ? pixels.readInt8(i) : pixels[i]!;
    else values[i] = signed ? pixels.readInt16LE(i * 2) : pixels.readUInt16LE(i * 2);
  }
  const instance = Number.parseInt(attrs.get(0x00200013)?.toString('latin1').trim() ?? '', 10);
  return { instance: Number.isFinite(instance) ? instance : 0, width: columns, height: rows, values };
}

/** `SliceCoordinateCalculator.selecctSliceIndices`. */
function sliceIndices(panels: number, slices: number): number[] {
  const n = Math.min(slices, panels);
  const m = Math.floor(slices / n);
  const b = Math.floor(slices / (2 * n));
  return Array.from({ length: n }, (_, i) => m * i + b);
}

/** Panels in row-major order, each windowed over the montage's value range, top-left aligned. */
function montage(slices: Slice[], rows: number, cols: number): Grey {
  const cellW = Math.max(...slices.map((s) => s.width));
  const cellH = Math.max(...slices.map((s) => s.height));
  let low = Infinity;
  let high = -Infinity;
  for (const s of slices) {
    for (const v of s.values) {
      low = Math.min(low, v);
      high = Math.max(high, v);
    }
  }
  const scale = high > low ? 255 / (high - low) : 0;
  const width = slices.length === 1 ? cellW : cols * cellW;
  const height = slices.length === 1 ? cellH : rows * cellH;
  const data = new Uint8Array(width * height);
  slices.forEach((s, i) => {
    const left = (i % cols) * cellW;
    const top = Math.floor(i / cols) * cellH;
    for (let y = 0; y < s.height; y++) {
      for (let x = 0; x < s.width; x++) {
        data[(top + y) * width + left + x] = Math.round((s.values[y * s.width + x]! - low) * scale);
      }
    }
  });
  return { width, height, data };
}

/** Nearest-neighbour scaling, as ThumbnailGenerator's AffineTransformOp does. */
function scaled(image: Grey, factor: number): Grey {
  const width = Math.max(1, Math.floor(image.width * factor));
  const height = Math.max(1, Math.floor(image.height * factor));
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data[y * width + x] = image.data[Math.floor(y / factor) * image.width + Math.floor(x / factor)]!;
    }
  }
  return { width, height, data };
}

/** GIF89a LZW codes, packed least significant bit first into 255-byte sub-blocks. */
function lzw(pixels: Uint8Array): Buffer {
  const clear = 256;
  const end = 257;
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  let size = 9;
  const emit = (code: number): void => {
    acc |= code << bits;
    bits += size;
    while (bits >= 8) {
      out.push(acc & 0xff);
      acc >>>= 8;
      bits -= 8;
    }
  };
  let table = new Map<number, number>();
  let next = end + 1;
  emit(clear);
  let prefix = pixels[0] ?? 0;
  for (let i = 1; i < pixels.length; i++) {
    const k = pixels[i]!;
    const key = prefix * 256 + k;
    const found = table.get(key);
    if (found !== undefined) {
      prefix = found;
      continue;
    }
    emit(prefix);
    if (next === 4096) {
      emit(clear);
      table = new Map();
      next = end + 1;
      size = 9;
    } else {
      if (next >= 1 << size) size++;
      table.set(key, next++);
    }
    prefix = k;
  }
  emit(prefix);
  emit(end);
  if (bits > 0) out.push(acc & 0xff);
  const blocks: Buffer[] = [];
  for (let i = 0; i < out.length; i += 255) {
    const part = out.slice(i, i + 255);
    blocks.push(Buffer.from([part.length, ...part]));
  }
  return Buffer.concat([Buffer.from([8]), ...blocks, Buffer.from([0])]);
}

function gif(image: Grey): Buffer {
  const screen = Buffer.alloc(13);
  screen.write('GIF89a', 0, 'latin1');
  screen.writeUInt16LE(image.width, 6);
  screen.writeUInt16LE(image.height, 8);
  screen[10] = 0xf7; // global colour table of 256 entries
  const palette = Buffer.alloc(768);
  for (let i = 0; i < 256; i++) palette.fill(i, i * 3, i * 3 + 3);
  const descriptor = Buffer.alloc(10);
  descriptor[0] = 0x2c;
  descriptor.writeUInt16LE(image.width, 5);
  descriptor.writeUInt16LE(image.height, 7);
  return Buffer.concat([screen, palette, descriptor, lzw(image.data), Buffer.from([0x3b])]);
}

function dicomResource(scan: StoredScan): StoredResource | undefined {
  return (
    scan.resources.find((r) => r.label === 'DICOM') ??
    scan.resources.find((r) => r.format.toUpperCase() === 'DICOM')
  );
}

/** `{cols}X{rows}` (SnapshotGenerationApi's GridviewDimensions: anything else means 1X1). */
function gridOf(view: string | undefined): { cols: number; rows: number } {
  const match = /^\s*(\d+)\s*X\s*(\d+)\s*$/.exec(view ?? '');
  if (!match) return { cols: 1, rows: 1 };
  return { cols: Number(match[1]), rows: Number(match[2]) };
}

async function snapshotOrThumbnail(ctx: AuthedContext, thumbnail: boolean): Promise<Reply> {
  const { experiment } = resolvePath(ctx);
  if (!experiment) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  const scan = requireScan(experiment, ctx.params.scan ?? '');
  const { cols, rows } = gridOf(ctx.params.view);
  const single = cols === 1 && rows === 1;
  const content = thumbnail
    ? single
      ? 'THUMBNAIL'
      : `${cols}X${rows}_THUMBNAIL`
    : single
      ? 'ORIGINAL'
      : `${cols}X${rows}`;
  const existing = scan.resources
    .find((r) => r.label === 'SNAPSHOTS')
    ?.files.find((f) => f.content === content);
  if (existing) return fileReply(ctx, existing);

  const notFound = new SandboxHttpError(
    404,
    `snapshot not found: SessionId: ${experiment.id}, ScanId: ${scan.id}`,
  );
  const dicom = dicomResource(scan);
  if (!dicom || dicom.files.length === 0) throw notFound;
  const slices: Slice[] = [];
  for (const file of dicom.files) {
    const slice = readSlice(await readAll(file));
    if (!slice) throw notFound;
    slices.push(slice);
  }
  slices.sort((a, b) => a.instance - b.instance);
  const chosen = sliceIndices(rows * cols, slices.length).map((i) => slices[i]!);
  const image = montage(chosen, rows, cols);
  const bytes = gif(thumbnail ? scaled(image, 0.5) : image);

  const name = `${experiment.id}_${scan.id}${single ? '' : `_${cols}x${rows}`}_qc${thumbnail ? '_t' : ''}.gif`;
  const { storage, archive } = ctx.state;
  const blob = await storage.store(Readable.from([bytes]));
  // Re-read after the await: another request may have created the resource meanwhile.
  let resource = scan.resources.find((r) => r.label === 'SNAPSHOTS');
  if (!resource) {
    resource = {
      xnatAbstractresourceId: archive.sequences.resource++,
      label: 'SNAPSHOTS',
      xsiType: 'xnat:resourceCatalog',
      format: 'GIF',
      content: 'SNAPSHOTS',
      description: `Snapshots for session ${experiment.id} scan ${scan.id}`,
      tags: [],
      files: [],
    };
    scan.resources.push(resource);
  }
  const file = storage.catalogue(blob, { path: name, format: 'GIF', content, tags: [] });
  resource.files = [...resource.files.filter((f) => f.path !== name), file];
  return fileReply(ctx, file);
}

export function getSnapshot(ctx: AuthedContext): Promise<Reply> {
  return snapshotOrThumbnail(ctx, false);
}

export function getThumbnail(ctx: AuthedContext): Promise<Reply> {
  return snapshotOrThumbnail(ctx, true);
}
