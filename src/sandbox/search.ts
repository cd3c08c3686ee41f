/**
 * XNAT's search engine over the sandbox archive (`POST /data/search`, `/data/search/elements`):
 * resolves a parsed `xdat:bundle`'s fields and criteria, joins the elements it refers to, evaluates
 * the criteria tree against the records the user may read, and returns XNAT's result table (row
 * keys, `Columns` metadata and the trailing `quarantine_status`). The server renders the tables.
 */
import { canReadProject } from './access.js';
import { SandboxHttpError } from './errors.js';
import type { SandboxArchive, SandboxUser, StoredElement } from './model.js';
import {
  parseBundle,
  type CriteriaSet,
  type SearchBundle,
  type SearchCriteria,
  type SearchField,
} from './search-bundle.js';
import { predicate, type Predicate } from './search-compare.js';
import { fieldsOf, findField, listedFields, type DisplayField, type FieldType } from './search-display.js';
import {
  ELEMENTS,
  canQuery,
  createEnv,
  entityId,
  findElement,
  relate,
  rootEntities,
  sqlName,
  type ElementDef,
  type Entity,
  type Env,
} from './search-elements.js';
import { xpathReader, xpathType } from './search-xpath.js';
import { sortRows } from './table.js';
import { isSameType } from './types.js';

export { parseBundle, type SearchBundle } from './search-bundle.js';

// ---------------------------------------------------------------------------------------------
// Resolving search fields and criteria fields

interface ResolvedColumn {
  def: ElementDef;
  key: string;
  meta: Record<string, string>;
  value: (entity: Entity, env: Env) => string;
}

const compact = (s: string): string => s.replace(/[^A-Za-z0-9]/g, '');

function unknownElement(name: string): SandboxHttpError {
  return new SandboxHttpError(
    400,
    `Unknown or unsearchable data type "${name}" (see GET /data/search/elements).`,
  );
}

function resolveColumn(field: SearchField, root: ElementDef): ResolvedColumn {
  const def = findElement(field.elementName);
  if (!def) throw unknownElement(field.elementName);
  const prefix = isSameType(def.name, root.name) ? '' : `${sqlName(def.name)}_`;
  const slash = field.fieldId.indexOf('/');
  const boundField = slash > 0 ? fieldForXmlPath(def, field.fieldId) : undefined;
  if (slash > 0 && !boundField) {
    // xnatpy sends xpaths as field IDs; XNAT turns them into XNAT_COL_<type local name><path> columns.
    const pathElement = findElement(field.fieldId.slice(0, slash));
    if (!pathElement) throw unknownElement(field.fieldId.slice(0, slash));
    const reader = xpathReader(pathElement, field.fieldId.slice(slash + 1));
    if (!reader) throw unknownField(field.fieldId, pathElement);
    const id = `XNAT_COL_${compact(field.fieldId.slice(field.fieldId.indexOf(':') + 1))}`.toUpperCase();
    return {
      def: pathElement,
      key: `${prefix}${id}`.toLowerCase(),
      meta: columnMeta(`${prefix}${id}`.toLowerCase(), def.name, id, field.header || field.fieldId, 'string'),
      value: (entity) => reader(entity).join(','),
    };
  }
  const eq = field.fieldId.indexOf('=');
  const bareId = eq >= 0 ? field.fieldId.slice(0, eq) : field.fieldId;
  const display = boundField ?? findField(def, bareId);
  if (!display) throw unknownField(field.fieldId, def);
  // A sub-query field without a value runs its sub-query for NULL (DisplaySearch): an empty column keyed by the bare ID.
  const valued = display.requiresValue && field.value !== '';
  const id = valued ? `${display.id}=${field.value}` : display.id;
  const key = (
    valued ? `${prefix}${display.id}_${field.value.replace(/[^A-Za-z0-9_]/g, '')}` : `${prefix}${display.id}`
  ).toLowerCase();
  return {
    def,
    key,
    meta: columnMeta(key, def.name, id, field.header || display.header, display.type),
    value: (entity, env) => display.value(entity, env, field.value),
  };
}

