/**
 * From the headers of a series' files to its volumes of ordered slices: frames are sorted by
 * position along the slice normal (ImagePositionPatient · (row × column direction)), then by
 * InstanceNumber, never by file name. 4-D series split into volumes by TemporalPositionIdentifier,
 * else by repeated positions; a Siemens mosaic file is one volume whose tiles are its slices.
 */
import type { DicomHeader } from './dicom-header.js';

/** One 2-D image: a frame of a file, or a tile of a mosaic frame. */
export interface SliceRef {
  file: number;
  frame: number;
  /** Mosaic tile index (row-major), when the frame is a mosaic. */
  tile?: number;
}

export interface Volume {
  slices: SliceRef[];
}

export interface MosaicLayout {
  /** Tiles per side of the mosaic grid. */
  grid: number;
  tileRows: number;
  tileColumns: number;
  count: number;
}

/** The mosaic layout of a Siemens mosaic image, or undefined when it is not one. */
export function mosaicLayout(h: DicomHeader): MosaicLayout | undefined {
  if (!h.imageType.some((t) => t.toUpperCase() === 'MOSAIC')) return undefined;
  let count = h.mosaicImages;
  let tileRows: number | undefined;
  let tileColumns: number | undefined;
  const matrix = h.acquisitionMatrix?.filter((v) => v > 0);
  if (matrix && matrix.length >= 2) {
    // AcquisitionMatrix holds the frequency and phase encoding sizes: the tile's rows and columns.
    tileRows = Math.max(...matrix);
    tileColumns = tileRows;
  }
  if (count === undefined && tileRows !== undefined) {
    count = Math.floor(h.rows / tileRows) * Math.floor(h.columns / (tileColumns ?? tileRows));
  }
  if (count === undefined || count < 1) return undefined;
  const grid = Math.ceil(Math.sqrt(count));
  // The grid is square; the tiles fill it whatever the acquisition matrix says.
  return { grid, tileRows: Math.floor(h.rows / grid), tileColumns: Math.floor(h.columns / grid), count };
}

function normalOf(orientation: number[] | undefined): number[] | undefined {
  if (!orientation || orientation.length < 6) return undefined;
  const [a, b, c, d, e, f] = orientation as [number, number, number, number, number, number];
  return [b * f - c * e, c * d - a * f, a * e - b * d];
}

function along(h: DicomHeader, normal: number[] | undefined): number | undefined {
  if (!h.position || h.position.length < 3) return undefined;
  if (!normal) return h.position[2];
  return h.position[0]! * normal[0]! + h.position[1]! * normal[1]! + h.position[2]! * normal[2]!;
}

function compareOptional(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined) return 0;
  return a - b;
}

/** The volumes of a series, each with its slices in spatial order. `headers[i]` is file i's header. */
export function orderVolumes(headers: readonly DicomHeader[]): Volume[] {
  const mosaics = headers.map(mosaicLayout);
  if (mosaics.length > 0 && mosaics.every((m) => m !== undefined)) {
    // Each mosaic file is a time point; its tiles are already in slice order.
    const order = headers
      .map((h, file) => ({ h, file }))
      .sort(
        (x, y) =>
          compareOptional(x.h.acquisitionNumber, y.h.acquisitionNumber) ||
          compareOptional(x.h.instanceNumber, y.h.instanceNumber) ||
          x.file - y.file,
      );
    return order.map(({ file }) => ({
      slices: Array.from({ length: mosaics[file]!.count }, (_, tile) => ({ file, frame: 0, tile })),
    }));
  }
  const normal = normalOf(headers.find((h) => h.orientation)?.orientation);
  const entries = headers.map((h, file) => ({ h, file, at: along(h, normal) }));
  const temporal = new Set(headers.map((h) => h.temporalPosition).filter((t) => t !== undefined));
  const groups = new Map<number, typeof entries>();
  if (temporal.size > 1) {
    for (const e of entries) {
      const key = e.h.temporalPosition ?? 0;
      groups.set(key, [...(groups.get(key) ?? []), e]);
    }
  } else {
    // Without temporal positions, the n-th file at a position belongs to the n-th volume.
    const seen = new Map<string, number>();
    const byTime = [...entries].sort(
      (x, y) =>
        compareOptional(x.h.acquisitionNumber, y.h.acquisitionNumber) ||
        compareOptional(x.h.triggerTime, y.h.triggerTime) ||
        compareOptional(x.h.instanceNumber, y.h.instanceNumber) ||
        x.file - y.file,
    );
    for (const e of byTime) {
      const key = e.at === undefined ? `file${e.file}` : e.at.toFixed(3);
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      groups.set(n, [...(groups.get(n) ?? []), e]);
    }
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, members]) => ({
      slices: members
        .sort(
          (x, y) =>
            compareOptional(x.at, y.at) ||
            compareOptional(x.h.instanceNumber, y.h.instanceNumber) ||
            x.file - y.file,
        )
        .flatMap(({ file, h }) => Array.from({ length: h.frames }, (_, frame) => ({ file, frame }))),
    }));
}

/** `count` indices spread evenly over `0..total-1`, centred in their intervals (first and last included when count ≥ total). */
export function evenlySpaced(total: number, count: number): number[] {
  if (count >= total) return Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: count }, (_, i) =>
    Math.min(total - 1, Math.floor(((i + 0.5) * total) / count)),
  );
}
