/**
 * An analytic head phantom for the demo archive's images: nested ellipsoids (scalp, skull, CSF, grey
 * and white matter, deep grey nuclei, ventricles, the interhemispheric fissure, eyes) in patient
 * coordinates (DICOM LPS, millimetres), rendered slice by slice with per-sequence tissue values.
 *
 * A slice is rendered row by row: each row is a line through the ellipsoids, whose intersections are
 * solved exactly and painted outermost first, so a slice costs O(pixels) whatever the tissue count.
 * Noise comes from a seeded PRNG: the same slice renders to the same numbers on every run.
 */

export type Vec3 = readonly [number, number, number];

/** Tissue labels; the index into every contrast's value table. */
const TISSUE = {
  air: 0,
  scalp: 1,
  skull: 2,
  csf: 3,
  grey: 4,
  white: 5,
  deepGrey: 6,
  vitreous: 7,
} as const;
type Tissue = (typeof TISSUE)[keyof typeof TISSUE];

interface Ellipsoid {
  centre: Vec3;
  semiAxes: Vec3;
  tissue: Tissue;
}

/** What varies between heads: overall size and how much the brain has shrunk (0 = none). */
export interface HeadShape {
  scale: number;
  atrophy: number;
}

/** The ellipsoids of a head, in painting order (each paints over what it lies in). */
export function headPhantom({ scale, atrophy }: HeadShape): readonly Ellipsoid[] {
  const e = (centre: Vec3, semiAxes: Vec3, tissue: Tissue, grow = 1): Ellipsoid => ({
    centre: [centre[0] * scale, centre[1] * scale, centre[2] * scale],
    semiAxes: [semiAxes[0] * scale * grow, semiAxes[1] * scale * grow, semiAxes[2] * scale * grow],
    tissue,
  });
  const brain = 1 - 0.06 * atrophy;
  const ventricle = 1 + 0.9 * atrophy;
  const eye = (side: number) => e([side * 32, -76, -40], [11, 11, 11], TISSUE.vitreous);
  const pair = (x: number, rest: [number, number], semiAxes: Vec3, tissue: Tissue, grow = 1) => [
    e([-x, ...rest], semiAxes, tissue, grow),
    e([x, ...rest], semiAxes, tissue, grow),
  ];
  return [
    e([0, 0, 0], [76, 96, 96], TISSUE.scalp),
    e([0, 0, 2], [71, 91, 90], TISSUE.skull),
    e([0, 0, 4], [65, 85, 84], TISSUE.csf),
    e([0, 0, 5], [62, 82, 80], TISSUE.grey, brain),
    e([0, 2, 8], [52, 70, 66], TISSUE.white, brain),
    // The interhemispheric fissure: thin enough that the sagittal slices either side of the midline miss it.
    e([0, 0, 62], [1.2, 78, 36], TISSUE.csf, 1 + atrophy),
    ...pair(13, [2, 2], [9, 14, 9], TISSUE.deepGrey),
    ...pair(9 * ventricle, [-2, 18], [5 * ventricle, 26, 8 * (1 + 0.3 * atrophy)], TISSUE.csf),
    e([0, 2, 2], [2 * ventricle, 10, 7], TISSUE.csf),
    eye(-1),
    eye(1),
  ];
}

export type Contrast = 'T1w' | 'T2w' | 'FLAIR' | 'PD' | 'DWI' | 'BOLD' | 'PET' | 'CT';

/** Tissue values per contrast (air, scalp, skull, CSF, grey, white, deep grey, vitreous). */
const VALUES: Record<Exclude<Contrast, 'DWI' | 'PET'>, readonly number[]> = {
  // MPRAGE: fat bright, white over grey, fluid dark, bone darker still.
  T1w: [0, 1500, 140, 260, 880, 1400, 1000, 220],
  T2w: [0, 800, 90, 2300, 1150, 760, 1000, 2200],
  // Dark-fluid: the CSF signal is nulled by the inversion.
  FLAIR: [0, 1100, 90, 120, 1250, 900, 1150, 160],
  PD: [0, 1200, 150, 1300, 1250, 1000, 1200, 1300],
  // T2*-weighted EPI with fat suppression.
  BOLD: [0, 260, 60, 1500, 1050, 820, 980, 1400],
  // Hounsfield units.
  CT: [-1000, 20, 1250, 12, 40, 28, 38, 10],
};

