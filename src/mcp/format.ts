/**
 * The one place that shapes tool output: the compact objects tools and resources return, their zod
 * schemas, paging with opaque cursors, size bounds, and the short text renderings. Whatever the
 * archive holds, a result stays bounded: long text is cut, nested arrays are capped with a
 * `truncated` count, and lists are paged.
 */
import * as z from 'zod';
import type {
  Assessor,
  Experiment,
  ExperimentDetail,
  Page,
  Project,
  ProjectDetail,
  Resource,
  Scan,
  Subject,
  SubjectDetail,
  XnatFile,
} from '../client/index.js';
import { ToolInputError } from './errors.js';
import { truncateText } from './text.js';

export { truncateText };

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 100;
/** Nested arrays (scans, experiments of a subject, ...) beyond this are cut and counted. */
export const MAX_NESTED = 100;
/** Resource links per result: beyond this many they cost more than they help. */
export const MAX_LINKS = 25;
/** Key/value maps (custom fields, attributes) beyond this many entries are cut and counted. */
export const MAX_FIELDS = 50;
const LIST_TEXT_MAX = 200;
const FIELD_VALUE_MAX = 200;
/**
 * Every string of every result is at most this long. It equals the longest input (a file path,
 * params.ts), so a value that arrives whole can always be passed back; longer ones are shortened in
 * the middle with a marker, and the result's text says so.
 */
export const MAX_STRING = 1024;
const DETAIL_TEXT_MAX = MAX_STRING;
/** What one tool result may cost a model, stated in the server instructions. */
export const RESULT_TOKEN_BUDGET = 10_000;
/** The budget in characters (structuredContent, text and links together), at ~4 characters a token. */
export const RESULT_CHAR_BUDGET = RESULT_TOKEN_BUDGET * 4;
/**
 * What an image costs a model: hosts bill images by their pixels, not by their base64 text (Claude:
 * about one token per 750 pixels, so 1024x1024 px is about 1,400 tokens).
 */
export function imageTokens(width: number, height: number): number {
  return Math.ceil((width * height) / 750);
}
/** A page's items take at most this share: the text rendering repeats them, links come on top. */
const PAGE_CHAR_BUDGET = RESULT_CHAR_BUDGET / 2;

// ---------------------------------------------------------------------------------------------
// Bounds

/** A copy of any result with every string bounded to MAX_STRING, and how many were shortened. */
export function boundStrings<T>(value: T): { value: T; shortened: number } {
  let shortened = 0;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (v.length <= MAX_STRING) return v;
      shortened++;
      return truncateText(v, MAX_STRING);
    }
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return { value: walk(value) as T, shortened };
}

/** The line a result's text ends with when values were shortened. */
export function shortenedNote(shortened: number): string {
  return `${shortened} long value${shortened === 1 ? ' was' : 's were'} shortened in the middle (marked "…[n characters cut]…"); a shortened ID or path cannot be passed to another tool: narrow the request instead (a scan or resource).`;
}

/** JSON length of a value once its strings are bounded, without copying it. */
function boundedJsonLength(value: unknown): number {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'string' && v.length > MAX_STRING ? truncateText(v, MAX_STRING) : v,
  ).length;
}

/**
 * Keeps a result under RESULT_CHAR_BUDGET (less what its images take) when its parts (detail objects with many capped arrays)
 * add up: links go first, then the longest arrays are halved, each cut counted in `truncated`.
 */
export function fitBudget<T extends object>(
  output: T,
  render: (output: T) => string,
  links: (output: T) => unknown[],
  /** Characters' worth of the budget already taken (images: `imageTokens` x 4). */
  reserved = 0,
): { output: T; text: string; links: unknown[] } {
  const budget = RESULT_CHAR_BUDGET - reserved;
  let current = output;
  let text = render(current);
  let linked = links(current);
  const size = () => JSON.stringify(current).length + text.length + JSON.stringify(linked).length;
  if (size() <= budget) return { output: current, text, links: linked };
  linked = [];
  for (let round = 0; round < 20 && size() > budget; round++) {
    const arrays = Object.entries(current).filter(
      // A list's items are fitted by pageListing, where a cut keeps its cursor right.
      (e): e is [string, unknown[]] => e[0] !== 'items' && Array.isArray(e[1]) && e[1].length > 1,
    );
    if (arrays.length === 0) break;
    const [name, longest] = arrays.reduce((a, b) =>
      JSON.stringify(b[1]).length > JSON.stringify(a[1]).length ? b : a,
    );
    const kept = Math.ceil(longest.length / 2);
    const before = (current as { truncated?: Record<string, number> }).truncated ?? {};
    current = {
      ...current,
      [name]: longest.slice(0, kept),
      truncated: { ...before, [name]: (before[name] ?? 0) + longest.length - kept },
    };
    text = render(current);
  }
  return { output: current, text, links: linked };
}

