/**
 * XNAT's container service (the Container Service plugin's XAPI): which pipelines (command
 * wrappers) can run on an item in a project and with which inputs, a launch's resolved inputs, one
 * launch, the containers launched (jobs) with their history, logs and outputs, workflows, and kill.
 * The launch endpoint checks almost nothing (an unknown wrapper still answers "success"), so callers
 * check wrapper, project and enablement with these reads first.
 */
import * as z from 'zod';
import { XnatProtocolError, XnatServerError } from '../errors.js';
import { xnatPath, type QueryValue, type RequestContext } from '../http.js';
import { getBody, readItem } from '../reads.js';
import { parseJson, validate } from '../rows.js';
import {
  CommandSchema,
  CommandSummarySchema,
  ContainerSchema,
  LaunchReportSchema,
  LaunchUiSchema,
  ProjectEnabledSchema,
  type Job,
  type LaunchPreview,
  type LaunchResult,
  type Pipeline,
  type PipelineDetail,
  type RawCommand,
  type RawContainer,
  type Workflow,
} from './models.js';

export type * from './models.js';

/** The statuses after which a container does nothing more (ContainerUtils.TerminalState). */
const TERMINAL = ['Complete', 'Failed', 'Killed'];
/** XNAT's workflow ID of a launch it could not tie to an item yet. */
const TO_BE_ASSIGNED = 'To be assigned';

async function getJson<T>(
  ctx: RequestContext,
  path: string,
  schema: z.ZodType<T>,
  signal: AbortSignal | undefined,
  query?: Record<string, QueryValue>,
): Promise<T> {
  const body = await getBody(ctx, { path, expect: 'json', signal, ...(query ? { query } : {}) });
  const edge = { method: 'GET', path };
  return validate(schema, parseJson(body, edge), edge, 'a container service answer');
}

/** Wrappers whose context covers `xsiType`, each with whether the project enabled it. */
export async function listPipelines(
  ctx: RequestContext,
  project: string,
  xsiType: string,
  signal?: AbortSignal,
): Promise<Pipeline[]> {
  const path = xnatPath('xapi', 'projects', project, 'commands', 'available');
  const rows = await getJson(ctx, path, z.array(CommandSummarySchema), signal, { xsiType });
  return rows.map((r) => ({
    commandId: r['command-id'],
    command: r['command-name'],
    wrapperId: r['wrapper-id'],
    wrapper: r['wrapper-name'],
    label: r['wrapper-label'] ?? r['wrapper-name'],
    description: r['wrapper-description'] ?? r['command-description'] ?? '',
    image: r['image-name'],
    contexts: r['wrapper-contexts'],
    enabled: r.enabled,
    rootInput: r['root-element-name'],
  }));
}

function detailOf(command: RawCommand, wrapper: RawCommand['xnat'][number]): PipelineDetail {
  const derived = new Set(
    wrapper['derived-inputs'].map((d) => d['provides-value-for-command-input']).filter((n) => !!n),
  );
  return {
    commandId: command.id,
    command: command.name,
    wrapperId: wrapper.id,
    wrapper: wrapper.name,
    description: wrapper.description ?? command.description ?? '',
    image: command.image,
    contexts: wrapper.contexts,
    inputs: [
      ...wrapper['external-inputs'].map((i) => ({
        name: i.name,
        description: i.description ?? '',
        role: 'target' as const,
        type: i.type,
        required: i.required,
      })),
      ...wrapper['derived-inputs'].map((i) => ({
        name: i.name,
        description: i.description ?? '',
        role: 'derived' as const,
        type: i.type,
        required: i.required,
      })),
      ...command.inputs
        .filter((i) => !derived.has(i.name))
        .map((i) => ({
          name: i.name,
          description: i.description ?? '',
          role: 'parameter' as const,
          type: i.type,
          required: i.required,
          default: i['default-value'] ?? undefined,
          choices: i['select-values'] && i['select-values'].length > 0 ? i['select-values'] : undefined,
        })),
    ],
    outputs: wrapper['output-handlers'].map((h) => `${h.label ?? h.name} (${h.type})`),
  };
}

/** Every installed wrapper with its inputs explained (one request: `/xapi/commands`). */
export async function listPipelineDetails(
  ctx: RequestContext,
  signal?: AbortSignal,
): Promise<PipelineDetail[]> {
  const commands = await getJson(ctx, '/xapi/commands', z.array(CommandSchema), signal);
  return commands.flatMap((c) => c.xnat.map((w) => detailOf(c, w)));
}

/** Whether the wrapper is enabled site-wide and for the project. */
export async function pipelineEnabled(
  ctx: RequestContext,
  project: string,
  wrapperId: number,
  signal?: AbortSignal,
): Promise<{ site: boolean; project: boolean }> {
  const path = xnatPath('xapi', 'projects', project, 'wrappers', String(wrapperId), 'enabled');
  const report = await getJson(ctx, path, ProjectEnabledSchema, signal);
  return { site: report['enabled-for-site'] ?? false, project: report['enabled-for-project'] ?? false };
}

/** The launch UI's resolved values for these inputs (a read: nothing is launched). */
export async function previewLaunch(
  ctx: RequestContext,
  project: string,
  wrapperId: number,
  inputs: Record<string, string>,
  signal?: AbortSignal,
): Promise<LaunchPreview> {
  const path = xnatPath('xapi', 'projects', project, 'wrappers', String(wrapperId), 'launch');
  const ui = await getJson(ctx, path, LaunchUiSchema, signal, inputs);
  const resolved: Record<string, string> = {};
  for (const tree of ui['input-values']) resolved[tree.name] = tree.values[0]?.value ?? '';
  return { wrapperId, inputs: resolved };
}

