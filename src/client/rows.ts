/**
 * The one place that turns what XNAT sends into the public models: listing rows (every cell a
 * string, key names as XNAT derives them), item documents (`items[0].data_fields` + `children`),
 * search results and the small text endpoints. Envelopes are validated with zod at the edge;
 * extra keys are tolerated and missing optional columns become '' or are left out.
 */
import * as z from 'zod';
import { XnatProtocolError } from './errors.js';
import { decodeEntities } from './http.js';
import type {
  Assessor,
  DicomElement,
  Experiment,
  ExperimentDetail,
  PrearchiveSession,
  Project,
  ProjectDetail,
  Resource,
  Scan,
  ScanParameters,
  SearchElement,
  SavedSearch,
  SearchField,
  SearchResult,
  Share,
  Subject,
  SubjectDetail,
  XnatFile,
} from './models.js';

/** Where a document came from, for protocol errors. */
export interface Edge {
  method: string;
  path: string;
}

/** A listing row with every cell as a string (XNAT sends strings; anything else is stringified). */
export type Row = Record<string, string>;

/**
 * The envelope of a listing, validated once per table; `Result` is checked row by row below
 * rather than through zod, as listings run to many thousands of rows.
 */
const TableSchema = z.object({
  ResultSet: z.looseObject({
    Result: z.unknown(),
    totalRecords: z.union([z.string(), z.number()]).optional(),
    rootElementName: z.string().optional(),
    Columns: z.array(z.looseObject({ key: z.string() })).optional(),
    ID: z.string().optional(),
  }),
});
export interface Table {
  rows: Row[];
  /** XNAT's `totalRecords` (omitted by XNAT when paging). */
  totalRecords?: number;
  rootElementName?: string;
  columns?: Array<Record<string, unknown> & { key: string }>;
  /** A cached search's ID (`POST /data/search?cache=true`), to page it with `GET /data/search/{ID}`. */
  id?: string;
}

export interface ItemNode {
  meta: Record<string, unknown>;
  dataFields: Record<string, string>;
  children: Array<{ field: string; items: ItemNode[] }>;
}

interface RawItemNode {
  meta?: Record<string, unknown> | undefined;
  data_fields?: Record<string, unknown> | undefined;
  children?: Array<{ field: string; items: RawItemNode[] }> | undefined;
}

const ItemNodeSchema: z.ZodType<RawItemNode> = z.lazy(() =>
  z.looseObject({
    meta: z.record(z.string(), z.unknown()).optional(),
    data_fields: z.record(z.string(), z.unknown()).optional(),
    children: z.array(z.looseObject({ field: z.string(), items: z.array(ItemNodeSchema) })).optional(),
  }),
);
const ItemDocumentSchema = z.object({ items: z.array(ItemNodeSchema).min(1) });

function protocolError(edge: Edge, what: string, cause?: unknown): XnatProtocolError {
  return new XnatProtocolError(`XNAT sent ${what}`, { method: edge.method, path: edge.path, cause });
}

export function validate<T>(schema: z.ZodType<T>, value: unknown, edge: Edge, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw protocolError(
      edge,
      `${what} in an unexpected shape (${issue?.message ?? 'invalid'}${where})`,
      result.error,
    );
  }
  return result.data;
}

export function parseJson(body: string, edge: Edge): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw protocolError(edge, 'a body that is not valid JSON', err);
  }
}

/**
 * The rows of a listing: each must be an object; cells are strings as XNAT sends them, anything
 * else is made one in place (numbers and booleans stringified, null and nested values emptied).
 */
function toRows(result: unknown, edge: Edge): Row[] {
  if (!Array.isArray(result))
    throw protocolError(edge, 'a listing in an unexpected shape (Result is not an array)');
  for (let i = 0; i < result.length; i++) {
    const row: unknown = result[i];
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw protocolError(edge, `a listing in an unexpected shape (row ${i} is not an object)`);
    }
    const cells = row as Record<string, unknown>;
    for (const key in cells) {
      const value = cells[key];
      if (typeof value === 'string') continue;
      cells[key] =
        typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint'
          ? String(value)
          : '';
    }
  }
  return result as Row[];
}

