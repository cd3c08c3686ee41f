/**
 * The container service's XAPI (container-service CommandRestApi, CommandConfigurationRestApi,
 * LaunchRestApi, ContainerRestApi) and the workflow that tracks each launch (`/data/workflows/{id}`).
 * Like XNAT, launching validates almost nothing: an unknown wrapper still answers 200 "success"
 * with workflow-id "To be assigned"; a wrapper not enabled fails later, in the workflow.
 */
import { canEditProject, canReadItem, canReadProject } from '../access.js';
import { SandboxHttpError } from '../errors.js';
import { findExperimentIn, findProject, visibleProject } from '../lookup.js';
import type { StoredExperiment, StoredProject } from '../model.js';
import { emptyReply, jsonReply, textReply, type AuthedContext, type Reply } from '../reply.js';
import { experimentKind, isSubtype } from '../types.js';
import type { Command, Wrapper } from './commands.js';
import {
  isFinalized,
  resolveInputs,
  rootName,
  type ContainerService,
  type StoredContainer,
  type Workflow,
} from './service.js';

const TO_BE_ASSIGNED = 'To be assigned';

function service(ctx: AuthedContext): ContainerService {
  return ctx.state.containers;
}

/** `/xapi/commands` leaves out the sandbox's runner. */
function commandJson({ runner: _runner, ...command }: Command): Omit<Command, 'runner'> {
  return command;
}

export function listCommands(ctx: AuthedContext): Reply {
  return jsonReply(service(ctx).commands.map(commandJson));
}

export function getCommand(ctx: AuthedContext): Reply {
  const command = service(ctx).commands.find((c) => String(c.id) === ctx.params.commandId);
  if (!command) throw new SandboxHttpError(404, `No command with id ${ctx.params.commandId}`);
  return jsonReply(commandJson(command));
}

/** CommandSummaryForContext of each wrapper whose context the type is (a subtype of). */
function available(ctx: AuthedContext, projectId: string | null): Reply {
  const xsiType = ctx.query.get('xsiType');
  if (projectId === null || !xsiType) {
    throw new SandboxHttpError(400, 'Required request parameter is not present');
  }
  const project = readable(ctx, projectId);
  const svc = service(ctx);
  const summaries = svc.commands.flatMap((command) =>
    command.xnat
      .filter((w) => w.contexts.some((c) => isSubtype(xsiType, c) || c === xsiType))
      .map((w) => ({
        'command-id': command.id,
        'command-name': command.name,
        'command-label': command.label,
        'command-description': command.description,
        'wrapper-id': w.id,
        'wrapper-name': w.name,
        'wrapper-label': w.label,
        'wrapper-description': w.description,
        'wrapper-contexts': w.contexts,
        'image-name': command.image,
        'image-type': command.type,
        enabled: svc.enabledForProject(project.id, w.id),
        'root-element-name': rootName(w),
      })),
  );
  return jsonReply(summaries);
}

export function availableCommands(ctx: AuthedContext): Reply {
  return available(ctx, ctx.query.get('project'));
}

export function projectAvailableCommands(ctx: AuthedContext): Reply {
  return available(ctx, ctx.params.project ?? null);
}

function readable(ctx: AuthedContext, id: string): StoredProject {
  const project = visibleProject(ctx, id);
  if (!canReadProject(project, ctx.user)) throw new SandboxHttpError(403, 'Forbidden');
  return project;
}

function wrapperOf(ctx: AuthedContext): { command: Command; wrapper: Wrapper } {
  const svc = service(ctx);
  const { wrapperId, commandId, wrapperName } = ctx.params;
  const found =
    wrapperId !== undefined
      ? svc.wrapper(Number(wrapperId))
      : svc.wrapperByName(Number(commandId), wrapperName ?? '');
  if (!found) {
    throw new SandboxHttpError(
      404,
      `No command wrapper with ${wrapperId !== undefined ? `id ${wrapperId}` : `name ${wrapperName}`}`,
    );
  }
  return found;
}

