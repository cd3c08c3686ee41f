/**
 * Item writes (§4, §5): PUT/POST/DELETE of projects, subjects, experiments, scans and image
 * assessors, renames, sharing, quarantine and deletes, as XNAT's ProjectResource, SubjectResource,
 * SubjAssessmentResource, ScanResource and ExptAssessmentResource answer them: status codes,
 * plain-text IDs and the messages of their Restlet status pages.
 *
 * Request content is read the way `SecureResource#loadItem` reads it (an `.xml` multipart part, an
 * XML body, form fields), then query parameters are applied on top: shortcut names and xpaths
 * (`xnat:mrSessionData/date`, `.../demographics[@xsi:type=xnat:demographicData]/gender`,
 * `.../fields/field[name=x]/field`). Unknown fields are ignored, as XNAT ignores them.
 */
import { insertStamp, newExperiment, newSubject } from './records.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  canActivateProject,
  canDeleteProject,
  canEditProject,
  canListProject,
  canReadItem,
  canReadProject,
  roleIn,
} from './access.js';
import { SandboxHttpError } from './errors.js';
import { listItemProjects } from './listings.js';
import {
  findExperimentIn,
  findProject,
  findSubjectIn,
  labelIn,
  resolvePath,
  visibleProject,
} from './lookup.js';
import type {
  ItemStatus,
  SandboxArchive,
  StoredExperiment,
  StoredFile,
  StoredProject,
  StoredResource,
  StoredScan,
  StoredSubject,
} from './model.js';
import { emptyReply, textReply, type AuthedContext, type Reply } from './reply.js';
import type { Route } from './router.js';
import { typeLineage } from './types.js';

// ---------------------------------------------------------------- request content

type ItemKind = 'project' | 'subject' | 'experiment' | 'scan';

/** What a request asks to set on one item. */
interface Submission {
  /** The data type named by `xsiType=`, the document root or the first typed xpath. */
  xsiType: string | undefined;
  /** Values by path relative to the item (`date`, `demographics/gender`, `fields/field[name=x]/field`). */
  values: Array<[string, string]>;
  /** Identity attributes of a submitted XML document, checked against the stored item. */
  document: { id?: string; project?: string; label?: string } | undefined;
  /** Scans of a submitted session document. */
  scans: Submission[];
}

/** Query parameters that steer the request rather than set a field. */
const CONTROL_PARAMS = new Set(
  [
    'format',
    'xsiType',
    'req_format',
    'inbody',
    'event_reason',
    'event_type',
    'event_action',
    'event_comment',
    'event_id',
    'quarantine',
    'activate',
    '_lock',
    '_unlock',
    '_obsolete',
    'allowDataDeletion',
    'removeFiles',
    'triggerPipelines',
    'fixScanTypes',
    'pullDataFromHeaders',
    'overwrite',
    'primary',
    'loadExisting',
    'ELEMENT_0',
    'XNAT_CSRF',
    'accessibility',
    'label',
  ].map((p) => p.toLowerCase()),
);

const DEMOGRAPHIC_SHORTCUTS = [
  'dob',
  'yob',
  'age',
  'gender',
  'handedness',
  'ses',
  'education',
  'educationDesc',
  'race',
  'ethnicity',
  'weight',
  'height',
  'gestational_age',
  'post_menstrual_age',
  'birth_weight',
];

/** XMLPathShortcuts (§2.4): shortcut name → path relative to the item. */
const SHORTCUTS: Record<ItemKind, Record<string, string>> = {
  project: {
    ID: 'ID',
    secondary_ID: 'secondary_ID',
    name: 'name',
    description: 'description',
    keywords: 'keywords',
    alias: 'aliases/alias/alias',
    pi_firstname: 'PI/firstname',
    pi_lastname: 'PI/lastname',
    note: 'note',
  },
  subject: {
    ID: 'ID',
    project: 'project',
    group: 'group',
    src: 'src',
    pi_firstname: 'investigator/firstname',
    pi_lastname: 'investigator/lastname',
    ...Object.fromEntries(DEMOGRAPHIC_SHORTCUTS.map((d) => [d, `demographics/${d}`])),
  },
  experiment: {
    ID: 'ID',
    visit_id: 'visit_id',
    visit: 'visit',
    protocol: 'protocol',
    date: 'date',
    time: 'time',
    note: 'note',
    project: 'project',
    scanner: 'scanner',
    operator: 'operator',
    dcmAccessionNumber: 'dcmAccessionNumber',
    dcmPatientId: 'dcmPatientId',
    dcmPatientName: 'dcmPatientName',
    session_type: 'session_type',
    modality: 'modality',
    UID: 'UID',
    studyInstanceUID: 'UID',
    coil: 'coil',
    fieldStrength: 'fieldStrength',
    marker: 'marker',
    stabilization: 'stabilization',
    subject_ID: 'subject_ID',
    acquisition_site: 'acquisition_site',
  },
  scan: {
    ID: 'ID',
    type: 'type',
    UID: 'UID',
    note: 'note',
    quality: 'quality',
    condition: 'condition',
    series_description: 'series_description',
    documentation: 'documentation',
    scanner: 'scanner',
    modality: 'modality',
    frames: 'frames',
    scanTime: 'startTime',
    coil: 'coil',
    fieldStrength: 'fieldStrength',
  },
};

function shortcut(kind: ItemKind, key: string): string | undefined {
  const lower = key.toLowerCase();
  const entry = Object.entries(SHORTCUTS[kind]).find(([name]) => name.toLowerCase() === lower);
  return entry?.[1];
}

const TYPED_KEY = /^([A-Za-z_][\w-]*:[A-Za-z_][\w-]*)\/(.+)$/;

/** `[@xsi:type=...]` predicates name a type, not an element: the path is the same without them. */
function stripTypePredicates(path: string): string {
  return path.replace(/\[@[^\]]*\]/g, '');
}

/** The types whose xpaths address an item of `xsiType` (the type itself and its ancestors). */
function lineageOf(kind: ItemKind, xsiType: string | undefined): string[] {
  if (kind === 'project') return ['xnat:projectdata'];
  if (kind === 'subject') return ['xnat:subjectdata'];
  if (kind === 'scan')
    return [...(xsiType ? [xsiType] : []), 'xnat:imagescandata'].map((t) => t.toLowerCase());
  return xsiType ? typeLineage(xsiType).map((t) => t.toLowerCase()) : ['xnat:experimentdata'];
}

/** Query or form parameters as item values; the first typed xpath names the type when nothing else did. */
function paramValues(kind: ItemKind, params: URLSearchParams, submission: Submission): void {
  for (const [key, value] of params) {
    if (CONTROL_PARAMS.has(key.toLowerCase())) continue;
    const typed = TYPED_KEY.exec(key);
    if (typed?.[1] && typed[2]) {
      submission.xsiType ??= kind === 'experiment' || kind === 'scan' ? typed[1] : undefined;
      if (!lineageOf(kind, submission.xsiType).includes(typed[1].toLowerCase())) continue;
      submission.values.push([stripTypePredicates(typed[2]), value]);
      continue;
    }
    const path = shortcut(kind, key);
    if (path !== undefined) submission.values.push([path, value]);
  }
}

// ---------------------------------------------------------------- XML documents

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => ['field', 'scan', 'alias'].includes(localName(name)),
});

type XmlNode = Record<string, unknown>;

function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isNode(value) && typeof value['#text'] === 'string') return value['#text'];
  return undefined;
}

