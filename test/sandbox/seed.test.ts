import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

import { canListProject, canReadItem, canReadProject } from '../../src/sandbox/access.js';
import { generateArchive } from '../../src/sandbox/generate.js';
import type { SandboxArchive, StoredFile, StoredResource } from '../../src/sandbox/model.js';
import {
  DEMO_UNICODE_EXPERIMENT_LABEL,
  DEMO_UNICODE_SUBJECT_LABEL,
  createDemoArchive,
} from '../../src/sandbox/seed.js';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

function allResources(archive: SandboxArchive): StoredResource[] {
  const resources: StoredResource[] = [];
  for (const p of archive.projects.values()) resources.push(...p.resources);
  for (const s of archive.subjects.values()) resources.push(...s.resources);
  for (const e of archive.experiments.values()) {
    resources.push(...e.resources, ...e.inResources);
    for (const scan of e.scans) resources.push(...scan.resources);
  }
  return resources;
}

const allFiles = (archive: SandboxArchive): StoredFile[] => allResources(archive).flatMap((r) => r.files);

/**
 * Walks a DICOM Part 10 file element by element (explicit VR little endian), returning tag → raw value.
 * Encapsulated pixel data (undefined length) is walked item by item and returned as its fragments.
 */
function parseDicom(bytes: Buffer): Map<string, Buffer> {
  expect(bytes.subarray(0, 128).every((b) => b === 0)).toBe(true);
  expect(bytes.toString('latin1', 128, 132)).toBe('DICM');
  const elements = new Map<string, Buffer>();
  let offset = 132;
  while (offset < bytes.length) {
    const group = bytes.readUInt16LE(offset);
    const elem = bytes.readUInt16LE(offset + 2);
    const vr = bytes.toString('latin1', offset + 4, offset + 6);
    // Plain checks, not expect(): this runs for every element of thousands of files.
    if (!/^[A-Z]{2}$/.test(vr)) throw new Error(`bad VR ${JSON.stringify(vr)} at ${offset}`);
    const long = ['OB', 'OW', 'SQ', 'UT', 'UN'].includes(vr);
    const length = long ? bytes.readUInt32LE(offset + 8) : bytes.readUInt16LE(offset + 6);
    const start = offset + (long ? 12 : 8);
    const tag = `${group.toString(16).padStart(4, '0')}${elem.toString(16).padStart(4, '0')}`;
    if (length === 0xffffffff) {
      expect(tag).toBe('7fe00010');
      const { fragments, end } = encapsulatedItems(bytes, start);
      elements.set(tag, Buffer.concat(fragments));
      offset = end;
      continue;
    }
    if (length % 2 !== 0) throw new Error(`odd length ${length} of ${tag}`);
    elements.set(tag, bytes.subarray(start, start + length));
    offset = start + length;
  }
  expect(offset).toBe(bytes.length);
  return elements;
}

