/**
 * The images of a seeded series: where each slice lies (geometry consistent across the series), its
 * pixels rendered from the head phantom with the series' contrast, noise and artefacts, and the
 * DICOM acquisition tags that describe it. Pixels are rendered when a file's bytes are asked for.
 */
import { fd, us, type DicomElement, type DicomImage, type NiftiVolume } from './dicom.js';
import {
  addNoise,
  ghost,
  gradientOf,
  headPhantom,
  paintSlice,
  projectPhantom,
  seedOf,
  normalNoise,
  smooth,
  spike,
  tissueValues,
  type Artefact,
  type HeadShape,
  type PetUptake,
  type SliceGeometry,
  type Vec3,
} from './phantom.js';
import type { Acquisition, Orientation, Scanner } from './seed-protocols.js';

/** Row and column direction cosines per orientation (DICOM LPS; radiological display). */
const AXES: Record<Orientation, { row: Vec3; column: Vec3 }> = {
  Tra: { row: [1, 0, 0], column: [0, 1, 0] },
  Sag: { row: [0, 1, 0], column: [0, 0, -1] },
  Cor: { row: [1, 0, 0], column: [0, 0, -1] },
};
const LOCALIZER_PLANES: readonly Orientation[] = ['Sag', 'Cor', 'Tra'];

const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/** One image of a series: which slice of which volume, and its instance number. */
export interface SeriesImage {
  slice: number;
  volume: number;
  instanceNumber: number;
}

/** The images a series holds, in acquisition order; missing slices leave gaps in the numbering. */
export function seriesImages(a: Acquisition, artefact?: Artefact): SeriesImage[] {
  const missing = new Set(artefact?.kind === 'missing' ? artefact.slices : []);
  const images: SeriesImage[] = [];
  for (let volume = 0; volume < a.volumes; volume++)
    for (let slice = 0; slice < a.slices; slice++)
      if (!missing.has(slice)) images.push({ slice, volume, instanceNumber: volume * a.slices + slice + 1 });
  return images;
}

/** Where slice `slice` lies: slices step along the normal (row × column) through the slab centre. */
function sliceGeometry(a: Acquisition, slice: number): SliceGeometry & { normal: Vec3 } {
  const orientation = a.contrast === 'localizer' ? (LOCALIZER_PLANES[slice] ?? 'Tra') : a.orientation;
  const { row, column } = AXES[orientation];
  const normal = cross(row, column);
  const offset = a.contrast === 'localizer' ? 0 : (slice - (a.slices - 1) / 2) * a.sliceSpacing;
  const ps = a.pixelSpacing;
  const half = [((a.columns - 1) / 2) * ps, ((a.rows - 1) / 2) * ps] as const;
  const position = [0, 1, 2].map(
    (k) =>
      (a.centre[k] ?? 0) + offset * (normal[k] ?? 0) - half[0] * (row[k] ?? 0) - half[1] * (column[k] ?? 0),
  ) as unknown as Vec3;
  return { rows: a.rows, columns: a.columns, pixelSpacing: ps, position, row, column, normal };
}

/** What a series' images depend on beyond its acquisition. */
export interface SeriesSubject {
  shape: HeadShape;
  pet?: PetUptake;
  /** PET without attenuation correction: the centre of the head looks emptier than its edge. */
  attenuationCorrected?: boolean;
  artefact?: Artefact;
  /** Seeds the noise (with the image's position in the series). */
  seed: string;
}

