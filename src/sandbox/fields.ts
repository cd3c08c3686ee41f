/**
 * The queryable fields of each listing (XMLPathShortcuts' shortcut names with their xpaths, §2.4)
 * and the QuerySpecs that give each listing XNAT's default columns and URIs (§2.1).
 */
import type { SandboxArchive, StoredExperiment, StoredProject, StoredScan, StoredSubject } from './model.js';
import type { Field, FieldKind, Join, QuerySpec } from './query.js';
import { demographicNumberKind, scanNumberKind, xmlText } from './schema-values.js';
import {
  ABSTRACT_EXPERIMENT_TYPES,
  EXPERIMENT_DATA,
  IMAGE_SCAN_DATA,
  SUBJECT_ASSESSOR_DATA,
  experimentIsA,
  isSameType,
  typeLineage,
} from './types.js';

export interface SubjectRow {
  subject: StoredSubject;
  /** The label in the listed project (the share label for shared subjects). */
  label: string;
}

export interface ExperimentRow {
  experiment: StoredExperiment;
  label: string;
  project: string;
  archive: SandboxArchive;
}

export interface ScanRow {
  scan: StoredScan;
  session: StoredExperiment;
}

const str = (value: string | number | undefined): string => (value === undefined ? '' : String(value));

function field<R>(key: string, xpath: string, get: (row: R) => string, kind: FieldKind = 'string'): Field<R> {
  return { key, xpath, kind, get };
}

/** Strips `[@xsi:type=...]`-style predicates and lower-cases, so paths compare the way XNAT's xpath lookup does. */
function normalisePath(path: string): string {
  return path.replace(/\[@[^\]]*\]/g, '').toLowerCase();
}

/** `fields/field[name=x]/field`: a custom variable's value. */
function customField(path: string, fields: () => Record<string, string>): string | undefined {
  const match = /^fields\/field\[name=([^\]]+)\]\/field$/i.exec(path);
  if (!match?.[1]) return undefined;
  const wanted = match[1].toLowerCase();
  const entry = Object.entries(fields()).find(([name]) => name.toLowerCase() === wanted);
  return entry?.[1] ?? '';
}

function fromRecord(record: Record<string, string | number>, path: string): string | undefined {
  const key = Object.keys(record).find((k) => k.toLowerCase() === path);
  return key === undefined ? undefined : str(record[key]);
}

// ---------------------------------------------------------------- projects

const P = 'xnat:projectData';

const projectId = field<StoredProject>('ID', `${P}/ID`, (p) => p.id);
const aliases: Join<StoredProject> = { id: 'aliases', entries: (p) => p.aliases.map((a) => [a]) };

export const projectSpec: QuerySpec<StoredProject> = {
  defaultRoot: P,
  shortcuts: [
    projectId,
    field('secondary_ID', `${P}/secondary_ID`, (p) => p.secondaryId),
    field('name', `${P}/name`, (p) => p.name),
    field('description', `${P}/description`, (p) => p.description),
    field('keywords', `${P}/keywords`, (p) => p.keywords),
    { ...field('alias', `${P}/aliases/alias/alias`, () => ''), join: { of: aliases, cell: 0 } },
    field('pi_firstname', `${P}/PI/firstname`, (p) => p.piFirstname),
    field('pi_lastname', `${P}/PI/lastname`, (p) => p.piLastname),
    field('note', `${P}/note`, () => ''),
  ],
  defaultColumns: () => ['ID', 'secondary_ID', 'name', 'description', 'pi_firstname', 'pi_lastname'],
  primaryKey: () => projectId,
  addedColumns: () => [],
  resolvePath: (relative) => {
    const path = normalisePath(relative);
    const simple: Record<string, (p: StoredProject) => string> = {
      id: (p) => p.id,
      secondary_id: (p) => p.secondaryId,
      name: (p) => p.name,
      description: (p) => p.description,
      keywords: (p) => p.keywords,
      'pi/firstname': (p) => p.piFirstname,
      'pi/lastname': (p) => p.piLastname,
      'meta/insert_date': (p) => p.insertDate,
      'meta/insert_user': (p) => p.insertUser,
    };
    return simple[path] ?? ((p) => customField(path, () => p.fields) ?? '');
  },
  isA: () => true,
  uri: (p) => `/data/projects/${p.id}`,
  customFields: (p) => p.fields,
  pageable: false,
};

