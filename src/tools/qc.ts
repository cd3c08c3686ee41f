import * as z from 'zod';
import type { ExperimentDetail } from '../client/index.js';
import { scanTargetId, splitScanTarget } from '../mcp/cohort.js';
import { writeAnnotations } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import { renderFields, renderTable, sections, truncateText } from '../mcp/format.js';
import { experimentParam, optionalProjectParam } from '../mcp/params.js';
import { experimentTarget } from '../mcp/targets.js';
import { defineWriteTool } from '../mcp/write.js';

/** XNAT's scan quality (usability) values. */
const QUALITY = ['usable', 'questionable', 'unusable'] as const;

const QcOutput = {
  action: z.string(),
  experiment: z.string(),
  project: z.string(),
  dryRun: z.boolean().optional(),
  scan: z.string().optional(),
  changes: z
    .array(z.object({ field: z.string(), old: z.string(), new: z.string() }))
    .optional()
    .describe('rateScan: old and new values read back'),
  assessment: z
    .object({
      id: z.string(),
      label: z.string(),
      date: z.string(),
      rater: z.string().optional(),
      pass: z.string().optional(),
      comments: z.string().optional(),
      scans: z
        .array(z.object({ scan: z.string(), quality: z.string(), note: z.string().optional() }))
        .optional()
        .describe('Per-scan ratings'),
    })
    .optional()
    .describe('createQcAssessment: as read back'),
  summary: z.string(),
};
type QcOut = z.infer<z.ZodObject<typeof QcOutput>>;

interface QcPlan {
  session: ExperimentDetail;
  summary: string;
}

const today = (): string => new Date().toISOString().slice(0, 10);

/** A cohort of rateScan without `scan` is of scans (`<experiment>/<scan>`); with it, of sessions (that scan in each). */
const ratesScans = (args: { action: string; scan?: string | undefined }): boolean =>
  args.action === 'rateScan' && args.scan === undefined;

