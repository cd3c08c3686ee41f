/**
 * Item XML (§3.3): the schema document ItemXMLRepresentation writes, root element named after the
 * type, children in xnat.xsd's order, numbers as XMLWriter prints them.
 */
import { canReadItem } from './access.js';
import { fileStats } from './files.js';
import { archiveDirectory, assessorsOf, catalogPath } from './item-parts.js';
import type {
  Investigator,
  SandboxArchive,
  SandboxUser,
  StoredExperiment,
  StoredProject,
  StoredQcScan,
  StoredReconstruction,
  StoredResource,
  StoredScan,
  StoredSubject,
} from './model.js';
import { QC_BEFORE_SCANS, QC_SCAN_DATA, QC_SCAN_LEAVES } from './qc-scans.js';
import type { AuthedContext } from './reply.js';
import {
  demographicNumberKind,
  experimentNumberKind,
  scanNumberKind,
  xmlText,
  type NumberKind,
} from './schema-values.js';
import { elementName, experimentKind } from './types.js';
import { element, nestedElements, textElement, type XmlElement } from './xml.js';

const NAMESPACES: Array<[string, string]> = [
  ['xmlns:arc', 'http://nrg.wustl.edu/arc'],
  ['xmlns:cat', 'http://nrg.wustl.edu/catalog'],
  ['xmlns:prov', 'http://www.nbirn.net/prov'],
  ['xmlns:xdat', 'http://nrg.wustl.edu/security'],
  ['xmlns:xnat', 'http://nrg.wustl.edu/xnat'],
  ['xmlns:xnat_a', 'http://nrg.wustl.edu/xnat_assessments'],
  ['xmlns:xsi', 'http://www.w3.org/2001/XMLSchema-instance'],
];

function resourceXml(tag: string, resource: StoredResource, directory: string): XmlElement {
  const stats = fileStats(resource);
  return element(
    tag,
    [
      ['label', resource.label],
      ['URI', catalogPath(directory, resource)],
      ['format', resource.format],
      ['content', resource.content],
      ['file_count', stats.count],
      ['file_size', stats.size],
      ['xsi:type', resource.xsiType],
    ],
    [
      ...textElement('xnat:description', resource.description),
      ...(resource.tags.length > 0
        ? [
            element(
              'xnat:tags',
              [],
              resource.tags.map((t) => element('xnat:tag', [], [], t)),
            ),
          ]
        : []),
    ],
  );
}

function wrap(name: string, children: XmlElement[]): XmlElement[] {
  return children.length === 0 ? [] : [element(name, [], children)];
}

function sharingXml(item: StoredSubject | StoredExperiment): XmlElement[] {
  return wrap(
    'xnat:sharing',
    item.shares.map((s) =>
      element(
        'xnat:share',
        [
          ['label', s.label],
          ['project', s.project],
        ],
        [],
        s.project,
      ),
    ),
  );
}

function fieldsXml(values: Record<string, string>): XmlElement[] {
  return wrap(
    'xnat:fields',
    Object.entries(values).map(([name, value]) => element('xnat:field', [['name', name]], [], value)),
  );
}

/** Session attributes XNAT writes as XML attributes of the root; the rest are elements. */
const SESSION_ATTRIBUTES = ['modality', 'UID', 'session_type', 'study_id', 'original', 'version', 'protocol'];
const SESSION_EARLY = ['scanner', 'operator', 'prearchivePath'];

/** Numeric values as XMLWriter prints them (`kind` names each path's schema type). */
function formatted(
  entries: Array<[string, string | number]>,
  kind: (path: string) => NumberKind | undefined,
): Array<[string, string]> {
  return entries.map(([path, value]) => [path, xmlText(kind(path), value)]);
}

/** `addParam` elements, each with its hidden-fields comment naming the owning row (`owner` is `column="id"`). */
function addParamsXml(params: Record<string, string> | undefined, owner: string): XmlElement[] {
  return Object.entries(params ?? {}).map(([name, value]) => ({
    ...element('xnat:addParam', [['name', name]], [], value),
    hidden: owner,
  }));
}

/** Puts `addParam` elements at the end of the `parameters` element among `elements` (made when missing). */
function withAddParams(
  elements: XmlElement[],
  params: Record<string, string> | undefined,
  owner: string,
): XmlElement[] {
  const added = addParamsXml(params, owner);
  if (added.length === 0) return elements;
  const parameters = elements.find((e) => e.name === 'xnat:parameters');
  if (parameters) parameters.children.push(...added);
  else elements.push(element('xnat:parameters', [], added));
  return elements;
}

