/**
 * XNAT's CSV tables (`format=csv`: `XFTTable#toCSV`), read as they arrive. XNAT writes a header row
 * of column names, then one line per row ending in `\n`; a cell is quoted only when it holds a comma
 * or a quote (Apache `escapeCsv`, quotes doubled), and line breaks inside values are written as
 * spaces. Older XNATs quote every string. The reader also takes what RFC 4180 allows beyond that
 * (line breaks inside quoted cells, CRLF), so any well-formed CSV reads whole.
 */
import type { Readable } from 'node:stream';

const QUOTE = 34;
const COMMA = 44;
const NEWLINE = 10;

/**
 * A push parser: text in, complete records out. Lines without a quote (nearly all of XNAT's) are
 * split as they are; a quoted line is scanned cell by cell, and waits for more text while a quoted
 * cell is open.
 */
export class CsvParser {
  private carry = '';

  /** The records completed by `text`; an unfinished last record waits for the next push. */
  push(text: string, records: string[][] = []): string[][] {
    const buf = this.carry === '' ? text : this.carry + text;
    let pos = 0;
    // The next quote at or after pos (searched again only once passed: a line-by-line search
    // would rescan a quote-free buffer to its end for every line).
    let quote = -1;
    for (;;) {
      const nl = buf.indexOf('\n', pos);
      if (nl < 0) break;
      if (quote < pos) {
        const q = buf.indexOf('"', pos);
        quote = q < 0 ? Infinity : q;
      }
      if (quote > nl) {
        const end = nl > pos && buf.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        if (end > pos) records.push(buf.slice(pos, end).split(','));
        pos = nl + 1;
        continue;
      }
      const next = quotedRecord(buf, pos, records);
      if (next < 0) break;
      pos = next;
    }
    this.carry = pos === 0 ? buf : buf.slice(pos);
    return records;
  }

  /** The last record when the text did not end with a line break. */
  end(): string[][] {
    if (this.carry === '') return [];
    const records = this.push('\n');
    this.carry = '';
    return records;
  }
}

/**
 * One record starting at `start` that holds a quote; returns the index after its line break, or -1
 * when `buf` ends before the record does (more text is needed).
 */
function quotedRecord(buf: string, start: number, records: string[][]): number {
  const cells: string[] = [];
  let i = start;
  for (;;) {
    let value = '';
    if (buf.charCodeAt(i) === QUOTE) {
      i++;
      for (;;) {
        const q = buf.indexOf('"', i);
        // The closing quote, and the character after it, must be here to know a doubled quote.
        if (q < 0 || q + 1 >= buf.length) return -1;
        value += buf.slice(i, q);
        i = q + 1;
        if (buf.charCodeAt(i) !== QUOTE) break;
        value += '"';
        i++;
      }
    }
    // Unquoted text (or anything after a closing quote) runs to the next comma or line break.
    let stop = i;
    for (; stop < buf.length; stop++) {
      const c = buf.charCodeAt(stop);
      if (c === COMMA || c === NEWLINE) break;
    }
    if (stop >= buf.length) return -1;
    value += buf.slice(
      i,
      buf.charCodeAt(stop - 1) === 13 && buf.charCodeAt(stop) === NEWLINE ? stop - 1 : stop,
    );
    cells.push(value);
    i = stop + 1;
    if (buf.charCodeAt(stop) === NEWLINE) {
      records.push(cells);
      return i;
    }
  }
}

/**
 * The records of a CSV stream, a batch per chunk (bytes are decoded as UTF-8 across chunk
 * boundaries). Blank lines are skipped.
 */
export async function* csvBatches(
  source: Readable | AsyncIterable<unknown> | string,
): AsyncGenerator<string[][]> {
  const parser = new CsvParser();
  if (typeof source === 'string') {
    yield [...parser.push(source), ...parser.end()];
    return;
  }
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of source) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk as Uint8Array, { stream: true });
    const records = parser.push(text);
    if (records.length > 0) yield records;
  }
  const records = parser.push(decoder.decode());
  records.push(...parser.end());
  if (records.length > 0) yield records;
}

/** The records of a CSV stream one by one (see csvBatches). */
export async function* csvRecords(
  source: Readable | AsyncIterable<unknown> | string,
): AsyncGenerator<string[]> {
  for await (const batch of csvBatches(source)) yield* batch;
}
