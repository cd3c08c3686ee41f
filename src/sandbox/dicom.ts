/**
 * Small synthetic but valid medical-imaging files for the sandbox archive: DICOM Part 10 (explicit VR
 * little endian, or encapsulated RLE / JPEG Lossless pixel data), NIfTI-1 (gzipped) and PNG. Small
 * enough to keep downloads fast, valid enough that real readers (pydicom, dcmtk, nibabel, image
 * viewers) accept them.
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { crc32, deflateSync, gzipSync } from 'node:zlib';

import { jpegLosslessEncode, rleEncode } from './dicom-codecs.js';
import type { StoredFile } from './model.js';

export function md5Hex(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

export interface DicomInstance {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  /** `YYYY-MM-DD`; written as DICOM `YYYYMMDD`. */
  studyDate: string;
  /** `HH:MM:SS`; written as DICOM `HHMMSS`. */
  studyTime: string;
  modality: string;
  manufacturer: string;
  modelName: string;
  stationName: string;
  studyDescription: string;
  seriesDescription: string;
  patientName: string;
  patientId: string;
  /** `YYYY-MM-DD` or '' when unknown. */
  patientBirthDate: string;
  /** `M`, `F`, `O` or ''. */
  patientSex: string;
  accessionNumber: string;
  seriesNumber: number;
  instanceNumber: number;
  /** Image edge length in pixels (square, 16-bit) of the placeholder disc drawn when `image` is absent. */
  size: number;
  /** The pixels to store; without it a small disc is drawn. */
  image?: DicomImage;
  /** How the pixel data is encoded; explicit VR little endian when absent. */
  transferSyntax?: TransferSyntax;
  /** Extra tags (explicit VR) merged in tag order, e.g. MagneticFieldStrength. */
  extra?: ReadonlyArray<DicomElement>;
  /** SOP instance UID of the image this one refers to (ReferencedImageSequence, one item). */
  referencedImage?: string;
}

export interface DicomElement {
  tag: number;
  vr: string;
  value: string | Buffer;
}

/** Unsigned 16-bit greyscale pixels, row-major. */
export interface DicomImage {
  rows: number;
  columns: number;
  bitsStored: number;
  pixels: Uint16Array;
}

export type TransferSyntax = 'explicit' | 'rle' | 'jpeg-lossless';

export const TRANSFER_SYNTAX_UID: Record<TransferSyntax, string> = {
  explicit: '1.2.840.10008.1.2.1',
  rle: '1.2.840.10008.1.2.5',
  'jpeg-lossless': '1.2.840.10008.1.2.4.70',
};

/** SOP classes of the modalities the sandbox seeds. */
export const SOP_CLASS = {
  MR: '1.2.840.10008.5.1.4.1.1.4',
  CT: '1.2.840.10008.5.1.4.1.1.2',
  PT: '1.2.840.10008.5.1.4.1.1.128',
} as const;

const IMPLEMENTATION_CLASS_UID = '1.2.826.0.1.3680043.10.1455.1';
/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR encoding. */
const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR']);

function encodeValue(vr: string, value: string | Buffer): Buffer {
  if (Buffer.isBuffer(value)) return value.length % 2 === 0 ? value : Buffer.concat([value, Buffer.alloc(1)]);
  const text = Buffer.from(value, 'utf8');
  if (text.length % 2 === 0) return text;
  // UIDs pad with NUL, every other text VR with a space (PS3.5 §6.2).
  return Buffer.concat([text, Buffer.from(vr === 'UI' ? [0] : [0x20])]);
}

function element(tag: number, vr: string, value: string | Buffer): Buffer {
  const body = encodeValue(vr, value);
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(body.length, 8);
  else header.writeUInt16LE(body.length, 6);
  return Buffer.concat([header, body]);
}

/** A US value (several for a multi-valued element). */
export function us(...values: number[]): Buffer {
  const b = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => b.writeUInt16LE(v, i * 2));
  return b;
}

/** An FD value (several for a multi-valued element). */
export function fd(...values: number[]): Buffer {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => b.writeDoubleLE(v, i * 8));
  return b;
}

function item(tag: number, body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0xfffe, 0);
  header.writeUInt16LE(tag, 2);
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** A sequence of defined length whose items hold the given elements (in tag order). */
function sequence(items: ReadonlyArray<ReadonlyArray<DicomElement>>): Buffer {
  return Buffer.concat(
    items.map((elements) => item(0xe000, Buffer.concat(elements.map((e) => element(e.tag, e.vr, e.value))))),
  );
}

/**
 * Encapsulated pixel data (PS3.5 A.4): OB of undefined length, a basic offset table item giving the
 * single frame's offset, the frame as one fragment (even length) and a sequence delimiter.
 */
