/**
 * Cohorts: one writing call over many targets, named as a list of IDs or as a search (the query
 * tools' criteria, parsed by query.ts). The write pipeline (write.ts) runs a cohort through the
 * same steps as a single target; this module holds the parts that are the same for every tool,
 * and for any other caller that acts on many objects (e.g. launching a container per session):
 *
 * The simplest reuse is a `cohort` section in a `defineWriteTool` spec (write.ts: `CohortSpec`); the
 * parts below serve callers that run their own steps.
 *
 * - `cohortParam`: the input (`targets` or `search`, `concurrency`, `onError`, `listFrom`);
 *   `compactCohortParam` + `parseCohort` list it in one line (tools of the default toolsets).
 * - `resolveCohortTargets`: the IDs (with label and project when a search gives them) of a list or
 *   a search; a search is one streamed XNAT request, never one per row. A scan is named
 *   `<experiment>/<scan>` (`scanTargetId`, `splitScanTarget`): scan IDs are unique only in their
 *   session; a search of a scan type gives both from each row.
 * - `cohortDigest` and `cohortConfirmation`: the set's identity. The digest is the first 12 hex of
 *   the sha256 of the sorted distinct IDs; the confirmation names the count and digest, and the
 *   `confirm` value a client echoes is `<count>:<digest>`, so agreement to one set never covers
 *   another (a changed search answer needs a new confirmation).
 * - `mapBounded`: reads over the set with bounded concurrency (the first failure fails the call).
 * - `runCohort`: the acting loop: bounded concurrency, each item started at most once, per-item
 *   outcome, `onError: 'stop'` starts nothing new after the first failure (in-flight items finish,
 *   the rest are reported `notStarted`), progress notifications.
 * - `CohortOutputSchema` (listed compactly: `compactCohortOutput`), `cohortPreview`,
 *   `cohortResult`, `renderCohort`: the output, bounded to the result budget.
 */
import * as z from 'zod';
import type { ToolContext } from './define.js';
import { redactSecrets, ToolInputError } from './errors.js';
import { RESULT_CHAR_BUDGET, renderFields, renderTable, sections, truncateText } from './format.js';
import { idParam } from './params.js';
import type { SendProgress } from './progress.js';
import { searchInput, searchSpec, type SearchArgs } from './query.js';

/** The most targets one call acts on: each is read once before anything changes. */
export const MAX_COHORT = 5000;
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 16;
/** Targets a dry run lists per page (`listFrom` pages on; the digest always covers all). */
export const LIST_PAGE = 100;
/** Per-item results listed at most; beyond, failures and unstarted items come first. */
export const MAX_LISTED_RESULTS = 200;
/** The listed items' share of a result (format.ts's budget; the text repeats them more briefly). */
const ITEMS_CHAR_BUDGET = RESULT_CHAR_BUDGET / 3;
/** A listed item's summary, detail or error. */
const ITEM_TEXT_MAX = 300;

const cohortSearch = z
  .object({
    xsiType: searchInput.xsiType.describe('Type searched, e.g. xnat:mrSessionData'),
    savedSearch: searchInput.savedSearch,
    where: searchInput.where.describe("Criteria as searchArchive's where"),
    match: searchInput.match,
  })
  .describe('Targets: the rows of a search (as searchArchive)');

export const cohortParam = z
  .object({
    targets: z
      .array(idParam('Target'))
      .min(1)
      .max(MAX_COHORT)
      .optional()
      .describe('Accession IDs (or labels with project); scans as <experiment>/<scan>'),
    search: cohortSearch.optional(),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(MAX_CONCURRENCY)
      .default(DEFAULT_CONCURRENCY)
      .describe('Targets acted on at once'),
    onError: z.enum(['stop', 'continue']).default('stop').describe('stop: start nothing new after a failure'),
    listFrom: z.number().int().min(0).default(0).describe('Dry run: first target listed'),
  })
  .describe(
    'Many targets at once, instead of one: a list or a search. One dry run lists them; one confirmation for the set',
  );

