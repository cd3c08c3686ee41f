/**
 * BIDS sidecar fields from a scan's DICOM header (as XNAT's dicomdump prints it): times converted
 * from DICOM's milliseconds to BIDS's seconds, numbers as numbers, multi-valued strings as arrays.
 * dcm2niix's own sidecar, when XNAT holds one beside the NIfTI, contributes what DICOM's standard
 * elements cannot say (phase-encoding polarity, slice timing); the DICOM header wins where both speak.
 * Nothing that identifies the participant (names, IDs, birth dates) is ever copied.
 */
import type { DicomElement } from '../models.js';

type Kind = 'string' | 'number' | 'seconds' | 'integer' | 'list';

/** DICOM element → BIDS field, in the order dcm2niix writes them. */
const FIELDS: ReadonlyArray<[tag: string, field: string, kind: Kind]> = [
  ['(0008,0060)', 'Modality', 'string'],
  ['(0018,0087)', 'MagneticFieldStrength', 'number'],
  ['(0018,0084)', 'ImagingFrequency', 'number'],
  ['(0008,0070)', 'Manufacturer', 'string'],
  ['(0008,1090)', 'ManufacturersModelName', 'string'],
  ['(0008,0080)', 'InstitutionName', 'string'],
  ['(0008,1010)', 'StationName', 'string'],
  ['(0018,1000)', 'DeviceSerialNumber', 'string'],
  ['(0018,1020)', 'SoftwareVersions', 'string'],
  ['(0018,0015)', 'BodyPartExamined', 'string'],
  ['(0018,5100)', 'PatientPosition', 'string'],
  ['(0018,1250)', 'ReceiveCoilName', 'string'],
  ['(0018,0023)', 'MRAcquisitionType', 'string'],
  ['(0008,103E)', 'SeriesDescription', 'string'],
  ['(0018,1030)', 'ProtocolName', 'string'],
  ['(0018,0020)', 'ScanningSequence', 'string'],
  ['(0018,0021)', 'SequenceVariant', 'string'],
  ['(0018,0022)', 'ScanOptions', 'string'],
  ['(0018,0024)', 'SequenceName', 'string'],
  ['(0008,0008)', 'ImageType', 'list'],
  ['(0020,0011)', 'SeriesNumber', 'integer'],
  ['(0018,0050)', 'SliceThickness', 'number'],
  ['(0018,0088)', 'SpacingBetweenSlices', 'number'],
  ['(0018,0080)', 'RepetitionTime', 'seconds'],
  ['(0018,0081)', 'EchoTime', 'seconds'],
  ['(0018,0082)', 'InversionTime', 'seconds'],
  ['(0018,1314)', 'FlipAngle', 'number'],
  ['(0018,0091)', 'EchoTrainLength', 'integer'],
  ['(0018,0094)', 'PercentPhaseFOV', 'number'],
  ['(0018,0093)', 'PercentSampling', 'number'],
  ['(0018,0095)', 'PixelBandwidth', 'number'],
  ['(0018,1312)', 'InPlanePhaseEncodingDirectionDICOM', 'string'],
];

/** dcm2niix fields kept from its sidecar when DICOM's standard elements do not give them. */
const FROM_DCM2NIIX = [
  'PhaseEncodingDirection',
  'SliceTiming',
  'EffectiveEchoSpacing',
  'TotalReadoutTime',
  'MultibandAccelerationFactor',
  'ParallelReductionFactorInPlane',
  'SliceEncodingDirection',
  'ConversionSoftware',
  'ConversionSoftwareVersion',
] as const;

/** The DICOM tags the sidecar reads, for a dicomdump `fields` filter. */
export const SIDECAR_TAGS: readonly string[] = FIELDS.map(([tag]) => tag);

const round = (n: number): number => Math.round(n * 1e9) / 1e9;

function convert(value: string, kind: Kind): unknown {
  const text = value.trim();
  if (text === '') return undefined;
  switch (kind) {
    case 'string':
      return text;
    case 'list':
      return text.split('\\').map((v) => v.trim());
    case 'integer': {
      const n = Number.parseInt(text, 10);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'number':
    case 'seconds': {
      const n = Number(text.split('\\')[0]);
      if (!Number.isFinite(n)) return undefined;
      return kind === 'seconds' ? round(n / 1000) : n;
    }
  }
}

/** Sidecar fields read from DICOM elements (top-level ones only). */
export function dicomSidecar(elements: readonly DicomElement[]): Record<string, unknown> {
  const byTag = new Map(elements.filter((e) => e.parent === undefined).map((e) => [e.tag.toUpperCase(), e]));
  const sidecar: Record<string, unknown> = {};
  for (const [tag, field, kind] of FIELDS) {
    const element = byTag.get(tag);
    if (!element) continue;
    const value = convert(element.value, kind);
    if (value !== undefined) sidecar[field] = value;
  }
  return sidecar;
}

/**
 * The sidecar written beside the NIfTI: DICOM's fields, dcm2niix's where DICOM is silent, and what
 * the name implies (`TaskName` of a `task-` entity, required for BOLD).
 */
export function bidsSidecar(
  fromDicom: Record<string, unknown>,
  dcm2niix: Record<string, unknown> | undefined,
  entities: Record<string, string>,
): Record<string, unknown> {
  const sidecar: Record<string, unknown> = { ...fromDicom };
  for (const field of FROM_DCM2NIIX) {
    const value = dcm2niix?.[field];
    if (value !== undefined && sidecar[field] === undefined) sidecar[field] = value;
  }
  if (entities.task !== undefined) sidecar.TaskName = entities.task;
  return sidecar;
}
