/**
 * Builders for seeded archives: records shaped like XNAT's (projects, subjects, image sessions with
 * scans and their DICOM/NIFTI/SNAPSHOTS resources) from short descriptions, with IDs drawn from the
 * archive's sequences and deterministic variety from a fixed-seed PRNG. What goes into an archive is
 * described elsewhere (seed.ts: the demo archive; generate.ts: large archives).
 */
import {
  SOP_CLASS,
  dicomFile,
  niftiGzFile,
  niftiGzSize,
  pngFile,
  storedFile,
  type DicomImage,
  type DicomInstance,
  type TransferSyntax,
} from './dicom.js';
import type {
  Accessibility,
  Demographics,
  ProjectGroup,
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
import type { Artefact, HeadShape, PetUptake } from './phantom.js';
import { nextExperimentId, nextSubjectId } from './records.js';
import {
  diffusionTables,
  imageTags,
  renderImage,
  seriesImages,
  seriesVolume,
  snapshotImage,
  type SeriesImage,
  type SeriesSubject,
} from './seed-images.js';
import type { Acquisition, Scanner, SeriesProtocol } from './seed-protocols.js';

export { seededRandom } from './phantom.js';

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
  /** Custom groups: name (the ID's suffix) → display name, data rights and members. */
  groups?: Record<string, Omit<ProjectGroup, 'id'>>;
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
    ...(spec.groups
      ? { groups: Object.entries(spec.groups).map(([name, g]) => ({ id: `${spec.id}_${name}`, ...g })) }
      : {}),
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
  /** Quality per scan ID, default `usable`, with the artefact that earned it. */
  quality?: Record<string, ScanQuality>;
  /** The subject's head, as the images show it; an average adult head when absent. */
  head?: HeadShape;
  /** Amyloid PET: whether cortex binds the tracer. */
  pet?: PetUptake;
  /** How the site exports pixel data; explicit VR little endian when absent. */
  transferSyntax?: TransferSyntax;
  /** BIDS-style stem for derived file names, e.g. `sub-001_ses-1`. */
  bidsStem: string;
}