/**
 * `cohortParam` as writing tools of the default toolsets list it: tools/list travels with every
 * model request, and the full schema in each of them would cost ~3,000 characters a tool. The
 * description carries the shape; `parseCohort` checks it with the full schema.
 */
export const compactCohortParam = z
  .record(z.string(), z.unknown())
  .optional()
  .describe(
    'Many targets: {targets:[IDs|expID/scanID]} or {search:{xsiType,where,match}} as searchArchive; concurrency, onError stop|continue. One confirm',
  );

/** Checks a cohort passed through `compactCohortParam`; bad input is a ToolInputError naming what is wrong. */
export function parseCohort(value: unknown): CohortInput {
  const parsed = cohortParam.safeParse(value);
  if (!parsed.success)
    throw new ToolInputError(`cohort: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`);
  return parsed.data;
}

export type CohortInput = z.output<typeof cohortParam>;
export type CohortKind = 'subject' | 'experiment' | 'scan';

/** One target of a cohort as known before acting. */
export interface CohortTarget {
  id: string;
  label?: string | undefined;
  project?: string | undefined;
  /** What would be done to it (dry run). */
  summary?: string | undefined;
}

export type CohortOutcome = 'done' | 'failed' | 'notStarted';

export interface CohortItemResult extends CohortTarget {
  outcome: CohortOutcome;
  /** What was done (e.g. `now quarantine`). */
  detail?: string | undefined;
  error?: string | undefined;
}

function checkSource(input: CohortInput): void {
  if ((input.targets === undefined) === (input.search === undefined)) {
    throw new ToolInputError(
      'A cohort is either targets (a list of IDs) or search, not both and not neither.',
    );
  }
}

/** A scan's target ID: `<experiment>/<scan>` (an experiment ID or label never holds a `/`, nor a scan ID). */
export const scanTargetId = (experiment: string, scan: string): string => `${experiment}/${scan}`;

/** The experiment and scan of a scan's target ID; anything else is a ToolInputError saying the form. */
export function splitScanTarget(id: string): { experiment: string; scan: string } {
  const slash = id.indexOf('/');
  const experiment = id.slice(0, slash);
  const scan = id.slice(slash + 1);
  if (slash <= 0 || scan === '' || scan.includes('/')) {
    throw new ToolInputError(
      `A scan target is "<experiment>/<scan>" (e.g. XNAT_E00001/2), not "${id}". Nothing was changed.`,
    );
  }
  return { experiment, scan };
}

/** First 12 hex of the sha256 of the sorted distinct IDs: the same set, in any order, has the same digest. */
export function cohortDigest(ids: readonly string[]): string {
  const sorted = [...new Set(ids)].sort();
  // node:crypto loads on first use, not at every server start.
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha256').update(sorted.join('\n')).digest('hex').slice(0, 12);
}

/** What a cohort's agreement asks (see safety.ts confirm): `<verb> <count> <noun>s (set <digest>)`; echo `<count>:<digest>`. */
export function cohortConfirmation(
  verb: string,
  noun: string,
  ids: readonly string[],
): { action: string; target: string; expected: string } {
  const count = new Set(ids).size;
  const digest = cohortDigest(ids);
  return {
    action: verb,
    target: `${count} ${noun}${count === 1 ? '' : 's'} (set ${digest})`,
    expected: `${count}:${digest}`,
  };
}

/**
 * Column keys of a saved search's ID, label and project, by kind (its display fields, lower-cased);
 * for a scan the second is its session's ID (its target ID is `<session>/<scan>`).
 */
const SAVED_COLUMNS: Record<CohortKind, { id: string[]; label: string[] }> = {
  subject: { id: ['subject_id', 'subjectid'], label: ['subject_label', 'label'] },
  experiment: { id: ['session_id', 'expt_id'], label: ['label'] },
  scan: { id: ['id'], label: ['image_session_id'] },
};

/** Schema paths a built search shows, in order: ID, then label (a scan: its session's ID), then project. */
const SEARCHED_PATHS: Record<CohortKind, string[]> = {
  subject: ['ID', 'label', 'project'],
  experiment: ['ID', 'label', 'project'],
  scan: ['ID', 'image_session_ID'],
};

