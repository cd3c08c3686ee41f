/**
 * Running searches through XNAT's own search engine, never row by row: a page is one cached search
 * (`POST /data/search?cache=true&limit=N`, then `GET /data/search/{ID}?offset&limit`), a whole
 * answer is one streamed CSV (`POST /data/search?format=csv`), read row by row without holding it.
 * A search is a built `xdat:bundle` or a saved search, whose stored document is posted as is.
 */
import { createRequire } from 'node:module';
import type { XMLParser } from 'fast-xml-parser';
import { XnatBadRequestError, XnatNotFoundError } from './errors.js';
import { xnatPath, type RequestContext } from './http.js';
import { csvRecords } from './csv.js';
import { checkPaging } from './listings.js';
import type { SavedSearch, SearchResult } from './models.js';
import { getBody, readTable, withHint } from './reads.js';
import { parseTable, toSavedSearch, toSearchResult } from './rows.js';
import { buildSearchXml, type SearchQuery } from './search.js';

/** What to run: a search built here, or a saved search by ID (`@<xsiType>` is a type's default listing). */
export type SearchSpec = SearchQuery | { savedSearch: string };

export interface SearchOrder {
  /** A result column key (`label`, `xnat_subjectdata_subject_label`). */
  sortBy?: string | undefined;
  sortOrder?: 'ASC' | 'DESC' | undefined;
}

