/**
 * Tiny synthetic but valid medical-imaging files for the sandbox archive: DICOM Part 10 (explicit VR
 * little endian), NIfTI-1 (gzipped) and PNG. Small enough to keep downloads fast, valid enough that
 * real readers (pydicom, nibabel, image viewers) accept them.
 */
import { createHash } from 'node:crypto';
import { crc32, deflateSync, gzipSync } from 'node:zlib';

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
  /** Image edge length in pixels (square, 16-bit). */
  size: number;
  /** Extra tags (explicit VR) merged in tag order, e.g. MagneticFieldStrength. */
  extra?: ReadonlyArray<{ tag: number; vr: string; value: string }>;
  /** SOP instance UID of the image this one refers to (ReferencedImageSequence, one item). */
  referencedImage?: string;
}

/** SOP classes of the modalities the sandbox seeds. */
export const SOP_CLASS = {
  MR: '1.2.840.10008.5.1.4.1.1.4',
  CT: '1.2.840.10008.5.1.4.1.1.2',
  PT: '1.2.840.10008.5.1.4.1.1.128',
} as const;

const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
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

function us(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value, 0);
  return b;
}

/** A sequence of defined length whose items hold the given elements (in tag order). */
function sequence(
  tag: number,
  items: ReadonlyArray<ReadonlyArray<{ tag: number; vr: string; value: string }>>,
): Buffer {
  const encoded = items.map((item) => {
    const body = Buffer.concat(item.map((e) => element(e.tag, e.vr, e.value)));
    const header = Buffer.alloc(8);
    header.writeUInt16LE(0xfffe, 0);
    header.writeUInt16LE(0xe000, 2);
    header.writeUInt32LE(body.length, 4);
    return Buffer.concat([header, body]);
  });
  return element(tag, 'SQ', Buffer.concat(encoded));
}

const dicomDate = (iso: string): string => iso.replaceAll('-', '');
const dicomTime = (iso: string): string => iso.replaceAll(':', '');

/** A DICOM Part 10 file: 128-byte preamble, `DICM`, group 0002 meta, a small dataset and pixel data. */
export function dicomFile(instance: DicomInstance): Buffer {
  const meta = Buffer.concat([
    element(0x00020001, 'OB', Buffer.from([0, 1])),
    element(0x00020002, 'UI', instance.sopClassUid),
    element(0x00020003, 'UI', instance.sopInstanceUid),
    element(0x00020010, 'UI', EXPLICIT_VR_LITTLE_ENDIAN),
    element(0x00020012, 'UI', IMPLEMENTATION_CLASS_UID),
    element(0x00020013, 'SH', 'XNAT_SANDBOX'),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(meta.length, 0);

  const pixels = Buffer.alloc(instance.size * instance.size * 2);
  for (let y = 0; y < instance.size; y++) {
    for (let x = 0; x < instance.size; x++) {
      // A centred disc whose brightness depends on the instance number: visibly an "image".
      const r = Math.hypot(x - instance.size / 2, y - instance.size / 2);
      const value = r < instance.size / 3 ? 800 + 40 * instance.instanceNumber - Math.round(r * 10) : 40;
      pixels.writeUInt16LE(value, (y * instance.size + x) * 2);
    }
  }

  const tags: Array<{ tag: number; vr: string; value: string | Buffer; encoded?: Buffer }> = [
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
            value: '',
            encoded: sequence(0x00081140, [
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
    { tag: 0x00280010, vr: 'US', value: us(instance.size) },
    { tag: 0x00280011, vr: 'US', value: us(instance.size) },
    { tag: 0x00280100, vr: 'US', value: us(16) },
    { tag: 0x00280101, vr: 'US', value: us(12) },
    { tag: 0x00280102, vr: 'US', value: us(11) },
    { tag: 0x00280103, vr: 'US', value: us(0) },
    { tag: 0x7fe00010, vr: 'OW', value: pixels },
  ];
  tags.sort((a, b) => a.tag - b.tag);

  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    element(0x00020000, 'UL', groupLength),
    meta,
    ...tags.map((t) => t.encoded ?? element(t.tag, t.vr, t.value)),
  ]);
}

/** A gzipped NIfTI-1 single-file volume (`.nii.gz`), int16, `dims` voxels, 1 mm isotropic. */
export function niftiGzFile(dims: readonly [number, number, number], description: string): Buffer {
  const [nx, ny, nz] = dims;
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0); // sizeof_hdr
  header.writeInt16LE(3, 40); // dim[0]
  header.writeInt16LE(nx, 42);
  header.writeInt16LE(ny, 44);
  header.writeInt16LE(nz, 46);
  for (let i = 4; i < 8; i++) header.writeInt16LE(1, 40 + i * 2);
  header.writeInt16LE(4, 70); // datatype DT_INT16
  header.writeInt16LE(16, 72); // bitpix
  header.writeFloatLE(1, 76); // pixdim[0] = qfac
  for (let i = 1; i < 4; i++) header.writeFloatLE(1, 76 + i * 4);
  header.writeFloatLE(352, 108); // vox_offset
  header.writeFloatLE(1, 112); // scl_slope
  header.writeUInt8(2 | 8, 123); // xyzt_units: mm, s
  header.write(description.slice(0, 79), 148, 'latin1');
  header.writeInt16LE(1, 252); // qform_code: scanner
  header.writeInt16LE(1, 254); // sform_code
  header.writeFloatLE(1, 280); // srow_x
  header.writeFloatLE(1, 300); // srow_y
  header.writeFloatLE(1, 320); // srow_z
  header.write('n+1\0', 344, 'latin1');
  // Bytes 348..351: extension flag (all zero: no extensions).
  const voxels = Buffer.alloc(nx * ny * nz * 2);
  for (let i = 0; i < nx * ny * nz; i++) voxels.writeInt16LE((i * 37) % 1000, i * 2);
  return gzipSync(Buffer.concat([header, voxels]));
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length, 0);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData), 0);
  return Buffer.concat([length, typeAndData, crc]);
}

/** An 8-bit greyscale PNG of `size`×`size` pixels with a gradient seeded by `shade`. */
export function pngFile(size: number, shade: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(0, 9); // greyscale
  const rows = Buffer.alloc((size + 1) * size);
  for (let y = 0; y < size; y++) {
    rows[y * (size + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) rows[y * (size + 1) + 1 + x] = (shade + x * 7 + y * 5) & 0xff;
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
 * A catalogued file whose bytes are regenerated on each download: they are built once here only to
 * record size and MD5 digest (as XNAT's catalog does at upload), then dropped to keep memory small.
 */
export function storedFile(spec: FileSpec, make: () => Buffer): StoredFile {
  const bytes = make();
  return {
    path: spec.path,
    size: bytes.length,
    digest: md5Hex(bytes),
    format: spec.format,
    content: spec.content,
    tags: spec.tags ?? [],
    bytes: make,
    lastModified: spec.lastModified,
  };
}
