/**
 * The import service (§7.6, `POST /data/services/import`): a zip of DICOM files (raw body or one
 * multipart file) is unpacked to the archive directory, each file's header (groups 0008/0010/0018/0020)
 * is read, and the files become sessions per StudyInstanceUID with one scan per series, landing in
 * the prearchive or directly in the archive, answered with the new URIs as XNAT does.
 */
import { Transform, type TransformCallback } from 'node:stream';

import { canEditProject } from './access.js';
import { readDicom, textOf } from './dicom-read.js';
import { SandboxHttpError } from './errors.js';
import { throughTaps } from './hooks.js';
import { findProject } from './lookup.js';
import { insertStamp, newExperiment } from './records.js';
import type {
  PrearchiveSession,
  SandboxArchive,
  StoredExperiment,
  StoredFile,
  StoredProject,
  StoredScan,
} from './model.js';
import { multipartBoundary, partText, readMultipart } from './multipart.js';
import {
  archiveSession,
  newPrearchiveEntry,
  prearchiveUri,
  requestParams,
  UNASSIGNED,
  type Overwrite,
} from './prearchive.js';
import { textReply, type AuthedContext, type Reply } from './reply.js';
import type { ArchiveStorage, Blob } from './storage.js';
import { openZipEntry, readZipDirectory, safeEntryPath } from './unzip.js';

// ---------------------------------------------------------------- DICOM headers

/** The header fields the importer uses, as strings (trailing padding removed). */
export interface DicomHeader {
  sopClassUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  studyDate: string;
  studyTime: string;
  modality: string;
  manufacturer: string;
  modelName: string;
  stationName: string;
  studyDescription: string;
  seriesDescription: string;
  patientName: string;
  patientId: string;
  seriesNumber: string;
  magneticFieldStrength: string;
}

const WANTED: Record<number, keyof DicomHeader> = {
  0x00080016: 'sopClassUid',
  0x00080020: 'studyDate',
  0x00080030: 'studyTime',
  0x00080060: 'modality',
  0x00080070: 'manufacturer',
  0x00081010: 'stationName',
  0x00081030: 'studyDescription',
  0x0008103e: 'seriesDescription',
  0x00081090: 'modelName',
  0x00100010: 'patientName',
  0x00100020: 'patientId',
  0x00180087: 'magneticFieldStrength',
  0x0020000d: 'studyInstanceUid',
  0x0020000e: 'seriesInstanceUid',
  0x00200011: 'seriesNumber',
};
/** Everything wanted sits below group 0021. */
const STOP_TAG = 0x00210000;

/** The header of a DICOM Part 10 file from its first bytes, or undefined when it is not one. */
export function readDicomHeader(head: Buffer): DicomHeader | undefined {
  const read = readDicom(head, STOP_TAG);
  if (!read) return undefined;
  const header: DicomHeader = {
    sopClassUid: '',
    studyInstanceUid: '',
    seriesInstanceUid: '',
    studyDate: '',
    studyTime: '',
    modality: '',
    manufacturer: '',
    modelName: '',
    stationName: '',
    studyDescription: '',
    seriesDescription: '',
    patientName: '',
    patientId: '',
    seriesNumber: '',
    magneticFieldStrength: '',
  };
  // A header longer than the bytes read keeps what was found.
  for (const element of read.elements) {
    const key = WANTED[element.tag];
    if (key) header[key] = textOf(element.value).trim();
  }
  return header.studyInstanceUid === '' ? undefined : header;
}

