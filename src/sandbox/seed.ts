/**
 * The demo archive: a small, realistic, fully deterministic XNAT site that tests and `npm run demo`
 * run against. Three projects with different accessibility, five users with different roles, MR/PET/CT
 * sessions with typical scans and small valid files, one shared subject and session, one QC assessor,
 * one quarantined session and labels with spaces and non-ASCII characters.
 *
 * This file describes what the archive holds; seed-builders.ts turns the descriptions into records.
 * Other engineers' tests rely on the users, project IDs and roles documented in the README.
 */
import { storeConfig } from './config.js';
import type { SandboxArchive, SandboxUser, StoredSubject } from './model.js';
import { newExperiment } from './records.js';
import { seedSavedSearches } from './saved-searches.js';
import {
  ArchiveBuilder,
  addDays,
  type ScanQuality,
  demographics,
  epochOf,
  imageSession,
  pick,
  project,
  seededRandom,
  subject,
  textResource,
  timestampOf,
  type ProjectSpec,
} from './seed-builders.js';
import {
  BIOGRAPH,
  CT_PROTOCOLS,
  DTI_PROTOCOL,
  MR_PROTOCOLS,
  PET_PROTOCOLS,
  PRISMA,
  PRISMA_FIT,
  SIGNA,
  type SeriesProtocol,
} from './seed-protocols.js';

export { project } from './seed-builders.js';

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

/** Label of the BRAIN_MR subject with spaces and non-ASCII characters. */
export const DEMO_UNICODE_SUBJECT_LABEL = 'Sujet Éloïse 07';
/** Label of the BRAIN_MR session with spaces and non-ASCII characters. */
export const DEMO_UNICODE_EXPERIMENT_LABEL = 'MR 2023-03 Ünal';

const BRAIN_MR: ProjectSpec = {
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
  customVariables: {
    'xnat:subjectData': [
      ['group', 'string'],
      ['site', 'string'],
    ],
    'xnat:mrSessionData': [
      ['visit_type', 'string'],
      ['operator_initials', 'string'],
    ],
  },
};

const PET_AMYLOID: ProjectSpec = {
  id: 'PET_AMYLOID',
  name: 'Amyloid PET Imaging Study',
  description: '18F-florbetapir amyloid PET with low-dose CT for attenuation correction.',
  keywords: 'PET CT amyloid florbetapir',
  pi: ['Robert', 'Lindqvist'],
  accessibility: 'public',
  users: { bob: 'owner', alice: 'member' },
  // A custom group: the project is public, so carol reads nothing she could not read before.
  groups: { readers: { displayname: 'Image Readers', rights: 'collaborator', members: ['carol'] } },
  insertDate: '2021-06-14 14:03:27.902',
  customVariables: {
    'xnat:subjectData': [
      ['site', 'string'],
      ['apoe', 'string'],
    ],
  },
};

const PEDS_DTI: ProjectSpec = {
  id: 'PEDS_DTI',
  name: 'Pediatric Diffusion Study',
  description: 'Diffusion tensor imaging of white-matter development in children aged 6 to 12.',
  keywords: 'pediatric DTI diffusion development',
  pi: ['Carol', 'Castillo'],
  accessibility: 'private',
  users: { carol: 'owner' },
  insertDate: '2021-03-22 11:45:09.118',
  customVariables: {
    'xnat:subjectData': [
      ['site', 'string'],
      ['grade', 'integer'],
    ],
  },
};

const PEDS_PROTOCOLS: readonly SeriesProtocol[] = [MR_PROTOCOLS[0], MR_PROTOCOLS[1], DTI_PROTOCOL].filter(
  (p): p is SeriesProtocol => p !== undefined,
);

type Quality = Record<string, ScanQuality>;

