import * as z from 'zod';
import {
  MAX_IMAGE_BYTES,
  MAX_IMAGE_SIZE,
  MAX_MONTAGE,
  WINDOW_PRESETS,
  type WindowPreset,
} from '../client/imaging/limits.js';
import { READ_ONLY, defineTool, writeAnnotations } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import {
  ScanImageOutput,
  ScanSnapshotOutput,
  renderScanImage,
  renderScanSnapshot,
  shapeScanSnapshot,
  shapeScanImage,
} from '../mcp/format-imaging.js';
import { defineWriteTool } from '../mcp/write.js';
import { experimentParam, optionalProjectParam } from '../mcp/params.js';
import { SCAN_VIEWER_URI } from '../mcp/uris.js';

const PRESETS = Object.keys(WINDOW_PRESETS) as [WindowPreset, ...WindowPreset[]];

export const getScanImage = defineTool({
  name: 'getScanImage',
  title: 'Look at a scan',
  description: `A PNG of a scan (IDs from getExperiment): a slice, a montage or 3 orthogonal views, decoded from its DICOM (slices in spatial order) or NIfTI. Max ${MAX_IMAGE_SIZE} px, ${MAX_IMAGE_BYTES / 1e6} MB.`,
  toolset: 'imaging',
  inputSchema: {
    experiment: experimentParam,
    project: optionalProjectParam,
    scan: z.string().min(1).describe('Scan ID'),
    mode: z.enum(['slice', 'montage', 'orthogonal']).default('montage').describe('View'),
    slice: z.number().int().min(0).max(99999).optional().describe('0-based; default middle'),
    count: z.number().int().min(1).max(MAX_MONTAGE).optional().describe('Montage size, default 16'),
    volume: z.number().int().min(0).max(99999).optional().describe('4-D: 0-based time point'),
    window: z
      .union([z.enum(['dicom', ...PRESETS]), z.object({ center: z.number(), width: z.number().positive() })])
      .optional()
      .describe('dicom (default), CT preset or explicit'),
  },
  outputSchema: ScanImageOutput,
  annotations: READ_ONLY,
  writes: false,
  async handler(args, { client, signal, attachImage }) {
    const image = await client.scanImage({ ...args, signal });
    attachImage({ data: image.png, mimeType: 'image/png', width: image.width, height: image.height });
    return shapeScanImage(image);
  },
  render: renderScanImage,
  target: ({ experiment, project, scan }) => ({
    what: `Scan '${scan}' of experiment '${experiment}'`,
    project,
    nextStep: 'use getExperiment to see its scan IDs',
  }),
  // Hosts with MCP Apps show the viewer beside the image; the others get the image content alone.
  ui: { resourceUri: SCAN_VIEWER_URI },
});

export const getScanSnapshot = defineWriteTool({
  name: 'getScanSnapshot',
  title: "XNAT's scan snapshot",
  description: `XNAT's own GIF of a scan: one slice, a montage or a half-size thumbnail. XNAT saves it in the scan's SNAPSHOTS resource (hence not read-only). No window or slice choice: use getScanImage for those. Max ${MAX_IMAGE_SIZE} px.`,
  toolset: 'qc',
  inputSchema: {
    experiment: experimentParam,
    project: optionalProjectParam,
    scan: z.string().min(1).describe('Scan ID'),
    columns: z.number().int().min(1).max(8).default(1).describe('Montage columns'),
    rows: z.number().int().min(1).max(8).default(1).describe('Montage rows'),
    thumbnail: z.boolean().default(false).describe('Half size'),
  },
  outputSchema: ScanSnapshotOutput,
  annotations: writeAnnotations({ destructive: false, idempotent: true }),
  resolve: ({ experiment, project, scan }, { client, signal }) =>
    client.describeObject({ kind: 'scan', experiment, project, scan }, { signal }),
  projects: (target) => [{ project: target.project, action: `make XNAT's snapshot of ${target.summary}` }],
  act: async (_, args, { client, signal, attachImage }) => {
    const snapshot = await client.scanSnapshot({ ...args, maxBytes: MAX_IMAGE_BYTES, signal });
    if (Math.max(snapshot.width, snapshot.height) > MAX_IMAGE_SIZE) {
      throw new ToolInputError(
        `XNAT's snapshot is ${snapshot.width}x${snapshot.height} px, over the ${MAX_IMAGE_SIZE} px cap: ask for the thumbnail or fewer panels, or use getScanImage.`,
      );
    }
    attachImage({
      data: snapshot.image,
      mimeType: snapshot.mimeType,
      width: snapshot.width,
      height: snapshot.height,
    });
    return snapshot;
  },
  audit: (target, _, { experiment, columns, rows, thumbnail }) => ({
    object: `scan ${target.id} of ${experiment}`,
    detail: `snapshot ${columns}X${rows}${thumbnail ? ' thumbnail' : ''} (SNAPSHOTS)`,
  }),
  summarise: (_, snapshot, args) => shapeScanSnapshot(args, snapshot),
  render: renderScanSnapshot,
  target: ({ experiment, project, scan }) => ({
    what: `Scan '${scan}' of experiment '${experiment}'`,
    project,
    nextStep: 'use getExperiment to see its scan IDs, or getScanImage to render its DICOM here',
  }),
});