/** Encapsulated pixel data: a basic offset table item, fragments, a sequence delimiter (PS3.5 A.4). */
function encapsulatedItems(bytes: Buffer, start: number): { fragments: Buffer[]; end: number } {
  const items: Buffer[] = [];
  let offset = start;
  for (;;) {
    expect(bytes.readUInt16LE(offset)).toBe(0xfffe);
    const kind = bytes.readUInt16LE(offset + 2);
    const length = bytes.readUInt32LE(offset + 4);
    if (kind === 0xe0dd) {
      expect(length).toBe(0);
      return { fragments: items.slice(1), end: offset + 8 };
    }
    expect(kind).toBe(0xe000);
    expect(length % 2).toBe(0);
    items.push(bytes.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
}

/**
 * The files whose bytes the tests render: every file of the first session of each project; of the
 * other sessions every file but the NIfTI volumes, and of their DICOM series the first, middle and
 * last image (rendering all 18,000 images several times over would take minutes).
 */
function sampleFiles(archive: SandboxArchive): StoredFile[] {
  const sample: StoredFile[] = [];
  const firstOfProject = new Set<string>();
  for (const e of archive.experiments.values()) {
    const whole = !firstOfProject.has(e.project) && e.scans.length > 0;
    if (whole) firstOfProject.add(e.project);
    sample.push(...e.resources.flatMap((r) => r.files), ...e.inResources.flatMap((r) => r.files));
    for (const scan of e.scans) {
      for (const r of scan.resources) {
        const files = whole ? r.files : r.files.filter((f) => !f.path.endsWith('.nii.gz'));
        const some =
          whole || r.label !== 'DICOM' ? files : [files[0], files[files.length >> 1], files.at(-1)];
        sample.push(...some.filter((f): f is StoredFile => f !== undefined));
      }
    }
  }
  for (const p of archive.projects.values()) sample.push(...p.resources.flatMap((r) => r.files));
  for (const s of archive.subjects.values()) sample.push(...s.resources.flatMap((r) => r.files));
  return [...new Set(sample)];
}

const TRANSFER_SYNTAXES = ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.4.70'];

const text = (b: Buffer | undefined): string =>
  (b ?? Buffer.alloc(0)).toString('utf8').replace(/[\0 ]+$/, '');

describe('createDemoArchive', () => {
  const archive = createDemoArchive();
  const user = (login: string) => {
    const found = archive.users.find((u) => u.login === login);
    if (!found) throw new Error(`no user ${login}`);
    return found;
  };
  const projectOf = (id: string) => {
    const found = archive.projects.get(id);
    if (!found) throw new Error(`no project ${id}`);
    return found;
  };

  it('has the documented users, passwords and project roles', () => {
    expect(archive.users.map((u) => [u.login, u.password, u.admin])).toEqual([
      ['admin', 'admin', true],
      ['alice', 'alice123', false],
      ['bob', 'bob123', false],
      ['carol', 'carol123', false],
      ['dave', 'dave123', false],
    ]);
    expect(projectOf('BRAIN_MR').users).toEqual({ alice: 'owner', bob: 'member', carol: 'collaborator' });
    expect(projectOf('PET_AMYLOID').users).toEqual({ bob: 'owner', alice: 'member' });
    expect(projectOf('PEDS_DTI').users).toEqual({ carol: 'owner' });
    expect(projectOf('BRAIN_MR').accessibility).toBe('protected');
    expect(projectOf('PEDS_DTI').accessibility).toBe('private');
    expect(projectOf('BRAIN_MR').name).toBe('Brain MRI Cohort');
  });

  it('applies the permission model as documented', () => {
    const pedsDti = projectOf('PEDS_DTI');
    expect(canListProject(pedsDti, user('alice'))).toBe(false);
    expect(canReadProject(pedsDti, user('carol'))).toBe(true);
    expect(canReadProject(projectOf('BRAIN_MR'), user('dave'))).toBe(false);
    expect(canListProject(projectOf('BRAIN_MR'), user('dave'))).toBe(true);
    expect(canReadProject(projectOf('PET_AMYLOID'), user('dave'))).toBe(true);
  });

  it('uses XNAT accession IDs with one E sequence for sessions and assessors', () => {
    const subjectIds = [...archive.subjects.keys()];
    const experimentIds = [...archive.experiments.keys()];
    subjectIds.forEach((id, i) => expect(id).toBe(`XNAT_S${String(i + 1).padStart(5, '0')}`));
    experimentIds.forEach((id, i) => expect(id).toBe(`XNAT_E${String(i + 1).padStart(5, '0')}`));
    expect(archive.sequences.subject).toBe(subjectIds.length + 1);
    expect(archive.sequences.experiment).toBe(experimentIds.length + 1);
    const resourceIds = allResources(archive).map((r) => r.xnatAbstractresourceId);
    expect(new Set(resourceIds).size).toBe(resourceIds.length);
    expect(Math.max(...resourceIds)).toBeLessThan(archive.sequences.resource);
    const scanKeys = [...archive.experiments.values()].flatMap((e) =>
      e.scans.map((s) => s.xnatImagescandataId),
    );
    expect(new Set(scanKeys).size).toBe(scanKeys.length);
    expect(Math.max(...scanKeys)).toBeLessThan(archive.sequences.scan);
  });

  it('has enough subjects and sessions in each project, with references that resolve', () => {
    const subjects = [...archive.subjects.values()];
    const experiments = [...archive.experiments.values()];
    expect(subjects.length).toBeGreaterThanOrEqual(30);
    expect(subjects.filter((s) => s.project === 'BRAIN_MR').length).toBeGreaterThanOrEqual(20);
    expect(subjects.filter((s) => s.project === 'PET_AMYLOID').length).toBeGreaterThanOrEqual(8);
    expect(subjects.filter((s) => s.project === 'PEDS_DTI').length).toBeGreaterThanOrEqual(4);
    // Each way XNAT records age is present: birth date, year of birth, age.
    expect(subjects.some((s) => s.demographics.dob !== undefined)).toBe(true);
    expect(subjects.some((s) => s.demographics.yob !== undefined)).toBe(true);
    expect(subjects.some((s) => s.demographics.age !== undefined && s.demographics.yob === undefined)).toBe(
      true,
    );
    for (const s of subjects.filter((x) => x.project === 'BRAIN_MR')) {
      const sessions = experiments.filter((e) => e.subjectId === s.id && e.xsiType === 'xnat:mrSessionData');
      expect(sessions.length).toBeGreaterThanOrEqual(1);
      expect(sessions.length).toBeLessThanOrEqual(2);
      expect(s.demographics.gender).toMatch(/^(male|female|other)$/);
      expect(s.fields).toHaveProperty('site');
      expect(s.fields).toHaveProperty('group');
    }
    for (const e of experiments) {
      expect(archive.projects.has(e.project)).toBe(true);
      if (e.xsiType === 'xnat:qcManualAssessorData') {
        expect(archive.experiments.get(e.imageSessionId)?.xsiType).toBe('xnat:mrSessionData');
      } else {
        expect(archive.subjects.has(e.subjectId)).toBe(true);
      }
    }
    const types = new Set(experiments.map((e) => e.xsiType));
    expect([...types].sort()).toEqual([
      'xnat:ctSessionData',
      'xnat:mrSessionData',
      'xnat:petSessionData',
      'xnat:qcManualAssessorData',
    ]);
    expect(
      experiments
        .filter((e) => e.project === 'PEDS_DTI')
        .every((e) => e.scans.some((s) => /DTI|dMRI/.test(s.type))),
    ).toBe(true);
  });

  it('gives MR sessions typical scans with IDs 1..6, qualities and DICOM resources', () => {
    const mrSessions = [...archive.experiments.values()].filter(
      (e) => e.project === 'BRAIN_MR' && e.xsiType === 'xnat:mrSessionData',
    );
    for (const session of mrSessions) {
      expect(session.scans.map((s) => s.id)).toEqual(
        ['1', '2', '3', '4', '5', '6'].slice(0, session.scans.length),
      );
      expect(session.scans.length).toBeGreaterThanOrEqual(5);
      expect(session.attributes['scanner/manufacturer']).toBe('SIEMENS');
      expect(session.attributes.fieldStrength).toBe('3.0');
      expect(Object.keys(session.fields).length).toBeGreaterThan(0);
      for (const scan of session.scans) {
        expect(scan.resources.find((r) => r.label === 'DICOM')?.files.length).toBeGreaterThan(0);
        expect(scan.frames).toBeGreaterThan(0);
      }
    }
    const qualities = new Set(mrSessions.flatMap((e) => e.scans.map((s) => s.quality)));
    expect([...qualities].sort()).toEqual(['questionable', 'unusable', 'usable']);
    const labels = new Set(allResources(archive).map((r) => r.label));
    for (const label of ['DICOM', 'NIFTI', 'SNAPSHOTS']) expect(labels.has(label)).toBe(true);
  });

  it('has labels with spaces and non-ASCII characters, a quarantined session and a QC assessor', () => {
    const subjectLabels = [...archive.subjects.values()].map((s) => s.label);
    const experiments = [...archive.experiments.values()];
    expect(subjectLabels).toContain(DEMO_UNICODE_SUBJECT_LABEL);
    expect(DEMO_UNICODE_SUBJECT_LABEL).toMatch(/ .*[^ -~]/);
    expect(experiments.map((e) => e.label)).toContain(DEMO_UNICODE_EXPERIMENT_LABEL);
    expect(DEMO_UNICODE_EXPERIMENT_LABEL).toMatch(/ .*[^ -~]/);
    expect(experiments.filter((e) => e.status === 'quarantine')).toHaveLength(1);
    expect(experiments.filter((e) => e.xsiType === 'xnat:qcManualAssessorData')).toHaveLength(1);
  });

  it('shares one BRAIN_MR subject and one of its sessions into PET_AMYLOID under other labels', () => {
    const shared = [...archive.subjects.values()].filter((s) => s.shares.length > 0);
    expect(shared).toHaveLength(1);
    const [subject] = shared;
    expect(subject?.project).toBe('BRAIN_MR');
    expect(subject?.shares[0]?.project).toBe('PET_AMYLOID');
    expect(subject?.shares[0]?.label).not.toBe(subject?.label);
    const sharedSessions = [...archive.experiments.values()].filter((e) => e.shares.length > 0);
    expect(sharedSessions).toHaveLength(1);
    expect(sharedSessions[0]?.subjectId).toBe(subject?.id);
    expect(sharedSessions[0]?.shares[0]?.project).toBe('PET_AMYLOID');
    // Shared items are readable through the public PET project even by a user with no role.
    const dave = user('dave');
    if (subject) expect(canReadItem(archive, subject, dave)).toBe(true);
  });

  it('keeps labels unique per project, counting labels items are shared under', () => {
    const seen = new Set<string>();
    const claim = (kind: string, project: string, label: string) => {
      const key = `${kind}\u0000${project}\u0000${label}`;
      expect(seen.has(key), `${kind} label ${label} twice in ${project}`).toBe(false);
      seen.add(key);
    };
    for (const s of archive.subjects.values()) {
      claim('subject', s.project, s.label);
      for (const share of s.shares) claim('subject', share.project, share.label);
    }
    for (const e of archive.experiments.values()) {
      claim('experiment', e.project, e.label);
      for (const share of e.shares) claim('experiment', share.project, share.label);
    }
  });

  it('spreads session dates over 2021 to 2024', () => {
    const years = new Set([...archive.experiments.values()].map((e) => e.date.slice(0, 4)));
    expect([...years].sort()).toEqual(['2021', '2022', '2023', '2024']);
    for (const e of archive.experiments.values()) expect(e.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const s of archive.subjects.values())
      expect(s.insertDate).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
  });

  it('produces file bytes matching the recorded size and MD5 digest, in valid formats', () => {
    expect(allFiles(archive).length).toBeGreaterThan(10_000);
    const files = sampleFiles(archive);
    expect(files.length).toBeGreaterThan(1000);
    const syntaxes = new Set<string>();
    for (const file of files) {
      // The size first: uncompressed DICOM files know it without rendering their pixels.
      const size = file.size;
      const bytes = file.bytes();
      expect(bytes.length, file.path).toBe(size);
      expect(md5(bytes), file.path).toBe(file.digest);
      if (file.path.endsWith('.dcm')) {
        const dicom = parseDicom(bytes);
        const syntax = text(dicom.get('00020010'));
        syntaxes.add(syntax);
        expect(TRANSFER_SYNTAXES).toContain(syntax);
        expect(text(dicom.get('00080018'))).toBe(text(dicom.get('00020003')));
        const rows = dicom.get('00280010')?.readUInt16LE(0) ?? 0;
        const columns = dicom.get('00280011')?.readUInt16LE(0) ?? 0;
        const pixels = dicom.get('7fe00010');
        if (syntax === '1.2.840.10008.1.2.1') expect(pixels?.length).toBe(rows * columns * 2);
        else if (syntax === '1.2.840.10008.1.2.5')
          expect(pixels?.readUInt32LE(0)).toBe(2); // two RLE segments
        else expect(pixels?.subarray(0, 4)).toEqual(Buffer.from([0xff, 0xd8, 0xff, 0xc3])); // SOI, SOF3
      } else if (file.path.endsWith('.nii.gz')) {
        const nifti = gunzipSync(bytes);
        expect(nifti.readInt32LE(0)).toBe(348);
        expect(nifti.toString('latin1', 344, 347)).toBe('n+1');
        const dims = Array.from({ length: nifti.readInt16LE(40) }, (_, i) => nifti.readInt16LE(42 + i * 2));
        expect(dims.length).toBeGreaterThanOrEqual(3);
        expect(nifti.length).toBe(352 + dims.reduce((a, b) => a * b, 1) * 2);
      } else if (file.path.endsWith('.png')) {
        expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
        expect(bytes.toString('latin1', bytes.length - 8, bytes.length - 4)).toBe('IEND');
      }
    }
    expect([...syntaxes].sort()).toEqual([...TRANSFER_SYNTAXES].sort());
  }, 120_000);

  it('holds the DICOM series in its NIfTI volumes, voxel for voxel, with the sform of the DICOM geometry', () => {
    const session = [...archive.experiments.values()].find((e) => e.label === 'BMR001_MR1');
    const scan = session?.scans.find((s) => s.id === '2');
    const dicoms = scan?.resources.find((r) => r.label === 'DICOM')?.files ?? [];
    const niftiFile = scan?.resources
      .find((r) => r.label === 'NIFTI')
      ?.files.find((f) => f.path.endsWith('.nii.gz'));
    if (!niftiFile || dicoms.length === 0) throw new Error('BMR001_MR1 scan 2 has no DICOM or NIfTI files');
    const nifti = gunzipSync(niftiFile.bytes());
    const [nx, ny, nz] = [nifti.readInt16LE(42), nifti.readInt16LE(44), nifti.readInt16LE(46)];
    expect(nz).toBe(dicoms.length);
    const srow = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => nifti.readFloatLE(280 + r * 16 + c * 4)));
    for (const k of [0, nz >> 1, nz - 1]) {
      const dicom = parseDicom(dicoms[k]?.bytes() ?? Buffer.alloc(0));
      const ds = (tag: string) => text(dicom.get(tag)).split('\\').map(Number);
      expect([dicom.get('00280011')?.readUInt16LE(0), dicom.get('00280010')?.readUInt16LE(0)]).toEqual([
        nx,
        ny,
      ]);
      // Voxel (0, 0, k) in RAS is the DICOM ImagePositionPatient (LPS) with x and y negated.
      const [x, y, z] = ds('00200032');
      const ras = srow.map((row) => (row[2] ?? 0) * k + (row[3] ?? 0));
      expect(ras[0]).toBeCloseTo(-(x ?? 0), 3);
      expect(ras[1]).toBeCloseTo(-(y ?? 0), 3);
      expect(ras[2]).toBeCloseTo(z ?? 0, 3);
      const pixels = dicom.get('7fe00010') ?? Buffer.alloc(0);
      expect(nifti.subarray(352 + k * nx * ny * 2, 352 + (k + 1) * nx * ny * 2)).toEqual(pixels);
    }
  });

  it('writes the subject into the DICOM header of its sessions', () => {
    const session = [...archive.experiments.values()].find((e) => e.label === DEMO_UNICODE_EXPERIMENT_LABEL);
    const subject = archive.subjects.get(session?.subjectId ?? '');
    const file = session?.scans[1]?.resources[0]?.files[0];
    if (!file || !subject) throw new Error('demo session without a DICOM file');
    const dicom = parseDicom(file.bytes());
    expect(text(dicom.get('00100020'))).toBe(subject.label);
    expect(text(dicom.get('00080060'))).toBe('MR');
    expect(text(dicom.get('0008103e'))).toBe(session?.scans[1]?.seriesDescription);
    expect(text(dicom.get('00080020'))).toBe(session?.date.replaceAll('-', ''));
  });

  it('is deterministic, down to the bytes of its files', () => {
    const again = createDemoArchive();
    const snapshot = (a: SandboxArchive) =>
      JSON.stringify(
        {
          subjects: [...a.subjects.values()],
          experiments: [...a.experiments.values()],
          projects: [...a.projects.values()],
          sequences: a.sequences,
        },
        // Reading a file's size or digest would render it: leave them to the sample below.
        (key, value: unknown) =>
          key === 'files'
            ? (value as StoredFile[]).map(({ path, format, content, tags, lastModified }) => ({
                path,
                format,
                content,
                tags,
                lastModified,
              }))
            : value,
      );
    expect(snapshot(again)).toBe(snapshot(archive));
    const facts = (a: SandboxArchive) => sampleFiles(a).map((f) => `${f.path} ${f.size} ${f.digest}`);
    expect(facts(again)).toEqual(facts(archive));
  }, 120_000);
});