export function siteEnabled(ctx: AuthedContext): Reply {
  const { wrapper } = wrapperOf(ctx);
  return jsonReply(service(ctx).siteEnabled.has(wrapper.id));
}

export function setSiteEnabled(ctx: AuthedContext): Reply {
  if (!ctx.user.admin) throw new SandboxHttpError(403, 'Forbidden');
  const { wrapper } = wrapperOf(ctx);
  const on = ctx.segments[ctx.segments.length - 1] === 'enabled';
  if (on) service(ctx).siteEnabled.add(wrapper.id);
  else service(ctx).siteEnabled.delete(wrapper.id);
  return emptyReply();
}

export function projectEnabled(ctx: AuthedContext): Reply {
  const project = editable(ctx);
  const { wrapper } = wrapperOf(ctx);
  const svc = service(ctx);
  return jsonReply({
    'enabled-for-site': svc.siteEnabled.has(wrapper.id),
    'enabled-for-project': svc.enabledForProject(project.id, wrapper.id),
    project: project.id,
  });
}

export function setProjectEnabled(ctx: AuthedContext): Reply {
  const project = editable(ctx);
  const { wrapper } = wrapperOf(ctx);
  service(ctx).setProjectEnabled(project.id, wrapper.id, ctx.segments[ctx.segments.length - 1] === 'enabled');
  return emptyReply();
}

function editable(ctx: AuthedContext): StoredProject {
  const project = visibleProject(ctx, ctx.params.project ?? '');
  if (!canEditProject(project, ctx.user)) throw new SandboxHttpError(403, 'Forbidden');
  return project;
}

/** `/archive/experiments/{id}`, `/archive/projects/{p}/experiments/{label}` or a bare ID or label. */
function findSession(
  ctx: AuthedContext,
  project: StoredProject,
  value: string,
): StoredExperiment | undefined {
  const parts = value.split('/').filter((p) => p !== '' && p !== 'archive' && p !== 'data');
  const key = parts[parts.length - 1] ?? '';
  const session =
    findExperimentIn(ctx.state.archive, project.id, key) ?? ctx.state.archive.experiments.get(key);
  // A Session input resolves only to an image session.
  const usable =
    session && experimentKind(session) === 'session' && canReadItem(ctx.state.archive, session, ctx.user);
  return usable ? session : undefined;
}

/** LaunchUi: meta, the (empty) server constraints, input trees and the values resolved for them. */
export function launchUi(ctx: AuthedContext): Reply {
  const project = readable(ctx, ctx.params.project ?? '');
  const { command, wrapper } = wrapperOf(ctx);
  const root = rootName(wrapper);
  const rootValue = ctx.query.get(root);
  const session = rootValue === null ? undefined : findSession(ctx, project, rootValue);
  if (rootValue !== null && !session) {
    throw new SandboxHttpError(
      500,
      `The command could not be resolved.\nCould not instantiate ${root} from "${rootValue}".`,
    );
  }
  const params = Object.fromEntries(ctx.query.entries());
  const values = session ? resolveInputs(command, wrapper, session, params) : {};
  const userSettable = command.inputs.filter(
    (i) => !wrapper['derived-inputs'].some((d) => d['provides-value-for-command-input'] === i.name),
  );
  const tree = (
    name: string,
    label: string,
    description: string,
    required: boolean,
    selectValues: string[] = [],
    userSet = true,
  ) => ({
    name,
    label,
    description,
    advanced: false,
    required,
    'user-settable': userSet,
    multiple: false,
    'input-type': selectValues.length > 0 ? 'select-one' : 'text',
    'derived-value-info': null,
    'derived-value-message': null,
    'select-values': selectValues,
    children: [],
  });
  return jsonReply({
    meta: {
      'command-id': command.id,
      'command-name': command.name,
      'command-label': command.label,
      'command-description': command.description,
      'wrapper-id': wrapper.id,
      'wrapper-name': wrapper.name,
      'wrapper-label': wrapper.label,
      'wrapper-description': wrapper.description,
      'image-name': command.image,
      'image-type': command.type,
    },
    'container-server-config': { 'swarm-constraints': null },
    'input-config': [
      ...wrapper['external-inputs'].map((i) => tree(i.name, i.label ?? i.name, i.description, i.required)),
      ...wrapper['derived-inputs'].map((i) =>
        tree(i.name, i.label ?? i.name, i.description, i.required, [], false),
      ),
      ...userSettable.map((i) => tree(i.name, i.name, i.description, i.required, i['select-values'])),
    ],
    'input-values': [
      ...wrapper['external-inputs'].map((i) =>
        valueTree(i.name, session ? `/archive/experiments/${session.id}` : '', session?.label ?? ''),
      ),
      ...wrapper['derived-inputs'].map((i) => {
        const v = values[i['provides-value-for-command-input'] ?? ''] ?? '';
        return valueTree(i.name, v, v);
      }),
      ...userSettable.map((i) => valueTree(i.name, values[i.name] ?? '', values[i.name] ?? '')),
    ],
  });
}

