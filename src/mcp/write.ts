/**
 * The one write pipeline. Every tool that changes something runs the same steps in the same order:
 *
 *   resolve → allow-list → plan → dry run → confirmation → act → audit → summary
 *
 * A writing tool declares only what is its own: how to find and describe its target, which projects
 * the call touches, what it would do, how to act and how to summarise. The pipeline owns the rest:
 * nothing is planned (no local file read, no further request) before every project passed the
 * allow-list, a dry run stops before anything changes, confirmation is asked (elicitation, else the
 * `confirm` argument; see safety.ts) right before acting, and every change leaves one audit line.
 *
 * A tool that declares `cohort` also takes `cohort: { targets | search, concurrency, onError }`
 * (cohort.ts) and runs the same steps over the whole set: every target resolved, every project
 * checked against the allow-list, every target planned, before one dry run (listing the set) or one
 * confirmation (naming its count and digest); then each target is acted on at most once, with
 * bounded concurrency and progress, and audited on its own line. The result lists each outcome.
 */
import * as z from 'zod';
import {
  defineTool,
  type ToolContext,
  type ToolDefinition,
  type ToolInput,
  type ToolOutput,
} from './define.js';
import {
  cohortConfirmation,
  cohortPreview,
  cohortResult,
  compactCohortOutput,
  compactCohortParam,
  parseCohort,
  mapBounded,
  renderCohort,
  resolveCohortTargets,
  runCohort,
  type CohortInput,
  type CohortKind,
  type CohortOutput,
  type CohortTarget,
} from './cohort.js';
import { ToolInputError } from './errors.js';
import { confirmParam, dryRunParam } from './params.js';

/** What a guarded tool adds to its input, after its own parameters. */
export const GUARD_INPUT = { confirm: confirmParam, dryRun: dryRunParam };
export type GuardInput = typeof GUARD_INPUT;

/** A project the call changes, and the action an allow-list refusal names. */
export interface ProjectCheck {
  project: string | undefined;
  action: string;
}

/** What the user is asked to agree to: "<action> <target>?"; without elicitation `confirm` must equal `expected`. */
export interface Confirmation {
  action: string;
  target: string;
  expected: string;
}

/** The audit line's object (e.g. `experiment XNAT_E00001`) and optional detail. */
export interface AuditEntry {
  object: string;
  detail?: string | undefined;
}

/** Dry run and confirmation, for tools that can destroy or replace data. */
export interface WriteGuard<I extends z.ZodRawShape, O extends z.ZodRawShape, P> {
  /** The result of `dryRun: true`: what would happen. Nothing is changed. */
  preview(plan: P, args: ToolInput<I>): ToolOutput<O>;
  /** What needs the user's agreement before acting; undefined when this call needs none. */
  confirmation(plan: P, args: ToolInput<I>): Confirmation | undefined;
}

/** How a tool acts on a cohort (many targets) besides one: see cohort.ts. */
export interface CohortSpec<I extends z.ZodRawShape, P, R> {
  /** What the targets are (a search must find this kind). */
  kind(args: ToolInput<I>): CohortKind;
  /** The parameters that name one target: optional in the schema, required without `cohort`. */
  names: ReadonlyArray<keyof I & string>;
  /** The arguments of one target's call, given its ID from the list or the search (a scan's: `<experiment>/<scan>`). */
  item(id: string, args: ToolInput<I>): ToolInput<I>;
  /** The confirmation's verb, e.g. `quarantine`. */
  verb(args: ToolInput<I>): string;
  /** ID, label, project and what would be done, of one planned target. */
  identify(plan: P, args: ToolInput<I>): CohortTarget;
  /** What was done to one target, e.g. `now quarantine`. */
  detail?(plan: P, result: R, args: ToolInput<I>): string | undefined;
}

export interface WriteToolSpec<I extends z.ZodRawShape, O extends z.ZodRawShape, T, P, R> extends Omit<
  ToolDefinition<I, O>,
  'handler' | 'writes'
> {
  /** Finds and describes what the call changes (reads only); bad arguments throw ToolInputError. Default: nothing to find. */
  resolve?(args: ToolInput<I>, ctx: ToolContext): Promise<T>;
  /** The projects the call changes, checked in this order against the allow-list (XNAT_MCP_PROJECTS). */
  projects(target: T, args: ToolInput<I>): ProjectCheck[];
  /** Checks and planning once every project is allowed (may read: status, local files). Default: the target is the plan. */
  plan?(target: T, args: ToolInput<I>, ctx: ToolContext): Promise<P>;
  guard?: WriteGuard<I, O, P>;
  act(plan: P, args: ToolInput<I>, ctx: ToolContext): Promise<R>;
  /** The audit line of what was changed; undefined when the call changed nothing. */
  audit(plan: P, result: R, args: ToolInput<I>): AuditEntry | undefined;
  summarise(plan: P, result: R, args: ToolInput<I>): ToolOutput<O>;
  /** Also act on many targets at once (input `cohort`); the output then gains `cohort` and its other fields become optional. */
  cohort?: CohortSpec<I, P, R>;
}

