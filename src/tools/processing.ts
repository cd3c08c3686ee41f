/**
 * Processing through XNAT's container service: which pipelines can run on sessions (with their
 * inputs explained), launching one on many sessions, watching the jobs, and killing one. XNAT's
 * launch endpoint checks almost nothing (an unknown wrapper answers "success"), so launchPipeline
 * checks wrapper, project, enablement and inputs, and resolves every target, before it launches.
 */
import * as z from 'zod';
import type { ExperimentDetail, Job, Pipeline, PipelineDetail, XnatClient } from '../client/index.js';
import { defineTool, READ_ONLY, writeAnnotations, type ToolContext } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import {
  JobStatusOutput,
  KillOutput,
  LaunchOutput,
  PipelinesOutput,
  logTail,
  renderJobs,
  renderLaunch,
  renderPipelines,
  shapeJob,
  shapeOutputFiles,
  shapePipeline,
  type JobOut,
} from '../mcp/format-processing.js';
import { renderFields, sections } from '../mcp/format.js';
import { experimentParam, idParam, projectParam } from '../mcp/params.js';
import { experimentTarget, projectTarget } from '../mcp/targets.js';
import { defineWriteTool } from '../mcp/write.js';

const MAX_TARGETS = 200;
const MAX_WAIT_SECONDS = 300;
/** How often a waiting call asks XNAT again. */
const POLL_MS = 1000;

const experimentsParam = z
  .array(idParam('Experiment'))
  .min(1)
  .max(MAX_TARGETS)
  .describe('Sessions: accession IDs, or labels in `project`');

const pipelineParam = z
  .union([z.number().int().positive(), z.string().min(1).max(255)])
  .describe('Wrapper ID or name, from findPipelines');

async function sessionsOf(
  client: XnatClient,
  project: string,
  experiments: readonly string[],
  signal: AbortSignal,
): Promise<ExperimentDetail[]> {
  const found: ExperimentDetail[] = [];
  for (const experiment of new Set(experiments)) {
    found.push(await client.getExperiment(experiment, { project, signal }));
  }
  return found;
}

/** Distinct session types of a project's experiments (one request a page). */
async function projectTypes(client: XnatClient, project: string, signal: AbortSignal): Promise<string[]> {
  const types = new Set<string>();
  for await (const e of client.iterateExperiments({ project, signal })) types.add(e.xsiType);
  return [...types];
}

/** Pipelines per type, merged by wrapper: which types (and sessions) each applies to. */
async function pipelinesFor(
  client: XnatClient,
  project: string,
  byType: Map<string, string[] | undefined>,
  signal: AbortSignal,
): Promise<Array<{ pipeline: Pipeline; types: string[]; sessions: string[] | undefined }>> {
  const merged = new Map<number, { pipeline: Pipeline; types: string[]; sessions: string[] | undefined }>();
  for (const [type, sessions] of byType) {
    for (const pipeline of await client.listPipelines(project, type, { signal })) {
      const entry = merged.get(pipeline.wrapperId) ?? {
        pipeline,
        types: [],
        sessions: sessions ? [] : undefined,
      };
      entry.types.push(type);
      if (sessions && entry.sessions) entry.sessions.push(...sessions);
      merged.set(pipeline.wrapperId, entry);
    }
  }
  return [...merged.values()];
}

export const findPipelines = defineTool({
  name: 'findPipelines',
  title: 'Find pipelines that can run on XNAT sessions',
  description:
    "Pipelines (container service wrappers) that can run on the given sessions or on a project's sessions. For each: whether the project enabled it, what it writes, and its inputs explained (target, derived by XNAT, or parameters you may set with their defaults and choices). Launch with launchPipeline.",
  toolset: 'processing',
  inputSchema: {
    project: projectParam,
    experiments: experimentsParam.optional(),
  },
  outputSchema: PipelinesOutput,
  annotations: READ_ONLY,
  writes: false,
  async handler(args, { client, signal }) {
    const byType = new Map<string, string[] | undefined>();
    if (args.experiments) {
      for (const s of await sessionsOf(client, args.project, args.experiments, signal)) {
        byType.set(s.xsiType, [...(byType.get(s.xsiType) ?? []), s.label]);
      }
    } else {
      for (const type of await projectTypes(client, args.project, signal)) byType.set(type, undefined);
    }
    const [found, details] = await Promise.all([
      pipelinesFor(client, args.project, byType, signal),
      client.listPipelineDetails({ signal }),
    ]);
    const pipelines = found.map(({ pipeline, types, sessions }) =>
      shapePipeline(
        pipeline,
        details.find((d) => d.wrapperId === pipeline.wrapperId),
        types,
        sessions,
      ),
    );
    const enabled = pipelines.filter((p) => p.enabled).length;
    const about = args.experiments
      ? `${args.experiments.length} session(s)`
      : `the session types of ${args.project}`;
    return {
      project: args.project,
      pipelines,
      summary:
        pipelines.length === 0
          ? `No pipeline can run on ${about}.`
          : `${pipelines.length} pipeline(s) can run on ${about}; ${enabled} enabled in ${args.project}.`,
    };
  },
  render: renderPipelines,
  target: (args) => projectTarget(args.project),
});

