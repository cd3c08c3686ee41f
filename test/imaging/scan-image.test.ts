/**
 * getScanImage through a real MCP client over Streamable HTTP against the sandbox: real-world DICOM
 * files (pydicom's test files, every common transfer syntax) uploaded to sandbox scans through the
 * client, rendered by the tool, and compared with an independent decode (dcmtk's dcm2pnm, else
 * pydicom) of the same frame: correlation above 0.95.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { niftiGzFile } from '../../src/sandbox/dicom.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { startHttpServer, type RunningHttpServer } from '../../src/transports/http.js';
import { selectTools } from '../../src/tools/index.js';
import { ALICE, textOf } from '../server/helpers.js';
import { syntheticMosaic, syntheticSeries } from './synthetic.js';

const TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const REFERENCE = join(import.meta.dirname, 'reference.py');
const available = existsSync(join(TEST_FILES, 'MR_small.dcm'));
if (!available && process.env.CI === 'true') {
  throw new Error(`${TEST_FILES} is missing: install python3-pydicom and dcmtk (see .ci/run)`);
}
if (!available)
  console.warn(`imaging tests skipped: ${TEST_FILES} is missing (apt-get install python3-pydicom dcmtk)`);

let sandbox: RunningSandbox;
let xnat: XnatClient;
let http: RunningHttpServer;
let mcp: Client;
let experiment: string;
let scans = 0;
const tmp = mkdtempSync(join(tmpdir(), 'xnat-mcp-imaging-'));

beforeAll(async () => {
  if (!available) return;
  sandbox = await startSandbox({ archive: createDemoArchive() });
  xnat = new XnatClient({ url: sandbox.url, ...ALICE });
  // imaging is on by default; qc (getScanSnapshot writes into SNAPSHOTS) is switched on here.
  http = await startHttpServer(
    { client: xnat },
    { toolsets: ['core', 'browse', 'curate', 'transfer', 'imaging', 'qc'] },
    { port: 0 },
  );
  mcp = new Client({ name: 'imaging-test', version: '0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(http.url)));
  await mcp.listTools();
  const created = await mcp.callTool({
    name: 'createSubject',
    arguments: { project: 'BRAIN_MR', label: 'IMG_SUBJ' },
  });
  const subject = (created.structuredContent as { id: string }).id;
  const session = await mcp.callTool({
    name: 'createExperiment',
    arguments: { project: 'BRAIN_MR', subject, label: 'IMG_MR', xsiType: 'xnat:mrSessionData' },
  });
  experiment = (session.structuredContent as { id: string }).id;
});

afterAll(async () => {
  await mcp?.close();
  await http?.close();
  await xnat?.close();
  await sandbox?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** A new scan holding `files` (name → bytes) in its DICOM resource, uploaded through the client. */
async function scanWith(files: Record<string, Buffer>, resource = 'DICOM'): Promise<string> {
  const scan = String(++scans);
  const auth = Buffer.from(`${ALICE.user}:${ALICE.password}`).toString('base64');
  const res = await fetch(
    `${sandbox.url}/data/experiments/${experiment}/scans/${scan}?xsiType=xnat:mrScanData`,
    {
      method: 'PUT',
      headers: { authorization: `Basic ${auth}` },
    },
  );
  expect(res.status).toBeLessThan(300);
  const dir = mkdtempSync(join(tmp, 'scan-'));
  const entries = Object.entries(files).map(([name, bytes]) => {
    writeFileSync(join(dir, name), bytes);
    return { localPath: join(dir, name), remotePath: name };
  });
  await xnat.upload({
    parent: { experiment, scan },
    resource,
    format: resource,
    files: entries,
    concurrency: 8,
  });
  return scan;
}

interface Rendered {
  out: {
    slices: number[];
    sliceCount: number;
    volumeCount: number;
    window?: { center: number; width: number; source: string };
    width: number;
    height: number;
    bytes: number;
    transferSyntax: string;
    filesRead: number;
  };
  png: Buffer;
  text: string;
  path: string;
}

