/**
 * The demo archive: a small, realistic, fully deterministic XNAT site that tests and `npm run demo`
 * run against. Three projects with different accessibility, five users with different roles, MR/PET/CT
 * sessions with typical scans and small valid files, one shared subject and session, one QC assessor,
 * one quarantined session and labels with spaces and non-ASCII characters.
 *
 * Other engineers' tests rely on the users, project IDs and roles documented in the README.
 */
import { newExperiment, nextExperimentId, nextSubjectId } from './records.js';
import { seedSavedSearches } from './saved-searches.js';
import { SOP_CLASS, dicomFile, niftiGzFile, pngFile, storedFile, type DicomInstance } from './dicom.js';
import type {
  Accessibility,
  Demographics,
  ProjectRole,
  SandboxArchive,
  SandboxUser,
  StoredExperiment,
  StoredFile,
  StoredProject,
  StoredResource,
  StoredScan,
  StoredSubject,
} from './model.js';

/** The users every sandbox archive (demo or generated) knows, with their documented passwords. */
export function sandboxUsers(): SandboxUser[] {
  const user = (
    xdatUserId: number,
    login: string,
    password: string,
    firstname: string,
    lastname: string,
  ) => ({
    xdatUserId,
    login,
    password,
    firstname,
    lastname,
    email: `${login}@example.org`,
    admin: login === 'admin',
    enabled: true,
  });
  return [
    user(1, 'admin', 'admin', 'Site', 'Administrator'),
    user(2, 'alice', 'alice123', 'Alice', 'Andersen'),
    user(3, 'bob', 'bob123', 'Bob', 'Brown'),
    user(4, 'carol', 'carol123', 'Carol', 'Castillo'),
    user(5, 'dave', 'dave123', 'Dave', 'Dubois'),
  ];
}