/** `xnat:MRSession` → `xnat:mrSessionData`, `xnat:Subject` → `xnat:subjectData` (the inverse of types.elementName). */
function typeOfElement(name: string): string {
  const [prefix, local = ''] = name.includes(':') ? name.split(':', 2) : ['xnat', name];
  if (local === 'QCManualAssessment') return `${prefix}:qcManualAssessorData`;
  if (local === 'PETMRSession') return `${prefix}:petmrSessionData`;
  const modality = /^([A-Z]+)(Session|Scan)$/.exec(local);
  if (modality?.[1] && modality[2]) return `${prefix}:${modality[1].toLowerCase()}${modality[2]}Data`;
  return `${prefix}:${local.charAt(0).toLowerCase()}${local.slice(1)}Data`;
}

/** Elements below an item that are other records (shares, resources, children), not its fields. */
const SKIPPED_ELEMENTS = new Set([
  'sharing',
  'resources',
  'assessors',
  'reconstructions',
  'experiments',
  'file',
  'in',
  'out',
  'image_session_ID',
]);

function isMetaAttribute(name: string): boolean {
  return name.startsWith('@xmlns') || name.startsWith('@xsi:');
}

function collectElement(path: string, value: unknown, into: Array<[string, string]>): void {
  const text = textOf(value);
  if (text !== undefined && text !== '') into.push([path, text]);
  if (!isNode(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key === '#text' || isMetaAttribute(key)) continue;
    if (key.startsWith('@')) into.push([`${path}/${key.slice(1)}`, String(child)]);
    else
      for (const item of Array.isArray(child) ? child : [child])
        collectElement(`${path}/${localName(key)}`, item, into);
  }
}

function documentSubmission(root: XmlNode, rootName: string): Submission {
  const xsiType = typeof root['@xsi:type'] === 'string' ? root['@xsi:type'] : typeOfElement(rootName);
  const submission: Submission = { xsiType, values: [], document: {}, scans: [] };
  const document: NonNullable<Submission['document']> = {};
  for (const [key, value] of Object.entries(root)) {
    if (key === '#text' || isMetaAttribute(key)) continue;
    if (key.startsWith('@')) {
      const name = key.slice(1);
      if (name === 'ID') document.id = String(value);
      else if (name === 'project') document.project = String(value);
      else if (name === 'label') document.label = String(value);
      else submission.values.push([name, String(value)]);
      continue;
    }
    const name = localName(key);
    if (SKIPPED_ELEMENTS.has(name)) continue;
    if (name === 'scans') {
      const scans = isNode(value)
        ? Object.entries(value).find(([k]) => localName(k) === 'scan')?.[1]
        : undefined;
      for (const scan of Array.isArray(scans) ? scans : [])
        if (isNode(scan)) submission.scans.push(documentSubmission(scan, 'xnat:imageScanData'));
      continue;
    }
    if (name === 'fields') {
      const fields = isNode(value)
        ? Object.entries(value).find(([k]) => localName(k) === 'field')?.[1]
        : undefined;
      for (const field of Array.isArray(fields) ? fields : []) {
        if (!isNode(field) || typeof field['@name'] !== 'string') continue;
        submission.values.push([`fields/field[name=${field['@name']}]/field`, textOf(field) ?? '']);
      }
      continue;
    }
    if (name === 'aliases') {
      const aliases = isNode(value)
        ? Object.entries(value).find(([k]) => localName(k) === 'alias')?.[1]
        : undefined;
      for (const alias of Array.isArray(aliases) ? aliases : [])
        submission.values.push(['aliases/alias/alias', textOf(alias) ?? '']);
      continue;
    }
    collectElement(name, value, submission.values);
  }
  submission.document = document;
  return submission;
}

function parseDocument(xml: string): Submission {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new SandboxHttpError(
      422,
      `An error occurred parsing the XML: ${valid.err.msg} (line ${valid.err.line})`,
    );
  }
  const parsed = parser.parse(xml) as XmlNode;
  const rootEntry = Object.entries(parsed).find(([key]) => !key.startsWith('?') && key !== '#comment');
  if (!rootEntry || !isNode(rootEntry[1])) {
    throw new SandboxHttpError(422, 'An error occurred parsing the XML: no root element');
  }
  return documentSubmission(rootEntry[1], rootEntry[0]);
}

/** The `.xml` file part of a multipart body (pyxnat sends `data.xml` this way), if there is one. */
function multipartXml(contentType: string, body: Buffer): string | undefined {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) return undefined;
  for (const part of body.toString('utf8').split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const headers = part.slice(0, split);
    if (/filename="[^"]*\.xml"/i.test(headers)) return part.slice(split + 4).replace(/\r\n$/, '');
  }
  return undefined;
}

function isTrue(value: string | null): boolean {
  return value !== null && value.toLowerCase() === 'true';
}

/** `SecureResource#loadItem`: document or form first, then the query parameters on top. */
async function readSubmission(ctx: AuthedContext, kind: ItemKind): Promise<Submission> {
  const contentType = ctx.headers['content-type'] ?? '';
  const reqFormat = ctx.query.get('req_format')?.toLowerCase();
  const body = await ctx.body();
  let submission: Submission = { xsiType: undefined, values: [], document: undefined, scans: [] };
  if (/multipart\/form-data/i.test(contentType)) {
    const xml = multipartXml(contentType, body);
    if (xml !== undefined) submission = parseDocument(xml);
  } else if (
    body.length > 0 &&
    (/(text|application)\/xml/i.test(contentType) || reqFormat === 'xml' || isTrue(ctx.query.get('inbody')))
  ) {
    submission = parseDocument(body.toString('utf8'));
  } else if (body.length > 0 && (reqFormat === 'form' || /x-www-form-urlencoded/i.test(contentType))) {
    paramValues(kind, new URLSearchParams(body.toString('utf8')), submission);
  }
  const queryType = ctx.query.get('xsiType');
  if (queryType) submission.xsiType = queryType;
  paramValues(kind, ctx.query, submission);
  return submission;
}

// ---------------------------------------------------------------- validation and application

const CUSTOM_FIELD = /^fields\/field\[name=([^\]]+)\]\/field$/i;
const GENDERS = ['male', 'female', 'other', 'unknown', 'M', 'F'];
const HANDEDNESS = ['right', 'left', 'ambidextrous', 'unknown', 'R', 'L', 'A', 'U'];

function isDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === value;
}

const isTime = (value: string): boolean => /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,3})?)?$/.test(value);
const isInteger = (value: string): boolean => /^-?\d+$/.test(value);
const isNumber = (value: string): boolean => value.trim() !== '' && Number.isFinite(Number(value));

/** Schema checks of the fields the sandbox models (xs:date, xs:time, integers, enumerations). */
function validationErrors(kind: ItemKind, xsiType: string, values: Array<[string, string]>): string[] {
  const errors: string[] = [];
  const check = (path: string, value: string, ok: boolean, expected: string): void => {
    if (value !== '' && !ok) errors.push(`${xsiType}/${path} : Invalid ${expected}: '${value}'`);
  };
  for (const [rawPath, value] of values) {
    const path = rawPath.toLowerCase();
    if (kind === 'experiment' && path === 'date') check(rawPath, value, isDate(value), 'date (YYYY-MM-DD)');
    if (kind === 'experiment' && path === 'time') check(rawPath, value, isTime(value), 'time (HH:MM:SS)');
    if (kind === 'scan' && path === 'frames') check(rawPath, value, isInteger(value), 'integer');
    if (kind === 'scan' && path === 'starttime') check(rawPath, value, isTime(value), 'time (HH:MM:SS)');
    if (kind === 'subject') {
      if (path === 'demographics/dob') check(rawPath, value, isDate(value), 'date (YYYY-MM-DD)');
      if (path === 'demographics/yob' || path === 'demographics/education')
        check(rawPath, value, isInteger(value), 'integer');
      if (['demographics/age', 'demographics/weight', 'demographics/height'].includes(path))
        check(rawPath, value, isNumber(value), 'number');
      if (path === 'demographics/gender')
        check(rawPath, value, GENDERS.includes(value), `value (one of ${GENDERS.join(', ')})`);
      if (path === 'demographics/handedness')
        check(rawPath, value, HANDEDNESS.includes(value), `value (one of ${HANDEDNESS.join(', ')})`);
    }
  }
  return errors;
}

