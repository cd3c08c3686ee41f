/**
 * The sandbox's data-type table: the XNAT data types it stores and serves (projects, subjects,
 * sessions, scans, assessors, resources, catalogs, stored searches, users), with XNAT's names, type
 * hierarchy and member shapes as xnat.xsd, catalog.xsd, security.xsd and xdat.xsd declare them,
 * limited to the members the sandbox keeps. `/xapi/schemas` renders it, so clients that build their
 * object model from the schemas (xnatpy) see the types the sandbox's documents carry.
 */
import {
  attr,
  choice,
  customFields,
  el,
  group,
  list,
  text,
  valued,
  type DataType,
  type ElementMember,
} from './declare.js';

export interface SchemaDocument {
  /** The name `/xapi/schemas` lists and `/xapi/schemas/{name}` serves. */
  name: string;
  prefix: string;
  namespace: string;
  /** Names of the other schemas whose types this one refers to. */
  imports: string[];
  types: DataType[];
}

export const NAMESPACES: Record<string, string> = {
  xnat: 'http://nrg.wustl.edu/xnat',
  xdat: 'http://nrg.wustl.edu/xdat',
  cat: 'http://nrg.wustl.edu/catalog',
  security: 'http://nrg.wustl.edu/security',
};

/**
 * The root element of a type's documents by XNAT's naming: `mrSessionData` → `MRSession`,
 * `otherDicomScanData` → `OtherDicomScan`, `projectData` → `Project`. Declared types may name an
 * exception (`root`).
 */
export function conventionalRoot(localName: string): string {
  const modality = /^([a-z]+)(Session|Scan)Data$/.exec(localName);
  if (modality?.[1] && modality[2]) return `${modality[1].toUpperCase()}${modality[2]}`;
  const stem = localName.replace(/Data$/, '');
  return `${stem.charAt(0).toUpperCase()}${stem.slice(1)}`;
}

const rooted = (type: DataType): DataType => ({
  ...type,
  root: type.root ?? conventionalRoot(type.name.slice(type.name.indexOf(':') + 1)),
});

const resourceList = (wrapper: string, item: string): ElementMember =>
  list(wrapper, el(item, 'xnat:abstractResource'));

// ---------------------------------------------------------------- projects and subjects

const investigator: DataType = rooted({
  name: 'xnat:investigatorData',
  members: [el('title'), el('firstname'), el('lastname'), attr('ID')],
});

/** A project's study protocols (`xnat:datatypeProtocol` carries its custom variable sets), kept as sent. */
const abstractProtocol: DataType = {
  name: 'xnat:abstractProtocol',
  members: [attr('ID', 'xs:string', true), attr('name'), attr('data-type')],
};

const datatypeProtocol: DataType = {
  name: 'xnat:datatypeProtocol',
  base: 'xnat:abstractProtocol',
  members: [],
};

const publicationResource: DataType = {
  name: 'xnat:publicationResource',
  base: 'xnat:resource',
  members: [],
};

const project: DataType = rooted({
  name: 'xnat:projectData',
  documentation: 'A collection of subject involved in a unit of research',
  members: [
    el('name'),
    el('type'),
    text('description', 10000),
    el('keywords'),
    list('aliases', valued('alias', 'xs:string', [attr('source')], { displayIdentifiers: 'alias' })),
    list('publications', el('publication', 'xnat:publicationResource')),
    resourceList('resources', 'resource'),
    el('studyProtocol', 'xnat:abstractProtocol', { repeated: true }),
    el('PI', 'xnat:investigatorData'),
    list('investigators', el('investigator', 'xnat:investigatorData')),
    customFields(),
    attr('ID', 'xs:string', true),
    attr('secondary_ID'),
    attr('active', 'xs:boolean'),
  ],
});

const projectParticipant: DataType = {
  name: 'xnat:projectParticipant',
  displayIdentifiers: 'project',
  members: [attr('label'), attr('project'), attr('subject_ID'), attr('group')],
};

const abstractDemographic: DataType = { name: 'xnat:abstractDemographicData', members: [] };

const measure = (name: string): ElementMember => valued(name, 'xs:float', [attr('units')]);

const demographic: DataType = {
  name: 'xnat:demographicData',
  base: 'xnat:abstractDemographicData',
  members: [
    el('dob', 'xs:date'),
    el('yob', 'xs:integer'),
    el('age', 'xs:integer'),
    choice('gender', ['male', 'female', 'other', 'unknown', 'M', 'F']),
    choice('handedness', ['left', 'right', 'ambidextrous', 'unknown']),
    el('education', 'xs:integer'),
    el('race'),
    el('ethnicity'),
    measure('weight'),
    measure('height'),
  ],
};