/**
 * One launch. XNAT answers a failure report with status 500 and a workflow ID only when it could
 * tie the launch to an item; an unknown project answers a bare 500.
 */
export async function launch(
  ctx: RequestContext,
  q: {
    project: string;
    wrapperId: number;
    rootInput: string;
    inputs: Record<string, string>;
    signal?: AbortSignal | undefined;
  },
): Promise<LaunchResult> {
  const path = xnatPath(
    'xapi',
    'projects',
    q.project,
    'wrappers',
    String(q.wrapperId),
    'root',
    q.rootInput,
    'launch',
  );
  const res = await ctx.request({
    method: 'POST',
    path,
    body: JSON.stringify(q.inputs),
    headers: { 'Content-Type': 'application/json' },
    expect: 'json',
    acceptStatuses: [500],
    signal: q.signal,
  });
  const edge = { method: 'POST', path };
  const parsed = LaunchReportSchema.safeParse(safeJson(res.body));
  if (!parsed.success) {
    if (res.status === 500) {
      throw new XnatServerError(`XNAT could not launch: ${res.body.trim() || 'no message'}`, {
        method: 'POST',
        path,
        status: 500,
        xnatMessage: res.body.trim(),
      });
    }
    throw new XnatProtocolError('XNAT sent a launch report in an unexpected shape', edge);
  }
  const report = parsed.data;
  const workflowId = report['workflow-id'];
  return {
    status: report.status === 'success' && res.status !== 500 ? 'success' : 'failure',
    workflowId: workflowId && workflowId !== TO_BE_ASSIGNED ? workflowId : undefined,
    message: report.message ?? undefined,
    params: report.params ?? {},
  };
}

function safeJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function iso(value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const date =
    typeof value === 'number' ? new Date(value) : new Date(/^\d+$/.test(value) ? Number(value) : value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}

function toJob(c: RawContainer): Job {
  const status = c.status ?? '';
  const finished = TERMINAL.some((t) => status.startsWith(t));
  const last = [...c.history].reverse().find((h) => h.exitCode);
  const target = c.inputs.find((i) => i.type === 'wrapper_external')?.value ?? '';
  return {
    id: String(c.id),
    containerId: c['container-id'] ?? '',
    workflowId: c['workflow-id'] ?? '',
    status,
    finished,
    succeeded: status === 'Complete',
    statusTime: iso(c['status-time']),
    commandId: c['command-id'],
    wrapperId: c['wrapper-id'],
    project: c.project ?? '',
    user: c['user-id'] ?? '',
    image: c['docker-image'] ?? '',
    target,
    exitCode: last?.exitCode ?? undefined,
    history: c.history.map((h) => ({
      status: h.status,
      at: iso(h['time-recorded']),
      by: [h['entity-type'], h['entity-id']].filter((v) => !!v).join(' '),
      message: h.message ?? undefined,
      exitCode: h.exitCode ?? undefined,
    })),
    outputs: c.outputs
      .filter((o) => !!o.created)
      .map((o) => ({ name: o.name, label: o.label ?? '', format: o.format ?? '', uri: o.created ?? '' })),
  };
}

/** Containers of the site or of a project; `running` keeps those not finalized. */
export async function listJobs(
  ctx: RequestContext,
  q: { project?: string | undefined; running?: boolean | undefined; signal?: AbortSignal | undefined },
): Promise<Job[]> {
  const path = q.project ? xnatPath('xapi', 'projects', q.project, 'containers') : '/xapi/containers';
  const rows = await getJson(
    ctx,
    path,
    z.array(ContainerSchema),
    q.signal,
    q.running ? { nonfinalized: true } : undefined,
  );
  return rows.map(toJob);
}

/** A container by its database ID or Docker ID. */
export async function getJob(ctx: RequestContext, id: string, signal?: AbortSignal): Promise<Job> {
  return toJob(await getJson(ctx, xnatPath('xapi', 'containers', id), ContainerSchema, signal));
}

/** The whole stdout or stderr log of a container (empty while it has written none). */
export async function jobLog(
  ctx: RequestContext,
  id: string,
  stream: 'stdout' | 'stderr',
  signal?: AbortSignal,
): Promise<string> {
  return getBody(ctx, { path: xnatPath('xapi', 'containers', id, 'logs', stream), expect: 'text', signal });
}

/** Kills a running container; XNAT answers the Docker container ID. */
export async function killJob(ctx: RequestContext, id: string, signal?: AbortSignal): Promise<string> {
  const res = await ctx.request({ method: 'POST', path: xnatPath('xapi', 'containers', id, 'kill'), signal });
  return res.body.trim();
}

/** `wrk:workflowData` of a launch. */
export async function getWorkflow(ctx: RequestContext, id: string, signal?: AbortSignal): Promise<Workflow> {
  const node = await readItem(ctx, xnatPath('data', 'workflows', id), signal);
  const f = (key: string): string => node.dataFields[key] ?? '';
  return {
    id: f('wrk_workflowData_id') || id,
    item: f('ID'),
    project: f('ExternalID'),
    pipeline: f('pipeline_name'),
    status: f('status'),
    percentComplete: f('percentageComplete'),
    details: f('details'),
    launchTime: f('launch_time'),
  };
}
