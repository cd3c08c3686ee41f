/**
 * Lossless encoders for DICOM encapsulated pixel data, 16-bit greyscale: RLE Lossless (PS3.5 annex
 * G: PackBits per byte plane) and JPEG Lossless process 14, selection value 1 (ITU T.81 annex H:
 * predict from the left neighbour, Huffman-code the differences with a table built for the image).
 */

/** PackBits one row of bytes onto `out`: literal runs `n-1, bytes`, repeats `257-n, byte`. */
function packBits(row: Uint8Array, out: number[]): void {
  let i = 0;
  while (i < row.length) {
    let run = 1;
    while (i + run < row.length && run < 128 && row[i + run] === row[i]) run++;
    if (run >= 2) {
      out.push(257 - run, row[i] ?? 0);
      i += run;
      continue;
    }
    const start = i;
    // A literal run ends where a repeat of at least two starts (or at 128 bytes).
    while (i < row.length && i - start < 128 && !(i + 1 < row.length && row[i + 1] === row[i])) i++;
    if (i === start) i++;
    out.push(i - start - 1);
    for (let k = start; k < i; k++) out.push(row[k] ?? 0);
  }
}

/** One RLE frame of 16-bit pixels: a 64-byte header, then the high-byte and low-byte segments. */
export function rleEncode(pixels: Uint16Array, rows: number, columns: number): Buffer {
  const segments: Buffer[] = [];
  for (const shift of [8, 0]) {
    const out: number[] = [];
    const row = new Uint8Array(columns);
    for (let j = 0; j < rows; j++) {
      for (let i = 0; i < columns; i++) row[i] = ((pixels[j * columns + i] ?? 0) >> shift) & 0xff;
      packBits(row, out);
    }
    if (out.length % 2) out.push(0);
    segments.push(Buffer.from(out));
  }
  const header = Buffer.alloc(64);
  header.writeUInt32LE(segments.length, 0);
  let offset = 64;
  segments.forEach((segment, n) => {
    header.writeUInt32LE(offset, 4 + n * 4);
    offset += segment.length;
  });
  return Buffer.concat([header, ...segments]);
}

/** Huffman code lengths (≤ 16 bits) for symbols with these counts, per T.81 annex K.2. */
function codeLengths(counts: number[]): number[] {
  const freq = [...counts, 1]; // The extra symbol reserves the all-ones code.
  const size = freq.map(() => 0);
  const others = freq.map(() => -1);
  for (;;) {
    let v1 = -1;
    let v2 = -1;
    for (let i = 0; i < freq.length; i++) {
      const f = freq[i] ?? 0;
      if (f === 0) continue;
      if (v1 < 0 || f <= (freq[v1] ?? 0)) {
        v2 = v1;
        v1 = i;
      } else if (v2 < 0 || f <= (freq[v2] ?? 0)) v2 = i;
    }
    if (v2 < 0) break;
    freq[v1] = (freq[v1] ?? 0) + (freq[v2] ?? 0);
    freq[v2] = 0;
    for (let k = v1; ; k = others[k] ?? -1) {
      size[k] = (size[k] ?? 0) + 1;
      if ((others[k] ?? -1) < 0) {
        others[k] = v2;
        break;
      }
    }
    for (let k = v2; k >= 0; k = others[k] ?? -1) size[k] = (size[k] ?? 0) + 1;
  }
  // Count codes per length, then move any longer than 16 bits up (annex K.3's adjustment).
  const bits = new Array<number>(33).fill(0);
  for (const s of size) if (s > 0) bits[s] = (bits[s] ?? 0) + 1;
  for (let i = 32; i > 16; i--) {
    while ((bits[i] ?? 0) > 0) {
      let j = i - 2;
      while ((bits[j] ?? 0) === 0) j--;
      bits[i] = (bits[i] ?? 0) - 2;
      bits[i - 1] = (bits[i - 1] ?? 0) + 1;
      bits[j + 1] = (bits[j + 1] ?? 0) + 2;
      bits[j] = (bits[j] ?? 0) - 1;
    }
  }
  let longest = 16;
  while ((bits[longest] ?? 0) === 0) longest--;
  bits[longest] = (bits[longest] ?? 0) - 1; // Drop the reserved symbol.
  // Hand the lengths back to the real symbols, most frequent first.
  const order = counts
    .map((count, symbol) => ({ count, symbol }))
    .filter((s) => s.count > 0)
    .sort((a, b) => b.count - a.count || a.symbol - b.symbol);
  const lengths = counts.map(() => 0);
  let length = 1;
  for (const { symbol } of order) {
    while ((bits[length] ?? 0) === 0) length++;
    lengths[symbol] = length;
    bits[length] = (bits[length] ?? 0) - 1;
  }
  return lengths;
}

