/**
 * XNAT's QueryOrganizerResource for the sandbox: turns `columns=`, `xsiType=`, shortcut/xpath filters
 * and `limit`/`offset` into a Table, the way ProjectListResource, ProjectSubjectList,
 * SubjectListResource, ProjSubExptList, ExperimentListResource and ScanList do (§2.1–2.4).
 */
import type { RequestContext } from './reply.js';
import { pagingOf, type Table } from './table.js';
import { isSameType, isSubtype } from './types.js';

export type FieldKind = 'string' | 'date' | 'timestamp' | 'number';

export interface Field<R> {
  /** Output column name: the shortcut name, or the lower-cased xpath for xpath columns. */
  key: string;
  /** Canonical xpath (`xnat:experimentData/label`); an xpath column equal to it is keyed by the shortcut. */
  xpath: string;
  kind: FieldKind;
  get: (row: R) => string;
  /** For a field of a one-to-many part of the record: which join, and which cell of its entries. */
  join?: { of: Join<R>; cell: number } | undefined;
}

/**
 * A one-to-many part of a record (custom variables, project aliases): XNAT's query joins its table,
 * so a listing with a column on it has one row per entry (and one row with empty cells when none).
 */
export interface Join<R> {
  id: string;
  entries: (row: R) => string[][];
}

export interface QuerySpec<R> {
  /** Root element when no `xsiType=` or sub-type xpath narrows it. */
  defaultRoot: string;
  shortcuts: Array<Field<R>>;
  /** Default column keys for the (possibly narrowed by `xsiType=`) root type. */
  defaultColumns: (root: string) => string[];
  /** The root's primary key: XNAT's QueryOrganizer selects it first, whatever `columns=` says. */
  primaryKey: (root: string) => Field<R>;
  /** Columns XNAT adds after the requested ones (the security columns of abstract roots). */
  addedColumns: (root: string) => Array<Field<R>>;
  /** A field for a relative path of the record (`label`, `scanner/manufacturer`, `fields/field[name=x]/field`). */
  resolvePath: (relativePath: string) => ((row: R) => string) | undefined;
  isA: (row: R, type: string) => boolean;
  uri: (row: R) => string;
  /** Custom variables of a row: `<type>/fields/field/field` and `/name` columns list one row per variable. */
  customFields?: (row: R) => Record<string, string>;
  /** Subject and experiment listings page in SQL; the others ignore limit/offset. */
  pageable: boolean;
}

const RESERVED_PARAMS = new Set([
  'format',
  'columns',
  'xsiType',
  'limit',
  'offset',
  'sortBy',
  'sortOrder',
  'XNAT_CSRF',
  'all',
  'accept-not-found',
  'requested_screen',
]);

/** `MM/DD/YYYY` → `YYYY-MM-DD`; anything else (including ISO dates) is not a date for XNAT's REST filters. */
function usDate(value: string): string | undefined {
  const match = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/.exec(value);
  if (!match) return undefined;
  const [, month = '', day = '', year = ''] = match;
  return `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}`;
}

function likeToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replaceAll('*', '%')
    .split('%')
    .map((part) => part.replace(/[.+?^${}()|[\]\\_]/g, (c) => (c === '_' ? '.' : `\\${c}`)))
    .join('.*');
  return new RegExp(`^${escaped}$`, 's');
}

/** One filter value against one cell, typed by the field as `QueryOrganizerResource#processQueryCriteria` does. */
export function matchesFilter(kind: FieldKind, cell: string, value: string): boolean {
  if (kind === 'date' || kind === 'timestamp') {
    const day = cell.slice(0, 10);
    // Ranges split on the first '-', so an ISO value is misread exactly as XNAT misreads it.
    const dash = value.indexOf('-');
    if (dash >= 0) {
      const from = usDate(value.slice(0, dash));
      const to = usDate(value.slice(dash + 1));
      return from !== undefined && to !== undefined && day !== '' && day >= from && day <= to;
    }
    return value.split(',').some((v) => usDate(v) === day);
  }
  if (kind === 'number') {
    const n = Number(cell);
    if (cell === '' || !Number.isFinite(n)) return false;
    const range = /^\s*(-?[\d.]+)\s*-\s*(-?[\d.]+)\s*$/.exec(value);
    if (range) return n >= Number(range[1]) && n <= Number(range[2]);
    return value.split(',').some((v) => Number(v) === n);
  }
  return value
    .split(',')
    .some((v) => (v.includes('*') || v.includes('%') ? likeToRegExp(v).test(cell) : cell === v));
}

/** A row as the query sees it: with the entry of each joined one-to-many part (a SQL join). */
interface Joined<R> {
  row: R;
  entries: Map<string, string[] | undefined>;
}

interface Column<R> {
  key: string;
  kind: FieldKind;
  get: (joined: Joined<R>) => string;
  join: Join<R> | undefined;
}

function column<R>(field: Field<R>): Column<R> {
  const join = field.join;
  if (join) {
    return {
      key: field.key,
      kind: field.kind,
      get: (j) => j.entries.get(join.of.id)?.[join.cell] ?? '',
      join: join.of,
    };
  }
  return { key: field.key, kind: field.kind, get: (j) => field.get(j.row), join: undefined };
}

