/**
 * NIfTI-1 volumes (`.nii`, `.nii.gz`): the header (either byte order), scaling (scl_slope/inter)
 * and the voxels of one volume (time point) as 2-D slices along the third axis, shown with the
 * second axis upwards as viewers do. The file is read whole: NIfTI keeps a volume in one file.
 */
import { gunzipSync } from 'node:zlib';
import { XnatBadRequestError } from '../errors.js';
import type { Window } from './decode.js';
import type { Raster } from './raster.js';

export interface NiftiVolume {
  /** Voxels along i, j, k. */
  dims: [number, number, number];
  volumes: number;
  /** Voxel size along i, j, k (mm). */
  spacing: [number, number, number];
  datatype: string;
  /** Scaled voxel value of (i, j, k) in volume `t`. */
  value(i: number, j: number, k: number): number;
}

const TYPES: Record<
  number,
  { name: string; bytes: number; read: (b: Buffer, at: number, le: boolean) => number }
> = {
  2: { name: 'uint8', bytes: 1, read: (b, at) => b.readUInt8(at) },
  4: { name: 'int16', bytes: 2, read: (b, at, le) => (le ? b.readInt16LE(at) : b.readInt16BE(at)) },
  8: { name: 'int32', bytes: 4, read: (b, at, le) => (le ? b.readInt32LE(at) : b.readInt32BE(at)) },
  16: { name: 'float32', bytes: 4, read: (b, at, le) => (le ? b.readFloatLE(at) : b.readFloatBE(at)) },
  64: { name: 'float64', bytes: 8, read: (b, at, le) => (le ? b.readDoubleLE(at) : b.readDoubleBE(at)) },
  256: { name: 'int8', bytes: 1, read: (b, at) => b.readInt8(at) },
  512: { name: 'uint16', bytes: 2, read: (b, at, le) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at)) },
  768: { name: 'uint32', bytes: 4, read: (b, at, le) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at)) },
};

const MAX_VOXEL_BYTES = 2 * 1024 * 1024 * 1024;

export function readNifti(file: Buffer, what: string, volume: number): NiftiVolume {
  const bytes =
    file[0] === 0x1f && file[1] === 0x8b ? gunzipSync(file, { maxOutputLength: MAX_VOXEL_BYTES }) : file;
  if (bytes.length < 348) throw new XnatBadRequestError(`${what} is too short for a NIfTI-1 header`);
  const le = bytes.readInt32LE(0) === 348;
  if (!le && bytes.readInt32BE(0) !== 348) {
    throw new XnatBadRequestError(
      `${what} is not a NIfTI-1 file (NIfTI-2 and ANALYZE pairs are not read here)`,
    );
  }
  const i16 = (at: number): number => (le ? bytes.readInt16LE(at) : bytes.readInt16BE(at));
  const f32 = (at: number): number => (le ? bytes.readFloatLE(at) : bytes.readFloatBE(at));
  const rank = i16(40);
  const dim = (n: number): number => (n <= rank ? Math.max(1, i16(40 + 2 * n)) : 1);
  const dims: [number, number, number] = [dim(1), dim(2), dim(3)];
  const volumes = dim(4);
  const code = i16(70);
  const type = TYPES[code];
  if (!type)
    throw new XnatBadRequestError(
      `${what}: NIfTI datatype ${code} is not supported (integer and float voxels are)`,
    );
  if (volume >= volumes) {
    throw new XnatBadRequestError(
      `${what} has ${volumes} volume(s); pass volume between 0 and ${volumes - 1}`,
    );
  }
  const offset = Math.max(352, Math.floor(f32(108)));
  const slope = f32(112) || 1;
  const intercept = f32(116) || 0;
  const perVolume = dims[0] * dims[1] * dims[2];
  const base = offset + volume * perVolume * type.bytes;
  if (base + perVolume * type.bytes > bytes.length)
    throw new XnatBadRequestError(`${what} ends before its voxels do`);
  const spacing: [number, number, number] = [
    Math.abs(f32(80)) || 1,
    Math.abs(f32(84)) || 1,
    Math.abs(f32(88)) || 1,
  ];
  return {
    dims,
    volumes,
    spacing,
    datatype: type.name,
    value: (i, j, k) =>
      type.read(bytes, base + ((k * dims[1] + j) * dims[0] + i) * type.bytes, le) * slope + intercept,
  };
}

/** The 1st to 99th percentile of the volume's values: a window that ignores a few extreme voxels. */
export function autoWindow(v: NiftiVolume): Window {
  const [nx, ny, nz] = v.dims;
  const sample: number[] = [];
  const step = Math.max(1, Math.floor((nx * ny * nz) / 100_000));
  for (let n = 0; n < nx * ny * nz; n += step) {
    sample.push(v.value(n % nx, Math.floor(n / nx) % ny, Math.floor(n / (nx * ny))));
  }
  sample.sort((a, b) => a - b);
  const low = sample[Math.floor(sample.length * 0.01)] ?? 0;
  const high = sample[Math.floor(sample.length * 0.99)] ?? low + 1;
  return { center: (low + high) / 2, width: Math.max(high - low, 1e-6) };
}

/** One plane of the volume, windowed to grey: `axis` 2 is a slice, 1 a coronal and 0 a sagittal plane. */
export function plane(v: NiftiVolume, axis: 0 | 1 | 2, index: number, window: Window): Raster {
  const [nx, ny, nz] = v.dims;
  const [w, h] = axis === 2 ? [nx, ny] : axis === 1 ? [nx, nz] : [ny, nz];
  const data = new Uint8Array(w * h);
  const low = window.center - window.width / 2;
  for (let y = 0; y < h; y++) {
    // Second axis (j, or k in reformats) upwards, as NIfTI viewers show it.
    const up = h - 1 - y;
    for (let x = 0; x < w; x++) {
      const value =
        axis === 2 ? v.value(x, up, index) : axis === 1 ? v.value(x, index, up) : v.value(index, x, up);
      data[y * w + x] = Math.max(0, Math.min(255, Math.round(((value - low) / window.width) * 255)));
    }
  }
  return { width: w, height: h, channels: 1, data };
}
