/**
 * The `query` toolset: XNAT's own search engine. What can be searched (types with counts, their
 * fields and custom variables, saved searches), searching any type with criteria (one XNAT request
 * per page), grouped counts from one streamed pass, and whole results exported to a local file.
 */
import * as z from 'zod';
import { READ_ONLY, defineTool, writeAnnotations, type ToolContext } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import {
  DEFAULT_LIMIT,
  MAX_LIMIT,
  decodeCursor,
  encodeCursor,
  pageOfArray,
  pagingInput,
  queryFingerprint,
  renderFields,
  renderTable,
  sections,
  truncateText,
} from '../mcp/format.js';
import {
  columnKey,
  defaultColumns,
  isSavedSearch,
  searchInput,
  searchSpec,
  type SearchArgs,
} from '../mcp/query.js';
import { defineWriteTool } from '../mcp/write.js';

const CELL_MAX = 200;
const DEFAULT_COLUMNS = 8;

// ---------------------------------------------------------------------------------------------
// describeSearchable

const TypeSchema = z.object({ xsiType: z.string(), name: z.string(), count: z.number() });
const FieldSchema = z.object({
  id: z.string(),
  header: z.string(),
  type: z.string(),
  description: z.string(),
  requiresValue: z.boolean().optional(),
});
const SavedSchema = z.object({
  id: z.string(),
  xsiType: z.string(),
  name: z.string(),
  description: z.string(),
});

function matches(filter: string | undefined, ...texts: string[]): boolean {
  if (filter === undefined) return true;
  const needle = filter.toLowerCase();
  return texts.some((t) => t.toLowerCase().includes(needle));
}

export const describeSearchable = defineTool({
  name: 'describeSearchable',
  title: 'Describe what XNAT can search',
  description:
    "What searchArchive and exportSearch can use: data types with counts, a type's field IDs with custom variables (what=fields), saved searches. Paged.",
  toolset: 'query',
  inputSchema: {
    what: z
      .enum(['types', 'fields', 'savedSearches'])
      .optional()
      .describe('Default: fields with xsiType, else types'),
    xsiType: z.string().min(1).optional().describe('Type whose fields to list'),
    match: z.string().min(1).optional().describe('Text filter'),
    ...pagingInput,
  },
  outputSchema: {
    what: z.enum(['types', 'fields', 'savedSearches']),
    xsiType: z.string().optional(),
    types: z.array(TypeSchema).optional(),
    fields: z.array(FieldSchema).optional(),
    savedSearches: z.array(SavedSchema).optional(),
    total: z.number(),
    nextCursor: z.string().optional(),
  },
  annotations: READ_ONLY,
  writes: false,
  handler: async (args, { client, signal }) => {
    const what = args.what ?? (args.xsiType === undefined ? 'types' : 'fields');
    const fingerprint = queryFingerprint('describeSearchable', {
      what,
      xsiType: args.xsiType,
      match: args.match,
    });
    const offset = args.cursor === undefined ? 0 : decodeCursor(args.cursor, fingerprint).offset;
    const limit = args.limit ?? DEFAULT_LIMIT;
    const paged = <T>(all: T[]) => {
      const page = pageOfArray(all, { limit, offset });
      const next = page.nextOffset;
      return {
        items: page.items,
        total: all.length,
        ...(next !== undefined ? { nextCursor: encodeCursor(next, all.length, fingerprint) } : {}),
      };
    };
    if (what === 'fields') {
      if (args.xsiType === undefined) throw new ToolInputError('what=fields needs xsiType (see what=types).');
      const fields = (await client.searchFields(args.xsiType, { signal }))
        .filter((f) => matches(args.match, f.fieldId, f.header, f.description))
        .map((f) => ({
          id: f.fieldId,
          header: f.header,
          type: f.type,
          description: truncateText(f.description, CELL_MAX),
          ...(f.requiresValue ? { requiresValue: true } : {}),
        }));
      const { items, ...rest } = paged(fields);
      return { what, xsiType: args.xsiType, fields: items, ...rest };
    }
    if (what === 'savedSearches') {
      const saved = (await client.savedSearches({ signal }))
        .filter((s) => matches(args.match, s.id, s.briefDescription, s.description, s.rootElement))
        .map((s) => ({
          id: s.id,
          xsiType: s.rootElement,
          name: s.briefDescription,
          description: truncateText(s.description, CELL_MAX),
        }));
      const { items, ...rest } = paged(saved);
      return { what, savedSearches: items, ...rest };
    }
    const types = (await client.searchElements({ signal }))
      .filter((e) => matches(args.match, e.elementName, e.singular, e.plural))
      .map((e) => ({ xsiType: e.elementName, name: e.plural, count: e.count }));
    const { items, ...rest } = paged(types);
    return { what, types: items, ...rest };
  },
  render: (out) => {
    const tail = out.nextCursor === undefined ? 'Last page.' : `More: pass cursor=${out.nextCursor}`;
    const head = (n: number, noun: string) => `${n} of ${out.total} ${noun}`;
    if (out.types) {
      return sections(
        head(out.types.length, 'searchable types'),
        renderTable(
          ['xsiType', 'name', 'count'],
          out.types.map((t) => [t.xsiType, t.name, t.count]),
        ),
        tail,
      );
    }
    if (out.fields) {
      return sections(
        head(out.fields.length, `fields of ${out.xsiType ?? ''} (requiresValue: use ID=<value>)`),
        renderTable(
          ['id', 'header', 'type', 'description'],
          out.fields.map((f) => [
            f.requiresValue ? `${f.id}=<value> requiresValue` : f.id,
            f.header,
            f.type,
            f.description,
          ]),
        ),
        tail,
      );
    }
    return sections(
      head(out.savedSearches?.length ?? 0, 'savedSearches (run with searchArchive savedSearch=<id>)'),
      renderTable(
        ['id', 'xsiType', 'name', 'description'],
        (out.savedSearches ?? []).map((s) => [s.id, s.xsiType, s.name, s.description]),
      ),
      tail,
    );
  },
});