/** Validates a `{"ResultSet":{"Result":[...]}}` listing. */
export function parseTable(body: string, edge: Edge): Table {
  const { ResultSet } = validate(TableSchema, parseJson(body, edge), edge, 'a listing');
  const total = ResultSet.totalRecords === undefined ? undefined : Number(ResultSet.totalRecords);
  return {
    rows: toRows(ResultSet.Result, edge),
    ...(total !== undefined && Number.isFinite(total) ? { totalRecords: total } : {}),
    ...(ResultSet.rootElementName !== undefined ? { rootElementName: ResultSet.rootElementName } : {}),
    ...(ResultSet.Columns !== undefined ? { columns: ResultSet.Columns } : {}),
    ...(ResultSet.ID !== undefined ? { id: ResultSet.ID } : {}),
  };
}

function toItemNode(raw: RawItemNode): ItemNode {
  const dataFields: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw.data_fields ?? {})) {
    if (value === null || value === undefined) continue;
    // Item JSON is typed (numbers, booleans); models carry strings.
    dataFields[key] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return {
    meta: raw.meta ?? {},
    dataFields,
    children: (raw.children ?? []).map((child) => ({
      field: child.field,
      items: child.items.map(toItemNode),
    })),
  };
}

/** Validates an item document (`?format=json` on a project, subject, experiment...) → `items[0]`. */
export function parseItem(body: string, edge: Edge): ItemNode {
  const document = validate(ItemDocumentSchema, parseJson(body, edge), edge, 'an item document');
  return toItemNode(document.items[0]!);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Any date form XNAT emits → ISO `YYYY-MM-DD` ('' when empty; unknown forms are kept as given). */
export function toIsoDate(value: string | undefined): string {
  const text = (value ?? '').trim();
  if (!text) return '';
  const iso = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (iso) return `${iso[1]}-${iso[2]}-${iso[3]}`;
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text);
  if (us) return `${us[3]}-${us[1]!.padStart(2, '0')}-${us[2]!.padStart(2, '0')}`;
  // Java Date.toString(): `Thu Apr 08 19:28:45 UTC 2021`.
  const java = /^[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) [\d:]+ (?:\S+ )?(\d{4})$/.exec(text);
  if (java) {
    const month = MONTHS.indexOf(java[1]!.toLowerCase());
    if (month >= 0) return `${java[3]}-${String(month + 1).padStart(2, '0')}-${java[2]!.padStart(2, '0')}`;
  }
  return text;
}

/** An ISO date → XNAT's `MM/DD/YYYY` (query filters and search values); other text unchanged. */
export function toXnatDate(value: string): string {
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  return iso ? `${iso[2]}/${iso[3]}/${iso[1]}` : value;
}

/** Listing timestamps (`2019-03-05 16:46:37.103`) → ISO `2019-03-05T16:46:37.103` (XNAT's local time). */
export function toIsoTimestamp(value: string | undefined): string {
  const text = (value ?? '').trim();
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/.exec(text);
  return match ? `${match[1]}T${match[2]}` : toIsoDate(text);
}

function cell(row: Row, ...keys: string[]): string {
  for (const key of keys) {
    const value = row[key];
    if (value !== undefined && value !== '') return value;
  }
  return '';
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value ? ({ [key]: value } as Record<K, string>) : {};
}

function count(value: string | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) && value !== '' ? n : 0;
}

/**
 * The accession ID of a listing row. XNAT names the ID column after the root type when it is not
 * the shortcut (`xnat:subjectassessordata/id`, `xnat:mrsessiondata/id`), so fall back to those.
 */
function rowId(row: Row): string {
  const direct = cell(row, 'ID', 'id');
  if (direct) return direct;
  for (const [key, value] of Object.entries(row)) {
    if (value && /^[a-z_]+:[a-z]+\/id$/i.test(key)) return value;
  }
  return cell(row, 'session_ID');
}

export function toProject(row: Row): Project {
  return {
    id: cell(row, 'ID', 'id'),
    secondaryId: cell(row, 'secondary_ID', 'secondary_id'),
    name: cell(row, 'name'),
    description: cell(row, 'description'),
    piFirstname: cell(row, 'pi_firstname'),
    piLastname: cell(row, 'pi_lastname'),
  };
}

