/**
 * Output shapes of the imaging tools: DICOM headers, rendered scan images and XNAT snapshots.
 * Beside format.ts (the one output shaper), which holds everything the other tools share.
 */
import * as z from 'zod';
import type { DicomElement, DicomHeader, DicomVariation, ScanImage, Snapshot } from '../client/index.js';
import { capArray, truncatedSchema, withTruncated } from './format.js';
import { truncateText } from './text.js';

// ---------------------------------------------------------------------------------------------
// DICOM headers

/** Longest header value shown; XNAT already stops at 255 characters. */
const DICOM_VALUE_MAX = 160;

const DicomElementItemSchema = z.object({
  tag: z.string(),
  parent: z.string().optional().describe('Sequence this element is an item element of'),
  vr: z.string(),
  name: z.string(),
  value: z.string().optional(),
  private: z.boolean().optional().describe('Vendor private tag'),
});
type DicomElementItem = z.infer<typeof DicomElementItemSchema>;

export const DicomHeaderOutput = {
  experiment: z.string(),
  project: z.string(),
  scan: z.string(),
  instances: z.number().int().describe('DICOM files of the scan'),
  file: z.string().optional().describe('File read (one-file header)'),
  instance: z.number().int().optional(),
  compared: z
    .array(z.object({ file: z.string(), instance: z.number().int() }))
    .optional()
    .describe('Files read (compare)'),
  elements: z
    .array(DicomElementItemSchema)
    .describe('The header; with compare, the elements equal in every file'),
  varying: z
    .array(DicomElementItemSchema.omit({ value: true }).extend({ values: z.array(z.string()) }))
    .optional()
    .describe('compare: elements that differ, one value per compared file ("" = absent)'),
  truncated: truncatedSchema,
};
export type DicomHeaderShaped = z.infer<z.ZodObject<typeof DicomHeaderOutput>>;

function shapeDicomElement(e: Omit<DicomElement, 'value'> & { value?: string }): DicomElementItem {
  return {
    tag: e.tag,
    ...(e.parent ? { parent: e.parent } : {}),
    vr: e.vr,
    name: e.name,
    ...(e.value === undefined ? {} : { value: truncateText(e.value, DICOM_VALUE_MAX) }),
    ...(e.private ? { private: true } : {}),
  };
}

export function shapeDicomHeader(h: DicomHeader): DicomHeaderShaped {
  const truncated: Record<string, number> = {};
  return withTruncated(
    {
      experiment: h.experiment,
      project: h.project,
      scan: h.scan,
      instances: h.instances,
      file: h.file,
      instance: h.instance,
      elements: capArray(h.elements, 'elements', truncated).map(shapeDicomElement),
    },
    truncated,
  );
}

export function shapeDicomVariation(v: DicomVariation): DicomHeaderShaped {
  const truncated: Record<string, number> = {};
  return withTruncated(
    {
      experiment: v.experiment,
      project: v.project,
      scan: v.scan,
      instances: v.instances,
      compared: v.files,
      elements: capArray(v.constant, 'elements', truncated).map(shapeDicomElement),
      varying: capArray(v.varying, 'varying', truncated).map((e) => ({
        ...shapeDicomElement({ ...e, value: undefined }),
        values: e.values.map((value) => truncateText(value, DICOM_VALUE_MAX)),
      })),
    },
    truncated,
  );
}

export const ScanImageOutput = {
  mode: z.enum(['slice', 'montage', 'orthogonal']),
  source: z.enum(['dicom', 'nifti']),
  slices: z.array(z.number()),
  sliceCount: z.number(),
  volume: z.number(),
  volumeCount: z.number(),
  window: z.object({ center: z.number(), width: z.number(), source: z.string() }).optional(),
  width: z.number(),
  height: z.number(),
  transferSyntax: z.string(),
  filesRead: z.number(),
};
export type ScanImageShaped = z.infer<z.ZodObject<typeof ScanImageOutput>>;

export function shapeScanImage(image: ScanImage): ScanImageShaped {
  return {
    mode: image.mode,
    source: image.source,
    slices: image.slices,
    sliceCount: image.sliceCount,
    volume: image.volume,
    volumeCount: image.volumeCount,
    ...(image.window ? { window: image.window } : {}),
    width: image.width,
    height: image.height,
    transferSyntax: image.transferSyntax,
    filesRead: image.filesRead,
  };
}

export function renderScanImage(o: ScanImageShaped): string {
  const shown =
    o.mode === 'orthogonal'
      ? `axial/coronal/sagittal through slice ${o.slices[0]}`
      : o.slices.length === 1
        ? `slice ${o.slices[0]}`
        : `${o.slices.length} slices (${o.slices.join(', ')})`;
  const window = o.window
    ? `window C${round(o.window.center)}/W${round(o.window.width)} (${o.window.source})`
    : 'colour, no window';
  return `${o.mode}: ${shown} of ${o.sliceCount}, volume ${o.volume} of ${o.volumeCount}, ${window}, ${o.width}x${o.height} PNG rendered from ${o.source === 'nifti' ? 'NIfTI' : 'DICOM'} (${o.transferSyntax}, ${o.filesRead} files read).`;
}

function round(n: number): string {
  return String(Math.round(n * 100) / 100);
}

export const ScanSnapshotOutput = {
  source: z.literal('xnat-snapshot'),
  columns: z.number(),
  rows: z.number(),
  thumbnail: z.boolean(),
  mimeType: z.string(),
  width: z.number(),
  height: z.number(),
};
export type ScanSnapshotShaped = z.infer<z.ZodObject<typeof ScanSnapshotOutput>>;

export function shapeScanSnapshot(
  args: { columns: number; rows: number; thumbnail: boolean },
  s: Snapshot,
): ScanSnapshotShaped {
  const { columns, rows, thumbnail } = args;
  return {
    source: 'xnat-snapshot',
    columns,
    rows,
    thumbnail,
    mimeType: s.mimeType,
    width: s.width,
    height: s.height,
  };
}

export function renderScanSnapshot(o: ScanSnapshotShaped): string {
  return `XNAT's ${o.thumbnail ? 'thumbnail' : 'snapshot'} (${o.columns}X${o.rows}, source ${o.source}): ${o.width}x${o.height} ${o.mimeType}, saved in the scan's SNAPSHOTS resource.`;
}