// ---------------------------------------------------------------------------------------------
// searchArchive

const columnsInput = z
  .array(z.string().min(1))
  .min(1)
  .max(40)
  .optional()
  .describe("Field IDs to show; default: the type's listing");
const orderInput = {
  sortBy: z.string().min(1).optional().describe('Field ID or column key'),
  sortOrder: z.enum(['ASC', 'DESC']).default('ASC').describe('Sort order'),
};

async function columnsFor(
  args: SearchArgs & { columns?: string[] | undefined },
  ctx: ToolContext,
  count: number,
): Promise<string[]> {
  if (isSavedSearch(args)) {
    if (args.columns !== undefined)
      throw new ToolInputError('A saved search shows its stored columns; omit columns.');
    return [];
  }
  return args.columns ?? defaultColumns(ctx.client, args.xsiType ?? '', count, ctx.signal);
}

function order(args: {
  sortBy?: string | undefined;
  sortOrder: 'ASC' | 'DESC';
  xsiType?: string | undefined;
}) {
  return args.sortBy === undefined
    ? {}
    : { sortBy: columnKey(args.sortBy, args.xsiType ?? ''), sortOrder: args.sortOrder };
}

const MAX_GROUPS = 500;

const GroupBy = z.object({
  field: z.string().min(1).describe('Field ID (saved search: column key)'),
  by: z.enum(['value', 'year', 'month']).default('value').describe('Dates by year or month'),
});
type GroupByInput = z.infer<typeof GroupBy>;

function bucket(value: string, by: 'value' | 'year' | 'month'): string {
  if (by === 'value' || value === '') return value;
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})/.exec(value);
  const iso = us ? `${us[3]}-${us[1]?.padStart(2, '0')}` : value;
  return by === 'year' ? iso.slice(0, 4) : iso.slice(0, 7);
}