export function capArray<T>(items: readonly T[], name: string, truncated: Record<string, number>): T[] {
  if (items.length <= MAX_NESTED) return [...items];
  truncated[name] = items.length - MAX_NESTED;
  return items.slice(0, MAX_NESTED);
}

function boundRecord(
  record: Record<string, string>,
  name: string,
  truncated: Record<string, number>,
): Record<string, string> {
  const entries = Object.entries(record);
  if (entries.length > MAX_FIELDS) truncated[name] = entries.length - MAX_FIELDS;
  return Object.fromEntries(
    entries.slice(0, MAX_FIELDS).map(([k, v]) => [k, truncateText(v, FIELD_VALUE_MAX)]),
  );
}

export function withTruncated<T extends object>(shaped: T, truncated: Record<string, number>): T {
  return Object.keys(truncated).length > 0 ? { ...shaped, truncated } : shaped;
}

export const truncatedSchema = z.record(z.string(), z.number()).optional();

/** Byte counts in summaries and progress messages. */
export function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

export function sumSizes(items: ReadonlyArray<{ size: number }>): number {
  return items.reduce((sum, i) => sum + i.size, 0);
}

// ---------------------------------------------------------------------------------------------
// Shaped objects

export const ProjectItemSchema = z.object({
  id: z.string(),
  name: z.string(),
  secondaryId: z.string(),
  pi: z.string(),
  description: z.string(),
});
export type ProjectItem = z.infer<typeof ProjectItemSchema>;

function piName(p: Project): string {
  return [p.piFirstname, p.piLastname].filter((s) => s !== '').join(' ');
}

export function shapeProject(p: Project): ProjectItem {
  return {
    id: p.id,
    name: p.name,
    secondaryId: p.secondaryId,
    pi: piName(p),
    description: truncateText(p.description, LIST_TEXT_MAX),
  };
}

export const ProjectDetailOutput = {
  ...ProjectItemSchema.shape,
  keywords: z.string(),
  accessibility: z.enum(['public', 'protected', 'private']).optional(),
  aliases: z.array(z.string()),
  fields: z.record(z.string(), z.string()),
  subjectCount: z.number(),
  experimentCount: z.number(),
  experimentTypes: z.record(z.string(), z.number()).describe('Counts by xsiType'),
  truncated: truncatedSchema,
};
export type ProjectDetailShaped = z.infer<z.ZodObject<typeof ProjectDetailOutput>>;

export function shapeProjectDetail(p: ProjectDetail): ProjectDetailShaped {
  const truncated: Record<string, number> = {};
  return withTruncated(
    {
      ...shapeProject(p),
      description: truncateText(p.description, DETAIL_TEXT_MAX),
      keywords: truncateText(p.keywords, LIST_TEXT_MAX),
      accessibility: p.accessibility,
      aliases: capArray(p.aliases, 'aliases', truncated),
      fields: boundRecord(p.fields, 'fields', truncated),
      subjectCount: p.subjectCount,
      experimentCount: p.experimentCount,
      experimentTypes: p.experimentTypes,
    },
    truncated,
  );
}

export const SubjectItemSchema = z.object({
  id: z.string(),
  label: z.string(),
  project: z.string(),
  owningProject: z.string().describe('Differs from `project` when shared into it'),
  gender: z.string().optional(),
  group: z.string().optional(),
  yob: z.string().optional(),
  age: z.string().optional(),
});
export type SubjectItem = z.infer<typeof SubjectItemSchema>;

export function shapeSubject(s: Subject): SubjectItem {
  return {
    id: s.id,
    label: s.label,
    project: s.project,
    owningProject: s.owningProject,
    gender: s.gender || undefined,
    group: s.group || undefined,
    yob: s.yob || undefined,
    age: s.age || undefined,
  };
}

export const ExperimentItemSchema = z.object({
  id: z.string(),
  label: z.string(),
  project: z.string(),
  owningProject: z.string(),
  xsiType: z.string(),
  date: z.string().describe('YYYY-MM-DD or empty'),
  subjectId: z.string(),
  subjectLabel: z.string(),
});
export type ExperimentItem = z.infer<typeof ExperimentItemSchema>;

export function shapeExperiment(e: Experiment): ExperimentItem {
  return {
    id: e.id,
    label: e.label,
    project: e.project,
    owningProject: e.owningProject,
    xsiType: e.xsiType,
    date: e.date,
    subjectId: e.subjectId,
    subjectLabel: e.subjectLabel,
  };
}