/** Bits written MSB first, with a zero byte stuffed after every 0xFF (T.81 F.1.2.3). */
class BitWriter {
  private out: Uint8Array;
  private length = 0;
  private acc = 0;
  private count = 0;

  constructor(capacity: number) {
    this.out = new Uint8Array(capacity);
  }

  /** Appends the low `length` (≤ 16) bits of `value`. */
  write(value: number, length: number): void {
    this.acc = (this.acc << length) | (value & ((1 << length) - 1));
    this.count += length;
    while (this.count >= 8) {
      this.count -= 8;
      const byte = (this.acc >>> this.count) & 0xff;
      this.push(byte);
      if (byte === 0xff) this.push(0);
    }
    this.acc &= (1 << this.count) - 1;
  }

  private push(byte: number): void {
    if (this.length === this.out.length) {
      const grown = new Uint8Array(this.out.length * 2);
      grown.set(this.out);
      this.out = grown;
    }
    this.out[this.length++] = byte;
  }

  finish(): Buffer {
    if (this.count > 0) this.write((1 << (8 - this.count)) - 1, 8 - this.count); // pad with ones
    return Buffer.from(this.out.buffer, 0, this.length);
  }
}

const segment = (marker: number, body: number[]): Buffer =>
  Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body]);

/** A JPEG Lossless (process 14, predictor 1) image of `precision`-bit samples. */
export function jpegLosslessEncode(
  pixels: Uint16Array,
  rows: number,
  columns: number,
  precision: number,
): Buffer {
  const differences = new Int32Array(rows * columns);
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < columns; i++) {
      const at = j * columns + i;
      // First pixel: 2^(P-1); first column: the pixel above; everything else: the pixel to the left.
      const predictor =
        i > 0 ? (pixels[at - 1] ?? 0) : j > 0 ? (pixels[at - columns] ?? 0) : 1 << (precision - 1);
      // Differences are taken modulo 2^16 (H.1.2.1), here kept in -32767..32768.
      let diff = ((pixels[at] ?? 0) - predictor) & 0xffff;
      if (diff > 0x8000) diff -= 0x10000;
      differences[at] = diff;
    }
  }
  const category = (d: number) => (d === 0 ? 0 : 32 - Math.clz32(Math.abs(d)));
  const counts = new Array<number>(17).fill(0);
  for (const d of differences) counts[category(d)] = (counts[category(d)] ?? 0) + 1;
  const lengths = codeLengths(counts);
  // Canonical codes: by length, then symbol.
  const symbols = lengths
    .map((length, symbol) => ({ length, symbol }))
    .filter((s) => s.length > 0)
    .sort((a, b) => a.length - b.length || a.symbol - b.symbol);
  const codes = new Array<number>(17).fill(0);
  let code = 0;
  let previous = symbols[0]?.length ?? 1;
  for (const { length, symbol } of symbols) {
    code <<= length - previous;
    previous = length;
    codes[symbol] = code++;
  }
  const writer = new BitWriter(rows * columns * 2 + 64);
  for (const d of differences) {
    const ssss = category(d);
    writer.write(codes[ssss] ?? 0, lengths[ssss] ?? 0);
    // 16 carries no extra bits; negative differences are written as d - 1 in ssss bits.
    if (ssss > 0 && ssss < 16) writer.write((d > 0 ? d : d - 1) & ((1 << ssss) - 1), ssss);
  }
  const bitsPerLength = Array.from(
    { length: 16 },
    (_, n) => symbols.filter((s) => s.length === n + 1).length,
  );
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xc3, [precision, rows >> 8, rows & 0xff, columns >> 8, columns & 0xff, 1, 1, 0x11, 0]),
    segment(0xc4, [0x00, ...bitsPerLength, ...symbols.map((s) => s.symbol)]),
    segment(0xda, [1, 1, 0x00, 1, 0, 0]),
    writer.finish(),
    Buffer.from([0xff, 0xd9]),
  ]);
}