/** Keeps a copy of the first `limit` bytes flowing through (the DICOM header). */
class HeadCapture extends Transform {
  private readonly chunks: Buffer[] = [];
  private kept = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.kept < this.limit) {
      const part = chunk.subarray(0, this.limit - this.kept);
      this.chunks.push(Buffer.from(part));
      this.kept += part.length;
    }
    callback(null, chunk);
  }

  head(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const HEADER_BYTES = 256 * 1024;

// ---------------------------------------------------------------- sessions from DICOM

const SESSION_TYPES: Record<string, [session: string, scan: string]> = {
  MR: ['xnat:mrSessionData', 'xnat:mrScanData'],
  CT: ['xnat:ctSessionData', 'xnat:ctScanData'],
  PT: ['xnat:petSessionData', 'xnat:petScanData'],
};
const OTHER_TYPES: [string, string] = ['xnat:otherDicomSessionData', 'xnat:otherDicomScanData'];

const isoDate = (da: string): string =>
  /^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}` : '';
const isoTime = (tm: string): string =>
  /^\d{6}/.test(tm) ? `${tm.slice(0, 2)}:${tm.slice(2, 4)}:${tm.slice(4, 6)}` : '';

/** XNAT labels allow letters, digits, `_` and `-`; anything else from a header becomes `_`. */
export function labelFrom(value: string): string {
  return value.trim().replace(/[^A-Za-z0-9_-]/g, '_');
}

interface ImportedFile {
  header: DicomHeader;
  blob: Blob;
  name: string;
}

function scanOf(files: ImportedFile[], id: string, storage: ArchiveStorage, login: string): StoredScan {
  const first = files[0]?.header;
  const stamp = insertStamp();
  const modality = first?.modality ?? '';
  const parameters: Record<string, string> = {};
  if (first?.manufacturer) parameters['scanner/manufacturer'] = first.manufacturer;
  if (first?.modelName) parameters['scanner/model'] = first.modelName;
  if (first?.magneticFieldStrength) parameters.fieldStrength = first.magneticFieldStrength;
  const used = new Set<string>();
  const dicomFiles = files.map(({ blob, name }) => {
    let path = name;
    for (let n = 2; used.has(path); n++) path = `${n}-${name}`;
    used.add(path);
    return storage.catalogue(blob, { path, format: 'DICOM', content: 'RAW', tags: [] });
  });
  return {
    id,
    // Assigned from the site sequence when the session is archived.
    xnatImagescandataId: 0,
    xsiType: (SESSION_TYPES[modality] ?? OTHER_TYPES)[1],
    type: first?.seriesDescription ?? '',
    seriesDescription: first?.seriesDescription ?? '',
    quality: 'usable',
    condition: '',
    note: '',
    frames: files.length,
    uid: first?.seriesInstanceUid ?? '',
    modality,
    startTime: '',
    parameters,
    insertDate: stamp,
    insertUser: login,
    lastModified: stamp,
    resources: [
      {
        // Assigned from the site sequence when the session is archived.
        xnatAbstractresourceId: 0,
        label: 'DICOM',
        xsiType: 'xnat:resourceCatalog',
        format: 'DICOM',
        content: 'RAW',
        description: '',
        tags: [],
        files: dicomFiles,
      },
    ],
  };
}

/** One session document per study: scans by SeriesNumber, the session type from the modality. */
function sessionOf(
  archive: SandboxArchive,
  files: ImportedFile[],
  storage: ArchiveStorage,
  login: string,
): StoredExperiment {
  const first = files[0]?.header;
  if (!first) throw new SandboxHttpError(400, 'No DICOM files found in the upload.');
  const series = new Map<string, ImportedFile[]>();
  for (const file of files) {
    const key = file.header.seriesNumber || file.header.seriesInstanceUid;
    series.set(key, [...(series.get(key) ?? []), file]);
  }
  const scanIds = [...series.keys()].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  const scans = scanIds.map((key, index) => {
    const id = /^\d+$/.test(key) ? key : String(index + 1);
    return scanOf(series.get(key) ?? [], id, storage, login);
  });
  const modality = scans.some((s) => s.modality === 'PT') ? 'PT' : first.modality;
  const attributes: Record<string, string> = { modality, UID: first.studyInstanceUid };
  if (first.stationName) attributes.scanner = first.stationName;
  if (first.manufacturer) attributes['scanner/manufacturer'] = first.manufacturer;
  if (first.modelName) attributes['scanner/model'] = first.modelName;
  if (first.magneticFieldStrength) attributes.fieldStrength = first.magneticFieldStrength;
  if (first.patientId) attributes.dcmPatientId = first.patientId;
  if (first.patientName) attributes.dcmPatientName = first.patientName;
  return {
    // Archived sessions get their accession ID (and project, subject, label) when they leave the prearchive.
    ...newExperiment(archive, {
      id: '',
      xsiType: (SESSION_TYPES[modality] ?? OTHER_TYPES)[0],
      project: '',
      label: '',
      subjectId: '',
      imageSessionId: '',
      login,
    }),
    date: isoDate(first.studyDate),
    time: isoTime(first.studyTime),
    attributes,
    scans,
  };
}

// ---------------------------------------------------------------- the service

/** The uploaded file: one multipart file part (form fields become parameters) or the raw body. */
async function receiveUpload(ctx: AuthedContext, params: URLSearchParams): Promise<Blob> {
  const { storage } = ctx.state;
  const boundary = multipartBoundary(ctx.headers['content-type']);
  const source = throughTaps(ctx.bodyStream(), ctx.state.hooks.uploadTaps?.());
  const blobs: Blob[] = [];
  try {
    if (boundary !== undefined) {
      await readMultipart(source, boundary, async (info, body) => {
        if (info.filename === undefined) params.append(info.name, await partText(body));
        else blobs.push(await storage.store(body));
      });
      if (blobs.length > 1) {
        throw new SandboxHttpError(400, 'Importer is limited to one uploaded resource at a time.');
      }
    } else {
      const type = (ctx.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (params.get('inbody') === 'true' || (type !== '' && type !== 'application/x-www-form-urlencoded')) {
        blobs.push(await storage.store(source));
      }
    }
    const blob = blobs[0];
    if (!blob || blob.size === 0) throw new SandboxHttpError(400, 'Unable to identify upload format.');
    return blob;
  } catch (error) {
    await Promise.all(blobs.map((b) => storage.drop(b)));
    throw error;
  }
}

/** Unpacks the DICOM files of a zip (other entries are ignored, as XNAT's DICOM-zip importer does). */
async function importedFiles(storage: ArchiveStorage, zip: Blob): Promise<ImportedFile[]> {
  const entries = await readZipDirectory(zip.location);
  const imported: ImportedFile[] = [];
  try {
    for (const entry of entries) {
      if (entry.isDirectory) continue;
      const path = safeEntryPath(entry.name);
      if (path === undefined) {
        throw new SandboxHttpError(400, `Zip entry would be extracted outside the session: ${entry.name}`);
      }
      // An empty entry holds no DICOM: nothing to store or parse.
      if (entry.size === 0) continue;
      const capture = new HeadCapture(HEADER_BYTES);
      const blob = await storage.store(await openZipEntry(zip.location, entry), capture);
      const header = readDicomHeader(capture.head());
      if (!header) {
        await storage.drop(blob);
        continue;
      }
      imported.push({ header, blob, name: path.slice(path.lastIndexOf('/') + 1) });
    }
    return imported;
  } catch (error) {
    await Promise.all(imported.map((f) => storage.drop(f.blob)));
    throw error;
  }
}

const HANDLERS = new Set(['DICOM-zip', 'SI']);

/** `dest=/archive/projects/P[/subjects/S[/experiments/E]]` or `/prearchive[/projects/P]`. */
function parseDestination(dest: string | null): {
  kind?: 'archive' | 'prearchive';
  project?: string;
  subject?: string;
  session?: string;
} {
  if (!dest) return {};
  const parts = dest
    .replace(/^\/data/, '')
    .split('/')
    .filter(Boolean);
  const kind = parts[0] === 'archive' ? 'archive' : parts[0] === 'prearchive' ? 'prearchive' : undefined;
  if (!kind) throw new SandboxHttpError(400, `Invalid destination: ${dest}`);
  const at = (name: string): string | undefined => {
    const i = parts.indexOf(name);
    return i > 0 ? parts[i + 1] : undefined;
  };
  const project = at('projects');
  const subject = at('subjects');
  const session = at('experiments');
  return {
    kind,
    ...(project ? { project } : {}),
    ...(subject ? { subject } : {}),
    ...(session ? { session } : {}),
  };
}

function importProject(ctx: AuthedContext, id: string | null | undefined): StoredProject | undefined {
  if (id === undefined || id === null || id === '') return undefined;
  const project = findProject(ctx.state.archive, id);
  if (!project) throw new SandboxHttpError(404, `Unable to identify project ${id}`);
  if (!canEditProject(project, ctx.user)) {
    throw new SandboxHttpError(
      403,
      `Specified user account has insufficient create privileges for ${project.id}.`,
    );
  }
  return project;
}

/**
 * `overwrite=` as XNAT's SessionImporter reads it, case-insensitively: without it the project's
 * default; `delete` (deprecated) or `override` replace; `append` and any other value (`true`, as
 * xnat4tests sends, even `none`) merge into an existing session.
 */
function overwriteOf(value: string | null, fallback: Overwrite): Overwrite {
  if (value === null) return fallback;
  const mode = value.toLowerCase();
  return mode === 'delete' || mode === 'override' ? 'delete' : 'append';
}

function allFiles(session: StoredExperiment): StoredFile[] {
  return session.scans.flatMap((scan) => scan.resources.flatMap((r) => r.files));
}

function groupByStudy(files: ImportedFile[]): ImportedFile[][] {
  const studies = new Map<string, ImportedFile[]>();
  for (const file of files) {
    const uid = file.header.studyInstanceUid;
    studies.set(uid, [...(studies.get(uid) ?? []), file]);
  }
  return [...studies.values()];
}

/** `POST /data/services/import` (DICOM-zip and SI handlers). */
export async function importService(ctx: AuthedContext): Promise<Reply> {
  const params = await requestParams(ctx);
  const contentType = (ctx.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  // XNAT picks gradual-DICOM for a bare DICOM body; the sandbox imports zips only and says so.
  const handler =
    params.get('import-handler') ?? (contentType === 'application/dicom' ? 'gradual-DICOM' : 'DICOM-zip');
  if (handler === 'gradual-DICOM') {
    throw new SandboxHttpError(
      400,
      'The sandbox imports zip archives only (import-handler=DICOM-zip or SI): zip the DICOM files.',
    );
  }
  if (!HANDLERS.has(handler)) throw new SandboxHttpError(404, `Unknown import handler: ${handler}`);
  if (params.get('src')) {
    throw new SandboxHttpError(400, 'The sandbox imports uploaded files only (no src= user cache imports).');
  }
  const { storage, archive } = ctx.state;
  const upload = await receiveUpload(ctx, params);
  let files: ImportedFile[];
  try {
    files = await importedFiles(storage, upload);
  } finally {
    await storage.drop(upload);
  }

  let project: StoredProject | undefined;
  let toArchive: boolean;
  let destination: ReturnType<typeof parseDestination>;
  try {
    if (files.length === 0) throw new SandboxHttpError(400, 'No DICOM files found in the upload.');
    destination = parseDestination(params.get('dest'));
    project = importProject(ctx, params.get('PROJECT_ID') ?? params.get('project') ?? destination.project);
    toArchive =
      destination.kind === 'archive' ||
      (destination.kind === undefined &&
        project !== undefined &&
        project.prearchiveCode !== 0 &&
        params.get('prevent_auto_commit') !== 'true');
    if (toArchive && !project) {
      throw new SandboxHttpError(400, 'A project is required to import directly into the archive.');
    }
  } catch (error) {
    await Promise.all(files.map((f) => storage.drop(f.blob)));
    throw error;
  }

  // From here every file belongs to an entry: an entry that does not land takes its files with it.
  const now = Date.now();
  const entries = groupByStudy(files).map((studyFiles) => {
    const first = studyFiles[0]?.header;
    const label =
      params.get('EXPT_LABEL') ??
      params.get('session') ??
      destination.session ??
      labelFrom(first?.patientId ?? '');
    return newPrearchiveEntry(archive, {
      project: project?.id ?? UNASSIGNED,
      name: label || labelFrom(first?.studyInstanceUid ?? 'session'),
      subject:
        params.get('SUBJECT_ID') ??
        params.get('subject') ??
        destination.subject ??
        labelFrom(first?.patientName ?? ''),
      session: sessionOf(archive, studyFiles, storage, ctx.user.login),
      now,
      autoarchive: project === undefined ? 'Manual' : autoArchiveOf(project),
      preventAnon: params.get('prevent_anon') === 'true',
      preventAutoCommit: params.get('prevent_auto_commit') === 'true',
      source: params.get('SOURCE') ?? '',
    });
  });
  const landed = new Set<PrearchiveSession>();
  try {
    const uris: string[] = [];
    for (const entry of entries) {
      if (toArchive && project) {
        const archived = await archiveSession(ctx, entry, {
          project,
          subject: entry.subject,
          label: entry.name,
          overwrite: overwriteOf(params.get('overwrite'), project.prearchiveCode === 5 ? 'append' : 'none'),
          quarantine: params.get('quarantine') === 'true',
        });
        uris.push(archived.uri);
      } else {
        (archive.prearchive ??= []).push(entry);
        uris.push(prearchiveUri(entry));
      }
      landed.add(entry);
    }
    return textReply(200, uris.map((u) => `${u}\r\n`).join(''), 'text/uri-list;charset=UTF-8');
  } catch (error) {
    await storage.discard(entries.filter((e) => !landed.has(e)).flatMap((e) => allFiles(e.session)));
    throw error;
  }
}

function autoArchiveOf(project: StoredProject): PrearchiveSession['autoarchive'] {
  if (project.prearchiveCode === 0) return 'Manual';
  return project.prearchiveCode === 5 ? 'AutoArchiveOverwrite' : 'AutoArchive';
}