/** Scan quality ratings of BRAIN_MR subject `i`'s visit `v` (default usable), with what the images show. */
function brainQuality(i: number, v: number): Quality {
  const quality: Quality = {};
  if (i === 1 && v === 1)
    quality['1'] = { quality: 'usable', note: 'mild wrap-around', artefact: { kind: 'wrap' } };
  if ((i + v) % 5 === 0)
    quality['4'] = {
      quality: 'questionable',
      note: 'mild motion in the second half: ghosting from volume 6',
      artefact: { kind: 'motion', severity: 1, fromVolume: 5 },
    };
  if (i === 5 && v === 1)
    quality['4'] = {
      quality: 'unusable',
      note: 'excessive head motion: ghosting in every volume, repeat scheduled',
      artefact: { kind: 'motion', severity: 3, fromVolume: 0 },
    };
  if (i === 4 && v === 1)
    quality['3'] = {
      quality: 'questionable',
      note: 'RF spike: herringbone striping on slices 20-26',
      artefact: { kind: 'spike', from: 19, to: 25 },
    };
  if (i === 6 && v === 1)
    quality['6'] = {
      quality: 'questionable',
      note: 'wrap-around: phase field of view too small, the face folds into the occiput',
      artefact: { kind: 'wrap' },
    };
  if (i === 9 && v === 2)
    quality['5'] = {
      quality: 'questionable',
      note: 'slices 11-13 missing from every volume (incomplete transfer)',
      artefact: { kind: 'missing', slices: [10, 11, 12] },
    };
  return quality;
}

/** A head size between 0.96 and 1.04 of average, fixed per subject number. */
const headScale = (i: number): number => 0.96 + ((i * 37) % 9) / 100;

function brainSessionLabel(i: number, v: number, subjectLabel: string): string {
  if (i === 12 && v === 2) return DEMO_UNICODE_EXPERIMENT_LABEL;
  return i === 7 ? `Eloise07_MR${v}` : `${subjectLabel}_MR${v}`;
}

/** BRAIN_MR: 22 subjects, one or two MR sessions each, spread from 2021 to 2024. */
function seedBrainMr(builder: ArchiveBuilder, random: () => number): StoredSubject[] {
  const brain = project(BRAIN_MR);
  brain.resources.push(
    textResource(builder, 'PROTOCOLS', 'PROTOCOL', {
      path: 'imaging_protocol_v2.txt',
      text: [
        'Brain MRI Cohort imaging protocol, version 2',
        ...MR_PROTOCOLS.map((p, i) => `${i + 1}. ${p.seriesDescription} (${p.frames} frames)`),
        '',
      ].join('\n'),
      lastModified: epochOf(brain.insertDate),
    }),
  );
  builder.add(brain);
  seedBidsmap(builder.archive, brain.insertDate);
  const subjects: StoredSubject[] = [];
  for (let i = 1; i <= 22; i++) {
    const label = i === 7 ? DEMO_UNICODE_SUBJECT_LABEL : `BMR${String(i).padStart(3, '0')}`;
    const firstVisit = addDays('2021-01-11', (i - 1) * 55);
    const cohort = i % 3 === 0 ? 'patient' : 'control';
    const s = subject(builder, {
      project: brain.id,
      label,
      group: cohort,
      demographics: demographics(random, 1948, 1995, i % 4 === 0),
      fields: { group: cohort, site: i % 2 === 0 ? 'Leipzig' : 'Boston' },
      insertDate: timestampOf(firstVisit, 8 * 60 + i),
      insertUser: i % 5 === 0 ? 'bob' : 'alice',
    });
    subjects.push(s);
    builder.add(s);
    const visits = i % 4 === 3 ? 1 : 2;
    for (let v = 1; v <= visits; v++) {
      const date = v === 1 ? firstVisit : addDays(firstVisit, 180);
      const session = imageSession(builder, {
        xsiType: 'xnat:mrSessionData',
        project: brain.id,
        label: brainSessionLabel(i, v, label),
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
        niftiScans: v === 1 ? ['2', '4', '5'] : i % 2 === 0 ? ['2'] : [],
        snapshotScans: v === 1 ? ['2', '3'] : [],
        quality: brainQuality(i, v),
        // Patients' brains shrink: wider sulci and ventricles, more so at follow-up.
        head: { scale: headScale(i), atrophy: cohort === 'patient' ? 0.5 + 0.1 * v : 0 },
        bidsStem: `sub-${String(i).padStart(3, '0')}_ses-${v}`,
      });
      if (i === 20 && v === 2) session.status = 'quarantine';
      builder.add(session);
      if (i === 1 && v === 1) seedQcAssessor(builder, session.id, session.label, date);
    }
  }
  const first = subjects[0];
  first?.resources.push(
    textResource(builder, 'NOTES', 'NOTES', {
      path: 'screening_notes.txt',
      text: 'Screening: MRI safe, no implants. Consent version 3 signed.\n',
      lastModified: epochOf(first.insertDate),
    }),
  );
  return subjects;
}

