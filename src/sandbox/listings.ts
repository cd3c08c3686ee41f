/**
 * The `/data` listing handlers (§2.1): each scopes the candidate rows by project, sharing and
 * permissions, then lets the query engine apply columns, filters and paging.
 */
import { canListProject, canReadItem } from './access.js';
import { SandboxHttpError } from './errors.js';
import {
  assessorSpec,
  experimentSpec,
  projectExperimentSpec,
  projectSpec,
  scanSpec,
  reconstructionSpec,
  subjectSpec,
  type ExperimentRow,
  type SubjectRow,
} from './fields.js';
import { labelIn, readableProject, resolvePath } from './lookup.js';
import type { StoredExperiment } from './model.js';
import { runQuery } from './query.js';
import type { AuthedContext, Reply } from './reply.js';
import { tableReply } from './table.js';
import { experimentKind } from './types.js';

export function listProjects(ctx: AuthedContext): Reply {
  const projects = [...ctx.state.archive.projects.values()].filter((p) => canListProject(p, ctx.user));
  return tableReply(ctx, runQuery(ctx, projectSpec, projects));
}

export function listSubjects(ctx: AuthedContext): Reply {
  const { archive } = ctx.state;
  let rows: SubjectRow[];
  if (ctx.params.project !== undefined) {
    const project = readableProject(ctx, ctx.params.project);
    rows = [];
    for (const subject of archive.subjects.values()) {
      // Shared subjects appear under their shared label but keep their owning project.
      const label = labelIn(subject, project.id);
      if (label !== undefined) rows.push({ subject, label });
    }
  } else {
    rows = [...archive.subjects.values()]
      .filter((s) => canReadItem(archive, s, ctx.user))
      .map((subject) => ({ subject, label: subject.label }));
  }
  return tableReply(ctx, runQuery(ctx, subjectSpec, rows));
}

export function listExperiments(ctx: AuthedContext): Reply {
  const { archive } = ctx.state;
  if (ctx.params.project === undefined) {
    const rows: ExperimentRow[] = [...archive.experiments.values()]
      .filter((e) => canReadItem(archive, e, ctx.user))
      .map((experiment) => ({ experiment, label: experiment.label, project: experiment.project, archive }));
    return tableReply(ctx, runQuery(ctx, experimentSpec, rows));
  }
  const project = readableProject(ctx, ctx.params.project);
  const { subject } = resolvePath(ctx);
  const rows: ExperimentRow[] = [];
  for (const experiment of archive.experiments.values()) {
    if (experimentKind(experiment) === 'imageAssessor') continue;
    if (subject && experiment.subjectId !== subject.id) continue;
    const label = labelIn(experiment, project.id);
    // Shared experiments are listed as the listed project's own, under their shared label.
    if (label !== undefined) rows.push({ experiment, label, project: project.id, archive });
  }
  return tableReply(ctx, runQuery(ctx, projectExperimentSpec, rows));
}

function sessionOf(ctx: AuthedContext): StoredExperiment {
  const { experiment } = resolvePath(ctx);
  if (!experiment) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  return experiment;
}

export function listScans(ctx: AuthedContext): Reply {
  const session = sessionOf(ctx);
  return tableReply(
    ctx,
    runQuery(
      ctx,
      scanSpec,
      session.scans.map((scan) => ({ scan, session })),
    ),
  );
}

export function listAssessors(ctx: AuthedContext): Reply {
  const { archive } = ctx.state;
  const session = sessionOf(ctx);
  const projectId = ctx.params.project === undefined ? undefined : resolvePath(ctx).project?.id;
  const rows: ExperimentRow[] = [...archive.experiments.values()]
    .filter((a) => a.imageSessionId === session.id && canReadItem(archive, a, ctx.user))
    .map((experiment) => {
      const shared = projectId === undefined ? undefined : labelIn(experiment, projectId);
      return {
        experiment,
        label: shared ?? experiment.label,
        project: shared === undefined || projectId === undefined ? experiment.project : projectId,
        archive,
      };
    });
  return tableReply(ctx, runQuery(ctx, assessorSpec, rows));
}

/** ReconList: the session's reconstructions, by XNAT's query (default columns, `columns=`, filters). */
export function listReconstructions(ctx: AuthedContext): Reply {
  const session = sessionOf(ctx);
  const rows = (session.reconstructions ?? []).map((recon) => ({ recon, session }));
  return tableReply(ctx, runQuery(ctx, reconstructionSpec, rows));
}

/** `.../experiments/{e}/projects`, `.../subjects/{s}/projects`: the owning project, then each share (§3.4). */
export function listItemProjects(ctx: AuthedContext): Reply {
  const objects = resolvePath(ctx);
  const item = objects.assessor ?? objects.experiment ?? objects.subject;
  if (!item) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  const { archive } = ctx.state;
  const entries = [{ project: item.project, label: item.label }, ...item.shares];
  const rows = entries.map(({ project, label }) => {
    const record = archive.projects.get(project);
    return { label, ID: project, Secondary_ID: record?.secondaryId ?? '', Name: record?.name ?? '' };
  });
  return tableReply(ctx, {
    columns: ['label', 'ID', 'Secondary_ID', 'Name'],
    rows,
    params: { totalRecords: String(rows.length) },
  });
}
