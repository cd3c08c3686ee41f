/**
 * Listings of projects, subjects and experiments: one request per page (never one per object),
 * only the columns the models need, exact totals when they come free or are asked for.
 */
import { XnatBadRequestError } from './errors.js';
import { xnatPath, type QueryValue, type RequestContext } from './http.js';
import type { Experiment, Page, Project, Subject } from './models.js';
import { readCsvListing, readTable } from './reads.js';
import { EXPERIMENT_CSV_COLUMNS } from './rows-csv.js';
import { toExperiment, toProject, toSubject, toXnatDate, type Row } from './rows.js';

export interface PageRequest {
  limit?: number;
  offset?: number;
  signal?: AbortSignal;
  /** The `total` of an earlier page of the same listing: saves recounting. */
  knownTotal?: number;
  /**
   * Count every match when the page alone does not tell the total (one extra unpaged one-column
   * request, whose cost grows with the archive). Without it `total` is set only when known for free.
   */
  count?: boolean;
}

export interface SubjectQuery {
  project?: string;
  /** `*` wildcards allowed. */
  label?: string;
  gender?: string;
  group?: string;
  /** Raw XNAT shortcut or xpath filters (`{ 'xnat:subjectData/src': 'X' }`). */
  filters?: Record<string, string>;
}

export interface ExperimentQuery {
  project?: string;
  /** Accession ID, or a label within `project`. */
  subject?: string;
  xsiType?: string;
  /** `*` wildcards allowed. */
  label?: string;
  /** ISO `YYYY-MM-DD`, inclusive. */
  dateFrom?: string;
  dateTo?: string;
  modality?: string;
  filters?: Record<string, string>;
}

export const DEFAULT_PAGE_SIZE = 100;
const ITERATE_PAGE_SIZE = 50_000;
const SUBJECT_COLUMNS = 'ID,label,project,insert_date,gender,handedness,yob,age,group';
export const EXPERIMENT_COLUMNS = 'ID,label,project,xsiType,date,subject_ID,subject_label,insert_date';
/** Query parameters the client sets itself; raw filters may not override them. */
const RESERVED_PARAMS = new Set(['format', 'columns', 'limit', 'offset', 'sortBy', 'sortOrder']);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
/** XNAT's date filter only takes closed ranges (`a-b`); open ends get bounds no session predates/outlives. */
const EARLIEST_DATE = '01/01/1900';
const LATEST_DATE = '12/31/9999';

function checkDate(value: string | undefined, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!ISO_DATE.test(value) || Number.isNaN(Date.parse(value))) {
    throw new XnatBadRequestError(`${name} must be an ISO date YYYY-MM-DD (got "${value}")`);
  }
  return toXnatDate(value);
}

export function checkPaging(request: PageRequest): { limit: number; offset: number } {
  const limit = request.limit ?? DEFAULT_PAGE_SIZE;
  const offset = request.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1)
    throw new XnatBadRequestError(`limit must be a positive integer (got ${limit})`);
  if (!Number.isInteger(offset) || offset < 0) {
    throw new XnatBadRequestError(`offset must be a non-negative integer (got ${offset})`);
  }
  return { limit, offset };
}

function rawFilters(filters: Record<string, string> | undefined): Record<string, string> {
  for (const key of Object.keys(filters ?? {})) {
    if (RESERVED_PARAMS.has(key)) throw new XnatBadRequestError(`"${key}" cannot be used as a filter`);
  }
  return { ...filters };
}

export async function listProjects(ctx: RequestContext, signal?: AbortSignal): Promise<Project[]> {
  const table = await readTable(ctx, xnatPath('data', 'projects'), {}, signal);
  return table.rows.map(toProject);
}

export async function listSubjects(
  ctx: RequestContext,
  q: SubjectQuery & PageRequest = {},
): Promise<Page<Subject>> {
  const path = q.project ? xnatPath('data', 'projects', q.project, 'subjects') : xnatPath('data', 'subjects');
  const filters = { ...rawFilters(q.filters), label: q.label, gender: q.gender, group: q.group };
  return page(ctx, path, SUBJECT_COLUMNS, filters, q, (row) => toSubject(row, q.project));
}

export async function listExperiments(
  ctx: RequestContext,
  q: ExperimentQuery & PageRequest = {},
): Promise<Page<Experiment>> {
  const { path, filters } = experimentListing(q);
  return page(ctx, path, EXPERIMENT_COLUMNS, filters, q, (row) => toExperiment(row, q.project));
}