/**
 * `SchemaElement.getDisplayFieldForXMLPath`: an xpath of the searched type answers as the first display
 * field whose document names that one schema element and no Content (`xnat:mrSessionData/ID` is
 * `SESSION_ID`, keyed `session_id`); only other xpaths become XNAT_COL_ columns.
 */
function fieldForXmlPath(def: ElementDef, xmlPath: string): DisplayField | undefined {
  const slash = xmlPath.indexOf('/');
  if (!isSameType(xmlPath.slice(0, slash), def.name)) return undefined;
  const path = xmlPath.slice(slash + 1).toLowerCase();
  return fieldsOf(def).find((f) => f.schemaPath?.toLowerCase() === path);
}

function columnMeta(
  key: string,
  elementName: string,
  id: string,
  header: string,
  type: string,
): Record<string, string> {
  return { key, element_name: elementName, id, xPATH: `${elementName}.${id}`, header, type };
}

function unknownField(fieldId: string, def: ElementDef): SandboxHttpError {
  return new SandboxHttpError(
    400,
    `Unknown search field "${fieldId}" for ${def.name} (see GET /data/search/elements/${def.name}).`,
  );
}

interface ResolvedCriteria {
  def: ElementDef;
  type: FieldType;
  /** A display field (DisplayCriteria), not a schema path (ElementCriteria). */
  display: boolean;
  read: (entity: Entity, env: Env) => string[];
}

/** A criteria `schema_field`: a display field (`xnat:mrSessionData.PROJECT`, `...SUB_PROJECT_IDENTIFIER=P`) or an xpath. */
function resolveCriteriaField(schemaField: string): ResolvedCriteria {
  const separator = /[./]/.exec(schemaField);
  if (!separator) throw new SandboxHttpError(400, `Invalid search criteria field "${schemaField}".`);
  const def = findElement(schemaField.slice(0, separator.index));
  if (!def) throw unknownElement(schemaField.slice(0, separator.index));
  const rest = schemaField.slice(separator.index + 1);
  const eq = rest.indexOf('=');
  const displayId = separator[0] === '.' && eq >= 0 ? rest.slice(0, eq) : rest;
  const display = findField(def, displayId);
  if (display && (separator[0] === '.' || !xpathReader(def, rest))) {
    const param = eq >= 0 ? rest.slice(eq + 1) : '';
    return {
      def,
      type: display.type,
      display: true,
      read: (entity, env) => {
        const v = display.value(entity, env, param);
        return v === '' ? [] : [v];
      },
    };
  }
  const reader = xpathReader(def, rest);
  if (!reader) throw unknownField(rest, def);
  return {
    def,
    type: xpathType(rest),
    display: false,
    read: (entity) => reader(entity),
  };
}

/** One result row before projection: the entity of each element the search refers to (absent: no match in a left join). */
type Row = Map<string, Entity | undefined>;

function evaluate(
  set: CriteriaSet,
  row: Row,
  env: Env,
  compiled: Map<SearchCriteria, CompiledCriteria>,
): boolean {
  const results: boolean[] = [];
  for (const c of set.criteria) {
    const criteria = compiled.get(c);
    if (!criteria) continue;
    const entity = row.get(criteria.field.def.name);
    results.push(criteria.test(entity ? criteria.field.read(entity, env) : []));
  }
  for (const child of set.childSets) results.push(evaluate(child, row, env, compiled));
  if (results.length === 0) return true;
  return set.method === 'OR' ? results.some(Boolean) : results.every(Boolean);
}

interface CompiledCriteria {
  field: ResolvedCriteria;
  test: Predicate;
}

function compileCriteria(set: CriteriaSet | undefined, into: Map<SearchCriteria, CompiledCriteria>): void {
  if (!set) return;
  for (const c of set.criteria) {
    const field = resolveCriteriaField(c.schemaField);
    into.set(c, { field, test: predicate(c.comparison, c.value, field.type, field.display) });
  }
  for (const child of set.childSets) compileCriteria(child, into);
}