interface LaunchPlan {
  project: string;
  pipeline: Pipeline;
  inputs: Record<string, string>;
  session: ExperimentDetail;
  /** The inputs XNAT resolves for this session (its launch UI). */
  resolved: Record<string, string>;
}

/**
 * Reads every target of one call shares (a cohort plans each session on its own): asked once per
 * call, keyed by the call's signal, forgotten with it.
 */
const callMemo = new WeakMap<AbortSignal, Map<string, Promise<unknown>>>();
function perCall<T>(signal: AbortSignal, key: string, read: () => Promise<T>): Promise<T> {
  let memo = callMemo.get(signal);
  if (!memo) callMemo.set(signal, (memo = new Map()));
  let found = memo.get(key) as Promise<T> | undefined;
  if (!found) memo.set(key, (found = read()));
  return found;
}

/** The pipeline named (ID or name) among those for the sessions' types, checked for enablement. */
async function checkedPipeline(
  client: XnatClient,
  project: string,
  wanted: number | string,
  sessions: ExperimentDetail[],
  signal: AbortSignal,
): Promise<Pipeline> {
  let chosen: Pipeline | undefined;
  for (const type of new Set(sessions.map((s) => s.xsiType))) {
    const available = await perCall(signal, `pipelines ${project} ${type}`, () =>
      client.listPipelines(project, type, { signal }),
    );
    const match = available.find((p) => p.wrapperId === Number(wanted) || p.wrapper === String(wanted));
    if (!match) {
      const names = available.map((p) => `${p.wrapper} (${p.wrapperId})`).join(', ') || 'none';
      throw new ToolInputError(
        `No pipeline "${wanted}" can run on ${type} sessions in ${project}; available: ${names}. Nothing was launched.`,
      );
    }
    if (!match.enabled) {
      throw new ToolInputError(
        `Pipeline ${match.wrapper} (${match.wrapperId}) is not enabled in project ${project}: a project owner enables it in the project's settings (Processing), then try again. Nothing was launched.`,
      );
    }
    chosen = match;
  }
  if (!chosen) throw new ToolInputError('No session to launch on');
  return chosen;
}

/** Inputs: only the pipeline's parameters, values among its choices, required ones present. */
function checkedInputs(detail: PipelineDetail | undefined, inputs: Record<string, string>): void {
  const parameters = detail?.inputs.filter((i) => i.role === 'parameter') ?? [];
  for (const [name, value] of Object.entries(inputs)) {
    const input = parameters.find((i) => i.name === name);
    if (!input) {
      const names = parameters.map((i) => i.name).join(', ') || 'none';
      throw new ToolInputError(
        `"${name}" is not an input you can set on this pipeline; its parameters: ${names}`,
      );
    }
    if (input.choices && !input.choices.includes(value)) {
      throw new ToolInputError(`Input ${name} must be one of ${input.choices.join(', ')} (got "${value}")`);
    }
    if (input.type === 'number' && !Number.isFinite(Number(value))) {
      throw new ToolInputError(`Input ${name} must be a number (got "${value}")`);
    }
  }
  for (const input of parameters) {
    if (input.required && input.default === undefined && inputs[input.name] === undefined) {
      throw new ToolInputError(`Input ${input.name} is required: ${input.description}`);
    }
  }
}

const targetValue = (session: ExperimentDetail): string => `/archive/experiments/${session.id}`;

const renderInputs = (inputs: Record<string, string>): string =>
  Object.entries(inputs)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