export interface ScanQuality {
  quality: string;
  note?: string;
  artefact?: Artefact;
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

/** The acquisition as it actually ran: a wrap-around artefact means the phase field of view was cut. */
function acquisitionOf(protocol: SeriesProtocol, artefact: Artefact | undefined): Acquisition {
  const a = protocol.acquisition;
  return artefact?.kind === 'wrap' ? { ...a, rows: Math.round((a.rows * 0.75) / 2) * 2 } : a;
}

function scanRecord(ctx: SessionContext, protocol: SeriesProtocol, index: number): StoredScan {
  const { builder, spec } = ctx;
  const scanId = String(index + 1);
  const seriesUid = `${ctx.studyUid}.${index + 1}`;
  const quality = spec.quality?.[scanId];
  const acquisition = acquisitionOf(protocol, quality?.artefact);
  const who = seriesSubject(ctx, protocol, index, quality?.artefact);
  const dicom = dicomFiles(ctx, protocol, acquisition, index, who);
  const resources = [builder.resource('DICOM', 'DICOM', 'RAW', dicom)];
  if (spec.niftiScans?.includes(scanId))
    resources.push(niftiResource(ctx, protocol, acquisition, index, who));
  if (spec.snapshotScans?.includes(scanId)) resources.push(snapshotResource(ctx, acquisition, index, who));
  const parameters: Record<string, string | number> = {
    ...protocol.parameters,
    'scanner/manufacturer': spec.scanner.manufacturer,
    'scanner/model': spec.scanner.model,
  };
  if (parameters['parameters/fov/y'] !== undefined) parameters['parameters/fov/y'] = acquisition.rows;
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
    // What XNAT counts: the images it received.
    frames: dicom.length,
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

/** Whose head a series shows, and what went wrong while imaging it. */
function seriesSubject(
  ctx: SessionContext,
  protocol: SeriesProtocol,
  index: number,
  artefact: Artefact | undefined,
): SeriesSubject {
  return {
    shape: ctx.spec.head ?? { scale: 1, atrophy: 0 },
    pet: ctx.spec.pet,
    attenuationCorrected: protocol.modality === 'PT' && !protocol.seriesDescription.includes('NAC'),
    artefact,
    seed: `${ctx.studyUid}.${index + 1}`,
  };
}

/** The series' DICOM files, one per image, rendered from the phantom when their bytes are read. */
function dicomFiles(
  ctx: SessionContext,
  protocol: SeriesProtocol,
  acquisition: Acquisition,
  index: number,
  who: SeriesSubject,
): StoredFile[] {
  const { spec, studyUid, numericId } = ctx;
  const { subject, scanner } = spec;
  const seriesUid = `${studyUid}.${index + 1}`;
  const series = {
    protocolName: protocol.seriesDescription,
    times: { date: spec.date, start: clock(spec.startMinutes + index * 6) },
    frameOfReference: `${studyUid}.0`,
    attenuationCorrected: who.attenuationCorrected,
  };
  // Each image after the first refers to the one before it, as scanners chain localizer references.
  const instance = (at: SeriesImage, image: DicomImage, previous?: SeriesImage): DicomInstance => ({
    sopClassUid: SOP_CLASS[protocol.modality],
    sopInstanceUid: `${seriesUid}.${at.instanceNumber}`,
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
    instanceNumber: at.instanceNumber,
    size: acquisition.columns,
    image,
    transferSyntax: spec.transferSyntax,
    extra: [
      ...(scanner.fieldStrength && protocol.modality === 'MR'
        ? [{ tag: 0x00180087, vr: 'DS', value: scanner.fieldStrength }]
        : []),
      ...imageTags(acquisition, scanner, at, series),
    ],
    ...(previous ? { referencedImage: `${seriesUid}.${previous.instanceNumber}` } : {}),
  });
  const digits = String(acquisition.slices * acquisition.volumes).length;
  const blank: DicomImage = {
    rows: acquisition.rows,
    columns: acquisition.columns,
    bitsStored: 16,
    pixels: new Uint16Array(acquisition.rows * acquisition.columns),
  };
  const images = seriesImages(acquisition, who.artefact);
  return images.map((at, i) =>
    storedFile(
      {
        path: `${seriesUid}-${index + 1}-${String(at.instanceNumber).padStart(digits, '0')}.dcm`,
        format: 'DICOM',
        content: 'RAW',
        lastModified: ctx.modified,
      },
      () => dicomFile(instance(at, renderImage(acquisition, who, at), images[i - 1])),
      // Uncompressed, the size does not depend on the pixel values: no need to render them.
      (spec.transferSyntax ?? 'explicit') === 'explicit'
        ? () => dicomFile(instance(at, blank, images[i - 1])).length
        : undefined,
    ),
  );
}

/** dcm2niix output: the image and its BIDS sidecar. */
function niftiResource(
  ctx: SessionContext,
  protocol: SeriesProtocol,
  acquisition: Acquisition,
  index: number,
  who: SeriesSubject,
): StoredResource {
  const { spec, modified } = ctx;
  const stem = `${spec.bidsStem}_run-${index + 1}_${protocol.type}`;
  const mr = acquisition.mr;
  const sidecar = JSON.stringify(
    {
      Modality: protocol.modality,
      MagneticFieldStrength: Number(spec.scanner.fieldStrength ?? 0) || undefined,
      Manufacturer: spec.scanner.manufacturer,
      ManufacturersModelName: spec.scanner.model,
      SeriesDescription: protocol.seriesDescription,
      SeriesNumber: index + 1,
      SliceThickness: acquisition.sliceThickness,
      RepetitionTime: (mr?.tr ?? 0) / 1000,
      EchoTime: (mr?.te ?? 0) / 1000,
      InversionTime: mr?.ti === undefined ? undefined : mr.ti / 1000,
      FlipAngle: mr?.flip,
      PhaseEncodingDirection: acquisition.phase === 'COL' ? 'j-' : 'i',
      ConversionSoftware: 'dcm2niix',
    },
    null,
    2,
  );
  const volume = () => seriesVolume(acquisition, who);
  const voxels = acquisition.rows * acquisition.columns * acquisition.slices * acquisition.volumes;
  const description = `${spec.label} ${protocol.seriesDescription}`;
  const tables = diffusionTables(acquisition);
  const text = (path: string, format: string, content: string, body: string) =>
    storedFile({ path, format, content, lastModified: modified }, () => Buffer.from(body, 'utf8'));
  return ctx.builder.resource('NIFTI', 'NIFTI', 'NIFTI_RAW', [
    storedFile(
      { path: `${stem}.nii.gz`, format: 'NIFTI', content: 'NIFTI_RAW', lastModified: modified },
      () => niftiGzFile(volume(), description),
      // Stored gzip blocks: the size depends only on the voxel count.
      () => niftiGzSize(voxels),
    ),
    storedFile(
      { path: `${stem}.json`, format: 'JSON', content: 'BIDS_SIDECAR', lastModified: modified },
      () => Buffer.from(`${sidecar}\n`, 'utf8'),
    ),
    ...(tables
      ? [
          text(`${stem}.bval`, 'BVAL', 'BIDS_BVAL', tables.bval),
          text(`${stem}.bvec`, 'BVEC', 'BIDS_BVEC', tables.bvec),
        ]
      : []),
  ]);
}

/** A QC snapshot of the series' middle image and its thumbnail. */
function snapshotResource(
  ctx: SessionContext,
  acquisition: Acquisition,
  index: number,
  who: SeriesSubject,
): StoredResource {
  const { id, modified } = ctx;
  const scanId = String(index + 1);
  const png = (suffix: string, content: string, shrink: number) =>
    storedFile(
      { path: `${id}_${scanId}_${suffix}.png`, format: 'PNG', content, lastModified: modified },
      () => {
        const { width, height, grey } = snapshotImage(acquisition, who, shrink);
        return pngFile(width, height, grey);
      },
    );
  return ctx.builder.resource(
    'SNAPSHOTS',
    'PNG',
    '',
    [png('qc', 'ORIGINAL', 1), png('qc_t', 'THUMBNAIL', 4)],
    'Snapshots',
  );
}
