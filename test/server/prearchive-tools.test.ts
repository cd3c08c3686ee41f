/**
 * importSession, listPrearchive and managePrearchive end to end: an MCP client, the server from the
 * one factory and the sandbox's import service and prearchive over loopback HTTP, with synthetic DICOM
 * written to a temporary root (as a zip, and as a folder zipped while it is sent).
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedZip } from '../../src/client/zipcheck.js';
import { mrDicom } from '../fixtures/mr-dicom.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import type { SandboxArchive } from '../../src/sandbox/model.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { TOOLSETS } from '../../src/mcp/define.js';
import { ALICE, call, callOk, connectInMemory, textOf, type Connected, type ListOut } from './helpers.js';

let sandbox: RunningSandbox;
let archive: SandboxArchive;
let root: string;
const open: Connected[] = [];
let studies = 0;

interface ImportOut {
  files: number;
  uris: string[];
  experimentId?: string;
  dryRun: boolean;
  summary: string;
}
interface PrearchiveItem {
  url: string;
  project: string;
  subject: string;
  name: string;
  status: string;
  tag: string;
}
interface ManageOut {
  action: string;
  session: string;
  uris: string[];
  experimentId?: string;
  dryRun: boolean;
  summary: string;
}

async function connect(user: { user: string; password: string } = ALICE): Promise<Connected> {
  const connected = await connectInMemory(sandbox.url, user, { roots: [root], toolsets: [...TOOLSETS] });
  open.push(connected);
  return connected;
}

/** A folder of synthetic MR DICOM: one study, `series` series of two instances each. */
function dicomFolder(series = 2): { dir: string; uid: string; patientId: string } {
  const n = ++studies;
  const uid = `1.2.826.0.1.3680043.8.499.70.${n}`;
  const patientId = `E7PAT${n}`;
  const dir = mkdtempSync(join(root, 'dicom-'));
  for (let s = 1; s <= series; s++) {
    mkdirSync(join(dir, `series${s}`));
    for (let i = 1; i <= 2; i++) {
      const bytes = mrDicom({
        study: uid,
        series: s,
        instance: i,
        seriesDescription: `SERIES_${s}`,
        patientName: `DOE^E7 ${n}`,
        patientId: patientId,
      });
      writeFileSync(join(dir, `series${s}`, `${i}.dcm`), bytes);
    }
  }
  return { dir, uid, patientId };
}

async function zipOfFolder(dir: string, names: string[], zipName = 'study.zip', rename?: [string, string]) {
  const body = await storedZip(names.map((name) => ({ localPath: join(dir, name), name })));
  const chunks: Buffer[] = [];
  for await (const c of body.open()) chunks.push(c as Buffer);
  let zip = Buffer.concat(chunks);
  if (rename) zip = Buffer.from(zip.toString('latin1').replaceAll(rename[0], rename[1]), 'latin1');
  const path = join(root, `${studies}-${zipName}`);
  writeFileSync(path, zip);
  return path;
}

async function toPrearchive(mcp: Connected['mcp']): Promise<PrearchiveItem> {
  const { dir, uid } = dicomFolder();
  const zip = await zipOfFolder(dir, ['series1/1.dcm', 'series1/2.dcm', 'series2/1.dcm', 'series2/2.dcm']);
  const out = await callOk<ImportOut>(mcp, 'importSession', {
    path: zip,
    project: 'BRAIN_MR',
    destination: 'prearchive',
  });
  expect(out.uris).toHaveLength(1);
  expect(out.uris[0]).toMatch(/^\/data\/prearchive\/projects\/BRAIN_MR\//);
  const listed = await callOk<ListOut<PrearchiveItem>>(mcp, 'listPrearchive', { project: 'BRAIN_MR' });
  const item = listed.items.find((s) => s.tag === uid);
  if (!item) throw new Error('imported session not in the prearchive listing');
  return item;
}

beforeAll(async () => {
  archive = createDemoArchive();
  sandbox = await startSandbox({ archive });
  root = realpathSync(mkdtempSync(join(tmpdir(), 'xnat-mcp-prearc-')));
});

afterAll(async () => {
  for (const c of open) await c.close();
  await sandbox.close();
  rmSync(root, { recursive: true, force: true });
});

describe('importSession', () => {
  it('imports a DICOM folder straight into the archive, with subject and label', async () => {
    const { mcp } = await connect();
    const { dir, uid } = dicomFolder(3);
    const out = await callOk<ImportOut>(mcp, 'importSession', {
      path: dir,
      project: 'BRAIN_MR',
      subject: 'E7_SUBJ',
      label: 'E7_MR1',
    });
    expect(out.files).toBe(6);
    const experiment = [...archive.experiments.values()].find(
      (e) => e.attributes.UID === uid || e.label === 'E7_MR1',
    );
    expect(experiment).toMatchObject({ project: 'BRAIN_MR', label: 'E7_MR1' });
    expect(experiment!.scans.map((s) => s.id).sort()).toEqual(['1', '2', '3']);
    const subject = archive.subjects.get(experiment!.subjectId);
    expect(subject?.label).toBe('E7_SUBJ');
    expect(out.experimentId).toBe(experiment!.id);
  });

  it('dry-runs, and refuses zips that escape, collaborators, and overwrite "delete" without confirmation', async () => {
    const { mcp } = await connect();
    const { dir } = dicomFolder(1);
    const zip = await zipOfFolder(dir, ['series1/1.dcm', 'series1/2.dcm']);
    const before = archive.prearchive?.length ?? 0;
    const dry = await callOk<ImportOut>(mcp, 'importSession', {
      path: zip,
      project: 'BRAIN_MR',
      dryRun: true,
    });
    expect(dry).toMatchObject({ dryRun: true, files: 2, uris: [] });
    expect(archive.prearchive?.length ?? 0).toBe(before);

    const evil = await zipOfFolder(dir, ['series1/1.dcm'], 'evil.zip', ['series1/1.dcm', '../ries/1.dcm']);
    const slip = await call(mcp, 'importSession', { path: evil, project: 'BRAIN_MR' });
    expect(slip.isError).toBe(true);
    expect(textOf(slip)).toMatch(/"\.\." segment/);

    const unconfirmed = await call(mcp, 'importSession', {
      path: zip,
      project: 'BRAIN_MR',
      label: 'E7_REPLACE',
      overwrite: 'delete',
    });
    expect(unconfirmed.isError).toBe(true);
    expect(textOf(unconfirmed)).toContain('confirm: "E7_REPLACE"');

    const carol = await connect({ user: 'carol', password: 'carol123' });
    const refused = await call(carol.mcp, 'importSession', { path: zip, project: 'BRAIN_MR' });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/not allowed|permission|insufficient/i);
    expect(archive.prearchive?.length ?? 0).toBe(before);

    const outsideRoot = await call(mcp, 'importSession', { path: '/etc', project: 'BRAIN_MR' });
    expect(outsideRoot.isError).toBe(true);
    expect(textOf(outsideRoot)).toMatch(/outside the allowed directories/);
  });
});

