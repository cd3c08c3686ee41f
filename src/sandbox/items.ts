/**
 * Single objects (§3): the `{"items":[{meta,data_fields,children}]}` JSON of ItemJSONBuilder, the
 * schema XML of ItemXMLRepresentation and a small HTML report (the default without `format=`),
 * plus the plain-text sub-paths (`status`, project codes).
 */
import { canReadItem } from './access.js';
import { SandboxHttpError } from './errors.js';
import { fileStats } from './files.js';
import { requireScan, resolvePath, visibleProject } from './lookup.js';
import type {
  SandboxArchive,
  SandboxUser,
  StoredExperiment,
  StoredProject,
  StoredResource,
  StoredScan,
  StoredSubject,
} from './model.js';
import { escapeHtml } from './pages.js';
import { jsonReply, textReply, type AuthedContext, type Reply } from './reply.js';
import { elementName, experimentKind } from './types.js';
import { element, nestedElements, textElement, xmlDocument, type XmlElement } from './xml.js';

type JsonValue = string | number | boolean;

interface ItemNode {
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

/** Where the resource's catalog lives on the server's archive file system (`URI` of the resource). */
function catalogPath(directory: string, resource: StoredResource): string {
  return `${directory}/RESOURCES/${resource.label}/${resource.label}_catalog.xml`;
}

function archiveDirectory(
  archive: SandboxArchive,
  item: StoredExperiment | StoredSubject | StoredProject,
): string {
  if ('subjectId' in item) return `/data/xnat/archive/${item.project}/arc001/${item.label}`;
  if ('demographics' in item) return `/data/xnat/archive/${item.project}/subjects/${item.label}`;
  return `/data/xnat/archive/${archive.projects.get(item.id)?.id ?? item.id}`;
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

function scanNode(scan: StoredScan, directory: string): ItemNode {
  return node(
    meta(scan.xsiType, scan.insertDate),
    fields([
      ['ID', scan.id],
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
    [{ field: 'file', items: scan.resources.map((r) => resourceNode(r, `${directory}/SCANS/${scan.id}`)) }],
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

function assessorsOf(
  archive: SandboxArchive,
  session: StoredExperiment,
  user: SandboxUser,
): StoredExperiment[] {
  return [...archive.experiments.values()].filter(
    (a) => a.imageSessionId === session.id && canReadItem(archive, a, user),
  );
}

function experimentNode(archive: SandboxArchive, experiment: StoredExperiment, user: SandboxUser): ItemNode {
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
    { field: 'scans/scan', items: experiment.scans.map((s) => scanNode(s, directory)) },
    {
      field: 'assessors/assessor',
      items: assessor
        ? []
        : assessorsOf(archive, experiment, user).map((a) => experimentNode(archive, a, user)),
    },
  ]);
}

function subjectNode(archive: SandboxArchive, subject: StoredSubject, user: SandboxUser): ItemNode {
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

function projectNode(archive: SandboxArchive, project: StoredProject): ItemNode {
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
    ],
  );
}

// ---------------------------------------------------------------- XML

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

function scanXml(scan: StoredScan, session: StoredExperiment, directory: string): XmlElement {
  const params = Object.entries(scan.parameters);
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
      ...nestedElements('xnat', rest),
    ],
  );
}

function experimentXml(
  archive: SandboxArchive,
  experiment: StoredExperiment,
  user: SandboxUser,
  tag: string,
): XmlElement {
  const directory = archiveDirectory(archive, experiment);
  const assessor = experimentKind(experiment) === 'imageAssessor';
  const attributes = Object.entries(experiment.attributes);
  const inRoot = attributes.filter(([k]) => SESSION_ATTRIBUTES.includes(k));
  const early = attributes.filter(([k]) => SESSION_EARLY.includes(k.split('/')[0] ?? ''));
  const late = attributes.filter(
    ([k]) => !SESSION_ATTRIBUTES.includes(k) && !SESSION_EARLY.includes(k.split('/')[0] ?? ''),
  );
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
      ...(tag === 'xnat:assessor' ? ([['xsi:type', experiment.xsiType]] as Array<[string, string]>) : []),
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
      ...nestedElements('xnat', late),
    ],
  );
}

function subjectXml(archive: SandboxArchive, subject: StoredSubject): XmlElement {
  const directory = archiveDirectory(archive, subject);
  const demographics = Object.entries(subject.demographics).filter(
    (e): e is [string, string | number] => e[1] !== undefined,
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
      ...(demographics.length > 0
        ? [
            element(
              'xnat:demographics',
              [['xsi:type', 'xnat:demographicData']],
              demographics.map(([k, v]) => element(`xnat:${k}`, [], [], String(v))),
            ),
          ]
        : []),
      ...fieldsXml(subject.fields),
    ],
  );
}