function encapsulated(frame: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt32LE(0x00107fe0, 0);
  header.write('OB', 4, 'latin1');
  header.writeUInt32LE(0xffffffff, 8);
  const fragment = frame.length % 2 ? Buffer.concat([frame, Buffer.alloc(1)]) : frame;
  return Buffer.concat([
    header,
    item(0xe000, Buffer.alloc(4)),
    item(0xe000, fragment),
    item(0xe0dd, Buffer.alloc(0)),
  ]);
}

function discImage(instance: DicomInstance): DicomImage {
  const { size } = instance;
  const pixels = new Uint16Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // A centred disc whose brightness depends on the instance number: visibly an "image".
      const r = Math.hypot(x - size / 2, y - size / 2);
      pixels[y * size + x] = r < size / 3 ? 800 + 40 * instance.instanceNumber - Math.round(r * 10) : 40;
    }
  }
  return { rows: size, columns: size, bitsStored: 12, pixels };
}

/** The pixels as little-endian bytes (a straight copy on little-endian machines). */
function littleEndian(pixels: Uint16Array): Buffer {
  if (endianness() === 'LE') return Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  const bytes = Buffer.alloc(pixels.length * 2);
  for (let i = 0; i < pixels.length; i++) bytes.writeUInt16LE(pixels[i] ?? 0, i * 2);
  return bytes;
}

function pixelData(image: DicomImage, syntax: TransferSyntax): Buffer {
  const { rows, columns, pixels } = image;
  if (syntax === 'rle') return encapsulated(rleEncode(pixels, rows, columns));
  if (syntax === 'jpeg-lossless')
    return encapsulated(jpegLosslessEncode(pixels, rows, columns, image.bitsStored));
  return element(0x7fe00010, 'OW', littleEndian(pixels));
}

const dicomDate = (iso: string): string => iso.replaceAll('-', '');
const dicomTime = (iso: string): string => iso.replaceAll(':', '');

/** A DICOM Part 10 file: 128-byte preamble, `DICM`, group 0002 meta, the dataset and pixel data. */
export function dicomFile(instance: DicomInstance): Buffer {
  const syntax = instance.transferSyntax ?? 'explicit';
  const image = instance.image ?? discImage(instance);
  const meta = Buffer.concat([
    element(0x00020001, 'OB', Buffer.from([0, 1])),
    element(0x00020002, 'UI', instance.sopClassUid),
    element(0x00020003, 'UI', instance.sopInstanceUid),
    element(0x00020010, 'UI', TRANSFER_SYNTAX_UID[syntax]),
    element(0x00020012, 'UI', IMPLEMENTATION_CLASS_UID),
    element(0x00020013, 'SH', 'XNAT_SANDBOX'),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(meta.length, 0);

  const tags: DicomElement[] = [
    { tag: 0x00080005, vr: 'CS', value: 'ISO_IR 192' },
    { tag: 0x00080016, vr: 'UI', value: instance.sopClassUid },
    { tag: 0x00080018, vr: 'UI', value: instance.sopInstanceUid },
    { tag: 0x00080020, vr: 'DA', value: dicomDate(instance.studyDate) },
    { tag: 0x00080030, vr: 'TM', value: dicomTime(instance.studyTime) },
    { tag: 0x00080050, vr: 'SH', value: instance.accessionNumber },
    { tag: 0x00080060, vr: 'CS', value: instance.modality },
    { tag: 0x00080070, vr: 'LO', value: instance.manufacturer },
    { tag: 0x00081010, vr: 'SH', value: instance.stationName },
    { tag: 0x00081030, vr: 'LO', value: instance.studyDescription },
    { tag: 0x0008103e, vr: 'LO', value: instance.seriesDescription },
    { tag: 0x00081090, vr: 'LO', value: instance.modelName },
    { tag: 0x00100010, vr: 'PN', value: instance.patientName },
    { tag: 0x00100020, vr: 'LO', value: instance.patientId },
    { tag: 0x00100030, vr: 'DA', value: dicomDate(instance.patientBirthDate) },
    { tag: 0x00100040, vr: 'CS', value: instance.patientSex },
    ...(instance.extra ?? []),
    ...(instance.referencedImage === undefined
      ? []
      : [
          {
            tag: 0x00081140,
            vr: 'SQ',
            value: sequence([
              [
                { tag: 0x00081150, vr: 'UI', value: instance.sopClassUid },
                { tag: 0x00081155, vr: 'UI', value: instance.referencedImage },
              ],
            ]),
          },
        ]),
    { tag: 0x0020000d, vr: 'UI', value: instance.studyInstanceUid },
    { tag: 0x0020000e, vr: 'UI', value: instance.seriesInstanceUid },
    { tag: 0x00200011, vr: 'IS', value: String(instance.seriesNumber) },
    { tag: 0x00200013, vr: 'IS', value: String(instance.instanceNumber) },
    { tag: 0x00280002, vr: 'US', value: us(1) },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: us(image.rows) },
    { tag: 0x00280011, vr: 'US', value: us(image.columns) },
    { tag: 0x00280100, vr: 'US', value: us(16) },
    { tag: 0x00280101, vr: 'US', value: us(image.bitsStored) },
    { tag: 0x00280102, vr: 'US', value: us(image.bitsStored - 1) },
    { tag: 0x00280103, vr: 'US', value: us(0) },
  ];
  // Compressed pixel data is lossless: say so (PS3.3 C.7.6.1.1.5).
  if (syntax !== 'explicit') tags.push({ tag: 0x00282110, vr: 'CS', value: '00' });
  tags.sort((a, b) => a.tag - b.tag);

  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    element(0x00020000, 'UL', groupLength),
    meta,
    ...tags.map((t) => element(t.tag, t.vr, t.value)),
    pixelData(image, syntax),
  ]);
}

