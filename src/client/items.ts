/**
 * Single objects in detail: a project, subject or experiment item document, plus the few listing
 * requests (sent in parallel) for what the document lacks: counts, child sessions, resources, the
 * insert date and labels in a sharing project.
 */
import { xnatPath, type RequestContext } from './http.js';
import { EXPERIMENT_COLUMNS } from './listings.js';
import type { ExperimentDetail, ProjectDetail, SubjectDetail } from './models.js';
import {
  experimentBase,
  getBody,
  notFoundHint,
  optionalRow,
  type ObjectOptions,
  readItem,
  readTable,
  withHint,
} from './reads.js';
import {
  experimentDetailFromItem,
  parseStatus,
  projectDetailFromItem,
  subjectDetailFromItem,
  toExperiment,
  toResource,
  type ItemNode,
} from './rows.js';

/** What an experiment read needs: requests, and somewhere to remember the label → ID it learnt. */
export interface ItemContext extends RequestContext {
  rememberExperimentId(experiment: string, project: string | undefined, id: string): void;
}

export async function getProject(
  ctx: RequestContext,
  project: string,
  signal?: AbortSignal,
): Promise<ProjectDetail> {
  const base = ['data', 'projects', project];
  try {
    const [item, subjects, experiments] = await Promise.all([
      readItem(ctx, xnatPath(...base), signal),
      readTable(ctx, xnatPath(...base, 'subjects'), { columns: 'ID' }, signal),
      readTable(ctx, xnatPath(...base, 'experiments'), { columns: 'ID,xsiType' }, signal),
    ]);
    return projectDetailFromItem(item, subjects.rows, experiments.rows);
  } catch (err) {
    throw withHint(err, `Project "${project}" was not found, or you cannot read it`);
  }
}

export async function getSubject(
  ctx: RequestContext,
  subject: string,
  opts: ObjectOptions = {},
): Promise<SubjectDetail> {
  const { project, signal } = opts;
  const itemPath = project
    ? xnatPath('data', 'projects', project, 'subjects', subject)
    : xnatPath('data', 'subjects', subject);
  const experimentsRequest = project
    ? readTable(
        ctx,
        xnatPath('data', 'projects', project, 'subjects', subject, 'experiments'),
        { columns: EXPERIMENT_COLUMNS },
        signal,
      )
    : readTable(
        ctx,
        xnatPath('data', 'experiments'),
        { columns: EXPERIMENT_COLUMNS, subject_ID: subject },
        signal,
      );
  try {
    const [item, experiments] = await Promise.all([readItem(ctx, itemPath, signal), experimentsRequest]);
    const detail = subjectDetailFromItem(item, project, []);
    // Listings carry the owning label in subject_label; in a sharing project the subject has its shared label.
    const sessions = experiments.rows.map((row) => ({
      ...toExperiment(row, project),
      subjectLabel: detail.label,
    }));
    return { ...detail, experiments: sessions };
  } catch (err) {
    throw withHint(err, notFoundHint('Subject', subject, project));
  }
}

export async function getExperiment(
  ctx: ItemContext,
  experiment: string,
  opts: ObjectOptions = {},
): Promise<ExperimentDetail> {
  const { project, signal } = opts;
  const base = experimentBase(experiment, project);
  let item: ItemNode;
  let statusText: string;
  try {
    [item, statusText] = await Promise.all([
      readItem(ctx, xnatPath(...base), signal),
      getBody(ctx, { path: xnatPath(...base, 'status'), expect: 'text', signal }),
    ]);
  } catch (err) {
    throw withHint(err, notFoundHint('Experiment', experiment, project));
  }
  const id = item.dataFields.ID ?? item.dataFields.id ?? experiment;
  ctx.rememberExperimentId(experiment, project, id);
  const subjectId = item.dataFields.subject_ID ?? '';
  // Seen through a sharing project, the subject is usually shared too, under another label.
  const viaShare = project !== undefined && project !== item.dataFields.project;
  const [resources, listed, sharedSubjectLabel] = await Promise.all([
    readTable(ctx, xnatPath('data', 'experiments', id, 'resources'), { all: true }, signal),
    optionalRow(
      ctx,
      xnatPath('data', 'experiments'),
      { ID: id, columns: 'ID,insert_date,subject_label' },
      signal,
    ),
    viaShare && subjectId
      ? optionalRow(
          ctx,
          xnatPath('data', 'projects', project, 'subjects'),
          { ID: subjectId, columns: 'ID,label' },
          signal,
        )
      : Promise.resolve(undefined),
  ]);
  return experimentDetailFromItem(item, {
    project,
    status: parseStatus(statusText, { method: 'GET', path: xnatPath(...base, 'status') }),
    resources: resources.rows.map(toResource),
    subjectLabel: sharedSubjectLabel?.label || listed?.subject_label || '',
    insertDate: listed?.insert_date ?? '',
  });
}

export async function getExperimentStatus(
  ctx: RequestContext,
  experiment: string,
  opts: ObjectOptions = {},
): Promise<'active' | 'quarantine'> {
  const path = xnatPath(...experimentBase(experiment, opts.project), 'status');
  try {
    return parseStatus(await getBody(ctx, { path, expect: 'text', signal: opts.signal }), {
      method: 'GET',
      path,
    });
  } catch (err) {
    throw withHint(err, notFoundHint('Experiment', experiment, opts.project));
  }
}