/** A fixed-seed PRNG (mulberry32): variety in the data without losing determinism. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` `days` after `iso`. */
export function addDays(iso: string, days: number): string {
  return new Date(Date.parse(`${iso}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** XNAT's listing timestamp form `YYYY-MM-DD HH:MM:SS.mmm`, `minutes` after midnight of `iso`. */
export function timestampOf(iso: string, minutes: number): string {
  // Real insert timestamps carry milliseconds; derive them from the minute so they stay deterministic.
  const millis = (minutes * 37) % 1000;
  return new Date(Date.parse(`${iso}T00:00:00Z`) + minutes * 60_000 + millis)
    .toISOString()
    .replace('T', ' ')
    .slice(0, 23);
}

function epochOf(timestamp: string): number {
  return Date.parse(`${timestamp.replace(' ', 'T')}Z`);
}

/** Allocates XNAT's sequences while an archive is being built. */
export class ArchiveBuilder {
  readonly archive: SandboxArchive;

  constructor(siteId: string) {
    this.archive = {
      siteId,
      users: sandboxUsers(),
      tokens: [],
      projects: new Map(),
      subjects: new Map(),
      experiments: new Map(),
      sequences: { subject: 1, experiment: 1, resource: 1, scan: 1 },
    };
  }

  nextSubjectId(): string {
    return nextSubjectId(this.archive);
  }

  nextExperimentId(): string {
    return nextExperimentId(this.archive);
  }

  resource(
    label: string,
    format: string,
    content: string,
    files: StoredFile[],
    description = '',
  ): StoredResource {
    return {
      xnatAbstractresourceId: this.archive.sequences.resource++,
      label,
      xsiType: 'xnat:resourceCatalog',
      format,
      content,
      description,
      tags: [],
      files,
    };
  }

  nextScanKey(): number {
    return this.archive.sequences.scan++;
  }
}

export interface ProjectSpec {
  id: string;
  name: string;
  description: string;
  keywords: string;
  pi: [string, string];
  accessibility: Accessibility;
  users: Record<string, ProjectRole>;
  insertDate: string;
  aliases?: string[];
  fields?: Record<string, string>;
}

export function project(spec: ProjectSpec): StoredProject {
  return {
    id: spec.id,
    secondaryId: spec.id,
    name: spec.name,
    description: spec.description,
    keywords: spec.keywords,
    piFirstname: spec.pi[0],
    piLastname: spec.pi[1],
    accessibility: spec.accessibility,
    aliases: spec.aliases ?? [],
    fields: spec.fields ?? {},
    users: spec.users,
    quarantineCode: 0,
    prearchiveCode: 4,
    insertDate: spec.insertDate,
    insertUser: 'admin',
    resources: [],
  };
}

/** How one series of a session is acquired; the scan record and its DICOM follow from it. */
export interface SeriesProtocol {
  type: string;
  seriesDescription: string;
  frames: number;
  xsiType: string;
  modality: 'MR' | 'PT' | 'CT';
  parameters: Record<string, string | number>;
}

/** The typical research MR session: scan IDs "1".."6" in this order. */
export const MR_PROTOCOLS: readonly SeriesProtocol[] = [
  mr('localizer', 'localizer', 3, { tr: 8.6, te: 4, flip: 20, orientation: 'Sag', voxelRes: [1.6, 1.6, 7] }),
  mr('T1w_MPR', 't1_mprage_sag_p2_iso', 176, {
    tr: 2300,
    te: 2.98,
    ti: 900,
    flip: 9,
    orientation: 'Sag',
    voxelRes: [1, 1, 1],
  }),
  mr('T2w_SPC', 't2_space_sag_p2_iso', 176, {
    tr: 3200,
    te: 409,
    flip: 120,
    orientation: 'Sag',
    voxelRes: [1, 1, 1],
  }),
  mr('rfMRI_REST_AP', 'rfMRI_REST_AP', 420, {
    tr: 800,
    te: 37,
    flip: 52,
    orientation: 'Tra',
    voxelRes: [2, 2, 2],
  }),
  mr('dMRI_dir98_AP', 'dMRI_dir98_AP', 99, {
    tr: 3230,
    te: 89.2,
    flip: 78,
    orientation: 'Tra',
    voxelRes: [1.5, 1.5, 1.5],
  }),
  mr('gre_field_mapping', 'gre_field_mapping', 88, {
    tr: 588,
    te: 4.92,
    flip: 60,
    orientation: 'Tra',
    voxelRes: [2, 2, 2],
  }),
];

function mr(
  type: string,
  seriesDescription: string,
  frames: number,
  p: {
    tr: number;
    te: number;
    ti?: number;
    flip: number;
    orientation: string;
    voxelRes: [number, number, number];
  },
): SeriesProtocol {
  const parameters: Record<string, string | number> = {
    'parameters/tr': p.tr,
    'parameters/te': p.te,
    'parameters/flip': p.flip,
    'parameters/orientation': p.orientation,
    'parameters/voxelRes/x': p.voxelRes[0],
    'parameters/voxelRes/y': p.voxelRes[1],
    'parameters/voxelRes/z': p.voxelRes[2],
  };
  if (p.ti !== undefined) parameters['parameters/ti'] = p.ti;
  return { type, seriesDescription, frames, xsiType: 'xnat:mrScanData', modality: 'MR', parameters };
}

export interface Scanner {
  manufacturer: string;
  model: string;
  station: string;
  fieldStrength?: string;
  institution: string;
}

export const PRISMA: Scanner = {
  manufacturer: 'SIEMENS',
  model: 'Prisma',
  station: 'AWP166038',
  fieldStrength: '3.0',
  institution: 'Northfield Imaging Center',
};
const PRISMA_FIT: Scanner = { ...PRISMA, model: 'Prisma_fit', station: 'MRC67078' };
const SIGNA: Scanner = {
  manufacturer: 'GE MEDICAL SYSTEMS',
  model: 'SIGNA Premier',
  station: 'GEMR3TP1',
  fieldStrength: '3.0',
  institution: "Riverside Children's Hospital",
};
const BIOGRAPH: Scanner = {
  manufacturer: 'SIEMENS',
  model: 'Biograph mCT',
  station: 'PETCT01',
  institution: 'Northfield Imaging Center',
};

const UID_ROOT = '1.2.826.0.1.3680043.8.498';

interface SessionSpec {
  builder: ArchiveBuilder;
  xsiType: string;
  project: string;
  label: string;
  subject: StoredSubject;
  date: string;
  /** Minutes after midnight the session starts. */
  startMinutes: number;
  scanner: Scanner;
  protocols: readonly SeriesProtocol[];
  insertUser: string;
  fields?: Record<string, string>;
  extraAttributes?: Record<string, string | number>;
  /** Which scans (by ID) get NIFTI and SNAPSHOTS resources. */
  niftiScans?: readonly string[];
  snapshotScans?: readonly string[];
  /** Quality per scan ID, default `usable`. */
  quality?: Record<string, { quality: string; note?: string }>;
  /** BIDS-style stem for derived file names, e.g. `sub-001_ses-1`. */
  bidsStem: string;
}

const clock = (minutes: number): string =>
  `${String(Math.floor(minutes / 60) % 24).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}:${String((minutes * 7) % 60).padStart(2, '0')}`;

function dicomSex(gender: string | undefined): string {
  if (gender === 'male') return 'M';
  if (gender === 'female') return 'F';
  return gender === undefined ? '' : 'O';
}

/** An image session with its scans and their DICOM/NIFTI/SNAPSHOTS resources. */
function imageSession(spec: SessionSpec): StoredExperiment {
  const { builder, subject, scanner } = spec;
  const id = builder.nextExperimentId();
  const numericId = builder.archive.sequences.experiment - 1;
  const modality = spec.protocols[0]?.modality ?? 'MR';
  const studyUid = `${UID_ROOT}.${numericId}`;
  const insertDate = timestampOf(addDays(spec.date, 1), 9 * 60 + (numericId % 120));
  const modified = epochOf(insertDate);
  const patientName = subject.label.replaceAll(' ', '^');

  const scans: StoredScan[] = spec.protocols.map((protocol, index) => {
    const scanId = String(index + 1);
    const seriesUid = `${studyUid}.${index + 1}`;
    const startTime = clock(spec.startMinutes + index * 6);
    const instance = (n: number): DicomInstance => ({
      sopClassUid: SOP_CLASS[protocol.modality],
      sopInstanceUid: `${seriesUid}.${n}`,
      studyInstanceUid: studyUid,
      seriesInstanceUid: seriesUid,
      studyDate: spec.date,
      studyTime: clock(spec.startMinutes),
      modality: protocol.modality,
      manufacturer: scanner.manufacturer,
      modelName: scanner.model,
      stationName: scanner.station,
      studyDescription: `${spec.project}^${modality}`,
      seriesDescription: protocol.seriesDescription,
      patientName,
      patientId: subject.label,
      patientBirthDate: subject.demographics.dob ?? '',
      patientSex: dicomSex(subject.demographics.gender),
      accessionNumber: `ACC${numericId}`,
      seriesNumber: index + 1,
      instanceNumber: n,
      size: 16,
      extra: scanner.fieldStrength ? [{ tag: 0x00180087, vr: 'DS', value: scanner.fieldStrength }] : [],
    });
    const fileCount = Math.min(protocol.frames, 3);
    const dicomFiles = Array.from({ length: fileCount }, (_, i) =>
      storedFile(
        {
          path: `${seriesUid}-${index + 1}-${i + 1}.dcm`,
          format: 'DICOM',
          content: 'RAW',
          lastModified: modified,
        },
        () => dicomFile(instance(i + 1)),
      ),
    );
    const resources = [builder.resource('DICOM', 'DICOM', 'RAW', dicomFiles)];
    if (spec.niftiScans?.includes(scanId)) {
      const stem = `${spec.bidsStem}_run-${scanId}_${protocol.type}`;
      const sidecar = JSON.stringify(
        {
          Modality: protocol.modality,
          Manufacturer: scanner.manufacturer,
          ManufacturersModelName: scanner.model,
          SeriesDescription: protocol.seriesDescription,
          SeriesNumber: index + 1,
          RepetitionTime: Number(protocol.parameters['parameters/tr'] ?? 0) / 1000,
          EchoTime: Number(protocol.parameters['parameters/te'] ?? 0) / 1000,
          ConversionSoftware: 'dcm2niix',
        },
        null,
        2,
      );
      resources.push(
        builder.resource('NIFTI', 'NIFTI', 'NIFTI_RAW', [
          storedFile(
            { path: `${stem}.nii.gz`, format: 'NIFTI', content: 'NIFTI_RAW', lastModified: modified },
            () => niftiGzFile([8, 8, 4], `${spec.label} ${protocol.seriesDescription}`),
          ),
          storedFile(
            { path: `${stem}.json`, format: 'JSON', content: 'BIDS_SIDECAR', lastModified: modified },
            () => Buffer.from(`${sidecar}\n`, 'utf8'),
          ),
        ]),
      );
    }
    if (spec.snapshotScans?.includes(scanId)) {
      const shade = (numericId * 13 + index * 29) & 0xff;
      resources.push(
        builder.resource(
          'SNAPSHOTS',
          'PNG',
          '',
          [
            storedFile(
              { path: `${id}_${scanId}_qc.png`, format: 'PNG', content: 'ORIGINAL', lastModified: modified },
              () => pngFile(32, shade),
            ),
            storedFile(
              {
                path: `${id}_${scanId}_qc_t.png`,
                format: 'PNG',
                content: 'THUMBNAIL',
                lastModified: modified,
              },
              () => pngFile(8, shade),
            ),
          ],
          'Snapshots',
        ),
      );
    }
    const quality = spec.quality?.[scanId];
    const parameters: Record<string, string | number> = {
      ...protocol.parameters,
      'scanner/manufacturer': scanner.manufacturer,
      'scanner/model': scanner.model,
    };
    if (scanner.fieldStrength) parameters.fieldStrength = scanner.fieldStrength;
    return {
      id: scanId,
      xnatImagescandataId: builder.nextScanKey(),
      xsiType: protocol.xsiType,
      type: protocol.type,
      seriesDescription: protocol.seriesDescription,
      quality: quality?.quality ?? 'usable',
      condition: '',
      note: quality?.note ?? '',
      frames: protocol.frames,
      uid: seriesUid,
      modality: protocol.modality,
      startTime,
      parameters,
      insertDate,
      insertUser: spec.insertUser,
      lastModified: insertDate,
      resources,
    };
  });

  const attributes: Record<string, string | number> = {
    modality,
    UID: studyUid,
    scanner: scanner.station,
    'scanner/manufacturer': scanner.manufacturer,
    'scanner/model': scanner.model,
    dcmPatientId: subject.label,
    dcmPatientName: patientName,
    dcmAccessionNumber: `ACC${numericId}`,
    session_type: `${spec.project}^${modality}`,
    ...spec.extraAttributes,
  };
  if (scanner.fieldStrength) attributes.fieldStrength = scanner.fieldStrength;
  if (subject.demographics.dob) attributes.dcmPatientBirthDate = subject.demographics.dob;

  return {
    id,
    xsiType: spec.xsiType,
    project: spec.project,
    label: spec.label,
    subjectId: subject.id,
    imageSessionId: '',
    date: spec.date,
    time: clock(spec.startMinutes),
    visitId: '',
    visit: '',
    note: '',
    acquisitionSite: scanner.institution,
    status: 'active',
    fields: spec.fields ?? {},
    shares: [],
    attributes,
    scans,
    resources: [],
    inResources: [],
    insertDate,
    insertUser: spec.insertUser,
    lastModified: insertDate,
  };
}

interface SubjectSpec {
  builder: ArchiveBuilder;
  project: string;
  label: string;
  group: string;
  demographics: Demographics;
  fields: Record<string, string>;
  insertDate: string;
  insertUser: string;
}

function subject(spec: SubjectSpec): StoredSubject {
  return {
    id: spec.builder.nextSubjectId(),
    project: spec.project,
    label: spec.label,
    group: spec.group,
    src: '',
    initials: '',
    demographics: spec.demographics,
    fields: spec.fields,
    shares: [],
    status: 'active',
    insertDate: spec.insertDate,
    insertUser: spec.insertUser,
    lastModified: spec.insertDate,
    resources: [],
  };
}

function add(archive: SandboxArchive, item: StoredSubject | StoredExperiment): void {
  if ('subjectId' in item) archive.experiments.set(item.id, item);
  else archive.subjects.set(item.id, item);
}

function pick<T>(random: () => number, values: readonly T[]): T {
  const value = values[Math.floor(random() * values.length)];
  if (value === undefined) throw new Error('pick from an empty list');
  return value;
}

function demographics(random: () => number, yobFrom: number, yobTo: number, withDob: boolean): Demographics {
  const yob = yobFrom + Math.floor(random() * (yobTo - yobFrom + 1));
  const gender = pick(random, ['male', 'female', 'female', 'male', 'other'] as const);
  const handedness = pick(random, ['right', 'right', 'right', 'right', 'left', 'ambidextrous'] as const);
  const result: Demographics = { gender, handedness, education: 12 + Math.floor(random() * 9) };
  if (withDob)
    result.dob = `${yob}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
  else result.yob = yob;
  return result;
}

/** Label of the BRAIN_MR subject with spaces and non-ASCII characters. */
export const DEMO_UNICODE_SUBJECT_LABEL = 'Sujet Éloïse 07';
/** Label of the BRAIN_MR session with spaces and non-ASCII characters. */
export const DEMO_UNICODE_EXPERIMENT_LABEL = 'MR 2023-03 Ünal';

export function createDemoArchive(): SandboxArchive {
  const builder = new ArchiveBuilder('XNAT');
  const { archive } = builder;
  const random = seededRandom(20240611);

  const brain = project({
    id: 'BRAIN_MR',
    name: 'Brain MRI Cohort',
    description:
      'Longitudinal 3T structural, resting-state and diffusion MRI of healthy adults and patients with mild cognitive impairment.',
    keywords: 'MRI brain longitudinal T1w rsfMRI DWI MCI',
    pi: ['Margaret', 'Okafor'],
    accessibility: 'protected',
    users: { alice: 'owner', bob: 'member', carol: 'collaborator' },
    insertDate: '2021-01-04 09:12:44.317',
    aliases: ['BRAINMRI'],
    fields: { funding: 'NIH R01 AG071234', irb_protocol: 'IRB-2020-0417' },
  });
  brain.resources.push(
    builder.resource('PROTOCOLS', 'TXT', 'PROTOCOL', [
      storedFile(
        {
          path: 'imaging_protocol_v2.txt',
          format: 'TXT',
          content: 'PROTOCOL',
          lastModified: epochOf(brain.insertDate),
        },
        () =>
          Buffer.from(
            [
              'Brain MRI Cohort imaging protocol, version 2',
              ...MR_PROTOCOLS.map((p, i) => `${i + 1}. ${p.seriesDescription} (${p.frames} frames)`),
              '',
            ].join('\n'),
            'utf8',
          ),
      ),
    ]),
  );
  const pet = project({
    id: 'PET_AMYLOID',
    name: 'Amyloid PET Imaging Study',
    description: '18F-florbetapir amyloid PET with low-dose CT for attenuation correction.',
    keywords: 'PET CT amyloid florbetapir',
    pi: ['Robert', 'Lindqvist'],
    accessibility: 'public',
    users: { bob: 'owner', alice: 'member' },
    insertDate: '2021-06-14 14:03:27.902',
  });
  const peds = project({
    id: 'PEDS_DTI',
    name: 'Pediatric Diffusion Study',
    description: 'Diffusion tensor imaging of white-matter development in children aged 6 to 12.',
    keywords: 'pediatric DTI diffusion development',
    pi: ['Carol', 'Castillo'],
    accessibility: 'private',
    users: { carol: 'owner' },
    insertDate: '2021-03-22 11:45:09.118',
  });
  for (const p of [brain, pet, peds]) archive.projects.set(p.id, p);

  // BRAIN_MR: 22 subjects, one or two MR sessions each, spread from 2021 to 2024.
  const brainSubjects: StoredSubject[] = [];
  for (let i = 1; i <= 22; i++) {
    const label = i === 7 ? DEMO_UNICODE_SUBJECT_LABEL : `BMR${String(i).padStart(3, '0')}`;
    const firstVisit = addDays('2021-01-11', (i - 1) * 55);
    const cohort = i % 3 === 0 ? 'patient' : 'control';
    const s = subject({
      builder,
      project: brain.id,
      label,
      group: cohort,
      demographics: demographics(random, 1948, 1995, i % 4 === 0),
      fields: { group: cohort, site: i % 2 === 0 ? 'Leipzig' : 'Boston' },
      insertDate: timestampOf(firstVisit, 8 * 60 + i),
      insertUser: i % 5 === 0 ? 'bob' : 'alice',
    });
    brainSubjects.push(s);
    add(archive, s);
    const visits = i % 4 === 3 ? 1 : 2;
    for (let v = 1; v <= visits; v++) {
      const date = v === 1 ? firstVisit : addDays(firstVisit, 180);
      const sessionLabel =
        i === 12 && v === 2 ? DEMO_UNICODE_EXPERIMENT_LABEL : i === 7 ? `Eloise07_MR${v}` : `${label}_MR${v}`;
      const quality: Record<string, { quality: string; note?: string }> = {};
      if ((i + v) % 5 === 0)
        quality['4'] = { quality: 'questionable', note: 'mild motion in the second half' };
      if (i === 5 && v === 1)
        quality['4'] = { quality: 'unusable', note: 'excessive head motion, repeat scheduled' };
      if (i === 9 && v === 2)
        quality['5'] = { quality: 'questionable', note: 'signal dropout in frontal slices' };
      const session = imageSession({
        builder,
        xsiType: 'xnat:mrSessionData',
        project: brain.id,
        label: sessionLabel,
        subject: s,
        date,
        startMinutes: 8 * 60 + ((i * 37 + v * 53) % 480),
        scanner: i % 3 === 1 ? PRISMA_FIT : PRISMA,
        protocols: v === 1 ? MR_PROTOCOLS : MR_PROTOCOLS.slice(0, 5),
        insertUser: s.insertUser,
        fields: {
          visit_type: v === 1 ? 'baseline' : 'follow_up_6m',
          operator_initials: pick(random, ['JS', 'MK', 'TR']),
        },
        extraAttributes: {
          operator: pick(random, ['J. Smith', 'M. Kowalski', 'T. Reyes']),
          coil: 'HeadNeck_64',
        },
        niftiScans: v === 1 ? ['2', '4'] : i % 2 === 0 ? ['2'] : [],
        snapshotScans: v === 1 ? ['2', '3'] : [],
        quality,
        bidsStem: `sub-${String(i).padStart(3, '0')}_ses-${v}`,
      });
      if (i === 20 && v === 2) session.status = 'quarantine';
      add(archive, session);
      if (i === 1 && v === 1) {
        // One manual QC assessor, rated by the project owner.
        const rated = timestampOf(addDays(date, 3), 15 * 60 + 21);
        add(archive, {
          ...newExperiment(archive, {
            xsiType: 'xnat:qcManualAssessorData',
            project: brain.id,
            label: `${session.label}_QC`,
            subjectId: '',
            imageSessionId: session.id,
            login: 'alice',
          }),
          date: addDays(date, 3),
          attributes: {
            rater: 'Alice Andersen',
            incidentalFindings: 'none',
            comments: 'All series usable; mild wrap-around on the localizer.',
            pass: '1',
            payable: '1',
          },
          insertDate: rated,
          lastModified: rated,
        });
      }
    }
  }
  const firstSubject = brainSubjects[0];
  if (firstSubject) {
    firstSubject.resources.push(
      builder.resource('NOTES', 'TXT', 'NOTES', [
        storedFile(
          {
            path: 'screening_notes.txt',
            format: 'TXT',
            content: 'NOTES',
            lastModified: epochOf(firstSubject.insertDate),
          },
          () => Buffer.from('Screening: MRI safe, no implants. Consent version 3 signed.\n', 'utf8'),
        ),
      ]),
    );
  }

  // PET_AMYLOID: 8 subjects with a PET and a CT session each, plus one shared BRAIN_MR subject.
  const petProtocols: readonly SeriesProtocol[] = [
    {
      type: 'PET AC 3D Brain',
      seriesDescription: 'PET_Brain_AC_3D',
      frames: 109,
      xsiType: 'xnat:petScanData',
      modality: 'PT',
      parameters: {
        'parameters/orientation': 'Tra',
        'parameters/voxelRes/x': 2.04,
        'parameters/voxelRes/y': 2.04,
        'parameters/voxelRes/z': 2.03,
      },
    },
    {
      type: 'PET NAC Brain',
      seriesDescription: 'PET_Brain_NAC',
      frames: 109,
      xsiType: 'xnat:petScanData',
      modality: 'PT',
      parameters: { 'parameters/orientation': 'Tra' },
    },
  ];
  const ctProtocols: readonly SeriesProtocol[] = [
    {
      type: 'Topogram',
      seriesDescription: 'Topogram  0.6  T20s',
      frames: 1,
      xsiType: 'xnat:ctScanData',
      modality: 'CT',
      parameters: { 'parameters/kvp': 120, 'parameters/orientation': 'Cor' },
    },
    {
      type: 'CT Head AC',
      seriesDescription: 'CTAC 3.0 H31s',
      frames: 74,
      xsiType: 'xnat:ctScanData',
      modality: 'CT',
      parameters: {
        'parameters/kvp': 120,
        'parameters/xrayTubeCurrent': 50,
        'parameters/orientation': 'Tra',
        'parameters/voxelRes/z': 3,
      },
    },
  ];
  const petSessionsFor = (s: StoredSubject, label: string, date: string, minutes: number): void => {
    const tracer = {
      'tracer/name': 'AV45',
      'tracer/isotope': '18F',
      'tracer/dose': 370,
      studyType: 'amyloid',
    };
    add(
      archive,
      imageSession({
        builder,
        xsiType: 'xnat:petSessionData',
        project: pet.id,
        label: `${label}_PET1`,
        subject: s,
        date,
        startMinutes: minutes,
        scanner: BIOGRAPH,
        protocols: petProtocols,
        insertUser: 'bob',
        fields: { uptake_minutes: '50' },
        extraAttributes: tracer,
        snapshotScans: ['1'],
        bidsStem: `${label}_pet`,
      }),
    );
    add(
      archive,
      imageSession({
        builder,
        xsiType: 'xnat:ctSessionData',
        project: pet.id,
        label: `${label}_CT1`,
        subject: s,
        date,
        startMinutes: minutes - 10,
        scanner: BIOGRAPH,
        protocols: ctProtocols,
        insertUser: 'bob',
        bidsStem: `${label}_ct`,
      }),
    );
  };
  for (let i = 1; i <= 8; i++) {
    const label = `AMY${String(i).padStart(3, '0')}`;
    const date = addDays('2022-02-07', (i - 1) * 97);
    const s = subject({
      builder,
      project: pet.id,
      label,
      group: i % 2 === 0 ? 'amyloid_positive' : 'amyloid_negative',
      demographics: demographics(random, 1940, 1965, false),
      fields: { site: 'Boston', apoe: pick(random, ['e3/e3', 'e3/e4', 'e4/e4', 'e2/e3']) },
      insertDate: timestampOf(date, 7 * 60 + 30 + i),
      insertUser: 'bob',
    });
    add(archive, s);
    petSessionsFor(s, label, date, 9 * 60 + i * 11);
  }
  // BMR002 joined the PET study: shared with its first MR session, under PET_AMYLOID's own labels.
  const sharedSubject = brainSubjects[1];
  if (sharedSubject) {
    sharedSubject.shares.push({ project: pet.id, label: 'AMY101' });
    const sharedSession = [...archive.experiments.values()].find(
      (e) => e.subjectId === sharedSubject.id && e.label === `${sharedSubject.label}_MR1`,
    );
    sharedSession?.shares.push({ project: pet.id, label: 'AMY101_MR1' });
    petSessionsFor(sharedSubject, 'AMY101', '2024-05-13', 10 * 60 + 5);
  }

  // PEDS_DTI: private to carol.
  const pedsProtocols = [
    MR_PROTOCOLS[0],
    MR_PROTOCOLS[1],
    mr('dMRI_dir64_PA', 'DTI_64dir_b1000_PA', 65, {
      tr: 8500,
      te: 82,
      flip: 90,
      orientation: 'Tra',
      voxelRes: [2, 2, 2],
    }),
  ].filter((p): p is SeriesProtocol => p !== undefined);
  for (let i = 1; i <= 5; i++) {
    const label = `PDT${String(i).padStart(3, '0')}`;
    const date = addDays('2021-04-19', (i - 1) * 71);
    // Pediatric sites often record the age at enrolment rather than any birth date.
    const { yob, ...withoutYob } = demographics(random, 2010, 2015, false);
    const s = subject({
      builder,
      project: peds.id,
      label,
      group: 'typical_development',
      demographics: { ...withoutYob, age: Number(date.slice(0, 4)) - (yob ?? 0) },
      fields: { site: 'Riverside', grade: String(1 + (i % 6)) },
      insertDate: timestampOf(date, 8 * 60 + i),
      insertUser: 'carol',
    });
    add(archive, s);
    add(
      archive,
      imageSession({
        builder,
        xsiType: 'xnat:mrSessionData',
        project: peds.id,
        label: `${label}_DTI1`,
        subject: s,
        date,
        startMinutes: 14 * 60 + i * 17,
        scanner: SIGNA,
        protocols: pedsProtocols,
        insertUser: 'carol',
        fields: { sedation: 'none' },
        niftiScans: ['3'],
        bidsStem: `sub-${label}_ses-1`,
      }),
    );
  }
  seedSavedSearches(archive);
  return archive;
}
