/**
 * The `bids` toolset: a project (or some of its subjects or sessions) exported as a BIDS dataset into
 * an allowed local folder. dryRun shows the plan (every scan's BIDS path, scans without NIfTI,
 * unmapped scans and why, collisions) before anything is written; the export is resumable.
 */
import * as z from 'zod';
import { writeAnnotations } from '../mcp/define.js';
import { BidsExportOutput, renderBidsExport, shapeBidsExport } from '../mcp/format-bids.js';
import { idParam, localPathParam, projectParam, textParam } from '../mcp/params.js';
import { progressReporter } from '../mcp/progress.js';
import { projectTarget } from '../mcp/targets.js';
import { ToolInputError } from '../mcp/errors.js';
import { defineWriteTool } from '../mcp/write.js';
import type { BidsMappingChoice, BidsmapEntry, Dcm2bidsConfig, ExplicitRule } from '../client/index.js';
import { BidsmapEntrySchema, Dcm2bidsConfigSchema, ExplicitRuleSchema } from '../client/bids/mapping.js';

const names = (what: string) =>
  z
    .array(idParam(what))
    .min(1)
    .max(1000)
    .optional()
    .describe(`${what} labels or IDs in the project (all when absent)`);

export const exportBids = defineWriteTool({
  name: 'exportBids',
  title: 'Export a project to a BIDS dataset',
  description:
    "Exports a project's imaging sessions (or some subjects or sessions) as a BIDS dataset into a local folder in the allowed directories: NIfTI (and bval/bvec) from the scans' NIFTI resources, a sidecar JSON per image from its DICOM header, dataset_description.json, participants.tsv/.json (demographics, custom variables) and sessions.tsv. Scans are placed by XNAT's bidsmap when the project or site has one (mapping: auto), else by a default from scan types and series descriptions; or pass bidsmap, dcm2bidsConfig or rules. dryRun: true shows the plan first: every scan's path, scans without NIfTI (never exported silently), unmapped scans and why, collisions. Repeating the call resumes; existing different files are kept unless overwrite.",
  toolset: 'bids',
  inputSchema: {
    project: projectParam,
    subjects: names('Subject'),
    experiments: names('Session'),
    mapping: z
      .enum(['auto', 'xnat', 'default'])
      .default('auto')
      .describe(
        "auto: XNAT's bidsmap if any, else default; xnat: XNAT's bidsmap (error if none); default: scan types and descriptions",
      ),
    bidsmap: z
      .array(BidsmapEntrySchema)
      .min(1)
      .max(500)
      .optional()
      .describe("A bidsmap in XNAT's form (exact series description, any case)"),
    dcm2bidsConfig: Dcm2bidsConfigSchema.optional().describe(
      'A dcm2bids configuration: {"descriptions":[{"datatype","suffix","custom_entities","criteria":{"SeriesDescription":"*T1*"}}]}',
    ),
    rules: z
      .array(ExplicitRuleSchema)
      .min(1)
      .max(200)
      .optional()
      .describe('Explicit rules, first match wins'),
    sessionLabels: z
      .enum(['strip-subject', 'label'])
      .default('strip-subject')
      .describe('strip-subject: session BMR001_MR1 of subject BMR001 is ses-MR1; label: ses-BMR001MR1'),
    includeUnusable: z.boolean().default(false).describe('true: export scans rated unusable too'),
    destination: localPathParam.describe('Dataset root folder (created if missing)'),
    name: textParam('Dataset name').optional().describe("Dataset name (default: the project's name)"),
    overwrite: z
      .boolean()
      .default(false)
      .describe('true: replace local files that differ (needs confirmation)'),
  },
  outputSchema: BidsExportOutput,
  annotations: writeAnnotations({ destructive: true, idempotent: true }),
  projects: (_target, args) => [{ project: args.project, action: `export project ${args.project} to BIDS` }],
  plan: async (_target, args, { client, safety, signal }) => {
    const destDir = await safety.resolveLocalPath(args.destination, 'write');
    const planned = await client.planBidsExport({
      project: args.project,
      ...(args.subjects ? { subjects: args.subjects } : {}),
      ...(args.experiments ? { experiments: args.experiments } : {}),
      mapping: mappingChoice(args),
      sessionLabels: args.sessionLabels,
      includeUnusable: args.includeUnusable,
      signal,
    });
    return { planned, destDir };
  },
  guard: {
    preview: ({ planned, destDir }) => shapeBidsExport(planned, destDir, undefined),
    confirmation: ({ destDir }, { overwrite }) =>
      overwrite
        ? { action: 'Replace differing files of the BIDS dataset in', target: destDir, expected: 'overwrite' }
        : undefined,
  },
  act: ({ planned, destDir }, args, { client, signal, progress }) =>
    client.exportBids(planned, {
      project: args.project,
      destDir,
      ...(args.name !== undefined ? { name: args.name } : {}),
      overwrite: args.overwrite,
      signal,
      onProgress: progressReporter(progress, 'downloaded'),
    }),
  audit: ({ destDir }, result, args) =>
    result.written.length > 0
      ? { object: `project ${args.project}`, detail: `bids files=${result.written.length} to=${destDir}` }
      : undefined,
  summarise: ({ planned, destDir }, result) => shapeBidsExport(planned, destDir, result),
  render: renderBidsExport,
  target: (args) => projectTarget(args.project),
});

/** The map the call names: at most one of bidsmap, dcm2bidsConfig and rules, else the mapping mode. */
function mappingChoice(args: {
  mapping: 'auto' | 'xnat' | 'default';
  bidsmap?: BidsmapEntry[] | undefined;
  dcm2bidsConfig?: Dcm2bidsConfig | undefined;
  rules?: ExplicitRule[] | undefined;
}): BidsMappingChoice {
  const given = [
    args.bidsmap && 'bidsmap',
    args.dcm2bidsConfig && 'dcm2bidsConfig',
    args.rules && 'rules',
  ].filter((g): g is string => typeof g === 'string');
  if (given.length > 1) throw new ToolInputError(`Give one map, not ${given.join(' and ')}.`);
  if (args.bidsmap) return { bidsmap: args.bidsmap };
  if (args.dcm2bidsConfig) return { dcm2bids: args.dcm2bidsConfig };
  if (args.rules) return { rules: args.rules };
  return args.mapping;
}