export function scanXml(scan: StoredScan, session: StoredExperiment, directory: string): XmlElement {
  const params = formatted(Object.entries(scan.parameters), (path) => scanNumberKind(scan.xsiType, path));
  const scanner = params.filter(([k]) => k === 'scanner' || k.startsWith('scanner/'));
  const rest = params.filter(([k]) => !(k === 'scanner' || k.startsWith('scanner/')));
  return element(
    'xnat:scan',
    [
      ['ID', scan.id],
      ['type', scan.type],
      ['UID', scan.uid],
      ['xsi:type', scan.xsiType],
    ],
    [
      ...textElement('xnat:image_session_ID', session.id),
      ...textElement('xnat:note', scan.note),
      ...textElement('xnat:quality', scan.quality),
      ...textElement('xnat:condition', scan.condition),
      ...textElement('xnat:series_description', scan.seriesDescription),
      ...nestedElements('xnat', scanner),
      ...textElement('xnat:modality', scan.modality),
      ...textElement('xnat:frames', scan.frames),
      ...scan.resources.map((r) => resourceXml('xnat:file', r, `${directory}/SCANS/${scan.id}`)),
      ...textElement('xnat:startTime', scan.startTime),
      ...withAddParams(
        nestedElements('xnat', rest),
        scan.addParams,
        `parameters_addparam_xnat_imagescandata_id="${scan.xnatImagescandataId}"`,
      ),
    ],
  );
}

export function reconstructionXml(
  recon: StoredReconstruction,
  session: StoredExperiment,
  directory: string,
  tag = 'xnat:reconstructedImage',
): XmlElement {
  return element(
    tag,
    [
      ['ID', recon.id],
      ['type', recon.type],
      ['baseScanType', recon.baseScanType],
    ],
    [
      ...(recon.provenance ? [recon.provenance] : []),
      ...textElement('xnat:image_session_ID', session.id),
      ...wrap(
        'xnat:out',
        recon.resources.map((r) => resourceXml('xnat:file', r, `${directory}/PROCESSED/${recon.id}`)),
      ),
      ...wrap(
        'xnat:parameters',
        addParamsXml(recon.addParams, `parameters_addparam_xnat_reconstructedimagedata_id="${recon.id}"`),
      ),
    ],
  );
}

export function experimentXml(
  archive: SandboxArchive,
  experiment: StoredExperiment,
  user: SandboxUser,
  tag: string,
): XmlElement {
  const directory = archiveDirectory(archive, experiment);
  const assessor = experimentKind(experiment) === 'imageAssessor';
  const attributes = formatted(Object.entries(experiment.attributes), experimentNumberKind);
  const inRoot = attributes.filter(([k]) => SESSION_ATTRIBUTES.includes(k));
  const early = attributes.filter(([k]) => SESSION_EARLY.includes(k.split('/')[0] ?? ''));
  const late = attributes.filter(
    ([k]) => !SESSION_ATTRIBUTES.includes(k) && !SESSION_EARLY.includes(k.split('/')[0] ?? ''),
  );
  // A manual QC assessment's `scans` sit between its rater/findings and its comments/verdict.
  const beforeQcScans = late.filter(([k]) => QC_BEFORE_SCANS.includes(k));
  const afterQcScans = late.filter(([k]) => !QC_BEFORE_SCANS.includes(k));
  const resources = experiment.resources.map((r) =>
    resourceXml(assessor ? 'xnat:file' : 'xnat:resource', r, directory),
  );
  return element(
    tag,
    [
      ['ID', experiment.id],
      ['project', experiment.project],
      ['label', experiment.label],
      ['visit_id', experiment.visitId],
      ['visit', experiment.visit],
      ...inRoot,
      // Nested in another document, the element names the field and xsi:type the type.
      ...(tag === elementName(experiment.xsiType)
        ? []
        : ([['xsi:type', experiment.xsiType]] as Array<[string, string]>)),
    ],
    [
      ...sharingXml(experiment),
      ...textElement('xnat:date', experiment.date),
      ...textElement('xnat:time', experiment.time),
      ...textElement('xnat:note', experiment.note),
      ...(assessor ? [] : wrap('xnat:resources', resources)),
      ...fieldsXml(experiment.fields),
      ...textElement('xnat:acquisition_site', experiment.acquisitionSite),
      ...textElement('xnat:subject_ID', experiment.subjectId),
      ...textElement('xnat:imageSession_ID', experiment.imageSessionId),
      ...nestedElements('xnat', early),
      ...wrap(
        'xnat:scans',
        experiment.scans.map((s) => scanXml(s, experiment, directory)),
      ),
      ...wrap(
        'xnat:reconstructions',
        (experiment.reconstructions ?? []).map((r) => reconstructionXml(r, experiment, directory)),
      ),
      ...(assessor
        ? [
            ...wrap(
              'xnat:in',
              experiment.inResources.map((r) => resourceXml('xnat:file', r, directory)),
            ),
            ...wrap('xnat:out', resources),
          ]
        : wrap(
            'xnat:assessors',
            assessorsOf(archive, experiment, user).map((a) =>
              experimentXml(archive, a, user, 'xnat:assessor'),
            ),
          )),
      ...(experiment.qcScans === undefined
        ? nestedElements('xnat', late)
        : [
            ...nestedElements('xnat', beforeQcScans),
            ...wrap('xnat:scans', experiment.qcScans.map(qcScanXml)),
            ...nestedElements('xnat', afterQcScans),
          ]),
    ],
  );
}