function valueTree(name: string, value: string, label: string) {
  return { name, values: [{ value, label, children: [] }] };
}

/** The launch body: a JSON object of strings (Map<String, String>), or the query parameters. */
async function launchParams(ctx: AuthedContext): Promise<Record<string, string>> {
  const params: Record<string, string> = Object.fromEntries(ctx.query.entries());
  const body = (await ctx.body()).toString('utf8').trim();
  if (body === '') return params;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new SandboxHttpError(400, 'JSON parse error: could not read the request body');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SandboxHttpError(400, 'JSON parse error: expected an object of input values');
  }
  for (const [k, v] of Object.entries(parsed)) params[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return params;
}

function launchOne(
  ctx: AuthedContext,
  project: StoredProject,
  root: string,
  params: Record<string, string>,
  jobId?: string,
): Record<string, unknown> {
  const svc = service(ctx);
  const found = svc.wrapper(Number(ctx.params.wrapperId));
  const report = (workflowId: string) => ({
    status: 'success',
    params,
    id: null,
    'command-id': 0,
    'wrapper-id': Number(ctx.params.wrapperId),
    'workflow-id': workflowId,
  });
  // XNAT queues an unknown wrapper's launch too; its resolution fails where nobody sees it.
  if (!found) return report(TO_BE_ASSIGNED);
  const value = params[root];
  const session = value === undefined ? undefined : findSession(ctx, project, value);
  const workflow = session
    ? svc.openWorkflow(session, project.id, found.wrapper.name, ctx.user.login, jobId)
    : undefined;
  svc.queue(project.id, found, session, params, ctx.user.login, workflow);
  return report(workflow ? String(workflow.id) : TO_BE_ASSIGNED);
}

/** The project of a launch URL; an unknown one makes XNAT answer 500 with "null". */
function launchProject(ctx: AuthedContext): StoredProject {
  const project = findProject(ctx.state.archive, ctx.params.project ?? '');
  if (!project) throw new SandboxHttpError(500, 'null');
  if (!canReadProject(project, ctx.user)) throw new SandboxHttpError(403, 'Forbidden');
  return project;
}

export async function launch(ctx: AuthedContext): Promise<Reply> {
  const project = launchProject(ctx);
  const params = await launchParams(ctx);
  return jsonReply(launchOne(ctx, project, ctx.params.rootElement ?? '', params));
}