/** Renders one image of the series as stored pixels (before rescaling to real-world values). */
export function renderImage(a: Acquisition, who: SeriesSubject, at: SeriesImage): DicomImage {
  const geometry = sliceGeometry(a, at.slice);
  const { rows, columns } = geometry;
  const phantom = headPhantom(who.shape);
  const random = normalNoise(seedOf(`${who.seed}/${at.instanceNumber}`));
  const artefact = who.artefact;
  const quantize = (image: Float32Array, scale: number, offset: number, bits: number): DicomImage => {
    const pixels = new Uint16Array(image.length);
    const max = 2 ** bits - 1;
    const gain = 1 / scale;
    for (let i = 0; i < image.length; i++) {
      const v = Math.round((image[i] ?? 0) * gain + offset);
      pixels[i] = v < 0 ? 0 : v > max ? max : v;
    }
    return { rows, columns, bitsStored: bits, pixels };
  };

  if (a.contrast === 'topogram') {
    // Linear attenuation (1/mm) summed front to back.
    const mu = Float64Array.from([0, 0.019, 0.045, 0.019, 0.0195, 0.0193, 0.0195, 0.019]);
    const image = projectPhantom(phantom, geometry, mu, [0, 1, 0]);
    addNoise(image, { kind: 'gaussian', sd: 0.02 }, random);
    return quantize(image, 1 / 700, 0, 12);
  }
  if (a.contrast === 'CT') {
    const image = paintSlice(phantom, geometry, tissueValues('CT', 0));
    addNoise(image, { kind: 'gaussian', sd: 6 }, random);
    smooth(image, rows, columns);
    return quantize(image, 1, 1024, 12);
  }
  if (a.contrast === 'PET') {
    const image = paintSlice(phantom, geometry, tissueValues('PET', 0, { pet: who.pet }));
    if (!who.attenuationCorrected) uncorrected(image, geometry);
    addNoise(image, { kind: 'poisson', scale: 40 }, random);
    smooth(image, rows, columns, 3);
    return quantize(image, PET_SLOPE, 0, 16);
  }

  const contrast = a.contrast === 'localizer' ? 'T1w' : a.contrast;
  const values = tissueValues(contrast, at.volume, { bValue: a.mr?.bValue });
  const moving = artefact?.kind === 'motion' && at.volume >= artefact.fromVolume;
  const drift = moving ? artefact.severity * (1 + (at.volume % 3)) : 0;
  const image = paintSlice(phantom, geometry, values, {
    shift: [0, drift, drift * 0.6],
    wrap: artefact?.kind === 'wrap',
  });
  biasField(image, geometry);
  const peak = Math.max(...values);
  if (moving) ghost(image, rows, columns, 0.05 * artefact.severity);
  if (artefact?.kind === 'spike' && at.slice >= artefact.from && at.slice <= artefact.to)
    spike(image, rows, columns, 0.2 * peak);
  addNoise(image, { kind: 'rician', sd: 0.025 * peak }, random);
  smooth(image, rows, columns);
  return quantize(image, 1, 0, 12);
}

/** PET stored values × this = Bq/ml. */
const PET_SLOPE = 0.25;

/** Stored value × slope + intercept = the real-world value (HU on CT, Bq/ml on PET). */
export function rescaleOf(a: Acquisition): { slope: number; intercept: number } {
  if (a.ct) return { slope: 1, intercept: -1024 };
  return { slope: a.contrast === 'PET' ? PET_SLOPE : 1, intercept: 0 };
}

/**
 * The series as dcm2niix would convert it: every slice of every volume as int16, x fastest, with the
 * sform mapping voxel indices to RAS millimetres (DICOM's LPS with x and y negated).
 */
export function seriesVolume(a: Acquisition, who: SeriesSubject): NiftiVolume {
  const plane = a.rows * a.columns;
  const voxels = new Int16Array(plane * a.slices * a.volumes);
  for (let volume = 0; volume < a.volumes; volume++) {
    for (let slice = 0; slice < a.slices; slice++) {
      const { pixels } = renderImage(a, who, {
        slice,
        volume,
        instanceNumber: volume * a.slices + slice + 1,
      });
      const offset = (volume * a.slices + slice) * plane;
      for (let i = 0; i < plane; i++) voxels[offset + i] = Math.min(pixels[i] ?? 0, 32767);
    }
  }
  const { position, row, column, normal } = sliceGeometry(a, 0);
  const [ps, sp] = [a.pixelSpacing, a.sliceSpacing];
  const axis = (k: 0 | 1 | 2) => {
    const flip = k < 2 ? -1 : 1;
    return [row[k] * ps, column[k] * ps, normal[k] * sp, position[k]].map((v) => flip * v);
  };
  const srow = [axis(0), axis(1), axis(2)] as const;
  const time = a.volumes > 1;
  return {
    dims: time ? [a.columns, a.rows, a.slices, a.volumes] : [a.columns, a.rows, a.slices],
    pixdim: time ? [ps, ps, sp, (a.mr?.tr ?? 1000) / 1000] : [ps, ps, sp],
    srow,
    voxels,
  };
}

/**
 * A diffusion series' gradient tables as dcm2niix writes them (FSL `.bval`/`.bvec`): one column per
 * volume, b=0 first, directions projected onto the image's voxel axes. Undefined for other series.
 */