/** A NIfTI-1 volume: int16 voxels, x fastest; `srow` maps voxel indices to RAS millimetres. */
export interface NiftiVolume {
  /** x, y, z and, for a time series, t. */
  dims: readonly number[];
  /** Voxel size in mm (and the repetition time in seconds for a time series). */
  pixdim: readonly number[];
  srow: readonly [readonly number[], readonly number[], readonly number[]];
  voxels: Int16Array;
}

/**
 * A gzipped NIfTI-1 single-file volume (`.nii.gz`). The gzip stream uses stored (level 0) blocks:
 * still a valid `.nii.gz`, and its size follows from the voxel count alone, so a listing can show
 * it without rendering the volume.
 */
export function niftiGzFile(volume: NiftiVolume, description: string): Buffer {
  const { dims, pixdim, srow, voxels } = volume;
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0); // sizeof_hdr
  header.writeInt16LE(dims.length, 40); // dim[0]
  for (let i = 0; i < 7; i++) header.writeInt16LE(dims[i] ?? 1, 42 + i * 2);
  header.writeInt16LE(4, 70); // datatype DT_INT16
  header.writeInt16LE(16, 72); // bitpix
  header.writeFloatLE(1, 76); // pixdim[0] = qfac
  for (let i = 0; i < 7; i++) header.writeFloatLE(pixdim[i] ?? 1, 80 + i * 4);
  header.writeFloatLE(352, 108); // vox_offset
  header.writeFloatLE(1, 112); // scl_slope
  header.writeUInt8(2 | 8, 123); // xyzt_units: mm, s
  header.write(description.slice(0, 79), 148, 'latin1');
  header.writeInt16LE(0, 252); // qform_code: unknown (the sform says it all)
  header.writeInt16LE(1, 254); // sform_code: scanner anatomical
  srow.forEach((row, r) => row.forEach((v, c) => header.writeFloatLE(v, 280 + r * 16 + c * 4)));
  header.write('n+1\0', 344, 'latin1');
  // Bytes 348..351: extension flag (all zero: no extensions).
  const data = Buffer.alloc(voxels.length * 2);
  for (let i = 0; i < voxels.length; i++) data.writeInt16LE(voxels[i] ?? 0, i * 2);
  return gzipSync(Buffer.concat([header, data]), { level: 0 });
}

/** The size of `niftiGzFile` for `voxels` voxels, whatever their values (stored gzip blocks). */
export function niftiGzSize(voxels: number): number {
  return gzipSync(Buffer.alloc(352 + voxels * 2), { level: 0 }).length;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length, 0);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData), 0);
  return Buffer.concat([length, typeAndData, crc]);
}

/** An 8-bit greyscale PNG of `grey` (row-major, `width` × `height`). */
export function pngFile(width: number, height: number, grey: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(0, 9); // greyscale
  const rows = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) {
    rows[y * (width + 1)] = 0; // filter: none
    rows.set(grey.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(rows)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export interface FileSpec {
  path: string;
  format: string;
  content: string;
  tags?: string[];
  lastModified: number;
}

/**
 * A catalogued file whose bytes are regenerated on each download. Size and MD5 digest (what XNAT's
 * catalog records at upload) are measured the first time anyone asks, then only they are kept: a
 * sandbox starts without rendering thousands of images, and memory stays small. `sizeOf`, when
 * given, tells the size without making the bytes (item documents show every resource's size).
 */
export function storedFile(spec: FileSpec, make: () => Buffer, sizeOf?: () => number): StoredFile {
  let size: number | undefined;
  let digest: string | undefined;
  const measure = () => {
    const bytes = make();
    size = bytes.length;
    digest = md5Hex(bytes);
    return { size, digest };
  };
  return {
    path: spec.path,
    get size() {
      size ??= sizeOf ? sizeOf() : measure().size;
      return size;
    },
    set size(value: number) {
      size = value;
    },
    get digest() {
      return digest ?? measure().digest;
    },
    set digest(value: string) {
      digest = value;
    },
    format: spec.format,
    content: spec.content,
    tags: spec.tags ?? [],
    bytes: make,
    lastModified: spec.lastModified,
  };
}
