/**
 * Text equals structure: hosts that show the model only `content` must not lose what
 * `structuredContent` holds. Every tool is called through an SDK client against the sandbox (read
 * tools as they are, writing tools as dry runs where they have one, else for real on the sandbox)
 * and every string and number in its structured result must appear in its text.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedZip } from '../../src/client/zipcheck.js';
import { mrDicom } from '../fixtures/mr-dicom.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { TOOLSETS, loadTools } from '../../src/tools/index.js';
import { cohortDigest } from '../../src/mcp/cohort.js';
import { ADMIN, call, callOk, connectInMemory, textOf, type Connected, type ListOut } from './helpers.js';

let sandbox: RunningSandbox;
let admin: Connected;
let root: string;
let zip: string;
let prearchived: string;
let workflow: string;
let container: string;

const P = 'BRAIN_MR';
const SESSION = 'BMR001_MR1';
/** copyData's confirmation of one experiment (BMR002_MR1 of the demo archive): its count and set digest. */
const copyDigest = cohortDigest(['XNAT_E00004']);
// Every tool of every toolset, in catalogue order (the writes below build on earlier calls).
const ALL_TOOLS = await loadTools();

/** One or more calls per tool: the arguments that make it return a representative result. */
function calls(): Record<string, Array<Record<string, unknown>>> {
  return {
    getServerInfo: [{}],
    enableToolsets: [{}],
    listProjects: [{}],
    getProject: [{ project: P }],
    searchSubjects: [{ project: P, limit: 5 }],
    getSubject: [{ project: P, subject: 'BMR001' }],
    searchExperiments: [{ project: P, limit: 5 }],
    getExperiment: [{ project: P, experiment: SESSION }],
    listFiles: [{ project: P, experiment: SESSION, limit: 5 }],
    getDicomHeader: [
      { project: P, experiment: SESSION, scan: '2', fields: ['RepetitionTime', 'EchoTime'] },
      { project: P, experiment: SESSION, scan: '2', compare: true },
    ],
    getScanImage: [{ project: P, experiment: SESSION, scan: '2', mode: 'montage', count: 4 }],
    getScanSnapshot: [{ project: P, experiment: SESSION, scan: '2' }],
    recordQc: [
      { action: 'rateScan', project: P, experiment: SESSION, scan: '2', quality: 'usable', note: 'sharp' },
    ],
    describeSearchable: [{ limit: 5 }, { xsiType: 'xnat:subjectData', limit: 30 }, { what: 'savedSearches' }],
    searchArchive: [
      { xsiType: 'xnat:mrSessionData', limit: 5 },
      { xsiType: 'xnat:mrSessionData', groupBy: [{ field: 'PROJECT' }, { field: 'DATE', by: 'year' }] },
    ],
    exportSearch: [{ xsiType: 'xnat:subjectData', path: 'subjects.csv' }],
    createSubject: [{ project: P, label: 'TXT001', gender: 'female', fields: { site: 'Boston' } }],
    createExperiment: [
      {
        project: P,
        subject: 'TXT001',
        label: 'TXT001_MR1',
        xsiType: 'xnat:mrSessionData',
        date: '2024-02-03',
      },
    ],
    updateFields: [{ kind: 'subject', project: P, subject: 'TXT001', fields: { site: 'Leipzig' } }],
    shareObject: [{ kind: 'subject', id: 'TXT001', project: P, targetProject: 'PET_AMYLOID' }],
    setQuarantine: [{ project: P, experiment: SESSION, quarantined: true, dryRun: true }],
    deleteObject: [{ kind: 'experiment', project: P, experiment: SESSION, dryRun: true }],
    uploadResource: [
      { project: P, experiment: SESSION, resource: 'NOTES', localPaths: ['notes/a.txt'], dryRun: true },
    ],
    downloadFiles: [{ project: P, experiment: SESSION, scans: ['1'], destination: 'dl' }],
    listPrearchive: [{}],
    managePrearchive: [{ session: prearchived, action: 'delete', dryRun: true }],
    importSession: [{ path: zip, project: P, dryRun: true }],
    listProjectMembers: [{ project: 'PET_AMYLOID' }],
    manageProjectMember: [
      { action: 'add', project: 'PET_AMYLOID', login: 'dave', role: 'member' },
      { action: 'remove', project: 'PET_AMYLOID', login: 'dave', dryRun: true },
    ],
    listUsers: [{}, { scope: 'me' }, { scope: 'active' }],
    exportBids: [
      { project: P, subjects: ['BMR001'], destination: 'bids', dryRun: true },
      { project: P, subjects: ['BMR001'], destination: 'bids' },
    ],
    findPipelines: [{ project: P, experiments: [SESSION] }],
    launchPipeline: [
      { project: P, pipeline: 'dcm2niix-session', experiment: SESSION, dryRun: true },
      { project: P, pipeline: 'dcm2niix-session', cohort: { targets: [SESSION] }, dryRun: true },
    ],
    getJobStatus: [{ workflows: [workflow] }, { project: P }],
    killJob: [{ container, dryRun: true }],
    copyData: [
      { ids: ['BMR002_MR1'], sourceProject: P, targetProject: 'PET_AMYLOID', dryRun: true },
      { ids: ['BMR002_MR1'], sourceProject: P, targetProject: 'PET_AMYLOID', confirm: `1:${copyDigest}` },
    ],
  };
}

