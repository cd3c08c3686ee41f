import { READ_ONLY, defineTool } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import {
  ExperimentItemSchema,
  MAX_LINKS,
  SubjectItemSchema,
  listOutput,
  countInput,
  pageListing,
  pagingInput,
  renderList,
  shapeExperiment,
  shapeSubject,
} from '../mcp/format.js';
import { idParam, isoDateParam, subjectParam, textParam } from '../mcp/params.js';
import { projectTarget, subjectTarget } from '../mcp/targets.js';
import { experimentUri, resourceLink, subjectUri } from '../mcp/uris.js';

const projectFilter = idParam('Project ID').optional().describe('Project ID; omit to search all');

export const searchSubjects = defineTool({
  name: 'searchSubjects',
  title: 'Search XNAT subjects',
  description:
    'Finds subjects by project, label, gender or group. Returns accession `id` and `label` in `project`; pass either to getSubject (a label with `project`). Paged.',
  toolset: 'search',
  inputSchema: {
    project: projectFilter,
    label: idParam('Label').optional().describe("Label; '*' is a wildcard, e.g. 'SUB-0*'"),
    gender: textParam('Gender').optional().describe('e.g. male, female'),
    group: textParam('Group').optional().describe('Subject group'),
    ...pagingInput,
    ...countInput,
  },
  outputSchema: listOutput(SubjectItemSchema),
  annotations: READ_ONLY,
  writes: false,
  handler: ({ limit, cursor, count, ...query }, { client, signal }) =>
    pageListing(
      'searchSubjects',
      query,
      { limit, cursor, count },
      (spec) => client.listSubjects({ ...query, ...spec, signal }),
      shapeSubject,
    ),
  render: (out) =>
    renderList(
      'subjects',
      out,
      ['id', 'label', 'project', 'owningProject', 'gender', 'group', 'yob', 'age'],
      (s) => [s.id, s.label, s.project, s.owningProject, s.gender, s.group, s.yob, s.age],
    ),
  links: (out) =>
    out.items.slice(0, MAX_LINKS).map((s) => resourceLink(subjectUri(s.project, s.id), s.label)),
  target: ({ project }) => (project === undefined ? undefined : projectTarget(project)),
});

export const searchExperiments = defineTool({
  name: 'searchExperiments',
  title: 'Search XNAT experiments',
  description:
    'Finds experiments (imaging sessions, assessments) by project, subject, type, modality, dates or label. Returns `id` and `label`; pass either to getExperiment or listFiles (a label with `project`). Paged.',
  toolset: 'search',
  inputSchema: {
    project: projectFilter,
    subject: subjectParam.optional().describe('Accession ID or label with `project`'),
    xsiType: textParam('xsiType').optional().describe('XNAT data type, e.g. xnat:mrSessionData'),
    modality: textParam('Modality').optional().describe('e.g. MR, PT (PET), CT'),
    dateFrom: isoDateParam('dateFrom'),
    dateTo: isoDateParam('dateTo'),
    label: idParam('Label').optional().describe("Label; '*' is a wildcard"),
    ...pagingInput,
    ...countInput,
  },
  outputSchema: listOutput(ExperimentItemSchema),
  annotations: READ_ONLY,
  writes: false,
  handler: ({ limit, cursor, count, ...query }, { client, signal }) => {
    if (query.dateFrom !== undefined && query.dateTo !== undefined && query.dateFrom > query.dateTo) {
      throw new ToolInputError(`dateFrom (${query.dateFrom}) is after dateTo (${query.dateTo}); swap them.`);
    }
    return pageListing(
      'searchExperiments',
      query,
      { limit, cursor, count },
      (spec) => client.listExperiments({ ...query, ...spec, signal }),
      shapeExperiment,
    );
  },
  render: (out) =>
    renderList(
      'experiments',
      out,
      ['id', 'label', 'project', 'owningProject', 'subject', 'subjectId', 'xsiType', 'date'],
      (e) => [e.id, e.label, e.project, e.owningProject, e.subjectLabel, e.subjectId, e.xsiType, e.date],
    ),
  links: (out) =>
    out.items.slice(0, MAX_LINKS).map((e) => resourceLink(experimentUri(e.project, e.id), e.label)),
  target: ({ project, subject }) => {
    if (subject !== undefined) return subjectTarget(subject, project);
    return project === undefined ? undefined : projectTarget(project);
  },
});
