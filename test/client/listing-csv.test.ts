/**
 * Large listings read as CSV (iterateExperiments) give what the JSON listing gives, over the
 * sandbox's `format=csv` (XNAT's XFTTable#toCSV: quoted when needed, line breaks written as spaces).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/client.js';
import { XnatProtocolError } from '../../src/client/errors.js';
import type { Experiment } from '../../src/client/models.js';
import { checkCsvHeader, csvRows, EXPERIMENT_CSV_COLUMNS } from '../../src/client/rows-csv.js';
import type { Row } from '../../src/client/rows.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { generateArchive } from '../../src/sandbox/testing.js';

const ODD_LABELS = [
  'with, comma',
  'say "hi"',
  '"quoted, all"',
  'two\nlines',
  'crlf\r\nend',
  'Müller-Ø 日本 ✓',
  ',',
  '""',
  'trailing,',
];

let sandbox: RunningSandbox;
let client: XnatClient;

beforeAll(async () => {
  const archive = generateArchive({ experiments: 250, project: 'ODD' });
  const experiments = [...archive.experiments.values()];
  ODD_LABELS.forEach((label, i) => {
    experiments[i * 20]!.label = label;
  });
  // A subject label (subject_label column) and an empty date.
  const subject = archive.subjects.get(experiments[1]!.subjectId)!;
  subject.label = 'Sübject, "one"';
  experiments[3]!.date = '';
  sandbox = await startSandbox({ archive });
  client = new XnatClient({ url: sandbox.url, user: 'alice', password: 'alice123' });
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
});

describe('experiment listings read as CSV', () => {
  it('match the JSON listing row for row, with commas, quotes and non-ASCII kept', async () => {
    const viaCsv: Experiment[] = [];
    // Pages of 60: records cross pages and the page boundary logic runs on CSV pages.
    for await (const e of client.iterateExperiments({ project: 'ODD', pageSize: 60 })) viaCsv.push(e);
    const viaJson = (await client.listExperiments({ project: 'ODD', limit: 1000 })).items;
    expect(viaJson).toHaveLength(250);
    const jsonLabels = viaJson.map((e) => e.label);
    for (const label of ODD_LABELS) expect(jsonLabels).toContain(label);
    expect(viaJson.some((e) => e.subjectLabel === 'Sübject, "one"')).toBe(true);
    expect(viaJson.some((e) => e.date === '')).toBe(true);
    // XNAT's CSV writes a line break inside a value as a space (labels cannot hold one in XNAT).
    const flattened = viaJson.map((e) => ({ ...e, label: e.label.replace(/\r\n|\r|\n/g, ' ') }));
    expect(viaCsv).toEqual(flattened);
    expect(viaCsv.filter((e, i) => e.label !== viaJson[i]!.label).map((e) => e.label)).toEqual([
      'two lines',
      'crlf end',
    ]);
  });
});

describe('CSV listing shape', () => {
  const edge = { method: 'GET', path: '/data/projects/P/experiments' };
  const header = 'ID,label,project,xsiType,date,subject_ID,subject_label,insert_date,URI'.split(',');

  it('accepts the columns XNAT names and refuses a header without a used column', () => {
    expect(() => checkCsvHeader(header, EXPERIMENT_CSV_COLUMNS, edge)).not.toThrow();
    const typed = ['xnat:mrsessiondata/id', ...header.slice(1)];
    expect(() => checkCsvHeader(typed, EXPERIMENT_CSV_COLUMNS, edge)).not.toThrow();
    const without = header.filter((c) => c !== 'subject_label' && c !== 'ID');
    expect(() => checkCsvHeader(without, EXPERIMENT_CSV_COLUMNS, edge)).toThrow(
      /CSV listing without the column\(s\) ID, subject_label/,
    );
    expect(() => checkCsvHeader(['<html><body>Login</body></html>'], EXPERIMENT_CSV_COLUMNS, edge)).toThrow(
      XnatProtocolError,
    );
  });

  it('refuses a record whose cell count differs from the header', () => {
    const rows: Row[] = csvRows(['ID', 'label'], [['E1', 'a']], 0, edge);
    expect(rows).toEqual([{ ID: 'E1', label: 'a' }]);
    expect(() =>
      csvRows(
        ['ID', 'label'],
        [
          ['E2', 'a'],
          ['E3', 'a', 'b'],
        ],
        1,
        edge,
      ),
    ).toThrow(/row 3 has 3 cells for 2 columns/);
  });
});