describe('generateArchive', () => {
  it('builds 50,000 MR sessions in one project spread over subjects, without scans by default', () => {
    const archive = generateArchive({ experiments: 50_000 });
    expect([...archive.projects.keys()]).toEqual(['BIG']);
    expect(archive.experiments.size).toBe(50_000);
    expect(archive.subjects.size).toBe(12_500);
    expect(archive.users.map((u) => [u.login, u.password])).toEqual(
      createDemoArchive().users.map((u) => [u.login, u.password]),
    );
    expect(archive.projects.get('BIG')?.users.admin).toBe('owner');
    const labels = new Set<string>();
    for (const e of archive.experiments.values()) {
      expect(e.xsiType).toBe('xnat:mrSessionData');
      expect(e.scans).toHaveLength(0);
      expect(archive.subjects.get(e.subjectId)?.project).toBe('BIG');
      labels.add(e.label);
    }
    expect(labels.size).toBe(50_000);
    expect(archive.experiments.has('XNAT_E50000')).toBe(true);
    expect(archive.sequences.experiment).toBe(50_001);
  });

  it('honours the project, subject count and scans per session, with valid files', () => {
    const archive = generateArchive({
      experiments: 30,
      subjectsPerProject: 7,
      project: 'BENCH',
      scansPerExperiment: 3,
    });
    expect([...archive.projects.keys()]).toEqual(['BENCH']);
    expect(archive.subjects.size).toBe(7);
    for (const e of archive.experiments.values()) {
      expect(e.project).toBe('BENCH');
      expect(e.scans.map((s) => s.id)).toEqual(['1', '2', '3']);
    }
    for (const file of allFiles(archive)) {
      const bytes = file.bytes();
      expect(bytes.length).toBe(file.size);
      expect(md5(bytes)).toBe(file.digest);
      parseDicom(bytes);
    }
  });

  it('is deterministic', () => {
    const a = generateArchive({ experiments: 500, scansPerExperiment: 2 });
    const b = generateArchive({ experiments: 500, scansPerExperiment: 2 });
    expect(JSON.stringify([...a.experiments.values()])).toBe(JSON.stringify([...b.experiments.values()]));
  });

  it('rejects an invalid project ID', () => {
    expect(() => generateArchive({ experiments: 1, project: 'no spaces' })).toThrow(/Invalid project ID/);
  });
});