function validate(kind: ItemKind, xsiType: string, values: Array<[string, string]>): void {
  const errors = validationErrors(kind, xsiType, values);
  if (errors.length > 0) throw new SandboxHttpError(400, errors.join('\n'));
}

/** Sets or (with an empty value) removes a custom variable; reports whether the path was one. */
function applyCustomField(fields: Record<string, string>, path: string, value: string): boolean {
  const name = CUSTOM_FIELD.exec(path)?.[1];
  if (name === undefined) return false;
  if (value === '') delete fields[name];
  else fields[name] = value;
  return true;
}

/** Paths that identify the item or hang other records off it: handled by the caller, never stored as fields. */
const IDENTITY_PATHS = new Set([
  'id',
  'project',
  'label',
  'subject_id',
  'imagesession_id',
  'image_session_id',
]);

function applyProject(project: StoredProject, values: Array<[string, string]>): void {
  for (const [path, value] of values) {
    if (applyCustomField(project.fields, path, value)) continue;
    switch (path.toLowerCase()) {
      case 'name':
        project.name = value;
        break;
      case 'secondary_id':
        project.secondaryId = value;
        break;
      case 'description':
        project.description = value;
        break;
      case 'keywords':
        project.keywords = value;
        break;
      case 'aliases/alias/alias':
        if (value !== '' && !project.aliases.includes(value)) project.aliases.push(value);
        break;
      case 'pi/firstname':
        project.piFirstname = value;
        break;
      case 'pi/lastname':
        project.piLastname = value;
        break;
    }
  }
}

const NUMERIC_DEMOGRAPHICS = new Set(['yob', 'age', 'education', 'weight', 'height']);
const MODELLED_DEMOGRAPHICS = new Set([
  'gender',
  'handedness',
  'dob',
  'yob',
  'age',
  'education',
  'race',
  'ethnicity',
  'weight',
  'height',
]);

function applySubject(subject: StoredSubject, values: Array<[string, string]>): void {
  for (const [path, value] of values) {
    if (applyCustomField(subject.fields, path, value)) continue;
    const lower = path.toLowerCase();
    if (lower === 'group') subject.group = value;
    else if (lower === 'src') subject.src = value;
    else if (lower === 'initials') subject.initials = value;
    else if (lower.startsWith('demographics/')) {
      const key = lower.slice('demographics/'.length);
      if (!MODELLED_DEMOGRAPHICS.has(key)) continue;
      const demographics = subject.demographics as Record<string, string | number | undefined>;
      if (value === '') delete demographics[key];
      else demographics[key] = NUMERIC_DEMOGRAPHICS.has(key) ? Number(value) : value;
    }
  }
}

function applyExperiment(experiment: StoredExperiment, values: Array<[string, string]>): void {
  for (const [path, value] of values) {
    if (applyCustomField(experiment.fields, path, value)) continue;
    const lower = path.toLowerCase();
    if (IDENTITY_PATHS.has(lower)) continue;
    if (lower === 'date') experiment.date = value;
    else if (lower === 'time') experiment.time = value;
    else if (lower === 'visit_id') experiment.visitId = value;
    else if (lower === 'visit') experiment.visit = value;
    else if (lower === 'note') experiment.note = value;
    else if (lower === 'acquisition_site') experiment.acquisitionSite = value;
    else if (value === '') delete experiment.attributes[path];
    else experiment.attributes[path] = value;
  }
}

function applyScan(scan: StoredScan, values: Array<[string, string]>): void {
  for (const [path, value] of values) {
    const lower = path.toLowerCase();
    if (IDENTITY_PATHS.has(lower)) continue;
    if (lower === 'type') scan.type = value;
    else if (lower === 'uid') scan.uid = value;
    else if (lower === 'note') scan.note = value;
    else if (lower === 'quality') scan.quality = value;
    else if (lower === 'condition') scan.condition = value;
    else if (lower === 'series_description') scan.seriesDescription = value;
    else if (lower === 'modality') scan.modality = value;
    else if (lower === 'frames') scan.frames = value === '' ? 0 : Number(value);
    else if (lower === 'starttime') scan.startTime = value;
    else if (value === '') delete scan.parameters[path];
    else scan.parameters[path] = value;
  }
}

/** The value a submission gives a path (the last one wins, as each parameter overwrites the field). */
function valueOf(submission: Submission, path: string): string | undefined {
  const lower = path.toLowerCase();
  return submission.values.filter(([p]) => p.toLowerCase() === lower).at(-1)?.[1];
}

// ---------------------------------------------------------------- records

/** XftStringUtils.isValidId: accession IDs and project IDs are letters, digits, `_` and `-`. */
const VALID_ID = /^[A-Za-z0-9_-]+$/;

function newScan(archive: SandboxArchive, id: string, xsiType: string, login: string): StoredScan {
  const stamp = insertStamp();
  return {
    id,
    xnatImagescandataId: archive.sequences.scan++,
    xsiType,
    type: '',
    seriesDescription: '',
    quality: '',
    condition: '',
    note: '',
    frames: 0,
    uid: '',
    modality: '',
    startTime: '',
    parameters: {},
    insertDate: stamp,
    insertUser: login,
    lastModified: stamp,
    resources: [],
  };
}

/** Sets the label an item carries in a project: its own in the owning project, the share's elsewhere. */
function setLabelIn(item: StoredSubject | StoredExperiment, project: string, label: string): void {
  if (item.project === project) item.label = label;
  else {
    const share = item.shares.find((s) => s.project === project);
    if (share) share.label = label;
  }
}

function owningProject(archive: SandboxArchive, item: StoredSubject | StoredExperiment): StoredProject {
  const project = archive.projects.get(item.project);
  if (!project) throw new SandboxHttpError(500, `Project ${item.project} is missing`);
  return project;
}

function siteUrl(ctx: AuthedContext): string {
  return `http://${ctx.headers.host ?? 'localhost'}${ctx.state.contextPath}`;
}

/** `SecureResource#returnSuccessfulCreateFromList`: 200 with the new object's URL (also as Location). */
function createdFromList(ctx: AuthedContext, id: string): Reply {
  const url = `${siteUrl(ctx)}/data/${ctx.segments.join('/')}/${encodeURIComponent(id)}`;
  const reply = textReply(200, url);
  reply.headers.Location = url;
  return reply;
}

// ---------------------------------------------------------------- quarantine

/** XNAT's isQueryVariableTrue: present and not `false`/`0`. */
function flag(ctx: AuthedContext, name: string): boolean {
  const value = ctx.query.get(name);
  return value !== null && !['false', '0'].includes(value.toLowerCase());
}

// XNAT's own text, double space included (InsufficientPrivilegesException in SecureResource).
const ACTIVATION_DENIED =
  'Specified user  account has insufficient activation privileges for experiments in this project.';
// The lock branch throws a ClientException whose text has a single space.
const LOCK_DENIED =
  'Specified user account has insufficient activation privileges for experiments in this project.';