const EXAMPLE_TYPE: Record<CohortKind, string> = {
  subject: 'xnat:subjectData',
  experiment: 'xnat:mrSessionData',
  scan: 'xnat:mrScanData',
};

/** Whether a searched type holds targets of `kind`: subjects, experiments (sessions, assessors) or scans. */
function holds(xsiType: string, kind: CohortKind): boolean {
  const type = xsiType.toLowerCase();
  if (kind === 'subject') return type === 'xnat:subjectdata';
  if (kind === 'scan') return type.endsWith('scandata');
  return !/^xdat:|:(subjectdata|projectdata)$|scandata$/.test(type);
}

async function searchedTargets(
  search: z.output<typeof cohortSearch>,
  kind: CohortKind,
  ctx: Pick<ToolContext, 'client' | 'signal'>,
): Promise<CohortTarget[]> {
  const args: SearchArgs = search;
  const root = search.xsiType;
  if (root !== undefined && !holds(root, kind)) {
    throw new ToolInputError(
      `A cohort of ${kind}s needs a search of ${kind}s, not of ${root}: e.g. of ${EXAMPLE_TYPE[kind]}, with criteria on related types.`,
    );
  }
  // Schema paths name the ID, label and project of any type; a built search answers them in order.
  const fields = root === undefined ? [] : SEARCHED_PATHS[kind].map((f) => `${root}/${f}`);
  const stream = await ctx.client.streamSearch(searchSpec(args, fields), { signal: ctx.signal });
  const find = (ids: readonly string[]) => stream.columns.find((c) => ids.includes(c.toLowerCase()));
  const want = SAVED_COLUMNS[kind];
  const [idKey, labelKey, projectKey] =
    root === undefined
      ? [find(want.id), find(want.label), find(['project'])]
      : [stream.columns[0], stream.columns[1], stream.columns[2]];
  // A saved search showing labels and projects but no IDs: each label is looked up in its project.
  const scans = kind === 'scan';
  const byLabel = !scans && idKey === undefined && labelKey !== undefined && projectKey !== undefined;
  if (idKey === undefined ? !byLabel : scans && labelKey === undefined) {
    await stream.rows.return(undefined);
    throw new ToolInputError(
      `The saved search shows ${scans ? 'not both the scan ID and its image_session_id' : `neither ${want.id.join(' or ')} nor label and project`} (${stream.columns.join(', ')}); search with xsiType and where instead.`,
    );
  }
  const targets: CohortTarget[] = [];
  for await (const row of stream.rows) {
    const own = row[idKey ?? labelKey ?? ''] ?? '';
    const session = scans ? (row[labelKey ?? ''] ?? '') : undefined;
    if (own === '' || session === '') continue;
    const id = session === undefined ? own : scanTargetId(session, own);
    if (targets.length >= MAX_COHORT) {
      await stream.rows.return(undefined);
      throw new ToolInputError(
        `The search finds more than ${MAX_COHORT} ${kind}s, more than one call acts on; narrow it (e.g. by PROJECT or DATE) and act in parts.`,
      );
    }
    targets.push({
      id,
      ...(labelKey && row[labelKey] && !scans ? { label: row[labelKey] } : {}),
      ...(projectKey && row[projectKey] ? { project: row[projectKey] } : {}),
    });
  }
  if (!byLabel) return targets;
  return mapBounded(
    targets,
    DEFAULT_CONCURRENCY,
    async (t) => {
      const found = await ctx.client.describeObject(
        { kind, project: t.project, [kind]: t.label },
        { signal: ctx.signal },
      );
      return { id: found.id, label: found.label, project: found.project };
    },
    ctx.signal,
  );
}

/**
 * The targets of a cohort, in the order given (a list) or found (a search), duplicates removed.
 * List entries are passed on as given (an ID, or a label that the tool resolves with `project`).
 */