describe('managePrearchive', () => {
  it('archives a prearchive session into the archive under a new label', async () => {
    const { mcp } = await connect();
    const item = await toPrearchive(mcp);
    expect(item.status).toBe('READY');
    const out = await callOk<ManageOut>(mcp, 'managePrearchive', {
      session: item.url,
      action: 'archive',
      subject: 'E7_ARCH_SUBJ',
      label: 'E7_ARCHIVED',
    });
    expect(out.uris[0]).toMatch(/\/archive\/projects\/BRAIN_MR\//);
    const archived = [...archive.experiments.values()].find((e) => e.label === 'E7_ARCHIVED');
    expect(archived?.project).toBe('BRAIN_MR');
    expect(archived?.scans).toHaveLength(2);
    expect(out.experimentId).toBe(archived?.id);
    const after = await callOk<ListOut<PrearchiveItem>>(mcp, 'listPrearchive', { project: 'BRAIN_MR' });
    expect(after.items.some((s) => s.url === item.url)).toBe(false);
  });

  it('moves a session to another project (XNAT answers 301 with the new URI in the body)', async () => {
    const { mcp } = await connect();
    const item = await toPrearchive(mcp);
    const out = await callOk<ManageOut>(mcp, 'managePrearchive', {
      session: item.url,
      action: 'move',
      toProject: 'PET_AMYLOID',
    });
    expect(out.uris[0]).toMatch(/^\/prearchive\/projects\/PET_AMYLOID\//);
    const pet = await callOk<ListOut<PrearchiveItem>>(mcp, 'listPrearchive', { project: 'PET_AMYLOID' });
    expect(pet.items.map((s) => s.url)).toContain(out.uris[0]);
    expect(pet.items.find((s) => s.url === out.uris[0])?.tag).toBe(item.tag);
  });

  it('deletes only after confirmation with the folder name; dry runs and rebuilds change nothing else', async () => {
    const { mcp } = await connect();
    const item = await toPrearchive(mcp);
    const folderName = item.url.split('/').pop()!;
    const dry = await callOk<ManageOut>(mcp, 'managePrearchive', {
      session: item.url,
      action: 'delete',
      dryRun: true,
    });
    expect(dry.dryRun).toBe(true);
    const rebuilt = await callOk<ManageOut>(mcp, 'managePrearchive', {
      session: item.url,
      action: 'rebuild',
    });
    expect(rebuilt.summary).toMatch(/^Rebuilt/);

    const unconfirmed = await call(mcp, 'managePrearchive', { session: item.url, action: 'delete' });
    expect(unconfirmed.isError).toBe(true);
    expect(textOf(unconfirmed)).toContain(`confirm: "${folderName}"`);
    const still = await callOk<ListOut<PrearchiveItem>>(mcp, 'listPrearchive', { project: 'BRAIN_MR' });
    expect(still.items.some((s) => s.url === item.url)).toBe(true);

    await callOk<ManageOut>(mcp, 'managePrearchive', {
      session: item.url,
      action: 'delete',
      confirm: folderName,
    });
    const gone = await callOk<ListOut<PrearchiveItem>>(mcp, 'listPrearchive', { project: 'BRAIN_MR' });
    expect(gone.items.some((s) => s.url === item.url)).toBe(false);
  });

  it('rejects a malformed session URL and a move without a destination', async () => {
    const { mcp } = await connect();
    const bad = await call(mcp, 'managePrearchive', { session: '/data/projects/BRAIN_MR', action: 'delete' });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/not a prearchive session URL/);
    const item = await toPrearchive(mcp);
    const noTarget = await call(mcp, 'managePrearchive', { session: item.url, action: 'move' });
    expect(noTarget.isError).toBe(true);
    expect(textOf(noTarget)).toMatch(/move needs toProject/);
  });
});