/** `SecureResource#postSaveManageStatus`: `activate`, `quarantine`, `_lock`/`_unlock`/`_obsolete` after a save. */
function manageStatus(ctx: AuthedContext, item: StoredSubject | StoredExperiment): void {
  const project = owningProject(ctx.state.archive, item);
  const allowed = canActivateProject(project, ctx.user);
  const apply = (name: string, status: ItemStatus, denied = ACTIVATION_DENIED): void => {
    if (!flag(ctx, name)) return;
    if (!allowed) throw new SandboxHttpError(403, denied);
    item.status = status;
  };
  apply('activate', 'active');
  apply('quarantine', 'quarantine');
  if (flag(ctx, '_lock')) apply('_lock', 'locked', LOCK_DENIED);
  else if (flag(ctx, '_unlock')) apply('_unlock', 'active');
  else apply('_obsolete', 'obsolete');
}

// ---------------------------------------------------------------- projects

/** Project IDs of deleted projects, per archive: XNAT never lets them be reused. */
const deletedProjects = new WeakMap<SandboxArchive, Set<string>>();

function deletedIn(archive: SandboxArchive): Set<string> {
  let set = deletedProjects.get(archive);
  if (!set) deletedProjects.set(archive, (set = new Set()));
  return set;
}

/** Project documents and settings are edited by the project's owners (members edit its data only). */
function ownsProject(project: StoredProject, ctx: AuthedContext): boolean {
  return ctx.user.admin || roleIn(project, ctx.user) === 'owner';
}

function applyAccessibility(ctx: AuthedContext, project: StoredProject, value: string | null): void {
  if (value === null) return;
  if (value !== 'public' && value !== 'protected' && value !== 'private') {
    throw new SandboxHttpError(400, `Invalid accessibility: ${value}`);
  }
  project.accessibility = value;
}

function titleConflict(archive: SandboxArchive, project: StoredProject): string | undefined {
  for (const other of archive.projects.values()) {
    if (other.id === project.id) continue;
    if (other.name === project.name) return `Invalid project title: '${project.name}' is already being used.`;
    if (other.secondaryId === project.secondaryId)
      return `Invalid project running title: '${project.secondaryId}' is already being used.`;
  }
  return undefined;
}

async function createProject(ctx: AuthedContext, id: string, submission: Submission): Promise<StoredProject> {
  const { archive } = ctx.state;
  if (!VALID_ID.test(id)) throw new SandboxHttpError(417, 'Invalid character in project ID.');
  if (deletedIn(archive).has(id)) {
    throw new SandboxHttpError(
      403,
      `The project ID ${id} was used in a previously deleted project and cannot be reused.`,
    );
  }
  const project: StoredProject = {
    id,
    secondaryId: id,
    name: id,
    description: '',
    keywords: '',
    piFirstname: '',
    piLastname: '',
    accessibility: 'private',
    aliases: [],
    fields: {},
    users: { [ctx.user.login]: 'owner' },
    quarantineCode: 0,
    prearchiveCode: 4,
    insertDate: insertStamp(),
    insertUser: ctx.user.login,
    resources: [],
  };
  validate('project', 'xnat:projectData', submission.values);
  applyProject(project, submission.values);
  applyAccessibility(ctx, project, ctx.query.get('accessibility'));
  const conflict = titleConflict(archive, project);
  if (conflict) throw new SandboxHttpError(409, conflict);
  archive.projects.set(id, project);
  return project;
}

/** `PUT /data/projects/{p}`: creates (the creator owns it) or updates; 200 with an empty body. */
export async function putProject(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const key = ctx.params.project ?? '';
  const submission = await readSubmission(ctx, 'project');
  const existing = findProject(archive, key);
  if (!existing) {
    await createProject(ctx, submission.document?.id ?? key, submission);
    return emptyReply();
  }
  if (!canListProject(existing, ctx.user))
    throw new SandboxHttpError(404, `Unable to identify project ${key}`);
  if (!ownsProject(existing, ctx)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient edit privileges for this project.',
    );
  }
  if (submission.document?.id !== undefined && submission.document.id !== existing.id) {
    throw new SandboxHttpError(400, 'ID cannot be modified');
  }
  validate('project', 'xnat:projectData', submission.values);
  const before = { name: existing.name, secondaryId: existing.secondaryId };
  applyProject(existing, submission.values);
  const conflict = titleConflict(archive, existing);
  if (conflict) {
    Object.assign(existing, before);
    throw new SandboxHttpError(409, conflict);
  }
  applyAccessibility(ctx, existing, ctx.query.get('accessibility'));
  return emptyReply();
}

/** `POST /data/projects`: creation from the list; the ID comes from the document or `ID=`. */
export async function postProject(ctx: AuthedContext): Promise<Reply> {
  const submission = await readSubmission(ctx, 'project');
  const id = submission.document?.id ?? valueOf(submission, 'ID');
  if (!id) throw new SandboxHttpError(400, 'Project ID is required.');
  if (findProject(ctx.state.archive, id)) throw new SandboxHttpError(409, 'Project already exists.');
  const project = await createProject(ctx, id, submission);
  return createdFromList(ctx, project.id);
}

/** `PUT /data/projects/{p}/{quarantine_code|prearchive_code|accessibility}/{value}`: owners only. */
export function putProjectSetting(ctx: AuthedContext): Reply {
  const project = visibleProject(ctx, ctx.params.project ?? '');
  const value = ctx.params.value ?? '';
  if (!ownsProject(project, ctx)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient edit privileges for this project.',
    );
  }
  switch (ctx.segments[2]) {
    case 'quarantine_code': {
      const code = { '0': 0, '1': 1, true: 1, false: 0 }[value.toLowerCase()];
      if (code === undefined) throw new SandboxHttpError(400, `Invalid quarantine code: ${value}`);
      project.quarantineCode = code as 0 | 1;
      break;
    }
    case 'prearchive_code': {
      const code = Number(value);
      if (code !== 0 && code !== 4 && code !== 5 && code !== 10)
        throw new SandboxHttpError(400, `Invalid prearchive code: ${value}`);
      project.prearchiveCode = code;
      break;
    }
    case 'accessibility':
      applyAccessibility(ctx, project, value);
      break;
    default:
      throw new SandboxHttpError(404, '');
  }
  return emptyReply();
}

/** `DELETE /data/projects/{p}`: owners only; its subjects and experiments go, shares into it are removed. */
export async function deleteProject(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const project = visibleProject(ctx, ctx.params.project ?? '');
  if (!canDeleteProject(project, ctx.user)) {
    throw new SandboxHttpError(403, "User account doesn't have permission to delete this project.");
  }
  const files = filesOf(project.resources);
  for (const experiment of [...archive.experiments.values()]) {
    if (!archive.experiments.has(experiment.id)) continue;
    if (experiment.project === project.id) files.push(...removeExperiment(archive, experiment));
    else experiment.shares = experiment.shares.filter((s) => s.project !== project.id);
  }
  for (const subject of [...archive.subjects.values()]) {
    if (subject.project === project.id) files.push(...removeSubject(archive, subject));
    else subject.shares = subject.shares.filter((s) => s.project !== project.id);
  }
  archive.projects.delete(project.id);
  deletedIn(archive).add(project.id);
  await removeFilesIfAsked(ctx, files);
  return emptyReply();
}

// ---------------------------------------------------------------- subjects

/** A readable subject named by the URL (label or ID within the project, or accession ID); undefined if none. */
function existingSubject(
  ctx: AuthedContext,
  project: StoredProject | undefined,
  key: string,
): StoredSubject | undefined {
  const { archive } = ctx.state;
  const found = project ? findSubjectIn(archive, project.id, key) : archive.subjects.get(key);
  return found && canReadItem(archive, found, ctx.user) ? found : undefined;
}