/** Grouped counts from one streamed pass over the whole answer (one XNAT request, constant memory). */
async function countGroups(args: SearchArgs, groupBy: GroupByInput[], ctx: ToolContext) {
  const saved = isSavedSearch(args);
  // Each distinct field is one column; a field grouped twice (by year and by month) is read once.
  const fields = [...new Set(groupBy.map((g) => g.field))];
  const columns = saved ? [] : fields.length > 0 ? fields : await columnsFor(args, ctx, 1);
  const stream = await ctx.client.streamSearch(searchSpec(args, columns), { signal: ctx.signal });
  const keys = groupBy.map((g) => {
    const key = saved
      ? stream.columns.find((c) => c === g.field || c === g.field.toLowerCase())
      : stream.columns[fields.indexOf(g.field)];
    if (key === undefined) {
      throw new ToolInputError(`${g.field} is not a column of this search (${stream.columns.join(', ')}).`);
    }
    return key;
  });
  const counts = new Map<string, { values: string[]; count: number }>();
  let total = 0;
  for await (const row of stream.rows) {
    total += 1;
    const values = groupBy.map((g, i) => bucket(row[keys[i] ?? ''] ?? '', g.by));
    const id = JSON.stringify(values);
    const entry = counts.get(id);
    if (entry) entry.count += 1;
    else counts.set(id, { values, count: 1 });
  }
  // The largest groups are kept, then shown in value order.
  const all = [...counts.values()].sort((x, y) => y.count - x.count);
  const groups = all
    .slice(0, MAX_GROUPS)
    .map((g) => ({ values: g.values.map((v) => truncateText(v, CELL_MAX)), count: g.count }))
    .sort((x, y) => (JSON.stringify(x.values) < JSON.stringify(y.values) ? -1 : 1));
  return {
    total,
    groupBy: groupBy.map((g) => (g.by === 'value' ? g.field : `${g.field} by ${g.by}`)),
    groups: groupBy.length === 0 ? [] : groups,
    ...(all.length > MAX_GROUPS ? { otherGroups: all.length - MAX_GROUPS } : {}),
  };
}

const ColumnSchema = z.object({
  key: z.string(),
  fieldId: z.string().optional(),
  header: z.string().optional(),
});

export const searchArchive = defineTool({
  name: 'searchArchive',
  title: 'Search the XNAT archive',
  description:
    "XNAT's search engine over any type (subjects, sessions, scans, assessors): criteria on any field or custom variable, also of related types (sessions whose subject has site=Boston; with a T1 scan of usable quality), or a saved search. Paged rows, or with groupBy counts (e.g. MR sessions per project per year; [] for a total) from one streamed pass. exportSearch writes every row.",
  toolset: 'query',
  inputSchema: {
    ...searchInput,
    columns: columnsInput,
    ...orderInput,
    groupBy: z.array(GroupBy).max(3).optional().describe('Count instead, grouped by up to 3 fields'),
    ...pagingInput,
  },
  outputSchema: {
    xsiType: z.string(),
    total: z.number(),
    columns: z.array(ColumnSchema).optional(),
    rows: z.array(z.record(z.string(), z.string())).optional(),
    nextCursor: z.string().optional(),
    groupBy: z.array(z.string()).optional(),
    groups: z.array(z.object({ values: z.array(z.string()), count: z.number() })).optional(),
    otherGroups: z.number().optional(),
  },
  annotations: READ_ONLY,
  writes: false,
  handler: async (args, ctx) => {
    const { limit, cursor, groupBy, ...query } = args;
    if (groupBy !== undefined) {
      if (cursor !== undefined) throw new ToolInputError('Counts are not paged; omit cursor with groupBy.');
      return { xsiType: args.xsiType ?? args.savedSearch ?? '', ...(await countGroups(args, groupBy, ctx)) };
    }
    const fingerprint = queryFingerprint('searchArchive', query);
    const from = cursor === undefined ? undefined : decodeCursor(cursor, fingerprint);
    const offset = from?.offset ?? 0;
    // Default columns are looked up only when the search is posted, not for every cached page.
    const spec = async () => searchSpec(args, await columnsFor(args, ctx, DEFAULT_COLUMNS));
    const page = await ctx.client.searchPage(spec, {
      limit: Math.min(limit ?? DEFAULT_LIMIT, MAX_LIMIT),
      offset,
      cacheId: from?.cache,
      ...order(args),
      signal: ctx.signal,
    });
    const next = offset + page.rows.length;
    return {
      xsiType: page.rootElement || args.xsiType || '',
      total: page.total,
      columns: page.columns.map((c) => ({ key: c.key, fieldId: c.fieldId, header: c.header })),
      rows: page.rows.map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, truncateText(v, CELL_MAX)])),
      ),
      ...(next < page.total && page.rows.length > 0
        ? { nextCursor: encodeCursor(next, page.total, fingerprint, page.cacheId) }
        : {}),
    };
  },
  render: (out) => {
    if (out.groups !== undefined) {
      return sections(
        `${out.total} ${out.xsiType}${out.groupBy && out.groupBy.length > 0 ? ` in ${out.groups.length} groups` : ''}`,
        out.groupBy && out.groupBy.length > 0
          ? renderTable(
              [...out.groupBy, 'count'],
              out.groups.map((g) => [...g.values.map((v) => (v === '' ? '(empty)' : v)), g.count]),
            )
          : '',
        renderFields([['otherGroups (left out)', out.otherGroups]]),
      );
    }
    const columns = out.columns ?? [];
    const rows = out.rows ?? [];
    const keys = columns.map((c) => c.key);
    return sections(
      `${rows.length} of ${out.total} ${out.xsiType} rows`,
      `columns: ${columns.map((c) => `${c.key}${c.fieldId ? `=${c.fieldId}` : ''}${c.header ? ` "${c.header}"` : ''}`).join('; ')}`,
      rows.length > 0
        ? renderTable(
            keys,
            rows.map((r) => keys.map((k) => r[k])),
          )
        : '',
      out.nextCursor === undefined ? 'Last page.' : `More: pass cursor=${out.nextCursor}`,
    );
  },
});

