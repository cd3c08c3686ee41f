/**
 * Display fields per data type, after XNAT's display documents (`*_display.xml`): the IDs listed by
 * `/data/search/elements/{type}` and usable as `xdat:search_field`s and criteria, with their values.
 * xnat:projectData, xnat:subjectData and xnat:mrSessionData follow their documents (IDs, headers,
 * values, which fields are searchable); the other types reuse those IDs and name the rest in that style.
 */
import { canReadItem, projectsOf } from './access.js';
import type { ProjectRole, StoredExperiment, StoredProject, StoredScan, StoredSubject } from './model.js';
import {
  isAssessorType,
  isSessionType,
  sqlName,
  subjectOf,
  type ElementDef,
  type Entity,
  type Env,
  type Kind,
} from './search-elements.js';
import { experimentIsA, isSameType } from './types.js';

export type FieldType = 'string' | 'date' | 'integer' | 'float';

export interface DisplayField {
  id: string;
  header: string;
  type: FieldType;
  description: string;
  requiresValue: boolean;
  /**
   * The schema path (relative to the type) of a field whose document gives one schema element and
   * no Content: `SchemaElement.getDisplayFieldForXMLPath` answers an xpath search field with it.
   */
  schemaPath?: string;
  value: (entity: Entity, env: Env, param: string) => string;
}

/** A field bound to the one schema element its display document names (`xnat:mrSessionData.ID`). */
const bound = (field: DisplayField, schemaPath: string): DisplayField => ({ ...field, schemaPath });

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

export const fieldValue = (fields: Record<string, string>, name: string): string =>
  Object.entries(fields).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ?? '';

/** `CASE gender WHEN 'male' THEN 'M' WHEN 'female' THEN 'F' ELSE 'U' END` (subjectData_display.xml). */
const genderText = (gender: string | undefined): string =>
  gender === 'male' ? 'M' : gender === 'female' ? 'F' : 'U';

/** `CASE LOWER(handedness) WHEN 'left' THEN 'L' ... END`: no ELSE, so anything else is NULL. */
const HANDEDNESS_TEXT: Record<string, string> = {
  left: 'L',
  right: 'R',
  ambidextrous: 'A',
  l: 'L',
  r: 'R',
  a: 'A',
};

/** `CASE WHEN age > 89 THEN '90+' ELSE (age / 5) * 5 || '-' || (age / 5) * 5 + 4 END`, integer division. */
function ageBracket(age: number | undefined): string {
  if (age === undefined) return '';
  if (age > 89) return '90+';
  const low = Math.trunc(age / 5) * 5;
  return `${low}-${low + 4}`;
}

function yearOfBirth(subject: StoredSubject | undefined): number | undefined {
  const d = subject?.demographics;
  if (d?.yob !== undefined) return d.yob;
  return d?.dob ? Number(d.dob.slice(0, 4)) : undefined;
}

