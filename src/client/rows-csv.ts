/**
 * Listing rows from XNAT's CSV tables (rows.ts's sibling: the same `Row`s its mappers take). The
 * shape is checked once, on the header row: the columns the model reads must be there; each record
 * must then have one cell per column.
 */
import { protocolError, type Edge, type Row } from './rows.js';

/**
 * Columns a mapper reads, each with the names XNAT may give it (as rows.ts's `cell` falls back).
 * An experiment's ID column is named after its type when not the shortcut (`xnat:mrsessiondata/id`).
 */
export const EXPERIMENT_CSV_COLUMNS: ReadonlyArray<readonly string[] | RegExp> = [
  /^(ID|id|[a-z_]+:[a-z]+\/id)$/i,
  ['label'],
  ['project'],
  ['xsiType', 'element_name'],
  ['date'],
  ['subject_ID', 'subject_id'],
  ['subject_label'],
  ['insert_date'],
];

/** Refuses a header row that lacks a column the model reads. */
export function checkCsvHeader(
  header: readonly string[],
  required: ReadonlyArray<readonly string[] | RegExp>,
  edge: Edge,
): void {
  const missing = required.filter((names) =>
    names instanceof RegExp ? !header.some((c) => names.test(c)) : !names.some((n) => header.includes(n)),
  );
  if (missing.length > 0) {
    const names = missing.map((n) => (n instanceof RegExp ? 'ID' : n[0])).join(', ');
    throw protocolError(
      edge,
      `a CSV listing without the column(s) ${names} (header: ${header.join(',').slice(0, 200)})`,
    );
  }
  if (new Set(header).size !== header.length) {
    throw protocolError(
      edge,
      `a CSV listing with repeated column names (header: ${header.join(',').slice(0, 200)})`,
    );
  }
}

/** The records of one batch as rows keyed by the header's column names; `before` rows came earlier. */
export function csvRows(
  header: readonly string[],
  records: readonly string[][],
  before: number,
  edge: Edge,
): Row[] {
  const width = header.length;
  const rows: Row[] = new Array<Row>(records.length);
  for (let r = 0; r < records.length; r++) {
    const record = records[r]!;
    if (record.length !== width) {
      throw protocolError(
        edge,
        `a CSV listing whose row ${before + r + 1} has ${record.length} cells for ${width} columns`,
      );
    }
    const row: Row = {};
    for (let i = 0; i < width; i++) row[header[i]!] = record[i]!;
    rows[r] = row;
  }
  return rows;
}
