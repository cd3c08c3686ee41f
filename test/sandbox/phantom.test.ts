/**
 * The demo archive's images as real DICOM readers see them: series downloaded from the sandbox over
 * loopback HTTP are read by pydicom (test/sandbox/phantom_probe.py) and decompressed by dcmtk. The
 * geometry tags must place the phantom's tissues where they are, each sequence must show its
 * contrast, the XNAT scan parameters must match the headers, and the artefact scans must show the
 * artefact their quality note names.
 *
 * Needs /usr/bin/python3 with pydicom and numpy, and dcmtk's dcmdrle/dcmdjpeg: when they are missing
 * the suite is skipped with one line saying so, except under CI=true, where it fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { dicomFile, SOP_CLASS, type DicomInstance, type TransferSyntax } from '../../src/sandbox/dicom.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { demoBasic } from './fixture.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const PROBE = fileURLToPath(new URL('./phantom_probe.py', import.meta.url));

/** Why the DICOM tools cannot run here, or undefined when they can. */
function missingTools(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import pydicom, numpy'], { stdio: 'ignore' });
  } catch {
    return `pydicom and numpy for ${PYTHON} (apt-get install python3-pydicom python3-numpy)`;
  }
  for (const tool of ['dcmdrle', 'dcmdjpeg']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      return `dcmtk's ${tool} (apt-get install dcmtk)`;
    }
  }
  return undefined;
}

const missing = missingTools();
const skip = missing !== undefined && process.env.CI !== 'true';
if (skip) console.warn(`phantom.test.ts skipped: needs ${missing}`);

type Header = Record<string, number | string | number[] | string[]>;
interface Roi {
  instance: number;
  distance: number;
  mean: number;
  error?: string;
}
interface Probed {
  images: Header[];
  rois: Record<string, Roi>;
  range: [number, number];
  error?: string;
}
interface Input {
  name: string;
  zip?: string;
  file?: string;
  rois?: Array<{ name: string; point: [number, number, number]; radius?: number }>;
}

let sandbox: RunningSandbox;
let dir: string;

async function get(path: string): Promise<Response> {
  const response = await fetch(`${sandbox.url}${path}`, { headers: { Authorization: demoBasic('admin') } });
  expect(response.status, path).toBe(200);
  return response;
}

function experimentId(label: string): string {
  const found = [...sandbox.archive.experiments.values()].find((e) => e.label === label);
  if (!found) throw new Error(`no demo session ${label}`);
  return found.id;
}

/** A scan's DICOM files as one zip, saved locally. */
async function seriesZip(label: string, scan: string): Promise<string> {
  const response = await get(
    `/data/experiments/${experimentId(label)}/scans/${scan}/resources/DICOM/files?format=zip`,
  );
  const path = join(dir, `${label}-${scan}.zip`);
  writeFileSync(path, Buffer.from(await response.arrayBuffer()));
  return path;
}

/** One DICOM file of a scan (the `index`th of its listing), saved locally. */
async function seriesFile(label: string, scan: string, index: number): Promise<string> {
  const base = `/data/experiments/${experimentId(label)}/scans/${scan}/resources/DICOM/files`;
  const listing = (await (await get(`${base}?format=json`)).json()) as {
    ResultSet: { Result: Array<{ Name: string }> };
  };
  const name = listing.ResultSet.Result[index]?.Name ?? '';
  const path = join(dir, `${label}-${scan}-${name}`);
  writeFileSync(path, Buffer.from(await (await get(`${base}/${name}`)).arrayBuffer()));
  return path;
}

async function scanFields(label: string, scan: string): Promise<Record<string, unknown>> {
  const body = (await (
    await get(`/data/experiments/${experimentId(label)}/scans/${scan}?format=json`)
  ).json()) as {
    items: Array<{ data_fields: Record<string, unknown> }>;
  };
  return body.items[0]?.data_fields ?? {};
}

