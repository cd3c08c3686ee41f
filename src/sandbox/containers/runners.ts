/**
 * What the installed images do, in process: each runner reads the session as the container would see
 * it mounted at /input, writes log lines, and returns the files for each output handler. dcm2niix
 * converts uncompressed little-endian DICOM into real NIfTI-1 (`.nii.gz`) with a BIDS JSON sidecar;
 * the snapshot command draws PNGs; recon-all fails as FreeSurfer does without a license file.
 */
import { gunzipSync } from 'node:zlib';
import { niftiGzFile, pngFile, type NiftiVolume } from '../dicom.js';
import { readDicom, textOf, type DicomElement } from '../dicom-read.js';
import type { StoredExperiment, StoredFile, StoredScan } from '../model.js';
import { openFile } from '../storage.js';
import type { Runner } from './commands.js';

export interface RunnerInput {
  session: StoredExperiment;
  /** Command inputs after defaults (`bids`, `compress`, ...). */
  params: Record<string, string>;
  log(stream: 'stdout' | 'stderr', line: string): void;
}

/** Files one output handler uploads, and where (a scan ID, or the session itself). */
export interface RunnerOutput {
  handler: string;
  scan?: string;
  files: Array<{ path: string; bytes: Buffer; format: string; content: string }>;
}

export interface RunnerResult {
  exitCode: number;
  outputs: RunnerOutput[];
}

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';

async function readAll(file: StoredFile): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of openFile(file) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

interface Frame {
  tags: Map<number, DicomElement>;
  instance: number;
  position: number[];
  pixels: Int16Array;
  rows: number;
  columns: number;
}

const text = (tags: Map<number, DicomElement>, tag: number): string => {
  const e = tags.get(tag);
  return e ? textOf(e.value) : '';
};
const numbers = (tags: Map<number, DicomElement>, tag: number): number[] =>
  text(tags, tag)
    .split('\\')
    .filter((v) => v.trim() !== '')
    .map(Number);

/** One uncompressed grey frame; a reason when the file is not one dcm2niix-in-the-sandbox reads. */
function frameOf(bytes: Buffer): Frame | string {
  const set = readDicom(bytes, 0x7fe00011);
  if (!set) return 'not a DICOM Part 10 file';
  const tags = new Map(set.elements.map((e) => [e.tag, e]));
  const syntax = text(tags, 0x00020010);
  if (syntax !== EXPLICIT_LE && syntax !== IMPLICIT_LE) return `unsupported transfer syntax ${syntax}`;
  const us = (tag: number) => tags.get(tag)?.value.readUInt16LE(0);
  const rows = us(0x00280010) ?? 0;
  const columns = us(0x00280011) ?? 0;
  const bits = us(0x00280100);
  const signed = us(0x00280103) === 1;
  const data = tags.get(0x7fe00010)?.value;
  if (!rows || !columns || !data || (bits !== 8 && bits !== 16) || (us(0x00280002) ?? 1) !== 1) {
    return 'no grey pixel data';
  }
  const pixels = new Int16Array(rows * columns);
  for (let i = 0; i < pixels.length; i++) {
    const v =
      bits === 8
        ? signed
          ? data.readInt8(i)
          : data[i]!
        : signed
          ? data.readInt16LE(i * 2)
          : data.readUInt16LE(i * 2);
    pixels[i] = Math.min(v, 32767);
  }
  const instance = Number.parseInt(text(tags, 0x00200013), 10);
  const position = numbers(tags, 0x00200032);
  return { tags, instance: Number.isFinite(instance) ? instance : 0, position, pixels, rows, columns };
}

async function framesOf(scan: StoredScan): Promise<Frame[] | string> {
  const dicom =
    scan.resources.find((r) => r.label === 'DICOM') ??
    scan.resources.find((r) => r.format.toUpperCase() === 'DICOM');
  if (!dicom || dicom.files.length === 0) return 'no DICOM resource';
  const frames: Frame[] = [];
  for (const file of dicom.files) {
    const frame = frameOf(await readAll(file));
    if (typeof frame === 'string') return `${file.path}: ${frame}`;
    frames.push(frame);
  }
  return frames.sort((a, b) => a.instance - b.instance);
}

