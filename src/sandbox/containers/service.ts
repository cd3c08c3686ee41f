/**
 * The container service's state: installed commands, which wrappers are enabled (site-wide and per
 * project), launched containers with their history and logs, and the XNAT workflows that track them.
 * A launch queues resolution (as ContainerServiceImpl's executor does); the container then goes
 * Created → Running → Complete or Failed on timers (a few seconds by default, fast in tests); a kill
 * stops it. Outputs are uploaded as resources when the container finishes successfully.
 */
import { randomBytes } from 'node:crypto';
import { storedFile } from '../dicom.js';
import type { SandboxArchive, StoredExperiment, StoredResource } from '../model.js';
import { DEMO_ENABLEMENT, installedCommands, type Command, type Wrapper } from './commands.js';
import { RUNNERS, type RunnerOutput } from './runners.js';

/** How long a launch stays in each state, in milliseconds. */
export interface ContainerTimings {
  /** From launch to the container's creation (command resolution). */
  queuedMs: number;
  /** From Created to Running. */
  createdMs: number;
  /** From Running to Complete or Failed. */
  runningMs: number;
}

export const DEFAULT_TIMINGS: ContainerTimings = { queuedMs: 300, createdMs: 1000, runningMs: 4000 };

export interface HistoryItem {
  id: number;
  status: string;
  'entity-type': 'user' | 'system' | 'event';
  'entity-id': string | null;
  'time-recorded': number;
  'external-timestamp': string | null;
  message: string | null;
  exitCode: string | null;
}

export interface LogLine {
  at: number;
  text: string;
}

export interface ContainerOutputRecord {
  id: number;
  name: string;
  'from-command-output': string;
  'from-output-handler': string;
  type: string;
  required: boolean;
  mount: string;
  path: string | null;
  glob: string | null;
  label: string;
  format: string;
  description: string;
  content: string | null;
  tags: string[];
  /** URI of the resource the handler created, once uploaded. */
  created: string | null;
  'handled-by': string;
  'via-wrapup-container': string | null;
}

export interface StoredContainer {
  databaseId: number;
  command: Command;
  wrapper: Wrapper;
  status: string;
  statusTime: number;
  /** The Docker container ID (64 hex digits). */
  containerId: string;
  workflowId: string;
  userId: string;
  project: string;
  session: StoredExperiment;
  commandLine: string;
  inputs: Array<{
    id: number;
    type: 'raw' | 'wrapper_external' | 'wrapper_derived' | 'command';
    name: string;
    value: string;
    sensitive: boolean;
  }>;
  outputs: ContainerOutputRecord[];
  history: HistoryItem[];
  logs: { stdout: LogLine[]; stderr: LogLine[] };
  timer?: NodeJS.Timeout;
}

/** `wrk:workflowData`, as XNAT keeps it for each launch. */
export interface Workflow {
  id: number;
  dataType: string;
  itemId: string;
  externalId: string;
  pipelineName: string;
  launchTime: number;
  status: string;
  percentageComplete: string;
  stepDescription: string;
  details: string;
  comments: string;
  createUser: string;
  jobId: string | null;
  scanId: string | null;
}

const TERMINAL = ['Complete', 'Failed', 'Killed'];

export function isFinalized(status: string): boolean {
  return TERMINAL.some((t) => status.startsWith(t));
}