/** `requestingProject`: the project the listing was made in (shared subjects carry their label there). */
export function toSubject(row: Row, requestingProject?: string): Subject {
  const owningProject = cell(row, 'project');
  return {
    id: rowId(row),
    label: cell(row, 'label'),
    project: requestingProject ?? owningProject,
    owningProject,
    insertDate: toIsoTimestamp(cell(row, 'insert_date')),
    ...optional('gender', cell(row, 'gender')),
    ...optional('handedness', cell(row, 'handedness')),
    ...optional('yob', cell(row, 'yob')),
    ...optional('age', cell(row, 'age')),
    ...optional('group', cell(row, 'group')),
  };
}

export function toExperiment(row: Row, requestingProject?: string): Experiment {
  const owningProject = cell(row, 'project');
  return {
    id: rowId(row),
    label: cell(row, 'label'),
    project: requestingProject ?? owningProject,
    owningProject,
    xsiType: cell(row, 'xsiType', 'element_name'),
    date: toIsoDate(cell(row, 'date')),
    subjectId: cell(row, 'subject_ID', 'subject_id'),
    subjectLabel: cell(row, 'subject_label'),
    insertDate: toIsoTimestamp(cell(row, 'insert_date')),
  };
}

export function toScan(row: Row): Scan {
  const frames = cell(row, 'frames');
  return {
    id: cell(row, 'ID', 'id'),
    xsiType: cell(row, 'xsiType'),
    type: cell(row, 'type'),
    seriesDescription: cell(row, 'series_description'),
    quality: cell(row, 'quality'),
    note: cell(row, 'note'),
    ...(frames && Number.isInteger(Number(frames)) ? { frames: Number(frames) } : {}),
    ...optional('modality', cell(row, 'modality')),
  };
}

export function toResource(row: Row): Resource {
  return {
    id: cell(row, 'xnat_abstractresource_id'),
    label: cell(row, 'label'),
    category: cell(row, 'category'),
    categoryId: cell(row, 'cat_id'),
    format: cell(row, 'format'),
    content: cell(row, 'content'),
    fileCount: Math.trunc(count(cell(row, 'file_count'))),
    fileSize: count(cell(row, 'file_size')),
  };
}

/** Percent-decodes each `/`-separated segment of a path XNAT sent, keeping a malformed one as it is. */
export function decodeSegments(path: string): string {
  return path
    .split('/')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    })
    .join('/');
}

export function toFile(row: Row): XnatFile {
  const uri = cell(row, 'URI');
  const pathInResource = /\/resources\/[^/]+\/files\/(.+)$/.exec(uri)?.[1];
  const scan = /\/scans\/([^/]+)\/resources\//.exec(uri)?.[1];
  return {
    name: cell(row, 'Name'),
    path: pathInResource ? decodeSegments(pathInResource) : cell(row, 'Name'),
    resource: cell(row, 'collection'),
    ...(scan ? { scan: decodeSegments(scan) } : {}),
    size: count(cell(row, 'Size')),
    // Catalogs written by other tools may hold upper-case hex; every comparison uses lower case.
    digest: cell(row, 'digest').toLowerCase(),
    format: cell(row, 'file_format'),
    content: cell(row, 'file_content'),
    uri,
  };
}

export function toPrearchiveSession(row: Row): PrearchiveSession {
  return {
    project: cell(row, 'project'),
    timestamp: cell(row, 'timestamp'),
    folderName: cell(row, 'folderName'),
    name: cell(row, 'name'),
    subject: cell(row, 'subject'),
    status: cell(row, 'status'),
    scanDate: toIsoDate(cell(row, 'scan_date')),
    scanTime: cell(row, 'scan_time'),
    uploaded: toIsoTimestamp(cell(row, 'uploaded')),
    lastModified: toIsoTimestamp(cell(row, 'lastmod')),
    tag: cell(row, 'tag'),
    autoArchive: cell(row, 'autoarchive'),
    url: cell(row, 'url'),
  };
}

