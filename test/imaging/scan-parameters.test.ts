/**
 * Acquisition parameters in getExperiment: what XNAT keeps on each scan (`parameters/tr`, ...) in
 * structured output and text, and agreeing with the DICOM headers the sandbox serves for the scan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import {
  ALICE,
  call,
  callOk,
  connectInMemory,
  textOf,
  type Connected,
  type ListOut,
} from '../server/helpers.js';

interface Parameters {
  tr?: number;
  te?: number;
  ti?: number;
  flip?: number;
  voxelRes?: { x?: number; y?: number; z?: number };
  fov?: { x?: number; y?: number };
  orientation?: string;
  kvp?: number;
  scanner?: string;
  fieldStrength?: string;
}
interface ExperimentOut {
  id: string;
  scans: Array<{ id: string; type: string; frames?: number; parameters?: Parameters }>;
}
interface HeaderOut {
  elements: Array<{ tag: string; value?: string }>;
}

let sandbox: RunningSandbox;
let alice: Connected;

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
  alice = await connectInMemory(sandbox.url, ALICE);
});

afterAll(async () => {
  await alice?.close();
  await sandbox?.close();
});

/** What the scan's first DICOM file says, by tag. */
async function dicom(experiment: string, scan: string): Promise<Map<string, string>> {
  const header = await callOk<HeaderOut>(alice.mcp, 'getDicomHeader', { experiment, scan });
  return new Map(header.elements.map((e) => [e.tag, e.value ?? '']));
}

const ORIENTATION: Record<string, string> = {
  '0\\1\\0\\0\\0\\-1': 'Sag',
  '1\\0\\0\\0\\0\\-1': 'Cor',
  '1\\0\\0\\0\\1\\0': 'Tra',
};

/** The scan parameters XNAT would fill from these headers. */
function fromDicom(tags: Map<string, string>): Parameters {
  const num = (tag: string): number | undefined => (tags.has(tag) ? Number(tags.get(tag)) : undefined);
  const spacing = tags.get('(0028,0030)');
  const [y, x] = spacing === undefined ? [] : spacing.split('\\').map(Number);
  const voxelRes = { x, y, z: num('(0018,0050)') };
  // XNAT's fov is the image matrix in pixels, Columns by Rows; PET scans have no fov (xnat:petScanData).
  const hasFov = ['MR', 'CT'].includes(tags.get('(0008,0060)') ?? '');
  const fov = hasFov ? { x: num('(0028,0011)'), y: num('(0028,0010)') } : {};
  const parameters: Parameters = {
    tr: num('(0018,0080)'),
    te: num('(0018,0081)'),
    ti: num('(0018,0082)'),
    flip: num('(0018,1314)'),
    voxelRes: Object.fromEntries(
      Object.entries(voxelRes).filter(([, v]) => v !== undefined && !Number.isNaN(v)),
    ),
    fov: Object.fromEntries(Object.entries(fov).filter(([, v]) => v !== undefined)),
    orientation: ORIENTATION[tags.get('(0020,0037)') ?? ''],
    kvp: num('(0018,0060)'),
    scanner: `${tags.get('(0008,0070)')} ${tags.get('(0008,1090)')}`,
    fieldStrength: tags.get('(0018,0087)'),
  };
  if (Object.keys(parameters.voxelRes ?? {}).length === 0) delete parameters.voxelRes;
  if (Object.keys(parameters.fov ?? {}).length === 0) delete parameters.fov;
  return Object.fromEntries(Object.entries(parameters).filter(([, v]) => v !== undefined)) as Parameters;
}

describe('getExperiment acquisition parameters', () => {
  it('shows TR, TE, TI, flip, voxel size, orientation, scanner and field strength per scan', async () => {
    const experiment = await callOk<ExperimentOut>(alice.mcp, 'getExperiment', {
      experiment: 'BMR001_MR1',
      project: 'BRAIN_MR',
    });
    const t1 = experiment.scans.find((s) => s.id === '2');
    expect(t1).toMatchObject({
      // What XNAT counts: one frame per DICOM file of the series.
      frames: 48,
      parameters: {
        tr: 2300,
        te: 2.98,
        ti: 900,
        flip: 9,
        voxelRes: { x: 2, y: 2, z: 3 },
        fov: { x: 128, y: 128 },
        orientation: 'Sag',
        scanner: 'SIEMENS Prisma_fit',
        fieldStrength: '3.0',
      },
    });
    const text = textOf(await call(alice.mcp, 'getExperiment', { experiment: experiment.id }));
    expect(text).toMatch(
      /\n2\tT1w_MPR\t.*\t48\tTR 2300 TE 2\.98 TI 900 flip 9 voxel 2×2×3 mm FOV 128×128 Sag 3\.0 T SIEMENS Prisma_fit/,
    );
  });

  it('agrees with the DICOM headers of every scan, MR, PET and CT alike', async () => {
    const sessions = await callOk<ListOut<{ id: string }>>(alice.mcp, 'searchExperiments', {
      project: 'PET_AMYLOID',
      limit: 2,
    });
    const ids = ['XNAT_E00001', ...sessions.items.map((s) => s.id)];
    let compared = 0;
    for (const id of ids) {
      const experiment = await callOk<ExperimentOut>(alice.mcp, 'getExperiment', { experiment: id });
      for (const scan of experiment.scans) {
        expect(scan.parameters, `${id} scan ${scan.id}`).toEqual(fromDicom(await dicom(id, scan.id)));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(6);
  });
});