async function render(scan: string, args: Record<string, unknown> = {}): Promise<Rendered> {
  const result = (await mcp.callTool({
    name: 'getScanImage',
    arguments: { experiment, scan, ...args },
  })) as CallToolResult;
  if (result.isError) throw new Error(textOf(result));
  const image = result.content.find((c) => c.type === 'image');
  if (image?.type !== 'image') throw new Error('no image content');
  expect(image.mimeType).toBe('image/png');
  const png = Buffer.from(image.data, 'base64');
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const path = join(tmp, `render-${scan}-${Math.random().toString(36).slice(2)}.png`);
  writeFileSync(path, png);
  return { out: result.structuredContent as Rendered['out'], png, text: textOf(result), path };
}

function python(...args: string[]): Record<string, unknown> {
  return JSON.parse(execFileSync('/usr/bin/python3', [REFERENCE, ...args], { encoding: 'utf8' })) as Record<
    string,
    unknown
  >;
}

function correlation(rendered: Rendered, dicom: string, frame: number): number {
  const w = rendered.out.window;
  const result = python(
    'compare',
    rendered.path,
    dicom,
    String(frame),
    w ? String(w.center) : 'none',
    w ? String(w.width) : 'none',
  );
  return result.correlation as number;
}

/** pydicom's real-world files: one per transfer syntax and pixel kind. */
const CASES: Array<[file: string, what: string, frame?: number]> = [
  ['MR_small_implicit.dcm', 'implicit VR little endian, signed'],
  ['MR_small.dcm', 'explicit VR little endian, signed'],
  ['MR_small_bigendian.dcm', 'explicit VR big endian'],
  ['image_dfl.dcm', 'deflated explicit VR little endian'],
  ['MR_small_RLE.dcm', 'RLE lossless'],
  ['CT_small.dcm', 'CT, signed, rescaled'],
  ['JPEG-lossy.dcm', 'JPEG baseline/extended (process 2/4), 12-bit'],
  ['JPGExtended.dcm', 'JPEG extended'],
  ['SC_rgb_jpeg_dcmtk.dcm', 'JPEG baseline, YBR_FULL colour'],
  ['SC_rgb_dcmtk_+eb+cy+np.dcm', 'JPEG baseline, YBR_FULL_422'],
  ['rtdose_rle.dcm', 'RLE multi-frame, 32-bit', 3],
  ['liver_1frame.dcm', '1-bit'],
  ['SC_rgb_jpeg_gdcm.dcm', 'JPEG lossless SV1, RGB'],
  ['MR_small_jpeg_ls_lossless.dcm', 'JPEG-LS lossless'],
  ['MR_small_jp2klossless.dcm', 'JPEG 2000 lossless'],
  ['JPEG2000.dcm', 'JPEG 2000'],
  ['SC_rgb_gdcm_KY.dcm', 'JPEG 2000, RGB'],
  ['SC_rgb_rle.dcm', 'RLE, RGB'],
  ['SC_ybr_full_422_uncompressed.dcm', 'uncompressed YBR_FULL_422'],
  ['ExplVR_BigEnd.dcm', 'big endian RGB'],
  ['rtdose.dcm', 'multi-frame, 32-bit', 7],
  ['SC_rgb_rle_2frame.dcm', 'multi-frame RLE RGB', 1],
];

