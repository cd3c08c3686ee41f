/**
 * Output shapes of the processing tools (container service pipelines, launches, jobs), beside
 * format.ts: schemas for `outputSchema`, shapers from the client core's models, compact text.
 */
import * as z from 'zod';
import type { Job, Pipeline, PipelineDetail, XnatFile } from '../client/index.js';
import { renderFields, renderTable, sections } from './format.js';

const InputSchema = z.object({
  name: z.string(),
  role: z
    .enum(['target', 'derived', 'parameter'])
    .describe('target: what it runs on; derived: XNAT fills it; parameter: you may set it'),
  type: z.string(),
  required: z.boolean(),
  default: z.string().optional(),
  choices: z.array(z.string()).optional(),
  description: z.string(),
});

export const PipelineSchema = z.object({
  wrapperId: z.number(),
  wrapper: z.string(),
  command: z.string(),
  description: z.string(),
  image: z.string(),
  enabled: z.boolean().describe('Enabled for the project (launchable)'),
  appliesTo: z.array(z.string()).describe('Session types it can run on'),
  sessions: z.array(z.string()).optional().describe('The sessions asked about that it can run on'),
  inputs: z.array(InputSchema),
  outputs: z.array(z.string()),
});
export type PipelineOut = z.infer<typeof PipelineSchema>;

export const PipelinesOutput = {
  project: z.string(),
  pipelines: z.array(PipelineSchema),
  summary: z.string(),
};

/** One pipeline for output: the project's summary joined with the command's inputs. */
export function shapePipeline(
  p: Pipeline,
  detail: PipelineDetail | undefined,
  types: string[],
  sessions?: string[],
): PipelineOut {
  return {
    wrapperId: p.wrapperId,
    wrapper: p.wrapper,
    command: p.command,
    description: p.description,
    image: p.image,
    enabled: p.enabled,
    appliesTo: types,
    ...(sessions ? { sessions } : {}),
    inputs: (detail?.inputs ?? []).map((i) => ({
      name: i.name,
      role: i.role,
      type: i.type,
      required: i.required,
      ...(i.default !== undefined ? { default: i.default } : {}),
      ...(i.choices ? { choices: i.choices } : {}),
      description: i.description,
    })),
    outputs: detail?.outputs ?? [],
  };
}

export function renderPipelines(out: { project: string; pipelines: PipelineOut[]; summary: string }): string {
  const blocks = out.pipelines.map((p) => {
    const inputs = p.inputs
      .map((i) => {
        const extra = [
          i.required ? 'required' : 'optional',
          i.default !== undefined ? `default ${i.default || "''"}` : '',
          i.choices ? `one of ${i.choices.join('/')}` : '',
        ]
          .filter((s) => s !== '')
          .join(', ');
        return `  - ${i.name} (${i.role}, ${i.type}, ${extra}): ${i.description}`;
      })
      .join('\n');
    return sections(
      `${p.wrapper} [wrapper ${p.wrapperId}] ${p.enabled ? 'enabled' : 'NOT enabled in this project'}: ${p.description}`,
      renderFields([
        ['command', p.command],
        ['image', p.image],
        ['runs on', p.appliesTo.join(', ')],
        ['sessions', p.sessions?.join(', ')],
        ['outputs', p.outputs.join(', ')],
      ]),
      inputs === '' ? '' : `inputs:\n${inputs}`,
    );
  });
  return sections(out.summary, ...blocks);
}

/** A launch target with XNAT's resolved inputs (dry run) or its job handle (launch). */
export const LaunchTargetSchema = z.object({
  experiment: z.string().describe('Accession ID'),
  label: z.string(),
  inputs: z.record(z.string(), z.string()).optional().describe('Dry run: the inputs XNAT resolved'),
  workflowId: z.string().optional().describe('Launch: the workflow that tracks the job (getJobStatus)'),
  status: z.string().optional(),
});
export type LaunchTarget = z.infer<typeof LaunchTargetSchema>;

export const LaunchOutput = {
  project: z.string(),
  wrapperId: z.number(),
  wrapper: z.string(),
  dryRun: z.boolean().optional(),
  targets: z.array(LaunchTargetSchema),
  launched: z.number().optional(),
  summary: z.string(),
};