export function toAssessor(row: Row, sessionId: string): Assessor {
  return {
    id: rowId(row),
    label: cell(row, 'label'),
    xsiType: cell(row, 'xsiType'),
    date: toIsoDate(cell(row, 'date')),
    project: cell(row, 'project'),
    sessionId: cell(row, 'session_ID') || sessionId,
  };
}

export function toSearchElement(row: Row): SearchElement {
  return {
    elementName: cell(row, 'ELEMENT_NAME'),
    singular: cell(row, 'SINGULAR'),
    plural: cell(row, 'PLURAL'),
    secured: cell(row, 'SECURED').toLowerCase() === 'true',
    count: Math.trunc(count(cell(row, 'COUNT'))),
  };
}

export function toSearchField(row: Row): SearchField {
  return {
    fieldId: cell(row, 'FIELD_ID'),
    header: cell(row, 'HEADER'),
    summary: cell(row, 'SUMMARY'),
    type: cell(row, 'TYPE'),
    requiresValue: cell(row, 'REQUIRES_VALUE').toLowerCase() === 'true',
    description: cell(row, 'DESC'),
    elementName: cell(row, 'ELEMENT_NAME'),
  };
}

export function toSavedSearch(row: Row): SavedSearch {
  return {
    id: cell(row, 'id'),
    rootElement: cell(row, 'root_element_name'),
    briefDescription: cell(row, 'brief_description'),
    description: cell(row, 'description'),
    tag: cell(row, 'tag'),
  };
}

function childItems(node: ItemNode, field: string): ItemNode[] {
  return node.children.filter((child) => child.field === field).flatMap((child) => child.items);
}

function xsiType(node: ItemNode): string {
  const type = node.meta['xsi:type'];
  return typeof type === 'string' ? type : '';
}

/** Custom variables: `fields/field` children with `name`/`field` data fields. */
function customFields(node: ItemNode): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const item of childItems(node, 'fields/field')) {
    const name = item.dataFields.name;
    if (name) fields[name] = item.dataFields.field ?? '';
  }
  return fields;
}

function shares(node: ItemNode): Share[] {
  return childItems(node, 'sharing/share').map((item) => ({
    project: item.dataFields.project ?? '',
    label: item.dataFields.label ?? '',
  }));
}

/** The label an object has in `project`: its own in the owning project, the share's label elsewhere. */
function labelIn(node: ItemNode, project: string | undefined): string {
  const own = node.dataFields.label ?? '';
  if (!project || project === node.dataFields.project) return own;
  return shares(node).find((share) => share.project === project)?.label || own;
}

/** The project an addressed object is seen through: the one in the request path, else its owner. */
function requestingProject(node: ItemNode, project: string | undefined): string {
  const owning = node.dataFields.project ?? '';
  if (!project) return owning;
  // The path may have named the project by an alias; report the canonical ID of a share or the owner.
  return project === owning || shares(node).some((share) => share.project === project) ? project : owning;
}

export function projectDetailFromItem(node: ItemNode, subjects: Row[], experiments: Row[]): ProjectDetail {
  const f = node.dataFields;
  const pi = childItems(node, 'PI')[0]?.dataFields ?? {};
  const experimentTypes: Record<string, number> = {};
  for (const row of experiments) {
    const type = cell(row, 'xsiType') || 'unknown';
    experimentTypes[type] = (experimentTypes[type] ?? 0) + 1;
  }
  return {
    id: f.ID ?? f.id ?? '',
    secondaryId: f.secondary_ID ?? '',
    name: f.name ?? '',
    description: f.description ?? '',
    piFirstname: f['PI/firstname'] ?? pi.firstname ?? '',
    piLastname: f['PI/lastname'] ?? pi.lastname ?? '',
    keywords: f.keywords ?? '',
    aliases: childItems(node, 'aliases/alias')
      .map((item) => item.dataFields.alias ?? '')
      .filter((alias) => alias !== ''),
    fields: customFields(node),
    subjectCount: subjects.length,
    experimentCount: experiments.length,
    experimentTypes,
  };
}

const DEMOGRAPHIC_META = /(_id|^xsi:type|^meta\/)/i;

