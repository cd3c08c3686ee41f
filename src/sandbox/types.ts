/**
 * The slice of XNAT's data-type hierarchy (xnat.xsd) the REST layer needs: which abstract types a
 * concrete xsiType extends (root-element narrowing, `xsiType=` filters) and the XML element name
 * of each type (`xnat:mrSessionData` is written as `<xnat:MRSession>`). Declared types answer from
 * the data-type table `/xapi/schemas` serves; other names (types a client made up) by their kind.
 */
import type { StoredExperiment } from './model.js';
import { conventionalRoot, declaredLineage, findType, findTypeByRoot } from './schemas/datatypes.js';

export const EXPERIMENT_DATA = 'xnat:experimentData';
export const SUBJECT_ASSESSOR_DATA = 'xnat:subjectAssessorData';
export const IMAGE_SESSION_DATA = 'xnat:imageSessionData';
export const IMAGE_ASSESSOR_DATA = 'xnat:imageAssessorData';
export const DERIVED_DATA = 'xnat:derivedData';
export const IMAGE_SCAN_DATA = 'xnat:imageScanData';

/** Abstract roots: listings over them add the per-row `xsiType`/`project` columns XNAT needs for security checks. */
export const ABSTRACT_EXPERIMENT_TYPES = [
  EXPERIMENT_DATA,
  SUBJECT_ASSESSOR_DATA,
  IMAGE_SESSION_DATA,
  IMAGE_ASSESSOR_DATA,
  DERIVED_DATA,
];

export type ExperimentKind = 'session' | 'subjectAssessor' | 'imageAssessor';

export function experimentKind(experiment: StoredExperiment): ExperimentKind {
  if (experiment.imageSessionId !== '') return 'imageAssessor';
  return /SessionData$/i.test(experiment.xsiType) ? 'session' : 'subjectAssessor';
}

/** Best guess of a type name's kind when no record is at hand (a `columns=` xpath or `xsiType=` value). */
function kindOfTypeName(type: string): ExperimentKind | undefined {
  if (/:(projectData|subjectData|demographicData|abstractResource|resourceCatalog)$|ScanData$/i.test(type))
    return undefined;
  if (/SessionData$/i.test(type)) return 'session';
  if (/Assess|QC/i.test(type)) return 'imageAssessor';
  return 'subjectAssessor';
}

const KIND_ANCESTORS: Record<ExperimentKind, string[]> = {
  session: [IMAGE_SESSION_DATA, SUBJECT_ASSESSOR_DATA, EXPERIMENT_DATA],
  subjectAssessor: [SUBJECT_ASSESSOR_DATA, EXPERIMENT_DATA],
  imageAssessor: [IMAGE_ASSESSOR_DATA, DERIVED_DATA, EXPERIMENT_DATA],
};

function sameType(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The type itself followed by its ancestors, most specific first. */
export function typeLineage(type: string, kind: ExperimentKind | undefined = kindOfTypeName(type)): string[] {
  if (kind === undefined) return [type];
  const declared = declaredLineage(type);
  if (declared) return declared;
  if (ABSTRACT_EXPERIMENT_TYPES.some((t) => sameType(t, type))) {
    const index = KIND_ANCESTORS[kind].findIndex((t) => sameType(t, type));
    if (index >= 0) return KIND_ANCESTORS[kind].slice(index);
    const own = Object.values(KIND_ANCESTORS).find(
      (lineage) => lineage[0] !== undefined && sameType(lineage[0], type),
    );
    return own ?? [type, EXPERIMENT_DATA];
  }
  return [type, ...KIND_ANCESTORS[kind]];
}

export function experimentIsA(experiment: StoredExperiment, type: string): boolean {
  return typeLineage(experiment.xsiType, experimentKind(experiment)).some((t) => sameType(t, type));
}

/** Whether `candidate` is a strict sub-type of `root` (then using it narrows a query's root element). */
export function isSubtype(candidate: string, root: string): boolean {
  if (sameType(candidate, root)) return false;
  return typeLineage(candidate).some((t) => sameType(t, root));
}

export function isSameType(a: string, b: string): boolean {
  return sameType(a, b);
}

/**
 * Root elements xnat.xsd declares (`<xs:element name="XA3DSession" type="xnat:xa3DSessionData"/>`)
 * for types the data-type table does not carry, whose names the naming convention misses.
 */
const UNDECLARED_ELEMENTS: Array<[string, string]> = [
  ['xnat:ImageRegionResource', 'xnat:regionResource'],
  ['xnat:FieldDefinitionGroup', 'xnat:fieldDefinitionGroup'],
  ['xnat:DicomCodedValue', 'xnat:dicomCodedValue'],
  ['xnat:Algorithm', 'xnat:algorithm'],
  ['xnat:DX3DCraniofacialSession', 'xnat:dx3DCraniofacialSessionData'],
  ['xnat:DX3DCraniofacialScan', 'xnat:dx3DCraniofacialScanData'],
  ['xnat:XA3DSession', 'xnat:xa3DSessionData'],
  ['xnat:XA3DScan', 'xnat:xa3DScanData'],
  ['xnat:RTImageScan', 'xnat:rtImageScanData'],
  ['xnat:SegScan', 'xnat:segScanData'],
];

const ELEMENT_BY_TYPE = new Map(UNDECLARED_ELEMENTS.map(([e, t]) => [t.toLowerCase(), e]));
// Older XNATs wrote FieldDefinitionSet for FieldDefinitionGroup.
const TYPE_BY_ELEMENT = new Map([
  ...UNDECLARED_ELEMENTS,
  ['xnat:FieldDefinitionSet', 'xnat:fieldDefinitionGroup'],
]);

function splitName(name: string): [string, string] {
  const colon = name.indexOf(':');
  return colon < 0 ? ['xnat', name] : [name.slice(0, colon), name.slice(colon + 1)];
}

/** XML root element of a type: `xnat:mrSessionData` → `xnat:MRSession`, `xnat:ctScanData` → `xnat:CTScan`. */
export function elementName(xsiType: string): string {
  const known = ELEMENT_BY_TYPE.get(xsiType.toLowerCase());
  if (known) return known;
  const [prefix, local] = splitName(xsiType);
  return `${prefix}:${findType(`${prefix}:${local}`)?.root ?? conventionalRoot(local)}`;
}

/** The type of a document's root element: `xnat:MRSession` → `xnat:mrSessionData`, `xnat:QCAssessment` → `xnat:qcAssessmentData`. */
export function typeOfElement(name: string): string {
  const [prefix, local] = splitName(name);
  const declared = findTypeByRoot(`${prefix}:${local}`);
  if (declared) return declared.name;
  const known = TYPE_BY_ELEMENT.get(`${prefix}:${local}`);
  if (known) return known;
  const modality = /^([A-Z]+)(Session|Scan)$/.exec(local);
  if (modality?.[1] && modality[2]) return `${prefix}:${modality[1].toLowerCase()}${modality[2]}Data`;
  return `${prefix}:${local.charAt(0).toLowerCase()}${local.slice(1)}Data`;
}