const subject: DataType = rooted({
  name: 'xnat:subjectData',
  displayIdentifiers: 'label',
  documentation: 'An individual person involved in experimental research',
  members: [
    list('sharing', el('share', 'xnat:projectParticipant')),
    resourceList('resources', 'resource'),
    el('demographics', 'xnat:abstractDemographicData'),
    customFields(),
    list('experiments', el('experiment', 'xnat:subjectAssessorData')),
    attr('ID', 'xs:string', true),
    attr('project'),
    attr('group'),
    attr('label'),
    attr('src'),
    attr('initials'),
  ],
});

// ---------------------------------------------------------------- experiments

const experiment: DataType = {
  name: 'xnat:experimentData',
  displayIdentifiers: 'label',
  documentation: 'A specific individual event in which primary data is obtained',
  members: [
    list(
      'sharing',
      valued('share', 'xs:string', [attr('label'), attr('project'), attr('visit'), attr('protocol')], {
        displayIdentifiers: 'project',
      }),
    ),
    el('date', 'xs:date'),
    el('time', 'xs:time'),
    text('note', 2500),
    el('investigator', 'xnat:investigatorData'),
    resourceList('resources', 'resource'),
    customFields('xdat:LONGVARCHAR'),
    el('acquisition_site'),
    attr('ID', 'xs:string', true),
    attr('project'),
    attr('visit_id'),
    attr('visit'),
    attr('version', 'xs:integer'),
    attr('original'),
    attr('protocol'),
    attr('label'),
  ],
};

const subjectAssessor: DataType = {
  name: 'xnat:subjectAssessorData',
  base: 'xnat:experimentData',
  members: [el('subject_ID', 'xs:string', { required: true })],
};

const imageSession: DataType = {
  name: 'xnat:imageSessionData',
  base: 'xnat:subjectAssessorData',
  members: [
    valued('scanner', 'xs:string', [attr('manufacturer'), attr('model')]),
    text('operator', 255),
    text('prearchivePath', 255),
    list('scans', el('scan', 'xnat:imageScanData')),
    list('reconstructions', el('reconstructedImage', 'xnat:reconstructedImageData')),
    list('assessors', el('assessor', 'xnat:imageAssessorData')),
    el('dcmAccessionNumber'),
    el('dcmPatientId'),
    el('dcmPatientName'),
    attr('session_type'),
    attr('modality'),
    attr('UID'),
    attr('study_id'),
  ],
};

const mrAcquisition = [
  text('coil', 255),
  text('fieldStrength', 255),
  text('marker', 255),
  text('stabilization', 255),
];

/**
 * The session types the sandbox stores, imports and searches, by modality prefix, with their scan
 * types; `petmr` sessions hold MR and PET scans and have no scan type of their own.
 */
const MODALITIES = ['mr', 'pet', 'ct', 'cr', 'dx', 'mg', 'nm', 'rf', 'us', 'xa', 'meg', 'eeg', 'otherDicom'];

function sessionType(modality: string): DataType {
  return rooted({
    name: `xnat:${modality}SessionData`,
    base: 'xnat:imageSessionData',
    members: modality === 'mr' ? mrAcquisition : [],
  });
}

// ---------------------------------------------------------------- scans

const imageScan: DataType = {
  name: 'xnat:imageScanData',
  displayIdentifiers: 'ID',
  members: [
    el('image_session_ID'),
    text('note', 2500),
    el('quality'),
    el('condition'),
    el('series_description'),
    el('documentation'),
    valued('scanner', 'xs:string', [attr('manufacturer'), attr('model')]),
    el('modality'),
    el('frames', 'xs:integer'),
    el('file', 'xnat:abstractResource', { repeated: true }),
    el('startTime', 'xs:time'),
    attr('ID', 'xs:string', true),
    attr('type'),
    attr('UID'),
    attr('project'),
  ],
};

const voxelRes = group('voxelRes', [
  attr('units'),
  attr('x', 'xs:float'),
  attr('y', 'xs:float'),
  attr('z', 'xs:float'),
]);

