/**
 * XNAT's XFTTable and its representations: every `/data` listing (and search result) is built as a
 * Table and rendered here as JSON (`ResultSet` envelope, all cells strings), CSV, XML or HTML.
 * `sortBy`/`sortOrder` re-sort the returned rows here, as `SecureResource#representTable` does.
 */
import { escapeHtml } from './pages.js';
import { textReply, type Reply, type RequestContext } from './reply.js';
import { SandboxHttpError } from './errors.js';

export interface Table {
  columns: string[];
  rows: Array<Record<string, string>>;
  /** ResultSet siblings of `Result` (`title`, `totalRecords`, `rootElementName`, `ID`), in order. */
  params?: Record<string, string>;
  /** JSON `Columns` metadata (file listings, search results). */
  columnMeta?: Array<Record<string, string>>;
}

export type TableFormat = 'json' | 'xml' | 'csv' | 'html';

/** `format=` values (short names or the media types `MediaType.valueOf` would read) with their own table representation. */
const TABLE_FORMATS: Record<string, TableFormat> = {
  json: 'json',
  'application/json': 'json',
  xml: 'xml',
  'text/xml': 'xml',
  csv: 'csv',
  'text/csv': 'csv',
  'application/vnd.ms-excel': 'csv',
};

/**
 * Listings default to JSON (list resources register JSON first). Any other requested format (`txt`,
 * `html`, `xList`, an unknown media type) falls through `SecureResource#representTable` to the
 * HTML table, served as text/html.
 */
export function tableFormat(ctx: RequestContext): TableFormat {
  const format = ctx.query.get('format');
  // An empty value names no media type, so negotiation picks JSON as with no format at all.
  if (format === null || format === '') return 'json';
  return TABLE_FORMATS[format.toLowerCase()] ?? 'html';
}

function compareCells(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortRows(
  rows: Array<Record<string, string>>,
  sortBy: string | null,
  sortOrder: string | null,
): void {
  if (!sortBy) return;
  const keys = sortBy.split(',').filter((k) => k !== '');
  const direction = sortOrder?.toUpperCase() === 'DESC' ? -1 : 1;
  rows.sort((r1, r2) => {
    for (const key of keys) {
      const order = compareCells(r1[key] ?? '', r2[key] ?? '');
      if (order !== 0) return order * direction;
    }
    return 0;
  });
}

function csvCell(value: string): string {
  const flat = value.replace(/\r\n|\r|\n/g, ' ');
  return /[",]/.test(flat) ? `"${flat.replaceAll('"', '""')}"` : flat;
}

function xmlText(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function xmlAttr(value: string): string {
  return xmlText(value).replaceAll('"', '&quot;');
}

export function renderTable(table: Table, format: TableFormat): Reply {
  const params = table.params ?? {};
  switch (format) {
    case 'csv': {
      const lines = [table.columns.map(csvCell).join(',')];
      for (const row of table.rows) lines.push(table.columns.map((c) => csvCell(row[c] ?? '')).join(','));
      return textReply(200, lines.map((l) => `${l}\n`).join(''), 'text/csv;charset=UTF-8');
    }
    case 'xml': {
      const attrs = Object.entries(params)
        .filter(([k]) => k !== 'title')
        .map(([k, v]) => ` ${k}="${xmlAttr(v)}"`)
        .join('');
      const title = params.title === undefined ? '' : ` title="${xmlAttr(params.title)}"`;
      const columns = table.columns.map((c) => `<column>${xmlText(c)}</column>`).join('');
      const rows = table.rows
        .map(
          (row) => `<row>${table.columns.map((c) => `<cell>${xmlText(row[c] ?? '')}</cell>`).join('')}</row>`,
        )
        .join('\n');
      const body =
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<ResultSet xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"${attrs}><results${title}>` +
        `<columns>${columns}</columns><rows>${rows}</rows></results></ResultSet>`;
      return textReply(200, body, 'text/xml;charset=UTF-8');
    }
    case 'html': {
      const head = table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
      const body = table.rows
        .map((row) => `<tr>${table.columns.map((c) => `<td>${escapeHtml(row[c] ?? '')}</td>`).join('')}</tr>`)
        .join('\n');
      const html =
        `<html><head><title>${escapeHtml(params.title ?? 'Results')}</title></head><body>` +
        `<table class="x_rs_t" cellpadding="0" cellspacing="0"><thead class="x_rs_thead"><tr>${head}</tr></thead>` +
        `<tbody id="dataRows">${body}</tbody></table></body></html>`;
      return textReply(200, html, 'text/html;charset=UTF-8');
    }
    case 'json': {
      const resultSet: Record<string, unknown> = {};
      if (table.columnMeta) resultSet.Columns = table.columnMeta;
      resultSet.Result = table.rows.map((row) =>
        Object.fromEntries(table.columns.map((c) => [c, row[c] ?? ''])),
      );
      Object.assign(resultSet, params);
      return textReply(200, JSON.stringify({ ResultSet: resultSet }), 'application/json;charset=UTF-8');
    }
  }
}

/** Sort as requested and render in the requested format: the one way a handler answers with a table. */
export function tableReply(ctx: RequestContext, table: Table): Reply {
  sortRows(table.rows, ctx.query.get('sortBy'), ctx.query.get('sortOrder'));
  return renderTable(table, tableFormat(ctx));
}

/** `limit`/`offset` as XNAT's `buildOffsetFromParams` reads them; undefined when no paging was asked for. */
export function pagingOf(ctx: RequestContext): { offset: number; limit: number } | undefined {
  const limitParam = ctx.query.get('limit');
  const offsetParam = ctx.query.get('offset');
  if (limitParam === null && offsetParam === null) return undefined;
  const parse = (value: string | null, fallback: number, name: string): number => {
    if (value === null || value === '') return fallback;
    if (value === '*') return Number.POSITIVE_INFINITY;
    if (!/^\d+$/.test(value)) throw new SandboxHttpError(400, `Invalid ${name} value: ${value}`);
    return Number(value);
  };
  return { offset: parse(offsetParam, 0, 'offset'), limit: parse(limitParam, 100, 'limit') };
}