export function renderLaunch(out: {
  wrapperId: number;
  targets: LaunchTarget[];
  summary: string;
  dryRun?: boolean | undefined;
}): string {
  const rows = out.targets.map((t) =>
    out.dryRun
      ? [
          t.label,
          t.experiment,
          Object.entries(t.inputs ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join('; '),
        ]
      : [t.label, t.experiment, t.workflowId ?? '', t.status ?? ''],
  );
  const columns = out.dryRun
    ? ['label', 'experiment', 'resolved inputs']
    : ['label', 'experiment', 'workflow', 'status'];
  return sections(
    out.summary,
    `wrapper ID: ${out.wrapperId}`,
    rows.length > 0 ? renderTable(columns, rows) : '',
  );
}

const OutputFileSchema = z.object({ name: z.string(), size: z.number(), uri: z.string() });
export const JobSchema = z.object({
  containerId: z.string().optional().describe('Container (job) ID; absent while XNAT has not created it'),
  workflowId: z.string().optional(),
  status: z.string(),
  finished: z.boolean(),
  succeeded: z.boolean().optional(),
  project: z.string().optional(),
  target: z.string().optional().describe('What it runs on'),
  exitCode: z.string().optional(),
  statusTime: z.string().optional(),
  history: z.array(z.string()).optional().describe('status at time (by)'),
  details: z.string().optional().describe('Why a job never started (the workflow details)'),
  stderrTail: z.string().optional().describe('Last lines of stderr, for a failed job'),
  outputs: z
    .array(
      z.object({
        resource: z.string(),
        scan: z.string().optional(),
        experiment: z.string(),
        files: z.array(OutputFileSchema),
      }),
    )
    .optional()
    .describe('Resources a finished job created, with their files'),
});
export type JobOut = z.infer<typeof JobSchema>;

export const JobStatusOutput = {
  jobs: z.array(JobSchema),
  waited: z
    .enum(['no', 'finished', 'timeout', 'cancelled'])
    .describe('no: not asked to wait; finished: all done; timeout: poll again; cancelled: stopped waiting'),
  summary: z.string(),
};

export function shapeJob(job: Job, extra: Partial<JobOut> = {}): JobOut {
  return {
    containerId: job.id,
    ...(job.workflowId ? { workflowId: job.workflowId } : {}),
    status: job.status,
    finished: job.finished,
    succeeded: job.succeeded,
    project: job.project,
    target: job.target,
    ...(job.exitCode !== undefined ? { exitCode: job.exitCode } : {}),
    statusTime: job.statusTime,
    history: job.history.map(
      (h) => `${h.status} at ${h.at}${h.by ? ` (${h.by})` : ''}${h.message ? `: ${h.message}` : ''}`,
    ),
    ...extra,
  };
}

/** The last `lines` lines of a log, bounded in size. */
export function logTail(log: string, lines: number): string {
  const all = log.replace(/\n+$/, '').split('\n');
  const tail = all.slice(-lines).join('\n');
  // The end of a log says why it failed: keep the end.
  return tail.length > 4000 ? `…${tail.slice(-4000)}` : tail;
}

export function shapeOutputFiles(files: XnatFile[]): Array<{ name: string; size: number; uri: string }> {
  return files.map((f) => ({ name: f.name, size: f.size, uri: f.uri }));
}

export function renderJobs(out: { jobs: JobOut[]; waited: string; summary: string }): string {
  const table = renderTable(
    ['container', 'workflow', 'status', 'project', 'target', 'exit', 'since'],
    out.jobs.map((j) => [
      j.containerId,
      j.workflowId,
      j.status,
      j.project,
      j.target,
      j.exitCode,
      j.statusTime,
    ]),
  );
  const details = out.jobs.flatMap((j) => {
    const id = `container ${j.containerId ?? '-'} / workflow ${j.workflowId ?? '-'}`;
    const parts: string[] = [];
    if (j.history && j.history.length > 0) parts.push(`${id} history: ${j.history.join('; ')}`);
    if (j.details) parts.push(`${id}: ${j.details}`);
    if (j.stderrTail) parts.push(`${id} stderr (tail):\n${j.stderrTail}`);
    for (const o of j.outputs ?? []) {
      parts.push(
        `${id} output ${o.resource} of ${o.experiment}${o.scan ? ` scan ${o.scan}` : ''}:\n${renderTable(
          ['file', 'size', 'uri'],
          o.files.map((f) => [f.name, f.size, f.uri]),
        )}`,
      );
    }
    return parts;
  });
  return sections(`${out.summary} (waited: ${out.waited})`, out.jobs.length > 0 ? table : '', ...details);
}

export const KillOutput = {
  containerId: z.string(),
  dockerId: z.string().optional(),
  dryRun: z.boolean().optional(),
  status: z.string(),
  summary: z.string(),
};
