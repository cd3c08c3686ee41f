/**
 * A minimal DICOM Part 10 header reader: only the attributes that order frames and choose a display
 * window, read from the first bytes of a file so that a 500-slice series can be ordered without
 * downloading its pixels. Decoding pixels is dcmjs-imaging's job (render.ts); this reads no pixels.
 */
import { constants, inflateRawSync } from 'node:zlib';

export const TRANSFER_SYNTAX = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflated: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
} as const;

export interface DicomHeader {
  transferSyntax: string;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  photometric: string;
  instanceNumber?: number;
  /** ImagePositionPatient (0020,0032), mm. */
  position?: number[];
  /** ImageOrientationPatient (0020,0037): row then column direction cosines. */
  orientation?: number[];
  temporalPosition?: number;
  acquisitionNumber?: number;
  triggerTime?: number;
  windowCenter?: number;
  windowWidth?: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  imageType: string[];
  /** Siemens NumberOfImagesInMosaic (0019,100A), when present. */
  mosaicImages?: number;
  /** AcquisitionMatrix (0018,1310): frequency rows, frequency columns, phase rows, phase columns. */
  acquisitionMatrix?: number[];
  /** PixelSpacing (0028,0030): row spacing, column spacing, mm. */
  pixelSpacing?: number[];
  seriesInstanceUid?: string;
  modality?: string;
}

/** The header ended before the attributes needed: read more of the file and try again. */
export class NeedMoreBytes extends Error {}

export class NotDicomError extends Error {}

/** The last attribute read; everything needed sorts before it (Siemens' 0019 and 0029 groups included). */
const LAST_TAG = 0x00291000;
const PIXEL_DATA = 0x7fe00010;
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;
const UNDEFINED = 0xffffffff;
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

class Reader {
  constructor(
    readonly buf: Buffer,
    readonly little: boolean,
    readonly explicit: boolean,
    public pos: number,
  ) {}

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new NeedMoreBytes();
  }
  u16(at = this.pos): number {
    return this.little ? this.buf.readUInt16LE(at) : this.buf.readUInt16BE(at);
  }
  u32(at = this.pos): number {
    return this.little ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at);
  }

  /** The next element's tag, VR and value length; leaves `pos` at its value. */
  element(): { tag: number; vr: string; length: number } {
    this.need(8);
    const tag = ((this.u16() << 16) | this.u16(this.pos + 2)) >>> 0;
    if (tag === ITEM || tag === ITEM_END || tag === SEQUENCE_END) {
      const length = this.u32(this.pos + 4);
      this.pos += 8;
      return { tag, vr: '', length };
    }
    if (!this.explicit) {
      const length = this.u32(this.pos + 4);
      this.pos += 8;
      return { tag, vr: '', length };
    }
    const vr = this.buf.toString('latin1', this.pos + 4, this.pos + 6);
    if (LONG_VRS.has(vr)) {
      this.need(12);
      const length = this.u32(this.pos + 8);
      this.pos += 12;
      return { tag, vr, length };
    }
    const length = this.u16(this.pos + 6);
    this.pos += 8;
    return { tag, vr, length };
  }

  /** Skips a value of undefined length (a sequence or encapsulated data) up to its delimiter. */
  skipUndefined(): void {
    for (;;) {
      const { tag, length } = this.element();
      if (tag === SEQUENCE_END || tag === ITEM_END) return;
      if (length === UNDEFINED) this.skipUndefined();
      else {
        this.need(length);
        this.pos += length;
      }
    }
  }
}

function text(buf: Buffer, start: number, length: number): string {
  return buf
    .toString('latin1', start, start + length)
    .replace(/[\0 ]+$/, '')
    .trim();
}

function numbers(value: string): number[] {
  return value
    .split('\\')
    .map((v) => Number.parseFloat(v))
    .filter((v) => Number.isFinite(v));
}

/**
 * Reads the header of a DICOM Part 10 file from its first bytes. Throws NeedMoreBytes when `buf`
 * ends before the attributes needed (the caller reads more), NotDicomError for anything else.
 */
