/**
 * The container service's JSON (container-service CommandSummaryForContext, Command and
 * CommandWrapper, LaunchUi, LaunchReport, Container with its history and outputs) checked at the
 * edge with zod, and the models the client core hands out (camelCase, ISO times, no Docker noise).
 */
import * as z from 'zod';

export const CommandSummarySchema = z.looseObject({
  'command-id': z.number(),
  'command-name': z.string(),
  'command-description': z.string().nullish(),
  'wrapper-id': z.number(),
  'wrapper-name': z.string(),
  'wrapper-label': z.string().nullish(),
  'wrapper-description': z.string().nullish(),
  'wrapper-contexts': z.array(z.string()).default([]),
  'image-name': z.string(),
  enabled: z.boolean(),
  'root-element-name': z.string(),
});

const WrapperInputSchema = z.looseObject({
  name: z.string(),
  label: z.string().nullish(),
  description: z.string().nullish(),
  type: z.string(),
  required: z.boolean().default(false),
  'default-value': z.string().nullish(),
  'user-settable': z.boolean().nullish(),
  'provides-value-for-command-input': z.string().nullish(),
  'derived-from-wrapper-input': z.string().nullish(),
  'derived-from-xnat-object-property': z.string().nullish(),
});

export const CommandSchema = z.looseObject({
  id: z.number(),
  name: z.string(),
  description: z.string().nullish(),
  image: z.string(),
  inputs: z
    .array(
      z.looseObject({
        name: z.string(),
        description: z.string().nullish(),
        type: z.string().default('string'),
        required: z.boolean().default(false),
        'default-value': z.string().nullish(),
        'select-values': z.array(z.string()).nullish(),
      }),
    )
    .default([]),
  xnat: z
    .array(
      z.looseObject({
        id: z.number(),
        name: z.string(),
        description: z.string().nullish(),
        contexts: z.array(z.string()).default([]),
        'external-inputs': z.array(WrapperInputSchema).default([]),
        'derived-inputs': z.array(WrapperInputSchema).default([]),
        'output-handlers': z
          .array(z.looseObject({ name: z.string(), label: z.string().nullish(), type: z.string() }))
          .default([]),
      }),
    )
    .default([]),
});
export type RawCommand = z.infer<typeof CommandSchema>;

export const ProjectEnabledSchema = z.looseObject({
  'enabled-for-site': z.boolean().nullish(),
  'enabled-for-project': z.boolean().nullish(),
});

export const LaunchUiSchema = z.looseObject({
  'input-values': z
    .array(
      z.looseObject({
        name: z.string(),
        values: z
          .array(z.looseObject({ value: z.string().nullish(), label: z.string().nullish() }))
          .default([]),
      }),
    )
    .default([]),
});

export const LaunchReportSchema = z.looseObject({
  status: z.string(),
  params: z.record(z.string(), z.string()).nullish(),
  message: z.string().nullish(),
  'workflow-id': z.string().nullish(),
  'wrapper-id': z.number().nullish(),
});

const HistorySchema = z.looseObject({
  status: z.string(),
  'entity-type': z.string().nullish(),
  'entity-id': z.string().nullish(),
  'time-recorded': z.union([z.number(), z.string()]).nullish(),
  message: z.string().nullish(),
  exitCode: z.string().nullish(),
});

export const ContainerSchema = z.looseObject({
  id: z.number(),
  'command-id': z.number(),
  status: z.string().nullish(),
  'status-time': z.union([z.number(), z.string()]).nullish(),
  'wrapper-id': z.number(),
  'container-id': z.string().nullish(),
  'workflow-id': z.string().nullish(),
  'user-id': z.string().nullish(),
  project: z.string().nullish(),
  'docker-image': z.string().nullish(),
  inputs: z
    .array(z.looseObject({ type: z.string(), name: z.string(), value: z.string().nullish() }))
    .default([]),
  outputs: z
    .array(
      z.looseObject({
        name: z.string(),
        type: z.string().nullish(),
        label: z.string().nullish(),
        format: z.string().nullish(),
        created: z.string().nullish(),
      }),
    )
    .default([]),
  history: z.array(HistorySchema).default([]),
});
export type RawContainer = z.infer<typeof ContainerSchema>;

/** A wrapper that can run on an item of some type, in a project. */
export interface Pipeline {
  commandId: number;
  command: string;
  wrapperId: number;
  wrapper: string;
  label: string;
  description: string;
  image: string;
  contexts: string[];
  /** Enabled for the project (and so for the site). */
  enabled: boolean;
  /** The input that names what it runs on (e.g. `session`). */
  rootInput: string;
}

/** One input of a wrapper, as a caller would set it. */
export interface PipelineInput {
  name: string;
  description: string;
  /** `target`: what the launch is about; `derived`: XNAT computes it; `parameter`: the caller may set it. */
  role: 'target' | 'derived' | 'parameter';
  type: string;
  required: boolean;
  default?: string | undefined;
  choices?: string[] | undefined;
}

export interface PipelineDetail {
  commandId: number;
  command: string;
  wrapperId: number;
  wrapper: string;
  description: string;
  image: string;
  contexts: string[];
  inputs: PipelineInput[];
  /** Output handlers: `<label> (<type>)`. */
  outputs: string[];
}

export interface LaunchPreview {
  wrapperId: number;
  /** Each input's resolved value (the target's URI, derived values, defaults). */
  inputs: Record<string, string>;
}

/** XNAT's answer to a launch: a workflow ID when XNAT could create one (it can be "To be assigned"). */
export interface LaunchResult {
  status: 'success' | 'failure';
  workflowId?: string | undefined;
  message?: string | undefined;
  params: Record<string, string>;
}

export interface JobEvent {
  status: string;
  /** ISO 8601. */
  at: string;
  by: string;
  message?: string | undefined;
  exitCode?: string | undefined;
}

/** A launched container. */
export interface Job {
  /** The container service's database ID. */
  id: string;
  /** Docker's container ID. */
  containerId: string;
  workflowId: string;
  status: string;
  /** Complete, Failed... or Killed: nothing more will happen. */
  finished: boolean;
  succeeded: boolean;
  statusTime: string;
  commandId: number;
  wrapperId: number;
  project: string;
  user: string;
  image: string;
  /** What it ran on (the root input's value, e.g. `/archive/experiments/XNAT_E00001`). */
  target: string;
  exitCode?: string | undefined;
  history: JobEvent[];
  /** Resources the job created: label, format and archive URI. */
  outputs: Array<{ name: string; label: string; format: string; uri: string }>;
}

export interface Workflow {
  id: string;
  item: string;
  project: string;
  pipeline: string;
  status: string;
  percentComplete: string;
  details: string;
  launchTime: string;
}