/** A guarded tool: its input gains `confirm` and `dryRun` (last, after its own parameters). */
export function defineWriteTool<
  I extends z.ZodRawShape,
  O extends z.ZodRawShape,
  T = undefined,
  P = T,
  R = void,
>(spec: WriteToolSpec<I, O, T, P, R> & { guard: WriteGuard<I, O, P> }): ToolDefinition<I & GuardInput, O>;
export function defineWriteTool<
  I extends z.ZodRawShape,
  O extends z.ZodRawShape,
  T = undefined,
  P = T,
  R = void,
>(spec: WriteToolSpec<I, O, T, P, R>): ToolDefinition<I, O>;
export function defineWriteTool<I extends z.ZodRawShape, O extends z.ZodRawShape, T, P, R>(
  spec: WriteToolSpec<I, O, T, P, R>,
): ToolDefinition<z.ZodRawShape, O> {
  const { resolve, projects, plan, guard, act, audit, summarise, cohort, inputSchema, ...tool } = spec;
  const steps = { resolve, projects, plan, act, audit };
  if (cohort !== undefined) return defineCohortTool(spec, cohort);
  return defineTool<z.ZodRawShape, O>({
    ...tool,
    inputSchema: guard === undefined ? inputSchema : { ...inputSchema, ...GUARD_INPUT },
    writes: true,
    async handler(input, ctx) {
      const { confirm, dryRun, ...own } = input as ToolInput<I> & { confirm?: string; dryRun?: boolean };
      // The pipeline's arguments, not the tool's: its steps see only their own parameters.
      const args = (guard === undefined ? input : own) as ToolInput<I>;
      const { plan: planned } = await prepare(steps, args, ctx);
      if (guard !== undefined) {
        if (dryRun === true) return guard.preview(planned, args);
        const confirmation = guard.confirmation(planned, args);
        if (confirmation !== undefined) await ctx.safety.confirm({ ...confirmation, confirm });
      }
      const result = await actAndAudit(steps, tool.name, planned, args, ctx);
      return summarise(planned, result, args);
    },
  });
}

type Steps<I extends z.ZodRawShape, T, P, R> = Pick<
  WriteToolSpec<I, z.ZodRawShape, T, P, R>,
  'resolve' | 'projects' | 'plan' | 'act' | 'audit'
>;

/** resolve → allow-list → plan, for one target. */
async function prepare<I extends z.ZodRawShape, T, P, R>(
  steps: Steps<I, T, P, R>,
  args: ToolInput<I>,
  ctx: ToolContext,
): Promise<{ plan: P }> {
  const target = steps.resolve === undefined ? (undefined as T) : await steps.resolve(args, ctx);
  for (const check of steps.projects(target, args)) ctx.safety.checkProject(check.project, check.action);
  return { plan: steps.plan === undefined ? (target as unknown as P) : await steps.plan(target, args, ctx) };
}

/** act → audit, for one target. */
async function actAndAudit<I extends z.ZodRawShape, T, P, R>(
  steps: Steps<I, T, P, R>,
  name: string,
  plan: P,
  args: ToolInput<I>,
  ctx: ToolContext,
): Promise<R> {
  const result = await steps.act(plan, args, ctx);
  const entry = steps.audit(plan, result, args);
  if (entry !== undefined) ctx.safety.audit(name, entry.object, entry.detail);
  return result;
}

/**
 * A tool that acts on one target or on a cohort. Its input gains `cohort` (and `confirm` and
 * `dryRun`, also when it has no guard of its own: a cohort always needs one agreement); the
 * parameters naming one target become optional; its output gains `cohort`.
 */