export const ShareOutputSchema = z.object({ project: z.string(), label: z.string() });

export const SubjectDetailOutput = {
  ...SubjectItemSchema.shape,
  handedness: z.string().optional(),
  demographics: z.record(z.string(), z.string()),
  fields: z.record(z.string(), z.string()),
  shares: z.array(ShareOutputSchema).describe('Projects it is shared into, with its label there'),
  experiments: z.array(ExperimentItemSchema),
  truncated: truncatedSchema,
};
export type SubjectDetailShaped = z.infer<z.ZodObject<typeof SubjectDetailOutput>>;

export function shapeSubjectDetail(s: SubjectDetail): SubjectDetailShaped {
  const truncated: Record<string, number> = {};
  return withTruncated(
    {
      ...shapeSubject(s),
      handedness: s.handedness || undefined,
      demographics: boundRecord(s.demographics, 'demographics', truncated),
      fields: boundRecord(s.fields, 'fields', truncated),
      shares: capArray(s.shares, 'shares', truncated),
      experiments: capArray(s.experiments, 'experiments', truncated).map(shapeExperiment),
    },
    truncated,
  );
}

const AxesOutputSchema = z.object({
  x: z.number().optional(),
  y: z.number().optional(),
  z: z.number().optional(),
});

const ScanParametersOutputSchema = z
  .object({
    tr: z.number().optional(),
    te: z.number().optional(),
    ti: z.number().optional(),
    flip: z.number().optional(),
    voxelRes: AxesOutputSchema.optional(),
    fov: AxesOutputSchema.optional(),
    orientation: z.string().optional(),
    kvp: z.number().optional(),
    scanner: z.string().optional(),
    fieldStrength: z.string().optional(),
  })
  .describe('As XNAT keeps them: tr/te/ti ms, flip degrees, voxelRes mm, fieldStrength tesla');

const ScanOutputSchema = z.object({
  id: z.string(),
  type: z.string(),
  seriesDescription: z.string(),
  quality: z.string(),
  modality: z.string().optional(),
  frames: z.number().optional(),
  fileCount: z.number().optional(),
  parameters: ScanParametersOutputSchema.optional(),
});

function shapeScan(s: Scan): z.infer<typeof ScanOutputSchema> {
  return {
    id: s.id,
    type: truncateText(s.type, LIST_TEXT_MAX),
    seriesDescription: truncateText(s.seriesDescription, LIST_TEXT_MAX),
    quality: s.quality,
    modality: s.modality || undefined,
    frames: s.frames,
    fileCount: s.fileCount,
    parameters: s.parameters,
  };
}

/** `TR 2300 TE 2.98 flip 9 1×1×1 mm Sag 3.0 T`: a scan's acquisition in one cell. */
export function renderScanParameters(p: z.infer<typeof ScanParametersOutputSchema> | undefined): string {
  if (p === undefined) return '';
  const axes = (a: z.infer<typeof AxesOutputSchema> | undefined): string | undefined =>
    a === undefined ? undefined : [a.x, a.y, a.z].filter((v) => v !== undefined).join('×');
  const parts: Array<[string, string | number | undefined]> = [
    ['TR', p.tr],
    ['TE', p.te],
    ['TI', p.ti],
    ['flip', p.flip],
    ['kVp', p.kvp],
    ['voxel', axes(p.voxelRes) && `${axes(p.voxelRes)} mm`],
    ['FOV', axes(p.fov)],
    ['', p.orientation],
    ['', p.fieldStrength && `${p.fieldStrength} T`],
    ['', p.scanner],
  ];
  return parts
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => (k ? `${k} ${v}` : String(v)))
    .join(' ');
}

const ResourceOutputSchema = z.object({
  label: z.string(),
  category: z.string(),
  categoryId: z.string().describe('Scan/assessor ID; empty for session resources'),
  format: z.string(),
  fileCount: z.number(),
  fileSize: z.number(),
});

function shapeResource(r: Resource): z.infer<typeof ResourceOutputSchema> {
  return {
    label: r.label,
    category: r.category,
    categoryId: r.categoryId,
    format: r.format,
    fileCount: r.fileCount,
    fileSize: r.fileSize,
  };
}

const AssessorOutputSchema = z.object({
  id: z.string(),
  label: z.string(),
  xsiType: z.string(),
  date: z.string(),
});

function shapeAssessor(a: Assessor): z.infer<typeof AssessorOutputSchema> {
  return { id: a.id, label: a.label, xsiType: a.xsiType, date: a.date };
}

