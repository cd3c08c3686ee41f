/**
 * Display fields per data type, after XNAT's display documents (`*_display.xml`): the IDs listed by
 * `/data/search/elements/{type}` and usable as `xdat:search_field`s and criteria, with their values.
 * IDs follow the display documents where they are known from recorded searches (`SUBJECT_LABEL`,
 * `SUB_PROJECT_IDENTIFIER`, `GENDER_TEXT`, `MR_SCAN_COUNT_AGG`, ...); the rest are named in that style.
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

export const fieldValue = (fields: Record<string, string>, name: string): string =>
  Object.entries(fields).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ?? '';

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
    f('SUBJECT_ID', 'Subject', 'string', (s) => s.id),
    f('SUBJECTID', 'Subject', 'string', (s) => s.id),
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

export function findField(def: ElementDef, id: string): DisplayField | undefined {
  return fieldsOf(def).find((f) => f.id.toLowerCase() === id.toLowerCase());
}
