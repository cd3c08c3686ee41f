/**
 * Writes round-trip between pyxnat and our MCP tools over the sandbox: what pyxnat creates,
 * uploads, sets and deletes reads back identically through our tools, and what our tools create,
 * update, share, quarantine and delete reads back identically through pyxnat. pyxnat is a real XNAT
 * client, so a disagreement means the sandbox or our tools do not behave like XNAT. pyxnat runs as
 * the site admin and as a project owner who is no admin (alice); our tools run as alice.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { ADMIN, ALICE, call, callOk, connectInMemory, textOf, type Connected } from '../server/helpers.js';
import { pyxnatPython } from './pyxnat-available.js';

const run = promisify(execFile);
/** The interpreter with pyxnat, or undefined when the tests are skipped (the helper said why). */
const PYTHON = await pyxnatPython();
const SCRIPT = fileURLToPath(new URL('./pyxnat_roundtrip.py', import.meta.url));
const PROJECT = 'BRAIN_MR';
const SHARED_PROJECT = 'PET_AMYLOID';

/** Who pyxnat logs in as: the site admin, and alice, owner of BRAIN_MR and member of PET_AMYLOID. */
const ROLES = [
  { role: 'the site admin', credentials: ADMIN },
  { role: 'alice, owner of BRAIN_MR (no admin)', credentials: ALICE },
] as const;
type Credentials = (typeof ROLES)[number]['credentials'];

interface ScriptOutput {
  steps: Record<string, unknown>;
  errors: Record<string, string>;
}

let sandbox: RunningSandbox;
let alice: Connected;
/** The one local folder our tools may read and write (their MCP roots). */
let root: string;

const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');