export async function resolveCohortTargets(
  input: CohortInput,
  kind: CohortKind,
  ctx: Pick<ToolContext, 'client' | 'signal'>,
): Promise<CohortTarget[]> {
  checkSource(input);
  // A malformed scan target is refused before anything is read.
  if (kind === 'scan') input.targets?.forEach(splitScanTarget);
  const all =
    input.targets !== undefined
      ? input.targets.map((id) => ({ id }))
      : await searchedTargets(input.search ?? { match: 'all' }, kind, ctx);
  const seen = new Set<string>();
  const targets = all.filter((t) => !seen.has(t.id) && seen.add(t.id) !== undefined);
  if (targets.length === 0) {
    throw new ToolInputError(`The search finds no ${kind}s: nothing to do. Nothing was changed.`);
  }
  return targets;
}

/** `fn` over `items`, at most `concurrency` at once, results in order; the first failure rejects (nothing new starts). */
export async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  async function worker(): Promise<void> {
    while (!failed && next < items.length) {
      signal?.throwIfAborted();
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  }
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, worker);
  const settled = await Promise.allSettled(workers);
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
}

export interface RunCohortOptions {
  concurrency: number;
  onError: 'stop' | 'continue';
  signal: AbortSignal;
  /** Progress of the call; `progressBase` is added to the items finished (earlier phases). */
  progress?: SendProgress | undefined;
  progressBase?: number;
  progressTotal?: number;
  /** Names the work in progress messages, e.g. `quarantine`. */
  verb: string;
}

const errorText = (err: unknown): string =>
  truncateText(redactSecrets(err instanceof Error ? err.message : String(err)), ITEM_TEXT_MAX);

/**
 * Acts on each item at most once, `concurrency` at a time, in order. A failure is the item's
 * outcome; with `onError: 'stop'` nothing new starts after it (running items finish) and the rest
 * are `notStarted`. A cancelled call likewise starts nothing new. `work` returns the item's detail.
 */
export async function runCohort<T>(
  items: readonly T[],
  identify: (item: T) => CohortTarget,
  work: (item: T, signal: AbortSignal) => Promise<string | undefined>,
  opts: RunCohortOptions,
): Promise<CohortItemResult[]> {
  const results: CohortItemResult[] = items.map((item) => {
    const { summary: _summary, ...target } = identify(item);
    return { ...target, outcome: 'notStarted' };
  });
  let next = 0;
  let finished = 0;
  let failures = 0;
  let stopped = false;
  const base = opts.progressBase ?? 0;
  const total = opts.progressTotal ?? base + items.length;
  async function worker(): Promise<void> {
    while (!stopped && !opts.signal.aborted && next < items.length) {
      const index = next++;
      const result = results[index] as CohortItemResult;
      try {
        const detail = await work(items[index] as T, opts.signal);
        result.outcome = 'done';
        if (detail !== undefined) result.detail = detail;
      } catch (err) {
        result.outcome = 'failed';
        result.error = errorText(err);
        failures += 1;
        if (opts.onError === 'stop') stopped = true;
      }
      finished += 1;
      void opts.progress?.({
        progress: base + finished,
        total,
        message: `${opts.verb}: ${finished}/${items.length} finished${failures > 0 ? `, ${failures} failed` : ''}`,
      });
    }
  }
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, items.length) }, worker));
  return results;
}

const ItemSchema = z.object({
  id: z.string(),
  label: z.string().optional(),
  project: z.string().optional(),
  summary: z.string().optional(),
  outcome: z.enum(['done', 'failed', 'notStarted']).optional(),
  detail: z.string().optional(),
  error: z.string().optional(),
});

/** A cohort call's structured result: a dry run's page of targets, or every item's outcome. */
export const CohortOutputSchema = z.object({
  action: z.string(),
  count: z.number(),
  digest: z.string(),
  dryRun: z.boolean(),
  confirm: z.string().optional().describe('Dry run: the confirm value for this set, once the user agreed'),
  onError: z.enum(['stop', 'continue']).optional(),
  done: z.number().optional(),
  failed: z.number().optional(),
  notStarted: z.number().optional(),
  items: z.array(ItemSchema),
  listedFrom: z.number().optional(),
  nextListFrom: z.number().optional(),
  unlisted: z.number().optional().describe('Items left out of the list (unsuccessful ones are listed first)'),
});
export type CohortOutput = z.infer<typeof CohortOutputSchema>;