// ---------------------------------------------------------------------------------------------
// exportSearch

const FORMAT_OF: Record<string, 'csv' | 'tsv' | 'jsonl'> = {
  csv: 'csv',
  tsv: 'tsv',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
};

export const exportSearch = defineWriteTool({
  name: 'exportSearch',
  title: 'Export an XNAT search to a local file',
  description:
    'Writes every row searchArchive would find to a local CSV, TSV or JSON-lines file in the allowed directories, streamed, no row limit.',
  toolset: 'query',
  inputSchema: {
    ...searchInput,
    columns: columnsInput,
    ...orderInput,
    path: z.string().min(1).describe('Local file, e.g. out/sessions.csv'),
    format: z.enum(['csv', 'tsv', 'jsonl']).optional().describe('Default: by extension, else csv'),
    overwrite: z.boolean().default(false).describe('Replace an existing file'),
  },
  outputSchema: {
    path: z.string(),
    format: z.enum(['csv', 'tsv', 'jsonl']),
    rows: z.number(),
    columns: z.array(z.string()),
    bytes: z.number(),
  },
  annotations: writeAnnotations({ destructive: true, idempotent: true }),
  resolve: async (args, ctx) => ({
    path: await ctx.safety.resolveLocalPath(args.path, 'write'),
    columns: await columnsFor(args, ctx, DEFAULT_COLUMNS),
  }),
  // Reads only; the file is local. The project allow-list guards XNAT writes.
  projects: () => [],
  act: ({ path, columns }, args, { client, signal, progress }) => {
    const format = args.format ?? FORMAT_OF[path.split('.').pop()?.toLowerCase() ?? ''] ?? 'csv';
    return client.exportSearch(searchSpec(args, columns), {
      path,
      format,
      overwrite: args.overwrite,
      ...order(args),
      signal,
      onRows: (rows) => void progress({ progress: rows, message: `exported ${rows} rows` }),
    });
  },
  audit: (plan, result) => ({
    object: `file ${result.path}`,
    detail: `rows=${result.rows} bytes=${result.bytes}`,
  }),
  summarise: (_plan, result) => result,
  render: (out) =>
    `Wrote ${out.rows} rows (${out.bytes} bytes, ${out.format}) to ${out.path}\ncolumns: ${out.columns.join(', ')}`,
});