// ---------------------------------------------------------------- subjects

const S = 'xnat:subjectData';
const DEMOGRAPHICS = `${S}/demographics[@xsi:type=xnat:demographicData]`;

/** A demographic as XNAT's tables print it (`70.0` for xs:float weight and height). */
function demographicValue(subject: StoredSubject, key: string): string {
  const value = (subject.demographics as Record<string, string | number | undefined>)[key];
  return value === undefined ? '' : xmlText(demographicNumberKind(key), value);
}

function demographic(
  key: keyof StoredSubject['demographics'],
  kind: FieldKind = 'string',
): Field<SubjectRow> {
  return field(key, `${DEMOGRAPHICS}/${key}`, (r) => demographicValue(r.subject, key), kind);
}

const subjectId = field<SubjectRow>('ID', `${S}/ID`, (r) => r.subject.id);

export function subjectSpec(archive: SandboxArchive): QuerySpec<SubjectRow> {
  const pi = (r: SubjectRow): StoredProject | undefined => archive.projects.get(r.subject.project);
  return {
    defaultRoot: S,
    shortcuts: [
      subjectId,
      field('project', `${S}/project`, (r) => r.subject.project),
      field('label', `${S}/label`, (r) => r.label),
      field('group', `${S}/group`, (r) => r.subject.group),
      field('src', `${S}/src`, (r) => r.subject.src),
      field('pi_firstname', `${S}/investigator/firstname`, (r) => pi(r)?.piFirstname ?? ''),
      field('pi_lastname', `${S}/investigator/lastname`, (r) => pi(r)?.piLastname ?? ''),
      demographic('dob', 'date'),
      demographic('yob', 'number'),
      demographic('age', 'number'),
      demographic('gender'),
      demographic('handedness'),
      field('ses', `${DEMOGRAPHICS}/ses`, () => '', 'number'),
      demographic('education', 'number'),
      field('educationDesc', `${DEMOGRAPHICS}/educationDesc`, () => ''),
      demographic('race'),
      demographic('ethnicity'),
      demographic('weight', 'number'),
      demographic('height', 'number'),
      field('gestational_age', `${DEMOGRAPHICS}/gestational_age`, () => '', 'number'),
      field('post_menstrual_age', `${DEMOGRAPHICS}/post_menstrual_age`, () => '', 'number'),
      field('birth_weight', `${DEMOGRAPHICS}/birth_weight`, () => '', 'number'),
      field('insert_date', `${S}/meta/insert_date`, (r) => r.subject.insertDate, 'timestamp'),
      field('insert_user', `${S}/meta/insert_user`, (r) => r.subject.insertUser),
      field('last_modified', `${S}/meta/last_modified`, (r) => r.subject.lastModified, 'timestamp'),
    ],
    defaultColumns: () => ['ID', 'project', 'label', 'insert_date', 'insert_user'],
    primaryKey: () => subjectId,
    addedColumns: () => [],
    resolvePath: (relative) => {
      const path = normalisePath(relative);
      const simple: Record<string, (r: SubjectRow) => string> = {
        id: (r) => r.subject.id,
        project: (r) => r.subject.project,
        label: (r) => r.label,
        group: (r) => r.subject.group,
        src: (r) => r.subject.src,
        initials: (r) => r.subject.initials,
        'meta/insert_date': (r) => r.subject.insertDate,
        'meta/insert_user': (r) => r.subject.insertUser,
        'meta/last_modified': (r) => r.subject.lastModified,
      };
      if (simple[path]) return simple[path];
      if (path.startsWith('demographics/')) {
        const key = path.slice('demographics/'.length);
        return (r) => demographicValue(r.subject, key);
      }
      return (r) => customField(path, () => r.subject.fields) ?? '';
    },
    isA: () => true,
    uri: (r) => `/data/subjects/${r.subject.id}`,
    customFields: (r) => r.subject.fields,
    pageable: true,
  };
}

