/**
 * XNAT's search: the searchable data types and their display fields, and search documents, an
 * `xdat:bundle` (root element, display fields, nested criteria) POSTed to `/data/search?format=json`.
 * Built with fast-xml-parser so every value is escaped.
 */
import { createRequire } from 'node:module';
import type { XMLBuilder } from 'fast-xml-parser';
import { XnatBadRequestError } from './errors.js';
import { xnatPath, type RequestContext } from './http.js';
import { checkPaging, type PageRequest } from './listings.js';
import type { SearchElement, SearchField, SearchResult } from './models.js';
import { readTable, withHint } from './reads.js';
import { parseTable, toSearchElement, toSearchField, toSearchResult, toXnatDate } from './rows.js';
import { SEARCH_OPERATORS, type SearchOperator } from './vocabulary.js';

export { SEARCH_OPERATORS, type SearchOperator } from './vocabulary.js';

export interface SearchCriterion {
  /** An xpath (`xnat:mrSessionData/label`) or a display field (`xnat:mrSessionData.PROJECT`). */
  field: string;
  op: SearchOperator;
  value?: string;
}

export interface SearchCriteriaGroup {
  method: 'AND' | 'OR';
  criteria: Array<SearchCriterion | SearchCriteriaGroup>;
}

export interface SearchQuery {
  /** The searched data type, e.g. `xnat:mrSessionData`. */
  rootElement: string;
  /** Display fields to return (`fieldId` from `searchFields()`); `element` defaults to the root. */
  fields: Array<{ element?: string; fieldId: string; header?: string; type?: string }>;
  where?: SearchCriteriaGroup;
}

export const XDAT_NAMESPACE = 'http://nrg.wustl.edu/security';
const OPERATORS = new Set<string>(SEARCH_OPERATORS);
const XSI_TYPE = /^[A-Za-z][\w-]*:[A-Za-z][\w-]*$/;

type XmlNode = Record<string, unknown>;

function isGroup(entry: SearchCriterion | SearchCriteriaGroup): entry is SearchCriteriaGroup {
  return 'criteria' in entry;
}

/** LIKE takes `*` or `%` wildcards; without any, it means "contains". */
function likeValue(value: string): string {
  const converted = value.replace(/\*/g, '%');
  return converted.includes('%') ? converted : `%${converted}%`;
}

function criterionValue(criterion: SearchCriterion): string {
  const value = criterion.value ?? '';
  switch (criterion.op) {
    case 'LIKE':
      return likeValue(value);
    case 'BETWEEN': {
      const bounds = value.split(/\s+AND\s+/i);
      if (bounds.length !== 2 || bounds.some((bound) => bound.trim() === '')) {
        throw new XnatBadRequestError(
          `Search criterion on ${criterion.field}: BETWEEN needs a value like "2020-01-01 AND 2020-12-31"`,
        );
      }
      return bounds.map((bound) => toXnatDate(bound.trim())).join(' AND ');
    }
    case 'IN':
      return value
        .split(',')
        .map((item) => item.trim())
        .join(',');
    default:
      return toXnatDate(value);
  }
}

function criterionNode(criterion: SearchCriterion): XmlNode {
  if (!OPERATORS.has(criterion.op)) {
    throw new XnatBadRequestError(
      `Search criterion on ${criterion.field}: unknown operator "${criterion.op}" (use one of ${[...OPERATORS].join(', ')})`,
    );
  }
  if (!criterion.field.trim()) throw new XnatBadRequestError('Search criterion without a field');
  const nullCheck = criterion.op === 'IS NULL' || criterion.op === 'IS NOT NULL';
  if (!nullCheck && (criterion.value === undefined || criterion.value === '')) {
    throw new XnatBadRequestError(
      `Search criterion on ${criterion.field}: operator ${criterion.op} needs a value`,
    );
  }
  return {
    '@_override_value_formatting': '0',
    'xdat:schema_field': criterion.field,
    // XNAT's own bundles write LIKE with surrounding spaces; it is pasted into SQL as is.
    'xdat:comparison_type': criterion.op === 'LIKE' ? ' LIKE ' : criterion.op,
    'xdat:value': nullCheck ? '' : criterionValue(criterion),
  };
}

