/**
 * Output shape of the BIDS export tool: the plan (every scan's path, scans without NIfTI, unmapped
 * scans with the reason, collisions) and, after the export, what was written and what was kept.
 * Beside format.ts (the one output shaper), whose bounds it uses.
 */
import * as z from 'zod';
import type { BidsExportResult, BidsPlanned } from '../client/index.js';
import { capArray, renderFields, renderTable, sections, truncatedSchema, withTruncated } from './format.js';

const ScanRefSchema = z.object({
  experiment: z.string().describe('Accession ID'),
  session: z.string().describe('XNAT session label'),
  scan: z.string(),
  seriesDescription: z.string(),
});

export const BidsExportOutput = {
  project: z.string(),
  destination: z.string(),
  mapping: z.string().describe('Which map placed the scans'),
  dryRun: z.boolean(),
  subjectCount: z.number().int(),
  sessionCount: z.number().int(),
  scans: z
    .array(
      ScanRefSchema.extend({
        path: z.string().describe('BIDS path without extension (.nii.gz and .json are added)'),
        rule: z.string().describe('The map entry that placed it'),
        nifti: z.boolean().describe('false: XNAT has no NIfTI for it, so it is not exported'),
      }),
    )
    .describe('Every mapped scan, by path'),
  scanCount: z.number().int(),
  withoutNiftiCount: z
    .number()
    .int()
    .describe('Mapped scans without a NIFTI resource (reported, not exported)'),
  unmapped: z.array(ScanRefSchema.extend({ type: z.string(), reason: z.string() })),
  unmappedCount: z.number().int(),
  collisions: z.array(
    z.object({
      path: z.string(),
      scans: z.array(z.string()).describe('experiment/scan'),
      reason: z.string(),
    }),
  ),
  collisionCount: z.number().int(),
  written: z.array(z.string()).optional().describe('Files written, relative to the destination'),
  writtenCount: z.number().int().optional(),
  kept: z.array(z.object({ path: z.string(), reason: z.string() })).optional(),
  keptCount: z.number().int().optional(),
  summary: z.string(),
  truncated: truncatedSchema,
};
export type BidsExportShaped = z.infer<z.ZodObject<typeof BidsExportOutput>>;

export function shapeBidsExport(
  planned: BidsPlanned,
  destination: string,
  result: BidsExportResult | undefined,
): BidsExportShaped {
  const { plan } = planned;
  const truncated: Record<string, number> = {};
  const ref = (s: { experiment: string; session: string; scan: string; seriesDescription: string }) => ({
    experiment: s.experiment,
    session: s.session,
    scan: s.scan,
    seriesDescription: s.seriesDescription,
  });
  // Scans without NIfTI first: they are what the user has to act on.
  const scans = [...plan.scans].sort(
    (a, b) => Number(a.source !== undefined) - Number(b.source !== undefined),
  );
  const withoutNifti = plan.scans.filter((s) => s.source === undefined).length;
  const exported = plan.scans.length - withoutNifti;
  const counts = `${exported} of ${plan.scans.length} mapped scans have NIfTI${withoutNifti > 0 ? ` (${withoutNifti} without: not exported)` : ''}; ${plan.unmapped.length} unmapped; ${plan.collisions.length} collisions`;
  const summary = result
    ? `Exported project ${planned.project.id} to BIDS in ${destination}: ${result.written.length} files written, ${result.kept.length} kept. ${counts}. Mapping: ${planned.mappingOrigin}.`
    : `Dry run: nothing written. ${counts}. Mapping: ${planned.mappingOrigin}.`;
  return withTruncated(
    {
      project: planned.project.id,
      destination,
      mapping: planned.mappingOrigin,
      dryRun: result === undefined,
      subjectCount: plan.subjects.length,
      sessionCount: plan.sessions.length,
      scans: capArray(
        scans.map((s) => ({ ...ref(s), path: s.path, rule: s.rule, nifti: s.source !== undefined })),
        'scans',
        truncated,
      ),
      scanCount: plan.scans.length,
      withoutNiftiCount: withoutNifti,
      unmapped: capArray(
        plan.unmapped.map((u) => ({ ...ref(u), type: u.type, reason: u.reason })),
        'unmapped',
        truncated,
      ),
      unmappedCount: plan.unmapped.length,
      collisions: capArray(
        plan.collisions.map((c) => ({
          path: c.path,
          scans: c.scans.map((s) => `${s.experiment}/${s.scan}`),
          reason: c.reason,
        })),
        'collisions',
        truncated,
      ),
      collisionCount: plan.collisions.length,
      ...(result
        ? {
            written: capArray(result.written, 'written', truncated),
            writtenCount: result.written.length,
            kept: capArray(result.kept, 'kept', truncated),
            keptCount: result.kept.length,
          }
        : {}),
      summary,
    },
    truncated,
  );
}

export function renderBidsExport(out: BidsExportShaped): string {
  return sections(
    out.summary,
    renderFields([
      ['project', out.project],
      ['destination', out.destination],
      ['mapping', out.mapping],
      ['subjects', out.subjectCount],
      ['sessions', out.sessionCount],
      ['mapped scans', out.scanCount],
      ['without NIfTI', out.withoutNiftiCount],
      ['unmapped', out.unmappedCount],
      ['collisions', out.collisionCount],
    ]),
    renderTable(
      ['path', 'experiment', 'scan', 'seriesDescription', 'nifti', 'rule'],
      out.scans.map((s) => [
        s.path,
        s.experiment,
        s.scan,
        s.seriesDescription,
        s.nifti ? 'yes' : 'NO',
        s.rule,
      ]),
    ),
    out.unmapped.length > 0
      ? renderTable(
          ['unmapped', 'experiment', 'scan', 'seriesDescription', 'type', 'reason'],
          out.unmapped.map((u) => [u.session, u.experiment, u.scan, u.seriesDescription, u.type, u.reason]),
        )
      : '',
    out.collisions.length > 0
      ? renderTable(
          ['collision', 'scans', 'reason'],
          out.collisions.map((c) => [c.path, c.scans.join(' '), c.reason]),
        )
      : '',
    out.written && out.written.length > 0
      ? renderTable(
          ['written'],
          out.written.map((w) => [w]),
        )
      : '',
    out.kept && out.kept.length > 0
      ? renderTable(
          ['kept', 'reason'],
          out.kept.map((k) => [k.path, k.reason]),
        )
      : '',
    renderFields([
      ['written', out.writtenCount],
      ['kept', out.keptCount],
      ['left out', out.truncated ? JSON.stringify(out.truncated) : undefined],
    ]),
  );
}