/** `CohortOutputSchema` as writing tools list it (see `compactCohortParam`); results are shaped by cohortPreview/cohortResult. */
export const compactCohortOutput = z
  .record(z.string(), z.unknown())
  .optional()
  .describe('Many targets: count, digest, done/failed/notStarted, items');

/** The leading items whose JSON fits ITEMS_CHAR_BUDGET, their texts bounded. */
function fitItems(items: ReadonlyArray<CohortItemResult | CohortTarget>): CohortOutput['items'] {
  const fitted: CohortOutput['items'] = [];
  let used = 0;
  for (const item of items) {
    const bounded = Object.fromEntries(
      Object.entries(item)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, typeof v === 'string' ? truncateText(v, ITEM_TEXT_MAX) : v]),
    ) as CohortOutput['items'][number];
    used += JSON.stringify(bounded).length;
    if (used > ITEMS_CHAR_BUDGET && fitted.length > 0) break;
    fitted.push(bounded);
  }
  return fitted;
}

/** A dry run: the count, digest and confirm value of the whole set, and one page of its targets. */
export function cohortPreview(
  action: string,
  targets: readonly CohortTarget[],
  confirm: string,
  listFrom: number,
): CohortOutput {
  const page = fitItems(targets.slice(listFrom, listFrom + LIST_PAGE));
  const next = listFrom + page.length;
  return {
    action,
    count: targets.length,
    digest: cohortDigest(targets.map((t) => t.id)),
    dryRun: true,
    confirm,
    items: page,
    listedFrom: listFrom,
    ...(next < targets.length ? { nextListFrom: next } : {}),
  };
}

/** A run: counts of each outcome and the items, in order while they fit, else failed, then not started, then done. */
export function cohortResult(
  action: string,
  results: readonly CohortItemResult[],
  onError: 'stop' | 'continue',
): CohortOutput {
  const count = (o: CohortOutcome) => results.filter((r) => r.outcome === o).length;
  let listed = fitItems(results.slice(0, MAX_LISTED_RESULTS));
  if (listed.length < results.length) {
    const of = (o: CohortOutcome) => results.filter((r) => r.outcome === o);
    listed = fitItems([...of('failed'), ...of('notStarted'), ...of('done')].slice(0, MAX_LISTED_RESULTS));
  }
  return {
    action,
    count: results.length,
    digest: cohortDigest(results.map((r) => r.id)),
    dryRun: false,
    onError,
    done: count('done'),
    failed: count('failed'),
    notStarted: count('notStarted'),
    items: listed,
    ...(listed.length < results.length ? { unlisted: results.length - listed.length } : {}),
  };
}

/** Compact text carrying every field of a cohort output. */
export function renderCohort(out: CohortOutput): string {
  const rows = out.items.map((i) => [
    i.id,
    i.label,
    i.project,
    out.dryRun ? i.summary : [i.outcome, i.detail, i.error].filter((x) => x !== undefined).join(': '),
  ]);
  const head = out.dryRun
    ? `Dry run: ${out.action} ${out.count} targets (set ${out.digest}). Nothing was changed. After the user agreed, repeat without dryRun and with confirm: "${out.confirm ?? ''}".`
    : `${out.action}: ${out.count} targets (set ${out.digest}): ${out.done ?? 0} done, ${out.failed ?? 0} failed, ${out.notStarted ?? 0} not started (onError ${out.onError ?? 'stop'}).`;
  return sections(
    head,
    renderTable(['id', 'label', 'project', out.dryRun ? 'would' : 'outcome'], rows),
    renderFields([
      ['listed from', out.listedFrom],
      ['more: pass cohort.listFrom', out.nextListFrom],
      ['unlisted', out.unlisted],
    ]),
  );
}
