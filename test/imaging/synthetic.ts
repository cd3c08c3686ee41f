/**
 * Small synthetic DICOM series for the imaging tests (explicit VR little endian, 16-bit): slice k of
 * volume t has the value 100 + 10·k + 300·t, sits at z = 2·k mm, carries a descending
 * InstanceNumber and a file name unrelated to either, so only ordering by position gets k right.
 */
import { createHash } from 'node:crypto';

function element(group: number, elem: number, vr: string, value: Buffer): Buffer {
  const padded =
    value.length % 2 === 0 ? value : Buffer.concat([value, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(padded.length, 8);
  else head.writeUInt16LE(padded.length, 6);
  return Buffer.concat([head, padded]);
}

const str = (s: string): Buffer => Buffer.from(s, 'latin1');
const us = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n, 0);
  return b;
};

export function syntheticSlice(o: {
  size: number;
  k: number;
  t: number;
  instance: number;
  volumes: number;
}): Buffer {
  const value = 100 + 10 * o.k + 300 * o.t;
  const pixels = Buffer.alloc(o.size * o.size * 2);
  for (let i = 0; i < o.size * o.size; i++) pixels.writeUInt16LE(value + (i % o.size === 0 ? 1 : 0), i * 2);
  const uid = `1.2.826.0.1.3680043.10.1455.9.${o.t}.${o.k}`;
  const meta = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', str('1.2.840.10008.5.1.4.1.1.4')),
    element(0x0002, 0x0003, 'UI', str(uid)),
    element(0x0002, 0x0010, 'UI', str('1.2.840.10008.1.2.1')),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(meta.length, 0);
  const dataset = [
    element(0x0008, 0x0016, 'UI', str('1.2.840.10008.5.1.4.1.1.4')),
    element(0x0008, 0x0018, 'UI', str(uid)),
    element(0x0008, 0x0060, 'CS', str('MR')),
    element(0x0020, 0x000e, 'UI', str('1.2.826.0.1.3680043.10.1455.9')),
    element(0x0020, 0x0013, 'IS', str(String(o.instance))),
    element(0x0020, 0x0032, 'DS', str(`0\\0\\${2 * o.k}`)),
    element(0x0020, 0x0037, 'DS', str('1\\0\\0\\0\\1\\0')),
    ...(o.volumes > 1 ? [element(0x0020, 0x0100, 'IS', str(String(o.t + 1)))] : []),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0004, 'CS', str('MONOCHROME2')),
    element(0x0028, 0x0010, 'US', us(o.size)),
    element(0x0028, 0x0011, 'US', us(o.size)),
    element(0x0028, 0x0030, 'DS', str('1\\1')),
    element(0x0028, 0x0100, 'US', us(16)),
    element(0x0028, 0x0101, 'US', us(16)),
    element(0x0028, 0x0102, 'US', us(15)),
    element(0x0028, 0x0103, 'US', us(0)),
    element(0x0028, 0x1050, 'DS', str('2500')),
    element(0x0028, 0x1051, 'DS', str('5000')),
    element(0x7fe0, 0x0010, 'OW', pixels),
  ];
  return Buffer.concat([
    Buffer.alloc(128),
    str('DICM'),
    element(0x0002, 0x0000, 'UL', length),
    meta,
    ...dataset,
  ]);
}

/** `count` slices per volume; file names are hashes, instance numbers run against position. */
export function syntheticSeries(
  count: number,
  o: { size: number; volumes?: number },
): Record<string, Buffer> {
  const volumes = o.volumes ?? 1;
  const files: Record<string, Buffer> = {};
  for (let t = 0; t < volumes; t++) {
    for (let k = 0; k < count; k++) {
      const name = `${createHash('md5').update(`${t}/${k}`).digest('hex').slice(0, 10)}.dcm`;
      files[name] = syntheticSlice({
        size: o.size,
        k,
        t,
        instance: volumes * count - (t * count + k),
        volumes,
      });
    }
  }
  return files;
}

/**
 * A Siemens mosaic: `count` tiles of `tile`×`tile` pixels in a square grid (NumberOfImagesInMosaic
 * in the private SIEMENS MR HEADER block, AcquisitionMatrix as the tile size); tile k of time point t
 * has the value 100 + 10·k + 300·t.
 */
export function syntheticMosaic(o: { count: number; tile: number; t: number }): Buffer {
  const grid = Math.ceil(Math.sqrt(o.count));
  const size = grid * o.tile;
  const pixels = Buffer.alloc(size * size * 2);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const k = Math.floor(y / o.tile) * grid + Math.floor(x / o.tile);
      pixels.writeUInt16LE(k < o.count ? 100 + 10 * k + 300 * o.t : 0, (y * size + x) * 2);
    }
  }
  const uid = `1.2.826.0.1.3680043.10.1455.8.${o.t}`;
  const meta = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', str('1.2.840.10008.5.1.4.1.1.4')),
    element(0x0002, 0x0003, 'UI', str(uid)),
    element(0x0002, 0x0010, 'UI', str('1.2.840.10008.1.2.1')),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(meta.length, 0);
  const matrix = Buffer.alloc(8);
  matrix.writeUInt16LE(o.tile, 0);
  matrix.writeUInt16LE(o.tile, 6);
  const dataset = [
    element(0x0008, 0x0008, 'CS', str('ORIGINAL\\PRIMARY\\M\\ND\\MOSAIC')),
    element(0x0008, 0x0016, 'UI', str('1.2.840.10008.5.1.4.1.1.4')),
    element(0x0008, 0x0018, 'UI', str(uid)),
    element(0x0008, 0x0060, 'CS', str('MR')),
    element(0x0018, 0x1310, 'US', matrix),
    element(0x0019, 0x0010, 'LO', str('SIEMENS MR HEADER')),
    element(0x0019, 0x100a, 'US', us(o.count)),
    element(0x0020, 0x0012, 'IS', str(String(o.t + 1))),
    element(0x0020, 0x0013, 'IS', str(String(o.t + 1))),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0004, 'CS', str('MONOCHROME2')),
    element(0x0028, 0x0010, 'US', us(size)),
    element(0x0028, 0x0011, 'US', us(size)),
    element(0x0028, 0x0100, 'US', us(16)),
    element(0x0028, 0x0101, 'US', us(16)),
    element(0x0028, 0x0102, 'US', us(15)),
    element(0x0028, 0x0103, 'US', us(0)),
    element(0x7fe0, 0x0010, 'OW', pixels),
  ];
  return Buffer.concat([
    Buffer.alloc(128),
    str('DICM'),
    element(0x0002, 0x0000, 'UL', length),
    meta,
    ...dataset,
  ]);
}
