/**
 * Item JSON (§3.2): the `{"items":[{meta,data_fields,children}]}` shape of ItemJSONBuilder, with
 * data_fields as flattened xpaths relative to the item and sub-objects as `children`.
 */
import { canReadItem } from './access.js';
import { fileStats } from './files.js';
import { archiveDirectory, assessorsOf, catalogPath } from './item-parts.js';
import type {
  Investigator,
  SandboxArchive,
  SandboxUser,
  StoredElement,
  StoredQcScan,
  StoredExperiment,
  StoredProject,
  StoredReconstruction,
  StoredResource,
  StoredScan,
  StoredSubject,
} from './model.js';
import { experimentKind } from './types.js';

type JsonValue = string | number | boolean;

export interface ItemNode {
  meta: Record<string, JsonValue>;
  data_fields: Record<string, JsonValue>;
  children: Array<{ field: string; items: ItemNode[] }>;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Java's `Date.toString()` in UTC (`Thu Apr 08 19:28:45 UTC 2021`), as `meta.start_date` shows it. */
function javaDate(timestamp: string): string | undefined {
  const time = Date.parse(`${timestamp.replace(' ', 'T')}Z`);
  if (Number.isNaN(time)) return undefined;
  const d = new Date(time);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${WEEKDAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

function meta(xsiType: string, insertDate?: string): ItemNode['meta'] {
  const result: ItemNode['meta'] = { 'xsi:type': xsiType, isHistory: false };
  const start = insertDate === undefined ? undefined : javaDate(insertDate);
  if (start) result.start_date = start;
  return result;
}

/** data_fields without the empty values XNAT never stores. */
function fields(entries: Array<[string, JsonValue | undefined]>): ItemNode['data_fields'] {
  const result: ItemNode['data_fields'] = {};
  for (const [key, value] of entries) if (value !== undefined && value !== '') result[key] = value;
  return result;
}

function node(
  m: ItemNode['meta'],
  data: ItemNode['data_fields'],
  children: ItemNode['children'] = [],
): ItemNode {
  return { meta: m, data_fields: data, children: children.filter((c) => c.items.length > 0) };
}

function resourceNode(resource: StoredResource, directory: string): ItemNode {
  const stats = fileStats(resource);
  return node(
    meta(resource.xsiType),
    fields([
      ['xnat_abstractresource_id', resource.xnatAbstractresourceId],
      ['label', resource.label],
      ['URI', catalogPath(directory, resource)],
      ['format', resource.format],
      ['content', resource.content],
      ['description', resource.description],
      ['file_count', stats.count],
      ['file_size', stats.size],
    ]),
    [
      {
        field: 'tags/tag',
        items: resource.tags.map((tag) => node(meta('xnat:abstractResource_tag'), fields([['tag', tag]]))),
      },
    ],
  );
}

function fieldNodes(owner: string, values: Record<string, string>): ItemNode[] {
  return Object.entries(values).map(([name, value]) =>
    node(
      meta(`${owner}_field`),
      fields([
        ['field', value],
        ['name', name],
      ]),
    ),
  );
}

function shareNodes(type: string, item: StoredSubject | StoredExperiment): ItemNode[] {
  return item.shares.map((share) =>
    node(
      meta(type),
      fields([
        ['label', share.label],
        ['project', share.project],
      ]),
    ),
  );
}

function addParamNodes(params: Record<string, string> | undefined): ItemNode[] {
  return Object.entries(params ?? {}).map(([name, value]) =>
    node(
      meta('xnat:addField'),
      fields([
        ['addField', value],
        ['name', name],
      ]),
    ),
  );
}

export function scanNode(scan: StoredScan, session: StoredExperiment, directory: string): ItemNode {
  return node(
    meta(scan.xsiType, scan.insertDate),
    fields([
      ['xnat_imagescandata_id', scan.xnatImagescandataId],
      ['ID', scan.id],
      ['image_session_ID', session.id],
      ['type', scan.type],
      ['UID', scan.uid],
      ['quality', scan.quality],
      ['condition', scan.condition],
      ['series_description', scan.seriesDescription],
      ['note', scan.note],
      ['frames', scan.frames],
      ['modality', scan.modality],
      ['startTime', scan.startTime],
      ...Object.entries(scan.parameters),
    ]),
    [
      { field: 'file', items: scan.resources.map((r) => resourceNode(r, `${directory}/SCANS/${scan.id}`)) },
      { field: 'parameters/addParam', items: addParamNodes(scan.addParams) },
    ],
  );
}

/** A manual QC assessment's rating of one scan (`xnat:qcScanData`). */
function qcScanNode(scan: StoredQcScan): ItemNode {
  return node(
    meta(scan.xsiType),
    fields([['xnat_qcScanData_id', scan.xnatQcscandataId], ...Object.entries(scan.values)]),
  );
}

export function reconstructionNode(
  recon: StoredReconstruction,
  session: StoredExperiment,
  directory: string,
): ItemNode {
  return node(
    meta('xnat:reconstructedImageData', recon.insertDate),
    fields([
      ['xnat_reconstructedimagedata_id', recon.xnatReconstructedimagedataId],
      ['ID', recon.id],
      ['type', recon.type],
      ['baseScanType', recon.baseScanType],
      ['image_session_ID', session.id],
    ]),
    [
      {
        field: 'out/file',
        items: recon.resources.map((r) => resourceNode(r, `${directory}/PROCESSED/${recon.id}`)),
      },
      { field: 'parameters/addParam', items: addParamNodes(recon.addParams) },
    ],
  );
}

function experimentFields(experiment: StoredExperiment): Array<[string, JsonValue]> {
  return [
    ['ID', experiment.id],
    ['id', experiment.id],
    ['project', experiment.project],
    ['label', experiment.label],
    ['date', experiment.date],
    ['time', experiment.time],
    ['visit_id', experiment.visitId],
    ['visit', experiment.visit],
    ['note', experiment.note],
    ['acquisition_site', experiment.acquisitionSite],
    ['subject_ID', experiment.subjectId],
    ['imageSession_ID', experiment.imageSessionId],
    ...Object.entries(experiment.attributes),
  ];
}

export function experimentNode(
  archive: SandboxArchive,
  experiment: StoredExperiment,
  user: SandboxUser,
): ItemNode {
  const directory = archiveDirectory(archive, experiment);
  const assessor = experimentKind(experiment) === 'imageAssessor';
  return node(meta(experiment.xsiType, experiment.insertDate), fields(experimentFields(experiment)), [
    { field: 'sharing/share', items: shareNodes('xnat:experimentData_share', experiment) },
    { field: 'fields/field', items: fieldNodes('xnat:experimentData', experiment.fields) },
    {
      field: assessor ? 'out/file' : 'resources/resource',
      items: experiment.resources.map((r) => resourceNode(r, directory)),
    },
    { field: 'in/file', items: experiment.inResources.map((r) => resourceNode(r, directory)) },
    {
      field: 'scans/scan',
      items: [
        ...experiment.scans.map((s) => scanNode(s, experiment, directory)),
        ...(experiment.qcScans ?? []).map(qcScanNode),
      ],
    },
    {
      field: 'reconstructions/reconstructedImage',
      items: (experiment.reconstructions ?? []).map((r) => reconstructionNode(r, experiment, directory)),
    },
    {
      field: 'assessors/assessor',
      items: assessor
        ? []
        : assessorsOf(archive, experiment, user).map((a) => experimentNode(archive, a, user)),
    },
  ]);
}

function investigatorNodes(investigator: Investigator | undefined): ItemNode[] {
  return investigator && Object.keys(investigator).length > 0
    ? [node(meta('xnat:investigatorData'), fields(Object.entries(investigator)))]
    : [];
}

export function subjectNode(archive: SandboxArchive, subject: StoredSubject, user: SandboxUser): ItemNode {
  const directory = archiveDirectory(archive, subject);
  const experiments = [...archive.experiments.values()].filter(
    (e) => e.subjectId === subject.id && canReadItem(archive, e, user),
  );
  return node(
    meta('xnat:subjectData', subject.insertDate),
    fields([
      ['ID', subject.id],
      ['id', subject.id],
      ['project', subject.project],
      ['label', subject.label],
      ['group', subject.group],
      ['src', subject.src],
      ['initials', subject.initials],
    ]),
    [
      { field: 'investigator', items: investigatorNodes(subject.investigator) },
      {
        field: 'demographics',
        items: [node(meta('xnat:demographicData'), fields(Object.entries(subject.demographics)))],
      },
      { field: 'sharing/share', items: shareNodes('xnat:projectParticipant', subject) },
      { field: 'fields/field', items: fieldNodes('xnat:subjectData', subject.fields) },
      { field: 'resources/resource', items: subject.resources.map((r) => resourceNode(r, directory)) },
      { field: 'experiments/experiment', items: experiments.map((e) => experimentNode(archive, e, user)) },
    ],
  );
}

export function projectNode(archive: SandboxArchive, project: StoredProject): ItemNode {
  const directory = archiveDirectory(archive, project);
  return node(
    meta('xnat:projectData', project.insertDate),
    fields([
      ['ID', project.id],
      ['secondary_ID', project.secondaryId],
      ['name', project.name],
      ['description', project.description],
      ['keywords', project.keywords],
      ['active', 'true'],
    ]),
    [
      {
        field: 'aliases/alias',
        items: project.aliases.map((alias) =>
          node(meta('xnat:projectData_alias'), fields([['alias', alias]])),
        ),
      },
      {
        field: 'PI',
        items:
          project.piFirstname || project.piLastname
            ? [
                node(
                  meta('xnat:investigatorData'),
                  fields([
                    ['firstname', project.piFirstname],
                    ['lastname', project.piLastname],
                  ]),
                ),
              ]
            : [],
      },
      { field: 'fields/field', items: fieldNodes('xnat:projectData', project.fields) },
      { field: 'resources/resource', items: project.resources.map((r) => resourceNode(r, directory)) },
      { field: 'studyProtocol', items: (project.studyProtocols ?? []).map(elementNode) },
    ],
  );
}

/** A kept element as an item: its `xsi:type`, attributes and text leaves as data_fields. */
function elementNode(element: StoredElement): ItemNode {
  const type = element.attributes.find(([k]) => k === 'xsi:type')?.[1] ?? element.name;
  const data: Array<[string, JsonValue]> = element.attributes.filter(([k]) => !k.includes(':'));
  const leaves = (el: StoredElement, path: string): void => {
    for (const child of el.children) {
      const childPath = `${path}${child.name.slice(child.name.indexOf(':') + 1)}`;
      if (child.text !== undefined) data.push([childPath, child.text]);
      leaves(child, `${childPath}/`);
    }
  };
  leaves(element, '');
  return node(meta(type), fields(data));
}