// ---------------------------------------------------------------- experiments

const E = EXPERIMENT_DATA;
const SA = SUBJECT_ASSESSOR_DATA;
const IS = 'xnat:imageSessionData';
const IA = 'xnat:imageAssessorData';
const MR = 'xnat:mrSessionData';

function attribute(key: string, xpath: string): Field<ExperimentRow> {
  return field(key, xpath, (r) => str(r.experiment.attributes[key]));
}

function experimentPath(relative: string): (r: ExperimentRow) => string {
  const path = normalisePath(relative);
  const simple: Record<string, (r: ExperimentRow) => string> = {
    id: (r) => r.experiment.id,
    label: (r) => r.label,
    project: (r) => r.project,
    date: (r) => r.experiment.date,
    time: (r) => r.experiment.time,
    visit_id: (r) => r.experiment.visitId,
    visit: (r) => r.experiment.visit,
    note: (r) => r.experiment.note,
    acquisition_site: (r) => r.experiment.acquisitionSite,
    subject_id: (r) => r.experiment.subjectId,
    imagesession_id: (r) => r.experiment.imageSessionId,
    'meta/insert_date': (r) => r.experiment.insertDate,
    'meta/insert_user': (r) => r.experiment.insertUser,
    'meta/last_modified': (r) => r.experiment.lastModified,
    'meta/status': (r) => r.experiment.status,
  };
  return (
    simple[path] ??
    ((r) => customField(path, () => r.experiment.fields) ?? fromRecord(r.experiment.attributes, path) ?? '')
  );
}

function subjectOf(r: ExperimentRow): StoredSubject | undefined {
  return r.archive.subjects.get(r.experiment.subjectId);
}

function sessionOf(r: ExperimentRow): StoredExperiment | undefined {
  return r.archive.experiments.get(r.experiment.imageSessionId);
}

const experimentId = field<ExperimentRow>('ID', `${E}/ID`, (r) => r.experiment.id);

const experimentShortcuts: Array<Field<ExperimentRow>> = [
  experimentId,
  field('project', `${E}/project`, (r) => r.project),
  field('label', `${E}/label`, (r) => r.label),
  field('date', `${E}/date`, (r) => r.experiment.date, 'date'),
  field('time', `${E}/time`, (r) => r.experiment.time),
  field('visit_id', `${E}/visit_id`, (r) => r.experiment.visitId),
  field('visit', `${E}/visit`, (r) => r.experiment.visit),
  field('protocol', `${E}/protocol`, () => ''),
  field('note', `${E}/note`, (r) => r.experiment.note),
  field('pi_firstname', `${E}/investigator/firstname`, () => ''),
  field('pi_lastname', `${E}/investigator/lastname`, () => ''),
  field('xsiType', `${E}/extension_item/element_name`, (r) => r.experiment.xsiType),
  field('insert_date', `${E}/meta/insert_date`, (r) => r.experiment.insertDate, 'timestamp'),
  field('insert_user', `${E}/meta/insert_user`, (r) => r.experiment.insertUser),
  field('last_modified', `${E}/meta/last_modified`, (r) => r.experiment.lastModified, 'timestamp'),
  field('subject_ID', `${SA}/subject_ID`, (r) => r.experiment.subjectId),
  field('subject_label', `${S}/label`, (r) => subjectOf(r)?.label ?? ''),
  field('subject_project', `${S}/project`, (r) => subjectOf(r)?.project ?? ''),
  field('session_ID', `${IA}/imageSession_ID`, (r) => r.experiment.imageSessionId),
  field('session_label', `${IS}/label`, (r) => sessionOf(r)?.label ?? ''),
  field('session_project', `${IS}/project`, (r) => sessionOf(r)?.project ?? ''),
  attribute('modality', `${IS}/modality`),
  attribute('UID', `${IS}/UID`),
  attribute('scanner', `${IS}/scanner`),
  attribute('operator', `${IS}/operator`),
  attribute('session_type', `${IS}/session_type`),
  attribute('dcmAccessionNumber', `${IS}/dcmAccessionNumber`),
  attribute('dcmPatientId', `${IS}/dcmPatientId`),
  attribute('dcmPatientName', `${IS}/dcmPatientName`),
  attribute('fieldStrength', `${MR}/fieldStrength`),
  attribute('coil', `${MR}/coil`),
  attribute('marker', `${MR}/marker`),
  attribute('stabilization', `${MR}/stabilization`),
];