const scanParameters: Record<string, ElementMember> = {
  mr: group('parameters', [
    voxelRes,
    text('orientation', 5),
    group('fov', [attr('x', 'xs:integer'), attr('y', 'xs:integer')]),
    el('tr', 'xs:float'),
    el('te', 'xs:float'),
    el('ti', 'xs:float'),
    el('flip', 'xs:float'),
    text('sequence', 255),
    el('imageType'),
    el('scanSequence'),
    el('seqVariant'),
    el('scanOptions'),
    el('acqType'),
  ]),
  pet: group('parameters', [el('orientation'), voxelRes]),
  ct: group('parameters', [
    voxelRes,
    el('orientation'),
    el('kvp', 'xs:float'),
    el('xrayTubeCurrent', 'xs:integer'),
  ]),
};

function scanType(modality: string): DataType {
  const parameters = scanParameters[modality];
  return rooted({
    name: `xnat:${modality}ScanData`,
    base: 'xnat:imageScanData',
    members: [...(modality === 'mr' ? mrAcquisition : []), ...(parameters ? [parameters] : [])],
  });
}

// ---------------------------------------------------------------- assessors and reconstructions

const inOut = [resourceList('in', 'file'), resourceList('out', 'file')];

const derived: DataType = { name: 'xnat:derivedData', base: 'xnat:experimentData', members: [] };

const imageAssessor: DataType = {
  name: 'xnat:imageAssessorData',
  base: 'xnat:derivedData',
  members: [el('imageSession_ID', 'xs:string', { required: true }), ...inOut],
};

/** Deprecated in xnat.xsd (new assessors extend imageAssessorData), but still the base of qcAssessmentData. */
const mrAssessor: DataType = { name: 'xnat:mrAssessorData', base: 'xnat:imageAssessorData', members: [] };

const qcAssessment: DataType = rooted({
  name: 'xnat:qcAssessmentData',
  root: 'QCAssessment',
  base: 'xnat:mrAssessorData',
  members: [attr('type')],
});

/** One scan's rating inside a manual QC assessment (`scans/scan`). */
const qcScan: DataType = {
  name: 'xnat:qcScanData',
  members: [
    el('imageScan_ID'),
    el('rater'),
    el('coverage'),
    el('motion'),
    el('otherImageArtifacts'),
    text('comments', 10000),
    el('pass'),
    valued('rating', 'xs:string', [attr('scale')]),
    customFields(),
  ],
};

const qcManualAssessor: DataType = rooted({
  name: 'xnat:qcManualAssessorData',
  root: 'QCManualAssessment',
  base: 'xnat:imageAssessorData',
  members: [
    el('rater'),
    el('stereotacticMarker'),
    text('incidentalFindings', 10000),
    list('scans', el('scan', 'xnat:qcScanData')),
    text('comments', 10000),
    el('pass'),
    el('payable'),
    el('rescan'),
    el('resolvable'),
    el('retrain'),
  ],
});

const reconstructedImage: DataType = rooted({
  name: 'xnat:reconstructedImageData',
  members: [...inOut, attr('ID', 'xs:string', true), attr('type'), attr('baseScanType')],
});

// ---------------------------------------------------------------- resources

const abstractResource: DataType = {
  name: 'xnat:abstractResource',
  members: [
    text('note', 2500),
    list('tags', valued('tag', 'xs:string', [attr('name')])),
    attr('label'),
    attr('file_count', 'xs:integer'),
    attr('file_size', 'xs:long'),
  ],
};

const resource: DataType = {
  name: 'xnat:resource',
  base: 'xnat:abstractResource',
  members: [
    attr('URI', 'xs:string', true),
    attr('format'),
    attr('description'),
    attr('content'),
    attr('cachePath'),
  ],
};

const resourceCatalog: DataType = rooted({
  name: 'xnat:resourceCatalog',
  base: 'xnat:resource',
  members: [],
});

// ---------------------------------------------------------------- the other schemas

const catalogEntry: DataType = {
  name: 'cat:entry',
  members: [
    attr('URI', 'xs:string', true),
    attr('name'),
    attr('ID'),
    attr('description'),
    attr('format'),
    attr('content'),
    attr('cachePath'),
    attr('digest'),
  ],
};

const catalog: DataType = rooted({
  name: 'cat:catalog',
  members: [list('entries', el('entry', 'cat:entry')), attr('ID'), attr('name'), attr('description')],
});

const searchField: DataType = {
  name: 'xdat:search_field',
  members: [
    el('element_name'),
    el('field_ID'),
    el('sequence', 'xs:integer'),
    el('type'),
    el('header'),
    el('value'),
  ],
};

