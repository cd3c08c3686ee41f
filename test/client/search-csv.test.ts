/** The streamed CSV reader of search answers: RFC 4180 quoting across chunk boundaries. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { csvRecords } from '../../src/client/search-runs.js';

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
});