/** The root input's value is a JSON list of targets; one launch is queued for each. */
export async function bulkLaunch(ctx: AuthedContext): Promise<Reply> {
  const project = launchProject(ctx);
  const params = await launchParams(ctx);
  const root = ctx.params.rootElement ?? '';
  let targets: unknown;
  try {
    targets = JSON.parse(params[root] ?? '');
  } catch {
    throw new SandboxHttpError(500, `Could not read the list of targets in "${root}"`);
  }
  if (!Array.isArray(targets)) throw new SandboxHttpError(500, `"${root}" must be a JSON list of targets`);
  const bulkId = `bulk-${ctx.user.login}${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const found = service(ctx).wrapper(Number(ctx.params.wrapperId));
  const successes = targets.map((target) => {
    const one = { ...params, [root]: String(target) };
    launchOne(ctx, project, root, one, bulkId);
    // Bulk launches report every target before resolving any of them.
    return {
      status: 'success',
      params: one,
      id: null,
      'command-id': 0,
      'wrapper-id': Number(ctx.params.wrapperId),
      'workflow-id': TO_BE_ASSIGNED,
    };
  });
  return jsonReply({
    'bulk-launch-id': bulkId,
    'pipeline-name': found?.wrapper.name ?? '',
    successes,
    failures: [],
  });
}

function containerJson(c: StoredContainer): Record<string, unknown> {
  return {
    id: c.databaseId,
    'command-id': c.command.id,
    status: c.status,
    'status-time': c.statusTime,
    'wrapper-id': c.wrapper.id,
    'container-id': c.containerId,
    'workflow-id': c.workflowId,
    'user-id': c.userId,
    project: c.project,
    backend: 'docker',
    'service-id': null,
    'task-id': null,
    'node-id': null,
    'docker-image': c.command.image,
    'container-name': null,
    'command-line': c.commandLine,
    'override-entrypoint': false,
    'working-directory': c.command['working-directory'] ?? null,
    subtype: null,
    'parent-source-object-name': null,
    env: { XNAT_HOST: 'http://xnat-web:8080', XNAT_USER: '[REDACTED]', XNAT_PASS: '******' },
    ports: {},
    mounts: c.command.mounts.map((m, i) => ({
      id: i + 1,
      name: m.name,
      writable: m.writable,
      'xnat-host-path': `/data/xnat/build/${c.containerId.slice(0, 12)}/${m.name}`,
      'container-host-path': `/data/xnat/build/${c.containerId.slice(0, 12)}/${m.name}`,
      'container-path': m.path,
      'mount-pvc-name': null,
      'input-files': [],
    })),
    inputs: c.inputs,
    outputs: c.outputs,
    history: c.history,
    'log-paths': isFinalized(c.status)
      ? [
          `/data/xnat/archive/CONTAINER_EXEC/${c.containerId.slice(0, 12)}/LOGS/stdout.log`,
          `/data/xnat/archive/CONTAINER_EXEC/${c.containerId.slice(0, 12)}/LOGS/stderr.log`,
        ]
      : [],
    'container-labels': {},
    secrets: [],
    swarm: false,
  };
}

function visibleContainers(ctx: AuthedContext): StoredContainer[] {
  const { archive } = ctx.state;
  return service(ctx).containers.filter((c) => {
    const project = archive.projects.get(c.project);
    return (
      ctx.user.admin ||
      c.userId === ctx.user.login ||
      (project !== undefined && canReadProject(project, ctx.user))
    );
  });
}

function nonfinalizedOnly(ctx: AuthedContext, containers: StoredContainer[]): StoredContainer[] {
  return ctx.query.get('nonfinalized') === 'true'
    ? containers.filter((c) => !isFinalized(c.status))
    : containers;
}

export function listContainers(ctx: AuthedContext): Reply {
  return jsonReply(nonfinalizedOnly(ctx, visibleContainers(ctx)).map(containerJson));
}

export function listProjectContainers(ctx: AuthedContext): Reply {
  const project = readable(ctx, ctx.params.project ?? '');
  const inProject = visibleContainers(ctx).filter((c) => c.project === project.id);
  return jsonReply(nonfinalizedOnly(ctx, inProject).map(containerJson));
}

/** By database ID or Docker container ID, as ContainerService.get accepts either. */
function containerOf(ctx: AuthedContext): StoredContainer {
  const id = ctx.params.id ?? '';
  const found = visibleContainers(ctx).find((c) => String(c.databaseId) === id || c.containerId === id);
  if (!found) throw new SandboxHttpError(404, `Could not find container ${id}.`);
  return found;
}

export function getContainer(ctx: AuthedContext): Reply {
  return jsonReply(containerJson(containerOf(ctx)));
}

function logLines(c: StoredContainer, file: string) {
  return file.includes('stdout') ? c.logs.stdout : c.logs.stderr;
}

export function getLog(ctx: AuthedContext): Reply {
  const c = containerOf(ctx);
  const text = logLines(c, ctx.params.file ?? '')
    .map((l) => `${l.text}\n`)
    .join('');
  const reply = textReply(200, text);
  reply.headers['Content-Disposition'] = `attachment; filename="${c.databaseId}-${ctx.params.file}.log"`;
  return reply;
}

/** ContainerLogPollResponse: lines after `since` (epoch seconds); timestamp -1 once the container finished. */
export function pollLog(ctx: AuthedContext): Reply {
  const c = containerOf(ctx);
  const since = ctx.query.get('since');
  const after = since === null || since === '' ? -Infinity : Number(since) * 1000;
  if (Number.isNaN(after)) throw new SandboxHttpError(400, `Invalid since: ${since}`);
  const lines = logLines(c, ctx.params.file ?? '').filter((l) => l.at > after);
  const done = isFinalized(c.status);
  return jsonReply({
    content: lines.map((l) => `${l.text}\n`).join(''),
    fromFile: done,
    timestamp: done ? '-1' : String(Math.floor(Date.now() / 1000)),
    bytesRead: -1,
  });
}

export function killContainer(ctx: AuthedContext): Reply {
  const c = containerOf(ctx);
  if (ctx.params.project !== undefined && c.project !== ctx.params.project) {
    throw new SandboxHttpError(404, `Could not find container ${ctx.params.id}.`);
  }
  const project = ctx.state.archive.projects.get(c.project);
  const may =
    ctx.user.admin ||
    c.userId === ctx.user.login ||
    (project !== undefined && canEditProject(project, ctx.user));
  if (!may) throw new SandboxHttpError(403, 'Forbidden');
  if (!service(ctx).kill(c, ctx.user.login)) {
    throw new SandboxHttpError(500, `Container ${c.containerId} is not running`);
  }
  return textReply(200, c.containerId);
}

/** `/data/workflows/{id}`: the `wrk:workflowData` item (JSON with format=json, XML otherwise). */
export function getWorkflow(ctx: AuthedContext): Reply {
  const workflow = service(ctx).workflows.get(Number(ctx.params.workflowId));
  const project = workflow ? ctx.state.archive.projects.get(workflow.externalId) : undefined;
  if (!workflow || !project || !canReadProject(project, ctx.user)) {
    throw new SandboxHttpError(404, `Unable to find workflow ${ctx.params.workflowId}`);
  }
  const fields = workflowFields(workflow);
  if (ctx.query.get('format') === 'json') {
    return jsonReply({
      items: [
        {
          meta: { create_event_id: workflow.id, 'xsi:type': 'wrk:workflowData', isHistory: false },
          children: [],
          data_fields: fields,
        },
      ],
    });
  }
  const attrs = Object.entries(fields)
    .filter(
      ([k]) =>
        !['status', 'percentageComplete', 'step_description', 'details', 'comments', 'jobID'].includes(k),
    )
    .map(([k, v]) => ` ${k}="${xml(String(v))}"`)
    .join('');
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<wrk:Workflow${attrs} status="${xml(workflow.status)}" percentageComplete="${workflow.percentageComplete}" xmlns:wrk="http://nrg.wustl.edu/workflow" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n<wrk:details>${xml(workflow.details)}</wrk:details>\n</wrk:Workflow>\n`;
  return textReply(200, body, 'text/xml;charset=UTF-8');
}

function workflowFields(w: Workflow): Record<string, string | number> {
  return {
    wrk_workflowData_id: w.id,
    ID: w.itemId,
    data_type: w.dataType,
    ExternalID: w.externalId,
    pipeline_name: w.pipelineName,
    launch_time: new Date(w.launchTime).toISOString().replace('T', ' ').slice(0, 19),
    status: w.status,
    percentageComplete: w.percentageComplete,
    step_description: w.stepDescription,
    details: w.details,
    comments: w.comments,
    create_user: w.createUser,
    ...(w.jobId ? { jobID: w.jobId } : {}),
    category: 'DATA',
    type: 'PROCESS',
  };
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}