export const launchPipeline = defineWriteTool({
  name: 'launchPipeline',
  title: 'Launch an XNAT pipeline on sessions',
  description:
    "Launches a container service pipeline (from findPipelines) on a session, or on many (cohort: a list of sessions or a search, as searchArchive's criteria). Checks the pipeline, the project, that the project enabled it, the inputs, and resolves every session's inputs, before launching anything; dryRun: true shows the resolved inputs per session. Needs the user's confirmation, once for a whole cohort. Returns the workflow ID of each launch: watch them with getJobStatus, which links them to their containers.",
  toolset: 'processing',
  inputSchema: {
    project: projectParam,
    pipeline: pipelineParam,
    experiment: experimentParam,
    inputs: z
      .record(z.string().max(255), z.string().max(1024))
      .optional()
      .describe('Parameter values by input name (findPipelines lists them); defaults apply to the rest'),
  },
  outputSchema: LaunchOutput,
  annotations: writeAnnotations({ destructive: false, idempotent: false }),
  resolve: (args, { client, signal }) =>
    client.getExperiment(args.experiment, { project: args.project, signal }),
  projects: (_session, args) => [{ project: args.project, action: `launch pipeline ${args.pipeline}` }],
  async plan(session, args, { client, signal }): Promise<LaunchPlan> {
    const pipeline = await checkedPipeline(client, args.project, args.pipeline, [session], signal);
    const details = await perCall(signal, 'details', () => client.listPipelineDetails({ signal }));
    const inputs = args.inputs ?? {};
    checkedInputs(
      details.find((d) => d.wrapperId === pipeline.wrapperId),
      inputs,
    );
    // The target resolved before anything is launched: the launch endpoint would not say.
    const preview = await client.previewLaunch(
      args.project,
      pipeline.wrapperId,
      { ...inputs, [pipeline.rootInput]: targetValue(session) },
      { signal },
    );
    return { project: args.project, pipeline, inputs, session, resolved: preview.inputs };
  },
  guard: {
    preview: (plan) => ({
      project: plan.project,
      wrapperId: plan.pipeline.wrapperId,
      wrapper: plan.pipeline.wrapper,
      dryRun: true,
      targets: [{ experiment: plan.session.id, label: plan.session.label, inputs: plan.resolved }],
      summary: `Would launch ${plan.pipeline.wrapper} on ${plan.session.label} (${plan.project}).`,
    }),
    confirmation: (plan) => ({
      action: `launch ${plan.pipeline.wrapper} on`,
      target: `session ${plan.session.label} of ${plan.project}`,
      expected: plan.session.id,
    }),
  },
  async act(plan, _args, { client, signal }) {
    const result = await client.launchPipeline({
      project: plan.project,
      wrapperId: plan.pipeline.wrapperId,
      rootInput: plan.pipeline.rootInput,
      inputs: { ...plan.inputs, [plan.pipeline.rootInput]: targetValue(plan.session) },
      signal,
    });
    if (result.status !== 'success') {
      throw new ToolInputError(
        `XNAT did not launch ${plan.pipeline.wrapper} on ${plan.session.label}: ${result.message ?? 'no reason given'}`,
      );
    }
    return result;
  },
  audit: (plan, result) => ({
    object: `experiment ${plan.session.id}`,
    detail: `pipeline=${plan.pipeline.wrapper} workflow=${result.workflowId ?? 'To be assigned'}`,
  }),
  summarise: (plan, result) => ({
    project: plan.project,
    wrapperId: plan.pipeline.wrapperId,
    wrapper: plan.pipeline.wrapper,
    targets: [
      {
        experiment: plan.session.id,
        label: plan.session.label,
        ...(result.workflowId ? { workflowId: result.workflowId } : {}),
        status: 'Queued',
      },
    ],
    launched: 1,
    summary: `Launched ${plan.pipeline.wrapper} on ${plan.session.label} (${plan.project}): workflow ${result.workflowId ?? 'to be assigned'}. Watch with getJobStatus.`,
  }),
  cohort: {
    kind: () => 'experiment',
    names: ['experiment'],
    item: (id, args) => ({ ...args, experiment: id }),
    verb: (args) => `launch ${args.pipeline} on`,
    identify: (plan) => ({
      id: plan.session.id,
      label: plan.session.label,
      project: plan.project,
      summary: renderInputs(plan.resolved),
    }),
    detail: (_plan, result) => `workflow ${result.workflowId ?? 'to be assigned'}`,
  },
  render: renderLaunch,
  target: (args) => experimentTarget(args.experiment, args.project),
});

/** A job handle: a container when XNAT created one, else its workflow (queued or failed before start). */
interface Tracked {
  workflowId?: string | undefined;
  job?: Job | undefined;
  pending?: { status: string; details: string } | undefined;
}