export interface SearchPageRequest extends SearchOrder {
  limit: number;
  offset: number;
  /** The `ID` of an earlier page's cached search: later pages read it instead of searching again. */
  cacheId?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** A page of a cached search; `cacheId` pages on through XNAT's cached result. */
export type SearchPage = SearchResult & { cacheId: string | undefined };

const isSaved = (spec: SearchSpec): spec is { savedSearch: string } => 'savedSearch' in spec;

export async function savedSearches(ctx: RequestContext, signal?: AbortSignal): Promise<SavedSearch[]> {
  const table = await readTable(ctx, xnatPath('data', 'search', 'saved'), {}, signal);
  return table.rows.map(toSavedSearch);
}

let parser: XMLParser | undefined;

/** The parser of stored search documents, loaded on first use (a short cold start, as search.ts's builder). */
function documentParser(): XMLParser {
  if (parser !== undefined) return parser;
  const { XMLParser } = createRequire(import.meta.url)('fast-xml-parser') as typeof import('fast-xml-parser');
  parser = new XMLParser({
    ignoreAttributes: true,
    removeNSPrefix: true,
    parseTagValue: false,
    isArray: (name) => name === 'search_field',
  });
  return parser;
}

/**
 * The columns of a type's default listing (`@<xsiType>`, the listing XNAT's UI shows), as
 * `<element>.<field ID>`; undefined when XNAT knows no default listing for the type.
 */
export async function defaultListingFields(
  ctx: RequestContext,
  xsiType: string,
  signal?: AbortSignal,
): Promise<string[] | undefined> {
  let xml: string;
  try {
    xml = await searchDocument(ctx, { savedSearch: `@${xsiType}` }, signal);
  } catch (err) {
    if (err instanceof XnatNotFoundError) return undefined;
    throw err;
  }
  const parsed = documentParser().parse(xml) as Record<string, { search_field?: unknown[] } | undefined>;
  const fields = (parsed.stored_search ?? parsed.bundle)?.search_field ?? [];
  const ids = fields.flatMap((f) => {
    const { element_name: element, field_ID: id } = (f ?? {}) as {
      element_name?: unknown;
      field_ID?: unknown;
    };
    return typeof element === 'string' && typeof id === 'string' ? [`${element.trim()}.${id.trim()}`] : [];
  });
  return ids.length > 0 ? ids : undefined;
}

/** The search document to post: built, or the saved search's stored document (one GET). */
async function searchDocument(ctx: RequestContext, spec: SearchSpec, signal?: AbortSignal): Promise<string> {
  if (!isSaved(spec)) return buildSearchXml(spec);
  if (spec.savedSearch.trim() === '') throw new XnatBadRequestError('A saved search ID must not be empty');
  try {
    return await getBody(ctx, {
      path: xnatPath('data', 'search', 'saved', spec.savedSearch),
      query: { format: 'xml' },
      expect: 'text',
      signal,
    });
  } catch (err) {
    throw withHint(err, `No saved search "${spec.savedSearch}" you may use (list them with savedSearches())`);
  }
}

const XML_HEADERS = { 'content-type': 'text/xml; charset=utf-8' };

function orderQuery(order: SearchOrder): Record<string, string | undefined> {
  if (order.sortBy !== undefined && !/^[A-Za-z0-9_]+$/.test(order.sortBy)) {
    throw new XnatBadRequestError(
      `sortBy must be a result column key such as "label" (got "${order.sortBy}")`,
    );
  }
  return {
    sortBy: order.sortBy,
    sortOrder: order.sortBy === undefined ? undefined : (order.sortOrder ?? 'ASC'),
  };
}

/**
 * One page of a search: the first page posts the search with `cache=true` (XNAT keeps the answer
 * as a per-user view and returns its ID and the full count); later pages read that view. A view
 * that expired (410) is searched again once. `search` may be a function, called only when the
 * search has to be posted.
 */
export async function searchPage(
  ctx: RequestContext,
  search: SearchSpec | (() => Promise<SearchSpec>),
  req: SearchPageRequest,
): Promise<SearchPage> {
  const { limit, offset } = checkPaging({ limit: req.limit, offset: req.offset });
  if (req.cacheId !== undefined) {
    try {
      return await cachedPage(ctx, req.cacheId, '', { ...req, limit, offset });
    } catch (err) {
      if (!(err instanceof XnatNotFoundError)) throw err;
    }
  }
  // Only a first page, or a page whose cached search expired, needs the search itself.
  const spec = typeof search === 'function' ? await search() : search;
  const root = isSaved(spec) ? '' : spec.rootElement;
  const path = xnatPath('data', 'search');
  const body = await searchDocument(ctx, spec, req.signal);
  const response = await ctx.request({
    method: 'POST',
    path,
    query: { format: 'json', cache: 'true', limit: offset + limit, ...orderQuery(req) },
    headers: XML_HEADERS,
    body,
    expect: 'json',
    signal: req.signal,
  });
  const table = parseTable(response.body, { method: 'POST', path });
  const cacheId = typeof table.id === 'string' && table.id !== '' ? table.id : undefined;
  const result = toSearchResult(table, root);
  if (offset === 0 || cacheId === undefined) {
    return { ...result, rows: result.rows.slice(offset, offset + limit), cacheId };
  }
  return cachedPage(ctx, cacheId, result.rootElement, { ...req, limit, offset });
}

async function cachedPage(
  ctx: RequestContext,
  cacheId: string,
  root: string,
  req: SearchPageRequest,
): Promise<SearchPage> {
  const table = await readTable(
    ctx,
    xnatPath('data', 'search', cacheId),
    { offset: req.offset, limit: req.limit, ...orderQuery(req) },
    req.signal,
  );
  return { ...toSearchResult(table, root), cacheId };
}

/** The columns of a streamed search, then its rows; `rows` is read once. */
export interface SearchStream {
  columns: string[];
  rows: AsyncGenerator<Record<string, string>>;
}

/** Runs a search once, streaming its CSV answer: constant memory whatever the row count. */
export async function streamSearch(
  ctx: RequestContext,
  spec: SearchSpec,
  opts: SearchOrder & { signal?: AbortSignal | undefined } = {},
): Promise<SearchStream> {
  const path = xnatPath('data', 'search');
  const body = await searchDocument(ctx, spec, opts.signal);
  const response = await ctx.request({
    method: 'POST',
    path,
    query: { format: 'csv', ...orderQuery(opts) },
    headers: XML_HEADERS,
    body,
    expect: 'text',
    streamResponse: true,
    signal: opts.signal,
  });
  const stream = response.stream;
  const records = csvRecords(stream ?? response.body);
  const header = await records.next();
  const columns = header.done ? [] : header.value;
  async function* rows(): AsyncGenerator<Record<string, string>> {
    try {
      for await (const record of records) {
        if (record.length === 1 && record[0] === '') continue;
        const row: Record<string, string> = {};
        columns.forEach((column, i) => (row[column] = record[i] ?? ''));
        yield row;
      }
    } finally {
      stream?.destroy();
    }
  }
  return { columns, rows: rows() };
}