/**
 * BRAIN_MR's bidsmap in XNAT's config service (tool `bids`, path `bidsmap`), as XNAT's
 * dcm2bids-session container reads it: series descriptions to BIDS names; the localizer is left out.
 */
function seedBidsmap(archive: SandboxArchive, insertDate: string): void {
  const names: Array<[string, string]> = [
    ['t1_mprage_sag_p2', 'T1w'],
    ['t2_space_sag_p2', 'T2w'],
    ['rfMRI_REST_AP', 'task-rest_dir-AP_bold'],
    ['dMRI_b1000_dir3_AP', 'dir-AP_dwi'],
    ['t2_tirm_tra_dark-fluid', 'FLAIR'],
  ];
  const contents = JSON.stringify(
    names.map(([description, bidsname]) => ({ series_description: description, bidsname })),
  );
  storeConfig(archive, {
    project: BRAIN_MR.id,
    tool: 'bids',
    path: 'bidsmap',
    contents,
    user: 'alice',
    created: epochOf(insertDate) + 3_600_000,
  });
}

/** One manual QC assessor, rated by the project owner three days after the session. */
function seedQcAssessor(
  builder: ArchiveBuilder,
  sessionId: string,
  sessionLabel: string,
  date: string,
): void {
  const rated = timestampOf(addDays(date, 3), 15 * 60 + 21);
  builder.add({
    ...newExperiment(builder.archive, {
      xsiType: 'xnat:qcManualAssessorData',
      project: BRAIN_MR.id,
      label: `${sessionLabel}_QC`,
      subjectId: '',
      imageSessionId: sessionId,
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

/** A PET_AMYLOID visit: an amyloid PET session and its attenuation CT. */
function seedPetVisit(
  builder: ArchiveBuilder,
  s: StoredSubject,
  label: string,
  date: string,
  minutes: number,
  amyloid: boolean,
  head: { scale: number; atrophy: number },
) {
  const common = { project: PET_AMYLOID.id, subject: s, date, scanner: BIOGRAPH, insertUser: 'bob', head };
  builder.add(
    imageSession(builder, {
      ...common,
      xsiType: 'xnat:petSessionData',
      label: `${label}_PET1`,
      startMinutes: minutes,
      protocols: PET_PROTOCOLS,
      fields: { uptake_minutes: '50' },
      extraAttributes: {
        'tracer/name': 'AV45',
        'tracer/isotope': '18F',
        'tracer/dose': 370,
        studyType: 'amyloid',
      },
      snapshotScans: ['1'],
      pet: { amyloid },
      bidsStem: `${label}_pet`,
    }),
  );
  builder.add(
    imageSession(builder, {
      ...common,
      xsiType: 'xnat:ctSessionData',
      label: `${label}_CT1`,
      startMinutes: minutes - 10,
      protocols: CT_PROTOCOLS,
      // The PET/CT console exports CT compressed.
      transferSyntax: 'rle',
      bidsStem: `${label}_ct`,
    }),
  );
}

/** PET_AMYLOID: 8 subjects with a PET and a CT session each, plus one shared BRAIN_MR subject. */
function seedPetAmyloid(builder: ArchiveBuilder, random: () => number, brainSubjects: StoredSubject[]): void {
  for (let i = 1; i <= 8; i++) {
    const label = `AMY${String(i).padStart(3, '0')}`;
    const date = addDays('2022-02-07', (i - 1) * 97);
    const s = subject(builder, {
      project: PET_AMYLOID.id,
      label,
      group: i % 2 === 0 ? 'amyloid_positive' : 'amyloid_negative',
      demographics: demographics(random, 1940, 1965, false),
      fields: { site: 'Boston', apoe: pick(random, ['e3/e3', 'e3/e4', 'e4/e4', 'e2/e3']) },
      insertDate: timestampOf(date, 7 * 60 + 30 + i),
      insertUser: 'bob',
    });
    builder.add(s);
    seedPetVisit(builder, s, label, date, 9 * 60 + i * 11, i % 2 === 0, {
      scale: headScale(i + 30),
      atrophy: i % 2 === 0 ? 0.4 : 0.1,
    });
  }
  // BMR002 joined the PET study: shared with its first MR session, under PET_AMYLOID's own labels.
  const shared = brainSubjects[1];
  if (!shared) return;
  shared.shares.push({ project: PET_AMYLOID.id, label: 'AMY101' });
  const sharedSession = [...builder.archive.experiments.values()].find(
    (e) => e.subjectId === shared.id && e.label === `${shared.label}_MR1`,
  );
  sharedSession?.shares.push({ project: PET_AMYLOID.id, label: 'AMY101_MR1' });
  seedPetVisit(builder, shared, 'AMY101', '2024-05-13', 10 * 60 + 5, false, {
    scale: headScale(2),
    atrophy: 0,
  });
}

/** PEDS_DTI: private to carol; five children with one DTI session each. */
function seedPedsDti(builder: ArchiveBuilder, random: () => number): void {
  for (let i = 1; i <= 5; i++) {
    const label = `PDT${String(i).padStart(3, '0')}`;
    const date = addDays('2021-04-19', (i - 1) * 71);
    // Pediatric sites often record the age at enrolment rather than any birth date.
    const { yob, ...withoutYob } = demographics(random, 2010, 2015, false);
    const s = subject(builder, {
      project: PEDS_DTI.id,
      label,
      group: 'typical_development',
      demographics: { ...withoutYob, age: Number(date.slice(0, 4)) - (yob ?? 0) },
      fields: { site: 'Riverside', grade: String(1 + (i % 6)) },
      insertDate: timestampOf(date, 8 * 60 + i),
      insertUser: 'carol',
    });
    builder.add(s);
    builder.add(
      imageSession(builder, {
        xsiType: 'xnat:mrSessionData',
        project: PEDS_DTI.id,
        label: `${label}_DTI1`,
        subject: s,
        date,
        startMinutes: 14 * 60 + i * 17,
        scanner: SIGNA,
        protocols: PEDS_PROTOCOLS,
        insertUser: 'carol',
        fields: { sedation: 'none' },
        niftiScans: ['3'],
        head: { scale: 0.88 + i / 100, atrophy: 0 },
        // The children's hospital archives everything JPEG Lossless compressed.
        transferSyntax: 'jpeg-lossless',
        bidsStem: `sub-${label}_ses-1`,
      }),
    );
  }
}

export function createDemoArchive(): SandboxArchive {
  const builder = new ArchiveBuilder('XNAT', sandboxUsers());
  const random = seededRandom(20240611);
  const brainSubjects = seedBrainMr(builder, random);
  builder.add(project(PET_AMYLOID));
  builder.add(project(PEDS_DTI));
  seedPetAmyloid(builder, random, brainSubjects);
  seedPedsDti(builder, random);
  seedSavedSearches(builder.archive);
  return builder.archive;
}
