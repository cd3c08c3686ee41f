/**
 * Reads DICOM Part 10 data sets for the sandbox's own services (the import service's header, the
 * dicomdump service): file meta information, then the data set in explicit or implicit VR little
 * endian, sequences of defined or undefined length with their items. Reading stops at a stop tag
 * (pixel data, like XNAT's StopTagInputHandler) or at the end of the bytes given, keeping what it read.
 */
import { dictionaryVr } from './dicom-dictionary.js';

export interface DicomElement {
  tag: number;
  vr: string;
  /** The value bytes (empty for sequences). */
  value: Buffer;
  /** Sequence items, each a list of elements. */
  items?: DicomElement[][];
}

const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT']);
const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;

class Truncated extends Error {}

class Reader {
  constructor(
    private readonly bytes: Buffer,
    public at: number,
    private explicit: boolean,
  ) {}

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  setExplicit(explicit: boolean): void {
    this.explicit = explicit;
  }

  private need(count: number): void {
    if (this.at + count > this.bytes.length) throw new Truncated();
  }

  peekTag(): number {
    this.need(4);
    return ((this.bytes.readUInt16LE(this.at) << 16) | this.bytes.readUInt16LE(this.at + 2)) >>> 0;
  }

  header(): { tag: number; vr: string; length: number } {
    const tag = this.peekTag();
    this.need(8);
    if (tag === ITEM || tag === ITEM_END || tag === SEQUENCE_END || !this.explicit) {
      const length = this.bytes.readUInt32LE(this.at + 4);
      this.at += 8;
      return { tag, vr: tag >>> 16 === 0xfffe ? '' : dictionaryVr(tag), length };
    }
    const vr = this.bytes.toString('latin1', this.at + 4, this.at + 6);
    if (LONG_VRS.has(vr)) {
      this.need(12);
      const length = this.bytes.readUInt32LE(this.at + 8);
      this.at += 12;
      return { tag, vr, length };
    }
    const length = this.bytes.readUInt16LE(this.at + 6);
    this.at += 8;
    return { tag, vr, length };
  }

  take(length: number): Buffer {
    this.need(length);
    const value = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }

  /** Elements up to `end` (an offset), a delimiter tag, the stop tag or the end of the bytes. */
  elements(out: DicomElement[], until: { end?: number; delimiter?: number; stop?: number }): void {
    while (!this.done && (until.end === undefined || this.at < until.end)) {
      if (until.stop !== undefined && this.peekTag() >= until.stop) return;
      const { tag, vr, length } = this.header();
      if (tag === until.delimiter) return;
      if (
        vr === 'SQ' ||
        (length === UNDEFINED_LENGTH && tag >>> 16 !== 0xfffe && vr !== 'OB' && vr !== 'OW')
      ) {
        const element: DicomElement = { tag, vr: 'SQ', value: Buffer.alloc(0), items: [] };
        out.push(element);
        this.items(element.items ?? [], length);
        continue;
      }
      if (length === UNDEFINED_LENGTH) throw new Truncated(); // encapsulated pixel data: nothing after it is read
      out.push({ tag, vr, value: this.take(length) });
    }
  }

  private items(items: DicomElement[][], length: number): void {
    const end = length === UNDEFINED_LENGTH ? undefined : this.at + length;
    while (!this.done && (end === undefined || this.at < end)) {
      const { tag, length: itemLength } = this.header();
      if (tag === SEQUENCE_END) return;
      if (tag !== ITEM) throw new Error('not a sequence item');
      const item: DicomElement[] = [];
      items.push(item);
      if (itemLength === UNDEFINED_LENGTH) this.elements(item, { delimiter: ITEM_END });
      else this.elements(item, { end: this.at + itemLength });
    }
  }
}

export interface DicomDataSet {
  /** File meta information (group 0002) followed by the data set, in file order. */
  elements: DicomElement[];
  /** The bytes ended before the stop tag. */
  truncated: boolean;
}

/** The elements of a DICOM Part 10 file before `stopTag`, or undefined when the bytes are not one. */
export function readDicom(bytes: Buffer, stopTag = 0x7fe00010): DicomDataSet | undefined {
  if (bytes.length < 132 || bytes.toString('latin1', 128, 132) !== 'DICM') return undefined;
  const elements: DicomElement[] = [];
  // File meta information is always explicit VR little endian.
  const reader = new Reader(bytes, 132, true);
  try {
    while (!reader.done && reader.peekTag() >>> 16 === 0x0002) {
      const { tag, vr, length } = reader.header();
      elements.push({ tag, vr, value: reader.take(length) });
    }
    const syntax = elements.find((e) => e.tag === 0x00020010);
    reader.setExplicit(syntax === undefined || textOf(syntax.value) !== IMPLICIT_VR_LITTLE_ENDIAN);
    reader.elements(elements, { stop: stopTag });
    return { elements, truncated: false };
  } catch (error) {
    if (error instanceof Truncated) return { elements, truncated: true };
    return undefined;
  }
}

/** A text value without its padding (trailing spaces and NULs). */
export function textOf(value: Buffer): string {
  return value.toString('utf8').replace(/[\0 ]+$/, '');
}
