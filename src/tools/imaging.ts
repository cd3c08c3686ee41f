import * as z from 'zod';
import {
  MAX_IMAGE_BYTES,
  MAX_IMAGE_SIZE,
  MAX_MONTAGE,
  WINDOW_PRESETS,
  type WindowPreset,
} from '../client/index.js';
import { READ_ONLY, defineTool } from '../mcp/define.js';
import { ScanImageOutput, renderScanImage, shapeScanImage } from '../mcp/format.js';
import { experimentParam, optionalProjectParam } from '../mcp/params.js';

const PRESETS = Object.keys(WINDOW_PRESETS) as [WindowPreset, ...WindowPreset[]];

export const getScanImage = defineTool({
  name: 'getScanImage',
  title: 'Look at a scan',
  description: `A PNG of a scan (IDs from getExperiment): a slice, a montage or 3 orthogonal views, decoded from its DICOM in spatial order. Max ${MAX_IMAGE_SIZE} px, ${MAX_IMAGE_BYTES / 1e6} MB.`,
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
    attachImage({ data: image.png, mimeType: 'image/png' });
    return shapeScanImage(image);
  },
  render: renderScanImage,
  target: ({ experiment, project, scan }) => ({
    what: `Scan '${scan}' of experiment '${experiment}'`,
    project,
    nextStep: 'use getExperiment to see its scan IDs',
  }),
});