export function diffusionTables(a: Acquisition): { bval: string; bvec: string } | undefined {
  const b = a.mr?.bValue;
  if (a.contrast !== 'DWI' || b === undefined) return undefined;
  const { row, column, normal } = sliceGeometry(a, 0);
  const volumes = Array.from({ length: a.volumes }, (_, v) => v);
  const along = (axis: Vec3) =>
    volumes
      .map((v) => {
        if (v === 0) return '0';
        const g = gradientOf(v);
        const value = g[0] * axis[0] + g[1] * axis[1] + g[2] * axis[2];
        return String(Math.round(value * 1e6) / 1e6 || 0);
      })
      .join(' ');
  return {
    bval: `${volumes.map((v) => (v === 0 ? 0 : b)).join(' ')}\n`,
    bvec: `${[row, column, normal].map(along).join('\n')}\n`,
  };
}

/** A QC snapshot: the middle image of the first volume in the series' display window, shrunk `shrink` times. */
export function snapshotImage(
  a: Acquisition,
  who: SeriesSubject,
  shrink: number,
): { width: number; height: number; grey: Uint8Array } {
  const firstVolume = seriesImages(a, who.artefact).filter((at) => at.volume === 0);
  const at = firstVolume[firstVolume.length >> 1] ?? { slice: 0, volume: 0, instanceNumber: 1 };
  const { rows, columns, pixels } = renderImage(a, who, at);
  const { slope, intercept } = rescaleOf(a);
  const [centre, width] = a.window;
  const [w, h] = [Math.floor(columns / shrink), Math.floor(rows / shrink)];
  const grey = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = 0; dy < shrink; dy++)
        for (let dx = 0; dx < shrink; dx++) sum += pixels[(y * shrink + dy) * columns + x * shrink + dx] ?? 0;
      const value = (sum / (shrink * shrink)) * slope + intercept;
      grey[y * w + x] = Math.round(Math.min(Math.max((value - (centre - width / 2)) / width, 0), 1) * 255);
    }
  }
  return { width: w, height: h, grey };
}

/** Receive-coil shading: a smooth gain, higher towards the back and top of the head. */
function biasField(image: Float32Array, g: SliceGeometry): void {
  for (let j = 0; j < g.rows; j++) {
    for (let i = 0; i < g.columns; i++) {
      const y = g.position[1] + (i * g.row[1] + j * g.column[1]) * g.pixelSpacing;
      const z = g.position[2] + (i * g.row[2] + j * g.column[2]) * g.pixelSpacing;
      image[j * g.columns + i] = (image[j * g.columns + i] ?? 0) * (1 + 0.0008 * y + 0.0006 * z);
    }
  }
}

/** Without attenuation correction deep activity is under-counted: gain rises with distance from the axis. */
function uncorrected(image: Float32Array, g: SliceGeometry): void {
  for (let j = 0; j < g.rows; j++) {
    for (let i = 0; i < g.columns; i++) {
      const x = g.position[0] + (i * g.row[0] + j * g.column[0]) * g.pixelSpacing;
      const y = g.position[1] + (i * g.row[1] + j * g.column[1]) * g.pixelSpacing;
      image[j * g.columns + i] =
        (image[j * g.columns + i] ?? 0) * (0.3 + 0.5 * Math.min((x * x + y * y) / 8100, 1.4));
    }
  }
}

/** A DS value: at most 16 characters (PS3.5 table 6.2-1). */
function ds(...values: number[]): string {
  return values
    .map((v) => {
      const text = String(Number(v.toFixed(6)));
      return text.length <= 16 ? text : v.toPrecision(10);
    })
    .join('\\');
}

export interface SeriesTimes {
  date: string;
  /** `HH:MM:SS` the series started. */
  start: string;
}

const seconds = (hms: string) => hms.split(':').reduce((t, part) => t * 60 + Number(part), 0);
const hhmmss = (s: number) =>
  [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60]
    .map((n, i) => (i === 2 ? n.toFixed(2).padStart(5, '0') : String(n).padStart(2, '0')))
    .join('');