function demographics(node: ItemNode): Record<string, string> {
  const out: Record<string, string> = {};
  const child = childItems(node, 'demographics')[0];
  for (const [key, value] of Object.entries(child?.dataFields ?? {})) {
    if (!DEMOGRAPHIC_META.test(key) && value !== '') out[key] = value;
  }
  // Some XNAT versions flatten the single demographics child into `demographics/<field>` keys.
  for (const [key, value] of Object.entries(node.dataFields)) {
    if (key.startsWith('demographics/') && value !== '') out[key.slice('demographics/'.length)] = value;
  }
  return out;
}

export function subjectDetailFromItem(
  node: ItemNode,
  project: string | undefined,
  experiments: Experiment[],
): SubjectDetail {
  const f = node.dataFields;
  const demo = demographics(node);
  return {
    id: f.ID ?? f.id ?? '',
    label: labelIn(node, project),
    project: requestingProject(node, project),
    owningProject: f.project ?? '',
    insertDate: toIsoTimestamp(f.insert_date),
    ...optional('gender', demo.gender),
    ...optional('handedness', demo.handedness),
    ...optional('yob', demo.yob),
    ...optional('age', demo.age),
    ...optional('group', f.group),
    demographics: demo,
    fields: customFields(node),
    shares: shares(node),
    experiments,
  };
}

/** data_fields that the ExperimentDetail model carries explicitly (everything else is an attribute). */
const EXPERIMENT_CORE_FIELDS = new Set([
  'ID',
  'id',
  'label',
  'project',
  'date',
  'time',
  'visit_id',
  'modality',
  'note',
  'subject_ID',
  'insert_date',
]);

function numberOf(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function axesOf(
  f: Record<string, string>,
  prefix: string,
): { x?: number; y?: number; z?: number } | undefined {
  const axes = Object.fromEntries(
    (['x', 'y', 'z'] as const)
      .map((axis) => [axis, numberOf(f[`${prefix}/${axis}`])] as const)
      .filter(([, v]) => v !== undefined),
  );
  return Object.keys(axes).length > 0 ? axes : undefined;
}

/** The acquisition parameters among a scan item's data fields (`parameters/tr`, `scanner/model`, ...). */
function scanParameters(f: Record<string, string>): ScanParameters | undefined {
  const scanner = [f['scanner/manufacturer'], f['scanner/model']].filter((v) => v).join(' ');
  const parameters: ScanParameters = {
    tr: numberOf(f['parameters/tr']),
    te: numberOf(f['parameters/te']),
    ti: numberOf(f['parameters/ti']),
    flip: numberOf(f['parameters/flip']),
    voxelRes: axesOf(f, 'parameters/voxelRes'),
    fov: axesOf(f, 'parameters/fov'),
    orientation: f['parameters/orientation'] || undefined,
    kvp: numberOf(f['parameters/kvp']),
    scanner: scanner || undefined,
    fieldStrength: f.fieldStrength || undefined,
  };
  const present = Object.entries(parameters).filter(([, v]) => v !== undefined);
  return present.length > 0 ? (Object.fromEntries(present) as ScanParameters) : undefined;
}

export function scanFromItem(node: ItemNode): Scan {
  const f = node.dataFields;
  const frames = f.frames;
  const parameters = scanParameters(f);
  return {
    id: f.ID ?? f.id ?? '',
    xsiType: xsiType(node),
    type: f.type ?? '',
    seriesDescription: f.series_description ?? '',
    quality: f.quality ?? '',
    note: f.note ?? '',
    ...(frames && Number.isInteger(Number(frames)) ? { frames: Number(frames) } : {}),
    ...optional('modality', f.modality),
    ...(parameters ? { parameters } : {}),
  };
}

export function experimentDetailFromItem(
  node: ItemNode,
  context: {
    project: string | undefined;
    status: 'active' | 'quarantine';
    resources: Resource[];
    subjectLabel: string;
    /** From a listing row: item documents carry no insert date. */
    insertDate?: string;
  },
): ExperimentDetail {
  const f = node.dataFields;
  const id = f.ID ?? f.id ?? '';
  const filesPerScan = new Map<string, number>();
  for (const resource of context.resources) {
    if (resource.category === 'scans') {
      filesPerScan.set(
        resource.categoryId,
        (filesPerScan.get(resource.categoryId) ?? 0) + resource.fileCount,
      );
    }
  }
  const scans = childItems(node, 'scans/scan').map((item) => {
    const scan = scanFromItem(item);
    const fileCount = filesPerScan.get(scan.id);
    return fileCount === undefined ? scan : { ...scan, fileCount };
  });
  const project = requestingProject(node, context.project);
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(f)) {
    if (!EXPERIMENT_CORE_FIELDS.has(key)) attributes[key] = value;
  }
  return {
    id,
    label: labelIn(node, context.project),
    project,
    owningProject: f.project ?? '',
    xsiType: xsiType(node),
    date: toIsoDate(f.date),
    subjectId: f.subject_ID ?? '',
    subjectLabel: context.subjectLabel,
    insertDate: toIsoTimestamp(context.insertDate || f.insert_date),
    time: f.time ?? '',
    visitId: f.visit_id ?? '',
    modality: f.modality ?? '',
    note: f.note ?? '',
    status: context.status,
    fields: customFields(node),
    attributes,
    shares: shares(node),
    scans,
    resources: context.resources,
    assessors: childItems(node, 'assessors/assessor').map((item) => ({
      id: item.dataFields.ID ?? item.dataFields.id ?? '',
      label: item.dataFields.label ?? '',
      xsiType: xsiType(item),
      date: toIsoDate(item.dataFields.date),
      project: item.dataFields.project ?? '',
      sessionId: item.dataFields.imageSession_ID || id,
    })),
  };
}

