import { READ_ONLY, defineTool } from '../mcp/define.js';
import {
  ExperimentDetailOutput,
  FileItemSchema,
  MAX_LINKS,
  ProjectDetailOutput,
  ProjectItemSchema,
  SubjectDetailOutput,
  listOutput,
  pageListing,
  pageOfArray,
  pagingInput,
  renderFields,
  renderList,
  renderRecord,
  renderScanParameters,
  renderTable,
  renderTruncated,
  sections,
  shapeExperimentDetail,
  shapeFile,
  shapeProject,
  shapeProjectDetail,
  shapeSubjectDetail,
} from '../mcp/format.js';
import {
  experimentParam,
  idParam,
  optionalProjectParam,
  projectParam,
  scanParam,
  subjectParam,
} from '../mcp/params.js';
import { experimentTarget, projectTarget, subjectTarget } from '../mcp/targets.js';
import { experimentUri, projectUri, resourceLink, subjectUri } from '../mcp/uris.js';

export const listProjects = defineTool({
  name: 'listProjects',
  title: 'List XNAT projects',
  description:
    'Lists the projects the XNAT user can see. Start here: `id` is the `project` that getProject, searchSubjects and searchExperiments take. Paged.',
  toolset: 'browse',
  inputSchema: { ...pagingInput },
  outputSchema: listOutput(ProjectItemSchema),
  annotations: READ_ONLY,
  writes: false,
  handler: ({ limit, cursor }, { client, signal }) =>
    pageListing(
      'listProjects',
      {},
      { limit, cursor },
      async (spec) => pageOfArray(await client.listProjects({ signal }), spec),
      shapeProject,
    ),
  render: (out) =>
    renderList('projects', out, ['id', 'name', 'pi', 'description'], (p) => [
      p.id,
      p.name,
      p.pi,
      p.description,
    ]),
  links: (out) => out.items.slice(0, MAX_LINKS).map((p) => resourceLink(projectUri(p.id), p.id, p.name)),
});

export const getProject = defineTool({
  name: 'getProject',
  title: 'Get an XNAT project',
  description:
    'One project (ID from listProjects): description, PI, keywords, accessibility, custom fields, subject and experiment counts by type. Its subjects/experiments: searchSubjects/searchExperiments.',
  toolset: 'browse',
  inputSchema: { project: projectParam },
  outputSchema: ProjectDetailOutput,
  annotations: READ_ONLY,
  writes: false,
  async handler({ project }, { client, signal }) {
    return shapeProjectDetail(await client.getProject(project, { signal }));
  },
  render: (p) =>
    sections(
      renderFields([
        ['project', p.id],
        ['name', p.name],
        ['secondaryId', p.secondaryId],
        ['pi', p.pi],
        ['accessibility', p.accessibility],
        ['keywords', p.keywords],
        ['aliases', p.aliases.join(', ')],
        ['subjects', p.subjectCount],
        ['experiments', p.experimentCount],
        ['description', p.description],
      ]),
      renderRecord('experiment types', p.experimentTypes),
      renderRecord('fields', p.fields),
      renderTruncated(p.truncated),
    ),
  links: (p) => [resourceLink(projectUri(p.id), p.id, p.name)],
  target: ({ project }) => projectTarget(project),
});

export const getSubject = defineTool({
  name: 'getSubject',
  title: 'Get an XNAT subject',
  description:
    'One subject: demographics, custom fields, shares and experiments. Takes an accession ID, or label with `project` (from searchSubjects). Then getExperiment.',
  toolset: 'browse',
  inputSchema: { subject: subjectParam, project: optionalProjectParam },
  outputSchema: SubjectDetailOutput,
  annotations: READ_ONLY,
  writes: false,
  async handler({ subject, project }, { client, signal }) {
    return shapeSubjectDetail(await client.getSubject(subject, { project, signal }));
  },
  render: (s) =>
    sections(
      renderFields([
        ['subject', s.id],
        ['label', s.label],
        ['project', s.project],
        ['owningProject', s.owningProject === s.project ? undefined : s.owningProject],
        ['gender', s.gender],
        ['handedness', s.handedness],
        ['yob', s.yob],
        ['age', s.age],
        ['group', s.group],
      ]),
      renderRecord('demographics', s.demographics),
      renderRecord('fields', s.fields),
      s.shares.length === 0
        ? ''
        : `shared into: ${s.shares.map((sh) => `${sh.project} as ${sh.label}`).join(', ')}`,
      `experiments (${s.experiments.length}):`,
      s.experiments.length === 0
        ? ''
        : renderTable(
            ['id', 'label', 'xsiType', 'date'],
            s.experiments.map((e) => [e.id, e.label, e.xsiType, e.date]),
          ),
      renderTruncated(s.truncated),
    ),
  links: (s) => [
    resourceLink(subjectUri(s.project, s.id), s.label),
    ...s.experiments.slice(0, MAX_LINKS).map((e) => resourceLink(experimentUri(e.project, e.id), e.label)),
  ],
  target: ({ subject, project }) => subjectTarget(subject, project),
});

