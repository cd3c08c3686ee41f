/**
 * recordQc end to end through the SDK client: rating a scan and creating a manual QC assessment,
 * through the write pipeline (dry run, project allow-list, audit line), read back through our tools
 * and through pyxnat (a client nobody here wrote).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/mcp/logger.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { pyxnatPython } from '../pyxnat/pyxnat-available.js';
import { ALICE, call, callOk, connectInMemory, textOf, type Connected } from '../server/helpers.js';

const run = promisify(execFile);
const PYTHON = await pyxnatPython();
const SCRIPT = fileURLToPath(new URL('./pyxnat_qc.py', import.meta.url));

interface QcOut {
  action: string;
  experiment: string;
  project: string;
  dryRun?: boolean;
  scan?: string;
  changes?: Array<{ field: string; old: string; new: string }>;
  assessment?: {
    id: string;
    label: string;
    date: string;
    rater?: string;
    pass?: string;
    comments?: string;
    scans?: Array<{ scan: string; quality: string; note?: string }>;
  };
  summary: string;
}
interface ExperimentOut {
  id: string;
  label: string;
  subjectLabel: string;
  scans: Array<{ id: string; quality: string }>;
  assessors: Array<{ id: string; label: string; xsiType: string }>;
  attributes: Record<string, string>;
}

let sandbox: RunningSandbox;
let alice: Connected;
const logLines: string[] = [];
const log: Logger = {
  debug: (m) => logLines.push(m),
  info: (m) => logLines.push(m),
  warning: (m) => logLines.push(m),
  error: (m) => logLines.push(m),
};
const others: Connected[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
  alice = await connectInMemory(sandbox.url, ALICE, { toolsets: ['browse', 'qc'] }, log);
});

afterAll(async () => {
  await Promise.all(others.map((c) => c.close()));
  await alice?.close();
  await sandbox?.close();
});

const session_ = (experiment: string): Promise<ExperimentOut> =>
  callOk<ExperimentOut>(alice.mcp, 'getExperiment', { experiment, project: 'BRAIN_MR' });

describe('recordQc', () => {
  it('rates a scan: dry run changes nothing, the rating and note are read back and audited', async () => {
    const rate = { action: 'rateScan', experiment: 'BMR004_MR1', project: 'BRAIN_MR', scan: '3' };
    const before = (await session_('BMR004_MR1')).scans.find((s) => s.id === '3')?.quality;
    const dry = await callOk<QcOut>(alice.mcp, 'recordQc', { ...rate, quality: 'unusable', dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, summary: expect.stringContaining(`${before} → unusable`) });
    expect((await session_('BMR004_MR1')).scans.find((s) => s.id === '3')?.quality).toBe(before);

    const out = await callOk<QcOut>(alice.mcp, 'recordQc', {
      ...rate,
      quality: 'unusable',
      note: 'severe motion; repeat',
    });
    expect(out.changes).toEqual(
      expect.arrayContaining([
        { field: 'quality', old: before, new: 'unusable' },
        { field: 'note', old: expect.any(String), new: 'severe motion; repeat' },
      ]),
    );
    expect((await session_('BMR004_MR1')).scans.find((s) => s.id === '3')?.quality).toBe('unusable');
    expect(logLines.find((l) => l.includes(`action=recordQc object=scan 3 of ${out.experiment}`))).toMatch(
      /^write user=alice .*quality=unusable/,
    );
  });

  it('creates a manual QC assessment of the session, read back, never over an existing label', async () => {
    const out = await callOk<QcOut>(alice.mcp, 'recordQc', {
      action: 'createQcAssessment',
      experiment: 'BMR004_MR1',
      project: 'BRAIN_MR',
      rater: 'Alice Andersen',
      pass: false,
      note: 'Scan 3 unusable (motion); others fine.',
    });
    expect(out.assessment).toMatchObject({
      label: 'BMR004_MR1_QC',
      rater: 'Alice Andersen',
      pass: '0',
      comments: 'Scan 3 unusable (motion); others fine.',
      date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
    const listed = (await session_('BMR004_MR1')).assessors.find((a) => a.id === out.assessment?.id);
    expect(listed).toMatchObject({ label: 'BMR004_MR1_QC', xsiType: 'xnat:qcManualAssessorData' });
    const again = await call(alice.mcp, 'recordQc', {
      action: 'createQcAssessment',
      experiment: 'BMR004_MR1',
      project: 'BRAIN_MR',
    });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toContain('already has an assessor labelled "BMR004_MR1_QC"');
    expect(logLines.some((l) => l.includes(`object=assessor ${out.assessment?.id}`))).toBe(true);
  });

  it('refuses projects outside the allow-list and incomplete input, changing nothing', async () => {
    const limited = await connectInMemory(sandbox.url, ALICE, {
      projects: ['PET_AMYLOID'],
      toolsets: ['qc'],
    });
    others.push(limited);
    const refused = await call(limited.mcp, 'recordQc', {
      action: 'rateScan',
      experiment: 'BMR005_MR1',
      project: 'BRAIN_MR',
      scan: '2',
      quality: 'questionable',
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/BRAIN_MR/);
    expect((await session_('BMR005_MR1')).scans.find((s) => s.id === '2')?.quality).toBe('usable');
    const noQuality = await call(alice.mcp, 'recordQc', {
      action: 'rateScan',
      experiment: 'BMR005_MR1',
      project: 'BRAIN_MR',
      scan: '2',
    });
    expect(textOf(noQuality)).toContain('rateScan needs scan and quality');
    const badScan = await call(alice.mcp, 'recordQc', {
      action: 'rateScan',
      experiment: 'BMR005_MR1',
      project: 'BRAIN_MR',
      scan: '42',
      quality: 'usable',
    });
    expect(textOf(badScan)).toMatch(/Scan "42" is not in BMR005_MR1; its scans are 1, 2/);
    const readOnly = await connectInMemory(sandbox.url, ALICE, { readOnly: true, toolsets: ['core', 'qc'] });
    others.push(readOnly);
    expect((await readOnly.mcp.listTools()).tools.map((t) => t.name)).not.toContain('recordQc');
  });

  it.skipIf(PYTHON === undefined)('pyxnat reads the written quality and the assessment back', async () => {
    const rated = await callOk<QcOut>(alice.mcp, 'recordQc', {
      action: 'rateScan',
      experiment: 'BMR006_MR1',
      project: 'BRAIN_MR',
      scan: '4',
      quality: 'questionable',
      note: 'mild motion',
    });
    const created = await callOk<QcOut>(alice.mcp, 'recordQc', {
      action: 'createQcAssessment',
      experiment: 'BMR006_MR1',
      project: 'BRAIN_MR',
      label: 'BMR006_MR1_VQC',
      rater: 'Bob & Alice',
      pass: true,
      note: 'ok <with> "marks"',
      scans: [
        { scan: '4', quality: 'questionable', note: 'mild motion' },
        { scan: '2', quality: 'usable' },
      ],
    });
    const s = await session_('BMR006_MR1');
    const { stdout } = await run(PYTHON ?? '', [
      SCRIPT,
      JSON.stringify({
        url: sandbox.url,
        ...ALICE,
        project: 'BRAIN_MR',
        subject: s.subjectLabel,
        experiment: s.label,
        scan: rated.scan,
        assessor: created.assessment?.label,
      }),
    ]);
    expect(JSON.parse(stdout)).toEqual({
      quality: 'questionable',
      note: 'mild motion',
      assessorExists: true,
      assessorType: 'xnat:qcManualAssessorData',
      rater: 'Bob & Alice',
      pass: '1',
      comments: 'ok <with> "marks"',
      scans: [
        { scan: '4', rating: 'questionable', comments: 'mild motion' },
        { scan: '2', rating: 'usable', comments: null },
      ],
    });
  });
});

describe('per-scan ratings in a manual QC assessment (xnat:qcManualAssessorData/scans/scan)', () => {
  const auth = `Basic ${Buffer.from(`${ALICE.user}:${ALICE.password}`).toString('base64')}`;
  const get = async (path: string): Promise<string> => {
    const res = await fetch(`${sandbox.url}${path}`, { headers: { authorization: auth } });
    expect(res.status).toBe(200);
    return res.text();
  };

  it('records each scan rating with the assessment, read back through the tool, XML and JSON', async () => {
    const out = await callOk<QcOut>(alice.mcp, 'recordQc', {
      action: 'createQcAssessment',
      experiment: 'BMR009_MR1',
      project: 'BRAIN_MR',
      rater: 'Alice Andersen',
      pass: false,
      note: 'Scan 3 unusable.',
      scans: [
        { scan: '3', quality: 'unusable', note: 'RF spike' },
        { scan: '1', quality: 'usable' },
      ],
    });
    expect(out.summary).toContain('rating 2 scan(s)');
    expect(out.assessment?.scans).toEqual([
      { scan: '3', quality: 'unusable', note: 'RF spike' },
      { scan: '1', quality: 'usable' },
    ]);
    const session = await session_('BMR009_MR1');
    const base = `/data/projects/BRAIN_MR/subjects/${session.subjectLabel}/experiments/${session.label}/assessors/${out.assessment?.label}`;
    const xml = await get(`${base}?format=xml`);
    // xnat.xsd's order: rater, ..., scans, comments, pass; qcScanData's: imageScan_ID, ..., comments, pass, rating.
    expect(xml.replace(/\s+/g, '')).toContain(
      '<xnat:rater>AliceAndersen</xnat:rater><xnat:scans><xnat:scan><xnat:imageScan_ID>3</xnat:imageScan_ID>' +
        '<xnat:comments>RFspike</xnat:comments><xnat:rating>unusable</xnat:rating></xnat:scan>' +
        '<xnat:scan><xnat:imageScan_ID>1</xnat:imageScan_ID><xnat:rating>usable</xnat:rating></xnat:scan>' +
        '</xnat:scans><xnat:comments>Scan3unusable.</xnat:comments><xnat:pass>0</xnat:pass>',
    );
    const json = JSON.parse(await get(`${base}?format=json`)) as {
      items: Array<{
        children: Array<{
          field: string;
          items: Array<{ meta: { 'xsi:type': string }; data_fields: object }>;
        }>;
      }>;
    };
    const scans = json.items[0]?.children.find((c) => c.field === 'scans/scan')?.items ?? [];
    expect(scans.map((i) => [i.meta['xsi:type'], i.data_fields])).toEqual([
      [
        'xnat:qcScanData',
        {
          xnat_qcScanData_id: expect.any(Number),
          imageScan_ID: '3',
          rating: 'unusable',
          comments: 'RF spike',
        },
      ],
      ['xnat:qcScanData', { xnat_qcScanData_id: expect.any(Number), imageScan_ID: '1', rating: 'usable' }],
    ]);
  });

  it('stores the scans of an XML document as XNAT does, and refuses ratings of scans not in the session', async () => {
    const session = await session_('BMR008_MR1');
    const document =
      '<xnat:QCManualAssessment xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
      `<xnat:imageSession_ID>${session.id}</xnat:imageSession_ID><xnat:rater>Bob</xnat:rater>` +
      '<xnat:scans><xnat:scan xsi:type="xnat:mrQcScanData"><xnat:imageScan_ID>2</xnat:imageScan_ID>' +
      '<xnat:motion>none</xnat:motion><xnat:rating scale="3-point">usable</xnat:rating></xnat:scan></xnat:scans>' +
      '</xnat:QCManualAssessment>';
    const put = await fetch(
      `${sandbox.url}/data/projects/BRAIN_MR/subjects/${session.subjectLabel}/experiments/${session.label}/assessors/BMR008_MR1_DOC`,
      { method: 'PUT', headers: { authorization: auth, 'content-type': 'text/xml' }, body: document },
    );
    expect(put.status).toBe(201);
    const xml = await get(`/data/experiments/${await put.text()}?format=xml`);
    expect(xml.replace(/\s+/g, '')).toContain(
      '<xnat:scans><xnat:scanxsi:type="xnat:mrQcScanData"><xnat:imageScan_ID>2</xnat:imageScan_ID>' +
        '<xnat:motion>none</xnat:motion><xnat:ratingscale="3-point">usable</xnat:rating></xnat:scan></xnat:scans>',
    );
    const listed = (await session_('BMR008_MR1')).assessors.find((a) => a.label === 'BMR008_MR1_DOC');
    const read = await callOk<ExperimentOut>(alice.mcp, 'getExperiment', { experiment: listed?.id ?? '' });
    expect(read.scans).toMatchObject([{ id: '2', quality: 'usable' }]);

    const bad = await call(alice.mcp, 'recordQc', {
      action: 'createQcAssessment',
      experiment: 'BMR008_MR1',
      project: 'BRAIN_MR',
      scans: [{ scan: '99', quality: 'usable' }],
    });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/Scan 99 is not in BMR008_MR1; its scans are /);
    expect((await session_('BMR008_MR1')).assessors.map((a) => a.label)).not.toContain('BMR008_MR1_QC');
  });
});
