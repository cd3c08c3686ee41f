/**
 * Schema paths in searches (`xnat:subjectData/sharing/share/project`, `xnat:mrSessionData/label`,
 * `.../fields/field[name=x]/field`): xnatpy sends them as field IDs and criteria, pyxnat as criteria.
 */
import type { StoredExperiment, StoredProject, StoredScan, StoredSubject } from './model.js';
import { fieldValue, type FieldType } from './search-display.js';
import type { ElementDef, Entity } from './search-elements.js';

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

const one = (v: string | number | undefined): string[] => (v === undefined || v === '' ? [] : [String(v)]);

type CustomReader = ReturnType<typeof customFieldReader>;

function projectReader(path: string, custom: CustomReader): XPathReader | undefined {
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

function subjectReader(path: string, custom: CustomReader): XPathReader | undefined {
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

const SCAN_PICKS: Record<string, (s: StoredScan) => string> = {
  id: (s) => s.id,
  type: (s) => s.type,
  series_description: (s) => s.seriesDescription,
  quality: (s) => s.quality,
  note: (s) => s.note,
};

function experimentReader(path: string, custom: CustomReader): XPathReader | undefined {
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
  const read = scanPath === undefined ? undefined : SCAN_PICKS[scanPath];
  if (read) return x((e) => e.scans.map(read));
  if (custom) return x((e) => custom(e.fields));
  if (EXPERIMENT_DATA_FIELDS.has(path)) return x((e) => lookup(e.attributes, path));
  return undefined;
}

function scanReader(path: string): XPathReader | undefined {
  const simple: Record<string, (s: StoredScan, session: StoredExperiment) => string | number | undefined> = {
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

/** Resolves a path below an element to a reader of its values; undefined when XNAT's schema has no such path. */
export function xpathReader(def: ElementDef, rawPath: string): XPathReader | undefined {
  // Type predicates (`demographics[@xsi:type=xnat:demographicData]`) do not change what is read.
  const path = rawPath
    .replace(/\[@xsi:type=[^\]]*\]/g, '')
    .replace(/^\/+|\/+$/g, '')
    .toLowerCase();
  switch (def.kind) {
    case 'project':
      return projectReader(path, customFieldReader(path));
    case 'subject':
      return subjectReader(path, customFieldReader(path));
    case 'experiment':
      return experimentReader(path, customFieldReader(path));
    case 'scan':
      return scanReader(path);
  }
}

/** The schema type of an xpath, as far as comparisons care: dates and numbers do not compare as text. */
export function xpathType(path: string): FieldType {
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
