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
 */
import type * as z from 'zod';
import {
  defineTool,
  type ToolContext,
  type ToolDefinition,
  type ToolInput,
  type ToolOutput,
} from './define.js';
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
  const { resolve, projects, plan, guard, act, audit, summarise, inputSchema, ...tool } = spec;
  return defineTool<z.ZodRawShape, O>({
    ...tool,
    inputSchema: guard === undefined ? inputSchema : { ...inputSchema, ...GUARD_INPUT },
    writes: true,
    async handler(input, ctx) {
      const { confirm, dryRun, ...own } = input as ToolInput<I> & { confirm?: string; dryRun?: boolean };
      // The pipeline's arguments, not the tool's: its steps see only their own parameters.
      const args = (guard === undefined ? input : own) as ToolInput<I>;
      const target = resolve === undefined ? (undefined as T) : await resolve(args, ctx);
      for (const check of projects(target, args)) ctx.safety.checkProject(check.project, check.action);
      const planned = plan === undefined ? (target as unknown as P) : await plan(target, args, ctx);
      if (guard !== undefined) {
        if (dryRun === true) return guard.preview(planned, args);
        const confirmation = guard.confirmation(planned, args);
        if (confirmation !== undefined) await ctx.safety.confirm({ ...confirmation, confirm });
      }
      const result = await act(planned, args, ctx);
      const entry = audit(planned, result, args);
      if (entry !== undefined) ctx.safety.audit(tool.name, entry.object, entry.detail);
      return summarise(planned, result, args);
    },
  });
}