function urlProject(ctx: AuthedContext): StoredProject | undefined {
  return ctx.params.project === undefined ? undefined : visibleProject(ctx, ctx.params.project);
}

/** `SubjAssessmentResource#createNewSubject`: an experiment PUT under an unknown subject label creates it. */
function autoCreateSubject(ctx: AuthedContext, project: StoredProject, label: string): StoredSubject {
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      `User ${ctx.user.login} has insufficient create privileges for subjects in this project.`,
    );
  }
  const { archive } = ctx.state;
  const subject = newSubject(archive, project.id, label, ctx.user.login);
  archive.subjects.set(subject.id, subject);
  return subject;
}

/** A `?label=` rename (files move with it in XNAT); 409 when the label is taken in that project. */
function rename(
  ctx: AuthedContext,
  item: StoredSubject | StoredExperiment,
  project: string,
  label: string,
  find: (
    archive: SandboxArchive,
    project: string,
    key: string,
  ) => StoredSubject | StoredExperiment | undefined,
): Reply {
  if (label !== labelIn(item, project)) {
    if (find(ctx.state.archive, project, label)) {
      throw new SandboxHttpError(409, 'Specified label is already in use.');
    }
    setLabelIn(item, project, label);
    item.lastModified = insertStamp();
  }
  return emptyReply();
}

/**
 * What a PUT to an existing subject or experiment passes before anything changes: the project moves
 * only through its own URI (409), the owning project must be editable (403), then `?label=` renames
 * (the answer is `renamed`) and a submitted ID must be the stored one (400). `whenAllowed` runs once
 * the edit is allowed, before a rename (an experiment PUT re-points its subject there). Returns the
 * project of the URL, or the owning one.
 */
function checkUpdate(
  ctx: AuthedContext,
  existing: StoredSubject | StoredExperiment,
  projectInUrl: StoredProject | undefined,
  submission: Submission,
  kind: {
    plural: 'subjects' | 'experiments';
    find: (
      archive: SandboxArchive,
      project: string,
      key: string,
    ) => StoredSubject | StoredExperiment | undefined;
    whenAllowed?: (project: StoredProject) => void;
  },
): { project: StoredProject; renamed?: Reply } {
  const owning = owningProject(ctx.state.archive, existing);
  const project = projectInUrl ?? owning;
  if (submission.document?.project !== undefined && submission.document.project !== existing.project) {
    throw new SandboxHttpError(409, 'Project must be modified through separate URI.');
  }
  if (!canEditProject(owning, ctx.user)) {
    throw new SandboxHttpError(
      403,
      `Specified user account has insufficient edit privileges for ${kind.plural} in this project.`,
    );
  }
  kind.whenAllowed?.(project);
  const label = ctx.query.get('label');
  if (label) return { project, renamed: rename(ctx, existing, project.id, label, kind.find) };
  if (submission.document?.id !== undefined && submission.document.id !== existing.id) {
    throw new SandboxHttpError(400, 'ID cannot be modified');
  }
  return { project };
}

/** `PUT .../subjects/{s}`: 201 + ID when created, 200 + ID when updated; `?label=` renames. */
export async function putSubject(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  let project = urlProject(ctx);
  const key = ctx.params.subject ?? '';
  const submission = await readSubmission(ctx, 'subject');
  const existing = existingSubject(ctx, project, key);
  if (existing) {
    const { renamed } = checkUpdate(ctx, existing, project, submission, {
      plural: 'subjects',
      find: findSubjectIn,
    });
    if (renamed) return renamed;
    validate('subject', 'xnat:subjectData', submission.values);
    applySubject(existing, submission.values);
    existing.lastModified = insertStamp();
    manageStatus(ctx, existing);
    return textReply(200, existing.id);
  }
  if (ctx.params.project === undefined && submission.document?.project !== undefined) {
    project = visibleProject(ctx, submission.document.project);
  }
  if (!project)
    throw new SandboxHttpError(422, 'Submitted subject record must include the project attribute.');
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient create privileges for subjects in this project.',
    );
  }
  const label = submission.document?.label ?? ctx.query.get('label') ?? key;
  if (findSubjectIn(archive, project.id, label)) {
    throw new SandboxHttpError(409, 'Specified label is already in use.');
  }
  const id = submission.document?.id;
  if (id !== undefined && (!VALID_ID.test(id) || archive.subjects.has(id))) {
    throw new SandboxHttpError(417, 'Invalid character in subject label.');
  }
  validate('subject', 'xnat:subjectData', submission.values);
  const subject = newSubject(archive, project.id, label, ctx.user.login, id);
  applySubject(subject, submission.values);
  archive.subjects.set(subject.id, subject);
  manageStatus(ctx, subject);
  return textReply(201, subject.id);
}

/** `POST /data/projects/{p}/subjects`: the label comes from `label=` or the document. */
export async function postSubject(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const project = visibleProject(ctx, ctx.params.project ?? '');
  const submission = await readSubmission(ctx, 'subject');
  const label = submission.document?.label ?? ctx.query.get('label');
  if (!label) throw new SandboxHttpError(400, 'Subject label is required.');
  if (findSubjectIn(archive, project.id, label)) throw new SandboxHttpError(409, 'Subject already exists.');
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient create privileges for subjects in this project.',
    );
  }
  validate('subject', 'xnat:subjectData', submission.values);
  const subject = newSubject(archive, project.id, label, ctx.user.login);
  applySubject(subject, submission.values);
  archive.subjects.set(subject.id, subject);
  manageStatus(ctx, subject);
  return createdFromList(ctx, subject.id);
}

// ---------------------------------------------------------------- experiments

const TYPE_NAME = /^[A-Za-z_][\w-]*:[A-Za-z_][\w-]*$/;

function isSubjectAssessorType(xsiType: string): boolean {
  if (/^xnat:(subjectData|projectData|experimentData|imageAssessorData|derivedData)$/i.test(xsiType))
    return false;
  return !/ScanData$|Assess|QC/i.test(xsiType);
}

function isImageAssessorType(xsiType: string): boolean {
  return /Assess|QC/i.test(xsiType) && !/ScanData$/i.test(xsiType);
}

function checkTypeName(xsiType: string): void {
  if (!TYPE_NAME.test(xsiType)) throw new SandboxHttpError(400, `Invalid xsiType: ${xsiType}`);
}

function existingExperiment(
  ctx: AuthedContext,
  project: StoredProject | undefined,
  key: string,
): StoredExperiment | undefined {
  const { archive } = ctx.state;
  const found = project ? findExperimentIn(archive, project.id, key) : archive.experiments.get(key);
  return found && canReadItem(archive, found, ctx.user) ? found : undefined;
}

/** Scans of a submitted session document: created or updated in place. */
function applyDocumentScans(ctx: AuthedContext, session: StoredExperiment, scans: Submission[]): void {
  for (const scanSubmission of scans) {
    const id = scanSubmission.document?.id;
    if (!id) continue;
    const xsiType = scanSubmission.xsiType ?? 'xnat:imageScanData';
    validate('scan', xsiType, scanSubmission.values);
    let scan = session.scans.find((s) => s.id === id);
    if (!scan) {
      scan = newScan(ctx.state.archive, id, xsiType, ctx.user.login);
      session.scans.push(scan);
    }
    applyScan(scan, scanSubmission.values);
  }
}

