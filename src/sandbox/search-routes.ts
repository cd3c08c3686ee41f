/**
 * The search endpoints (§6): `POST /data/search` with an `xdat:bundle` document, cached searches
 * paged by `GET /data/search/{ID}`, saved searches under `/data/search/saved`, and the searchable
 * element/field listings. The search engine itself lives in search.ts; this module only speaks
 * HTTP (and loads the engine on first use, so the rest of the sandbox starts without it).
 */

const engine = () => import('./search.js');
import { SandboxHttpError } from './errors.js';
import { emptyReply, textReply, type AuthedContext, type Reply } from './reply.js';
import {
  SAVED_SEARCH_COLUMNS,
  deleteSavedSearch as deleteStored,
  putSavedSearch as putStored,
  readableSavedSearch,
  savedSearchRows,
  savedSearchXml,
} from './saved-searches.js';
import type { SearchResult } from './search.js';
import { renderTable, sortRows, tableFormat, tableReply } from './table.js';

/** The bundle XML: the raw body, or the `.xml` part of a multipart upload. */
function bundleOf(contentType: string, body: Buffer): string {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!/multipart\//i.test(contentType) || !boundary) return body.toString('utf8');
  const parts = body
    .toString('utf8')
    .split(`--${boundary}`)
    .slice(1)
    .filter((part) => !part.startsWith('--'))
    .map((part) => {
      const split = part.indexOf('\r\n\r\n');
      return { headers: part.slice(0, split), content: part.slice(split + 4).replace(/\r\n$/, '') };
    });
  const xmlPart =
    parts.find((p) => /filename="[^"]*\.xml"/i.test(p.headers)) ??
    parts.find((p) => /content-type:\s*[^\r\n]*xml/i.test(p.headers)) ??
    parts[0];
  return xmlPart?.content ?? '';
}

export async function postSearch(ctx: AuthedContext): Promise<Reply> {
  const body = await ctx.body();
  const xml = bundleOf(ctx.headers['content-type'] ?? '', body);
  if (xml.trim() === '') throw new SandboxHttpError(422, 'Unable to parse the search document: empty body.');
  const { runSearch } = await engine();
  return searchResultReply(
    ctx,
    runSearch(ctx.state.archive, ctx.user, xml),
    ctx.query.get('cache') === 'true',
  );
}

/** A search result table as SearchResource and SavedSearchResource represent it (optionally cached for paging). */
function searchResultReply(ctx: AuthedContext, table: SearchResult, cache: boolean): Reply {
  const columns = table.columns.map((c) => c.key ?? '');
  sortRows(table.rows, ctx.query.get('sortBy'), ctx.query.get('sortOrder'));
  const params: Record<string, string> = {
    rootElementName: table.rootElementName,
    totalRecords: String(table.rows.length),
  };
  let rows = table.rows;
  if (cache) {
    const id = `xs${ctx.state.startedAt}_${ctx.state.nextSearchId++}`;
    ctx.state.searches.set(id, { login: ctx.user.login, ...table });
    params.ID = id;
    const limit = Number(ctx.query.get('limit'));
    if (Number.isInteger(limit) && limit > 0) rows = rows.slice(0, limit);
  }
  return renderTable({ columns, rows, columnMeta: table.columns, params }, tableFormat(ctx));
}

function numberParam(ctx: AuthedContext, name: string, fallback: number): number {
  const value = ctx.query.get(name);
  if (value === null || value === '') return fallback;
  if (!/^\d+$/.test(value)) throw new SandboxHttpError(422, `Invalid ${name}: ${value}`);
  return Number(value);
}

