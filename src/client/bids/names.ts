/**
 * BIDS file names: labels reduced to BIDS's alphanumerics, entities in the specification's order,
 * the datatype folder a suffix belongs in, and XNAT's `bidsname` form (`task-rest_dir-AP_bold`).
 */
import { XnatBadRequestError } from '../errors.js';

/** Entities in the order BIDS file names carry them (the specification's entity table). */
export const ENTITY_ORDER = [
  'sub',
  'ses',
  'sample',
  'task',
  'tracksys',
  'acq',
  'nuc',
  'voi',
  'ce',
  'trc',
  'stain',
  'rec',
  'dir',
  'run',
  'mod',
  'echo',
  'flip',
  'inv',
  'mt',
  'part',
  'proc',
  'hemi',
  'space',
  'split',
  'recording',
  'chunk',
  'seg',
  'res',
  'den',
  'label',
  'desc',
] as const;

/** Raw-data suffixes by the datatype folder they go in. */
const SUFFIXES: Record<string, readonly string[]> = {
  anat: [
    'T1w',
    'T2w',
    'PDw',
    'T2starw',
    'FLAIR',
    'inplaneT1',
    'inplaneT2',
    'PDT2',
    'angio',
    'T1map',
    'T2map',
    'T2starmap',
    'R1map',
    'R2map',
    'R2starmap',
    'PDmap',
    'MTRmap',
    'MTsat',
    'UNIT1',
    'T1rho',
    'MWFmap',
    'MTVmap',
    'Chimap',
    'S0map',
    'M0map',
    'defacemask',
    'MEGRE',
    'MESE',
    'VFA',
    'IRT1',
    'MP2RAGE',
    'MPM',
    'MTS',
    'MTR',
  ],
  func: ['bold', 'cbv', 'phase', 'sbref'],
  dwi: ['dwi'],
  fmap: [
    'phasediff',
    'phase1',
    'phase2',
    'magnitude1',
    'magnitude2',
    'magnitude',
    'fieldmap',
    'epi',
    'TB1map',
    'RB1map',
  ],
  perf: ['asl', 'm0scan'],
  pet: ['pet'],
};

/** The datatype folder of a suffix (case-insensitive, as XNAT's dcm2bids scripts match); undefined when unknown. */
export function datatypeOf(suffix: string): { datatype: string; suffix: string } | undefined {
  const lower = suffix.toLowerCase();
  for (const [datatype, suffixes] of Object.entries(SUFFIXES)) {
    const found = suffixes.find((s) => s.toLowerCase() === lower);
    if (found) return { datatype, suffix: found };
  }
  return undefined;
}

/** Known datatype folders. */
export const DATATYPES: readonly string[] = Object.keys(SUFFIXES);

/**
 * A label as BIDS allows it (letters and digits only): accents dropped, everything else removed.
 * XNAT's own dcm2bids scripts remove `_` and `-`; BIDS forbids every other non-alphanumeric too.
 */
export function bidsLabel(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9]/g, '');
}

/** What a scan maps to: the datatype folder, the suffix and the entities other than sub and ses. */
export interface BidsName {
  datatype: string;
  suffix: string;
  entities: Record<string, string>;
}

/**
 * XNAT's bidsname (`T1w`, `task-rest_bold`, `acq-AP_dir-PA_dwi`): entities `key-value` joined by
 * `_`, the suffix last. `sub`/`ses` are set by the export, not by the map, and are refused.
 */
export function parseBidsName(bidsname: string, datatype?: string): BidsName {
  const parts = bidsname
    .trim()
    .replace(/\.nii(\.gz)?$/, '')
    .split('_')
    .filter((p) => p !== '');
  const last = parts.pop();
  if (last === undefined || last.includes('-')) {
    throw new XnatBadRequestError(
      `"${bidsname}" is not a BIDS name: entities key-value joined by "_" and a suffix last, e.g. "task-rest_bold" or "T1w"`,
    );
  }
  checkSuffix(last, bidsname);
  const known = datatypeOf(last);
  const folder = datatype ?? known?.datatype;
  if (folder === undefined || !DATATYPES.includes(folder)) {
    throw new XnatBadRequestError(
      `"${bidsname}": the suffix "${last}" belongs to no BIDS datatype folder (${DATATYPES.join(', ')}); give the datatype`,
    );
  }
  return { datatype: folder, suffix: known?.suffix ?? last, entities: parseEntities(parts, bidsname) };
}

/** A suffix is letters and digits only (it ends up in a file name). */
export function checkSuffix(suffix: string, context: string): void {
  if (!/^[A-Za-z0-9]+$/.test(suffix)) {
    throw new XnatBadRequestError(`"${context}": the suffix "${suffix}" must be letters and digits only`);
  }
}

/** `key-value` pairs (or `["task-rest", ...]`) → entities; the key must be a BIDS entity. */
export function parseEntities(parts: readonly string[], context: string): Record<string, string> {
  const entities: Record<string, string> = {};
  for (const part of parts) {
    const at = part.indexOf('-');
    const key = part.slice(0, at);
    const value = part.slice(at + 1);
    if (at <= 0 || value === '' || !(ENTITY_ORDER as readonly string[]).includes(key)) {
      throw new XnatBadRequestError(
        `"${part}" in "${context}" is not a BIDS entity (key-value with key one of ${ENTITY_ORDER.join(', ')})`,
      );
    }
    if (key === 'sub' || key === 'ses') {
      throw new XnatBadRequestError(
        `"${context}" sets ${key}-: the export names subjects and sessions itself`,
      );
    }
    if (!/^[A-Za-z0-9]+$/.test(value)) {
      throw new XnatBadRequestError(`"${part}" in "${context}": BIDS labels are letters and digits only`);
    }
    entities[key] = value;
  }
  return entities;
}

/** `sub-X_ses-Y_<entities in order>_<suffix>` (no extension). */
export function fileStem(subject: string, session: string | undefined, name: BidsName): string {
  const all: Record<string, string> = { ...name.entities, sub: subject };
  if (session !== undefined) all.ses = session;
  const ordered = ENTITY_ORDER.filter((k) => all[k] !== undefined).map((k) => `${k}-${all[k]}`);
  return [...ordered, name.suffix].join('_');
}