/** The experiment saved by a PUT: project auto-quarantine, then the status flags. */
function afterExperimentSave(ctx: AuthedContext, experiment: StoredExperiment, project: StoredProject): void {
  experiment.lastModified = insertStamp();
  if (project.quarantineCode === 1) experiment.status = 'quarantine';
  manageStatus(ctx, experiment);
}

/**
 * `PUT .../experiments/{e}` (`SubjAssessmentResource#handlePut`; also `/data/experiments/{id}`):
 * 201 + ID when created, 200 + ID when updated; an unknown subject label in the URL is created.
 */
export async function putExperiment(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  let project = urlProject(ctx);
  const key = ctx.params.experiment ?? '';
  const submission = await readSubmission(ctx, 'experiment');
  let subject: StoredSubject | undefined;
  if (project && ctx.params.subject !== undefined) {
    subject =
      existingSubject(ctx, project, ctx.params.subject) ??
      autoCreateSubject(ctx, project, ctx.params.subject);
  }
  let existing = existingExperiment(ctx, project, key);
  if (existing && experimentIsImageAssessor(existing)) existing = undefined;
  const xsiType = existing?.xsiType ?? submission.xsiType;
  if (!existing) {
    if (xsiType === undefined) {
      if (submission.values.length === 0) throw new SandboxHttpError(417, 'Need PUT Contents');
      throw new SandboxHttpError(422, 'Only xnat:Subject documents can be PUT to this address.');
    }
    checkTypeName(xsiType);
    if (!isSubjectAssessorType(xsiType)) {
      throw new SandboxHttpError(422, 'Only xnat:Subject documents can be PUT to this address.');
    }
  }
  const type = xsiType ?? '';

  if (existing) {
    const current = existing;
    const checked = checkUpdate(ctx, existing, project, submission, {
      plural: 'experiments',
      find: findExperimentIn,
      whenAllowed: (allowedIn) => {
        const subjectParam = ctx.query.get('subject_ID');
        if (subjectParam && subjectParam !== current.subjectId) {
          subject =
            existingSubject(ctx, allowedIn, subjectParam) ?? autoCreateSubject(ctx, allowedIn, subjectParam);
        }
      },
    });
    if (checked.renamed) return checked.renamed;
    project = checked.project;
    if (
      submission.document?.label !== undefined &&
      submission.document.label !== labelIn(existing, project.id)
    ) {
      throw new SandboxHttpError(400, 'Label must be modified through separate URI.');
    }
    validate('experiment', type, submission.values);
    submission.scans.forEach((s) => validate('scan', s.xsiType ?? 'xnat:imageScanData', s.values));
    // XNAT re-points the experiment at the subject the URL names.
    if (subject) existing.subjectId = subject.id;
    applyExperiment(existing, submission.values);
    applyDocumentScans(ctx, existing, submission.scans);
    afterExperimentSave(ctx, existing, project);
    return textReply(200, existing.id);
  }

  if (!project) {
    const named = submission.document?.project ?? valueOf(submission, 'project');
    if (named === undefined) {
      throw new SandboxHttpError(422, 'Submitted experiment record must include the project attribute.');
    }
    project = visibleProject(ctx, named);
  }
  if (!subject) {
    const named = valueOf(submission, 'subject_ID') ?? ctx.query.get('subject_ID');
    if (named) subject = existingSubject(ctx, project, named) ?? autoCreateSubject(ctx, project, named);
  }
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient create privileges for experiments in this project.',
    );
  }
  if (!subject) throw new SandboxHttpError(422, 'Submitted experiment record must include the subject.');
  const label = submission.document?.label ?? ctx.query.get('label') ?? key;
  if (findExperimentIn(archive, project.id, label)) {
    throw new SandboxHttpError(409, 'Specified label is already in use.');
  }
  const id = submission.document?.id;
  if (id !== undefined && (!VALID_ID.test(id) || archive.experiments.has(id))) {
    throw new SandboxHttpError(417, 'Invalid character in experiment label.');
  }
  validate('experiment', type, submission.values);
  submission.scans.forEach((s) => validate('scan', s.xsiType ?? 'xnat:imageScanData', s.values));
  const experiment = newExperiment(archive, {
    xsiType: type,
    project: project.id,
    label,
    subjectId: subject.id,
    imageSessionId: '',
    login: ctx.user.login,
    ...(id === undefined ? {} : { id }),
  });
  applyExperiment(experiment, submission.values);
  applyDocumentScans(ctx, experiment, submission.scans);
  archive.experiments.set(experiment.id, experiment);
  afterExperimentSave(ctx, experiment, project);
  return textReply(201, experiment.id);
}

function experimentIsImageAssessor(experiment: StoredExperiment): boolean {
  return experiment.imageSessionId !== '';
}

/** `POST /data/projects/{p}/subjects/{s}/experiments`: 404 for an unknown subject; 200 + URL. */
export async function postExperiment(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const project = visibleProject(ctx, ctx.params.project ?? '');
  const subject = existingSubject(ctx, project, ctx.params.subject ?? '');
  if (!subject) throw new SandboxHttpError(404, 'Unable to find the specified subject.');
  const submission = await readSubmission(ctx, 'experiment');
  const label = submission.document?.label ?? ctx.query.get('label');
  if (!label) throw new SandboxHttpError(400, 'Experiment label is required.');
  if (findExperimentIn(archive, project.id, label)) {
    throw new SandboxHttpError(409, 'Specified experiment already exists.');
  }
  const xsiType = submission.xsiType;
  if (xsiType === undefined) throw new SandboxHttpError(417, 'Need PUT Contents');
  checkTypeName(xsiType);
  if (!isSubjectAssessorType(xsiType)) {
    throw new SandboxHttpError(422, 'Only xnat:Subject documents can be PUT to this address.');
  }
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient create privileges for experiments in this project.',
    );
  }
  validate('experiment', xsiType, submission.values);
  const experiment = newExperiment(archive, {
    xsiType,
    project: project.id,
    label,
    subjectId: subject.id,
    imageSessionId: '',
    login: ctx.user.login,
  });
  applyExperiment(experiment, submission.values);
  applyDocumentScans(ctx, experiment, submission.scans);
  archive.experiments.set(experiment.id, experiment);
  afterExperimentSave(ctx, experiment, project);
  return createdFromList(ctx, experiment.id);
}

// ---------------------------------------------------------------- image assessors

function without(params: Record<string, string>, name: string): Record<string, string> {
  const rest = { ...params };
  delete rest[name];
  return rest;
}

function sessionOfUrl(ctx: AuthedContext): StoredExperiment {
  const { experiment } = resolvePath({ ...ctx, params: without(ctx.params, 'assessor') });
  if (!experiment) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  return experiment;
}

function existingAssessor(
  ctx: AuthedContext,
  session: StoredExperiment,
  key: string,
): StoredExperiment | undefined {
  const { archive } = ctx.state;
  const project = ctx.params.project === undefined ? undefined : findProject(archive, ctx.params.project)?.id;
  for (const candidate of archive.experiments.values()) {
    if (candidate.imageSessionId !== session.id) continue;
    if (candidate.id === key || labelIn(candidate, project ?? candidate.project) === key) {
      return canReadItem(archive, candidate, ctx.user) ? candidate : undefined;
    }
  }
  return undefined;
}