/** `/status` answers `quarantine` or `active` as plain text. */
export function parseStatus(body: string, edge: Edge): 'active' | 'quarantine' {
  const status = body.trim().toLowerCase();
  if (status === 'active' || status === 'quarantine') return status;
  throw protocolError(edge, `an unknown status "${body.trim().slice(0, 40)}"`);
}

/** `/data/auth` answers `User '<login>' is logged in`. */
export function parseAuthUser(body: string, edge: Edge): string {
  const user = /User '([^']+)' is logged in/.exec(body)?.[1];
  if (user === undefined) throw protocolError(edge, 'an unexpected answer to "who am I"');
  return user;
}

const BuildInfoSchema = z.looseObject({
  version: z.union([z.string(), z.number()]).transform(String),
  buildNumber: z.union([z.string(), z.number()]).transform(String).optional(),
});

export function parseBuildInfo(body: string, edge: Edge): { version: string; buildNumber?: string } {
  const info = validate(BuildInfoSchema, parseJson(body, edge), edge, 'build information');
  return { version: info.version, ...(info.buildNumber ? { buildNumber: info.buildNumber } : {}) };
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A `/data/search?format=json` answer: `Columns` metadata, string rows, `totalRecords`. */
export function toSearchResult(table: Table, rootElement: string): SearchResult {
  const columns = (table.columns ?? []).map((column) => {
    const header = optionalString(column.header);
    const fieldId = optionalString(column.id);
    const element = optionalString(column.element_name);
    return {
      key: column.key,
      ...(header !== undefined ? { header } : {}),
      ...(fieldId !== undefined ? { fieldId } : {}),
      ...(element !== undefined ? { element } : {}),
    };
  });
  return {
    rootElement: table.rootElementName ?? rootElement,
    columns,
    rows: table.rows,
    total: table.totalRecords ?? table.rows.length,
  };
}

/** A dicomdump row (`tag1, tag2, vr, value, desc`): `tag2` set means an element inside `tag1`'s sequence item. */
export function toDicomElement(row: Row): DicomElement {
  const tag1 = row.tag1 ?? '';
  const tag2 = row.tag2 ?? '';
  // XNAT's row for each item of a sequence repeats the sequence's tag in tag2.
  const nested = tag2 !== '' && tag2 !== tag1;
  const tag = nested ? tag2 : tag1;
  const group = parseInt(tag.slice(1, 5), 16);
  return {
    tag,
    ...(nested ? { parent: tag1 } : {}),
    vr: row.vr ?? '',
    value: decodeEntities(row.value ?? ''),
    name: decodeEntities(row.desc ?? ''),
    private: Number.isFinite(group) && group % 2 === 1,
  };
}