function projectXml(archive: SandboxArchive, project: StoredProject): XmlElement {
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

function withNamespaces(root: XmlElement, ctx: AuthedContext): XmlElement {
  const host = ctx.headers.host ?? 'localhost';
  root.attributes.push(...NAMESPACES, [
    'xsi:schemaLocation',
    `http://nrg.wustl.edu/xnat http://${host}${ctx.state.contextPath}/schemas/xnat/xnat.xsd`,
  ]);
  return root;
}

// ---------------------------------------------------------------- replies

type ItemFormat = 'json' | 'xml' | 'html';

/** Items register HTML first, so without `format=` a generic Accept gets the HTML report (§0.1). */
function itemFormat(ctx: AuthedContext): ItemFormat {
  const format = ctx.query.get('format')?.toLowerCase();
  if (format === 'json' || format === 'xml' || format === 'html') return format;
  if (format !== undefined) throw new SandboxHttpError(406, `Unsupported format: ${format}`);
  const accept = ctx.headers.accept ?? '';
  if (/application\/json/.test(accept)) return 'json';
  if (/text\/xml|application\/xml/.test(accept)) return 'xml';
  return 'html';
}

function htmlReport(title: string, item: ItemNode): Reply {
  const rows = Object.entries(item.data_fields)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`)
    .join('');
  return textReply(
    200,
    `<!DOCTYPE html><html><head><title>XNAT -- ${escapeHtml(title)}</title></head><body>` +
      `<h2>${escapeHtml(title)}</h2><table>${rows}</table></body></html>`,
    'text/html;charset=UTF-8',
  );
}

function itemReply(ctx: AuthedContext, title: string, json: () => ItemNode, xml: () => XmlElement): Reply {
  switch (itemFormat(ctx)) {
    case 'json':
      return jsonReply({ items: [json()] });
    case 'xml':
      return textReply(200, xmlDocument(withNamespaces(xml(), ctx)), 'text/xml;charset=UTF-8');
    case 'html':
      return htmlReport(title, json());
  }
}

export function getProject(ctx: AuthedContext): Reply {
  const project = visibleProject(ctx, ctx.params.project ?? '', 'Unable to find the specified experiment.');
  const { archive } = ctx.state;
  return itemReply(
    ctx,
    `Project ${project.id}`,
    () => projectNode(archive, project),
    () => projectXml(archive, project),
  );
}

export function getSubject(ctx: AuthedContext): Reply {
  const { subject } = resolvePath(ctx);
  if (!subject) throw new SandboxHttpError(404, 'Unable to find the specified subject.');
  const { archive } = ctx.state;
  return itemReply(
    ctx,
    `Subject ${subject.label}`,
    () => subjectNode(archive, subject, ctx.user),
    () => subjectXml(archive, subject),
  );
}

export function getExperiment(ctx: AuthedContext): Reply {
  const objects = resolvePath(ctx);
  const experiment = objects.assessor ?? objects.experiment;
  if (!experiment) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  const { archive } = ctx.state;
  return itemReply(
    ctx,
    `${experiment.xsiType} ${experiment.label}`,
    () => experimentNode(archive, experiment, ctx.user),
    () => experimentXml(archive, experiment, ctx.user, elementName(experiment.xsiType)),
  );
}

export function getScan(ctx: AuthedContext): Reply {
  const { experiment } = resolvePath(ctx);
  if (!experiment) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  const scan = requireScan(experiment, ctx.params.scan ?? '');
  const directory = archiveDirectory(ctx.state.archive, experiment);
  return itemReply(
    ctx,
    `Scan ${scan.id}`,
    () => scanNode(scan, directory),
    () => {
      const root = scanXml(scan, experiment, directory);
      root.name = elementName(scan.xsiType);
      root.attributes = root.attributes.filter(([k]) => k !== 'xsi:type');
      return root;
    },
  );
}

/** `quarantine` when the item or one of its children is quarantined (XFTItem#needsActivation). */
function needsActivation(archive: SandboxArchive, item: StoredSubject | StoredExperiment): boolean {
  if (item.status === 'quarantine') return true;
  for (const child of archive.experiments.values()) {
    const isChild = 'demographics' in item ? child.subjectId === item.id : child.imageSessionId === item.id;
    if (isChild && child.id !== item.id && needsActivation(archive, child)) return true;
  }
  return false;
}

export function getStatus(ctx: AuthedContext): Reply {
  const objects = resolvePath(ctx);
  const item = objects.assessor ?? objects.experiment ?? objects.subject;
  if (!item) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  return textReply(200, needsActivation(ctx.state.archive, item) ? 'quarantine' : 'active');
}

/** `/data/projects/{p}/quarantine_code|prearchive_code|current_arc|accessibility`. */
export function getProjectSetting(ctx: AuthedContext): Reply {
  const project = visibleProject(ctx, ctx.params.project ?? '');
  const setting = ctx.params.setting;
  const values: Record<string, string> = {
    quarantine_code: String(project.quarantineCode),
    prearchive_code: String(project.prearchiveCode),
    current_arc: 'arc001',
    accessibility: project.accessibility,
  };
  const value = setting === undefined ? undefined : values[setting];
  // No message: the Restlet page then carries its default 404 description.
  if (value === undefined) throw new SandboxHttpError(404, '');
  return textReply(200, value);
}