/** A search result as XNAT's SearchResource builds it: `Columns` metadata (key first, `quarantine_status` last) and rows. */
export interface SearchResult {
  columns: Array<Record<string, string>>;
  rows: Array<Record<string, string>>;
  rootElementName: string;
}

/** Runs a parsed search for a user: only rows of projects they may read; 403 when they may query nothing. */
export function executeSearch(
  archive: SandboxArchive,
  user: SandboxUser,
  bundle: SearchBundle,
): SearchResult {
  const root = findElement(bundle.rootElementName);
  if (!root) throw unknownElement(bundle.rootElementName);
  const env = createEnv(archive, user);
  if (!canQuery(env, root)) {
    throw new SandboxHttpError(403, `The user ${user.login} has no permission to query ${root.name}.`);
  }
  const columns = bundle.fields.map((f) => resolveColumn(f, root));
  const compiled = new Map<SearchCriteria, CompiledCriteria>();
  compileCriteria(bundle.where, compiled);

  // Every element other than the root that a column or a criteria refers to is joined in, in order.
  const joined: ElementDef[] = [];
  const note = (def: ElementDef) => {
    if (!isSameType(def.name, root.name) && !joined.some((j) => j.name === def.name)) joined.push(def);
  };
  columns.forEach((c) => note(c.def));
  for (const c of compiled.values()) note(c.field.def);
  const displayed = new Set(columns.map((c) => c.def.name));

  const resultRows: Array<Record<string, string>> = [];
  const seen = new Set<string>();
  for (const rootEntity of rootEntities(env, root)) {
    let rows: Row[] = [new Map([[root.name, rootEntity]])];
    for (const def of joined) {
      const related = relate(env, rootEntity, def);
      // A left join: rows without a related record keep empty cells for that element.
      const targets: Array<Entity | undefined> = related.length > 0 ? related : [undefined];
      rows = rows.flatMap((r) => targets.map((t) => new Map(r).set(def.name, t)));
    }
    for (const row of rows) {
      if (bundle.where && !evaluate(bundle.where, row, env, compiled)) continue;
      // Elements joined only for criteria act as an EXISTS filter: one row per displayed combination.
      const identity = [...row.entries()]
        .filter(([name]) => name === root.name || displayed.has(name))
        .map(([, e]) => entityId(e))
        .join('\u0000');
      if (seen.has(identity)) continue;
      seen.add(identity);
      const out: Record<string, string> = {};
      for (const column of columns) {
        const entity = row.get(column.def.name);
        out[column.key] = entity ? column.value(entity, env) : '';
      }
      out.quarantine_status =
        rootEntity.kind === 'project' || rootEntity.kind === 'scan' ? 'active' : rootEntity.item.status;
      resultRows.push(out);
    }
  }

  const sortBy = bundle.sortBy;
  const sortColumn =
    sortBy && columns.find((c) => isSameType(c.def.name, sortBy.elementName) && c.meta.id === sortBy.fieldId);
  if (sortColumn) sortRows(resultRows, sortColumn.key, 'ASC');

  const keys = [...new Set(columns.map((c) => c.key))];
  return {
    columns: [
      ...keys.map((k) => columns.find((c) => c.key === k)?.meta ?? { key: k }),
      { key: 'quarantine_status' },
    ],
    rows: resultRows,
    rootElementName: root.name,
  };
}

/** Whether the user may search a data type at all (XNAT's `Permissions.canQuery`); 400 for unknown types. */
export function canQueryElement(archive: SandboxArchive, user: SandboxUser, elementName: string): boolean {
  const root = findElement(elementName);
  if (!root) throw unknownElement(elementName);
  return canQuery(createEnv(archive, user), root);
}

/** `POST /data/search`: parse and run. */
export function runSearch(archive: SandboxArchive, user: SandboxUser, body: string | Buffer): SearchResult {
  return executeSearch(archive, user, parseBundle(body));
}

// ---------------------------------------------------------------------------------------------
// `/data/search/elements` and `/data/search/elements/{type}`

