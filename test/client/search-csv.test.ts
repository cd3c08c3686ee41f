/** The streamed CSV reader of search answers and listings: RFC 4180 quoting across chunk boundaries. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { csvRecords } from '../../src/client/csv.js';

async function records(chunks: string[]): Promise<string[][]> {
  const out: string[][] = [];
  const stream = Readable.from(chunks.map((c) => Buffer.from(c)));
  stream.setEncoding('utf8');
  for await (const record of csvRecords(stream)) out.push(record);
  return out;
}

describe('csvRecords', () => {
  it('reads quoted commas, doubled quotes, line breaks in cells and CRLF, split anywhere', async () => {
    const text = 'label,note\r\nS1,"a, b"\r\nS2,"say ""hi"""\nS3,"two\nlines"\nS4,\n';
    const expected = [
      ['label', 'note'],
      ['S1', 'a, b'],
      ['S2', 'say "hi"'],
      ['S3', 'two\nlines'],
      ['S4', ''],
    ];
    expect(await records([text])).toEqual(expected);
    // Every split point, including inside quotes and between \r and \n.
    for (let i = 1; i < text.length; i++) {
      expect(await records([text.slice(0, i), text.slice(i)])).toEqual(expected);
    }
  });

  it('keeps multi-byte characters whole across chunks and reads a last line without a newline', async () => {
    const bytes = Buffer.from('label\nMüller-Ø\nZ');
    const stream = Readable.from([bytes.subarray(0, 8), bytes.subarray(8)]);
    stream.setEncoding('utf8');
    const out: string[][] = [];
    for await (const record of csvRecords(stream)) out.push(record);
    expect(out).toEqual([['label'], ['Müller-Ø'], ['Z']]);
  });

  it('decodes UTF-8 bytes split anywhere, as an HTTP body arrives (no stream encoding set)', async () => {
    const text = 'ID,label\nE1,"Müller, ""Ø"" 日本"\nE2,naïve\n';
    const expected = [
      ['ID', 'label'],
      ['E1', 'Müller, "Ø" 日本'],
      ['E2', 'naïve'],
    ];
    const bytes = Buffer.from(text);
    for (let i = 1; i < bytes.length; i++) {
      const out: string[][] = [];
      for await (const record of csvRecords(Readable.from([bytes.subarray(0, i), bytes.subarray(i)]))) {
        out.push(record);
      }
      expect(out).toEqual(expected);
    }
  });

  it('skips blank lines and keeps empty cells, first and last', async () => {
    expect(await records(['a,b,c\n\n,x,\n\r\n"",,""\n'])).toEqual([
      ['a', 'b', 'c'],
      ['', 'x', ''],
      ['', '', ''],
    ]);
  });
});