async function track(
  client: XnatClient,
  args: { workflows?: string[] | undefined; containers?: string[] | undefined; project?: string | undefined },
  signal: AbortSignal,
): Promise<Tracked[]> {
  const tracked: Tracked[] = [];
  if (args.workflows && args.workflows.length > 0) {
    const jobs = await client.listJobs({ project: args.project, signal });
    for (const workflowId of args.workflows) {
      const job = jobs.find((j) => j.workflowId === workflowId);
      if (job) {
        tracked.push({ workflowId, job });
        continue;
      }
      const workflow = await client.getWorkflow(workflowId, { signal });
      tracked.push({ workflowId, pending: { status: workflow.status, details: workflow.details } });
    }
  }
  for (const id of args.containers ?? []) tracked.push({ job: await client.getJob(id, { signal }) });
  if (!args.workflows && !args.containers && args.project) {
    for (const job of await client.listJobs({ project: args.project, running: true, signal }))
      tracked.push({ job });
  }
  return tracked;
}

const isDone = (t: Tracked): boolean =>
  t.job ? t.job.finished : (t.pending?.status ?? '').startsWith('Failed');

/** Waits a bounded time (never past a cancellation), with a progress notification at each poll. */
async function watch(
  ctx: ToolContext,
  args: Parameters<typeof track>[1],
  seconds: number,
): Promise<{ tracked: Tracked[]; waited: 'no' | 'finished' | 'timeout' | 'cancelled' }> {
  const { client, signal, progress } = ctx;
  let tracked = await track(client, args, signal);
  if (seconds <= 0) return { tracked, waited: 'no' };
  // A project's running jobs are those running now: follow them, not whichever run later.
  const followed =
    args.workflows || args.containers
      ? args
      : { containers: tracked.flatMap((t) => (t.job ? [t.job.id] : [])) };
  const deadline = Date.now() + seconds * 1000;
  let polls = 0;
  while (!tracked.every(isDone)) {
    const done = tracked.filter(isDone).length;
    await progress({
      progress: ++polls,
      message: `${done}/${tracked.length} job(s) finished; ${tracked
        .filter((t) => !isDone(t))
        .map((t) => t.job?.status ?? t.pending?.status ?? '?')
        .join(', ')}`,
    });
    if (Date.now() >= deadline) return { tracked, waited: 'timeout' };
    const stopped = await sleep(Math.min(POLL_MS, deadline - Date.now()), signal);
    if (stopped) {
      const handles = tracked.map((t) => t.workflowId ?? t.job?.id).join(', ');
      const message = `Stopped waiting (cancelled); the jobs keep running in XNAT: poll again with getJobStatus (${handles}).`;
      ctx.log.info(message);
      await progress({ progress: polls + 1, message });
      return { tracked, waited: 'cancelled' };
    }
    tracked = await track(client, followed, signal);
  }
  return { tracked, waited: 'finished' };
}

/** Resolves true when the signal stopped the sleep. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `/archive/experiments/E[/scans/S]/resources/R` → where the output resource is. */
function outputPlace(uri: string): { experiment: string; scan?: string; resource: string } | undefined {
  const m = /\/experiments\/([^/]+)(?:\/scans\/([^/]+))?\/resources\/([^/]+)$/.exec(uri);
  if (!m) return undefined;
  return { experiment: m[1]!, ...(m[2] ? { scan: m[2] } : {}), resource: m[3]! };
}

async function describeJob(ctx: ToolContext, t: Tracked, logLines: number): Promise<JobOut> {
  const { client, signal } = ctx;
  if (!t.job) {
    return {
      ...(t.workflowId ? { workflowId: t.workflowId } : {}),
      status: t.pending?.status ?? 'Queued',
      finished: isDone(t),
      ...(t.pending?.details ? { details: t.pending.details } : {}),
    };
  }
  const job = t.job;
  const extra: Partial<JobOut> = {};
  if (job.finished && !job.succeeded) {
    extra.stderrTail = logTail(await client.jobLog(job.id, 'stderr', { signal }), logLines);
  }
  if (job.succeeded) {
    const outputs: NonNullable<JobOut['outputs']> = [];
    for (const output of job.outputs) {
      const place = outputPlace(output.uri);
      if (!place) continue;
      const files = await client.listFiles(
        {
          experiment: place.experiment,
          ...(place.scan ? { scan: place.scan } : {}),
          resource: output.label || place.resource,
        },
        { signal },
      );
      outputs.push({
        resource: output.label,
        ...(place.scan ? { scan: place.scan } : {}),
        experiment: place.experiment,
        files: shapeOutputFiles(files),
      });
    }
    extra.outputs = outputs;
  }
  return shapeJob(job, extra);
}

