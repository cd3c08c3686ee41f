/**
 * XNAT's search engine over the sandbox archive (`POST /data/search`, `/data/search/elements`):
 * parses `xdat:bundle` documents, evaluates the criteria tree against the records the user may read,
 * and returns XNAT's result table (row keys, `Columns` metadata and the trailing `quarantine_status`).
 *
 * Display-field IDs follow XNAT's display documents where they are known from recorded searches
 * (`SUBJECT_LABEL`, `SUB_PROJECT_IDENTIFIER`, `GENDER_TEXT`, `MR_SCAN_COUNT_AGG`, ...); the rest are
 * named in the same style. The server routes HTTP to these functions and renders the tables.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import * as z from 'zod';

import { canListProject, canReadItem, canReadProject, projectsOf } from './access.js';
import { SandboxHttpError } from './errors.js';
import type {
  SandboxArchive,
  SandboxUser,
  StoredExperiment,
  StoredProject,
  StoredScan,
  StoredSubject,
} from './model.js';
import { experimentIsA, experimentKind, isSameType, typeLineage } from './types.js';

// ---------------------------------------------------------------------------------------------
// The search document

export interface SearchField {
  elementName: string;
  fieldId: string;
  header: string;
  /** The value of a `FIELD_ID=value` field, from the ID or the `value` element. */
  value: string;
}

export interface SearchCriteria {
  schemaField: string;
  comparison: string;
  value: string;
}

export interface CriteriaSet {
  method: 'AND' | 'OR';
  criteria: SearchCriteria[];
  childSets: CriteriaSet[];
}

export interface SearchBundle {
  rootElementName: string;
  fields: SearchField[];
  where: CriteriaSet | undefined;
}

/** Text content of an element that may also carry attributes (`{'#text': ...}`). */
const text = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && '#text' in v ? (v as { '#text': unknown })['#text'] : v),
  z.union([z.string(), z.number(), z.boolean()]).transform(String),
);

const RawField = z.object({
  element_name: text,
  field_ID: text,
  header: text.optional(),
  value: text.optional(),
  sequence: text.optional(),
});

const RawCriteria = z.object({
  schema_field: text,
  comparison_type: text,
  value: text.optional(),
});

interface RawSet {
  '@_method'?: string | undefined;
  criteria?: Array<z.infer<typeof RawCriteria>> | undefined;
  child_set?: RawSet[] | undefined;
}

const RawSetSchema: z.ZodType<RawSet> = z.lazy(() =>
  z.object({
    '@_method': z.string().optional(),
    criteria: z.array(RawCriteria).optional(),
    child_set: z.array(RawSetSchema).optional(),
  }),
);

const RawBundle = z.object({
  root_element_name: text,
  search_field: z.array(RawField).optional(),
  search_where: z.array(RawSetSchema).optional(),
});

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => ['search_field', 'search_where', 'criteria', 'child_set'].includes(name),
});

function criteriaSet(raw: RawSet): CriteriaSet {
  return {
    method: raw['@_method']?.trim().toUpperCase() === 'OR' ? 'OR' : 'AND',
    criteria: (raw.criteria ?? []).map((c) => ({
      schemaField: c.schema_field.trim(),
      comparison: c.comparison_type,
      value: c.value ?? '',
    })),
    childSets: (raw.child_set ?? []).map(criteriaSet),
  };
}