async function pyxnat(
  credentials: Credentials,
  mode: 'write' | 'read',
  config: Record<string, unknown>,
): Promise<ScriptOutput> {
  const { stdout } = await run(
    PYTHON ?? '',
    [SCRIPT, mode, JSON.stringify({ url: sandbox.url, ...credentials, project: PROJECT, ...config })],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as ScriptOutput;
}

/** What pyxnat saw in one step; fails with pyxnat's own error when that step raised. */
function seen(output: ScriptOutput | undefined, step: string): unknown {
  if (!output) throw new Error('the pyxnat script did not run');
  const error = output.errors[step];
  if (error !== undefined) throw new Error(`pyxnat failed in step "${step}": ${error}`);
  return output.steps[step];
}

describe.skipIf(PYTHON === undefined).each(ROLES)(
  'pyxnat as $role and our tools round-trip writes',
  ({ credentials }) => {
    beforeAll(async () => {
      sandbox = await startSandbox({ archive: createDemoArchive() });
      root = realpathSync(mkdtempSync(join(tmpdir(), 'xnat-mcp-roundtrip-')));
      alice = await connectInMemory(sandbox.url, ALICE, { roots: [root] });
    }, 60_000);

    afterAll(async () => {
      await alice?.close();
      await sandbox?.close();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    describe('pyxnat writes, our tools read', () => {
      const written = {
        subject: 'PYX_S1',
        gender: 'female',
        yob: 1969,
        group: 'patient',
        subjectField: ['cohort', 'B2'],
        experiment: 'PYX_S1_MR1',
        date: '2023-09-14',
        visitId: 'V02',
        experimentField: ['protocol_version', '7'],
        scan: '4',
        scanType: 'T2w',
        scanQuality: 'usable',
        seriesDescription: 'T2 SPACE sagittal',
        resource: 'NIFTI',
        fileName: 'T2w.nii',
        fileText: 'not really a NIfTI file, but bytes with a known digest\n'.repeat(40),
        fileFormat: 'NIFTI',
        fileContent: 'T2w_RAW',
        deletedSubject: 'PYX_GONE',
        renamed: ['PYX_S1_MR3', 'PYX_S1_MR3_RENAMED'],
        dirResource: 'PYX_DIR',
        sessionXml: {
          label: 'PYX_S1_MR2',
          // pyxnat re-serialises the document with lxml, which refuses an encoding declaration in a str.
          xml:
            '<xnat:MRSession xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" project="BRAIN_MR">' +
            '<xnat:date>2023-10-01</xnat:date><xnat:fieldStrength>3.0</xnat:fieldStrength>' +
            '<xnat:scans><xnat:scan ID="11" type="FLAIR" xsi:type="xnat:mrScanData">' +
            '<xnat:quality>usable</xnat:quality><xnat:series_description>FLAIR axial</xnat:series_description>' +
            '</xnat:scan></xnat:scans></xnat:MRSession>',
        },
      };
      let output: ScriptOutput | undefined;

      beforeAll(async () => {
        output = await pyxnat(credentials, 'write', written);
      }, 120_000);

      it('runs every pyxnat step without an error', () => {
        expect(output?.errors).toEqual({});
      });

      it('reads the subject pyxnat created, with its demographics, group and custom variable', async () => {
        const subjectId = seen(output, 'subject_id');
        const subject = await callOk<Record<string, unknown>>(alice.mcp, 'getSubject', {
          project: PROJECT,
          subject: written.subject,
        });
        expect(subject).toMatchObject({
          id: subjectId,
          label: written.subject,
          project: PROJECT,
          group: written.group,
          fields: { [written.subjectField[0] ?? '']: written.subjectField[1] },
        });
        expect(subject.demographics).toMatchObject({ gender: written.gender, yob: String(written.yob) });
      });

      it('reads the session, its scan and the uploaded file with the size and digest pyxnat sent', async () => {
        const experimentId = seen(output, 'experiment_id');
        const experiment = await callOk<Record<string, unknown>>(alice.mcp, 'getExperiment', {
          project: PROJECT,
          experiment: written.experiment,
        });
        expect(experiment).toMatchObject({
          id: experimentId,
          label: written.experiment,
          xsiType: 'xnat:mrSessionData',
          date: written.date,
          visitId: written.visitId,
          fields: { [written.experimentField[0] ?? '']: written.experimentField[1] },
          scans: [
            {
              id: written.scan,
              type: written.scanType,
              quality: written.scanQuality,
              seriesDescription: written.seriesDescription,
            },
          ],
        });
        const uploaded = seen(output, 'uploaded') as { size: number; md5: string };
        const files = await callOk<{ items: Array<Record<string, unknown>> }>(alice.mcp, 'listFiles', {
          experiment: experimentId,
          scan: written.scan,
        });
        expect(files.items).toEqual([
          expect.objectContaining({
            name: written.fileName,
            resource: written.resource,
            size: uploaded.size,
            digest: uploaded.md5,
          }),
        ]);
      });

      it('reads the session pyxnat created from an XML document (multipart data.xml), scans included', async () => {
        const experimentId = seen(output, 'xml_experiment_id');
        const experiment = await callOk<Record<string, unknown>>(alice.mcp, 'getExperiment', {
          project: PROJECT,
          experiment: written.sessionXml.label,
        });
        expect(experiment).toMatchObject({
          id: experimentId,
          xsiType: 'xnat:mrSessionData',
          date: '2023-10-01',
          attributes: { fieldStrength: '3.0' },
          scans: [{ id: '11', type: 'FLAIR', quality: 'usable', seriesDescription: 'FLAIR axial' }],
        });
      });

      it('downloads the file pyxnat uploaded, byte for byte, checksum verified', async () => {
        const uploaded = seen(output, 'uploaded') as { size: number; md5: string };
        const downloaded = await callOk<{
          files: Array<{ localPath: string; size: number; md5: string; checksum: string }>;
        }>(alice.mcp, 'downloadFiles', {
          experiment: seen(output, 'experiment_id'),
          scans: [written.scan],
          resource: written.resource,
          destination: join(root, 'from-pyxnat'),
          layout: 'flat',
        });
        expect(downloaded.files).toEqual([
          {
            localPath: join(root, 'from-pyxnat', written.fileName),
            size: uploaded.size,
            md5: uploaded.md5,
            checksum: 'match',
          },
        ]);
        expect(readFileSync(join(root, 'from-pyxnat', written.fileName), 'utf8')).toBe(written.fileText);
      });

      it('renames a session pyxnat created with ?label= (a label xpath is refused), which keeps its ID', async () => {
        const renamed = seen(output, 'renamed') as { new_id: string };
        expect(renamed).toEqual({
          xpath_kept_label: true,
          old_exists: false,
          new_id: expect.any(String),
          same_id: true,
        });
        const experiment = await callOk<Record<string, unknown>>(alice.mcp, 'getExperiment', {
          project: PROJECT,
          experiment: written.renamed[1],
        });
        expect(experiment).toMatchObject({ id: renamed.new_id, label: written.renamed[1] });
      });

      it('uploads a folder (put_dir: a zip XNAT extracts), sub-folders kept', () => {
        expect(seen(output, 'dir_files')).toEqual(['a.txt', 'b.txt']);
        const session = [...sandbox.archive.experiments.values()].find((e) => e.label === written.experiment);
        const resource = session?.resources.find((r) => r.label === written.dirResource);
        expect(resource?.files.map((f) => f.path).sort()).toEqual(['a.txt', 'sub/b.txt']);
      });

      it('quarantines and activates the session with the raw request (pyxnat has no call for it)', () => {
        expect(seen(output, 'quarantine')).toEqual(['quarantine', 'active']);
      });

      it('no longer finds the subject pyxnat deleted', async () => {
        expect(seen(output, 'deleted_subject_gone')).toBe(true);
        const result = await call(alice.mcp, 'getSubject', {
          project: PROJECT,
          subject: written.deletedSubject,
        });
        expect(result.isError).toBe(true);
        expect(textOf(result)).toContain(written.deletedSubject);
      });
    });

    describe('our tools write, pyxnat reads', () => {
      const subject = 'MCP_S1';
      const experiment = 'MCP_S1_PET1';
      const sharedLabel = 'MCP_SHARED_PET1';
      const deletedSubject = 'MCP_GONE';
      let output: ScriptOutput | undefined;
      let ids: { subject: string; experiment: string; deleted: string };
      let scan: { subject: string; experiment: string; id: string };
      const upload = {
        resource: 'QC_NOTES',
        file: 'qc-notes.txt',
        content: Buffer.from('frame 3: motion\n'.repeat(64)),
      };

      beforeAll(async () => {
        const createdSubject = await callOk<{ id: string }>(alice.mcp, 'createSubject', {
          project: PROJECT,
          label: subject,
          gender: 'male',
          yob: 1981,
          group: 'control',
          fields: { cohort: 'C' },
        });
        const createdExperiment = await callOk<{ id: string }>(alice.mcp, 'createExperiment', {
          project: PROJECT,
          subject: createdSubject.id,
          label: experiment,
          xsiType: 'xnat:petSessionData',
          date: '2024-02-29',
          visitId: 'V1',
          fields: { tracer_lot: 'L-17' },
        });
        await callOk(alice.mcp, 'updateFields', {
          kind: 'experiment',
          experiment: createdExperiment.id,
          standard: { note: 'motion in frame 3' },
          fields: { tracer_lot: 'L-18' },
        });
        await callOk(alice.mcp, 'shareObject', {
          kind: 'experiment',
          id: createdExperiment.id,
          targetProject: SHARED_PROJECT,
          label: sharedLabel,
        });
        await callOk(alice.mcp, 'setQuarantine', {
          experiment: createdExperiment.id,
          quarantined: true,
          confirm: createdExperiment.id,
        });
        const local = join(root, upload.file);
        writeFileSync(local, upload.content);
        await callOk(alice.mcp, 'uploadResource', {
          experiment: createdExperiment.id,
          resource: upload.resource,
          localPaths: [local],
        });
        const doomed = await callOk<{ id: string }>(alice.mcp, 'createSubject', {
          project: PROJECT,
          label: deletedSubject,
        });
        await callOk(alice.mcp, 'deleteObject', { kind: 'subject', subject: doomed.id, confirm: doomed.id });

        // An existing demo scan, updated through our tools.
        const demo = [...sandbox.archive.experiments.values()].find(
          (e) => e.project === PROJECT && e.xsiType === 'xnat:mrSessionData' && e.scans.length > 0,
        );
        const demoScan = demo?.scans[0];
        const demoSubject = sandbox.archive.subjects.get(demo?.subjectId ?? '');
        if (!demo || !demoScan || !demoSubject)
          throw new Error('the demo archive has no MR session with scans');
        await callOk(alice.mcp, 'updateFields', {
          kind: 'scan',
          experiment: demo.id,
          scan: demoScan.id,
          standard: { quality: 'questionable', note: 'checked by MCP' },
        });
        ids = { subject: createdSubject.id, experiment: createdExperiment.id, deleted: doomed.id };
        scan = { subject: demoSubject.label, experiment: demo.label, id: demoScan.id };

        output = await pyxnat(credentials, 'read', {
          subject,
          subjectField: 'cohort',
          experiment,
          experimentType: 'xnat:petSessionData',
          experimentField: 'tracer_lot',
          sharedProject: SHARED_PROJECT,
          sharedLabel,
          deletedSubject,
          scanSubject: scan.subject,
          scanExperiment: scan.experiment,
          scan: scan.id,
          uploadedResource: upload.resource,
          uploadedFile: upload.file,
        });
      }, 120_000);

      it('runs every pyxnat step without an error', () => {
        expect(output?.errors).toEqual({});
      });

      it('reads the subject our tools created', () => {
        expect(seen(output, 'subject')).toEqual({
          exists: true,
          id: ids.subject,
          gender: 'male',
          yob: '1981',
          group: 'control',
          field: 'C',
        });
      });

      it('reads the experiment our tools created and updated, and its quarantine status', () => {
        expect(seen(output, 'experiment')).toEqual({
          exists: true,
          id: ids.experiment,
          datatype: 'xnat:petSessionData',
          date: '2024-02-29',
          visit_id: 'V1',
          note: 'motion in frame 3',
          field: 'L-18',
        });
        expect(seen(output, 'status')).toBe('quarantine');
      });

      it('downloads the file our tools uploaded, byte for byte', () => {
        expect(seen(output, 'downloaded')).toEqual({ size: upload.content.length, md5: md5(upload.content) });
      });

      it('finds the experiment under its shared label in the project our tools shared it into', () => {
        expect(seen(output, 'shared')).toEqual({ exists: true, id: ids.experiment });
      });

      it('no longer finds the subject our tools deleted', () => {
        expect(seen(output, 'deleted_subject_exists')).toBe(false);
        expect(sandbox.archive.subjects.has(ids.deleted)).toBe(false);
      });

      it('reads the scan fields our tools updated', () => {
        expect(seen(output, 'scan')).toEqual({
          type: expect.any(String),
          quality: 'questionable',
          note: 'checked by MCP',
        });
        const stored = [...sandbox.archive.experiments.values()]
          .find((e) => e.label === scan.experiment)
          ?.scans.find((s) => s.id === scan.id);
        expect((seen(output, 'scan') as { type: string }).type).toBe(stored?.type);
      });
    });
  },
);