async function probe(inputs: Input[]): Promise<Record<string, Probed>> {
  const { stdout } = await run(PYTHON, [PROBE, JSON.stringify({ inputs })], { maxBuffer: 64 * 1024 * 1024 });
  const result = JSON.parse(stdout) as Record<string, Probed>;
  for (const [name, probed] of Object.entries(result)) {
    expect(probed.error, name).toBeUndefined();
    for (const [roi, value] of Object.entries(probed.rois))
      expect(value.error, `${name} ${roi}`).toBeUndefined();
  }
  return result;
}

const numbers = (v: Header[string] | undefined): number[] => (Array.isArray(v) ? v.map(Number) : [Number(v)]);
const cross = (a: number[], b: number[]) => [
  (a[1] ?? 0) * (b[2] ?? 0) - (a[2] ?? 0) * (b[1] ?? 0),
  (a[2] ?? 0) * (b[0] ?? 0) - (a[0] ?? 0) * (b[2] ?? 0),
  (a[0] ?? 0) * (b[1] ?? 0) - (a[1] ?? 0) * (b[0] ?? 0),
];

/** Every image of a single-volume series lies one spacing further along the slice normal. */
function expectConsistentGeometry(images: Header[]): void {
  const first = images[0];
  if (!first) throw new Error('no images');
  const orientation = numbers(first.ImageOrientationPatient);
  const normal = cross(orientation.slice(0, 3), orientation.slice(3));
  const spacing = Number(first.SpacingBetweenSlices);
  const origin = numbers(first.ImagePositionPatient);
  images.forEach((image, k) => {
    expect(image.InstanceNumber).toBe(k + 1);
    expect(numbers(image.ImageOrientationPatient)).toEqual(orientation);
    expect(numbers(image.PixelSpacing)).toEqual(numbers(first.PixelSpacing));
    expect(image.SliceThickness).toBe(first.SliceThickness);
    expect(image.FrameOfReferenceUID).toBe(first.FrameOfReferenceUID);
    const position = numbers(image.ImagePositionPatient);
    for (let axis = 0; axis < 3; axis++)
      expect(position[axis]).toBeCloseTo((origin[axis] ?? 0) + k * spacing * (normal[axis] ?? 0), 3);
  });
}

/** XNAT's scan parameters say what the DICOM headers say. */
function expectParametersMatch(fields: Record<string, unknown>, images: Header[]): void {
  const h = images[0] ?? {};
  expect(fields.frames).toBe(images.length);
  expect(fields['parameters/tr']).toBe(h.RepetitionTime);
  expect(fields['parameters/te']).toBe(h.EchoTime);
  expect(fields['parameters/ti']).toBe(h.InversionTime);
  expect(fields['parameters/flip']).toBe(h.FlipAngle);
  expect(fields['parameters/voxelRes/x']).toBe(numbers(h.PixelSpacing)[1]);
  expect(fields['parameters/voxelRes/y']).toBe(numbers(h.PixelSpacing)[0]);
  expect(fields['parameters/voxelRes/z']).toBe(h.SliceThickness);
  expect(fields['parameters/fov/x']).toBe(h.Columns);
  expect(fields['parameters/fov/y']).toBe(h.Rows);
  expect(fields.fieldStrength).toBe(String(h.MagneticFieldStrength?.toString().replace(/^3$/, '3.0')));
  expect(fields['scanner/manufacturer']).toBe(h.Manufacturer);
  expect(fields['scanner/model']).toBe(h.ManufacturerModelName);
}

/** Patient points (LPS mm) inside one tissue of the phantom, away from its edges. */
const WHITE: [number, number, number] = [10.5, 10, 40];
const VENTRICLE: [number, number, number] = [9, -2, 18];
const DEEP_GREY: [number, number, number] = [13.5, 2, 2];
const TISSUE_ROIS = [
  { name: 'white', point: WHITE },
  { name: 'csf', point: VENTRICLE },
  { name: 'grey', point: DEEP_GREY },
];
const mean = (p: Probed | undefined, roi: string): number => p?.rois[roi]?.mean ?? Number.NaN;

