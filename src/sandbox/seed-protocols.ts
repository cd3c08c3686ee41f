/**
 * How the seeded sessions were acquired: series protocols (MR, PET, CT) and the scanners that ran
 * them. The demo archive and the generated archives both describe their sessions with these.
 */

/** How one series of a session is acquired; the scan record and its DICOM follow from it. */
export interface SeriesProtocol {
  type: string;
  seriesDescription: string;
  frames: number;
  xsiType: string;
  modality: 'MR' | 'PT' | 'CT';
  parameters: Record<string, string | number>;
}

export interface Scanner {
  manufacturer: string;
  model: string;
  station: string;
  fieldStrength?: string;
  institution: string;
}

interface MrParameters {
  tr: number;
  te: number;
  ti?: number;
  flip: number;
  orientation: string;
  voxelRes: [number, number, number];
}

export function mr(type: string, seriesDescription: string, frames: number, p: MrParameters): SeriesProtocol {
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

/** Amyloid PET: attenuation-corrected and uncorrected reconstructions. */
export const PET_PROTOCOLS: readonly SeriesProtocol[] = [
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

/** Low-dose CT for PET attenuation correction. */
export const CT_PROTOCOLS: readonly SeriesProtocol[] = [
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

export const PRISMA: Scanner = {
  manufacturer: 'SIEMENS',
  model: 'Prisma',
  station: 'AWP166038',
  fieldStrength: '3.0',
  institution: 'Northfield Imaging Center',
};
export const PRISMA_FIT: Scanner = { ...PRISMA, model: 'Prisma_fit', station: 'MRC67078' };
export const SIGNA: Scanner = {
  manufacturer: 'GE MEDICAL SYSTEMS',
  model: 'SIGNA Premier',
  station: 'GEMR3TP1',
  fieldStrength: '3.0',
  institution: "Riverside Children's Hospital",
};
export const BIOGRAPH: Scanner = {
  manufacturer: 'SIEMENS',
  model: 'Biograph mCT',
  station: 'PETCT01',
  institution: 'Northfield Imaging Center',
};