/** The acquisition and geometry tags of one image (dicomFile writes identity and pixel module tags). */
export function imageTags(
  a: Acquisition,
  scanner: Scanner,
  at: SeriesImage,
  series: {
    protocolName: string;
    times: SeriesTimes;
    frameOfReference: string;
    attenuationCorrected?: boolean;
  },
): DicomElement[] {
  const g = sliceGeometry(a, at.slice);
  const tags: DicomElement[] = [];
  const add = (tag: number, vr: string, value: string | Buffer) => tags.push({ tag, vr, value });
  const seriesTime = series.times.start.replaceAll(':', '');
  const repetition = a.mr ? a.mr.tr / 1000 : 0;
  add(0x00080021, 'DA', series.times.date.replaceAll('-', ''));
  add(0x00080022, 'DA', series.times.date.replaceAll('-', ''));
  add(0x00080031, 'TM', seriesTime);
  add(0x00080032, 'TM', hhmmss(seconds(series.times.start) + at.volume * repetition));
  add(0x00080080, 'LO', scanner.institution);
  add(0x00180015, 'CS', 'HEAD');
  add(0x00180050, 'DS', ds(a.sliceThickness));
  add(0x00181020, 'LO', scanner.software);
  add(0x00181030, 'LO', series.protocolName);
  add(0x00185100, 'CS', 'HFS');
  add(0x00200012, 'IS', String(at.volume + 1));
  add(0x00200032, 'DS', ds(...g.position));
  add(0x00200037, 'DS', ds(...g.row, ...g.column));
  add(0x00200052, 'UI', series.frameOfReference);
  add(0x00201041, 'DS', ds(dot(g.position, g.normal)));
  add(0x00280030, 'DS', ds(a.pixelSpacing, a.pixelSpacing));
  add(0x00281050, 'DS', ds(a.window[0]));
  add(0x00281051, 'DS', ds(a.window[1]));
  if (a.mr) mrTags(a, at, add);
  if (a.ct) {
    add(
      0x00080008,
      'CS',
      a.contrast === 'topogram' ? 'ORIGINAL\\PRIMARY\\LOCALIZER' : 'ORIGINAL\\PRIMARY\\AXIAL',
    );
    add(0x00180060, 'DS', ds(a.ct.kvp));
    add(0x00181151, 'IS', String(a.ct.tubeCurrent));
    add(0x00181210, 'SH', a.ct.kernel);
    add(0x00281052, 'DS', ds(rescaleOf(a).intercept));
    add(0x00281053, 'DS', ds(rescaleOf(a).slope));
    add(0x00281054, 'LO', 'HU');
  }
  if (a.contrast === 'PET') {
    add(0x00080008, 'CS', 'ORIGINAL\\PRIMARY');
    add(0x00281052, 'DS', ds(rescaleOf(a).intercept));
    add(0x00281053, 'DS', ds(rescaleOf(a).slope));
    add(0x00540081, 'US', us(a.slices));
    add(0x00541000, 'CS', 'STATIC\\IMAGE');
    add(0x00541001, 'CS', 'BQML');
    add(0x00541002, 'CS', 'EMISSION');
    add(0x00541101, 'LO', series.attenuationCorrected ? 'measured,CT-based' : 'NONE');
    add(0x00541102, 'CS', 'START');
    add(0x00541330, 'US', us(at.slice + 1));
  }
  if (a.slices > 1 && a.contrast !== 'localizer') add(0x00180088, 'DS', ds(a.sliceSpacing));
  return tags;
}

function mrTags(
  a: Acquisition,
  at: SeriesImage,
  add: (tag: number, vr: string, value: string | Buffer) => void,
): void {
  const mr = a.mr;
  if (!mr) return;
  const diffusion = a.contrast === 'DWI';
  add(0x00080008, 'CS', diffusion ? 'ORIGINAL\\PRIMARY\\DIFFUSION\\NONE' : 'ORIGINAL\\PRIMARY\\M\\ND');
  add(0x00180020, 'CS', mr.scanSequence);
  add(0x00180021, 'CS', mr.seqVariant);
  add(0x00180022, 'CS', mr.scanOptions);
  add(0x00180023, 'CS', mr.acqType);
  add(0x00180024, 'SH', mr.sequence);
  add(0x00180080, 'DS', ds(mr.tr));
  add(0x00180081, 'DS', ds(mr.te));
  if (mr.ti !== undefined) add(0x00180082, 'DS', ds(mr.ti));
  add(0x00180083, 'DS', '1');
  add(0x00180084, 'DS', '123.25');
  add(0x00180095, 'DS', ds(mr.pixelBandwidth));
  // Frequency rows, frequency columns, phase rows, phase columns.
  add(0x00181310, 'US', a.phase === 'COL' ? us(0, a.columns, a.rows, 0) : us(a.rows, 0, 0, a.columns));
  add(0x00181312, 'CS', a.phase);
  add(0x00181314, 'DS', ds(mr.flip));
  if (a.volumes > 1 && !diffusion) {
    add(0x00200100, 'IS', String(at.volume + 1));
    add(0x00200105, 'IS', String(a.volumes));
  }
  if (diffusion) {
    const b = at.volume === 0 ? 0 : (mr.bValue ?? 1000);
    add(0x00189087, 'FD', fd(b));
    if (at.volume > 0) add(0x00189089, 'FD', fd(...gradientOf(at.volume)));
  }
}
