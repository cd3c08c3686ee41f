/**
 * New archive records as XNAT creates them: accession IDs from the site's sequences (`<siteId>_S00001`,
 * `<siteId>_E00001`; sessions and assessors share the E sequence, numbers are never reused) and
 * timestamps in the form listings print. Every writer (REST writes, prearchive archiving, the importer,
 * the seed) takes its IDs and its empty records from here.
 */
import type {
  SandboxArchive,
  StoredExperiment,
  StoredReconstruction,
  StoredScan,
  StoredSubject,
} from './model.js';

/** `YYYY-MM-DD HH:MM:SS.mmm`, as XNAT prints insert_date and last_modified. */
export function insertStamp(): string {
  return new Date().toISOString().replace('T', ' ').slice(0, 23);
}

export function nextSubjectId(archive: SandboxArchive): string {
  return `${archive.siteId}_S${String(archive.sequences.subject++).padStart(5, '0')}`;
}

export function nextExperimentId(archive: SandboxArchive): string {
  return `${archive.siteId}_E${String(archive.sequences.experiment++).padStart(5, '0')}`;
}

/** A new, empty subject owned by `project` (not yet added to the archive). */
export function newSubject(
  archive: SandboxArchive,
  project: string,
  label: string,
  login: string,
  id?: string,
): StoredSubject {
  const stamp = insertStamp();
  return {
    id: id ?? nextSubjectId(archive),
    project,
    label,
    group: '',
    src: '',
    initials: '',
    demographics: {},
    fields: {},
    shares: [],
    status: 'active',
    insertDate: stamp,
    insertUser: login,
    lastModified: stamp,
    resources: [],
  };
}

/**
 * A new, empty experiment (session or assessor; not yet added to the archive). `id` defaults to the
 * next accession ID; the importer passes `''` for a session that gets its ID only when archived.
 */
export function newExperiment(
  archive: SandboxArchive,
  fields: {
    xsiType: string;
    project: string;
    label: string;
    subjectId: string;
    imageSessionId: string;
    login: string;
    id?: string;
  },
): StoredExperiment {
  const stamp = insertStamp();
  return {
    id: fields.id ?? nextExperimentId(archive),
    xsiType: fields.xsiType,
    project: fields.project,
    label: fields.label,
    subjectId: fields.subjectId,
    imageSessionId: fields.imageSessionId,
    date: '',
    time: '',
    visitId: '',
    visit: '',
    note: '',
    acquisitionSite: '',
    status: 'active',
    fields: {},
    shares: [],
    attributes: {},
    scans: [],
    resources: [],
    inResources: [],
    insertDate: stamp,
    insertUser: fields.login,
    lastModified: stamp,
  };
}

/** A new, empty scan of a session (not yet added to it); `xnat_imagescandata_id` from its sequence. */
export function newScan(archive: SandboxArchive, id: string, xsiType: string, login: string): StoredScan {
  const stamp = insertStamp();
  return {
    id,
    xnatImagescandataId: archive.sequences.scan++,
    xsiType,
    type: '',
    seriesDescription: '',
    quality: '',
    condition: '',
    note: '',
    frames: 0,
    uid: '',
    modality: '',
    startTime: '',
    parameters: {},
    insertDate: stamp,
    insertUser: login,
    lastModified: stamp,
    resources: [],
  };
}

/** A new, empty reconstruction (not yet added to its session). */
export function newReconstruction(archive: SandboxArchive, id: string, login: string): StoredReconstruction {
  const stamp = insertStamp();
  const key = archive.sequences.reconstruction ?? 1;
  archive.sequences.reconstruction = key + 1;
  return {
    id,
    xnatReconstructedimagedataId: key,
    type: '',
    baseScanType: '',
    addParams: {},
    insertDate: stamp,
    insertUser: login,
    lastModified: stamp,
    resources: [],
  };
}
