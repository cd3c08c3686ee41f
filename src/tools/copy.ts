/**
 * copyData: subjects or experiments from one XNAT server (or project) to another, through the write
 * pipeline: the allow-list applies to the target project, a dry run shows the plan, one confirmation
 * names the counts. The client core plans, streams and verifies (client/copy.ts).
 */
import * as z from 'zod';
import type { CopyRequest, PlannedCopy, XnatClient } from '../client/index.js';
import { cohortDigest, compactCohortParam, parseCohort, resolveCohortTargets } from '../mcp/cohort.js';
import { writeAnnotations } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import { CopyOutput, renderCopy, shapeCopyPlan, shapeCopyResult, type CopyEnds } from '../mcp/format-copy.js';
import { mib } from '../mcp/format.js';
import { idParam, optionalProjectParam, projectParam, serverParam } from '../mcp/params.js';
import { progressReporter } from '../mcp/progress.js';
import { defineWriteTool } from '../mcp/write.js';

interface Resolved {
  source: XnatClient;
  target: XnatClient;
  ends: CopyEnds;
  request: CopyRequest;
}

interface Planned extends Resolved {
  planned: PlannedCopy;
}

export const copyData = defineWriteTool({
  name: 'copyData',
  title: 'Copy subjects or experiments between XNAT servers',
  description:
    'Copies subjects or experiments (a list, or a search on the source) from one configured XNAT server and project to another (getServerInfo lists the servers): creates what the target lacks (subject with demographics, custom variables and its own resources with their files, experiment with its fields, scans with type, series description, quality and note, session and scan resources with their files), streams files server to server and verifies each by size and MD5 on the target. An existing target experiment is a conflict unless onExisting is merge (fill in what is missing or different: resumes an interrupted copy) or skip. Use dryRun first: it lists what would be created, skipped and conflicting.',
  toolset: 'copy',
  inputSchema: {
    from: serverParam.describe('Source XNAT server name (default the first)'),
    to: serverParam.describe('Target XNAT server name (default the first)'),
    kind: z.enum(['experiment', 'subject']).default('experiment').describe('What ids (or the search) name'),
    ids: z
      .array(idParam('ID'))
      .min(1)
      .max(1000)
      .optional()
      .describe('Accession IDs, or labels with sourceProject'),
    cohort: compactCohortParam.describe(
      'Instead of ids: {search:{xsiType,where,match}} as searchArchive, run on the source server',
    ),
    sourceProject: optionalProjectParam.describe(
      'Source project (needed for labels; limits which experiments of a subject are copied)',
    ),
    targetProject: projectParam.describe('Target project (must exist on the target server)'),
    onExisting: z
      .enum(['conflict', 'merge', 'skip'])
      .default('conflict')
      .describe('An experiment already on the target: conflict (nothing done), merge (fill in), skip'),
    concurrency: z.number().int().min(1).max(16).default(4).describe('Files streamed at once'),
  },
  outputSchema: CopyOutput,
  annotations: writeAnnotations({ destructive: false, idempotent: true }),
  async resolve(args, ctx): Promise<Resolved> {
    const source = ctx.servers.client(args.from);
    const target = ctx.servers.client(args.to);
    const byName = new Map(ctx.servers.list().map((s) => [s.name.toLowerCase(), s]));
    const first = ctx.servers.list()[0]!;
    const fromEntry = args.from === undefined ? first : byName.get(args.from.toLowerCase())!;
    const toEntry = args.to === undefined ? first : byName.get(args.to.toLowerCase())!;
    if (source === target && (args.sourceProject ?? '') === args.targetProject) {
      throw new ToolInputError(
        'The source and target are the same server and project: name another server (to) or targetProject',
      );
    }
    if ((args.ids === undefined) === (args.cohort === undefined)) {
      throw new ToolInputError('Pass either ids or cohort (a search on the source server), one of them');
    }
    let ids = args.ids;
    if (ids === undefined) {
      const set = parseCohort(args.cohort);
      ids = (await resolveCohortTargets(set, args.kind, { client: source, signal: ctx.signal })).map(
        (t) => t.id,
      );
    }
    return {
      source,
      target,
      ends: {
        from: {
          server: fromEntry.name,
          url: fromEntry.url,
          ...(args.sourceProject ? { project: args.sourceProject } : {}),
        },
        to: { server: toEntry.name, url: toEntry.url, project: args.targetProject },
      },
      request: {
        kind: args.kind,
        ids,
        sourceProject: args.sourceProject,
        targetProject: args.targetProject,
        onExisting: args.onExisting,
        concurrency: args.concurrency,
      },
    };
  },
  projects: (_resolved, args) => [{ project: args.targetProject, action: 'copy data into' }],
  async plan(resolved, _args, { signal }): Promise<Planned> {
    const planned = await resolved.source.planCopy(resolved.target, { ...resolved.request, signal });
    return { ...resolved, planned };
  },
  guard: {
    preview: (p) => shapeCopyPlan(p.planned.plan, p.ends),
    confirmation(p) {
      const acting = p.planned.plan.items.filter((i) => i.action === 'create' || i.action === 'merge');
      if (acting.length === 0) return undefined;
      const files = acting.reduce((n, i) => n + i.files.toCopy, 0);
      const bytes = acting.reduce((n, i) => n + i.files.bytes, 0);
      const ids = acting.map((i) => i.experiment?.id ?? i.subject.id);
      const digest = cohortDigest(ids);
      return {
        action: 'copy',
        target: `${acting.length} item${acting.length === 1 ? '' : 's'} (${files} files, ${mib(bytes)}; set ${digest}) to ${p.ends.to.server} project ${p.ends.to.project}`,
        expected: `${acting.length}:${digest}`,
      };
    },
  },
  act: (p, _args, { signal, progress }) =>
    p.source.runCopy(p.target, p.planned, {
      ...p.request,
      signal,
      onProgress: progressReporter(progress, 'copied'),
    }),
  audit(p, result) {
    const files = result.outcomes.reduce((n, o) => n + o.copied.files, 0);
    if (result.outcomes.every((o) => o.target === undefined)) return undefined;
    return {
      object: `${p.ends.to.server} project ${p.ends.to.project}`,
      detail: `${result.outcomes.length} items, ${files} files from ${p.ends.from.server}`,
    };
  },
  summarise: (p, result) => shapeCopyResult(p.planned.plan, result.outcomes, p.ends),
  render: renderCopy,
  target: (args) => ({
    what: `Project '${args.targetProject}'`,
    project: args.targetProject,
    nextStep: 'check the project on the target server (getServerInfo lists the servers)',
  }),
});
