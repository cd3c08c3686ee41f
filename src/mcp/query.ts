/**
 * What the query tools share: the input that names a search (a data type with columns and criteria,
 * or a saved search) and its translation into the client core's search, field IDs as
 * `describeSearchable` lists them, and column keys for sorting.
 */
import * as z from 'zod';
import type {
  SearchCriteriaGroup,
  SearchCriterion,
  SearchOperator,
  SearchQuery,
  SearchSpec,
  XnatClient,
} from '../client/index.js';
import { SEARCH_OPERATORS } from '../client/vocabulary.js';
import { ToolInputError } from './errors.js';

const match = z.enum(['all', 'any']).default('all').describe('Join where with AND (all) or OR (any)');

export const searchInput = {
  xsiType: z
    .string()
    .min(1)
    .optional()
    .describe('Type to search, e.g. xnat:mrSessionData (describeSearchable)'),
  savedSearch: z.string().min(1).optional().describe('Or: a saved search ID, run as stored'),
  where: z
    .array(z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]))
    .optional()
    .describe(
      "Criteria '<field> <op> <value>', op one of = != < <= > >= LIKE IN BETWEEN 'IS NULL' 'IS NOT NULL': 'DATE BETWEEN 2022-01-01 AND 2022-12-31', 'PROJECT IN A,B', 'LABEL LIKE S0*', 'xnat:subjectData.XNAT_SUBJECTDATA_FIELD_MAP=site = Boston'. Field IDs from describeSearchable (another type's as <type>.<ID>, or a schema path). A nested list is a group joined the other way",
    ),
  match,
};

export interface SearchArgs {
  xsiType?: string | undefined;
  savedSearch?: string | undefined;
  where?: Array<string | string[]> | undefined;
  match: 'all' | 'any';
}

/** `xnat:subjectData.FIELD` → element and field ID; an unqualified ID belongs to the root type; paths stay whole. */
export function splitField(field: string, root: string): { element: string; fieldId: string } {
  const trimmed = field.trim();
  const slash = trimmed.indexOf('/');
  const colon = trimmed.indexOf(':');
  if (slash > 0 && (colon < 0 || colon < slash)) return { element: root, fieldId: trimmed };
  const dot = colon >= 0 ? trimmed.indexOf('.', colon) : -1;
  if (colon >= 0 && dot > colon && (trimmed.indexOf('=') < 0 || dot < trimmed.indexOf('='))) {
    return { element: trimmed.slice(0, dot), fieldId: trimmed.slice(dot + 1) };
  }
  return { element: root, fieldId: trimmed };
}

/** A criteria's `schema_field`: a display field `<type>.<ID>` or a schema path `<type>/<path>`. */
function schemaField(field: string, root: string): string {
  const { element, fieldId } = splitField(field, root);
  return fieldId.includes('/') ? fieldId : `${element}.${fieldId}`;
}

const OPERATOR = new RegExp(
  `^(\\S+)\\s+(${[...SEARCH_OPERATORS]
    .map((o) => o.replace(/ /g, '\\s+'))
    .sort((x, y) => y.length - x.length)
    .join('|')})(?:\\s+(.*))?$`,
  'i',
);