export function getCachedSearch(ctx: AuthedContext): Reply {
  const id = ctx.params.searchId ?? '';
  const cached = ctx.state.searches.get(id);
  if (!cached || cached.login !== ctx.user.login) {
    throw new SandboxHttpError(410, `The search ${id} has expired or does not exist.`);
  }
  const offset = numberParam(ctx, 'offset', 0);
  const limit = numberParam(ctx, 'limit', cached.rows.length);
  const columns = cached.columns.map((c) => c.key ?? '');
  const sortBy = ctx.query.get('sortBy');
  if (sortBy && sortBy.split(',').some((key) => !columns.includes(key))) {
    throw new SandboxHttpError(422, `Invalid sortBy: ${sortBy}`);
  }
  const sorted = [...cached.rows];
  sortRows(sorted, sortBy, ctx.query.get('sortOrder'));
  return renderTable(
    {
      columns,
      rows: sorted.slice(offset, offset + limit),
      columnMeta: cached.columns,
      params: { rootElementName: cached.rootElementName, totalRecords: String(cached.rows.length) },
    },
    tableFormat(ctx),
  );
}

export async function listSearchElements(ctx: AuthedContext): Promise<Reply> {
  const { searchElementRows } = await engine();
  const rows = searchElementRows(ctx.state.archive, ctx.user);
  return tableReply(ctx, {
    columns: ['ELEMENT_NAME', 'SINGULAR', 'PLURAL', 'SECURED', 'COUNT'],
    rows,
    params: { totalRecords: String(rows.length) },
  });
}

export async function listSearchFields(ctx: AuthedContext): Promise<Reply> {
  const type = ctx.params.type ?? '';
  const { searchFieldRows } = await engine();
  const rows = searchFieldRows(ctx.state.archive, ctx.user, type);
  if (!rows) throw new SandboxHttpError(404, `Unknown element: ${type}`);
  return tableReply(ctx, {
    columns: ['FIELD_ID', 'HEADER', 'SUMMARY', 'TYPE', 'REQUIRES_VALUE', 'DESC', 'ELEMENT_NAME', 'SRC'],
    rows,
    params: { totalRecords: String(rows.length) },
  });
}

export function listSavedSearches(ctx: AuthedContext): Reply {
  const rows = savedSearchRows(ctx.state.archive, ctx.user, ctx.query);
  return tableReply(ctx, { columns: SAVED_SEARCH_COLUMNS, rows, params: { title: 'Stored Searches' } });
}

/** `GET /data/search/saved/{id}` (the document) and `.../{id}/results` (run it), like SavedSearchResource. */
export async function getSavedSearch(ctx: AuthedContext): Promise<Reply> {
  const id = ctx.params.searchId ?? '';
  // `@<type>` is the type's default listing: only the query permission applies to it.
  const search = id.startsWith('@')
    ? (await import('./search-defaults.js')).builtInSearch(id)
    : readableSavedSearch(ctx.state.archive, ctx.user, id);
  const { canQueryElement, executeSearch } = await engine();
  if (!canQueryElement(ctx.state.archive, ctx.user, search.rootElementName)) {
    throw new SandboxHttpError(
      403,
      `The user ${ctx.user.login} has no permission to query ${search.rootElementName}.`,
    );
  }
  if (ctx.rest[0]?.startsWith('results')) {
    return searchResultReply(ctx, executeSearch(ctx.state.archive, ctx.user, search), false);
  }
  if (ctx.rest.length > 0)
    throw new SandboxHttpError(404, `Unknown resource below the stored search ${search.id}.`);
  return textReply(200, savedSearchXml(search), 'text/xml;charset=UTF-8');
}

export async function putSavedSearch(ctx: AuthedContext): Promise<Reply> {
  const body = (await ctx.body()).toString('utf8');
  const { canQueryElement } = await engine();
  putStored(
    ctx.state.archive,
    ctx.user,
    ctx.params.searchId ?? '',
    body,
    ctx.query.get('saveAs') === 'true',
    (root) => canQueryElement(ctx.state.archive, ctx.user, root),
  );
  return emptyReply();
}

export function deleteSavedSearch(ctx: AuthedContext): Reply {
  deleteStored(ctx.state.archive, ctx.user, ctx.params.searchId ?? '');
  return emptyReply();
}