export const getJobStatus = defineTool({
  name: 'getJobStatus',
  title: 'Status of XNAT container jobs',
  description:
    "Status of pipeline jobs: by workflow IDs (launchPipeline's handles), by container IDs, or a project's running jobs. Failed jobs come with the tail of stderr, finished ones with the resources and files they wrote (download with downloadFiles). wait: seconds to wait for them to finish, with progress notifications; after that, call again. Cancelling a waiting call stops the waiting, never the jobs (killJob stops a job).",
  toolset: 'processing',
  inputSchema: {
    workflows: z
      .array(idParam('Workflow ID'))
      .max(MAX_TARGETS)
      .optional()
      .describe('Workflow IDs from launchPipeline'),
    containers: z.array(idParam('Container ID')).max(MAX_TARGETS).optional().describe('Container (job) IDs'),
    project: projectParam.optional().describe("Without IDs: this project's running jobs"),
    wait: z
      .number()
      .int()
      .min(0)
      .max(MAX_WAIT_SECONDS)
      .default(0)
      .describe('Seconds to wait for the jobs to finish (0: answer now)'),
    logLines: z.number().int().min(1).max(200).default(20).describe('Lines of stderr shown for a failed job'),
  },
  outputSchema: JobStatusOutput,
  annotations: READ_ONLY,
  writes: false,
  async handler(args, ctx) {
    if (!args.workflows && !args.containers && !args.project) {
      throw new ToolInputError('Name the jobs (workflows or containers) or a project for its running jobs');
    }
    const { tracked, waited } = await watch(ctx, args, args.wait);
    const jobs: JobOut[] = [];
    if (waited !== 'cancelled') for (const t of tracked) jobs.push(await describeJob(ctx, t, args.logLines));
    const done = tracked.filter(isDone).length;
    const failed = jobs.filter((j) => j.finished && j.succeeded === false).length;
    const note =
      waited === 'cancelled'
        ? 'Stopped waiting (cancelled); the jobs keep running in XNAT.'
        : waited === 'timeout'
          ? 'Still running: call again to keep waiting.'
          : '';
    return {
      jobs,
      waited,
      summary: sections(
        tracked.length === 0
          ? 'No job.'
          : `${done}/${tracked.length} job(s) finished${failed ? `, ${failed} failed` : ''}.`,
        note,
      ),
    };
  },
  render: renderJobs,
  target: (args) => ({
    what: `Job(s) ${[...(args.workflows ?? []), ...(args.containers ?? [])].join(', ') || `of ${args.project ?? ''}`}`,
    nextStep: 'use getJobStatus with project for its running jobs, or the handles launchPipeline returned',
  }),
});

export const killJob = defineWriteTool({
  name: 'killJob',
  title: 'Kill an XNAT container job',
  description:
    "Stops a running pipeline job (container ID from getJobStatus). Needs the user's confirmation; its outputs are not uploaded. A finished job cannot be killed.",
  toolset: 'processing',
  inputSchema: { container: idParam('Container ID').describe('Container (job) ID') },
  outputSchema: KillOutput,
  annotations: writeAnnotations({ destructive: true, idempotent: true }),
  async resolve(args, { client, signal }) {
    const job = await client.getJob(args.container, { signal });
    if (job.finished)
      throw new ToolInputError(`Job ${job.id} already finished (${job.status}); nothing to kill`);
    return job;
  },
  projects: (job) => [{ project: job.project, action: `kill job ${job.id}` }],
  guard: {
    preview: (job) => ({
      containerId: job.id,
      dryRun: true,
      status: job.status,
      summary: `Would kill job ${job.id} (${job.status}, on ${job.target}).`,
    }),
    confirmation: (job) => ({
      action: 'kill',
      target: `job ${job.id} (${job.status}, on ${job.target})`,
      expected: job.id,
    }),
  },
  async act(job, _args, { client, signal }) {
    const dockerId = await client.killJob(job.id, { signal });
    return { dockerId, after: await client.getJob(job.id, { signal }) };
  },
  audit: (job) => ({ object: `container ${job.id}`, detail: `project=${job.project} target=${job.target}` }),
  summarise: (job, { dockerId, after }) => ({
    containerId: job.id,
    dockerId,
    status: after.status,
    summary: `Killed job ${job.id}: now ${after.status}. Its outputs were not uploaded.`,
  }),
  render: (out) => sections(out.summary, renderFields([['docker id', out.dockerId]])),
});