const unquote = (value: string): string => value.trim().replace(/^(['"])(.*)\1$/s, '$2');

/** `'<field> <op> <value>'` → a criterion of the client core. */
export function parseCriterion(text: string, root: string): SearchCriterion {
  const parsed = OPERATOR.exec(text.trim());
  const [, rawField = '', rawOp = '', rawValue] = parsed ?? [];
  if (!parsed) {
    throw new ToolInputError(
      `Criterion "${text}" is not '<field> <op> <value>' (op one of ${SEARCH_OPERATORS.join(', ')}), e.g. 'PROJECT = P1'.`,
    );
  }
  const op = rawOp.toUpperCase().replace(/\s+/g, ' ') as SearchOperator;
  const field = schemaField(rawField, root);
  const value = rawValue === undefined ? undefined : unquote(rawValue);
  if (op === 'IS NULL' || op === 'IS NOT NULL') {
    if (value !== undefined) throw new ToolInputError(`Criterion "${text}": ${op} takes no value.`);
    return { field, op };
  }
  if (value === undefined || value === '')
    throw new ToolInputError(`Criterion "${text}": ${op} needs a value.`);
  switch (op) {
    case 'IN': {
      const values = value
        .replace(/^\((.*)\)$/s, '$1')
        .split(',')
        .map(unquote);
      if (values.some((v) => v === ''))
        throw new ToolInputError(`Criterion "${text}": IN needs values like A,B.`);
      return { field, op, value: values.join(',') };
    }
    case 'BETWEEN': {
      const bounds = value.split(/\s+AND\s+/i).map(unquote);
      if (bounds.length !== 2 || bounds.some((b) => b === '')) {
        throw new ToolInputError(`Criterion "${text}": BETWEEN needs '<low> AND <high>'.`);
      }
      return { field, op, value: bounds.join(' AND ') };
    }
    default:
      return { field, op, value };
  }
}

function group(
  where: ReadonlyArray<string | readonly string[]>,
  method: 'AND' | 'OR',
  root: string,
): SearchCriteriaGroup {
  const other = method === 'AND' ? 'OR' : 'AND';
  return {
    method,
    criteria: where.map((entry) =>
      typeof entry === 'string'
        ? parseCriterion(entry, root)
        : { method: other, criteria: entry.map((text) => parseCriterion(text, root)) },
    ),
  };
}

function checkSource(args: SearchArgs): void {
  if ((args.xsiType === undefined) === (args.savedSearch === undefined)) {
    throw new ToolInputError(
      'Pass exactly one of xsiType (a data type, see describeSearchable) or savedSearch (a saved search ID).',
    );
  }
  if (args.savedSearch !== undefined && args.where !== undefined && args.where.length > 0) {
    throw new ToolInputError(
      'A saved search runs as stored: its criteria cannot be extended. Search its xsiType with your criteria instead.',
    );
  }
}

/**
 * Column field IDs when none are asked for: the type's default listing (what XNAT's UI shows), else
 * the type's first few fields that need no value.
 */
export async function defaultColumns(
  client: XnatClient,
  xsiType: string,
  count: number,
  signal: AbortSignal,
): Promise<string[]> {
  const listing = await client.defaultListingFields(xsiType, { signal });
  if (listing !== undefined) return listing.slice(0, count);
  const fields = await client.searchFields(xsiType, { signal });
  const usable = fields.filter((f) => !f.requiresValue && !f.fieldId.includes('='));
  if (usable.length === 0)
    throw new ToolInputError(`${xsiType} has no searchable field to show; pass columns.`);
  return usable.slice(0, count).map((f) => f.fieldId);
}

/** The client core's search for the tool arguments (`columns`: field IDs, at least one). */
export function searchSpec(args: SearchArgs, columns: readonly string[]): SearchSpec {
  checkSource(args);
  if (args.savedSearch !== undefined) return { savedSearch: args.savedSearch };
  const root = args.xsiType ?? '';
  const query: SearchQuery = {
    rootElement: root,
    // An empty header lets XNAT show the display field's own header.
    fields: columns
      .map((c) => splitField(c, root))
      .map((f) => ({ element: f.element, fieldId: f.fieldId, header: '' })),
  };
  if (args.where !== undefined && args.where.length > 0) {
    query.where = group(args.where, args.match === 'any' ? 'OR' : 'AND', root);
  }
  return query;
}

export function isSavedSearch(args: SearchArgs): boolean {
  checkSource(args);
  return args.savedSearch !== undefined;
}

/**
 * The row key XNAT gives a column (§6.3): the field ID lower-cased for the searched type, prefixed
 * with the other type's SQL name otherwise; `ID=value` fields append the value. A key passes through.
 */
export function columnKey(field: string, root: string): string {
  if (/^[a-z0-9_]+$/.test(field)) return field;
  const { element, fieldId } = splitField(field, root);
  const eq = fieldId.indexOf('=');
  const id =
    eq < 0 ? fieldId : `${fieldId.slice(0, eq)}_${fieldId.slice(eq + 1).replace(/[^A-Za-z0-9_]/g, '')}`;
  const prefix = element.toLowerCase() === root.toLowerCase() ? '' : `${element.replace(':', '_')}_`;
  return `${prefix}${id}`.toLowerCase();
}
