/**
 * 8-bit rasters (grey or RGB) and what is done to them after decoding: cropping mosaic tiles,
 * area-average resizing, montage grids, and PNG encoding (zlib deflate, no dependency).
 */
import { crc32, deflateSync } from 'node:zlib';

export interface Raster {
  width: number;
  height: number;
  /** 1: grey, 3: RGB (interleaved). */
  channels: 1 | 3;
  data: Uint8Array;
}

export function blank(width: number, height: number, channels: 1 | 3): Raster {
  return { width, height, channels, data: new Uint8Array(width * height * channels) };
}

export function toRgb(r: Raster): Raster {
  if (r.channels === 3) return r;
  const out = blank(r.width, r.height, 3);
  for (let i = 0; i < r.data.length; i++) out.data.fill(r.data[i]!, i * 3, i * 3 + 3);
  return out;
}

export function crop(r: Raster, x0: number, y0: number, width: number, height: number): Raster {
  const out = blank(width, height, r.channels);
  const c = r.channels;
  for (let y = 0; y < height; y++) {
    const from = ((y0 + y) * r.width + x0) * c;
    out.data.set(r.data.subarray(from, from + width * c), y * width * c);
  }
  return out;
}

/** Resizes by averaging the source area under each output pixel (upscaling repeats pixels). */
export function resize(r: Raster, width: number, height: number): Raster {
  if (width === r.width && height === r.height) return r;
  const out = blank(width, height, r.channels);
  const c = r.channels;
  const sx = r.width / width;
  const sy = r.height / height;
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor(y * sy);
    const y1 = Math.max(y0 + 1, Math.min(r.height, Math.floor((y + 1) * sy)));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor(x * sx);
      const x1 = Math.max(x0 + 1, Math.min(r.width, Math.floor((x + 1) * sx)));
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let yy = y0; yy < y1; yy++) {
          for (let xx = x0; xx < x1; xx++) sum += r.data[(yy * r.width + xx) * c + k]!;
        }
        out.data[(y * width + x) * c + k] = Math.round(sum / ((y1 - y0) * (x1 - x0)));
      }
    }
  }
  return out;
}

/** Pastes `tiles` row by row into a grid of `columns` cells of `cellWidth`×`cellHeight`, each centred. */
export function grid(
  tiles: readonly Raster[],
  columns: number,
  cellWidth: number,
  cellHeight: number,
): Raster {
  const channels = tiles.some((t) => t.channels === 3) ? 3 : 1;
  const rows = Math.ceil(tiles.length / columns);
  const out = blank(columns * cellWidth, rows * cellHeight, channels);
  tiles.forEach((tile, i) => {
    const t = channels === 3 ? toRgb(tile) : tile;
    const left = (i % columns) * cellWidth + Math.floor((cellWidth - t.width) / 2);
    const top = Math.floor(i / columns) * cellHeight + Math.floor((cellHeight - t.height) / 2);
    for (let y = 0; y < t.height; y++) {
      out.data.set(
        t.data.subarray(y * t.width * channels, (y + 1) * t.width * channels),
        ((top + y) * out.width + left) * channels,
      );
    }
  });
  return out;
}

/** The size that fits `width`×`height` into `max` on its longest side, keeping the aspect. */
export function fitInside(width: number, height: number, max: number): { width: number; height: number } {
  const scale = Math.min(1, max / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** An 8-bit greyscale or truecolour PNG. */
export function encodePng(r: Raster): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(r.width, 0);
  ihdr.writeUInt32BE(r.height, 4);
  ihdr[8] = 8;
  ihdr[9] = r.channels === 3 ? 2 : 0;
  const stride = r.width * r.channels;
  const rows = Buffer.alloc((stride + 1) * r.height);
  for (let y = 0; y < r.height; y++) {
    // Filter "up" (2): medical images compress far better than unfiltered.
    rows[y * (stride + 1)] = 2;
    for (let i = 0; i < stride; i++) {
      const above = y > 0 ? r.data[(y - 1) * stride + i]! : 0;
      rows[y * (stride + 1) + 1 + i] = (r.data[y * stride + i]! - above) & 0xff;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