/** Searchable data types with how many records of each the user can read. */
export function searchElementRows(archive: SandboxArchive, user: SandboxUser): Array<Record<string, string>> {
  const env = createEnv(archive, user);
  return ELEMENTS.filter((e) => e.listed).map((e) => ({
    ELEMENT_NAME: e.name,
    SINGULAR: e.singular,
    PLURAL: e.plural,
    SECURED: 'true',
    COUNT: String(rootEntities(env, e).length),
  }));
}

/**
 * `/data/search/elements/{type}` (SearchFieldListResource): the type's display fields (sub-query
 * fields have REQUIRES_VALUE true), then for types with a project, one `<X>_PROJECT_IDENTIFIER=<P>`
 * row (SRC 2) per project whose data the user may read; undefined for unknown types (404).
 */
export function searchFieldRows(
  archive: SandboxArchive,
  user: SandboxUser,
  type: string,
): Array<Record<string, string>> | undefined {
  const def = findElement(type);
  if (!def) return undefined;
  const fields = fieldsOf(def);
  const rows: Array<Record<string, string>> = listedFields(def).map((f) => ({
    FIELD_ID: f.id,
    HEADER: f.header,
    SUMMARY: f.description,
    TYPE: f.type,
    REQUIRES_VALUE: String(f.requiresValue),
    DESC: f.description,
    ELEMENT_NAME: def.name,
    SRC: '0',
  }));
  const identifier = fields.find((f) => f.id.toUpperCase().endsWith('PROJECT_IDENTIFIER'));
  if (!identifier || def.kind === 'project') return rows;
  const projects = [...archive.projects.values()].filter((p) => canReadProject(p, user)).map((p) => p.id);
  const custom = customVariables(archive, def);
  const labels: Array<Record<string, string>> = [];
  for (const project of projects.sort()) {
    // Each custom variable once (SELECT DISTINCT ON (name)), under the project it was found in.
    for (const [name, found] of custom) {
      if (found.project !== project) continue;
      const summary = `Custom Field: ${name}`;
      rows.push({
        FIELD_ID: `${sqlName(def.name).toUpperCase()}_FIELD_MAP=${name.toLowerCase()}`,
        HEADER: name,
        SUMMARY: summary,
        TYPE: found.type,
        REQUIRES_VALUE: 'false',
        DESC: summary,
        ELEMENT_NAME: def.name,
        SRC: '1',
      });
    }
    const summary = `Label within the ${project} project.`;
    labels.push({
      FIELD_ID: `${identifier.id}=${project}`,
      HEADER: project,
      SUMMARY: summary,
      TYPE: 'string',
      REQUIRES_VALUE: 'false',
      DESC: summary,
      ELEMENT_NAME: def.name,
      SRC: '2',
    });
  }
  return [...rows, ...labels];
}

const localName = (name: string): string => name.slice(name.indexOf(':') + 1);
const attribute = (el: StoredElement, name: string): string =>
  el.attributes.find(([k]) => k === name)?.[1] ?? '';

/**
 * The custom variables projects define for a data type (their `xnat:datatypeProtocol` study protocols'
 * `type="custom"` fields), each name once with the first project defining it and its datatype.
 */
function customVariables(
  archive: SandboxArchive,
  def: ElementDef,
): Map<string, { project: string; type: string }> {
  const found = new Map<string, { project: string; type: string }>();
  const fieldsOf = (el: StoredElement): StoredElement[] =>
    el.children.flatMap((c) => (localName(c.name) === 'field' ? [c] : fieldsOf(c)));
  for (const project of [...archive.projects.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    for (const protocol of project.studyProtocols ?? []) {
      if (
        localName(protocol.name) !== 'studyProtocol' ||
        !isSameType(attribute(protocol, 'data-type'), def.name)
      ) {
        continue;
      }
      for (const field of fieldsOf(protocol)) {
        const name = attribute(field, 'name');
        if (name === '' || attribute(field, 'type') !== 'custom' || found.has(name)) continue;
        found.set(name, { project: project.id, type: attribute(field, 'datatype') || 'string' });
      }
    }
  }
  return found;
}