export const recordQc = defineWriteTool({
  name: 'recordQc',
  title: 'Record visual QC of an XNAT session',
  description:
    "Visual QC: rateScan sets a scan's quality (usable, questionable, unusable) and note; createQcAssessment adds a manual QC assessment (rater, pass, comments, per-scan ratings) to the session. Values are read back. Scan IDs from getExperiment.",
  toolset: 'qc',
  inputSchema: {
    action: z.enum(['rateScan', 'createQcAssessment']).describe('What to record'),
    experiment: experimentParam,
    project: optionalProjectParam,
    scan: z
      .string()
      .min(1)
      .optional()
      .describe('rateScan: scan ID (leave out for a cohort of <experiment>/<scan> targets)'),
    quality: z.enum(QUALITY).optional().describe('rateScan: the rating'),
    note: z.string().max(2000).optional().describe('rateScan: scan note; createQcAssessment: comments'),
    pass: z.boolean().optional().describe('createQcAssessment: overall verdict'),
    rater: z.string().max(255).optional().describe('createQcAssessment: who rated'),
    label: z.string().min(1).optional().describe('createQcAssessment: label (default <session>_QC)'),
    scans: z
      .array(
        z.object({
          scan: z.string().min(1).describe('Scan ID'),
          quality: z.enum(QUALITY).describe('Its rating'),
          note: z.string().max(2000).optional().describe('Its comments'),
        }),
      )
      .max(500)
      .optional()
      .describe('createQcAssessment: per-scan ratings'),
  },
  outputSchema: QcOutput,
  // A rating replaces the previous one, which the result and the audit line keep; nothing is deleted.
  annotations: writeAnnotations({ destructive: false, idempotent: false }),
  async resolve(args, { client, signal }) {
    const session = await client.getExperiment(args.experiment, { project: args.project, signal });
    if (args.action === 'rateScan') {
      if (args.scan === undefined || args.quality === undefined) {
        throw new ToolInputError('rateScan needs scan and quality');
      }
      if (args.scans !== undefined) {
        throw new ToolInputError(
          'rateScan rates one scan: per-scan ratings (scans) go with createQcAssessment',
        );
      }
      const scan = session.scans.find((s) => s.id === args.scan);
      if (!scan) {
        throw new ToolInputError(
          `Scan "${args.scan}" is not in ${session.label}; its scans are ${session.scans.map((s) => s.id).join(', ') || 'none'}`,
        );
      }
      return {
        session,
        summary: `scan ${scan.id} of ${session.label}: ${scan.quality || 'unrated'} → ${args.quality}`,
      };
    }
    if (args.scan !== undefined || args.quality !== undefined) {
      throw new ToolInputError(
        'createQcAssessment rates the session: give per-scan ratings in scans, or use action rateScan',
      );
    }
    return {
      session,
      summary: `manual QC assessment ${args.label ?? `${session.label}_QC`} of ${session.label}${args.scans ? ` rating ${args.scans.length} scan(s)` : ''}`,
    };
  },
  projects: ({ session, summary }: QcPlan, args) => [
    { project: session.owningProject, action: `${args.action} (${summary})` },
  ],
  guard: {
    preview: ({ session, summary }, args): QcOut => ({
      action: args.action,
      experiment: session.id,
      project: session.owningProject,
      dryRun: true,
      summary: `Would record ${summary}`,
    }),
    confirmation: () => undefined,
  },
  async act({ session }, args, { client, signal }) {
    if (args.action === 'rateScan') {
      const standard = {
        quality: args.quality ?? '',
        ...(args.note === undefined ? {} : { note: args.note }),
      };
      const { changes } = await client.updateFields(
        { kind: 'scan', experiment: session.id, scan: args.scan },
        { standard },
        { signal },
      );
      return { changes };
    }
    const { assessment } = await client.createQcAssessment({
      experiment: session.id,
      label: args.label,
      rater: args.rater,
      comments: args.note,
      pass: args.pass,
      date: today(),
      scans: args.scans?.map((r) => ({ scan: r.scan, rating: r.quality, comments: r.note })),
      signal,
    });
    return { assessment };
  },
  audit: ({ session }, result, args) =>
    result.assessment
      ? { object: `assessor ${result.assessment.id}`, detail: `session=${session.id}` }
      : { object: `scan ${args.scan} of ${session.id}`, detail: `quality=${args.quality}` },
  summarise: ({ session, summary }, result, args): QcOut => {
    const a = result.assessment;
    return {
      action: args.action,
      experiment: session.id,
      project: session.owningProject,
      ...(args.scan === undefined ? {} : { scan: args.scan }),
      ...(result.changes ? { changes: result.changes } : {}),
      ...(a
        ? {
            assessment: {
              id: a.id,
              label: a.label,
              date: a.date,
              ...(a.attributes.rater ? { rater: a.attributes.rater } : {}),
              ...(a.attributes.pass ? { pass: a.attributes.pass } : {}),
              ...(a.attributes.comments ? { comments: truncateText(a.attributes.comments, 500) } : {}),
              ...(a.scans.length > 0
                ? {
                    scans: a.scans.map((s) => ({
                      scan: s.id,
                      quality: s.quality,
                      ...(s.note ? { note: truncateText(s.note, 500) } : {}),
                    })),
                  }
                : {}),
            },
          }
        : {}),
      summary: `Recorded ${summary}`,
    };
  },
  cohort: {
    kind: (args) => (ratesScans(args) ? 'scan' : 'experiment'),
    names: ['experiment'],
    item: (id, args) => {
      if (args.label !== undefined) {
        throw new ToolInputError('Each session of a cohort gets its own <session>_QC: leave out label.');
      }
      return ratesScans(args) ? { ...args, ...splitScanTarget(id) } : { ...args, experiment: id };
    },
    verb: (args) =>
      args.action !== 'rateScan'
        ? 'add a manual QC assessment to'
        : ratesScans(args)
          ? `set quality ${args.quality ?? ''} of`
          : `rate scan ${args.scan ?? ''} of`,
    // A rating changes a scan: the item is named by its experiment and scan, and shows the scan's type.
    identify: ({ session, summary }, args) => {
      const type = session.scans.find((s) => s.id === args.scan)?.type;
      return {
        id: args.scan === undefined ? session.id : scanTargetId(session.id, args.scan),
        label: session.label,
        project: session.owningProject,
        summary: type ? `${summary} [${type}]` : summary,
      };
    },
    detail: (_, result) =>
      result.assessment
        ? `assessment ${result.assessment.id}`
        : result.changes?.map((c) => `${c.field}=${c.new}`).join(', '),
  },
  render: (out) =>
    sections(
      `${out.summary} [${out.action}; experiment ${out.experiment}, project ${out.project}]`,
      out.changes === undefined
        ? ''
        : renderTable(
            ['field', 'old', 'new'],
            out.changes.map((c) => [c.field, c.old, c.new]),
          ),
      out.assessment === undefined
        ? ''
        : renderFields([
            ['assessment', `${out.assessment.id} ${out.assessment.label}`],
            ['date', out.assessment.date],
            ['rater', out.assessment.rater],
            ['pass', out.assessment.pass],
            ['comments', out.assessment.comments],
          ]),
      out.assessment?.scans === undefined
        ? ''
        : renderTable(
            ['scan', 'quality', 'note'],
            out.assessment.scans.map((s) => [s.scan, s.quality, s.note ?? '']),
          ),
    ),
  target: ({ experiment, project }) => experimentTarget(experiment, project),
});