function defineCohortTool<I extends z.ZodRawShape, O extends z.ZodRawShape, T, P, R>(
  spec: WriteToolSpec<I, O, T, P, R>,
  cohort: CohortSpec<I, P, R>,
): ToolDefinition<z.ZodRawShape, O> {
  const {
    resolve,
    projects,
    plan,
    guard,
    act,
    audit,
    summarise,
    inputSchema,
    outputSchema,
    render,
    ...tool
  } = spec;
  const steps = { resolve, projects, plan, act, audit };
  if (outputSchema instanceof z.ZodObject) {
    throw new Error(`${tool.name}: a cohort tool declares its output as a shape`);
  }
  // Required as zod decides for an object key (no `optin`), rather than by parsing undefined: a
  // failed parse builds a ZodError, ~0.4 ms per name at every start.
  const required = cohort.names.filter((name) => (inputSchema[name] as z.ZodType)._zod.optin === undefined);
  const relaxed = Object.fromEntries(
    cohort.names.map((name) => [name, (inputSchema[name] as z.ZodType).optional()]),
  );
  const output = {
    ...Object.fromEntries(Object.entries(outputSchema).map(([k, s]) => [k, (s as z.ZodType).optional()])),
    cohort: compactCohortOutput,
  };
  return defineTool<z.ZodRawShape, z.ZodRawShape>({
    ...tool,
    inputSchema: { ...inputSchema, ...relaxed, cohort: compactCohortParam, ...GUARD_INPUT },
    outputSchema: output,
    writes: true,
    async handler(input, ctx) {
      const {
        confirm,
        dryRun,
        cohort: raw,
        ...rest
      } = input as ToolInput<I> & {
        confirm?: string;
        dryRun?: boolean;
        cohort?: unknown;
      };
      const args = rest as ToolInput<I>;
      if (raw !== undefined) {
        const set = parseCohort(raw);
        const named = cohort.names.filter((name) => (args as Record<string, unknown>)[name] !== undefined);
        if (named.length > 0) {
          throw new ToolInputError(
            `Pass either ${named.join(', ')} (one target) or cohort (many), not both.`,
          );
        }
        return { cohort: await runCohortCall(steps, cohort, tool.name, { args, set, confirm, dryRun }, ctx) };
      }
      const missing = required.filter((name) => (args as Record<string, unknown>)[name] === undefined);
      if (missing.length > 0) {
        throw new ToolInputError(`${missing.join(', ')} is required (or cohort, for many targets at once).`);
      }
      const { plan: planned } = await prepare(steps, args, ctx);
      if (dryRun === true) {
        if (guard !== undefined) return guard.preview(planned, args);
        // No preview of its own: the cohort preview of this one target (it needs no confirmation).
        const target = cohort.identify(planned, args);
        const { confirm: _none, ...preview } = cohortPreview(cohort.verb(args), [target], '', 0);
        return { cohort: preview };
      }
      const confirmation = guard?.confirmation(planned, args);
      if (confirmation !== undefined) await ctx.safety.confirm({ ...confirmation, confirm });
      const result = await actAndAudit(steps, tool.name, planned, args, ctx);
      return summarise(planned, result, args);
    },
    // What a cohort is about is in each item's outcome, not in the call's one-target parameters.
    target: (args) => (args.cohort === undefined ? tool.target?.(args as ToolInput<I>) : undefined),
    render: (out) =>
      out.cohort !== undefined ? renderCohort(out.cohort as CohortOutput) : render(out as ToolOutput<O>),
  }) as unknown as ToolDefinition<z.ZodRawShape, O>;
}

/** A cohort through the pipeline: resolve all → allow-list all → plan all → one dry run or one confirmation → act on each. */
async function runCohortCall<I extends z.ZodRawShape, T, P, R>(
  steps: Steps<I, T, P, R>,
  cohort: CohortSpec<I, P, R>,
  name: string,
  {
    args,
    set,
    confirm,
    dryRun,
  }: { args: ToolInput<I>; set: CohortInput; confirm?: string; dryRun?: boolean },
  ctx: ToolContext,
): Promise<CohortOutput> {
  const kind = cohort.kind(args);
  const calls = (await resolveCohortTargets(set, kind, ctx)).map((t) => cohort.item(t.id, args));
  const total = calls.length * 2;
  let resolvedCount = 0;
  const verb = cohort.verb(args);
  const resolved = await mapBounded(
    calls,
    set.concurrency,
    async (call) => {
      const target = steps.resolve === undefined ? (undefined as T) : await steps.resolve(call, ctx);
      resolvedCount += 1;
      void ctx.progress({
        progress: resolvedCount,
        total,
        message: `checking ${resolvedCount}/${calls.length}`,
      });
      return target;
    },
    ctx.signal,
  );
  // Every project of every target passes the allow-list before anything is planned or changed.
  resolved.forEach((target, i) => {
    for (const check of steps.projects(target, calls[i] as ToolInput<I>)) {
      ctx.safety.checkProject(check.project, check.action);
    }
  });
  const plans = await mapBounded(
    calls,
    set.concurrency,
    async (call, i) =>
      steps.plan === undefined ? (resolved[i] as unknown as P) : steps.plan(resolved[i] as T, call, ctx),
    ctx.signal,
  );
  // Two names of one object (its ID and its label) are one target.
  const seen = new Set<string>();
  const items = plans
    .map((plan, i) => ({
      plan,
      args: calls[i] as ToolInput<I>,
      target: cohort.identify(plan, calls[i] as ToolInput<I>),
    }))
    .filter((item) => !seen.has(item.target.id) && seen.add(item.target.id) !== undefined);
  const confirmation = cohortConfirmation(
    verb,
    kind,
    items.map((i) => i.target.id),
  );
  if (dryRun === true) {
    return cohortPreview(
      verb,
      items.map((i) => i.target),
      confirmation.expected,
      set.listFrom,
    );
  }
  await ctx.safety.confirm({ ...confirmation, confirm });
  const results = await runCohort(
    items,
    (item) => item.target,
    async (item, signal) => {
      const result = await actAndAudit(steps, name, item.plan, item.args, { ...ctx, signal });
      return cohort.detail?.(item.plan, result, item.args);
    },
    {
      concurrency: set.concurrency,
      onError: set.onError,
      signal: ctx.signal,
      progress: ctx.progress,
      progressBase: calls.length,
      progressTotal: calls.length + items.length,
      verb,
    },
  );
  return cohortResult(verb, results, set.onError);
}