const criteria: DataType = {
  name: 'xdat:criteria',
  members: [
    el('schema_field'),
    el('comparison_type'),
    el('value'),
    attr('override_value_formatting', 'xs:boolean'),
  ],
};

const criteriaSet: DataType = {
  name: 'xdat:criteria_set',
  members: [
    el('criteria', 'xdat:criteria', { repeated: true }),
    el('child_set', 'xdat:criteria_set', { repeated: true }),
    attr('method'),
  ],
};

const storedSearch: DataType = {
  name: 'xdat:stored_search',
  root: 'bundle',
  members: [
    el('root_element_name', 'xs:string', { required: true }),
    el('sort_by', 'xs:string'),
    el('search_field', 'xdat:search_field', { repeated: true }),
    el('search_where', 'xdat:criteria_set', { repeated: true }),
    attr('ID'),
    attr('description'),
    attr('layeredSequence'),
    attr('allow-diff-columns', 'xs:boolean'),
    attr('secure', 'xs:boolean'),
    attr('brief-description'),
    attr('tag'),
  ],
};

const user: DataType = {
  name: 'xdat:user',
  root: 'User',
  members: [
    el('login', 'xs:string', { required: true }),
    el('firstname'),
    el('lastname'),
    el('email'),
    attr('enabled', 'xs:boolean'),
  ],
};

/** The schemas `/xapi/schemas` lists, in the order XNAT's classpath scan usually yields them. */
export const SCHEMAS: readonly SchemaDocument[] = [
  {
    name: 'security',
    prefix: 'xdat',
    namespace: NAMESPACES.security ?? '',
    imports: [],
    types: [searchField, criteria, criteriaSet, storedSearch, user],
  },
  {
    name: 'xnat',
    prefix: 'xnat',
    namespace: NAMESPACES.xnat ?? '',
    imports: ['xdat'],
    types: [
      project,
      abstractProtocol,
      datatypeProtocol,
      publicationResource,
      subject,
      projectParticipant,
      experiment,
      abstractDemographic,
      demographic,
      subjectAssessor,
      investigator,
      imageSession,
      ...MODALITIES.map(sessionType),
      rooted({ name: 'xnat:petmrSessionData', base: 'xnat:petSessionData', members: [] }),
      imageScan,
      ...MODALITIES.map(scanType),
      derived,
      imageAssessor,
      mrAssessor,
      qcAssessment,
      qcScan,
      qcManualAssessor,
      reconstructedImage,
      abstractResource,
      resource,
      resourceCatalog,
    ],
  },
  {
    name: 'catalog',
    prefix: 'cat',
    namespace: NAMESPACES.cat ?? '',
    imports: [],
    types: [catalogEntry, catalog],
  },
  {
    name: 'xdat',
    prefix: 'xdat',
    namespace: NAMESPACES.xdat ?? '',
    imports: [],
    types: [{ name: 'xdat:LONGVARCHAR', simple: { base: 'xs:string' }, members: [] }],
  },
];

export function findSchema(name: string): SchemaDocument | undefined {
  return SCHEMAS.find((s) => s.name === name);
}

const TYPES = new Map(
  SCHEMAS.flatMap((s) => s.types.map((t): [string, DataType] => [t.name.toLowerCase(), t])),
);

/** A declared data type by name, in any case (XNAT matches type names case-insensitively). */
export function findType(name: string): DataType | undefined {
  return TYPES.get(name.toLowerCase());
}

const TYPES_BY_ROOT = new Map(
  SCHEMAS.flatMap((s) =>
    s.types.flatMap((t): Array<[string, DataType]> =>
      t.root ? [[`${t.name.slice(0, t.name.indexOf(':'))}:${t.root}`, t]] : [],
    ),
  ),
);

/** The declared type whose documents have this root element (`xnat:QCAssessment` → `xnat:qcAssessmentData`). */
export function findTypeByRoot(element: string): DataType | undefined {
  return TYPES_BY_ROOT.get(element);
}

/** A declared type followed by the types it extends, most specific first; undefined when not declared. */
export function declaredLineage(name: string): string[] | undefined {
  const lineage: string[] = [];
  for (let type = findType(name); type; type = type.base ? findType(type.base) : undefined) {
    lineage.push(type.name);
  }
  return lineage.length > 0 ? lineage : undefined;
}
