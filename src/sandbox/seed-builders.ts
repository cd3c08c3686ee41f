/**
 * Builders for seeded archives: records shaped like XNAT's (projects, subjects, image sessions with
 * scans and their DICOM/NIFTI/SNAPSHOTS resources) from short descriptions, with IDs drawn from the
 * archive's sequences and deterministic variety from a fixed-seed PRNG. What goes into an archive is
 * described elsewhere (seed.ts: the demo archive; generate.ts: large archives).
 */
import { SOP_CLASS, dicomFile, niftiGzFile, pngFile, storedFile, type DicomInstance } from './dicom.js';
import type {
  Accessibility,
  Demographics,
  ProjectRole,
  SandboxArchive,
  SandboxUser,
  StoredElement,
  StoredExperiment,
  StoredFile,
  StoredProject,
  StoredResource,
  StoredScan,
  StoredSubject,
} from './model.js';
import { nextExperimentId, nextSubjectId } from './records.js';
import type { Scanner, SeriesProtocol } from './seed-protocols.js';

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

/** Milliseconds since the epoch of a listing timestamp. */
export function epochOf(timestamp: string): number {
  return Date.parse(`${timestamp.replace(' ', 'T')}Z`);
}

/** `HH:MM:SS`, `minutes` after midnight (seconds derived from the minute, deterministic). */
export const clock = (minutes: number): string =>
  `${String(Math.floor(minutes / 60) % 24).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}:${String((minutes * 7) % 60).padStart(2, '0')}`;

export function pick<T>(random: () => number, values: readonly T[]): T {
  const value = values[Math.floor(random() * values.length)];
  if (value === undefined) throw new Error('pick from an empty list');
  return value;
}

/** Allocates XNAT's sequences while an archive is being built. */
export class ArchiveBuilder {
  readonly archive: SandboxArchive;