/** A manual QC assessment's rating of one scan; `xsi:type` only for subtypes (as XNAT writes it). */
function qcScanXml(scan: StoredQcScan): XmlElement {
  const { values } = scan;
  const scale = values['rating/scale'];
  const leaves = QC_SCAN_LEAVES.filter(
    (l) => l !== 'rating/scale' && (values[l] !== undefined || (l === 'rating' && scale !== undefined)),
  );
  return element(
    'xnat:scan',
    [['xsi:type', scan.xsiType === QC_SCAN_DATA ? undefined : scan.xsiType]],
    leaves.map((l) => element(`xnat:${l}`, l === 'rating' ? [['scale', scale]] : [], [], values[l])),
  );
}

function investigatorXml(tag: string, investigator: Investigator | undefined): XmlElement[] {
  const entries = Object.entries(investigator ?? {}).filter(([, v]) => v !== undefined && v !== '');
  return entries.length === 0
    ? []
    : [
        element(
          tag,
          [],
          entries.map(([k, v]) => element(`xnat:${k}`, [], [], v)),
        ),
      ];
}

export function subjectXml(archive: SandboxArchive, subject: StoredSubject, user: SandboxUser): XmlElement {
  const directory = archiveDirectory(archive, subject);
  const demographics = formatted(
    Object.entries(subject.demographics).filter((e): e is [string, string | number] => e[1] !== undefined),
    demographicNumberKind,
  );
  const experiments = [...archive.experiments.values()].filter(
    (e) => e.subjectId === subject.id && canReadItem(archive, e, user),
  );
  return element(
    'xnat:Subject',
    [
      ['ID', subject.id],
      ['project', subject.project],
      ['group', subject.group],
      ['label', subject.label],
      ['src', subject.src],
      ['initials', subject.initials],
    ],
    [
      ...sharingXml(subject),
      ...wrap(
        'xnat:resources',
        subject.resources.map((r) => resourceXml('xnat:resource', r, directory)),
      ),
      ...investigatorXml('xnat:investigator', subject.investigator),
      ...(demographics.length > 0
        ? [
            element(
              'xnat:demographics',
              [['xsi:type', 'xnat:demographicData']],
              demographics.map(([k, v]) => element(`xnat:${k}`, [], [], v)),
            ),
          ]
        : []),
      ...fieldsXml(subject.fields),
      ...wrap(
        'xnat:experiments',
        experiments.map((e) => experimentXml(archive, e, user, 'xnat:experiment')),
      ),
    ],
  );
}

export function projectXml(archive: SandboxArchive, project: StoredProject): XmlElement {
  const directory = archiveDirectory(archive, project);
  return element(
    'xnat:Project',
    [
      ['ID', project.id],
      ['secondary_ID', project.secondaryId],
      ['active', 'true'],
    ],
    [
      ...textElement('xnat:name', project.name),
      ...textElement('xnat:description', project.description),
      ...textElement('xnat:keywords', project.keywords),
      ...wrap(
        'xnat:aliases',
        project.aliases.map((a) => element('xnat:alias', [], [], a)),
      ),
      ...wrap(
        'xnat:resources',
        project.resources.map((r) => resourceXml('xnat:resource', r, directory)),
      ),
      ...(project.studyProtocols ?? []),
      ...(project.piFirstname || project.piLastname
        ? [
            element(
              'xnat:PI',
              [],
              [
                ...textElement('xnat:firstname', project.piFirstname),
                ...textElement('xnat:lastname', project.piLastname),
              ],
            ),
          ]
        : []),
      ...fieldsXml(project.fields),
    ],
  );
}

export function withNamespaces(root: XmlElement, ctx: AuthedContext): XmlElement {
  const host = ctx.headers.host ?? 'localhost';
  root.attributes.push(...NAMESPACES, [
    'xsi:schemaLocation',
    `http://nrg.wustl.edu/xnat http://${host}${ctx.state.contextPath}/schemas/xnat/xnat.xsd`,
  ]);
  return root;
}