function groupNode(group: SearchCriteriaGroup): XmlNode {
  if (group.method !== 'AND' && group.method !== 'OR') {
    throw new XnatBadRequestError(
      `Search criteria group method must be AND or OR (got "${String(group.method)}")`,
    );
  }
  const criteria = group.criteria.filter((entry) => !isGroup(entry)) as SearchCriterion[];
  const childSets = group.criteria.filter(isGroup);
  return {
    '@_method': group.method,
    ...(criteria.length > 0 ? { 'xdat:criteria': criteria.map(criterionNode) } : {}),
    ...(childSets.length > 0 ? { 'xdat:child_set': childSets.map(groupNode) } : {}),
  };
}

let builder: XMLBuilder | undefined;

/** The XML builder, loaded on the first search (its package's one-file CommonJS build: a short cold start). */
function xmlBuilder(): XMLBuilder {
  if (builder !== undefined) return builder;
  const { XMLBuilder } = createRequire(import.meta.url)(
    'fast-xml-parser',
  ) as typeof import('fast-xml-parser');
  builder = new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    suppressEmptyNode: false,
    processEntities: true,
  });
  return builder;
}

/** Serializes a search as the `xdat:bundle` document XNAT's `/data/search` accepts. */
export function buildSearchXml(query: SearchQuery): string {
  if (!XSI_TYPE.test(query.rootElement)) {
    throw new XnatBadRequestError(
      `Search root element "${query.rootElement}" is not a data type name like xnat:mrSessionData (see searchElements())`,
    );
  }
  if (query.fields.length === 0) {
    throw new XnatBadRequestError(
      'A search needs at least one field (see searchFields(<type>) for field IDs)',
    );
  }
  const bundle: XmlNode = {
    '@_ID': `@${query.rootElement}`,
    '@_brief-description': 'xnat-mcp search',
    '@_allow-diff-columns': '0',
    '@_secure': 'false',
    '@_xmlns:xdat': XDAT_NAMESPACE,
    'xdat:root_element_name': query.rootElement,
    'xdat:search_field': query.fields.map((field, sequence) => ({
      'xdat:element_name': field.element ?? query.rootElement,
      'xdat:field_ID': field.fieldId,
      'xdat:sequence': String(sequence),
      'xdat:type': field.type ?? 'string',
      'xdat:header': field.header ?? field.fieldId,
    })),
    ...(query.where && query.where.criteria.length > 0
      ? { 'xdat:search_where': groupNode(query.where) }
      : {}),
  };
  return `<?xml version="1.0" encoding="UTF-8"?>${xmlBuilder().build({ 'xdat:bundle': bundle }) as string}`;
}

export async function searchElements(ctx: RequestContext, signal?: AbortSignal): Promise<SearchElement[]> {
  const table = await readTable(ctx, xnatPath('data', 'search', 'elements'), {}, signal);
  return table.rows.map(toSearchElement);
}

export async function searchFields(
  ctx: RequestContext,
  xsiType: string,
  signal?: AbortSignal,
): Promise<SearchField[]> {
  try {
    const table = await readTable(ctx, xnatPath('data', 'search', 'elements', xsiType), {}, signal);
    return table.rows.map(toSearchField);
  } catch (err) {
    throw withHint(err, `Data type "${xsiType}" is not known to XNAT (see searchElements())`);
  }
}

/**
 * Runs a search (one POST of an `xdat:bundle`). XNAT does not page uncached searches, so
 * `limit`/`offset` select rows from the full answer; `total` is the full count.
 */
export async function runSearch(
  ctx: RequestContext,
  query: SearchQuery,
  opts: PageRequest = {},
): Promise<SearchResult> {
  const body = buildSearchXml(query);
  const hasPaging = opts.limit !== undefined || opts.offset !== undefined;
  const { limit, offset } = checkPaging({
    limit: opts.limit ?? Number.MAX_SAFE_INTEGER,
    offset: opts.offset ?? 0,
  });
  const path = xnatPath('data', 'search');
  const text = await ctx.request({
    method: 'POST',
    path,
    query: { format: 'json' },
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    body,
    expect: 'json',
    signal: opts.signal,
  });
  const result = toSearchResult(parseTable(text.body, { method: 'POST', path }), query.rootElement);
  return hasPaging ? { ...result, rows: result.rows.slice(offset, offset + limit) } : result;
}