export function readDicomHeader(buf: Buffer): DicomHeader {
  if (buf.length < 132) throw new NeedMoreBytes();
  if (buf.toString('latin1', 128, 132) !== 'DICM') throw new NotDicomError('not a DICOM Part 10 file');
  const meta = new Reader(buf, true, true, 132);
  let transferSyntax = '';
  for (;;) {
    meta.need(8);
    if (meta.u16() !== 0x0002) break;
    const { tag, length } = meta.element();
    meta.need(length);
    if (tag === 0x00020010) transferSyntax = text(buf, meta.pos, length);
    meta.pos += length;
  }
  if (transferSyntax === '') throw new NotDicomError('the file meta information names no transfer syntax');
  let body = buf;
  let start = meta.pos;
  if (transferSyntax === TRANSFER_SYNTAX.deflated) {
    // A prefix of a deflate stream inflates to a prefix of the dataset (sync flush: no error at its end).
    body = inflateRawSync(buf.subarray(meta.pos), { finishFlush: constants.Z_SYNC_FLUSH });
    start = 0;
  }
  const reader = new Reader(
    body,
    transferSyntax !== TRANSFER_SYNTAX.explicitBig,
    transferSyntax !== TRANSFER_SYNTAX.implicitLittle,
    start,
  );
  return datasetHeader(reader, transferSyntax);
}

function datasetHeader(r: Reader, transferSyntax: string): DicomHeader {
  const h: DicomHeader = {
    transferSyntax,
    rows: 0,
    columns: 0,
    frames: 1,
    samplesPerPixel: 1,
    photometric: 'MONOCHROME2',
    rescaleSlope: 1,
    rescaleIntercept: 0,
    imageType: [],
  };
  for (;;) {
    if (r.pos >= r.buf.length) {
      // A file without pixel data (or a header cut short): what was read is all there is to read.
      throw new NeedMoreBytes();
    }
    const { tag, length } = r.element();
    if (tag >= LAST_TAG || tag === PIXEL_DATA) return h;
    if (length === UNDEFINED) {
      r.skipUndefined();
      continue;
    }
    r.need(length);
    setAttribute(h, r, tag, length);
    r.pos += length;
  }
}

function setAttribute(h: DicomHeader, r: Reader, tag: number, length: number): void {
  const value = (): string => text(r.buf, r.pos, length);
  const num = (): number | undefined => numbers(value())[0];
  switch (tag) {
    case 0x00080008:
      h.imageType = value().split('\\');
      break;
    case 0x00080060:
      h.modality = value();
      break;
    case 0x00181310:
      if (length >= 8) h.acquisitionMatrix = [0, 2, 4, 6].map((o) => r.u16(r.pos + o));
      break;
    case 0x00181060:
      h.triggerTime = num();
      break;
    case 0x0019100a:
      // Siemens CSA: US in explicit VR; implicit files carry it as 2 little-endian bytes too.
      if (length === 2) h.mosaicImages = r.u16();
      break;
    case 0x0020000e:
      h.seriesInstanceUid = value();
      break;
    case 0x00200012:
      h.acquisitionNumber = num();
      break;
    case 0x00200013:
      h.instanceNumber = num();
      break;
    case 0x00200032:
      h.position = numbers(value());
      break;
    case 0x00200037:
      h.orientation = numbers(value());
      break;
    case 0x00200100:
      h.temporalPosition = num();
      break;
    case 0x00280002:
      h.samplesPerPixel = r.u16();
      break;
    case 0x00280004:
      h.photometric = value();
      break;
    case 0x00280008:
      h.frames = Math.max(1, num() ?? 1);
      break;
    case 0x00280010:
      h.rows = r.u16();
      break;
    case 0x00280011:
      h.columns = r.u16();
      break;
    case 0x00280030:
      h.pixelSpacing = numbers(value());
      break;
    case 0x00281050:
      h.windowCenter = num();
      break;
    case 0x00281051:
      h.windowWidth = num();
      break;
    case 0x00281052:
      h.rescaleIntercept = num() ?? 0;
      break;
    case 0x00281053:
      h.rescaleSlope = num() ?? 1;
      break;
  }
}
