/**
 * exportBids end to end: an SDK client over Streamable HTTP, the server from the one factory, the
 * sandbox over loopback HTTP, a real folder. The exported demo dataset passes the BIDS validator with
 * no error; sidecars equal pydicom's reading of the scans' DICOM; NIfTI, bval and bvec arrive as XNAT
 * holds them; the three maps plan alike; dry runs write nothing; repeating resumes; bad input is refused.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { startHttpServer, type RunningHttpServer } from '../../src/transports/http.js';
import { ALICE, textOf } from '../server/helpers.js';
import { demoBasic } from '../sandbox/fixture.js';
import { validateBids } from './validator.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./dicom_fields.py', import.meta.url));
const SUBJECTS = ['BMR001', 'BMR002', 'Sujet Éloïse 07'];

let sandbox: RunningSandbox;
let xnat: XnatClient;
let http: RunningHttpServer;
let mcp: Client;
let root: string;

interface ExportOut {
  destination: string;
  mapping: string;
  dryRun: boolean;
  scans: Array<{ path: string; experiment: string; scan: string; seriesDescription: string; nifti: boolean }>;
  scanCount: number;
  withoutNiftiCount: number;
  unmapped: Array<{ experiment: string; scan: string; reason: string }>;
  collisions: unknown[];
  written?: string[];
  writtenCount?: number;
  kept?: Array<{ path: string; reason: string }>;
  summary: string;
}

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
  xnat = new XnatClient({ url: sandbox.url, ...ALICE });
  root = mkdtempSync(join(tmpdir(), 'xnat-mcp-bids-'));
  http = await startHttpServer({ client: xnat }, { toolsets: ['bids'], roots: [root] }, { port: 0 });
  mcp = new Client({ name: 'bids-test', version: '0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(http.url)));
  await mcp.listTools();
});

afterAll(async () => {
  await mcp?.close();
  await http?.close();
  await xnat?.close();
  await sandbox?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function exportCall(args: Record<string, unknown>): Promise<{ out: ExportOut; text: string }> {
  const result = (await mcp.callTool({
    name: 'exportBids',
    arguments: { project: 'BRAIN_MR', ...args },
  })) as CallToolResult;
  if (result.isError) throw new Error(textOf(result));
  return { out: result.structuredContent as unknown as ExportOut, text: textOf(result) };
}

async function failure(args: Record<string, unknown>): Promise<string> {
  const result = (await mcp.callTool({
    name: 'exportBids',
    arguments: { project: 'BRAIN_MR', ...args },
  })) as CallToolResult;
  expect(result.isError).toBe(true);
  return textOf(result);
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

describe('exportBids', () => {
  const dest = () => join(root, 'brain');

  it('plans without writing: every scan with its path, scans without NIfTI and unmapped scans shown', async () => {
    const { out, text } = await exportCall({ subjects: SUBJECTS, destination: dest(), dryRun: true });
    expect(out.dryRun).toBe(true);
    expect(existsSync(dest())).toBe(false);
    expect(out.mapping).toBe('XNAT bidsmap of project BRAIN_MR');
    expect(out.scans.filter((s) => s.nifti).map((s) => s.path)).toContain(
      'sub-SujetEloise07/ses-Eloise07MR1/func/sub-SujetEloise07_ses-Eloise07MR1_task-rest_dir-AP_bold',
    );
    // BMR001's follow-up has no NIfTI at all; its scans are listed, marked, never silently dropped.
    expect(out.withoutNiftiCount).toBeGreaterThan(0);
    expect(out.scans.filter((s) => !s.nifti).map((s) => s.path)).toContain(
      'sub-BMR001/ses-MR2/anat/sub-BMR001_ses-MR2_T1w',
    );
    expect(out.unmapped.every((u) => u.scan === '1' && /localizer/.test(u.reason))).toBe(true);
    expect(out.collisions).toEqual([]);
    expect(text).toMatch(/Dry run: nothing written/);
    expect(text).toContain('sub-BMR001/ses-MR2/anat/sub-BMR001_ses-MR2_T1w');
  });

  it("plans alike from XNAT's bidsmap, a dcm2bids configuration and the default", async () => {
    const paths = async (args: Record<string, unknown>) => {
      const { out } = await exportCall({ subjects: SUBJECTS, destination: dest(), dryRun: true, ...args });
      return out.scans.map((s) => `${s.experiment}/${s.scan} ${s.path} ${s.nifti}`).sort();
    };
    const xnatMap = await paths({ mapping: 'xnat' });
    const dcm2bidsConfig = {
      descriptions: [
        { datatype: 'anat', suffix: 'T1w', criteria: { SeriesDescription: '*mprage*' } },
        { datatype: 'anat', suffix: 'T2w', criteria: { SeriesDescription: 't2_space*' } },
        { datatype: 'anat', suffix: 'FLAIR', criteria: { SeriesDescription: '*dark-fluid' } },
        {
          datatype: 'func',
          suffix: 'bold',
          custom_entities: 'task-rest_dir-AP',
          criteria: { SeriesDescription: 'rfMRI*' },
        },
        {
          datatype: 'dwi',
          suffix: 'dwi',
          custom_entities: 'dir-AP',
          criteria: { SeriesDescription: 'dMRI_*' },
        },
      ],
    };
    expect(await paths({ dcm2bidsConfig })).toEqual(xnatMap);
    expect(await paths({ mapping: 'default' })).toEqual(xnatMap);
  });

  it('exports a dataset the BIDS validator passes with no error', async () => {
    const { out } = await exportCall({ subjects: SUBJECTS, destination: dest() });
    expect(out.dryRun).toBe(false);
    const files = filesUnder(dest()).sort();
    expect(out.written?.slice().sort()).toEqual(files);
    expect(files).toEqual(
      expect.arrayContaining([
        'dataset_description.json',
        'participants.tsv',
        'participants.json',
        'README',
        'sub-BMR001/sub-BMR001_sessions.tsv',
        'sub-BMR001/sub-BMR001_sessions.json',
        'sub-BMR001/ses-MR1/anat/sub-BMR001_ses-MR1_T1w.nii.gz',
        'sub-BMR001/ses-MR1/anat/sub-BMR001_ses-MR1_T1w.json',
        'sub-BMR001/ses-MR1/dwi/sub-BMR001_ses-MR1_dir-AP_dwi.bval',
        'sub-BMR001/ses-MR1/dwi/sub-BMR001_ses-MR1_dir-AP_dwi.bvec',
      ]),
    );
    // No temporary file is left, and nothing without NIfTI was written.
    expect(files.filter((f) => f.split('/').pop()?.startsWith('.'))).toEqual([]);
    expect(files.some((f) => f.includes('ses-MR2/anat/sub-BMR001'))).toBe(false);
    const report = await validateBids(dest());
    expect(report.errors).toEqual([]);
    // What the validator still suggests needs what XNAT does not hold (slice timing, authors beyond
    // the PI) or sessions the subjects do not all have.
    expect(report.warnings.map((w) => w.key).sort()).toEqual([
      'MISSING_SESSION',
      'SLICE_TIMING_NOT_DEFINED',
      'TOO_FEW_AUTHORS',
    ]);
  }, 180_000);

  it('copies NIfTI, bval and bvec as XNAT holds them, byte for byte', async () => {
    const session = await xnat.getExperiment('BMR001_MR1', { project: 'BRAIN_MR' });
    const files = await xnat.listFiles({ experiment: session.id, scan: '5', resource: 'NIFTI' });
    const dwi = join(dest(), 'sub-BMR001/ses-MR1/dwi/sub-BMR001_ses-MR1_dir-AP_dwi');
    for (const [ext, local] of [
      ['.nii.gz', `${dwi}.nii.gz`],
      ['.bval', `${dwi}.bval`],
      ['.bvec', `${dwi}.bvec`],
    ] as const) {
      const remote = files.find((f) => f.path.endsWith(ext));
      expect(md5(readFileSync(local)), ext).toBe(remote?.digest);
    }
    expect(readFileSync(`${dwi}.bval`, 'utf8').trim().split(/\s+/)).toEqual(['0', '1000', '1000', '1000']);
  });

  it("writes sidecars that equal pydicom's reading of the scan's DICOM", async () => {
    const checked: string[] = [];
    for (const [session, scan, path] of [
      ['BMR001_MR1', '2', 'sub-BMR001/ses-MR1/anat/sub-BMR001_ses-MR1_T1w'],
      ['BMR002_MR1', '4', 'sub-BMR002/ses-MR1/func/sub-BMR002_ses-MR1_task-rest_dir-AP_bold'],
      [
        'Eloise07_MR1',
        '5',
        'sub-SujetEloise07/ses-Eloise07MR1/dwi/sub-SujetEloise07_ses-Eloise07MR1_dir-AP_dwi',
      ],
    ] as const) {
      const sidecar = JSON.parse(readFileSync(join(dest(), `${path}.json`), 'utf8')) as Record<
        string,
        unknown
      >;
      const id = (await xnat.getExperiment(session, { project: 'BRAIN_MR' })).id;
      const [first] = await xnat.listFiles({ experiment: id, scan, resource: 'DICOM' });
      if (!first) throw new Error(`${session} scan ${scan} has no DICOM`);
      const local = join(root, `${id}_${scan}.dcm`);
      const res = await fetch(`${sandbox.url}${first.uri}`, {
        headers: { Authorization: demoBasic('alice') },
      });
      writeFileSync(local, Buffer.from(await res.arrayBuffer()));
      const { stdout } = await run('/usr/bin/python3', [SCRIPT, local]);
      const dicom = JSON.parse(stdout) as Record<string, string | number | string[]>;
      const seconds = (v: unknown) => Number(v) / 1000;
      expect(sidecar.RepetitionTime).toBeCloseTo(seconds(dicom.RepetitionTime), 9);
      expect(sidecar.EchoTime).toBeCloseTo(seconds(dicom.EchoTime), 9);
      if (dicom.InversionTime !== undefined)
        expect(sidecar.InversionTime).toBeCloseTo(seconds(dicom.InversionTime), 9);
      expect(sidecar.FlipAngle).toBe(dicom.FlipAngle);
      expect(sidecar.MagneticFieldStrength).toBe(dicom.MagneticFieldStrength);
      expect(sidecar.Manufacturer).toBe(dicom.Manufacturer);
      expect(sidecar.ManufacturersModelName).toBe(dicom.ManufacturerModelName);
      expect(sidecar.SeriesNumber).toBe(dicom.SeriesNumber);
      expect(sidecar.SeriesDescription).toBe(dicom.SeriesDescription);
      expect(sidecar.SliceThickness).toBe(dicom.SliceThickness);
      expect(sidecar.ImageType).toEqual(dicom.ImageType);
      expect(sidecar.SequenceName).toBe(dicom.SequenceName);
      expect(sidecar.InPlanePhaseEncodingDirectionDICOM).toBe(dicom.InPlanePhaseEncodingDirection);
      expect(sidecar).not.toHaveProperty('PatientName');
      checked.push(scan);
    }
    expect(checked).toEqual(['2', '4', '5']);
    const bold = JSON.parse(
      readFileSync(
        join(dest(), 'sub-BMR002/ses-MR1/func/sub-BMR002_ses-MR1_task-rest_dir-AP_bold.json'),
        'utf8',
      ),
    ) as Record<string, unknown>;
    // The name's task, and dcm2niix's phase-encoding polarity, which DICOM's standard elements lack.
    expect(bold).toMatchObject({ TaskName: 'rest', PhaseEncodingDirection: 'j-' });
  });

  it('tabulates participants (demographics, custom variables, no birth dates) and sessions', async () => {
    const participants = readFileSync(join(dest(), 'participants.tsv'), 'utf8').trim().split('\n');
    expect(participants[0]?.split('\t')).toEqual([
      'participant_id',
      'sex',
      'age',
      'handedness',
      'group',
      'education',
      'site',
    ]);
    expect(participants.slice(1).map((l) => l.split('\t')[0])).toEqual([
      'sub-BMR001',
      'sub-BMR002',
      'sub-SujetEloise07',
    ]);
    expect(participants.join('\n')).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    const bmr002 = await xnat.getSubject('BMR002', { project: 'BRAIN_MR' });
    const row = participants.find((l) => l.startsWith('sub-BMR002\t'))?.split('\t');
    expect(row?.[6]).toBe(bmr002.fields.site);
    const sessions = readFileSync(join(dest(), 'sub-BMR002/sub-BMR002_sessions.tsv'), 'utf8')
      .trim()
      .split('\n');
    expect(sessions[0]?.split('\t')).toEqual([
      'session_id',
      'acq_time',
      'age',
      'xnat_session',
      'visit_type',
      'operator_initials',
    ]);
    expect(
      sessions.slice(1).map((l) =>
        l
          .split('\t')
          .slice(0, 1)
          .concat(l.split('\t')[3] ?? ''),
      ),
    ).toEqual([
      ['ses-MR1', 'BMR002_MR1'],
      ['ses-MR2', 'BMR002_MR2'],
    ]);
  });

  it('resumes: a repeated call writes nothing, a removed file is written again', async () => {
    const again = await exportCall({ subjects: SUBJECTS, destination: dest() });
    expect(again.out.writtenCount).toBe(0);
    expect(again.out.kept?.every((k) => k.reason === 'already present and identical')).toBe(true);
    const t1 = 'sub-BMR002/ses-MR2/anat/sub-BMR002_ses-MR2_T1w';
    unlinkSync(join(dest(), `${t1}.nii.gz`));
    unlinkSync(join(dest(), `${t1}.json`));
    writeFileSync(join(dest(), 'README'), 'edited by hand\n');
    const resumed = await exportCall({ subjects: SUBJECTS, destination: dest() });
    expect(resumed.out.written?.sort()).toEqual([`${t1}.json`, `${t1}.nii.gz`]);
    expect(resumed.out.kept).toContainEqual({
      path: 'README',
      reason: 'a different local file exists; pass overwrite to replace it',
    });
  });

  it('replaces a differing file only with overwrite, after confirmation', async () => {
    expect(await failure({ subjects: SUBJECTS, destination: dest(), overwrite: true })).toMatch(/confirm/);
    expect(readFileSync(join(dest(), 'README'), 'utf8')).toBe('edited by hand\n');
    const { out } = await exportCall({
      subjects: SUBJECTS,
      destination: dest(),
      overwrite: true,
      confirm: 'overwrite',
    });
    expect(out.written).toContain('README');
    expect(readFileSync(join(dest(), 'README'), 'utf8')).toMatch(/Exported from XNAT project BRAIN_MR/);
  });

  it('refuses two maps at once, unknown subjects, bad BIDS names and folders outside the roots', async () => {
    expect(
      await failure({
        destination: dest(),
        bidsmap: [{ series_description: 'x', bidsname: 'T1w' }],
        rules: [{ scan: '2', bidsname: 'T1w' }],
      }),
    ).toMatch(/Give one map, not bidsmap and rules/);
    expect(await failure({ destination: dest(), subjects: ['NOBODY'], dryRun: true })).toMatch(
      /subject NOBODY/,
    );
    expect(
      await failure({
        destination: dest(),
        bidsmap: [{ series_description: 'x', bidsname: 'sub-1_T1w' }],
        dryRun: true,
      }),
    ).toMatch(/names subjects and sessions itself/);
    expect(await failure({ destination: '/etc/bids', dryRun: true })).toMatch(/allowed|root/i);
  });
});