/** Every string and number in a structured result, with where it is. */
function leaves(value: unknown, path: string, out: Array<[string, string]>): void {
  if (typeof value === 'string') {
    if (value !== '') out.push([path, value]);
  } else if (typeof value === 'number') {
    out.push([path, String(value)]);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => leaves(v, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) leaves(v, `${path}.${k}`, out);
  }
}

/** Text cells flatten tabs and line breaks. */
const flat = (text: string): string => text.replace(/[\t\r\n]+/g, ' ');

beforeAll(async () => {
  // Launched jobs stay running for the whole test (getJobStatus and killJob see a running one).
  sandbox = await startSandbox({ archive: createDemoArchive(), containerTimings: { runningMs: 600_000 } });
  root = realpathSync(mkdtempSync(join(tmpdir(), 'xnat-text-')));
  mkdirSync(join(root, 'notes'));
  writeFileSync(join(root, 'notes', 'a.txt'), 'hello\n');
  admin = await connectInMemory(sandbox.url, ADMIN, { roots: [root], toolsets: [...TOOLSETS] });
  zip = await dicomZip();
  await callOk(admin.mcp, 'importSession', { path: zip, project: P, destination: 'prearchive' });
  const listed = await callOk<ListOut<{ url: string }>>(admin.mcp, 'listPrearchive', { project: P });
  prearchived = listed.items[0]?.url ?? '';
  const session = await admin.xnat.getExperiment(SESSION, { project: P });
  const launched = await admin.xnat.launchPipeline({
    project: P,
    wrapperId: 3,
    rootInput: 'session',
    inputs: { session: `/archive/experiments/${session.id}` },
  });
  workflow = launched.workflowId ?? '';
  for (;;) {
    const job = (await admin.xnat.listJobs({ project: P })).find((j) => j.workflowId === workflow);
    if (job?.status === 'Running') {
      container = job.id;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

/** A one-series DICOM study, zipped, in the allowed root. */
async function dicomZip(): Promise<string> {
  const uid = '1.2.826.0.1.3680043.8.499.71.1';
  const names: string[] = [];
  for (let i = 1; i <= 2; i++) {
    const name = `${i}.dcm`;
    writeFileSync(
      join(root, name),
      mrDicom({
        study: uid,
        series: 1,
        instance: i,
        seriesDescription: 'T1',
        patientName: 'DOE^TEXT',
        patientId: 'TEXTPAT1',
      }),
    );
    names.push(name);
  }
  const body = await storedZip(names.map((name) => ({ localPath: join(root, name), name })));
  const chunks: Buffer[] = [];
  for await (const c of body.open()) chunks.push(c as Buffer);
  const path = join(root, 'study.zip');
  writeFileSync(path, Buffer.concat(chunks));
  return path;
}

afterAll(async () => {
  await admin.close();
  await sandbox.close();
  rmSync(root, { recursive: true, force: true });
});

describe('text content carries every structured field', () => {
  it('has calls for every tool', () => {
    expect(Object.keys(calls()).sort()).toEqual(ALL_TOOLS.map((t) => t.name).sort());
    expect(Object.values(calls()).every((c) => c.length > 0)).toBe(true);
    expect(prearchived).toMatch(/^\/prearchive\/projects\/BRAIN_MR\//);
  });

  // In catalogue order: the writes build on what earlier calls created.
  it.each(ALL_TOOLS.map((t) => t.name))('%s', async (name) => {
    const cases = calls()[name] ?? [];
    expect(cases.length).toBeGreaterThan(0);
    for (const args of cases) {
      const result = await call(admin.mcp, name, args);
      const text = textOf(result);
      expect(result.isError, text).toBeFalsy();
      const found: Array<[string, string]> = [];
      leaves(result.structuredContent, '', found);
      const text1 = flat(text);
      const missing = found.filter(([, v]) => !text1.includes(flat(v))).map(([p, v]) => `${p}=${v}`);
      expect(missing, `${name}(${JSON.stringify(args)}) text lacks:\n${text}`).toEqual([]);
    }
  });
});