/** The series as one volume (time series when positions repeat), sform from the DICOM geometry (LPS → RAS). */
function volumeOf(frames: Frame[]): NiftiVolume {
  const first = frames[0]!;
  const positions = new Set(frames.map((f) => f.position.join('\\')));
  const slices = frames.length % positions.size === 0 ? positions.size : frames.length;
  const volumes = frames.length / slices;
  const plane = first.rows * first.columns;
  const voxels = new Int16Array(plane * frames.length);
  frames.forEach((f, i) => voxels.set(f.pixels.subarray(0, plane), i * plane));
  const [ps, pc] = numbers(first.tags, 0x00280030);
  const orientation = numbers(first.tags, 0x00200037);
  const row = orientation.slice(0, 3);
  const column = orientation.slice(3, 6);
  const p0 = first.position.length === 3 ? first.position : [0, 0, 0];
  const p1 = frames[1]?.position;
  const thickness = numbers(first.tags, 0x00180050)[0] ?? 1;
  const normal = [
    row[1]! * column[2]! - row[2]! * column[1]!,
    row[2]! * column[0]! - row[0]! * column[2]!,
    row[0]! * column[1]! - row[1]! * column[0]!,
  ];
  const step =
    slices > 1 && p1?.length === 3 ? p1.map((v, k) => v - p0[k]!) : normal.map((n) => n * thickness);
  const spacing = Math.hypot(...step);
  const colSpacing = ps ?? 1;
  const rowSpacing = pc ?? colSpacing;
  const axis = (k: number) => {
    const flip = k < 2 ? -1 : 1;
    return [row[k]! * rowSpacing, column[k]! * colSpacing, step[k]!, p0[k]!].map((v) => flip * v);
  };
  const tr = numbers(first.tags, 0x00180080)[0];
  const time = volumes > 1;
  return {
    dims: time ? [first.columns, first.rows, slices, volumes] : [first.columns, first.rows, slices],
    pixdim: time ? [rowSpacing, colSpacing, spacing, (tr ?? 1000) / 1000] : [rowSpacing, colSpacing, spacing],
    srow: [axis(0), axis(1), axis(2)] as const,
    voxels,
  };
}

/** The BIDS sidecar dcm2niix writes with `-b y`, from the first frame's header. */
function sidecar(frames: Frame[]): Record<string, unknown> {
  const t = frames[0]!.tags;
  const num = (tag: number) => numbers(t, tag)[0];
  const fields: Record<string, unknown> = {
    Modality: text(t, 0x00080060),
    MagneticFieldStrength: num(0x00180087),
    Manufacturer: text(t, 0x00080070),
    ManufacturersModelName: text(t, 0x00081090),
    SeriesDescription: text(t, 0x0008103e),
    ProtocolName: text(t, 0x00181030),
    SeriesNumber: num(0x00200011),
    SliceThickness: num(0x00180050),
    EchoTime: num(0x00180081) === undefined ? undefined : num(0x00180081)! / 1000,
    RepetitionTime: num(0x00180080) === undefined ? undefined : num(0x00180080)! / 1000,
    FlipAngle: num(0x00181314),
    ImageOrientationPatientDICOM: numbers(t, 0x00200037),
    ConversionSoftware: 'dcm2niix',
    ConversionSoftwareVersion: 'v1.0.20240202',
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== ''));
}

/** dcm2niix's `%s` (scan) and `%d` (series description), with characters it will not put in names replaced. */
function fileStem(pattern: string, scan: StoredScan): string {
  const description = (scan.seriesDescription || scan.type || 'series').replace(/[^A-Za-z0-9_.-]+/g, '_');
  return pattern
    .replaceAll('%s', scan.id)
    .replaceAll('%d', description)
    .replace(/[^A-Za-z0-9_.-]+/g, '_');
}

async function dcm2niix({ session, params, log }: RunnerInput): Promise<RunnerResult> {
  log(
    'stdout',
    "Chris Rorden's dcm2niiX version v1.0.20240202  (JP2:OpenJPEG) GCC12.2.0 x86-64 (64-bit Linux)",
  );
  const outputs: RunnerOutput[] = [];
  const compress = params.compress !== 'n';
  for (const scan of session.scans) {
    const frames = await framesOf(scan);
    if (typeof frames === 'string') {
      log('stderr', `Warning: scan ${scan.id} skipped: ${frames}`);
      continue;
    }
    const stem = fileStem(params.filename ?? '%s_%d', scan);
    const volume = volumeOf(frames);
    const te = numbers(frames[0]!.tags, 0x00180081)[0] ?? 0;
    const gz = niftiGzFile(volume, `TE=${te};Time=${text(frames[0]!.tags, 0x00080032)}`);
    const image = compress ? gz : gunzipSync(gz);
    const files = [
      { path: `${stem}.nii${compress ? '.gz' : ''}`, bytes: image, format: 'NIFTI', content: 'NIFTI_RAW' },
    ];
    if (params.bids !== 'n') {
      const json = `${JSON.stringify(sidecar(frames), null, 2)}\n`;
      files.push({ path: `${stem}.json`, bytes: Buffer.from(json), format: 'BIDS', content: 'BIDS_SIDECAR' });
    }
    log('stdout', `Convert ${frames.length} DICOM as /output/${stem} (${volume.dims.join('x')})`);
    outputs.push({ handler: 'nifti-resource', scan: scan.id, files });
  }
  if (outputs.length === 0) {
    log('stderr', 'Error: No valid DICOM images were found');
    return { exitCode: 2, outputs: [] };
  }
  log('stdout', `Conversion required ${(outputs.length * 0.12).toFixed(6)} seconds.`);
  return { exitCode: 0, outputs };
}