/** GEN_AGE: `EXTRACT(YEAR FROM AGE(date, dob))`, else the year of the session minus the year of birth. */
function completedYears(subject: StoredSubject | undefined, date: string): string {
  const d = subject?.demographics;
  if (!d || !date) return '';
  if (d.dob) {
    const [y, m, day] = date.slice(0, 10).split('-').map(Number);
    const [by, bm, bd] = d.dob.slice(0, 10).split('-').map(Number);
    if (
      y === undefined ||
      m === undefined ||
      day === undefined ||
      by === undefined ||
      bm === undefined ||
      bd === undefined
    )
      return '';
    return String(y - by - (m < bm || (m === bm && day < bd) ? 1 : 0));
  }
  return d.yob === undefined ? '' : String(Number(date.slice(0, 4)) - d.yob);
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

/** `PROJECT_USERS`-style cells: XNAT's view concatenates `' ' || login || ' <br/>'` and trims `<br/>` characters off the ends. */
function usersCell(project: StoredProject, roles: readonly ProjectRole[]): string {
  const logins = Object.entries(project.users)
    .filter(([, role]) => roles.includes(role))
    .map(([login]) => login)
    .sort();
  return logins.length === 0
    ? ''
    : `${logins
        .map((l) => ` ${l} <br/>`)
        .join('')
        .replace(/[<br/>]+$/, '')}`;
}

/** `PROJ_MR_COUNT`...: experiments of exactly that type owned by or shared into the project; no row (empty) when none. */
function projectCount(env: Env, project: StoredProject, type: string): string {
  let count = 0;
  for (const e of env.archive.experiments.values()) {
    if (isSameType(e.xsiType, type) && projectsOf(e).includes(project.id)) count++;
  }
  return count === 0 ? '' : String(count);
}

const ROLE_GROUPS: Record<ProjectRole, string> = {
  owner: 'Owners',
  member: 'Members',
  collaborator: 'Collaborators',
};

/** xnat:projectData's display document (`xnat_projectData_display.xml`). */
function projectFields(): DisplayField[] {
  const f = (id: string, header: string, type: FieldType, get: (p: StoredProject, env: Env) => string) =>
    displayField('project', id, header, type, (e, env) => get(e.item, env));
  const count = (modality: string) => (p: StoredProject, env: Env) =>
    projectCount(env, p, `xnat:${modality}SessionData`);
  const ALL: ProjectRole[] = ['owner', 'member', 'collaborator'];
  return [
    f('INSERT_DATE', 'Inserted', 'string', (p) => p.insertDate),
    f('INSERT_USER', 'Creator', 'string', (p) => p.insertUser),
    f('ID', 'ID', 'string', (p) => p.id),
    f('NAME', 'Title', 'string', (p) => p.name),
    f('NAME_CSV', 'Title', 'string', (p) => p.name),
    // SQL `substring(description FROM 0 FOR 162)`: positions 0..161, i.e. the first 161 characters.
    f('DESCRIPTION', 'Description', 'string', (p) => [...p.description].slice(0, 161).join('')),
    f('DESCRIPTION_CSV', 'Description', 'string', (p) => p.description),
    f('SECONDARY_ID', 'Running Title', 'string', (p) => p.secondaryId),
    f('KEYWORDS', 'Keywords', 'string', (p) => p.keywords),
    f('PI', 'PI', 'string', (p) => `${p.piFirstname} ${p.piLastname}`),
    f('PROJECT_INVS', 'Investigators', 'string', (p) =>
      p.piLastname || p.piFirstname ? `${p.piLastname}, ${p.piFirstname}` : '',
    ),
    f('PROJECT_ACCESS', 'Accessibility', 'string', (p) => p.accessibility),
    f('PROJECT_USERS', 'Users', 'string', (p) => usersCell(p, ALL)),
    f('PROJECT_OWNERS', 'Owners', 'string', (p) => usersCell(p, ['owner'])),
    f('PROJECT_MEMBERS', 'Members', 'string', (p) => usersCell(p, ['member'])),
    f('PROJECT_COLLABS', 'Collaborators', 'string', (p) => usersCell(p, ['collaborator'])),
    // The sandbox keeps no workflows, access log or favourites: XNAT's views have no row for them.
    f('PROJECT_LAST_WORKFLOW', 'Last Workflow', 'string', () => ''),
    f('PROJECT_LAST_ACCESS', 'Last Access', 'string', () => ''),
    f('PROJECT_FAV', 'Favorites', 'string', () => ''),
    displayField(
      'project',
      'USER_ROLE',
      'Role',
      'string',
      (e, env, userId) => {
        const login = env.archive.users.find((u) => String(u.xdatUserId) === userId)?.login;
        const role = login === undefined ? undefined : e.item.users[login];
        return role ? ROLE_GROUPS[role] : '';
      },
      'Role of the user (xdat_user_id given as parameter) in the project',
      true,
    ),
    f('PROJ_MR_COUNT', 'MR Count', 'integer', count('mr')),
    f('PROJ_CT_COUNT', 'CT Count', 'integer', count('ct')),
    f('PROJ_PET_COUNT', 'PET Count', 'integer', count('pet')),
    f('PROJ_UT_COUNT', 'UT Count', 'integer', count('ut')),
    f('PROJ_QUARANTINE', 'Quarantine Code', 'integer', (p) => String(p.quarantineCode)),
    f('PROJ_PREARCHIVE_CODE', 'Prearchive Code', 'integer', (p) => String(p.prearchiveCode)),
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
    bound(
      f('SUBJECT_ID', 'Subject', 'string', (s) => s.id),
      'ID',
    ),
    f('SUBJECTID', 'Subject', 'string', (s) => s.id),
    bound(
      f('INSERT_DATE', 'Inserted', 'date', (s) => s.insertDate),
      'meta/insert_date',
    ),
    bound(
      f('INSERT_USER', 'Creator', 'string', (s) => s.insertUser),
      'meta/insert_user/login',
    ),
    f('LAST_MODIFIED', 'Last Modified', 'date', (s) => s.lastModified),
    f('PROJECTS', 'Projects', 'string', projectsCell),
    bound(
      f('PROJECT', 'Project', 'string', (s) => s.project),
      'project',
    ),
    displayField(
      'subject',
      'SUB_PROJECT_IDENTIFIER',
      'Subject',
      'string',
      (e, _env, project) => labelInProject(e.item, project),
      'Label of the subject in the project given as parameter',
      true,
    ),
    bound(
      f('SUB_GROUP', 'Group', 'string', (s) => s.group),
      'group',
    ),
    f('SRC', 'Source', 'string', (s) => s.src),
    f('GENDER_TEXT', 'M/F', 'string', (s) => genderText(s.demographics.gender)),
    f('HANDEDNESS_TEXT', 'Hand', 'string', (s) =>
      str(HANDEDNESS_TEXT[s.demographics.handedness?.toLowerCase() ?? '']),
    ),
    f('AGE_BRACKET', 'Age bracket', 'string', (s) => ageBracket(s.demographics.age)),
    f('SES', 'Ses', 'string', () => ''),
    f('INVEST_CSV', 'PI', 'string', () => ''),
    // The SUBJECT_IDS view only has rows for subjects shared into other projects.
    f('ADD_IDS', 'Labels', 'string', (s) =>
      s.shares.length > 0 ? [s.label, ...s.shares.map((sh) => sh.label)].join(', ') : '',
    ),
    f('GENDER', 'Gender', 'string', (s) => str(s.demographics.gender)),
    f('HANDEDNESS', 'Hand', 'string', (s) => str(s.demographics.handedness)),
    f('DOB', 'YOB', 'integer', (s) => str(yearOfBirth(s))),
    f('AGE', 'Age', 'integer', (s) => str(s.demographics.age)),
    f('EDUC', 'Education', 'integer', (s) => str(s.demographics.education)),
    f('RACE', 'Race', 'string', (s) => str(s.demographics.race)),
    f('ETHNICITY', 'Ethnicity', 'string', (s) => str(s.demographics.ethnicity)),
    f('MR_COUNT', 'MR Count', 'integer', count('xnat:mrSessionData')),
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

/**
 * The `<X>_SCAN_COUNT_AGG` view: `type(count)` per scan type in type order, joined with `, `
 * (scans without a type drop out of the concatenation); no row, so empty, without scans.
 */
function scanCountAggregate(scans: readonly StoredScan[]): string {
  const counts = new Map<string, number>();
  for (const scan of scans) if (scan.type !== '') counts.set(scan.type, (counts.get(scan.type) ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b, 'en'))
    .map(([type, count]) => `${type}(${count})`)
    .join(', ');
}

/** Scans of a session matching a sub-query field's test (`SCAN_COUNT_TYPE`...); empty when none, as the view has no row. */
function countScans(scans: readonly StoredScan[], test: (scan: StoredScan) => boolean): string {
  const count = scans.filter(test).length;
  return count === 0 ? '' : String(count);
}

/** The fields only mrSessionData_display.xml defines (scan counts by type/description, CSV variants, PI). */
function mrSessionFields(): DisplayField[] {
  const f = (id: string, header: string, type: FieldType, get: (e: StoredExperiment) => string) =>
    displayField('experiment', id, header, type, (e) => get(e.item));
  const attr = (key: string) => (e: StoredExperiment) => str(e.attributes[key]);
  const counted = (id: string, header: string, test: (scan: StoredScan, param: string) => boolean) =>
    displayField(
      'experiment',
      id,
      header,
      'integer',
      (e, _env, param) => countScans(e.item.scans, (scan) => test(scan, param.toLowerCase())),
      header,
      true,
    );
  const like = (value: string, param: string) => value.toLowerCase().includes(param);
  return [
    f('VISIT', 'Visit ID', 'string', (e) => e.visitId),
    f('INVEST_SEARCH', 'PI', 'string', () => ''),
    f('INVEST', 'PI', 'string', () => ''),
    f('OPERATOR_CSV', 'Operator', 'string', attr('operator')),
    f('SCANNER_CSV', 'Scanner', 'string', attr('scanner')),
    f('MARKER_CSV', 'Marker', 'string', attr('marker')),
    f('STABILIZATION_CSV', 'Stabilization', 'string', attr('stabilization')),
    displayField('experiment', 'GEN_AGE', 'Age', 'float', (e, env) =>
      completedYears(subjectOf(env, e.item), e.item.date),
    ),
    f('DTI_COUNT', 'DTI Count', 'integer', (e) =>
      countScans(e.scans, (scan) => scan.seriesDescription.includes('DTI') || scan.type.includes('DTI')),
    ),
    counted('SCAN_COUNT_TYPE', 'Scan Count By Type', (scan, p) => scan.type.toLowerCase() === p),
    counted(
      'SCAN_COUNT_DESC',
      'Scan Count By Series Description',
      (scan, p) => scan.seriesDescription.toLowerCase() === p,
    ),
    // The sandbox keeps no series classification.
    counted('SCAN_COUNT_CLASS', 'Scan Count By Series Classification', () => false),
    counted('SCAN_COUNT_L_TYPE', 'Scan Count Like Type', (scan, p) => p !== '' && like(scan.type, p)),
    counted(
      'SCAN_COUNT_L_DESC',
      'Scan Count Like Series Description',
      (scan, p) => p !== '' && like(scan.seriesDescription, p),
    ),
    counted('SCAN_COUNT_L_CLASS', 'Scan Count Like Series Classification', () => false),
  ];
}

function experimentFields(elementName: string): DisplayField[] {
  const prefix = typePrefix(elementName);
  const f = (id: string, header: string, type: FieldType, get: (e: StoredExperiment, env: Env) => string) =>
    displayField('experiment', id, header, type, (e, env) => get(e.item, env));
  const attr = (key: string) => (e: StoredExperiment) => str(e.attributes[key]);
  const fields: DisplayField[] = [
    f('EXPT_ID', 'ID', 'string', (e) => e.id),
    f('LABEL', 'Label', 'string', (e) => e.label),
    bound(
      f('DATE', 'Date', 'date', (e) => e.date),
      'date',
    ),
    f('TIME', 'Time', 'string', (e) => e.time),
    bound(
      f('PROJECT', 'Project', 'string', (e) => e.project),
      'project',
    ),
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
    bound(
      f('INSERT_DATE', 'Inserted', 'date', (e) => e.insertDate),
      'meta/insert_date',
    ),
    bound(
      f('INSERT_USER', 'Creator', 'string', (e) => e.insertUser),
      'meta/insert_user/login',
    ),
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
      bound(
        f('SUBJECT_ID', 'Subject ID', 'string', (e, env) => subjectOf(env, e)?.id ?? ''),
        'subject_ID',
      ),
      f('SUBJECT_LABEL', 'Subject', 'string', (e, env) => subjectOf(env, e)?.label ?? ''),
    );
  }
  if (isSessionType(elementName) || isSameType(elementName, 'xnat:subjectAssessorData')) {
    fields.push(f('AGE', 'Age', 'float', (e, env) => ageAt(subjectOf(env, e), e.date)));
  }
  if (isSessionType(elementName)) {
    fields.push(
      bound(
        f('SESSION_ID', 'ID', 'string', (e) => e.id),
        'ID',
      ),
      bound(f('TYPE', 'Type', 'string', attr('session_type')), 'session_type'),
      f('MODALITY', 'Modality', 'string', attr('modality')),
      f('SCANNER', 'Scanner', 'string', attr('scanner')),
      f('SCANNER_MANUFACTURER', 'Manufacturer', 'string', attr('scanner/manufacturer')),
      f('SCANNER_MODEL', 'Model', 'string', attr('scanner/model')),
      f('OPERATOR', 'Operator', 'string', attr('operator')),
      f('UID', 'UID', 'string', attr('UID')),
      f('ACQ_SITE', 'Acquisition Site', 'string', (e) => e.acquisitionSite),
      f(`${prefix}_SCAN_COUNT_AGG`, 'Scans', 'string', (e) => scanCountAggregate(e.scans)),
    );
  }
  if (prefix === 'MR') {
    fields.push(
      ...mrSessionFields(),
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

export function fieldsOf(def: ElementDef): DisplayField[] {
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

/**
 * The fields display documents mark `searchable="true"`: only they are listed by
 * `/data/search/elements/{type}` (SearchFieldListResource), though every field can be searched.
 * Types not checked against their document list every field.
 */
const SEARCHABLE: Record<string, ReadonlySet<string>> = {
  'xnat:projectdata': new Set(
    'INSERT_DATE INSERT_USER ID NAME NAME_CSV DESCRIPTION DESCRIPTION_CSV SECONDARY_ID KEYWORDS PI PROJECT_INVS PROJECT_ACCESS PROJECT_USERS PROJECT_OWNERS PROJECT_MEMBERS PROJECT_COLLABS PROJECT_LAST_WORKFLOW PROJECT_LAST_ACCESS PROJECT_FAV PROJ_MR_COUNT PROJ_CT_COUNT PROJ_PET_COUNT PROJ_UT_COUNT'.split(
      ' ',
    ),
  ),
  'xnat:subjectdata': new Set(
    'INSERT_DATE INSERT_USER GENDER_TEXT HANDEDNESS_TEXT DOB AGE AGE_BRACKET EDUC SES INVEST_CSV PROJECTS PROJECT SUB_GROUP ADD_IDS RACE ETHNICITY'.split(
      ' ',
    ),
  ),
  'xnat:mrsessiondata': new Set(
    'SESSION_ID SUBJECT_ID SUBJECT_LABEL DATE VISIT INVEST_SEARCH INVEST TYPE OPERATOR_CSV SCANNER_CSV MARKER_CSV STABILIZATION_CSV GEN_AGE AGE DTI_COUNT INSERT_DATE INSERT_USER LAST_MODIFIED MR_SCAN_COUNT_AGG PROJECT SCAN_COUNT_TYPE SCAN_COUNT_DESC SCAN_COUNT_CLASS SCAN_COUNT_L_TYPE SCAN_COUNT_L_DESC SCAN_COUNT_L_CLASS'.split(
      ' ',
    ),
  ),
};

/** The fields `/data/search/elements/{type}` lists. */
export function listedFields(def: ElementDef): DisplayField[] {
  const searchable = SEARCHABLE[def.name.toLowerCase()];
  const fields = fieldsOf(def);
  return searchable ? fields.filter((f) => searchable.has(f.id)) : fields;
}

export function findField(def: ElementDef, id: string): DisplayField | undefined {
  return fieldsOf(def).find((f) => f.id.toLowerCase() === id.toLowerCase());
}
