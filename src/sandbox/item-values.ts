/**
 * Submitted values checked against the schema types the sandbox models (XNAT answers 400 with the
 * validation messages) and applied to the stored records; paths XNAT ignores are ignored.
 */
import { SandboxHttpError } from './errors.js';
import type {
  Investigator,
  StoredElement,
  StoredExperiment,
  StoredProject,
  StoredReconstruction,
  StoredScan,
  StoredSubject,
} from './model.js';
import {
  demographicNumberKind,
  experimentNumberKind,
  isValidNumber,
  scanNumberKind,
  type NumberKind,
} from './schema-values.js';
import type { ItemKind } from './submission.js';

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

/** The numeric schema type of a path of an item, if it has one. */
function numberKind(kind: ItemKind, xsiType: string, path: string): NumberKind | undefined {
  if (kind === 'scan') return path === 'frames' ? 'integer' : scanNumberKind(xsiType, path);
  if (kind === 'subject' && path.startsWith('demographics/'))
    return demographicNumberKind(path.slice('demographics/'.length));
  if (kind === 'experiment') return experimentNumberKind(path);
  return undefined;
}

/** A value as XNAT stores it: numbers for numeric schema types (item JSON shows them as numbers). */
function stored(kind: NumberKind | undefined, value: string): string | number {
  return kind === undefined ? value : Number(value);
}

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
    if (kind === 'scan' && path === 'starttime') check(rawPath, value, isTime(value), 'time (HH:MM:SS)');
    const numeric = numberKind(kind, xsiType, rawPath);
    if (numeric)
      check(rawPath, value, isValidNumber(numeric, value), numeric === 'float' ? 'number' : 'integer');
    if (kind === 'subject') {
      if (path === 'demographics/dob') check(rawPath, value, isDate(value), 'date (YYYY-MM-DD)');
      if (path === 'demographics/gender')
        check(rawPath, value, GENDERS.includes(value), `value (one of ${GENDERS.join(', ')})`);
      if (path === 'demographics/handedness')
        check(rawPath, value, HANDEDNESS.includes(value), `value (one of ${HANDEDNESS.join(', ')})`);
    }
  }
  return errors;
}

export function validate(kind: ItemKind, xsiType: string, values: Array<[string, string]>): void {
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

/** `elements`: a document's `studyProtocol` elements, which replace the stored ones. */
export function applyProject(
  project: StoredProject,
  values: Array<[string, string]>,
  elements: StoredElement[] = [],
): void {
  const protocols = elements.filter((e) => e.name.endsWith('studyProtocol'));
  if (protocols.length > 0) project.studyProtocols = protocols;
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

const INVESTIGATOR_FIELDS = ['title', 'firstname', 'lastname', 'institution', 'department', 'email', 'phone'];
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

export function applySubject(subject: StoredSubject, values: Array<[string, string]>): void {
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
      else demographics[key] = stored(demographicNumberKind(key), value);
    } else if (lower.startsWith('investigator/')) {
      const key = lower.slice('investigator/'.length) as keyof Investigator;
      if (!INVESTIGATOR_FIELDS.includes(key)) continue;
      const investigator = (subject.investigator ??= {});
      if (value === '') delete investigator[key];
      else investigator[key] = value;
    }
  }
}

export function applyExperiment(experiment: StoredExperiment, values: Array<[string, string]>): void {
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
    else experiment.attributes[path] = stored(experimentNumberKind(path), value);
  }
}

export function applyScan(scan: StoredScan, values: Array<[string, string]>): void {
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
    else if (applyAddParam(() => (scan.addParams ??= {}), path, value)) continue;
    else if (value === '') delete scan.parameters[path];
    else scan.parameters[path] = stored(scanNumberKind(scan.xsiType, path), value);
  }
}

const ADD_PARAM = /^parameters\/addParam\[name=([^\]]*)\]\/addField$/i;

/** `parameters/addParam[name=x]/addField`: a named extra parameter (`xnat:addField`), not a path of its own. */
function applyAddParam(params: () => Record<string, string>, path: string, value: string): boolean {
  const name = ADD_PARAM.exec(path)?.[1];
  if (name === undefined) return false;
  if (value === '') delete params()[name];
  else params()[name] = value;
  return true;
}

export function applyReconstruction(recon: StoredReconstruction, values: Array<[string, string]>): void {
  for (const [path, value] of values) {
    const lower = path.toLowerCase();
    if (lower === 'type') recon.type = value;
    else if (lower === 'basescantype') recon.baseScanType = value;
    else applyAddParam(() => recon.addParams, path, value);
  }
}