export const ExperimentDetailOutput = {
  ...ExperimentItemSchema.shape,
  time: z.string(),
  visitId: z.string(),
  modality: z.string(),
  note: z.string(),
  status: z.enum(['active', 'quarantine']),
  fields: z.record(z.string(), z.string()),
  attributes: z.record(z.string(), z.string()).describe('Type-specific fields (scanner, ...)'),
  shares: z.array(ShareOutputSchema),
  scans: z.array(ScanOutputSchema),
  resources: z.array(ResourceOutputSchema),
  assessors: z.array(AssessorOutputSchema),
  truncated: truncatedSchema,
};
export type ExperimentDetailShaped = z.infer<z.ZodObject<typeof ExperimentDetailOutput>>;

export function shapeExperimentDetail(e: ExperimentDetail): ExperimentDetailShaped {
  const truncated: Record<string, number> = {};
  return withTruncated(
    {
      ...shapeExperiment(e),
      time: e.time,
      visitId: e.visitId,
      modality: e.modality,
      note: truncateText(e.note, DETAIL_TEXT_MAX),
      status: e.status,
      fields: boundRecord(e.fields, 'fields', truncated),
      attributes: boundRecord(e.attributes, 'attributes', truncated),
      shares: capArray(e.shares, 'shares', truncated),
      scans: capArray(e.scans, 'scans', truncated).map(shapeScan),
      resources: capArray(e.resources, 'resources', truncated).map(shapeResource),
      assessors: capArray(e.assessors, 'assessors', truncated).map(shapeAssessor),
    },
    truncated,
  );
}

export const FileItemSchema = z.object({
  name: z.string(),
  path: z.string().describe('Relative to the resource'),
  resource: z.string(),
  scan: z.string().optional(),
  size: z.number(),
  digest: z.string().describe('MD5; empty when none'),
});
export type FileItem = z.infer<typeof FileItemSchema>;

export function shapeFile(f: XnatFile): FileItem {
  return { name: f.name, path: f.path, resource: f.resource, scan: f.scan, size: f.size, digest: f.digest };
}

// ---------------------------------------------------------------------------------------------
// Paging

/** Input parameters shared by every list tool. */
export const pagingInput = {
  limit: z.number().int().min(1).max(MAX_LIMIT).optional().describe(`Page size (default ${DEFAULT_LIMIT})`),
  cursor: z.string().optional().describe('nextCursor of the last call (same filters)'),
};

/** Input of list tools over large listings, whose exact total costs a full count. */
export const countInput = {
  count: z.boolean().optional().describe('Count every match for `total` (slower on large archives)'),
};

export interface PagingArgs {
  limit?: number | undefined;
  cursor?: string | undefined;
  count?: boolean | undefined;
}

/** Output shape of every list tool: `{ items, total?, nextCursor? }`. */
export function listOutput<T extends z.ZodType>(item: T) {
  return {
    items: z.array(item),
    total: z.number().optional().describe('Exact number of matches; absent when not counted'),
    nextCursor: z.string().optional(),
  };
}

export interface ListResult<T> {
  items: T[];
  total?: number;
  nextCursor?: string;
}

const CursorSchema = z.object({
  o: z.number().int().min(0),
  t: z.number().int().min(0).optional(),
  f: z.string(),
  /** Where the listing is kept on the server between pages (a cached search's ID). */
  c: z.string().optional(),
});

/** Identifies the query a cursor belongs to, so a cursor cannot silently page a different listing. */
export function queryFingerprint(tool: string, query: Record<string, unknown>): string {
  const canonical = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // node:crypto loads on first use: at every start it would cost more than listing a tool.
  return process
    .getBuiltinModule('node:crypto')
    .createHash('sha256')
    .update(JSON.stringify([tool, canonical]))
    .digest('base64url')
    .slice(0, 12);
}

export function encodeCursor(
  offset: number,
  total: number | undefined,
  fingerprint: string,
  cache?: string,
): string {
  return Buffer.from(JSON.stringify({ o: offset, t: total, f: fingerprint, c: cache })).toString('base64url');
}

export function decodeCursor(
  cursor: string,
  fingerprint: string,
): { offset: number; total?: number; cache?: string | undefined } {
  const restart = 'Call the tool again without `cursor` to start from the first page.';
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ToolInputError(`Invalid cursor. ${restart}`);
  }
  const state = CursorSchema.safeParse(parsed);
  if (!state.success) throw new ToolInputError(`Invalid cursor. ${restart}`);
  if (state.data.f !== fingerprint) {
    throw new ToolInputError(`This cursor belongs to a different query (other filters). ${restart}`);
  }
  return {
    offset: state.data.o,
    ...(state.data.t !== undefined ? { total: state.data.t } : {}),
    cache: state.data.c,
  };
}