export class ContainerService {
  readonly commands: Command[] = installedCommands();
  readonly siteEnabled = new Set<number>(DEMO_ENABLEMENT.site);
  readonly projectEnabled = new Map<string, Set<number>>();
  readonly containers: StoredContainer[] = [];
  readonly workflows = new Map<number, Workflow>();
  private nextContainer = 1;
  private nextHistory = 1;
  private nextWorkflow = 1;
  private nextIo = 1;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly archive: SandboxArchive,
    readonly timings: ContainerTimings = DEFAULT_TIMINGS,
  ) {
    for (const [project, wrappers] of Object.entries(DEMO_ENABLEMENT.projects)) {
      if (archive.projects.has(project)) this.projectEnabled.set(project, new Set(wrappers));
    }
  }

  wrapper(id: number): { command: Command; wrapper: Wrapper } | undefined {
    for (const command of this.commands) {
      const wrapper = command.xnat.find((w) => w.id === id);
      if (wrapper) return { command, wrapper };
    }
    return undefined;
  }

  wrapperByName(commandId: number, name: string): { command: Command; wrapper: Wrapper } | undefined {
    const command = this.commands.find((c) => c.id === commandId);
    const wrapper = command?.xnat.find((w) => w.name === name);
    return command && wrapper ? { command, wrapper } : undefined;
  }

  enabledForProject(project: string, wrapperId: number): boolean {
    return this.siteEnabled.has(wrapperId) && (this.projectEnabled.get(project)?.has(wrapperId) ?? false);
  }

  setProjectEnabled(project: string, wrapperId: number, enabled: boolean): void {
    const set = this.projectEnabled.get(project) ?? new Set<number>();
    if (enabled) set.add(wrapperId);
    else set.delete(wrapperId);
    this.projectEnabled.set(project, set);
  }

  /** A workflow for a launch whose root input names an item (createContainerWorkflow). */
  openWorkflow(
    session: StoredExperiment,
    project: string,
    pipelineName: string,
    login: string,
    jobId?: string,
  ): Workflow {
    const workflow: Workflow = {
      id: this.nextWorkflow++,
      dataType: session.xsiType,
      itemId: session.id,
      externalId: project,
      pipelineName,
      launchTime: Date.now(),
      status: 'Queued',
      percentageComplete: '0.0',
      stepDescription: '',
      details: '',
      comments: '',
      createUser: login,
      jobId: jobId ?? null,
      scanId: null,
    };
    this.workflows.set(workflow.id, workflow);
    return workflow;
  }

  /** Queues resolution and launch; problems found then fail the workflow, as the executor does. */
  queue(
    project: string,
    entry: { command: Command; wrapper: Wrapper },
    session: StoredExperiment | undefined,
    params: Record<string, string>,
    login: string,
    workflow: Workflow | undefined,
  ): void {
    this.later(this.timings.queuedMs, () => {
      const problem = !this.enabledForProject(project, entry.wrapper.id)
        ? `Command wrapper ${entry.wrapper.name} is not enabled for project ${project}.`
        : !session
          ? `Could not resolve input "${rootName(entry.wrapper)}": no such item "${params[rootName(entry.wrapper)] ?? ''}".`
          : undefined;
      if (problem !== undefined || !session) {
        if (workflow) {
          workflow.status = 'Failed (Staging)';
          workflow.details = problem ?? '';
        }
        return;
      }
      this.create(project, entry, session, params, login, workflow);
    });
  }

  private create(
    project: string,
    { command, wrapper }: { command: Command; wrapper: Wrapper },
    session: StoredExperiment,
    params: Record<string, string>,
    login: string,
    workflow: Workflow | undefined,
  ): void {
    const resolved = resolveInputs(command, wrapper, session, params);
    let commandLine = command['command-line'];
    for (const input of command.inputs) {
      commandLine = commandLine.replaceAll(input['replacement-key'], resolved[input.name] ?? '');
    }
    const container: StoredContainer = {
      databaseId: this.nextContainer++,
      command,
      wrapper,
      status: 'Created',
      statusTime: Date.now(),
      containerId: randomBytes(32).toString('hex'),
      workflowId: workflow ? String(workflow.id) : '',
      userId: login,
      project,
      session,
      commandLine,
      inputs: [
        ...wrapper['external-inputs'].map((i) => ({
          id: this.nextIo++,
          type: 'wrapper_external' as const,
          name: i.name,
          value: `/archive/experiments/${session.id}`,
          sensitive: false,
        })),
        ...wrapper['derived-inputs'].map((i) => ({
          id: this.nextIo++,
          type: 'wrapper_derived' as const,
          name: i.name,
          value: resolved[i['provides-value-for-command-input'] ?? ''] ?? '',
          sensitive: false,
        })),
        ...command.inputs.map((i) => ({
          id: this.nextIo++,
          type: 'command' as const,
          name: i.name,
          value: resolved[i.name] ?? '',
          sensitive: false,
        })),
      ],
      outputs: [],
      history: [],
      logs: { stdout: [], stderr: [] },
    };
    this.containers.push(container);
    this.record(container, 'Created', 'user', login);
    container.timer = this.later(this.timings.createdMs, () => this.start(container, resolved));
  }

  private start(container: StoredContainer, params: Record<string, string>): void {
    this.record(container, 'Running', 'event', null);
    const log = (stream: 'stdout' | 'stderr', text: string) =>
      container.logs[stream].push({ at: Date.now(), text });
    const run = RUNNERS[container.command.runner]({ session: container.session, params, log });
    // The work is done now; the outcome is revealed when the running time is over (or never, if killed).
    container.timer = this.later(this.timings.runningMs, () => {
      void run
        .then(async (result) => {
          if (isFinalized(container.status)) return;
          if (result.exitCode !== 0) {
            this.record(
              container,
              'Failed',
              'event',
              null,
              `Non-zero exit code: ${result.exitCode}`,
              String(result.exitCode),
            );
            return;
          }
          this.record(container, 'Finalizing', 'system', null);
          container.outputs = this.upload(container, result.outputs);
          this.record(container, 'Complete', 'system', null, null, '0');
        })
        .catch((error: unknown) => {
          log('stderr', error instanceof Error ? error.message : String(error));
          this.record(container, 'Failed', 'system', null, 'Container failed', '1');
        });
    });
  }

  /** Stops a container that has not finished; false when it already has. */
  kill(container: StoredContainer, login: string): boolean {
    if (isFinalized(container.status)) return false;
    if (container.timer) clearTimeout(container.timer);
    this.record(container, 'kill', 'user', login);
    this.record(container, 'Killed', 'event', null, 'Killed by user', '137');
    return true;
  }

  private record(
    container: StoredContainer,
    status: string,
    entityType: HistoryItem['entity-type'],
    entityId: string | null,
    message: string | null = null,
    exitCode: string | null = null,
  ): void {
    const now = Date.now();
    container.history.push({
      id: this.nextHistory++,
      status,
      'entity-type': entityType,
      'entity-id': entityId,
      'time-recorded': now,
      'external-timestamp': entityType === 'event' ? String(now * 1_000_000) : null,
      message,
      exitCode,
    });
    // A user's kill request is history only; the container's state changes with the event that follows.
    if (status === 'kill') return;
    container.status = status;
    container.statusTime = now;
    const workflow = this.workflows.get(Number(container.workflowId));
    if (!workflow) return;
    workflow.status = status === 'Killed' ? 'Failed (Killed)' : status;
    workflow.percentageComplete =
      status === 'Complete' ? '100.0' : status === 'Running' ? '50.0' : workflow.percentageComplete;
    workflow.details = message ?? workflow.details;
  }

  /** The runner's files as resources (`as-a-child-of` the session, or on each scan the runner named). */
  private upload(container: StoredContainer, outputs: RunnerOutput[]): ContainerOutputRecord[] {
    const { session, wrapper, command } = container;
    return outputs.map((output) => {
      const handler = wrapper['output-handlers'].find((h) => h.name === output.handler)!;
      const scan = output.scan === undefined ? undefined : session.scans.find((s) => s.id === output.scan);
      const parent = scan ?? session;
      const now = Date.now();
      const files = output.files.map((f) =>
        storedFile({ path: f.path, format: f.format, content: f.content, lastModified: now }, () => f.bytes),
      );
      const resource: StoredResource = {
        xnatAbstractresourceId: this.archive.sequences.resource++,
        label: handler.label,
        xsiType: 'xnat:resourceCatalog',
        format: handler.format,
        content: '',
        description: `${command.name} output (container ${container.databaseId})`,
        tags: [],
        files,
      };
      parent.resources = [...parent.resources.filter((r) => r.label !== handler.label), resource];
      const uri = `/archive/experiments/${session.id}${scan ? `/scans/${scan.id}` : ''}/resources/${resource.xnatAbstractresourceId}`;
      const commandOutput = command.outputs.find((o) => o.name === handler['accepts-command-output']);
      return {
        id: this.nextIo++,
        name: `${handler['accepts-command-output']}:${handler.name}${scan ? `:${scan.id}` : ''}`,
        'from-command-output': handler['accepts-command-output'],
        'from-output-handler': handler.name,
        type: handler.type,
        required: commandOutput?.required ?? false,
        mount: commandOutput?.mount ?? 'out',
        path: commandOutput?.path ?? null,
        glob: commandOutput?.glob ?? null,
        label: handler.label,
        format: handler.format,
        description: handler.description,
        content: null,
        tags: [],
        created: uri,
        'handled-by': handler['as-a-child-of'],
        'via-wrapup-container': null,
      };
    });
  }

  private later(ms: number, action: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) action();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/** The wrapper's root input: its first external input. */
export function rootName(wrapper: Wrapper): string {
  return wrapper['external-inputs'][0]?.name ?? '';
}

/** Command input values: what the caller sent, else derived from the session, else the default. */
export function resolveInputs(
  command: Command,
  wrapper: Wrapper,
  session: StoredExperiment,
  params: Record<string, string>,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const input of command.inputs) {
    const derived = wrapper['derived-inputs'].find(
      (d) => d['provides-value-for-command-input'] === input.name,
    );
    const fromSession =
      derived?.['derived-from-xnat-object-property'] === 'label' ? session.label : undefined;
    const value = params[input.name] ?? fromSession ?? input['default-value'];
    if (value !== undefined) values[input.name] = value;
  }
  return values;
}