/** Every matching experiment, one request per page (no total is computed). */
export async function* iterateExperiments(
  ctx: RequestContext,
  q: ExperimentQuery & { pageSize?: number; signal?: AbortSignal } = {},
): AsyncIterable<Experiment> {
  const { path, filters } = experimentListing(q);
  // Large pages: each XNAT listing request has a fixed cost (a full query per page, about a fifth
  // of a whole 50,000-row listing on the sandbox). One row more than a page tells whether another
  // page follows, so a listing that ends on a page boundary needs no empty last request.
  const { limit } = checkPaging({ limit: q.pageSize ?? ITERATE_PAGE_SIZE });
  // Pages are read as CSV (half the bytes of JSON) and handed on as they arrive, so memory stays
  // flat whatever the page size; a consumer that stops early cancels the request.
  let firstId: string | undefined;
  for (let offset = 0; ; offset += limit) {
    const pages = readCsvListing(
      ctx,
      path,
      { ...filters, columns: EXPERIMENT_COLUMNS, limit: limit + 1, offset },
      q.signal,
      EXPERIMENT_CSV_COLUMNS,
    );
    // An XNAT that ignores limit/offset sends every row each time: a page longer than asked for is
    // the whole listing, and so is a later page starting with the first page's first row (then
    // what the earlier pages did not yield is its tail).
    let index = 0;
    let whole = false;
    let skip = 0;
    let lookahead: Experiment | undefined;
    for await (const table of pages) {
      // `totalRecords` (JSON answers only) comes with unpaged answers alone.
      if (table.totalRecords !== undefined) whole = true;
      for (const row of table.rows) {
        const experiment = toExperiment(row, q.project);
        if (index === 0) {
          if (offset > 0 && experiment.id === firstId) [whole, skip] = [true, offset];
          firstId ??= experiment.id;
        }
        if (index === limit) lookahead = experiment;
        else if (index > limit && !whole) {
          whole = true;
          if (lookahead !== undefined) yield lookahead;
        }
        if ((index < limit || whole) && index >= skip) yield experiment;
        index++;
      }
    }
    if (whole || index <= limit) return;
  }
}

/**
 * One page of a subject/experiment listing, one request: XNAT omits `totalRecords` when paging, and
 * counting every match costs a full unpaged listing, so the page asks for one row more than it
 * returns to learn whether more follow. The total is exact only when known for free (a short page,
 * an answer that carries `totalRecords`, `knownTotal`) or when `count` asks for it.
 */
async function page<T>(
  ctx: RequestContext,
  path: string,
  columns: string,
  filters: Record<string, QueryValue>,
  request: PageRequest,
  map: (row: Row) => T,
): Promise<Page<T>> {
  const { limit, offset } = checkPaging(request);
  const table = await readTable(ctx, path, { ...filters, columns, limit: limit + 1, offset }, request.signal);
  // XNAT sends `totalRecords` only for unpaged answers, so its presence (or a page longer than
  // asked for) means XNAT ignored limit/offset: page its full answer here.
  const unpaged = table.totalRecords !== undefined || table.rows.length > limit + 1;
  const rows = unpaged ? table.rows.slice(offset, offset + limit + 1) : table.rows;
  const more = rows.length > limit;
  const items = (more ? rows.slice(0, limit) : rows).map(map);
  const next = offset + items.length;
  let total: number | undefined;
  if (unpaged) total = table.rows.length;
  else if (!more && (items.length > 0 || offset === 0)) total = next;
  else if (request.knownTotal !== undefined) total = request.knownTotal;
  else if (request.count === true) total = await countRows(ctx, path, filters, request.signal);
  return { items, offset, ...(total !== undefined ? { total } : {}), ...(more ? { nextOffset: next } : {}) };
}

/** The exact number of matches: a one-column unpaged listing (costly on large archives; asked for only). */
async function countRows(
  ctx: RequestContext,
  path: string,
  filters: Record<string, QueryValue>,
  signal: AbortSignal | undefined,
): Promise<number> {
  const table = await readTable(ctx, path, { ...filters, columns: 'ID' }, signal);
  return table.totalRecords ?? table.rows.length;
}

function experimentListing(q: ExperimentQuery): { path: string; filters: Record<string, QueryValue> } {
  const from = checkDate(q.dateFrom, 'dateFrom');
  const to = checkDate(q.dateTo, 'dateTo');
  const filters: Record<string, QueryValue> = {
    ...rawFilters(q.filters),
    label: q.label,
    xsiType: q.xsiType,
    modality: q.modality,
    ...(from || to ? { date: `${from ?? EARLIEST_DATE}-${to ?? LATEST_DATE}` } : {}),
  };
  if (q.project && q.subject) {
    return { path: xnatPath('data', 'projects', q.project, 'subjects', q.subject, 'experiments'), filters };
  }
  if (q.project) return { path: xnatPath('data', 'projects', q.project, 'experiments'), filters };
  // Site-wide, a subject can only be named by its accession ID.
  return { path: xnatPath('data', 'experiments'), filters: { ...filters, subject_ID: q.subject } };
}