/** b = 0 signal and apparent diffusion coefficient (mm²/s) per tissue; white matter is anisotropic. */
const DWI_B0 = [0, 320, 60, 1900, 950, 760, 900, 1800];
const ADC = [0, 0.0003, 0.0003, 0.003, 0.0008, 0.0007, 0.00075, 0.0028];
/** White matter ADC along x, y, z: fibres mostly run left-right and head-foot in this phantom. */
const WHITE_ADC: Vec3 = [0.0004, 0.001, 0.0006];

export interface PetUptake {
  /** Amyloid tracers stick to cortex only in amyloid-positive brains (and to white matter in all). */
  amyloid: boolean;
}

/** Diffusion gradient directions (unit vectors) of the DWI volumes after the b=0 one, in turn. */
const GRADIENTS: readonly Vec3[] = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
  [Math.SQRT1_2, Math.SQRT1_2, 0],
  [Math.SQRT1_2, 0, Math.SQRT1_2],
  [0, Math.SQRT1_2, Math.SQRT1_2],
];

/** The gradient direction of DWI volume `volume` (> 0). */
export const gradientOf = (volume: number): Vec3 => GRADIENTS[(volume - 1) % GRADIENTS.length] ?? [1, 0, 0];

/**
 * One volume's tissue value table. DWI volumes: 0 is b=0, volume v > 0 is b=`bValue` along
 * `gradientOf(v)`. BOLD volumes carry a small block-design signal in grey matter.
 */
export function tissueValues(
  contrast: Contrast,
  volume: number,
  extra: { bValue?: number; pet?: PetUptake } = {},
): Float64Array {
  if (contrast === 'DWI') {
    const b = volume === 0 ? 0 : (extra.bValue ?? 1000);
    const g = gradientOf(volume);
    // White matter's diffusion tensor is diagonal here: ADC along g is gᵀ D g.
    const white = g[0] * g[0] * WHITE_ADC[0] + g[1] * g[1] * WHITE_ADC[1] + g[2] * g[2] * WHITE_ADC[2];
    return Float64Array.from(
      DWI_B0,
      (s0, t) => s0 * Math.exp(-b * (t === TISSUE.white ? white : (ADC[t] ?? 0))),
    );
  }
  if (contrast === 'PET') {
    // Bq/ml about 50 minutes after 370 MBq of florbetapir.
    const cortex = extra.pet?.amyloid ? 10500 : 5200;
    return Float64Array.from([0, 1400, 900, 900, cortex, 8600, cortex * 0.9, 700]);
  }
  const values = Float64Array.from(VALUES[contrast]);
  if (contrast === 'BOLD') {
    // 2% signal change in alternating blocks of three volumes.
    const on = Math.floor(volume / 3) % 2 === 1 ? 1.02 : 1;
    values[TISSUE.grey] = (values[TISSUE.grey] ?? 0) * on;
    values[TISSUE.deepGrey] = (values[TISSUE.deepGrey] ?? 0) * on;
  }
  return values;
}

/** Where a slice lies: the centre of its first pixel, the row and column unit vectors, pixel size. */
export interface SliceGeometry {
  rows: number;
  columns: number;
  /** Square pixels, mm. */
  pixelSpacing: number;
  position: Vec3;
  row: Vec3;
  column: Vec3;
}

/** mulberry32: a small fixed-seed generator of 32-bit unsigned integers. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A fixed-seed PRNG of uniform numbers in [0, 1): variety without losing determinism. */
export function seededRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

/** A 32-bit seed from text (FNV-1a), so each slice has its own reproducible noise. */
export function seedOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * Paints one row: the line `start + t * step` (t = column index) through every ellipsoid, with
 * partial coverage blended at span ends so edges are not staircased.
 */
function paintRow(
  out: Float32Array,
  offset: number,
  columns: number,
  phantom: readonly Ellipsoid[],
  values: Float64Array,
  start: Vec3,
  step: Vec3,
  weight: number,
): void {
  for (const { centre, semiAxes, tissue } of phantom) {
    let a = 0;
    let b = 0;
    let c = -1;
    for (let k = 0; k < 3; k++) {
      const inv = 1 / (semiAxes[k] ?? 1);
      const p = ((start[k] ?? 0) - (centre[k] ?? 0)) * inv;
      const d = (step[k] ?? 0) * inv;
      a += d * d;
      b += 2 * p * d;
      c += p * p;
    }
    const disc = b * b - 4 * a * c;
    if (disc <= 0 || a === 0) continue;
    const root = Math.sqrt(disc);
    const t1 = Math.max((-b - root) / (2 * a), -1);
    const t2 = Math.min((-b + root) / (2 * a), columns);
    if (t2 < 0 || t1 > columns - 1) continue;
    const value = (values[tissue] ?? 0) * weight;
    const i0 = Math.ceil(t1);
    const i1 = Math.floor(t2);
    if (i1 >= i0) out.fill(value, offset + Math.max(i0, 0), offset + Math.min(i1, columns - 1) + 1);
    const blend = (i: number, f: number) => {
      if (i < 0 || i >= columns) return;
      const at = offset + i;
      out[at] = (out[at] ?? 0) + (value - (out[at] ?? 0)) * Math.min(f, 1);
    };
    if (i1 >= i0) {
      blend(i0 - 1, i0 - t1);
      blend(i1 + 1, t2 - i1);
    } else blend(i1, t2 - t1);
  }
}