export interface PageSpec {
  limit: number;
  offset: number;
  /** Total remembered from an earlier page, so later pages need not recount. */
  knownTotal?: number;
  /** Count the total when the page does not tell it. */
  count?: boolean;
}

/**
 * Fetches one page of a listing described by `query`: decodes the cursor (validated against the
 * query's fingerprint), asks `fetchPage` for it, and encodes the next cursor.
 */
export async function pageListing<T, U>(
  tool: string,
  query: Record<string, unknown>,
  paging: PagingArgs,
  fetchPage: (spec: PageSpec) => Promise<Page<T>>,
  shape: (item: T) => U,
): Promise<ListResult<U>> {
  const fingerprint = queryFingerprint(tool, query);
  const limit = paging.limit ?? DEFAULT_LIMIT;
  const from = paging.cursor === undefined ? undefined : decodeCursor(paging.cursor, fingerprint);
  const offset = from?.offset ?? 0;
  const page = await fetchPage({
    limit,
    offset,
    ...(from?.total !== undefined ? { knownTotal: from.total } : {}),
    ...(paging.count === true ? { count: true } : {}),
  });
  const items = withinPageBudget(page.items.map(shape));
  const result: ListResult<U> = { items, ...(page.total !== undefined ? { total: page.total } : {}) };
  // A page cut for size continues right after its last item.
  const next = items.length < page.items.length ? offset + items.length : page.nextOffset;
  if (next !== undefined && (page.total === undefined || next < page.total)) {
    result.nextCursor = encodeCursor(next, page.total, fingerprint);
  }
  return result;
}

/** The leading items that fit the page's share of the result budget (at least one). */
function withinPageBudget<U>(items: U[]): U[] {
  let used = 0;
  for (let i = 0; i < items.length; i++) {
    used += boundedJsonLength(items[i]) + 1;
    if (used > PAGE_CHAR_BUDGET && i > 0) return items.slice(0, i);
  }
  return items;
}

/** Pages a listing XNAT returns whole (projects, files): one request, then sliced here. */
export function pageOfArray<T>(all: readonly T[], spec: PageSpec): Page<T> {
  const items = all.slice(spec.offset, spec.offset + spec.limit);
  const next = spec.offset + items.length;
  return next < all.length
    ? { items, total: all.length, offset: spec.offset, nextOffset: next }
    : { items, total: all.length, offset: spec.offset };
}

// ---------------------------------------------------------------------------------------------
// Text renderings: short header, tab-separated rows, the cursor to continue with.

function cell(value: string | number | undefined): string {
  return String(value ?? '').replace(/[\t\r\n]+/g, ' ');
}

export function renderTable(
  columns: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number | undefined>>,
): string {
  return [columns.join('\t'), ...rows.map((row) => row.map(cell).join('\t'))].join('\n');
}

export function renderList<T>(
  noun: string,
  result: ListResult<T>,
  columns: readonly string[],
  row: (item: T) => ReadonlyArray<string | number | undefined>,
): string {
  if (result.items.length === 0)
    return result.total === undefined ? `No ${noun}.` : `No ${noun} (total ${result.total}).`;
  const head =
    result.total !== undefined
      ? `${result.items.length} of ${result.total} ${noun}`
      : `${result.items.length} ${noun} (more follow; total not counted, count=true counts it)`;
  const tail =
    result.nextCursor === undefined
      ? 'Last page.'
      : `Truncated, use cursor=${result.nextCursor} (same filters) for the rest.`;
  return `${head}\n${renderTable(columns, result.items.map(row))}\n${tail}`;
}

/** `key: value` lines for the scalar fields of a detail object, skipping empty values. */
export function renderFields(entries: ReadonlyArray<[string, string | number | undefined]>): string {
  return entries
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}: ${cell(v)}`)
    .join('\n');
}

export function renderRecord(title: string, record: Record<string, string | number>): string {
  const entries = Object.entries(record);
  if (entries.length === 0) return '';
  return `${title}: ${entries.map(([k, v]) => `${k}=${cell(v)}`).join('; ')}`;
}

export function renderTruncated(truncated: Record<string, number> | undefined): string {
  if (truncated === undefined) return '';
  return `Left out to keep this short: ${Object.entries(truncated)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ')}.`;
}

/** Joins rendered sections, dropping empty ones. */
export function sections(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('\n');
}