export const getExperiment = defineTool({
  name: 'getExperiment',
  title: 'Get an XNAT experiment',
  description:
    'One experiment (imaging session or other assessment): date, type, subject, custom fields, quarantine status, scans (with acquisition parameters), resources, assessors. Takes an accession ID, or label with `project`. Then listFiles with a scan ID or resource label.',
  toolset: 'browse',
  inputSchema: { experiment: experimentParam, project: optionalProjectParam },
  outputSchema: ExperimentDetailOutput,
  annotations: READ_ONLY,
  writes: false,
  async handler({ experiment, project }, { client, signal }) {
    return shapeExperimentDetail(await client.getExperiment(experiment, { project, signal }));
  },
  render: (e) =>
    sections(
      renderFields([
        ['experiment', e.id],
        ['label', e.label],
        ['project', e.project],
        ['owningProject', e.owningProject === e.project ? undefined : e.owningProject],
        ['xsiType', e.xsiType],
        ['modality', e.modality],
        ['date', e.time ? `${e.date} ${e.time}` : e.date],
        ['subject', `${e.subjectLabel} (${e.subjectId})`],
        ['visit', e.visitId],
        ['status', e.status],
        ['note', e.note],
      ]),
      renderRecord('fields', e.fields),
      renderRecord('attributes', e.attributes),
      e.shares.length === 0
        ? ''
        : `shared into: ${e.shares.map((sh) => `${sh.project} as ${sh.label}`).join(', ')}`,
      `scans (${e.scans.length}):`,
      e.scans.length === 0
        ? ''
        : renderTable(
            ['id', 'type', 'seriesDescription', 'quality', 'modality', 'files', 'frames', 'acquisition'],
            e.scans.map((s) => [
              s.id,
              s.type,
              s.seriesDescription,
              s.quality,
              s.modality,
              s.fileCount,
              s.frames,
              renderScanParameters(s.parameters),
            ]),
          ),
      e.resources.length === 0
        ? ''
        : `resources: ${e.resources.map((r) => `${r.label}${r.categoryId ? ` (${r.category} ${r.categoryId})` : ''}${r.format ? ` ${r.format}` : ''}: ${r.fileCount} files, ${r.fileSize} bytes`).join('; ')}`,
      e.assessors.length === 0
        ? ''
        : `assessors: ${e.assessors.map((a) => `${a.id} ${a.label} (${a.xsiType}${a.date ? ` ${a.date}` : ''})`).join('; ')}`,
      renderTruncated(e.truncated),
    ),
  links: (e) => [
    resourceLink(experimentUri(e.project, e.id), e.label),
    resourceLink(subjectUri(e.project, e.subjectId), e.subjectLabel, 'The subject of this experiment'),
  ],
  target: ({ experiment, project }) => experimentTarget(experiment, project),
});

export const listFiles = defineTool({
  name: 'listFiles',
  title: 'List files of an XNAT experiment',
  description:
    'Files (path, size, MD5) of an experiment, or of one scan or resource from getExperiment. Takes an accession ID, or label with `project`. Paged.',
  toolset: 'browse',
  inputSchema: {
    experiment: experimentParam,
    project: optionalProjectParam,
    scan: scanParam.optional().describe('Scan ID (from getExperiment)'),
    resource: idParam('Resource label')
      .optional()
      .describe('Resource label, e.g. DICOM (from getExperiment)'),
    ...pagingInput,
  },
  outputSchema: listOutput(FileItemSchema),
  annotations: READ_ONLY,
  writes: false,
  handler: ({ experiment, project, scan, resource, limit, cursor }, { client, signal }) =>
    pageListing(
      'listFiles',
      { experiment, project, scan, resource },
      { limit, cursor },
      async (spec) =>
        pageOfArray(await client.listFiles({ experiment, project, scan, resource }, { signal }), spec),
      shapeFile,
    ),
  render: (out) =>
    renderList('files', out, ['path', 'resource', 'scan', 'size', 'digest'], (f) => [
      f.path,
      f.resource,
      f.scan,
      f.size,
      f.digest,
    ]),
  target: ({ experiment, project, scan, resource }) => {
    const base = experimentTarget(experiment, project);
    if (scan === undefined && resource === undefined) return base;
    const part = [
      scan === undefined ? '' : `scan '${scan}'`,
      resource === undefined ? '' : `resource '${resource}'`,
    ]
      .filter((s) => s !== '')
      .join(' / ');
    return {
      what: `${base.what} or its ${part}`,
      project,
      nextStep: `check the scan IDs and resource labels with getExperiment; ${base.nextStep}`,
    };
  },
});