  constructor(siteId: string, users: SandboxUser[]) {
    this.archive = {
      siteId,
      users,
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

  add(item: StoredProject | StoredSubject | StoredExperiment): void {
    if ('subjectId' in item) this.archive.experiments.set(item.id, item);
    else if ('demographics' in item) this.archive.subjects.set(item.id, item);
    else this.archive.projects.set(item.id, item);
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
  /** Custom variable sets by data type: `[name, datatype]` pairs (the project's `xnat:datatypeProtocol`s). */
  customVariables?: Record<string, Array<[string, string]>>;
}

/**
 * A project's custom variable set for one data type, as the project document holds it: an
 * `xnat:datatypeProtocol` study protocol whose definition lists `type="custom"` fields.
 */
function customVariableSet(
  projectId: string,
  dataType: string,
  fields: Array<[string, string]>,
): StoredElement {
  const el = (
    name: string,
    attributes: Array<[string, string]>,
    children: StoredElement[] = [],
  ): StoredElement => ({
    name,
    attributes,
    children,
  });
  const local = dataType.slice(dataType.indexOf(':') + 1);
  return el(
    'xnat:studyProtocol',
    [
      ['ID', `${projectId}_${dataType.replace(':', '_')}`],
      ['data-type', dataType],
      ['xsi:type', 'xnat:datatypeProtocol'],
    ],
    [
      { ...el('xnat:name', []), text: local },
      el(
        'xnat:definitions',
        [],
        [
          el(
            'xnat:definition',
            [
              ['ID', 'default'],
              ['data-type', dataType],
              ['project-specific', 'true'],
            ],
            [
              el(
                'xnat:fields',
                [],
                fields.map(([name, datatype], sequence) =>
                  el('xnat:field', [
                    ['name', name],
                    ['type', 'custom'],
                    ['datatype', datatype],
                    ['required', 'false'],
                    ['sequence', String(sequence)],
                    ['xmlPath', `${dataType}/fields/field[name=${name}]/field`],
                  ]),
                ),
              ),
            ],
          ),
        ],
      ),
    ],
  );
}

export function project(spec: ProjectSpec): StoredProject {
  const protocols = Object.entries(spec.customVariables ?? {}).map(([type, fields]) =>
    customVariableSet(spec.id, type, fields),
  );
  return {
    ...(protocols.length > 0 ? { studyProtocols: protocols } : {}),
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

export interface SubjectSpec {
  project: string;
  label: string;
  group: string;
  demographics: Demographics;
  fields: Record<string, string>;
  insertDate: string;
  insertUser: string;
}

export function subject(builder: ArchiveBuilder, spec: SubjectSpec): StoredSubject {
  return {
    id: builder.nextSubjectId(),
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

/** Demographics drawn from `random`: a birth date, or only the year of birth. */
export function demographics(
  random: () => number,
  yobFrom: number,
  yobTo: number,
  withDob: boolean,
): Demographics {
  const yob = yobFrom + Math.floor(random() * (yobTo - yobFrom + 1));
  const gender = pick(random, ['male', 'female', 'female', 'male', 'other'] as const);
  const handedness = pick(random, ['right', 'right', 'right', 'right', 'left', 'ambidextrous'] as const);
  const result: Demographics = { gender, handedness, education: 12 + Math.floor(random() * 9) };
  if (withDob)
    result.dob = `${yob}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
  else result.yob = yob;
  return result;
}

/** A single-file resource's text file (protocols, notes). */
export function textResource(
  builder: ArchiveBuilder,
  label: string,
  content: string,
  file: { path: string; text: string; lastModified: number },
): StoredResource {
  return builder.resource(label, 'TXT', content, [
    storedFile({ path: file.path, format: 'TXT', content, lastModified: file.lastModified }, () =>
      Buffer.from(file.text, 'utf8'),
    ),
  ]);
}

const UID_ROOT = '1.2.826.0.1.3680043.8.498';

export interface SessionSpec {
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

/** What every scan of one session shares. */
interface SessionContext {
  builder: ArchiveBuilder;
  spec: SessionSpec;
  id: string;
  numericId: number;
  studyUid: string;
  modality: string;
  insertDate: string;
  modified: number;
  patientName: string;
}

function dicomSex(gender: string | undefined): string {
  if (gender === 'male') return 'M';
  if (gender === 'female') return 'F';
  return gender === undefined ? '' : 'O';
}

/** An image session with its scans and their DICOM/NIFTI/SNAPSHOTS resources. */
export function imageSession(builder: ArchiveBuilder, spec: SessionSpec): StoredExperiment {
  const { subject, scanner } = spec;
  const id = builder.nextExperimentId();
  const numericId = builder.archive.sequences.experiment - 1;
  const insertDate = timestampOf(addDays(spec.date, 1), 9 * 60 + (numericId % 120));
  const ctx: SessionContext = {
    builder,
    spec,
    id,
    numericId,
    studyUid: `${UID_ROOT}.${numericId}`,
    modality: spec.protocols[0]?.modality ?? 'MR',
    insertDate,
    modified: epochOf(insertDate),
    patientName: subject.label.replaceAll(' ', '^'),
  };
  const scans = spec.protocols.map((protocol, index) => scanRecord(ctx, protocol, index));
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
    attributes: sessionAttributes(ctx),
    scans,
    resources: [],
    inResources: [],
    insertDate,
    insertUser: spec.insertUser,
    lastModified: insertDate,
  };
}

function sessionAttributes({ spec, studyUid, numericId, modality, patientName }: SessionContext) {
  const { subject, scanner } = spec;
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
  return attributes;
}

function scanRecord(ctx: SessionContext, protocol: SeriesProtocol, index: number): StoredScan {
  const { builder, spec } = ctx;
  const scanId = String(index + 1);
  const seriesUid = `${ctx.studyUid}.${index + 1}`;
  const resources = [builder.resource('DICOM', 'DICOM', 'RAW', dicomFiles(ctx, protocol, index))];
  if (spec.niftiScans?.includes(scanId)) resources.push(niftiResource(ctx, protocol, index));
  if (spec.snapshotScans?.includes(scanId)) resources.push(snapshotResource(ctx, index));
  const quality = spec.quality?.[scanId];
  const parameters: Record<string, string | number> = {
    ...protocol.parameters,
    'scanner/manufacturer': spec.scanner.manufacturer,
    'scanner/model': spec.scanner.model,
  };
  if (spec.scanner.fieldStrength) parameters.fieldStrength = spec.scanner.fieldStrength;
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
    startTime: clock(spec.startMinutes + index * 6),
    parameters,
    insertDate: ctx.insertDate,
    insertUser: spec.insertUser,
    lastModified: ctx.insertDate,
    resources,
  };
}

/** Up to three small but valid DICOM instances of the series. */
function dicomFiles(ctx: SessionContext, protocol: SeriesProtocol, index: number): StoredFile[] {
  const { spec, studyUid, numericId } = ctx;
  const { subject, scanner } = spec;
  const seriesUid = `${studyUid}.${index + 1}`;
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
    studyDescription: `${spec.project}^${ctx.modality}`,
    seriesDescription: protocol.seriesDescription,
    patientName: ctx.patientName,
    patientId: subject.label,
    patientBirthDate: subject.demographics.dob ?? '',
    patientSex: dicomSex(subject.demographics.gender),
    accessionNumber: `ACC${numericId}`,
    seriesNumber: index + 1,
    instanceNumber: n,
    size: 16,
    extra: scanner.fieldStrength ? [{ tag: 0x00180087, vr: 'DS', value: scanner.fieldStrength }] : [],
  });
  return Array.from({ length: Math.min(protocol.frames, 3) }, (_, i) =>
    storedFile(
      {
        path: `${seriesUid}-${index + 1}-${i + 1}.dcm`,
        format: 'DICOM',
        content: 'RAW',
        lastModified: ctx.modified,
      },
      () => dicomFile(instance(i + 1)),
    ),
  );
}

/** dcm2niix output: the image and its BIDS sidecar. */
function niftiResource(ctx: SessionContext, protocol: SeriesProtocol, index: number): StoredResource {
  const { spec, modified } = ctx;
  const stem = `${spec.bidsStem}_run-${index + 1}_${protocol.type}`;
  const sidecar = JSON.stringify(
    {
      Modality: protocol.modality,
      Manufacturer: spec.scanner.manufacturer,
      ManufacturersModelName: spec.scanner.model,
      SeriesDescription: protocol.seriesDescription,
      SeriesNumber: index + 1,
      RepetitionTime: Number(protocol.parameters['parameters/tr'] ?? 0) / 1000,
      EchoTime: Number(protocol.parameters['parameters/te'] ?? 0) / 1000,
      ConversionSoftware: 'dcm2niix',
    },
    null,
    2,
  );
  return ctx.builder.resource('NIFTI', 'NIFTI', 'NIFTI_RAW', [
    storedFile(
      { path: `${stem}.nii.gz`, format: 'NIFTI', content: 'NIFTI_RAW', lastModified: modified },
      () => niftiGzFile([8, 8, 4], `${spec.label} ${protocol.seriesDescription}`),
    ),
    storedFile(
      { path: `${stem}.json`, format: 'JSON', content: 'BIDS_SIDECAR', lastModified: modified },
      () => Buffer.from(`${sidecar}\n`, 'utf8'),
    ),
  ]);
}

/** A QC snapshot and its thumbnail. */
function snapshotResource(ctx: SessionContext, index: number): StoredResource {
  const { id, modified } = ctx;
  const scanId = String(index + 1);
  const shade = (ctx.numericId * 13 + index * 29) & 0xff;
  const png = (suffix: string, content: string, size: number) =>
    storedFile(
      { path: `${id}_${scanId}_${suffix}.png`, format: 'PNG', content, lastModified: modified },
      () => pngFile(size, shade),
    );
  return ctx.builder.resource(
    'SNAPSHOTS',
    'PNG',
    '',
    [png('qc', 'ORIGINAL', 32), png('qc_t', 'THUMBNAIL', 8)],
    'Snapshots',
  );
}
