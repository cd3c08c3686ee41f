import * as z from 'zod';
import { experimentUri, projectUri, resourceLink, subjectUri } from '../resources/uris.js';
import { READ_ONLY, defineTool } from './define.js';
import type { ErrorTarget } from './errors.js';
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
  renderTable,
  renderTruncated,
  sections,
  shapeExperimentDetail,
  shapeFile,
  shapeProject,
  shapeProjectDetail,
  shapeSubjectDetail,
} from './format.js';
import { experimentParam, optionalProjectParam, projectParam, subjectParam } from './params.js';

export function projectTarget(project: string): ErrorTarget {
  return {
    what: `Project '${project}'`,
    nextStep: 'use listProjects to see the projects the configured user can access',
  };
}

export function subjectTarget(subject: string, project: string | undefined): ErrorTarget {
  return {
    what: `Subject '${subject}'`,
    project,
    nextStep:
      project === undefined
        ? `if '${subject}' is a label, pass project too; otherwise use searchSubjects to find the subject ID`
        : `use searchSubjects with project ${project} to find its ID or label`,
  };
}

export function experimentTarget(experiment: string, project: string | undefined): ErrorTarget {
  return {
    what: `Experiment '${experiment}'`,
    project,
    nextStep:
      project === undefined
        ? `if '${experiment}' is a label, pass project too; otherwise use searchExperiments to find the experiment ID`
        : `use searchExperiments with project ${project} to find its ID or label`,
  };
}

export const listProjects = defineTool({
  name: 'listProjects',
  title: 'List XNAT projects',
  description:
    'Lists the projects the configured XNAT user can see (id, name, PI, short description). Start here: the project `id` is what getProject, searchSubjects and searchExperiments take as `project`. Paged: pass nextCursor back as cursor.',
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
    "Shows one project: description, PI, keywords, accessibility, custom fields, and how many subjects and experiments it holds (by experiment type). Takes the project ID from listProjects. To list the project's subjects or experiments use searchSubjects / searchExperiments with `project`.",
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
    'Shows one subject: demographics, custom fields, the projects it is shared into (with its label there) and its experiments. Takes a subject accession ID, or a label together with `project` (find both with searchSubjects). Follow up with getExperiment for an experiment listed here.',
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
    'Shows one experiment (imaging session or other assessment): date, type, subject, custom fields, quarantine status, scans (ID, type, series description, quality, file count), resources and assessors. Takes an experiment accession ID, or a label together with `project` (find both with searchExperiments). Use listFiles with a scan ID or resource label from here to see files.',
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
            ['id', 'type', 'seriesDescription', 'quality', 'files'],
            e.scans.map((s) => [s.id, s.type, s.seriesDescription, s.quality, s.fileCount]),
          ),
      e.resources.length === 0
        ? ''
        : `resources: ${e.resources.map((r) => `${r.label}${r.categoryId ? ` (${r.category} ${r.categoryId})` : ''}: ${r.fileCount} files`).join('; ')}`,
      e.assessors.length === 0
        ? ''
        : `assessors: ${e.assessors.map((a) => `${a.id} ${a.label} (${a.xsiType})`).join('; ')}`,
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
    'Lists files (path, size, MD5 digest) of an experiment, of one of its scans (`scan`, a scan ID from getExperiment) or of one resource (`resource`, a resource label from getExperiment). Takes an experiment accession ID, or a label together with `project`. Paged: pass nextCursor back as cursor.',
  toolset: 'browse',
  inputSchema: {
    experiment: experimentParam,
    project: optionalProjectParam,
    scan: z.string().min(1).optional().describe('Scan ID within the experiment, from getExperiment'),
    resource: z
      .string()
      .min(1)
      .optional()
      .describe('Resource label, e.g. DICOM or NIFTI, from getExperiment'),
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
