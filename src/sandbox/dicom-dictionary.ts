/**
 * The part of the DICOM data dictionary (PS3.6) the sandbox needs: the tags its seeded and imported
 * files carry and the common MR/CT/PET acquisition tags. XNAT's dicomdump names tags with dcm4che's
 * full dictionary; tags missing here are named as dcm4che names unknown ones.
 */

interface Entry {
  keyword: string;
  name: string;
  vr: string;
}

const ENTRIES: ReadonlyArray<[tag: number, vr: string, keyword: string, name: string]> = [
  [0x00020000, 'UL', 'FileMetaInformationGroupLength', 'File Meta Information Group Length'],
  [0x00020001, 'OB', 'FileMetaInformationVersion', 'File Meta Information Version'],
  [0x00020002, 'UI', 'MediaStorageSOPClassUID', 'Media Storage SOP Class UID'],
  [0x00020003, 'UI', 'MediaStorageSOPInstanceUID', 'Media Storage SOP Instance UID'],
  [0x00020010, 'UI', 'TransferSyntaxUID', 'Transfer Syntax UID'],
  [0x00020012, 'UI', 'ImplementationClassUID', 'Implementation Class UID'],
  [0x00020013, 'SH', 'ImplementationVersionName', 'Implementation Version Name'],
  [0x00080005, 'CS', 'SpecificCharacterSet', 'Specific Character Set'],
  [0x00080008, 'CS', 'ImageType', 'Image Type'],
  [0x00080016, 'UI', 'SOPClassUID', 'SOP Class UID'],
  [0x00080018, 'UI', 'SOPInstanceUID', 'SOP Instance UID'],
  [0x00080020, 'DA', 'StudyDate', 'Study Date'],
  [0x00080021, 'DA', 'SeriesDate', 'Series Date'],
  [0x00080030, 'TM', 'StudyTime', 'Study Time'],
  [0x00080031, 'TM', 'SeriesTime', 'Series Time'],
  [0x00080050, 'SH', 'AccessionNumber', 'Accession Number'],
  [0x00080060, 'CS', 'Modality', 'Modality'],
  [0x00080070, 'LO', 'Manufacturer', 'Manufacturer'],
  [0x00080080, 'LO', 'InstitutionName', 'Institution Name'],
  [0x00081010, 'SH', 'StationName', 'Station Name'],
  [0x00081030, 'LO', 'StudyDescription', 'Study Description'],
  [0x0008103e, 'LO', 'SeriesDescription', 'Series Description'],
  [0x00081090, 'LO', 'ManufacturerModelName', "Manufacturer's Model Name"],
  [0x00081140, 'SQ', 'ReferencedImageSequence', 'Referenced Image Sequence'],
  [0x00081150, 'UI', 'ReferencedSOPClassUID', 'Referenced SOP Class UID'],
  [0x00081155, 'UI', 'ReferencedSOPInstanceUID', 'Referenced SOP Instance UID'],
  [0x00100010, 'PN', 'PatientName', "Patient's Name"],
  [0x00100020, 'LO', 'PatientID', 'Patient ID'],
  [0x00100030, 'DA', 'PatientBirthDate', "Patient's Birth Date"],
  [0x00100040, 'CS', 'PatientSex', "Patient's Sex"],
  [0x00180015, 'CS', 'BodyPartExamined', 'Body Part Examined'],
  [0x00180050, 'DS', 'SliceThickness', 'Slice Thickness'],
  [0x00180060, 'DS', 'KVP', 'KVP'],
  [0x00180080, 'DS', 'RepetitionTime', 'Repetition Time'],
  [0x00180081, 'DS', 'EchoTime', 'Echo Time'],
  [0x00180082, 'DS', 'InversionTime', 'Inversion Time'],
  [0x00180087, 'DS', 'MagneticFieldStrength', 'Magnetic Field Strength'],
  [0x00181020, 'LO', 'SoftwareVersions', 'Software Versions'],
  [0x00181030, 'LO', 'ProtocolName', 'Protocol Name'],
  [0x00181151, 'IS', 'XRayTubeCurrent', 'X-Ray Tube Current'],
  [0x00181314, 'DS', 'FlipAngle', 'Flip Angle'],
  [0x00185100, 'CS', 'PatientPosition', 'Patient Position'],
  [0x0020000d, 'UI', 'StudyInstanceUID', 'Study Instance UID'],
  [0x0020000e, 'UI', 'SeriesInstanceUID', 'Series Instance UID'],
  [0x00200010, 'SH', 'StudyID', 'Study ID'],
  [0x00200011, 'IS', 'SeriesNumber', 'Series Number'],
  [0x00200012, 'IS', 'AcquisitionNumber', 'Acquisition Number'],
  [0x00200013, 'IS', 'InstanceNumber', 'Instance Number'],
  [0x00200032, 'DS', 'ImagePositionPatient', 'Image Position (Patient)'],
  [0x00200037, 'DS', 'ImageOrientationPatient', 'Image Orientation (Patient)'],
  [0x00201041, 'DS', 'SliceLocation', 'Slice Location'],
  [0x00280002, 'US', 'SamplesPerPixel', 'Samples per Pixel'],
  [0x00280004, 'CS', 'PhotometricInterpretation', 'Photometric Interpretation'],
  [0x00280010, 'US', 'Rows', 'Rows'],
  [0x00280011, 'US', 'Columns', 'Columns'],
  [0x00280030, 'DS', 'PixelSpacing', 'Pixel Spacing'],
  [0x00280100, 'US', 'BitsAllocated', 'Bits Allocated'],
  [0x00280101, 'US', 'BitsStored', 'Bits Stored'],
  [0x00280102, 'US', 'HighBit', 'High Bit'],
  [0x00280103, 'US', 'PixelRepresentation', 'Pixel Representation'],
  [0x00281050, 'DS', 'WindowCenter', 'Window Center'],
  [0x00281051, 'DS', 'WindowWidth', 'Window Width'],
  [0x7fe00010, 'OW', 'PixelData', 'Pixel Data'],
];

const BY_TAG = new Map<number, Entry>(
  ENTRIES.map(([tag, vr, keyword, name]) => [tag, { keyword, name, vr }]),
);
const BY_KEYWORD = new Map<string, number>(ENTRIES.map(([tag, , keyword]) => [keyword, tag]));

export const isPrivateTag = (tag: number): boolean => ((tag >>> 16) & 1) === 1;

/** dcm4che's `nameOf`: the dictionary name; group lengths, private creators and private tags by kind. */
export function tagName(tag: number): string {
  const entry = BY_TAG.get(tag);
  if (entry) return entry.name;
  if ((tag & 0xffff) === 0) return 'Group Length';
  if (isPrivateTag(tag)) return (tag & 0xff00) === 0 ? 'Private Creator Data Element' : 'Private Tag';
  return '?';
}

/** The VR an implicit-VR file leaves out; UN when the dictionary does not know the tag. */
export function dictionaryVr(tag: number): string {
  if ((tag & 0xffff) === 0) return 'UL';
  return BY_TAG.get(tag)?.vr ?? 'UN';
}

/** dcm4che's `tagForName`: the tag of a keyword, undefined when it is none. */
export function tagForKeyword(keyword: string): number | undefined {
  return BY_KEYWORD.get(keyword);
}
