/**
 * pyxnat's own calls on the endpoints made faithful for it: sharing and unsharing a subject
 * (`share`/`unshare`, which read `columns=ID,alias`-style listings), and a prearchive session's
 * scans, resources and files (`manage.prearchive.get_scans/get_resources/get_files`). The session
 * reaches the prearchive through our importSession tool, so both clients meet on one sandbox. pyxnat
 * also uploads a zip and a tgz for XNAT to extract (`put_zip`). Last, pyxnat logs in with an alias
 * token (`/data/services/tokens/issue`) in place of the password. Every step runs as the site admin
 * and as a project owner who is no admin (alice), one pyxnat process each.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mrDicom } from '../fixtures/mr-dicom.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { ADMIN, ALICE, callOk, connectInMemory, type Connected } from '../server/helpers.js';
import { pyxnatPython } from './pyxnat-available.js';

const run = promisify(execFile);
const PYTHON = await pyxnatPython();
const SCRIPT = fileURLToPath(new URL('./pyxnat_share_prearchive.py', import.meta.url));
const PROJECT = 'BRAIN_MR';
const STUDY = '1.2.826.0.1.3680043.8.499.71.1';

interface Seen {
  sessions: number;
  status: string[];
  scans: string[];
  resources: string[];
  files: string[];
  before: boolean;
  shared: boolean;
  shares: string[];
  unshared: boolean;
  zip_files: string[];
  tgz_files: string[];
  token_projects: string[];
}

/**
 * The two roles: the site admin, and alice, who owns BRAIN_MR and is a member of PET_AMYLOID only
 * (sharing needs a role in the target project, so each shares into a project it may write).
 */
const ROLES = [
  { role: 'the site admin', credentials: ADMIN, target: 'PEDS_DTI' },
  { role: 'alice, owner of BRAIN_MR (no admin)', credentials: ALICE, target: 'PET_AMYLOID' },
] as const;

let sandbox: RunningSandbox;
let alice: Connected;
let root: string;
/** Subjects already given to a role, so the roles never share or upload into the same one. */
const taken = new Set<string>();

const basic = (c: { user: string; password: string }) =>
  `Basic ${Buffer.from(`${c.user}:${c.password}`).toString('base64')}`;

/** A BRAIN_MR subject with sessions, not shared into the target, not used by the other role. */
function subjectFor(target: string): string {
  const subject = [...sandbox.archive.subjects.values()].find(
    (s) =>
      s.project === PROJECT &&
      !taken.has(s.id) &&
      !s.shares.some((sh) => sh.project === target) &&
      [...sandbox.archive.experiments.values()].some((e) => e.subjectId === s.id && e.project === PROJECT),
  );
  if (!subject) throw new Error(`no BRAIN_MR subject left to share into ${target}`);
  taken.add(subject.id);
  return subject.label;
}

/** The projects a user lists over plain HTTP (what the token login must see too). */
async function projectsOf(credentials: { user: string; password: string }): Promise<string[]> {
  const response = await fetch(`${sandbox.url}/data/projects?format=json`, {
    headers: { authorization: basic(credentials) },
  });
  const body = (await response.json()) as { ResultSet: { Result: Array<{ ID: string }> } };
  return body.ResultSet.Result.map((r) => r.ID).sort();
}

/** Two MR series of two instances each, as files in a folder. */
function study(): string {
  const dir = join(root, 'study');
  for (let s = 1; s <= 2; s++) {
    mkdirSync(join(dir, `series${s}`), { recursive: true });
    for (let i = 1; i <= 2; i++) {
      const bytes = mrDicom({
        study: STUDY,
        series: s,
        instance: i,
        seriesDescription: `SERIES_${s}`,
        patientName: 'DOE^PYXNAT',
        patientId: 'PYXPAT1',
      });
      writeFileSync(join(dir, `series${s}`, `${i}.dcm`), bytes);
    }
  }
  return dir;
}

describe.skipIf(PYTHON === undefined)('pyxnat on sharing and prearchive sessions', () => {
  beforeAll(async () => {
    sandbox = await startSandbox({ archive: createDemoArchive() });
    root = realpathSync(mkdtempSync(join(tmpdir(), 'xnat-pyxnat-share-')));
    alice = await connectInMemory(sandbox.url, ALICE, { roots: [root], toolsets: ['prearchive'] });
    await callOk(alice.mcp, 'importSession', { path: study(), project: PROJECT, destination: 'prearchive' });
  }, 120_000);

  afterAll(async () => {
    await alice?.close();
    await sandbox?.close();
    rmSync(root, { recursive: true, force: true });
  });

  describe.each(ROLES)('as $role', ({ credentials, target }) => {
    let seen: Seen;
    let visible: string[];

    beforeAll(async () => {
      const issued = await fetch(`${sandbox.url}/data/services/tokens/issue`, {
        headers: { authorization: basic(credentials) },
      });
      expect(issued.status).toBe(200);
      const token = (await issued.json()) as { alias: string; secret: string };
      visible = await projectsOf(credentials);
      const { stdout } = await run(
        PYTHON ?? '',
        [
          SCRIPT,
          JSON.stringify({
            url: sandbox.url,
            ...credentials,
            project: PROJECT,
            subject: subjectFor(target),
            target,
            alias: token.alias,
            secret: token.secret,
          }),
        ],
        { maxBuffer: 4 * 1024 * 1024 },
      );
      seen = JSON.parse(stdout) as Seen;
    }, 120_000);

    it("lists the imported session's scans, a scan's resources and its files", () => {
      expect(seen.sessions).toBe(1);
      expect(seen.status).toEqual(['READY']);
      expect(seen.scans).toEqual(['1', '2']);
      expect(seen.resources).toEqual(['DICOM']);
      expect(seen.files).toHaveLength(2);
      for (const name of seen.files) expect(name).toMatch(/\.dcm$/);
    });

    it('shares a subject into another project and unshares it', () => {
      expect(seen.before).toBe(false);
      expect(seen.shared).toBe(true);
      expect(seen.shares).toContain(target);
      expect(seen.unshared).toBe(false);
    });

    it('uploads a zip and a tgz for XNAT to extract, whose entries become the files', () => {
      expect(seen.zip_files).toEqual(['a.txt', 'b.txt']);
      expect(seen.tgz_files).toEqual(['c.txt']);
    });

    it('logs in with an alias token and sees what the password login sees', () => {
      expect(visible.length).toBeGreaterThan(0);
      expect(seen.token_projects).toEqual(visible);
    });
  });
});