/** Parses an `xdat:bundle` (raw XML, or a multipart body holding it); 422 when it is not one. */
export function parseBundle(body: string | Buffer): SearchBundle {
  const source = typeof body === 'string' ? body : body.toString('utf8');
  // A multipart upload wraps the document in boundaries and part headers: keep the XML itself.
  const start = source.indexOf('<');
  const end = source.lastIndexOf('>');
  const xml = start >= 0 && end > start ? source.slice(start, end + 1) : '';
  if (xml === '' || XMLValidator.validate(xml) !== true) {
    throw new SandboxHttpError(
      422,
      'Unable to parse the search document: the request body is not well-formed XML.',
    );
  }
  const document: unknown = parser.parse(xml);
  const root =
    document !== null && typeof document === 'object'
      ? ((document as Record<string, unknown>).bundle ?? (document as Record<string, unknown>).stored_search)
      : undefined;
  const parsed = RawBundle.safeParse(root);
  if (!parsed.success) {
    throw new SandboxHttpError(
      422,
      'The request body is not an xdat:bundle search document (it needs xdat:root_element_name and xdat:search_field elements).',
    );
  }
  const where = parsed.data.search_where?.[0];
  return {
    rootElementName: parsed.data.root_element_name.trim(),
    fields: (parsed.data.search_field ?? [])
      .map((f, index) => ({ f, index, sequence: Number(f.sequence ?? Number.NaN) }))
      .sort((a, b) => a.sequence - b.sequence || a.index - b.index)
      .map(({ f }) => {
        const fieldId = f.field_ID.trim();
        const eq = fieldId.indexOf('=');
        return {
          elementName: f.element_name.trim(),
          fieldId,
          header: f.header?.trim() ?? '',
          value: eq >= 0 ? fieldId.slice(eq + 1) : (f.value?.trim() ?? ''),
        };
      }),
    where: where ? criteriaSet(where) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Searchable elements

type Kind = 'project' | 'subject' | 'experiment' | 'scan';

type Entity =
  | { kind: 'project'; item: StoredProject }
  | { kind: 'subject'; item: StoredSubject }
  | { kind: 'experiment'; item: StoredExperiment }
  | { kind: 'scan'; item: StoredScan; session: StoredExperiment };

interface ElementDef {
  name: string;
  kind: Kind;
  singular: string;
  plural: string;
  /** Listed by `/data/search/elements` (abstract types and scans are searchable but not listed). */
  listed: boolean;
}

const element = (name: string, kind: Kind, singular: string, plural: string, listed = true): ElementDef => ({
  name,
  kind,
  singular,
  plural,
  listed,
});

const session = (modality: string, label = modality): ElementDef =>
  element(`xnat:${modality.toLowerCase()}SessionData`, 'experiment', `${label} Session`, `${label} Sessions`);

const ELEMENTS: readonly ElementDef[] = [
  element('xnat:projectData', 'project', 'Project', 'Projects'),
  element('xnat:subjectData', 'subject', 'Subject', 'Subjects'),
  session('MR'),
  session('PET'),
  session('CT'),
  element('xnat:petmrSessionData', 'experiment', 'PET/MR Session', 'PET/MR Sessions'),
  session('CR'),
  session('DX'),
  session('MG'),
  session('NM'),
  session('RF'),
  session('US'),
  session('XA'),
  session('MEG'),
  session('EEG'),
  element('xnat:otherDicomSessionData', 'experiment', 'Other DICOM Session', 'Other DICOM Sessions'),
  element('xnat:qcManualAssessorData', 'experiment', 'Manual QC', 'Manual QCs'),
  element('xnat:qcAssessmentData', 'experiment', 'Auto QC', 'Auto QCs'),
  element('xnat:experimentData', 'experiment', 'Experiment', 'Experiments', false),
  element('xnat:subjectAssessorData', 'experiment', 'Subject Assessor', 'Subject Assessors', false),
  element('xnat:imageSessionData', 'experiment', 'Image Session', 'Image Sessions', false),
  element('xnat:imageAssessorData', 'experiment', 'Image Assessor', 'Image Assessors', false),
  element('xnat:imageScanData', 'scan', 'Scan', 'Scans', false),
  element('xnat:mrScanData', 'scan', 'MR Scan', 'MR Scans', false),
  element('xnat:petScanData', 'scan', 'PET Scan', 'PET Scans', false),
  element('xnat:ctScanData', 'scan', 'CT Scan', 'CT Scans', false),
];

function findElement(name: string): ElementDef | undefined {
  return ELEMENTS.find((e) => isSameType(e.name, name));
}

/** `xnat:subjectData` → `xnat_subjectdata`: how XNAT prefixes row keys of joined elements. */
const sqlName = (elementName: string): string => elementName.replace(':', '_').toLowerCase();

const isSessionType = (name: string): boolean => /SessionData$/i.test(name);
const isAssessorType = (name: string): boolean =>
  typeLineage(name).some((t) => isSameType(t, 'xnat:imageAssessorData')) && !isSessionType(name);

// ---------------------------------------------------------------------------------------------
// Display fields

type FieldType = 'string' | 'date' | 'integer' | 'float';

/** What evaluating a search needs: the archive, the user, and indexes built on first use. */
interface Env {
  archive: SandboxArchive;
  user: SandboxUser;
  /** Experiments by `subject_ID`, and image assessors by the session they assess. */
  experimentsOfSubject: (subjectId: string) => StoredExperiment[];
  assessorsOfSession: (sessionId: string) => StoredExperiment[];
}

function createEnv(archive: SandboxArchive, user: SandboxUser): Env {
  let bySubject: Map<string, StoredExperiment[]> | undefined;
  let bySession: Map<string, StoredExperiment[]> | undefined;
  const index = (key: (e: StoredExperiment) => string) => {
    const map = new Map<string, StoredExperiment[]>();
    for (const e of archive.experiments.values()) {
      const k = key(e);
      if (k === '') continue;
      const list = map.get(k);
      if (list) list.push(e);
      else map.set(k, [e]);
    }
    return map;
  };
  return {
    archive,
    user,
    experimentsOfSubject: (id) => (bySubject ??= index((e) => e.subjectId)).get(id) ?? [],
    assessorsOfSession: (id) => (bySession ??= index((e) => e.imageSessionId)).get(id) ?? [],
  };
}

interface DisplayField {
  id: string;
  header: string;
  type: FieldType;
  description: string;
  requiresValue: boolean;
  value: (entity: Entity, env: Env, param: string) => string;
}

function displayField<K extends Kind>(
  kind: K,
  id: string,
  header: string,
  type: FieldType,
  get: (item: Extract<Entity, { kind: K }>, env: Env, param: string) => string,
  description = header,
  requiresValue = false,
): DisplayField {
  return {
    id,
    header,
    type,
    description,
    requiresValue,
    value: (entity, env, param) =>
      entity.kind === kind ? get(entity as Extract<Entity, { kind: K }>, env, param) : '',
  };
}

const str = (v: string | number | undefined): string => (v === undefined ? '' : String(v));

/** XNAT renders `PROJECTS` as `,<P1>,<P2>` (owning project first), which `LIKE %<P>%` criteria rely on. */
const projectsCell = (item: StoredSubject | StoredExperiment): string =>
  projectsOf(item)
    .map((p) => `,<${p}>`)
    .join('');

const labelInProject = (item: StoredSubject | StoredExperiment, project: string): string =>
  item.project === project ? item.label : (item.shares.find((s) => s.project === project)?.label ?? '');

const fieldValue = (fields: Record<string, string>, name: string): string =>
  Object.entries(fields).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ?? '';

function subjectOf(env: Env, experiment: StoredExperiment): StoredSubject | undefined {
  if (experiment.subjectId) return env.archive.subjects.get(experiment.subjectId);
  const assessed = env.archive.experiments.get(experiment.imageSessionId);
  return assessed ? env.archive.subjects.get(assessed.subjectId) : undefined;
}

const GENDER_TEXT: Record<string, string> = { male: 'M', m: 'M', female: 'F', f: 'F', other: 'O' };
const HANDEDNESS_TEXT: Record<string, string> = { right: 'R', left: 'L', ambidextrous: 'A' };

function yearOfBirth(subject: StoredSubject | undefined): number | undefined {
  const d = subject?.demographics;
  if (d?.yob !== undefined) return d.yob;
  return d?.dob ? Number(d.dob.slice(0, 4)) : undefined;
}

/** Age at the session: from the birth date when known, else from the year of birth. */
function ageAt(subject: StoredSubject | undefined, date: string): string {
  const d = subject?.demographics;
  if (!d || !date) return d?.age === undefined ? '' : String(d.age);
  if (d.dob) {
    const years = (Date.parse(date) - Date.parse(d.dob)) / (365.25 * 86_400_000);
    return String(Math.round(years * 10) / 10);
  }
  if (d.yob !== undefined) return String(Number(date.slice(0, 4)) - d.yob);
  return d.age === undefined ? '' : String(d.age);
}

function customFieldMap(kind: 'subject' | 'experiment' | 'project', elementName: string): DisplayField {
  return {
    id: `${sqlName(elementName).toUpperCase()}_FIELD_MAP`,
    header: 'Custom field',
    type: 'string',
    description: 'Value of the custom variable named by the parameter',
    requiresValue: true,
    value: (entity, _env, param) =>
      entity.kind === kind && 'fields' in entity.item ? fieldValue(entity.item.fields, param) : '',
  };
}

function projectFields(): DisplayField[] {
  const f = (id: string, header: string, type: FieldType, get: (p: StoredProject) => string) =>
    displayField('project', id, header, type, (e) => get(e.item));
  return [
    f('ID', 'ID', 'string', (p) => p.id),
    f('SECONDARY_ID', 'Title', 'string', (p) => p.secondaryId),
    f('NAME', 'Name', 'string', (p) => p.name),
    f('DESCRIPTION', 'Description', 'string', (p) => p.description),
    f('KEYWORDS', 'Keywords', 'string', (p) => p.keywords),
    f('PI', 'PI', 'string', (p) => (p.piLastname ? `${p.piLastname}, ${p.piFirstname}` : p.piFirstname)),
    f('PROJECT_ACCESS', 'Access', 'string', (p) => p.accessibility),
    f('INSERT_DATE', 'Inserted', 'date', (p) => p.insertDate),
    f('INSERT_USER', 'Creator', 'string', (p) => p.insertUser),
    customFieldMap('project', 'xnat:projectData'),
  ];
}

function subjectFields(): DisplayField[] {
  const f = (id: string, header: string, type: FieldType, get: (s: StoredSubject, env: Env) => string) =>
    displayField('subject', id, header, type, (e, env) => get(e.item, env));
  const count = (type: string) => (s: StoredSubject, env: Env) =>
    String(
      env
        .experimentsOfSubject(s.id)
        .filter((e) => experimentIsA(e, type) && canReadItem(env.archive, e, env.user)).length,
    );
  return [
    f('SUBJECT_LABEL', 'Subject', 'string', (s) => s.label),
    f('SUBJECTID', 'Subject ID', 'string', (s) => s.id),
    f('INSERT_DATE', 'Inserted', 'date', (s) => s.insertDate),
    f('INSERT_USER', 'Creator', 'string', (s) => s.insertUser),
    f('LAST_MODIFIED', 'Last Modified', 'date', (s) => s.lastModified),
    f('PROJECTS', 'Projects', 'string', projectsCell),
    f('PROJECT', 'Project', 'string', (s) => s.project),
    displayField(
      'subject',
      'SUB_PROJECT_IDENTIFIER',
      'Subject',
      'string',
      (e, _env, project) => labelInProject(e.item, project),
      'Label of the subject in the project given as parameter',
      true,
    ),
    f('SUB_GROUP', 'Group', 'string', (s) => s.group),
    f('SRC', 'Source', 'string', (s) => s.src),
    f('GENDER_TEXT', 'M/F', 'string', (s) =>
      s.demographics.gender ? (GENDER_TEXT[s.demographics.gender.toLowerCase()] ?? 'U') : '',
    ),
    f('HANDEDNESS_TEXT', 'Hand', 'string', (s) =>
      s.demographics.handedness ? (HANDEDNESS_TEXT[s.demographics.handedness.toLowerCase()] ?? 'U') : '',
    ),
    f('GENDER', 'Gender', 'string', (s) => str(s.demographics.gender)),
    f('HANDEDNESS', 'Handedness', 'string', (s) => str(s.demographics.handedness)),
    f('DOB', 'YOB', 'integer', (s) => str(yearOfBirth(s))),
    f('AGE', 'Age', 'integer', (s) => str(s.demographics.age)),
    f('EDUC', 'Educ', 'integer', (s) => str(s.demographics.education)),
    f('RACE', 'Race', 'string', (s) => str(s.demographics.race)),
    f('ETHNICITY', 'Ethnicity', 'string', (s) => str(s.demographics.ethnicity)),
    f('MR_COUNT', 'MR Sessions', 'integer', count('xnat:mrSessionData')),
    f('PET_COUNT', 'PET Sessions', 'integer', count('xnat:petSessionData')),
    f('CT_COUNT', 'CT Sessions', 'integer', count('xnat:ctSessionData')),
    customFieldMap('subject', 'xnat:subjectData'),
  ];
}

/** `MR` for `xnat:mrSessionData`, `PET` for PET... ; `EXPT` for abstract and assessor types. */
function typePrefix(elementName: string): string {
  const match = /^[a-z_]+:([a-z]+)SessionData$/.exec(elementName);
  return match?.[1] && match[1] !== 'image' ? match[1].toUpperCase() : 'EXPT';
}

function experimentFields(elementName: string): DisplayField[] {
  const prefix = typePrefix(elementName);
  const f = (id: string, header: string, type: FieldType, get: (e: StoredExperiment, env: Env) => string) =>
    displayField('experiment', id, header, type, (e, env) => get(e.item, env));
  const attr = (key: string) => (e: StoredExperiment) => str(e.attributes[key]);
  const fields: DisplayField[] = [
    f('EXPT_ID', 'ID', 'string', (e) => e.id),
    f('LABEL', 'Label', 'string', (e) => e.label),
    f('DATE', 'Date', 'date', (e) => e.date),
    f('TIME', 'Time', 'string', (e) => e.time),
    f('PROJECT', 'Project', 'string', (e) => e.project),
    f('PROJECTS', 'Projects', 'string', projectsCell),
    displayField(
      'experiment',
      `${prefix}_PROJECT_IDENTIFIER`,
      'Label',
      'string',
      (e, _env, project) => labelInProject(e.item, project),
      'Label of the experiment in the project given as parameter',
      true,
    ),
    f('VISIT_ID', 'Visit', 'string', (e) => e.visitId),
    f('INSERT_DATE', 'Inserted', 'date', (e) => e.insertDate),
    f('INSERT_USER', 'Creator', 'string', (e) => e.insertUser),
    f('LAST_MODIFIED', 'Last Modified', 'date', (e) => e.lastModified),
    f(`${prefix}_NOTES`, 'Notes', 'string', (e) => e.note),
    customFieldMap('experiment', elementName),
  ];
  const assessor = isAssessorType(elementName);
  if (assessor || isSameType(elementName, 'xnat:experimentData')) {
    const assessed = (e: StoredExperiment, env: Env) => env.archive.experiments.get(e.imageSessionId);
    fields.push(
      f('IMAGE_SESSION_ID', 'Session ID', 'string', (e) => e.imageSessionId),
      f('SESSION_LABEL', 'Session', 'string', (e, env) => assessed(e, env)?.label ?? ''),
    );
  }
  if (!isSameType(elementName, 'xnat:experimentData')) {
    fields.push(
      f('SUBJECT_ID', 'Subject ID', 'string', (e, env) => subjectOf(env, e)?.id ?? ''),
      f('SUBJECT_LABEL', 'Subject', 'string', (e, env) => subjectOf(env, e)?.label ?? ''),
    );
  }
  if (isSessionType(elementName) || isSameType(elementName, 'xnat:subjectAssessorData')) {
    fields.push(f('AGE', 'Age', 'float', (e, env) => ageAt(subjectOf(env, e), e.date)));
  }
  if (isSessionType(elementName)) {
    fields.push(
      f('SESSION_ID', 'ID', 'string', (e) => e.id),
      f('TYPE', 'Type', 'string', attr('session_type')),
      f('MODALITY', 'Modality', 'string', attr('modality')),
      f('SCANNER', 'Scanner', 'string', attr('scanner')),
      f('SCANNER_MANUFACTURER', 'Manufacturer', 'string', attr('scanner/manufacturer')),
      f('SCANNER_MODEL', 'Model', 'string', attr('scanner/model')),
      f('OPERATOR', 'Operator', 'string', attr('operator')),
      f('UID', 'UID', 'string', attr('UID')),
      f('ACQ_SITE', 'Acquisition Site', 'string', (e) => e.acquisitionSite),
      f(`${prefix}_SCAN_COUNT_AGG`, 'Scans', 'integer', (e) => String(e.scans.length)),
    );
  }
  if (prefix === 'MR') {
    fields.push(
      f('FIELDSTRENGTH', 'Field Strength', 'string', attr('fieldStrength')),
      f('COIL', 'Coil', 'string', attr('coil')),
      f('MARKER', 'Marker', 'string', attr('marker')),
      f('STABILIZATION', 'Stabilization', 'string', attr('stabilization')),
    );
  }
  if (prefix === 'PET') fields.push(f('TRACER', 'Tracer', 'string', attr('tracer/name')));
  if (isSameType(elementName, 'xnat:qcManualAssessorData')) {
    fields.push(
      f('RATER', 'Rater', 'string', attr('rater')),
      f('PASS', 'Pass', 'string', attr('pass')),
      f('INCIDENTAL_FINDINGS', 'Incidental Findings', 'string', attr('incidentalFindings')),
      f('COMMENTS', 'Comments', 'string', attr('comments')),
    );
  }
  return fields;
}

function scanFields(): DisplayField[] {
  const f = (
    id: string,
    header: string,
    type: FieldType,
    get: (s: StoredScan, session: StoredExperiment) => string,
  ) => displayField('scan', id, header, type, (e) => get(e.item, e.session));
  return [
    f('ID', 'Scan', 'string', (s) => s.id),
    f('XNAT_IMAGESCANDATA_ID', 'Scan Key', 'integer', (s) => String(s.xnatImagescandataId)),
    f('TYPE', 'Type', 'string', (s) => s.type),
    f('SERIES_DESCRIPTION', 'Series Description', 'string', (s) => s.seriesDescription),
    f('QUALITY', 'Quality', 'string', (s) => s.quality),
    f('NOTE', 'Note', 'string', (s) => s.note),
    f('FRAMES', 'Frames', 'integer', (s) => String(s.frames)),
    f('UID', 'UID', 'string', (s) => s.uid),
    f('MODALITY', 'Modality', 'string', (s) => s.modality),
    f('IMAGE_SESSION_ID', 'Session ID', 'string', (_s, session) => session.id),
    f('SESSION_LABEL', 'Session', 'string', (_s, session) => session.label),
    f('PROJECT', 'Project', 'string', (_s, session) => session.project),
  ];
}

const fieldCache = new Map<string, DisplayField[]>();

function fieldsOf(def: ElementDef): DisplayField[] {
  let fields = fieldCache.get(def.name);
  if (!fields) {
    if (def.kind === 'project') fields = projectFields();
    else if (def.kind === 'subject') fields = subjectFields();
    else if (def.kind === 'scan') fields = scanFields();
    else fields = experimentFields(def.name);
    fieldCache.set(def.name, fields);
  }
  return fields;
}

function findField(def: ElementDef, id: string): DisplayField | undefined {
  return fieldsOf(def).find((f) => f.id.toLowerCase() === id.toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// XPaths (`xnat:subjectData/sharing/share/project`, `xnat:mrSessionData/label`, ...)

type XPathReader = (entity: Entity) => string[];

/** Custom variables (`fields/field[name=x]/field`, `fields/field/field`, `fields/field/name`). */
function customFieldReader(path: string): ((fields: Record<string, string>) => string[]) | undefined {
  const named = /^fields\/field\[name=['"]?([^'"\]]+)['"]?\]\/field$/.exec(path);
  if (named?.[1]) {
    const name = named[1];
    return (fields) => {
      const v = fieldValue(fields, name);
      return v === '' ? [] : [v];
    };
  }
  if (path === 'fields/field/field') return (fields) => Object.values(fields);
  if (path === 'fields/field/name') return (fields) => Object.keys(fields);
  return undefined;
}

function lookup(record: Record<string, string | number>, path: string): string[] {
  const found = Object.entries(record).find(([k]) => k.toLowerCase() === path);
  return found ? [String(found[1])] : [];
}

/** Type-specific session and assessor fields of xnat.xsd kept in `StoredExperiment.attributes` (lower-cased). */
const EXPERIMENT_DATA_FIELDS = new Set(
  [
    'modality',
    'UID',
    'session_type',
    'study_id',
    'scanner',
    'scanner/manufacturer',
    'scanner/model',
    'operator',
    'prearchivePath',
    'dcmAccessionNumber',
    'dcmPatientId',
    'dcmPatientName',
    'dcmPatientBirthDate',
    'dcmPatientWeight',
    'fieldStrength',
    'coil',
    'marker',
    'stabilization',
    'tracer/name',
    'tracer/isotope',
    'tracer/dose',
    'studyType',
    'rater',
    'pass',
    'payable',
    'incidentalFindings',
    'comments',
  ].map((f) => f.toLowerCase()),
);

/** Scan fields kept in `StoredScan.parameters` besides the `parameters/...` family (lower-cased). */
const SCAN_DATA_FIELDS = new Set([
  'scanner',
  'scanner/manufacturer',
  'scanner/model',
  'fieldstrength',
  'coil',
]);

/** Resolves a path below an element to a reader of its values; undefined when XNAT's schema has no such path. */
function xpathReader(def: ElementDef, rawPath: string): XPathReader | undefined {
  // Type predicates (`demographics[@xsi:type=xnat:demographicData]`) do not change what is read.
  const path = rawPath
    .replace(/\[@xsi:type=[^\]]*\]/g, '')
    .replace(/^\/+|\/+$/g, '')
    .toLowerCase();
  const one = (v: string | number | undefined): string[] => (v === undefined || v === '' ? [] : [String(v)]);
  const custom = customFieldReader(path);
  switch (def.kind) {
    case 'project': {
      const p =
        (get: (p: StoredProject) => string[]): XPathReader =>
        (e) =>
          e.kind === 'project' ? get(e.item) : [];
      const simple: Record<string, (p: StoredProject) => string | undefined> = {
        id: (x) => x.id,
        secondary_id: (x) => x.secondaryId,
        name: (x) => x.name,
        description: (x) => x.description,
        keywords: (x) => x.keywords,
        'pi/firstname': (x) => x.piFirstname,
        'pi/lastname': (x) => x.piLastname,
      };
      const get = simple[path];
      if (get) return p((x) => one(get(x)));
      if (path === 'aliases/alias/alias' || path === 'aliases/alias') return p((x) => x.aliases);
      return custom && p((x) => custom(x.fields));
    }
    case 'subject': {
      const s =
        (get: (s: StoredSubject) => string[]): XPathReader =>
        (e) =>
          e.kind === 'subject' ? get(e.item) : [];
      const simple: Record<string, (s: StoredSubject) => string | number | undefined> = {
        id: (x) => x.id,
        label: (x) => x.label,
        project: (x) => x.project,
        group: (x) => x.group,
        src: (x) => x.src,
        initials: (x) => x.initials,
        'meta/insert_date': (x) => x.insertDate,
      };
      const get = simple[path];
      if (get) return s((x) => one(get(x)));
      if (path === 'sharing/share/project') return s((x) => x.shares.map((sh) => sh.project));
      if (path === 'sharing/share/label') return s((x) => x.shares.map((sh) => sh.label));
      if (path.startsWith('demographics/')) {
        const key = path.slice('demographics/'.length);
        return s((x) => lookup(x.demographics as Record<string, string | number>, key));
      }
      return custom && s((x) => custom(x.fields));
    }
    case 'experiment': {
      const x =
        (get: (e: StoredExperiment) => string[]): XPathReader =>
        (e) =>
          e.kind === 'experiment' ? get(e.item) : [];
      const simple: Record<string, (e: StoredExperiment) => string | undefined> = {
        id: (e) => e.id,
        label: (e) => e.label,
        project: (e) => e.project,
        date: (e) => e.date,
        time: (e) => e.time,
        note: (e) => e.note,
        visit_id: (e) => e.visitId,
        visit: (e) => e.visit,
        acquisition_site: (e) => e.acquisitionSite,
        subject_id: (e) => e.subjectId,
        imagesession_id: (e) => e.imageSessionId,
        'meta/insert_date': (e) => e.insertDate,
      };
      const get = simple[path];
      if (get) return x((e) => one(get(e)));
      if (path === 'sharing/share/project') return x((e) => e.shares.map((sh) => sh.project));
      if (path === 'sharing/share/label') return x((e) => e.shares.map((sh) => sh.label));
      const scanPath = /^scans\/scan\/(id|type|series_description|quality|note)$/.exec(path)?.[1];
      if (scanPath) {
        const pick: Record<string, (s: StoredScan) => string> = {
          id: (s) => s.id,
          type: (s) => s.type,
          series_description: (s) => s.seriesDescription,
          quality: (s) => s.quality,
          note: (s) => s.note,
        };
        const read = pick[scanPath];
        if (read) return x((e) => e.scans.map(read));
      }
      if (custom) return x((e) => custom(e.fields));
      if (EXPERIMENT_DATA_FIELDS.has(path)) return x((e) => lookup(e.attributes, path));
      return undefined;
    }
    case 'scan': {
      const simple: Record<
        string,
        (s: StoredScan, session: StoredExperiment) => string | number | undefined
      > = {
        id: (s) => s.id,
        type: (s) => s.type,
        series_description: (s) => s.seriesDescription,
        quality: (s) => s.quality,
        condition: (s) => s.condition,
        note: (s) => s.note,
        frames: (s) => s.frames,
        uid: (s) => s.uid,
        modality: (s) => s.modality,
        starttime: (s) => s.startTime,
        image_session_id: (_s, session) => session.id,
        xnat_imagescandata_id: (s) => s.xnatImagescandataId,
      };
      const get = simple[path];
      if (get) return (e) => (e.kind === 'scan' ? one(get(e.item, e.session)) : []);
      if (path.startsWith('parameters/') || SCAN_DATA_FIELDS.has(path)) {
        return (e) => (e.kind === 'scan' ? lookup(e.item.parameters, path) : []);
      }
      return undefined;
    }
  }
}

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
  if (slash > 0) {
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
  const display = findField(def, bareId);
  if (!display) throw unknownField(field.fieldId, def);
  if (display.requiresValue && field.value === '') {
    throw new SandboxHttpError(
      400,
      `Search field ${def.name}.${display.id} needs a value: use ${display.id}=<value>.`,
    );
  }
  const id = display.requiresValue ? `${display.id}=${field.value}` : display.id;
  const key = (
    display.requiresValue
      ? `${prefix}${display.id}_${field.value.replace(/[^A-Za-z0-9_]/g, '')}`
      : `${prefix}${display.id}`
  ).toLowerCase();
  return {
    def,
    key,
    meta: columnMeta(key, def.name, id, field.header || display.header, display.type),
    value: (entity, env) => display.value(entity, env, field.value),
  };
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
    read: (entity) => reader(entity),
  };
}

/** The schema type of an xpath, as far as comparisons care: dates and numbers do not compare as text. */
function xpathType(path: string): FieldType {
  const p = path.toLowerCase();
  if (/(^|\/)(date|dob|insert_date|last_modified)$/.test(p)) return 'date';
  if (
    p.startsWith('parameters/') ||
    /(^|\/)(frames|age|yob|education|weight|height|dose|xnat_imagescandata_id)$/.test(p)
  ) {
    return 'float';
  }
  return 'string';
}

// ---------------------------------------------------------------------------------------------
// Comparisons

type Predicate = (values: string[]) => boolean;

/** `MM/DD/YYYY` (what xnatpy sends) or ISO, normalised to ISO so dates compare as strings. */
function normalizeDate(value: string): string {
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(.*)$/.exec(value.trim());
  if (us?.[1] && us[2] && us[3])
    return `${us[3]}-${us[1].padStart(2, '0')}-${us[2].padStart(2, '0')}${us[4] ?? ''}`;
  return value.trim();
}

function comparer(type: FieldType, operand: string): (value: string) => number | undefined {
  if (type === 'date') {
    const target = normalizeDate(operand);
    // A date-only operand compares against the date part of timestamps.
    return (value) => {
      const v = target.length <= 10 ? value.slice(0, 10) : value;
      return v < target ? -1 : v > target ? 1 : 0;
    };
  }
  const numeric = Number(operand);
  if ((type === 'integer' || type === 'float') && operand.trim() !== '' && Number.isFinite(numeric)) {
    return (value) => {
      const n = Number(value);
      return value.trim() === '' || !Number.isFinite(n) ? undefined : n - numeric;
    };
  }
  return (value) => (value < operand ? -1 : value > operand ? 1 : 0);
}

function likePattern(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '%' || c === '*' ? '.*' : c === '_' ? '.' : c.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  // Inferred: XNAT's display search matches LIKE case-insensitively; the sandbox does the same.
  return new RegExp(`^${body}$`, 'is');
}

function predicate(comparison: string, rawValue: string, type: FieldType): Predicate {
  let op = comparison.trim().toUpperCase().replace(/\s+/g, ' ');
  let value = rawValue;
  if (op === 'IS' || op === 'IS NOT') {
    const v = value.trim().toUpperCase();
    op = op === 'IS' ? (v === 'NOT NULL' ? 'IS NOT NULL' : 'IS NULL') : 'IS NOT NULL';
    value = '';
  }
  const any =
    (test: (v: string) => boolean): Predicate =>
    (values) =>
      values.some(test);
  const ordered = (test: (c: number) => boolean): Predicate => {
    const compare = comparer(type, value);
    return any((v) => {
      const c = compare(v);
      return c !== undefined && test(c);
    });
  };
  switch (op) {
    case '=':
      return ordered((c) => c === 0);
    case '!=':
    case '<>':
      return (values) => values.length > 0 && values.every((v) => comparer(type, value)(v) !== 0);
    case '<':
      return ordered((c) => c < 0);
    case '<=':
      return ordered((c) => c <= 0);
    case '>':
      return ordered((c) => c > 0);
    case '>=':
      return ordered((c) => c >= 0);
    case 'LIKE': {
      const re = likePattern(type === 'date' ? normalizeDate(value) : value);
      return any((v) => re.test(v));
    }
    case 'NOT LIKE': {
      const re = likePattern(value);
      return (values) => !values.some((v) => re.test(v));
    }
    case 'IS NULL':
      return (values) => values.length === 0;
    case 'IS NOT NULL':
      return (values) => values.length > 0;
    case 'BETWEEN': {
      const bounds = value.split(/\s+AND\s+/i);
      if (bounds.length !== 2 || !bounds[0] || !bounds[1]) {
        throw new SandboxHttpError(
          400,
          `BETWEEN needs a value of the form "<low> AND <high>", got "${value}".`,
        );
      }
      const low = comparer(type, bounds[0]);
      const high = comparer(type, bounds[1]);
      return any((v) => {
        const l = low(v);
        const h = high(v);
        return l !== undefined && h !== undefined && l >= 0 && h <= 0;
      });
    }
    case 'IN': {
      const options = value
        .replace(/^\s*\(|\)\s*$/g, '')
        .split(',')
        .map((o) => o.trim().replace(/^'(.*)'$/s, '$1'))
        .filter((o) => o !== '')
        .map((o) => comparer(type, o));
      return any((v) => options.some((compare) => compare(v) === 0));
    }
    default:
      throw new SandboxHttpError(
        400,
        `Unsupported comparison_type "${comparison.trim()}" (use =, !=, <, <=, >, >=, LIKE, IS NULL, IS NOT NULL, BETWEEN or IN).`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Rows: root records, joins to the other elements a search refers to, criteria

/** One result row before projection: the entity of each element the search refers to (absent: no match in a left join). */
type Row = Map<string, Entity | undefined>;

function canQuery(env: Env, root: ElementDef): boolean {
  if (env.user.admin || root.kind === 'project') return true;
  for (const project of env.archive.projects.values()) if (canReadProject(project, env.user)) return true;
  return false;
}

function rootEntities(env: Env, root: ElementDef): Entity[] {
  const { archive, user } = env;
  switch (root.kind) {
    case 'project':
      return [...archive.projects.values()]
        .filter((p) => canListProject(p, user))
        .map((item) => ({ kind: 'project', item }));
    case 'subject':
      return [...archive.subjects.values()]
        .filter((s) => canReadItem(archive, s, user))
        .map((item) => ({ kind: 'subject', item }));
    case 'experiment':
      return [...archive.experiments.values()]
        .filter((e) => experimentIsA(e, root.name) && canReadItem(archive, e, user))
        .map((item) => ({ kind: 'experiment', item }));
    case 'scan': {
      const entities: Entity[] = [];
      for (const session of archive.experiments.values()) {
        if (session.scans.length === 0 || !canReadItem(archive, session, user)) continue;
        for (const item of session.scans)
          if (scanIsA(item, root.name)) entities.push({ kind: 'scan', item, session });
      }
      return entities;
    }
  }
}

const scanIsA = (scan: StoredScan, type: string): boolean =>
  isSameType(type, 'xnat:imageScanData') || isSameType(scan.xsiType, type);

/** The records of `target` related to `entity` (XNAT's join paths between its data types). */
function relate(env: Env, entity: Entity, target: ElementDef): Entity[] {
  const one = (e: Entity | undefined): Entity[] => (e ? [e] : []);
  const experimentsOf = (list: Iterable<StoredExperiment>): Entity[] =>
    [...list]
      .filter((e) => experimentIsA(e, target.name) && readable(e))
      .map((item): Entity => ({ kind: 'experiment', item }));
  const readable = (e: StoredExperiment) => canReadItem(env.archive, e, env.user);
  const owningSession = (): StoredExperiment | undefined => {
    if (entity.kind === 'scan') return entity.session;
    if (entity.kind === 'experiment') {
      return experimentKind(entity.item) === 'imageAssessor'
        ? env.archive.experiments.get(entity.item.imageSessionId)
        : entity.item;
    }
    return undefined;
  };
  switch (target.kind) {
    case 'project': {
      if (entity.kind === 'project') return one(entity);
      const owner = entity.kind === 'scan' ? entity.session.project : entity.item.project;
      const project = env.archive.projects.get(owner);
      return one(project && { kind: 'project', item: project });
    }
    case 'subject': {
      if (entity.kind === 'subject') return one(entity);
      if (entity.kind === 'project') return [];
      const subject = subjectOf(env, entity.kind === 'scan' ? entity.session : entity.item);
      return one(subject && { kind: 'subject', item: subject });
    }
    case 'experiment': {
      if (entity.kind === 'subject') {
        return experimentsOf(env.experimentsOfSubject(entity.item.id));
      }
      if (entity.kind === 'project') {
        const projectId = entity.item.id;
        return experimentsOf(
          [...env.archive.experiments.values()].filter((e) => projectsOf(e).includes(projectId)),
        );
      }
      if (entity.kind === 'experiment' && experimentIsA(entity.item, target.name)) return one(entity);
      const sessionRecord = owningSession();
      if (sessionRecord && experimentIsA(sessionRecord, target.name))
        return one({ kind: 'experiment', item: sessionRecord });
      if (entity.kind === 'experiment' && isAssessorType(target.name)) {
        return experimentsOf(env.assessorsOfSession(entity.item.id));
      }
      return one(undefined);
    }
    case 'scan': {
      if (entity.kind === 'scan') return one(scanIsA(entity.item, target.name) ? entity : undefined);
      const sessionRecord = owningSession();
      if (!sessionRecord) return [];
      return sessionRecord.scans
        .filter((s) => scanIsA(s, target.name))
        .map((item): Entity => ({ kind: 'scan', item, session: sessionRecord }));
    }
  }
}

function entityId(entity: Entity | undefined): string {
  if (!entity) return '';
  return entity.kind === 'scan' ? `${entity.session.id}/${entity.item.id}` : entity.item.id;
}

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
    into.set(c, { field, test: predicate(c.comparison, c.value, field.type) });
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

/** Display fields of a type (`FIELD_ID=value` fields have REQUIRES_VALUE true); undefined for unknown types (404). */
export function searchFieldRows(type: string): Array<Record<string, string>> | undefined {
  const def = findElement(type);
  if (!def) return undefined;
  return fieldsOf(def).map((f) => ({
    FIELD_ID: f.id,
    HEADER: f.header,
    SUMMARY: f.description,
    TYPE: f.type,
    REQUIRES_VALUE: String(f.requiresValue),
    DESC: f.description,
    ELEMENT_NAME: def.name,
    SRC: '0',
  }));
}