const VARIABLE_PATH = /^fields\/field\/(field|name)$/i;

function typeOfXpath(xpath: string): string {
  return xpath.slice(0, xpath.indexOf('/'));
}

/** A column or filter named by an xpath: keyed by the shortcut whose xpath it is, else by the lower-cased xpath. */
function xpathColumn<R>(spec: QuerySpec<R>, xpath: string): Column<R> {
  const shortcut = spec.shortcuts.find((f) => f.xpath.toLowerCase() === xpath.toLowerCase());
  if (shortcut) return column(shortcut);
  const relative = xpath.slice(xpath.indexOf('/') + 1);
  const variable = VARIABLE_PATH.exec(relative)?.[1]?.toLowerCase();
  const customFields = spec.customFields;
  if (variable !== undefined && customFields) {
    const of: Join<R> = { id: 'fields', entries: (row) => Object.entries(customFields(row)) };
    return column({
      key: xpath.toLowerCase(),
      xpath,
      kind: 'string',
      get: () => '',
      join: { of, cell: variable === 'name' ? 0 : 1 },
    });
  }
  const get = spec.resolvePath(relative) ?? (() => '');
  const kind: FieldKind = /(^|\/)(date|dob|insert_date|last_modified)$/i.test(relative) ? 'date' : 'string';
  return { key: xpath.toLowerCase(), kind, get: (j) => get(j.row), join: undefined };
}

function shortcut<R>(spec: QuerySpec<R>, name: string): Field<R> | undefined {
  return (
    spec.shortcuts.find((f) => f.key === name) ??
    spec.shortcuts.find((f) => f.key.toLowerCase() === name.toLowerCase())
  );
}

/** Runs a listing query over candidate rows (already scoped by project and permissions). */
export function runQuery<R>(ctx: RequestContext, spec: QuerySpec<R>, candidates: R[]): Table {
  const xsiTypeParam = ctx.query.get('xsiType');
  let root = xsiTypeParam && !xsiTypeParam.includes(',') ? xsiTypeParam : spec.defaultRoot;
  const defaultsRoot = root;
  const narrow = (xpath: string): void => {
    const type = typeOfXpath(xpath);
    if (isSubtype(type, root)) root = type;
  };

  const columnsParam = ctx.query.get('columns');
  const columns: Array<Column<R>> = [];
  if (columnsParam && columnsParam !== 'DEFAULT') {
    for (const name of columnsParam.split(',').map((n) => n.trim())) {
      if (name === '') continue;
      if (name.includes('/')) {
        columns.push(xpathColumn(spec, name));
        narrow(name);
      } else {
        const field = shortcut(spec, name);
        // Unknown bare names are dropped, as XNAT only logs them.
        if (field) columns.push(column(field));
      }
    }
  } else {
    for (const name of spec.defaultColumns(defaultsRoot)) {
      const field = shortcut(spec, name);
      if (field) columns.push(column(field));
    }
  }

  const criteria: Array<{ column: Column<R>; value: string }> = [];
  for (const [name, value] of ctx.query) {
    if (RESERVED_PARAMS.has(name)) continue;
    if (name.includes('/')) {
      criteria.push({ column: xpathColumn(spec, name), value });
      narrow(name);
    } else {
      const field = spec.shortcuts.find((f) => f.key === name);
      if (field) criteria.push({ column: column(field), value });
    }
  }

  columns.unshift(column(spec.primaryKey(root)));
  columns.push(...spec.addedColumns(root).map(column));
  columns.push(column({ key: 'URI', xpath: '', kind: 'string', get: spec.uri }));
  const unique = columns.filter((c, index) => columns.findIndex((other) => other.key === c.key) === index);

  const joins = new Map<string, Join<R>>();
  for (const c of [...unique, ...criteria.map((c) => c.column)]) if (c.join) joins.set(c.join.id, c.join);
  const joined = (row: R): Array<Joined<R>> => {
    let out: Array<Joined<R>> = [{ row, entries: new Map() }];
    for (const join of joins.values()) {
      const entries = join.entries(row);
      // A left join: rows without entries still appear once, with empty cells.
      const each: Array<string[] | undefined> = entries.length > 0 ? entries : [undefined];
      out = out.flatMap((j) =>
        each.map((entry) => ({ row, entries: new Map(j.entries).set(join.id, entry) })),
      );
    }
    return out;
  };
  let rows = candidates
    .filter((row) => isSameType(root, spec.defaultRoot) || spec.isA(row, root))
    .flatMap(joined)
    .filter((j) => criteria.every((c) => matchesFilter(c.column.kind, c.column.get(j), c.value)));
  const paging = spec.pageable ? pagingOf(ctx) : undefined;
  if (paging) rows = rows.slice(paging.offset, paging.offset + paging.limit);

  return {
    columns: unique.map((c) => c.key),
    rows: rows.map((j) => Object.fromEntries(unique.map((c) => [c.key, c.get(j)]))),
    // Paged listings omit totalRecords: XNAT has no total to report then.
    params: paging ? {} : { totalRecords: String(rows.length) },
  };
}