/**
 * The noiseless image of a slice: values per pixel, row-major. `shift` moves the head (mm, patient
 * axes: motion); `wrap` adds copies of the object displaced by ± the field of view along the column
 * direction (the phase-encode direction when it is too short: aliasing).
 */
export function paintSlice(
  phantom: readonly Ellipsoid[],
  geometry: SliceGeometry,
  values: Float64Array,
  options: { shift?: Vec3; wrap?: boolean } = {},
): Float32Array {
  const { rows, columns, pixelSpacing: ps, position, row, column } = geometry;
  const shift = options.shift ?? [0, 0, 0];
  // Outside every ellipsoid is air (-1000 HU on CT).
  const out = new Float32Array(rows * columns).fill(values[TISSUE.air] ?? 0);
  const step: Vec3 = [row[0] * ps, row[1] * ps, row[2] * ps];
  const fov = rows * ps;
  const copies = options.wrap ? [0, -fov, fov] : [0];
  for (let j = 0; j < rows; j++) {
    for (const [n, displacement] of copies.entries()) {
      const along = j * ps + displacement;
      const start: Vec3 = [
        position[0] + along * column[0] - shift[0],
        position[1] + along * column[1] - shift[1],
        position[2] + along * column[2] - shift[2],
      ];
      if (n === 0) paintRow(out, j * columns, columns, phantom, values, start, step, 1);
      else {
        // Aliased signal adds to what is there (magnitude images: a good enough approximation).
        const alias = new Float32Array(columns);
        paintRow(alias, 0, columns, phantom, values, start, step, 1);
        for (let i = 0; i < columns; i++)
          out[j * columns + i] = (out[j * columns + i] ?? 0) + (alias[i] ?? 0);
      }
    }
  }
  return out;
}

/** A projection radiograph (CT topogram) of the phantom along `ray`: summed attenuation per pixel. */
export function projectPhantom(
  phantom: readonly Ellipsoid[],
  geometry: SliceGeometry,
  attenuation: Float64Array,
  ray: Vec3,
): Float32Array {
  const { rows, columns, pixelSpacing: ps, position, row, column } = geometry;
  const out = new Float32Array(rows * columns);
  // Each ellipsoid adds its chord times the change of attenuation from the tissue it is painted in.
  const under = phantom.map((shape, i) => {
    const inside = phantom.slice(0, i).findLast((outer) => contains(outer, shape.centre));
    return inside ? (attenuation[inside.tissue] ?? 0) : 0;
  });
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < columns; i++) {
      const p: Vec3 = [
        position[0] + (i * row[0] + j * column[0]) * ps,
        position[1] + (i * row[1] + j * column[1]) * ps,
        position[2] + (i * row[2] + j * column[2]) * ps,
      ];
      let sum = 0;
      phantom.forEach((shape, n) => {
        sum += chord(shape, p, ray) * ((attenuation[shape.tissue] ?? 0) - (under[n] ?? 0));
      });
      out[j * columns + i] = sum;
    }
  }
  return out;
}

function contains({ centre, semiAxes }: Ellipsoid, p: Vec3): boolean {
  let s = 0;
  for (let k = 0; k < 3; k++) s += (((p[k] ?? 0) - (centre[k] ?? 0)) / (semiAxes[k] ?? 1)) ** 2;
  return s <= 1;
}

/** Length (mm) of the line through `p` along unit vector `ray` inside the ellipsoid. */
function chord({ centre, semiAxes }: Ellipsoid, p: Vec3, ray: Vec3): number {
  let a = 0;
  let b = 0;
  let c = -1;
  for (let k = 0; k < 3; k++) {
    const q = ((p[k] ?? 0) - (centre[k] ?? 0)) / (semiAxes[k] ?? 1);
    const d = (ray[k] ?? 0) / (semiAxes[k] ?? 1);
    a += d * d;
    b += 2 * q * d;
    c += q * q;
  }
  const disc = b * b - 4 * a * c;
  return disc > 0 ? Math.sqrt(disc) / a : 0;
}