/** The root's primary key: the `ID` shortcut for xnat:experimentData, else keyed by its xpath (`xnat:subjectassessordata/id`). */
function rootId(root: string): Field<ExperimentRow> {
  if (isSameType(root, E)) return experimentId;
  return field(`${root}/ID`.toLowerCase(), `${root}/ID`, (r) => r.experiment.id);
}

function isAbstract(root: string): boolean {
  return ABSTRACT_EXPERIMENT_TYPES.some((t) => isSameType(t, root));
}

const EXPERIMENT_DEFAULTS = ['ID', 'project', 'date', 'xsiType', 'label', 'insert_date'];

/** `/data/projects/{p}[/subjects/{s}]/experiments` (ProjSubExptList, root xnat:subjectAssessorData). */
export const projectExperimentSpec: QuerySpec<ExperimentRow> = {
  defaultRoot: SA,
  shortcuts: experimentShortcuts,
  defaultColumns: () => EXPERIMENT_DEFAULTS,
  primaryKey: rootId,
  addedColumns: () => [],
  resolvePath: experimentPath,
  isA: (r, type) => experimentIsA(r.experiment, type),
  uri: (r) => `/data/experiments/${r.experiment.id}`,
  customFields: (r) => r.experiment.fields,
  pageable: true,
};

/** `/data/experiments` (ExperimentListResource, root xnat:experimentData). */
export const experimentSpec: QuerySpec<ExperimentRow> = {
  ...projectExperimentSpec,
  defaultRoot: E,
  defaultColumns: (root) => {
    const lineage = typeLineage(root).map((t) => t.toLowerCase());
    if (lineage.includes(SA.toLowerCase())) return [...EXPERIMENT_DEFAULTS, 'subject_ID', 'subject_label'];
    if (lineage.includes(IA.toLowerCase())) return [...EXPERIMENT_DEFAULTS, 'session_ID', 'session_label'];
    return EXPERIMENT_DEFAULTS;
  },
  // Abstract roots are not secured types: XNAT adds the element name and project for its per-row check.
  addedColumns: (root) =>
    experimentShortcuts.filter((f) => isAbstract(root) && (f.key === 'xsiType' || f.key === 'project')),
};

/** `.../experiments/{e}/assessors` (ProjSubExptAsstList). */
export const assessorSpec: QuerySpec<ExperimentRow> = {
  ...projectExperimentSpec,
  defaultRoot: IA,
  defaultColumns: () => [
    'ID',
    'project',
    'label',
    'date',
    'xsiType',
    'insert_date',
    'session_ID',
    'session_label',
  ],
  addedColumns: () => [],
  pageable: false,
};

// ---------------------------------------------------------------- scans

const SC = IMAGE_SCAN_DATA;