/** `PUT .../experiments/{e}/assessors/{a}` (ExptAssessmentResource): 201 + ID / 200 + ID. */
export async function putAssessor(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const session = sessionOfUrl(ctx);
  const key = ctx.params.assessor ?? '';
  const project = urlProject(ctx) ?? owningProject(archive, session);
  const submission = await readSubmission(ctx, 'experiment');
  const existing = existingAssessor(ctx, session, key);
  if (existing) {
    const owning = owningProject(archive, existing);
    if (!canEditProject(owning, ctx.user)) {
      throw new SandboxHttpError(
        403,
        'Specified user account has insufficient edit privileges for experiments in this project.',
      );
    }
    const label = ctx.query.get('label');
    if (label)
      return rename(
        ctx,
        existing,
        labelIn(existing, project.id) === undefined ? owning.id : project.id,
        label,
        findExperimentIn,
      );
    if (submission.document?.id !== undefined && submission.document.id !== existing.id) {
      throw new SandboxHttpError(400, 'ID cannot be modified');
    }
    validate('experiment', existing.xsiType, submission.values);
    applyExperiment(existing, submission.values);
    existing.lastModified = insertStamp();
    manageStatus(ctx, existing);
    return textReply(200, existing.id);
  }
  const xsiType = submission.xsiType;
  if (xsiType === undefined) throw new SandboxHttpError(417, 'Need PUT Contents');
  checkTypeName(xsiType);
  if (!isImageAssessorType(xsiType)) {
    throw new SandboxHttpError(422, 'Only xnat:imageAssessorData documents can be PUT to this address.');
  }
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      'Specified user account has insufficient create privileges for experiments in this project.',
    );
  }
  const label = submission.document?.label ?? ctx.query.get('label') ?? key;
  if (findExperimentIn(archive, project.id, label))
    throw new SandboxHttpError(409, 'Specified label is already in use.');
  validate('experiment', xsiType, submission.values);
  const assessor = newExperiment(archive, {
    xsiType,
    project: project.id,
    label,
    subjectId: '',
    imageSessionId: session.id,
    login: ctx.user.login,
  });
  applyExperiment(assessor, submission.values);
  archive.experiments.set(assessor.id, assessor);
  manageStatus(ctx, assessor);
  return textReply(201, assessor.id);
}

// ---------------------------------------------------------------- scans

const MULTIPLE_MODALITIES =
  'Multiple scan modalities can be associated here.  Please retry with the specification of a particular modality (i.e. ?xsiType=xnat:mrScanData).';

/** `PUT .../scans/{scan}` (ScanResource): 200 with an empty body, new or updated. */
export async function putScan(ctx: AuthedContext): Promise<Reply> {
  const { archive } = ctx.state;
  const session = sessionOfUrl(ctx);
  const scanId = ctx.params.scan ?? '';
  const submission = await readSubmission(ctx, 'scan');
  const existing = session.scans.find((s) => s.id === scanId);
  const xsiType = submission.xsiType ?? existing?.xsiType;
  if (xsiType === undefined) {
    if (submission.values.length === 0) throw new SandboxHttpError(417, 'Need PUT Contents');
    throw new SandboxHttpError(400, MULTIPLE_MODALITIES);
  }
  checkTypeName(xsiType);
  if (!/ScanData$/i.test(xsiType)) {
    throw new SandboxHttpError(
      400,
      `Only Scan documents can be PUT to this address. Expected: xnat:imageScanData Received: ${xsiType}`,
    );
  }
  if (xsiType === 'xnat:imageScanData' && !existing) throw new SandboxHttpError(400, MULTIPLE_MODALITIES);
  const project = owningProject(archive, session);
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      `Specified user account has insufficient ${existing ? 'edit' : 'create'} privileges for sessions in this project.`,
    );
  }
  if (existing && existing.xsiType !== 'xnat:imageScanData' && existing.xsiType !== xsiType) {
    throw new SandboxHttpError(409, 'Specified xsiType differs from existing xsiType');
  }
  validate('scan', xsiType, submission.values);
  const scan = existing ?? newScan(archive, scanId, xsiType, ctx.user.login);
  scan.xsiType = xsiType;
  applyScan(scan, submission.values);
  scan.lastModified = insertStamp();
  if (!existing) session.scans.push(scan);
  return emptyReply();
}

/** `DELETE .../scans/{scan}`: owners of the session's project only. */
export async function deleteScan(ctx: AuthedContext): Promise<Reply> {
  const session = sessionOfUrl(ctx);
  const index = session.scans.findIndex((s) => s.id === ctx.params.scan);
  if (index < 0) throw new SandboxHttpError(404, 'Unable to find the specified scan.');
  if (!canDeleteProject(owningProject(ctx.state.archive, session), ctx.user)) {
    throw new SandboxHttpError(403, "User account doesn't have permission to modify this session.");
  }
  const [scan] = session.scans.splice(index, 1);
  await removeFilesIfAsked(ctx, filesOf(scan?.resources ?? []));
  return emptyReply();
}

// ---------------------------------------------------------------- deletes and unsharing

function filesOf(resources: StoredResource[]): StoredFile[] {
  return resources.flatMap((r) => r.files);
}

/** Removes a session or assessor (a session's assessors go with it); returns the files it held. */
function removeExperiment(archive: SandboxArchive, experiment: StoredExperiment): StoredFile[] {
  archive.experiments.delete(experiment.id);
  const files = [
    ...filesOf(experiment.resources),
    ...filesOf(experiment.inResources),
    ...experiment.scans.flatMap((scan) => filesOf(scan.resources)),
  ];
  for (const assessor of [...archive.experiments.values()])
    if (assessor.imageSessionId === experiment.id) files.push(...removeExperiment(archive, assessor));
  return files;
}

/** Removes a subject with its experiments; returns the files they held. */
function removeSubject(archive: SandboxArchive, subject: StoredSubject): StoredFile[] {
  archive.subjects.delete(subject.id);
  const files = filesOf(subject.resources);
  for (const experiment of [...archive.experiments.values()])
    if (experiment.subjectId === subject.id) files.push(...removeExperiment(archive, experiment));
  return files;
}

/**
 * `removeFiles=true` deletes the catalogued files from the archive directory; without it XNAT
 * removes only the database rows and leaves the files where they were.
 */
async function removeFilesIfAsked(ctx: AuthedContext, files: StoredFile[]): Promise<void> {
  if (flag(ctx, 'removeFiles')) await ctx.state.storage.discard(files);
}

/**
 * `SecureResource#deleteItem`: through the owning project the item is deleted (owners only);
 * through a project it is shared into, only that share goes (`BaseXnatExperimentdata#delete`).
 */
async function deleteOrUnshare(
  ctx: AuthedContext,
  item: StoredSubject | StoredExperiment,
  through: StoredProject | undefined,
  noun: 'subject' | 'experiment',
): Promise<Reply> {
  const { archive } = ctx.state;
  const owning = owningProject(archive, item);
  if (through && through.id !== owning.id) {
    if (!canDeleteProject(owning, ctx.user) && !canDeleteProject(through, ctx.user)) {
      // XNAT's text names subjects for experiments too.
      throw new SandboxHttpError(403, `User cannot delete subjects for project ${through.id}`);
    }
    item.shares = item.shares.filter((s) => s.project !== through.id);
    return emptyReply();
  }
  if (!canDeleteProject(owning, ctx.user)) {
    throw new SandboxHttpError(403, `User account doesn't have permission to delete this ${noun}.`);
  }
  await removeFilesIfAsked(
    ctx,
    'demographics' in item ? removeSubject(archive, item) : removeExperiment(archive, item),
  );
  return emptyReply();
}

export function deleteSubject(ctx: AuthedContext): Promise<Reply> {
  const project = urlProject(ctx);
  const subject = existingSubject(ctx, project, ctx.params.subject ?? '');
  if (!subject) throw new SandboxHttpError(404, 'Unable to find the specified subject.');
  return deleteOrUnshare(ctx, subject, project, 'subject');
}