/** Separable [1 2 1]/4 smoothing in place: soft edges and spatially correlated noise, as in real images. */
export function smooth(image: Float32Array, rows: number, columns: number, passes = 1): void {
  const line = new Float32Array(Math.max(rows, columns));
  for (let pass = 0; pass < passes; pass++) {
    for (let j = 0; j < rows; j++) {
      const o = j * columns;
      for (let i = 0; i < columns; i++) line[i] = image[o + i] ?? 0;
      for (let i = 0; i < columns; i++)
        image[o + i] =
          ((line[Math.max(i - 1, 0)] ?? 0) + 2 * (line[i] ?? 0) + (line[Math.min(i + 1, columns - 1)] ?? 0)) /
          4;
    }
    for (let i = 0; i < columns; i++) {
      for (let j = 0; j < rows; j++) line[j] = image[j * columns + i] ?? 0;
      for (let j = 0; j < rows; j++)
        image[j * columns + i] =
          ((line[Math.max(j - 1, 0)] ?? 0) + 2 * (line[j] ?? 0) + (line[Math.min(j + 1, rows - 1)] ?? 0)) / 4;
    }
  }
}

/**
 * Roughly normal noise (mean 0, sd 1): the two 16-bit halves of one draw summed give a triangular
 * variate, plenty for images and one PRNG step per sample.
 */
export function normalNoise(seed: number): () => number {
  const next = mulberry32(seed);
  return () => {
    const t = next();
    return ((t & 0xffff) + (t >>> 16) - 65535) * (2.449 / 65536);
  };
}

export type NoiseModel =
  /** Magnitude of complex Gaussian noise: Rician, so air is not zero (MR). */
  | { kind: 'rician'; sd: number }
  /** Additive Gaussian noise (CT, in HU). */
  | { kind: 'gaussian'; sd: number }
  /** Counting noise whose spread grows with the square root of the value (PET). */
  | { kind: 'poisson'; scale: number };

export function addNoise(image: Float32Array, model: NoiseModel, normal: () => number): void {
  const n = image.length;
  if (model.kind === 'rician') {
    const sd = model.sd;
    for (let i = 0; i < n; i++) {
      const re = (image[i] ?? 0) + sd * normal();
      const im = sd * normal();
      image[i] = Math.sqrt(re * re + im * im);
    }
  } else if (model.kind === 'gaussian') {
    for (let i = 0; i < n; i++) image[i] = (image[i] ?? 0) + model.sd * normal();
  } else {
    for (let i = 0; i < n; i++) {
      const v = image[i] ?? 0;
      image[i] = Math.max(0, v + Math.sqrt(v * model.scale) * normal());
    }
  }
}

/** What can go wrong in an acquisition, as the demo archive's QC notes describe it. */
export type Artefact =
  /** Head motion: ghosts of the head along the phase-encode direction, from volume `fromVolume` on. */
  | { kind: 'motion'; severity: number; fromVolume: number }
  /** A spike in k-space: herringbone striping over slices `from`..`to` (0-based). */
  | { kind: 'spike'; from: number; to: number }
  /** Field of view too small along phase-encode: the front of the head folds into the back. */
  | { kind: 'wrap' }
  /** Slices lost in transfer: these 0-based slice indices have no file. */
  | { kind: 'missing'; slices: readonly number[] };

/** Motion ghosts: faint copies displaced by a quarter and a half of the field of view along columns. */
export function ghost(image: Float32Array, rows: number, columns: number, amplitude: number): void {
  const source = Float32Array.from(image);
  for (const [shift, weight] of [
    [rows >> 2, amplitude],
    [rows - (rows >> 2), amplitude],
    [rows >> 1, amplitude / 2],
  ] as const) {
    for (let j = 0; j < rows; j++) {
      const from = ((j + shift) % rows) * columns;
      for (let i = 0; i < columns; i++)
        image[j * columns + i] = (image[j * columns + i] ?? 0) + weight * (source[from + i] ?? 0);
    }
  }
}

/** A k-space spike: a plane wave of `amplitude` added to the complex image, shown as magnitude. */
export function spike(image: Float32Array, rows: number, columns: number, amplitude: number): void {
  // A spike away from the k-space centre: stripes a few pixels apart, at an angle.
  const [u, v] = [0.09, 0.06];
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < columns; i++) {
      const phase = 2 * Math.PI * (u * i + v * j);
      const re = (image[j * columns + i] ?? 0) + amplitude * Math.cos(phase);
      const im = amplitude * Math.sin(phase);
      image[j * columns + i] = Math.sqrt(re * re + im * im);
    }
  }
}