/** Nearest-neighbour shrink of the middle frame to at most `width` pixels, windowed over its range. */
async function snapshots({ session, params, log }: RunnerInput): Promise<RunnerResult> {
  const width = Math.max(16, Math.min(1024, Number.parseInt(params.width ?? '128', 10) || 128));
  const files: RunnerOutput['files'] = [];
  for (const scan of session.scans) {
    const frames = await framesOf(scan);
    if (typeof frames === 'string') {
      log('stderr', `scan ${scan.id}: ${frames}; no snapshot`);
      continue;
    }
    const f = frames[Math.floor(frames.length / 2)]!;
    const factor = Math.min(1, width / f.columns);
    const w = Math.max(1, Math.floor(f.columns * factor));
    const h = Math.max(1, Math.floor(f.rows * factor));
    let low = Infinity;
    let high = -Infinity;
    for (const v of f.pixels) {
      low = Math.min(low, v);
      high = Math.max(high, v);
    }
    const scale = high > low ? 255 / (high - low) : 0;
    const grey = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = f.pixels[Math.floor(y / factor) * f.columns + Math.floor(x / factor)]!;
        grey[y * w + x] = Math.round((v - low) * scale);
      }
    }
    files.push({
      path: `${session.label}_${scan.id}_qc.png`,
      bytes: pngFile(w, h, grey),
      format: 'PNG',
      content: 'SNAPSHOT',
    });
    log('stdout', `wrote ${session.label}_${scan.id}_qc.png (${w}x${h})`);
  }
  return {
    exitCode: files.length > 0 ? 0 : 1,
    outputs: files.length > 0 ? [{ handler: 'snapshot-resource', files }] : [],
  };
}

async function reconAll({ session, log }: RunnerInput): Promise<RunnerResult> {
  log('stdout', `Subject Stamp: freesurfer-linux-ubuntu22_x86_64-7.4.1-20230614-7eb8460`);
  log('stdout', `recon-all -s ${session.label} -i /input/T1.nii.gz -all`);
  log('stderr', 'ERROR: FreeSurfer license file /opt/freesurfer/license.txt not found.');
  log('stderr', '  If you are outside the NMR-Martinos Center,');
  log('stderr', '  go to http://surfer.nmr.mgh.harvard.edu/registration.html to');
  log('stderr', "  get a valid license file (it's free).");
  log('stderr', '  A path to an alternative license file can also be');
  log('stderr', '  specified with the FS_LICENSE environmental variable.');
  return { exitCode: 1, outputs: [] };
}

async function mriqc({ session, log }: RunnerInput): Promise<RunnerResult> {
  const files: RunnerOutput['files'] = [];
  for (const scan of session.scans) {
    const frames = await framesOf(scan);
    if (typeof frames === 'string') continue;
    const values = frames.flatMap((f) => Array.from(f.pixels));
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    const iqms = { bids_name: `${session.label}_${scan.id}`, snr_total: sd > 0 ? mean / sd : 0 };
    files.push({
      path: `${scan.id}_iqms.json`,
      bytes: Buffer.from(JSON.stringify(iqms)),
      format: 'JSON',
      content: 'IQMS',
    });
  }
  log('stdout', `MRIQC completed: ${files.length} scans`);
  return { exitCode: 0, outputs: [{ handler: 'iqm-resource', files }] };
}

export const RUNNERS: Record<Runner, (input: RunnerInput) => Promise<RunnerResult>> = {
  dcm2niix,
  snapshots,
  'recon-all': reconAll,
  mriqc,
};
