/**
 * Large synthetic archives for benchmarks and paging tests: one project holding tens of thousands of
 * MR sessions. Deterministic, built in well under two seconds for 50,000 experiments, and lean: no
 * scans unless asked for, and scan files share one lazily-built template per series type.
 */
import { SOP_CLASS, dicomFile, storedFile } from './dicom.js';
import type { SandboxArchive, StoredExperiment, StoredFile, StoredScan } from './model.js';
import { sandboxUsers } from './seed.js';
import { ArchiveBuilder, addDays, project, seededRandom, timestampOf } from './seed-builders.js';
import { MR_PROTOCOLS, PRISMA } from './seed-protocols.js';

export interface GenerateOptions {
  /** Number of MR sessions to create. */
  experiments: number;
  /** Subjects the sessions are spread over; default one subject per four sessions. */
  subjectsPerProject?: number;
  /** Project ID; default `BIG`. */
  project?: string;
  /** Scans per session (0..6, typical MR series); default 0. */
  scansPerExperiment?: number;
}

const FIRST_DATE = '2015-01-05';
/** Sessions are spread over ten years so date filters select meaningful fractions. */
const DATE_SPAN_DAYS = 3650;

export function generateArchive(opts: GenerateOptions): SandboxArchive {
  const experimentCount = Math.max(0, Math.floor(opts.experiments));
  const subjectCount = Math.max(1, Math.floor(opts.subjectsPerProject ?? Math.ceil(experimentCount / 4)));
  const projectId = opts.project ?? 'BIG';
  const scanCount = Math.min(MR_PROTOCOLS.length, Math.max(0, Math.floor(opts.scansPerExperiment ?? 0)));
  if (!/^[A-Za-z0-9_-]+$/.test(projectId)) throw new Error(`Invalid project ID "${projectId}"`);

  const builder = new ArchiveBuilder('XNAT', sandboxUsers());
  const { archive } = builder;
  const random = seededRandom(424242);
  archive.projects.set(
    projectId,
    project({
      id: projectId,
      name: `Generated archive (${experimentCount} sessions)`,
      description: 'Synthetic MR sessions generated for benchmarks and paging tests.',
      keywords: 'generated benchmark',
      pi: ['Site', 'Administrator'],
      accessibility: 'protected',
      users: { admin: 'owner', alice: 'member', bob: 'collaborator' },
      insertDate: '2015-01-02 08:00:00.000',
    }),
  );

  const subjectIds: string[] = [];
  const width = Math.max(5, String(subjectCount).length);
  for (let i = 1; i <= subjectCount; i++) {
    const id = builder.nextSubjectId();
    subjectIds.push(id);
    archive.subjects.set(id, {
      id,
      project: projectId,
      label: `SUBJ${String(i).padStart(width, '0')}`,
      group: i % 3 === 0 ? 'patient' : 'control',
      src: '',
      initials: '',
      demographics: { gender: i % 2 === 0 ? 'female' : 'male', handedness: 'right', yob: 1940 + (i % 60) },
      fields: {},
      shares: [],
      status: 'active',
      insertDate: '2015-01-03 09:00:00.000',
      insertUser: 'admin',
      lastModified: '2015-01-03 09:00:00.000',
      resources: [],
    });
  }

  const templates = fileTemplates(scanCount);
  const visitsSoFar = new Uint32Array(subjectCount);
  for (let n = 0; n < experimentCount; n++) {
    const subjectIndex = n % subjectCount;
    const subjectId = subjectIds[subjectIndex] ?? '';
    const subjectLabel = archive.subjects.get(subjectId)?.label ?? '';
    const visit = (visitsSoFar[subjectIndex] ?? 0) + 1;
    visitsSoFar[subjectIndex] = visit;
    const id = builder.nextExperimentId();
    const date = addDays(FIRST_DATE, Math.floor((n * DATE_SPAN_DAYS) / Math.max(1, experimentCount)));
    const insertDate = timestampOf(date, 18 * 60 + (n % 300));
    const scans = generatedScans(builder, templates, { n, insertDate, quality: random });
    const experiment: StoredExperiment = {
      id,
      xsiType: 'xnat:mrSessionData',
      project: projectId,
      label: `${subjectLabel}_MR${visit}`,
      subjectId,
      imageSessionId: '',
      date,
      time: '',
      visitId: '',
      visit: '',
      note: '',
      acquisitionSite: PRISMA.institution,
      status: 'active',
      fields: {},
      shares: [],
      attributes: {
        modality: 'MR',
        UID: `1.2.826.0.1.3680043.8.499.${n + 1}`,
        'scanner/manufacturer': PRISMA.manufacturer,
        'scanner/model': PRISMA.model,
        fieldStrength: PRISMA.fieldStrength ?? '3.0',
      },
      scans,
      resources: [],
      inResources: [],
      insertDate,
      insertUser: 'admin',
      lastModified: insertDate,
    };
    archive.experiments.set(id, experiment);
  }
  return archive;
}

/** The first `templates.length` MR series of session `n`, each with its shared DICOM template. */
function generatedScans(
  builder: ArchiveBuilder,
  templates: StoredFile[],
  session: { n: number; insertDate: string; quality: () => number },
): StoredScan[] {
  const { n, insertDate } = session;
  const scans: StoredScan[] = [];
  for (let s = 0; s < templates.length; s++) {
    const protocol = MR_PROTOCOLS[s];
    const template = templates[s];
    if (!protocol || !template) break;
    scans.push({
      id: String(s + 1),
      xnatImagescandataId: builder.nextScanKey(),
      xsiType: protocol.xsiType,
      type: protocol.type,
      seriesDescription: protocol.seriesDescription,
      quality: session.quality() < 0.05 ? 'questionable' : 'usable',
      condition: '',
      note: '',
      frames: protocol.frames,
      uid: `1.2.826.0.1.3680043.8.499.${n + 1}.${s + 1}`,
      modality: 'MR',
      startTime: '',
      parameters: { ...protocol.parameters },
      insertDate,
      insertUser: 'admin',
      lastModified: insertDate,
      resources: [builder.resource('DICOM', 'DICOM', 'RAW', [{ ...template }])],
    });
  }
  return scans;
}

/** One DICOM file per series type, shared by every generated scan of that type. */
function fileTemplates(scanCount: number): StoredFile[] {
  return MR_PROTOCOLS.slice(0, scanCount).map((protocol, index) =>
    storedFile(
      { path: `${protocol.type}-1.dcm`, format: 'DICOM', content: 'RAW', lastModified: Date.UTC(2015, 0, 5) },
      () =>
        dicomFile({
          sopClassUid: SOP_CLASS.MR,
          sopInstanceUid: `1.2.826.0.1.3680043.8.499.0.${index + 1}.1`,
          studyInstanceUid: '1.2.826.0.1.3680043.8.499.0',
          seriesInstanceUid: `1.2.826.0.1.3680043.8.499.0.${index + 1}`,
          studyDate: FIRST_DATE,
          studyTime: '09:00:00',
          modality: 'MR',
          manufacturer: PRISMA.manufacturer,
          modelName: PRISMA.model,
          stationName: PRISMA.station,
          studyDescription: 'GENERATED^MR',
          seriesDescription: protocol.seriesDescription,
          patientName: 'GENERATED',
          patientId: 'GENERATED',
          patientBirthDate: '',
          patientSex: '',
          accessionNumber: '',
          seriesNumber: index + 1,
          instanceNumber: 1,
          size: 16,
        }),
    ),
  );
}