function scanPath(relative: string): (r: ScanRow) => string {
  const path = normalisePath(relative);
  const simple: Record<string, (r: ScanRow) => string> = {
    id: (r) => r.scan.id,
    type: (r) => r.scan.type,
    uid: (r) => r.scan.uid,
    quality: (r) => r.scan.quality,
    condition: (r) => r.scan.condition,
    series_description: (r) => r.scan.seriesDescription,
    note: (r) => r.scan.note,
    frames: (r) => str(r.scan.frames),
    modality: (r) => r.scan.modality,
    starttime: (r) => r.scan.startTime,
    image_session_id: (r) => r.session.id,
    xnat_imagescandata_id: (r) => str(r.scan.xnatImagescandataId),
    'meta/insert_date': (r) => r.scan.insertDate,
    'meta/insert_user': (r) => r.scan.insertUser,
    'meta/last_modified': (r) => r.scan.lastModified,
  };
  return simple[path] ?? ((r) => scanParameter(r.scan, path));
}

const ADD_PARAM_COLUMN = /^parameters\/addparam\[name=([^\]]*)\]\/addfield$/;

/** A scan parameter column as XNAT's tables print it (`42.0` for xs:float), `addParam` entries by name. */
function scanParameter(scan: StoredScan, path: string): string {
  const addParam = ADD_PARAM_COLUMN.exec(path)?.[1];
  if (addParam !== undefined) {
    return Object.entries(scan.addParams ?? {}).find(([name]) => name.toLowerCase() === addParam)?.[1] ?? '';
  }
  const key = Object.keys(scan.parameters).find((k) => k.toLowerCase() === path);
  const value = key === undefined ? undefined : scan.parameters[key];
  return key === undefined || value === undefined ? '' : xmlText(scanNumberKind(scan.xsiType, key), value);
}

const scanField = (key: string, path: string, kind: FieldKind = 'string'): Field<ScanRow> =>
  field(key, `${SC}/${path}`, scanPath(path), kind);

const scanKey = scanField('xnat_imagescandata_id', 'xnat_imagescandata_id', 'number');

export const scanSpec: QuerySpec<ScanRow> = {
  defaultRoot: SC,
  shortcuts: [
    scanKey,
    scanField('ID', 'ID'),
    scanField('type', 'type'),
    scanField('UID', 'UID'),
    scanField('note', 'note'),
    scanField('quality', 'quality'),
    scanField('condition', 'condition'),
    scanField('series_description', 'series_description'),
    field('documentation', `${SC}/documentation`, () => ''),
    field('scanner', `${SC}/scanner`, (r) => str(r.scan.parameters.scanner)),
    scanField('modality', 'modality'),
    scanField('frames', 'frames', 'number'),
    scanField('scanTime', 'startTime'),
    field('coil', 'xnat:mrScanData/coil', (r) => str(r.scan.parameters.coil)),
    field('fieldStrength', 'xnat:mrScanData/fieldStrength', (r) => str(r.scan.parameters.fieldStrength)),
    field('xsiType', `${SC}/extension_item/element_name`, (r) => r.scan.xsiType),
    scanField('insert_date', 'meta/insert_date', 'timestamp'),
    scanField('insert_user', 'meta/insert_user'),
    scanField('last_modified', 'meta/last_modified', 'timestamp'),
  ],
  defaultColumns: () => [
    'xnat_imagescandata_id',
    'ID',
    'type',
    'quality',
    'xsiType',
    'note',
    'series_description',
  ],
  // A sub-type root's key is the same column under that type's xpath, as for experiments.
  primaryKey: (root) =>
    isSameType(root, SC)
      ? scanKey
      : field(
          `${root}/xnat_imagescandata_id`.toLowerCase(),
          `${root}/xnat_imagescandata_id`,
          scanKey.get,
          'number',
        ),
  addedColumns: () => [],
  resolvePath: scanPath,
  isA: (r, type) => isSameType(type, SC) || isSameType(type, r.scan.xsiType),
  uri: (r) => `/data/experiments/${r.session.id}/scans/${r.scan.id}`,
  pageable: false,
};