export function deleteExperiment(ctx: AuthedContext): Promise<Reply> {
  const { experiment, project } = resolvePath(ctx);
  if (!experiment) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  return deleteOrUnshare(ctx, experiment, project, 'experiment');
}

export function deleteAssessor(ctx: AuthedContext): Promise<Reply> {
  const session = sessionOfUrl(ctx);
  const assessor = existingAssessor(ctx, session, ctx.params.assessor ?? '');
  if (!assessor) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  return deleteOrUnshare(ctx, assessor, urlProject(ctx), 'experiment');
}

// ---------------------------------------------------------------- sharing

/** The subject, experiment or assessor a sharing URL (`.../projects/{dest}`) is about. */
function sharedItem(ctx: AuthedContext): StoredSubject | StoredExperiment {
  const objects = resolvePath({ ...ctx, params: without(ctx.params, 'dest') });
  const item = objects.assessor ?? objects.experiment ?? objects.subject;
  if (!item) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  return item;
}

/** The destination of a share: by ID, readable by the user, else 404 as XNAT's getXnatProjectdatasById. */
function destinationProject(ctx: AuthedContext): StoredProject {
  const id = ctx.params.dest ?? '';
  const project = ctx.state.archive.projects.get(id);
  if (!project || !canReadProject(project, ctx.user)) {
    throw new SandboxHttpError(404, `Unable to identify project: ${id}`);
  }
  return project;
}

function labelTaken(
  archive: SandboxArchive,
  item: StoredSubject | StoredExperiment,
  project: string,
  label: string,
): boolean {
  const other =
    'demographics' in item
      ? findSubjectIn(archive, project, label)
      : findExperimentIn(archive, project, label);
  return other !== undefined && other !== item;
}

/**
 * `PUT .../{subjects/{s}|experiments/{e}|assessors/{a}}/projects/{dest}[?label=&primary=true]`:
 * shares the item into `dest` (200 with the item's project table), or with `primary=true` moves
 * ownership there (200, empty).
 */
export function putShare(ctx: AuthedContext): Reply {
  const { archive } = ctx.state;
  const item = sharedItem(ctx);
  const noun = 'demographics' in item ? 'subjects' : 'experiments';
  const dest = destinationProject(ctx);
  const newLabel = ctx.query.get('label') ?? undefined;
  const owning = owningProject(archive, item);
  if (noun === 'experiments' && item.project === dest.id) {
    throw new SandboxHttpError(409, `Already assigned to project:${dest.id}`);
  }
  const matched = item.shares.find((s) => s.project === dest.id);
  // SubjectResource reads `primary` as a flag, SubjAssessmentResource compares it with "true".
  const primary = noun === 'subjects' ? flag(ctx, 'primary') : ctx.query.get('primary') === 'true';
  if (matched && newLabel !== undefined && matched.label !== newLabel) {
    if (labelTaken(archive, item, dest.id, newLabel))
      throw new SandboxHttpError(409, `Label already in use:${newLabel}`);
    matched.label = newLabel;
    if (noun === 'subjects' && !primary)
      return listItemProjects({ ...ctx, params: without(ctx.params, 'dest') });
  }
  if (primary) {
    if (!canDeleteProject(owning, ctx.user) || !canEditProject(dest, ctx.user)) {
      throw new SandboxHttpError(
        403,
        `Specified user account has insufficient privileges for ${noun} in this project.`,
      );
    }
    const label = newLabel || matched?.label || item.label;
    if (labelTaken(archive, item, dest.id, label) && !matched) {
      throw new SandboxHttpError(409, `Label already in use:${label}`);
    }
    item.project = dest.id;
    item.label = label;
    item.shares = item.shares.filter((s) => s.project !== dest.id);
    item.lastModified = insertStamp();
    return emptyReply();
  }
  if (matched) throw new SandboxHttpError(409, `Already assigned to project:${dest.id}`);
  if (item.project === dest.id) throw new SandboxHttpError(409, `Already assigned to project:${dest.id}`);
  if (newLabel !== undefined && labelTaken(archive, item, dest.id, newLabel)) {
    throw new SandboxHttpError(409, `Label already in use:${newLabel}`);
  }
  if (!canEditProject(dest, ctx.user)) {
    throw new SandboxHttpError(
      403,
      `Specified user account has insufficient create privileges for ${noun} in the ${dest.id} project.`,
    );
  }
  item.shares.push({ project: dest.id, label: newLabel || item.label });
  return listItemProjects({ ...ctx, params: without(ctx.params, 'dest') });
}

/** `DELETE .../projects/{dest}`: unshares; naming the owning project deletes the item, as XNAT does. */
export function deleteShare(ctx: AuthedContext): Promise<Reply> {
  const item = sharedItem(ctx);
  const dest = destinationProject(ctx);
  return deleteOrUnshare(ctx, item, dest, 'demographics' in item ? 'subject' : 'experiment');
}

// ---------------------------------------------------------------- routes

type Handler = Extract<Route, { open?: false }>['handler'];
const route = (method: 'PUT' | 'POST' | 'DELETE', pattern: string, handler: Handler): Route => ({
  method,
  pattern,
  handler,
});

/** Writes on a subject path (`projects/{p}/subjects/{s}` or `subjects/{s}`). */
export function subjectWriteRoutes(subject: string): Route[] {
  return [
    route('PUT', subject, putSubject),
    route('DELETE', subject, deleteSubject),
    route('PUT', `${subject}/projects/{dest}`, putShare),
    route('DELETE', `${subject}/projects/{dest}`, deleteShare),
  ];
}

/** Writes on a session path and below it (scans, assessors, sharing). */
export function experimentWriteRoutes(experiment: string): Route[] {
  return [
    route('PUT', experiment, putExperiment),
    route('DELETE', experiment, deleteExperiment),
    route('PUT', `${experiment}/projects/{dest}`, putShare),
    route('DELETE', `${experiment}/projects/{dest}`, deleteShare),
    route('PUT', `${experiment}/scans/{scan}`, putScan),
    route('DELETE', `${experiment}/scans/{scan}`, deleteScan),
    route('PUT', `${experiment}/assessors/{assessor}`, putAssessor),
    route('DELETE', `${experiment}/assessors/{assessor}`, deleteAssessor),
    route('PUT', `${experiment}/assessors/{assessor}/projects/{dest}`, putShare),
    route('DELETE', `${experiment}/assessors/{assessor}/projects/{dest}`, deleteShare),
  ];
}

/** Project-scoped experiment paths (ExperimentResource's prefix match: the item and its sharing). */
export function projectExperimentWriteRoutes(experiment: string): Route[] {
  return [
    route('PUT', experiment, putExperiment),
    route('DELETE', experiment, deleteExperiment),
    route('PUT', `${experiment}/projects/{dest}`, putShare),
    route('DELETE', `${experiment}/projects/{dest}`, deleteShare),
  ];
}

/** Project writes and list creations. */
export const projectWriteRoutes: Route[] = [
  route('POST', 'projects', postProject),
  route('PUT', 'projects/{project}', putProject),
  route('DELETE', 'projects/{project}', deleteProject),
  route('POST', 'projects/{project}/subjects', postSubject),
  route('POST', 'projects/{project}/subjects/{subject}/experiments', postExperiment),
  route('PUT', 'projects/{project}/quarantine_code/{value}', putProjectSetting),
  route('PUT', 'projects/{project}/prearchive_code/{value}', putProjectSetting),
  route('PUT', 'projects/{project}/accessibility/{value}', putProjectSetting),
];