describe.skipIf(!available)('getScanImage renders real-world DICOM like an independent decoder', () => {
  it.each(CASES)('%s (%s)', async (file, _what, frame) => {
    const bytes = readFileSync(join(TEST_FILES, file));
    // XNAT file names: dcmtk's `+` option letters are left out of the uploaded name.
    const scan = await scanWith({ [file.replaceAll('+', '')]: bytes });
    const rendered = await render(
      scan,
      frame === undefined ? { mode: 'slice' } : { mode: 'slice', slice: frame },
    );
    expect(rendered.out.slices).toEqual([frame ?? Math.floor(rendered.out.sliceCount / 2)]);
    expect(rendered.text).toContain(rendered.out.transferSyntax);
    expect(correlation(rendered, join(TEST_FILES, file), frame ?? 0)).toBeGreaterThan(0.95);
  });

  it('inverts MONOCHROME1', async () => {
    const bytes = readFileSync(join(TEST_FILES, 'MR_small.dcm'));
    const at = bytes.indexOf('MONOCHROME2');
    expect(at).toBeGreaterThan(0);
    const inverted = Buffer.from(bytes);
    inverted.write('MONOCHROME1', at, 'latin1');
    const path = join(tmp, 'mono1.dcm');
    writeFileSync(path, inverted);
    const scan = await scanWith({ 'mono1.dcm': inverted });
    const rendered = await render(scan, { mode: 'slice' });
    // The reference inverts MONOCHROME1 as a viewer must; the uninverted image would correlate near -1.
    expect(correlation(rendered, path, 0)).toBeGreaterThan(0.95);
  });

  it('names a transfer syntax it cannot decode instead of drawing a blank image', async () => {
    const bytes = Buffer.from(readFileSync(join(TEST_FILES, 'MR_small.dcm')));
    const at = bytes.indexOf('1.2.840.10008.1.2.1\0');
    bytes.write('1.2.999.99999.9.9.9', at, 'latin1');
    const scan = await scanWith({ 'odd.dcm': bytes });
    const result = (await mcp.callTool({
      name: 'getScanImage',
      arguments: { experiment, scan },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('1.2.999.99999.9.9.9');
    expect(result.content.some((c) => c.type === 'image')).toBe(false);
  });

  it('leaves out files of the resource that are not images', async () => {
    const scan = await scanWith({
      'MR_small.dcm': readFileSync(join(TEST_FILES, 'MR_small.dcm')),
      'notes.dcm': Buffer.from('not a DICOM file at all'.repeat(10)),
    });
    const rendered = await render(scan, { mode: 'montage' });
    expect(rendered.out).toMatchObject({ sliceCount: 1, filesRead: 1 });
  });

  it('refuses colour RLE wider than 8 bits rather than drawing it wrong', async () => {
    const scan = await scanWith({ 'rgb16.dcm': readFileSync(join(TEST_FILES, 'SC_rgb_rle_16bit.dcm')) });
    const result = (await mcp.callTool({
      name: 'getScanImage',
      arguments: { experiment, scan },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('colour RLE with 16-bit samples is not supported');
  });
});

describe.skipIf(!available)('getScanImage orders, windows and bounds', () => {
  it('orders slices by position along the normal, not by file name, in a 500-slice montage within the caps', async () => {
    const scan = await scanWith(syntheticSeries(500, { size: 64 }));
    const rendered = await render(scan, {
      mode: 'montage',
      count: 16,
      window: { center: 2500, width: 5000 },
    });
    expect(rendered.out.sliceCount).toBe(500);
    expect(rendered.out.slices).toHaveLength(16);
    expect(Math.max(rendered.out.width, rendered.out.height)).toBeLessThanOrEqual(1024);
    expect(rendered.png.length).toBeLessThanOrEqual(1_500_000);
    // Headers first: only the 16 files shown are read whole.
    expect(rendered.out.filesRead).toBe(16);
    const means = python('panels', rendered.path, '4', '4').means as number[];
    for (let i = 1; i < means.length; i++) expect(means[i]!).toBeGreaterThan(means[i - 1]!);
  });

  it('shows one slice by index and applies a named preset', async () => {
    const scan = await scanWith(syntheticSeries(20, { size: 32 }));
    const low = await render(scan, { mode: 'slice', slice: 2, window: { center: 100, width: 400 } });
    const high = await render(scan, { mode: 'slice', slice: 17, window: { center: 100, width: 400 } });
    const [lowMean] = python('panels', low.path, '1', '1').means as number[];
    const [highMean] = python('panels', high.path, '1', '1').means as number[];
    expect(highMean!).toBeGreaterThan(lowMean!);
    const preset = await render(scan, { mode: 'slice', window: 'brain' });
    expect(preset.out.window).toEqual({ center: 40, width: 80, source: 'preset' });
  });

  it('picks a volume of a 4-D series by temporal position', async () => {
    const scan = await scanWith(syntheticSeries(10, { size: 32, volumes: 3 }));
    const first = await render(scan, {
      mode: 'slice',
      slice: 5,
      volume: 0,
      window: { center: 1000, width: 2000 },
    });
    const third = await render(scan, {
      mode: 'slice',
      slice: 5,
      volume: 2,
      window: { center: 1000, width: 2000 },
    });
    expect(first.out.volumeCount).toBe(3);
    expect(first.out.sliceCount).toBe(10);
    const [a] = python('panels', first.path, '1', '1').means as number[];
    const [c] = python('panels', third.path, '1', '1').means as number[];
    expect(c!).toBeGreaterThan(a!);
  });

  it('splits Siemens mosaics into slices, one volume per mosaic file', async () => {
    const scan = await scanWith({
      'b.dcm': syntheticMosaic({ count: 7, tile: 16, t: 1 }),
      'a.dcm': syntheticMosaic({ count: 7, tile: 16, t: 0 }),
    });
    const window = { center: 200, width: 200 };
    const first = await render(scan, { mode: 'slice', slice: 6, window });
    expect(first.out).toMatchObject({ sliceCount: 7, volumeCount: 2, width: 16, height: 16 });
    const [tile6] = python('panels', first.path, '1', '1').means as number[];
    // Tile 6 of time point 0 holds 160, 60/200 into the window (its neighbours: 150 and 170).
    expect(Math.abs(tile6! - (60 * 255) / 200)).toBeLessThan(3);
    const later = await render(scan, {
      mode: 'slice',
      slice: 6,
      volume: 1,
      window: { center: 500, width: 200 },
    });
    const [tile6later] = python('panels', later.path, '1', '1').means as number[];
    expect(Math.abs(tile6later! - (60 * 255) / 200)).toBeLessThan(3);
  });

  it('renders a NIfTI volume when the scan has no DICOM', async () => {
    const scan = await scanWith(
      {
        'vol.nii.gz': niftiGzFile(
          {
            dims: [40, 30, 20],
            pixdim: [1, 1, 1],
            srow: [
              [1, 0, 0, 0],
              [0, 1, 0, 0],
              [0, 0, 1, 0],
            ],
            voxels: Int16Array.from({ length: 40 * 30 * 20 }, (_, i) => (i * 37) % 1000),
          },
          'test volume',
        ),
      },
      'NIFTI',
    );
    const rendered = await render(scan, { mode: 'slice', slice: 7 });
    expect(rendered.out).toMatchObject({ source: 'nifti', sliceCount: 20, width: 40, height: 30 });
    const result = python('nifti', rendered.path, '40', '30', '7');
    expect(result.correlation as number).toBeGreaterThan(0.95);
    const views = await render(scan, { mode: 'orthogonal' });
    expect(views.out.width).toBeGreaterThan(views.out.height);
  });

  it('renders three orthogonal views of a volume', async () => {
    const scan = await scanWith(syntheticSeries(30, { size: 32 }));
    const rendered = await render(scan, { mode: 'orthogonal' });
    expect(rendered.out.slices).toEqual([15]);
    expect(rendered.out.window?.source).toBe('dicom');
    expect(rendered.out.width).toBeGreaterThan(rendered.out.height);
  });
});

describe.skipIf(!available)("getScanSnapshot: XNAT's own snapshot", () => {
  it('returns the GIF montage XNAT made and finds it in the scan’s SNAPSHOTS resource', async () => {
    const scan = await scanWith(syntheticSeries(12, { size: 32 }));
    const result = (await mcp.callTool({
      name: 'getScanSnapshot',
      arguments: { experiment, scan, columns: 3, rows: 2 },
    })) as CallToolResult;
    if (result.isError) throw new Error(textOf(result));
    const image = result.content.find((c) => c.type === 'image');
    if (image?.type !== 'image') throw new Error('no image content');
    expect(image.mimeType).toBe('image/gif');
    const gif = Buffer.from(image.data, 'base64');
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(result.structuredContent).toMatchObject({ width: 96, height: 64, columns: 3, rows: 2 });
    const files = await xnat.listFiles({ experiment, scan, resource: 'SNAPSHOTS' });
    expect(files.map((f) => [f.name, f.content])).toEqual([[`${experiment}_${scan}_3x2_qc.gif`, '3X2']]);
  });

  it('is a write: read-only mode leaves it out, getScanImage stays', async () => {
    const names = (await selectTools({ toolsets: ['imaging', 'qc'], readOnly: true })).map((t) => t.name);
    expect(names).toContain('getScanImage');
    expect(names).not.toContain('getScanSnapshot');
  });
});
