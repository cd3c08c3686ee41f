/**
 * Output shapes of copyData: the plan (dry run) and what was done, item by item, with the counts a
 * person checks first. Beside format.ts, whose bounds it uses.
 */
import * as z from 'zod';
import { describePlan, type CopyItem, type CopyOutcome, type CopyPlan } from '../client/copy.js';
import { capArray, mib, truncatedSchema, withTruncated } from './format.js';

const EndSchema = z.object({ server: z.string(), url: z.string(), project: z.string().optional() });

const CopyItemSchema = z.object({
  subject: z.string().describe('Source subject label'),
  experiment: z.string().optional().describe('Source experiment label'),
  action: z.enum(['create', 'merge', 'skip', 'conflict']),
  reason: z.string().optional(),
  subjectExists: z.boolean(),
  scansToCreate: z.array(z.string()),
  subjectResources: z
    .array(z.string())
    .optional()
    .describe(
      "The subject's own resources, copied with this item (once per subject) and counted in its files",
    ),
  filesToCopy: z.number().int(),
  bytesToCopy: z.number(),
  filesSame: z.number().int().describe('Already on the target with the same size and MD5'),
  filesDifferent: z.number().int().describe('On the target with other bytes: replaced (merge)'),
  notCopied: z.array(z.string()).optional().describe('Resources not copied (reconstructions, assessors)'),
  copied: z
    .object({ files: z.number().int(), bytes: z.number(), verified: z.number().int() })
    .optional()
    .describe('Done: files streamed, and verified by size and MD5 on the target'),
  targetId: z.string().optional().describe('The experiment (or subject) on the target'),
  error: z.string().optional(),
});

export const CopyOutput = {
  dryRun: z.boolean(),
  from: EndSchema,
  to: EndSchema,
  summary: z.string(),
  items: z.array(CopyItemSchema),
  truncated: truncatedSchema,
};
export type CopyShaped = z.infer<z.ZodObject<typeof CopyOutput>>;

export interface CopyEnds {
  from: z.infer<typeof EndSchema>;
  to: z.infer<typeof EndSchema>;
}

function shapeItem(item: CopyItem, outcome?: CopyOutcome): z.infer<typeof CopyItemSchema> {
  return {
    subject: item.subject.label,
    ...(item.experiment ? { experiment: item.experiment.label } : {}),
    action: item.action,
    ...(item.reason ? { reason: item.reason } : {}),
    subjectExists: item.subject.state === 'exists',
    scansToCreate: item.scansToCreate,
    ...(item.subjectResources.length > 0 ? { subjectResources: item.subjectResources } : {}),
    filesToCopy: item.action === 'create' || item.action === 'merge' ? item.files.toCopy : 0,
    bytesToCopy: item.action === 'create' || item.action === 'merge' ? item.files.bytes : 0,
    filesSame: item.files.same,
    filesDifferent: item.files.different,
    ...(item.notCopied.length > 0 ? { notCopied: item.notCopied } : {}),
    ...(outcome?.target ? { targetId: outcome.target.experimentId ?? outcome.target.subjectId } : {}),
    ...(outcome && outcome.error === undefined && outcome.target ? { copied: outcome.copied } : {}),
    ...(outcome?.error !== undefined ? { error: outcome.error } : {}),
  };
}

export function shapeCopyPlan(plan: CopyPlan, ends: CopyEnds): CopyShaped {
  const truncated: Record<string, number> = {};
  return withTruncated(
    {
      dryRun: true,
      ...ends,
      summary: `Would copy: ${describePlan(plan)}`,
      items: capArray(plan.items, 'items', truncated).map((i) => shapeItem(i)),
    },
    truncated,
  );
}

export function shapeCopyResult(plan: CopyPlan, outcomes: CopyOutcome[], ends: CopyEnds): CopyShaped {
  const truncated: Record<string, number> = {};
  const failed = outcomes.filter((o) => o.error !== undefined).length;
  const files = outcomes.reduce((n, o) => n + o.copied.files, 0);
  const bytes = outcomes.reduce((n, o) => n + o.copied.bytes, 0);
  const verified = outcomes.reduce((n, o) => n + o.copied.verified, 0);
  // Failures first: they are what the caller acts on.
  const ordered = [...outcomes].sort((a, b) => Number(b.error !== undefined) - Number(a.error !== undefined));
  return withTruncated(
    {
      dryRun: false,
      ...ends,
      summary: `Copied ${files} files (${mib(bytes)}, ${verified} verified by size and MD5) of ${describePlan(plan)}${failed > 0 ? `; ${failed} failed: run again with onExisting merge to resume` : ''}`,
      items: capArray(ordered, 'items', truncated).map((o) => shapeItem(o.item, o)),
    },
    truncated,
  );
}

function endText(e: z.infer<typeof EndSchema>): string {
  return `${e.server} (${e.url})${e.project ? ` project ${e.project}` : ''}`;
}

export function renderCopy(out: CopyShaped): string {
  const lines = [`${out.summary}`, `from ${endText(out.from)} to ${endText(out.to)}`];
  for (const i of out.items) {
    const name = i.experiment ? `${i.subject}/${i.experiment}` : i.subject;
    const files = `${i.filesToCopy} files to copy (${i.bytesToCopy} bytes), ${i.filesSame} same, ${i.filesDifferent} different`;
    const done = i.copied
      ? `; copied ${i.copied.files} files (${i.copied.bytes} bytes), verified ${i.copied.verified}${i.targetId ? `, now ${i.targetId}` : ''}`
      : '';
    const scans = i.scansToCreate.length > 0 ? `; new scans ${i.scansToCreate.join(',')}` : '';
    const own = i.subjectResources ? `; with the subject's resources ${i.subjectResources.join(',')}` : '';
    const skipped = i.notCopied ? `; not copied: ${i.notCopied.join(', ')}` : '';
    lines.push(
      `- ${name}: ${i.action}${i.reason ? ` (${i.reason})` : ''}; ${files}${scans}${own}${skipped}${done}${i.error ? `; FAILED: ${i.error}` : ''}`,
    );
  }
  if (out.truncated) lines.push(`(${out.truncated.items ?? 0} more items not listed)`);
  return lines.join('\n');
}