describe.skipIf(skip)('the demo archive images, read by pydicom and dcmtk', () => {
  beforeAll(async () => {
    if (missing) throw new Error(`the phantom tests need ${missing}`);
    sandbox = await startSandbox({ archive: createDemoArchive() });
    dir = mkdtempSync(join(tmpdir(), 'phantom-'));
  });

  afterAll(async () => {
    await sandbox?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows each MR contrast in place, with consistent geometry and XNAT parameters matching the headers', async () => {
    const session = 'BMR001_MR1';
    const [t1, t2, flair] = ['2', '3', '6'];
    const seen = await probe(
      await Promise.all(
        [t1, t2, flair].map(async (scan) => ({
          name: scan,
          zip: await seriesZip(session, scan),
          rois: TISSUE_ROIS,
        })),
      ),
    );
    for (const scan of [t1, t2, flair]) {
      const images = seen[scan]?.images ?? [];
      expect(images.length).toBeGreaterThanOrEqual(24);
      expectConsistentGeometry(images);
      expectParametersMatch(await scanFields(session, scan), images);
      // The ROIs fell inside a slice: the geometry tags put the tissues where the phantom has them.
      for (const roi of Object.values(seen[scan]?.rois ?? {})) expect(roi.distance).toBeLessThanOrEqual(2);
    }
    expect(seen[t1]?.images[0]).toMatchObject({
      Modality: 'MR',
      InversionTime: 900,
      TransferSyntaxUID: '1.2.840.10008.1.2.1',
    });
    expect(numbers(seen[t1]?.images[0]?.ImageOrientationPatient)).toEqual([0, 1, 0, 0, 0, -1]);
    expect(numbers(seen[flair]?.images[0]?.ImageOrientationPatient)).toEqual([1, 0, 0, 0, 1, 0]);
    // T1w: white over grey over fluid; T2w: fluid brightest; FLAIR: fluid suppressed below white matter.
    const [T1, T2, FL] = [seen[t1], seen[t2], seen[flair]];
    expect(mean(T1, 'white')).toBeGreaterThan(mean(T1, 'grey'));
    expect(mean(T1, 'grey')).toBeGreaterThan(2 * mean(T1, 'csf'));
    expect(mean(T2, 'csf')).toBeGreaterThan(1.5 * mean(T2, 'grey'));
    expect(mean(T2, 'grey')).toBeGreaterThan(mean(T2, 'white'));
    expect(mean(FL, 'grey')).toBeGreaterThan(mean(FL, 'white'));
    expect(mean(FL, 'white')).toBeGreaterThan(3 * mean(FL, 'csf'));
  }, 120_000);

  it('stores CT in Hounsfield units (RLE Lossless, decoded alike by pydicom and dcmdrle)', async () => {
    const compressed = await seriesFile('AMY001_CT1', '2', 34);
    const decoded = `${compressed}.raw.dcm`;
    await run('dcmdrle', [compressed, decoded]);
    const rois = [
      { name: 'air', point: [0, -118, 42] as [number, number, number] },
      { name: 'white', point: [30, 10, 42] as [number, number, number] },
      { name: 'csf', point: [9, -2, 42] as [number, number, number], radius: 0 },
    ];
    const seen = await probe([
      { name: 'rle', file: compressed, rois },
      { name: 'dcmtk', file: decoded, rois },
      { name: 'series', zip: await seriesZip('AMY001_CT1', '2') },
    ]);
    expect(seen.rle?.images[0]).toMatchObject({
      TransferSyntaxUID: '1.2.840.10008.1.2.5',
      RescaleIntercept: -1024,
      RescaleSlope: 1,
      Modality: 'CT',
    });
    expect(seen.dcmtk?.images[0]?.TransferSyntaxUID).toBe('1.2.840.10008.1.2.1');
    expect(seen.dcmtk?.rois).toEqual(seen.rle?.rois);
    expect(seen.dcmtk?.range).toEqual(seen.rle?.range);
    expect(mean(seen.rle, 'air')).toBeLessThan(-950);
    expect(mean(seen.rle, 'white')).toBeGreaterThan(15);
    expect(mean(seen.rle, 'white')).toBeLessThan(45);
    const [low, high] = seen.series?.range ?? [0, 0];
    expect(low).toBeLessThan(-950); // air
    expect(high).toBeGreaterThan(1000); // bone
    expectConsistentGeometry(seen.series?.images ?? []);
  }, 120_000);

  it('shows amyloid binding in the cortex of positive subjects only, in Bq/ml', async () => {
    const rois = [
      { name: 'white', point: [30, 10, 42] as [number, number, number], radius: 2 },
      { name: 'grey', point: DEEP_GREY, radius: 2 },
    ];
    const seen = await probe([
      { name: 'negative', zip: await seriesZip('AMY001_PET1', '1'), rois },
      { name: 'positive', zip: await seriesZip('AMY002_PET1', '1'), rois },
    ]);
    for (const roi of Object.values(seen.positive?.rois ?? {})) expect(roi.distance).toBeLessThanOrEqual(1.5);
    expect(seen.positive?.images[0]).toMatchObject({ Units: 'BQML', RescaleSlope: 0.25, Modality: 'PT' });
    expect(mean(seen.positive, 'grey')).toBeGreaterThan(mean(seen.positive, 'white'));
    expect(mean(seen.negative, 'grey')).toBeLessThan(0.8 * mean(seen.negative, 'white'));
  }, 120_000);

  it('decodes JPEG Lossless series with dcmdjpeg into the same T1w contrast', async () => {
    const compressed = await seriesFile('PDT001_DTI1', '2', 20);
    const decoded = `${compressed}.raw.dcm`;
    await run('dcmdjpeg', [compressed, decoded]);
    // Child heads are smaller: points nearer the centre.
    const rois = [
      { name: 'white', point: [10.5, 8, 34] as [number, number, number] },
      { name: 'csf', point: [8, -2, 16] as [number, number, number], radius: 0 },
    ];
    const seen = await probe([
      { name: 'jpeg', file: compressed },
      { name: 'decoded', file: decoded, rois },
    ]);
    expect(seen.jpeg?.images[0]?.TransferSyntaxUID).toBe('1.2.840.10008.1.2.4.70');
    expect(seen.decoded?.images[0]?.TransferSyntaxUID).toBe('1.2.840.10008.1.2.1');
    expect(mean(seen.decoded, 'white')).toBeGreaterThan(3 * mean(seen.decoded, 'csf'));
  }, 120_000);

  it('shows the artefacts the XNAT quality notes name', async () => {
    const [moving, still] = [await scanFields('BMR005_MR1', '4'), await scanFields('BMR001_MR1', '4')];
    expect(moving).toMatchObject({ quality: 'unusable', note: expect.stringMatching(/motion/) });
    expect(still.quality).toBe('usable');
    const [spiked, gaps, wrapped] = [
      await scanFields('BMR004_MR1', '3'),
      await scanFields('BMR009_MR2', '5'),
      await scanFields('BMR006_MR1', '6'),
    ];
    expect(spiked).toMatchObject({ quality: 'questionable', note: expect.stringMatching(/spike/) });
    expect(gaps).toMatchObject({ quality: 'questionable', note: expect.stringMatching(/missing/) });
    expect(wrapped).toMatchObject({ quality: 'questionable', note: expect.stringMatching(/wrap/) });

    // Behind the head (air), where motion ghosts of the head land along the phase-encode direction.
    const behind = [{ name: 'behind', point: [0, 104, 20.5] as [number, number, number] }];
    // Air in front of and above the head, in a slice with the spike and one without.
    const air = [
      { name: 'spiked', point: [13.5, -120, 110] as [number, number, number] },
      { name: 'clean', point: [43.5, -120, 110] as [number, number, number] },
    ];
    const seen = await probe([
      { name: 'moving', zip: await seriesZip('BMR005_MR1', '4'), rois: behind },
      { name: 'still', zip: await seriesZip('BMR001_MR1', '4'), rois: behind },
      { name: 'spike', zip: await seriesZip('BMR004_MR1', '3'), rois: air },
      { name: 'gaps', zip: await seriesZip('BMR009_MR2', '5') },
      { name: 'wrapped', zip: await seriesZip('BMR006_MR1', '6') },
    ]);
    expect(mean(seen.moving, 'behind')).toBeGreaterThan(2 * mean(seen.still, 'behind'));
    expect(seen.still?.images).toHaveLength(200);
    expect(seen.still?.images.map((h) => h.TemporalPositionIdentifier)).toContain(10);
    expect(mean(seen.spike, 'spiked')).toBeGreaterThan(3 * mean(seen.spike, 'clean'));

    // Missing slices: XNAT counts the images it has; the instance numbers keep the gap.
    const instances = (seen.gaps?.images ?? []).map((h) => Number(h.InstanceNumber));
    expect(gaps.frames).toBe(instances.length);
    expect(instances.length).toBeLessThan(Number(seen.gaps?.images.at(-1)?.InstanceNumber));
    expect(instances).toContain(10);
    expect(instances).not.toContain(11);
    expect(instances).toContain(14);

    // Wrap-around: the phase field of view (rows) was cut to three quarters.
    expect(seen.wrapped?.images[0]).toMatchObject({ Rows: 96, Columns: 128 });
    expect(wrapped).toMatchObject({ 'parameters/fov/y': 96, 'parameters/fov/x': 128 });
  }, 180_000);

  it('encodes losslessly: dcmtk restores every pixel of RLE and JPEG Lossless files', async () => {
    const rows = 37;
    const columns = 53;
    const pixels = new Uint16Array(rows * columns);
    for (let i = 0; i < pixels.length; i++)
      pixels[i] = i % 7 === 0 ? 65535 : i % 11 === 0 ? 0 : i % 5 < 2 ? 1234 : (i * 2654435761) >>> 16;
    const write = (syntax: TransferSyntax) => {
      const instance: DicomInstance = {
        sopClassUid: SOP_CLASS.MR,
        sopInstanceUid: '1.2.826.0.1.3680043.8.498.999.1',
        studyInstanceUid: '1.2.826.0.1.3680043.8.498.999',
        seriesInstanceUid: '1.2.826.0.1.3680043.8.498.999.0',
        studyDate: '2024-01-02',
        studyTime: '10:00:00',
        modality: 'MR',
        manufacturer: 'SIEMENS',
        modelName: 'Prisma',
        stationName: 'MRC1',
        studyDescription: 'CODEC',
        seriesDescription: syntax,
        patientName: 'CODEC',
        patientId: 'CODEC',
        patientBirthDate: '',
        patientSex: '',
        accessionNumber: '',
        seriesNumber: 1,
        instanceNumber: 1,
        size: columns,
        image: { rows, columns, bitsStored: 16, pixels },
        transferSyntax: syntax,
        extra: [
          { tag: 0x00200032, vr: 'DS', value: '0\\0\\0' },
          { tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
          { tag: 0x00280030, vr: 'DS', value: '1\\1' },
        ],
      };
      const path = join(dir, `codec-${syntax}.dcm`);
      writeFileSync(path, dicomFile(instance));
      return path;
    };
    const explicit = write('explicit');
    await run('dcmdrle', [write('rle'), `${explicit}.rle.dcm`]);
    await run('dcmdjpeg', [write('jpeg-lossless'), `${explicit}.jpeg.dcm`]);
    const corner = [{ name: 'corner', point: [5, 7, 0] as [number, number, number], radius: 0 }];
    const seen = await probe(
      [explicit, `${explicit}.rle.dcm`, `${explicit}.jpeg.dcm`].map((file) => ({
        name: file,
        file,
        rois: corner,
      })),
    );
    const original = createHash('md5').update(Buffer.from(pixels.buffer)).digest('hex');
    const results = Object.values(seen);
    expect(results).toHaveLength(3);
    for (const r of results) {
      expect(r.images[0]?.PixelsMD5).toBe(original);
      expect(r.range).toEqual([0, 65535]);
      expect(r.rois.corner?.mean).toBe(pixels[7 * columns + 5]);
    }
  }, 120_000);
});
