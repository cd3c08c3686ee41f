/**
 * How the seeded sessions were acquired: series protocols (MR, PET, CT) and the scanners that ran
 * them. The demo archive and the generated archives both describe their sessions with these.
 */

import type { Contrast, Vec3 } from './phantom.js';

export type Orientation = 'Sag' | 'Cor' | 'Tra';

/** MR sequence settings, as the DICOM header states them (times in ms, angles in degrees). */
export interface MrSettings {
  tr: number;
  te: number;
  ti?: number;
  flip: number;
  sequence: string;
  scanSequence: string;
  seqVariant: string;
  scanOptions: string;
  acqType: '2D' | '3D';
  pixelBandwidth: number;
  /** DWI: the b-value of the diffusion-weighted volumes (volume 0 is b=0). */
  bValue?: number;
}

/**
 * Where and how a series is imaged: a slab of `slices` parallel slices (the localizer: one per
 * orientation), `volumes` times over (BOLD time points, DWI b=0 plus gradient directions).
 */
export interface Acquisition {
  contrast: Contrast | 'localizer' | 'topogram';
  orientation: Orientation;
  rows: number;
  columns: number;
  /** Square pixels, mm. */
  pixelSpacing: number;
  slices: number;
  sliceThickness: number;
  /** Centre to centre, mm; more than the thickness leaves a gap. */
  sliceSpacing: number;
  volumes: number;
  /** Centre of the slab, patient coordinates (LPS, mm). */
  centre: Vec3;
  /** In-plane phase-encode direction: along rows or columns. */
  phase: 'ROW' | 'COL';
  /** Default display window: centre and width, in rescaled units. */
  window: [number, number];
  mr?: MrSettings;
  ct?: { kvp: number; tubeCurrent: number; kernel: string };
}

/** How one series of a session is acquired; the scan record and its DICOM follow from it. */
export interface SeriesProtocol {
  type: string;
  seriesDescription: string;
  /** Images in the series: slices × volumes. */
  frames: number;
  xsiType: string;
  modality: 'MR' | 'PT' | 'CT';
  /** XNAT's scan parameters, as its DICOM importer fills them from the headers. */
  parameters: Record<string, string | number>;
  acquisition: Acquisition;
}

export interface Scanner {
  manufacturer: string;
  model: string;
  station: string;
  fieldStrength?: string;
  institution: string;
  software: string;
}

const geometryParameters = (a: Acquisition): Record<string, string | number> => ({
  'parameters/orientation': a.orientation,
  'parameters/voxelRes/x': a.pixelSpacing,
  'parameters/voxelRes/y': a.pixelSpacing,
  'parameters/voxelRes/z': a.sliceThickness,
  'parameters/fov/x': a.columns,
  'parameters/fov/y': a.rows,
});

type MrAcquisition = Omit<Acquisition, 'mr' | 'ct' | 'contrast'> & { contrast: Acquisition['contrast'] };

export function mr(
  type: string,
  seriesDescription: string,
  a: MrAcquisition,
  settings: MrSettings,
): SeriesProtocol {
  const parameters: Record<string, string | number> = {
    ...geometryParameters(a),
    'parameters/tr': settings.tr,
    'parameters/te': settings.te,
    'parameters/flip': settings.flip,
    'parameters/sequence': settings.sequence,
    'parameters/scanSequence': settings.scanSequence,
    'parameters/seqVariant': settings.seqVariant,
    'parameters/scanOptions': settings.scanOptions,
    'parameters/acqType': settings.acqType,
    'parameters/pixelBandwidth': settings.pixelBandwidth,
    'parameters/imageType':
      a.contrast === 'DWI' ? 'ORIGINAL\\PRIMARY\\DIFFUSION\\NONE' : 'ORIGINAL\\PRIMARY\\M\\ND',
  };
  if (settings.ti !== undefined) parameters['parameters/ti'] = settings.ti;
  return {
    type,
    seriesDescription,
    frames: a.slices * a.volumes,
    xsiType: 'xnat:mrScanData',
    modality: 'MR',
    parameters,
    acquisition: { ...a, mr: settings },
  };
}

const HEAD: Vec3 = [0, 0, 0];
const SAG_128 = { orientation: 'Sag', rows: 128, columns: 128, pixelSpacing: 2, centre: HEAD } as const;
const TRA_64 = { orientation: 'Tra', rows: 64, columns: 64, pixelSpacing: 3.5, phase: 'COL' } as const;

const localizer = mr(
  'localizer',
  'localizer',
  {
    ...SAG_128,
    contrast: 'localizer',
    slices: 3,
    sliceThickness: 7,
    sliceSpacing: 7,
    volumes: 1,
    phase: 'ROW',
    window: [600, 1400],
  },
  {
    tr: 8.6,
    te: 4,
    flip: 20,
    sequence: '*fl2d1',
    scanSequence: 'GR',
    seqVariant: 'SP\\OSP',
    scanOptions: '',
    acqType: '2D',
    pixelBandwidth: 320,
  },
);

const t1 = mr(
  'T1w_MPR',
  't1_mprage_sag_p2',
  {
    ...SAG_128,
    contrast: 'T1w',
    slices: 48,
    sliceThickness: 3,
    sliceSpacing: 3,
    volumes: 1,
    phase: 'ROW',
    window: [800, 1600],
  },
  {
    tr: 2300,
    te: 2.98,
    ti: 900,
    flip: 9,
    sequence: '*tfl3d1_16ns',
    scanSequence: 'GR\\IR',
    seqVariant: 'SK\\SP\\MP',
    scanOptions: 'IR',
    acqType: '3D',
    pixelBandwidth: 240,
  },
);

const t2 = mr(
  'T2w_SPC',
  't2_space_sag_p2',
  {
    ...SAG_128,
    contrast: 'T2w',
    slices: 48,
    sliceThickness: 3,
    sliceSpacing: 3,
    volumes: 1,
    phase: 'ROW',
    window: [1100, 2200],
  },
  {
    tr: 3200,
    te: 409,
    flip: 120,
    sequence: '*spc_314ns',
    scanSequence: 'SE',
    seqVariant: 'SK\\SP\\OSP',
    scanOptions: 'PFP',
    acqType: '3D',
    pixelBandwidth: 745,
  },
);

const bold = mr(
  'rfMRI_REST_AP',
  'rfMRI_REST_AP',
  {
    ...TRA_64,
    contrast: 'BOLD',
    slices: 20,
    sliceThickness: 4,
    sliceSpacing: 5,
    volumes: 10,
    centre: [0, 0, 18],
    window: [800, 1600],
  },
  {
    tr: 2000,
    te: 30,
    flip: 77,
    sequence: '*epfid2d1_64',
    scanSequence: 'EP',
    seqVariant: 'SK',
    scanOptions: 'FS',
    acqType: '2D',
    pixelBandwidth: 2368,
  },
);

const dwi = (type: string, description: string, directions: number, tr: number, te: number) =>
  mr(
    type,
    description,
    {
      orientation: 'Tra',
      rows: 96,
      columns: 96,
      pixelSpacing: 2.4,
      phase: 'COL',
      contrast: 'DWI',
      slices: 24,
      sliceThickness: 5,
      sliceSpacing: 5,
      volumes: directions + 1,
      centre: [0, 0, 10],
      window: [700, 1400],
    },
    {
      tr,
      te,
      flip: 90,
      sequence: '*ep_b1000',
      scanSequence: 'EP',
      seqVariant: 'SK\\SP',
      scanOptions: 'PFP\\FS',
      acqType: '2D',
      pixelBandwidth: 1630,
      bValue: 1000,
    },
  );

const flair = mr(
  'FLAIR',
  't2_tirm_tra_dark-fluid',
  {
    orientation: 'Tra',
    rows: 128,
    columns: 128,
    pixelSpacing: 1.8,
    phase: 'COL',
    contrast: 'FLAIR',
    slices: 30,
    sliceThickness: 4,
    sliceSpacing: 4,
    volumes: 1,
    centre: [0, 0, 12],
    window: [900, 1800],
  },
  {
    tr: 9000,
    te: 81,
    ti: 2500,
    flip: 150,
    sequence: '*tir2d1_16',
    scanSequence: 'SE\\IR',
    seqVariant: 'SK\\SP\\MP',
    scanOptions: 'IR',
    acqType: '2D',
    pixelBandwidth: 287,
  },
);

/** The typical research MR session: scan IDs "1".."6" in this order. */
export const MR_PROTOCOLS: readonly SeriesProtocol[] = [
  localizer,
  t1,
  t2,
  bold,
  dwi('dMRI_dir3_AP', 'dMRI_b1000_dir3_AP', 3, 3230, 89.2),
  flair,
];

/** Diffusion tensor imaging for the pediatric study: six gradient directions. */
export const DTI_PROTOCOL = dwi('dMRI_dir6_PA', 'DTI_6dir_b1000_PA', 6, 8500, 82);

const PET_SLAB = {
  orientation: 'Tra',
  rows: 128,
  columns: 128,
  pixelSpacing: 2.04,
  slices: 40,
  sliceThickness: 3,
  sliceSpacing: 3,
  volumes: 1,
  centre: [0, 0, 10],
  phase: 'ROW',
} as const;

function pet(type: string, seriesDescription: string, window: [number, number]): SeriesProtocol {
  const acquisition: Acquisition = { ...PET_SLAB, contrast: 'PET', window };
  const { 'parameters/fov/x': _x, 'parameters/fov/y': _y, ...parameters } = geometryParameters(acquisition);
  return {
    type,
    seriesDescription,
    frames: PET_SLAB.slices,
    xsiType: 'xnat:petScanData',
    modality: 'PT',
    parameters,
    acquisition,
  };
}

/** Amyloid PET: attenuation-corrected and uncorrected reconstructions. */
export const PET_PROTOCOLS: readonly SeriesProtocol[] = [
  pet('PET AC 3D Brain', 'PET_Brain_AC_3D', [5000, 10000]),
  pet('PET NAC Brain', 'PET_Brain_NAC', [2500, 5000]),
];

function ct(
  type: string,
  seriesDescription: string,
  a: Omit<Acquisition, 'ct'>,
  tubeCurrent: number,
): SeriesProtocol {
  const acquisition: Acquisition = {
    ...a,
    ct: { kvp: 120, tubeCurrent, kernel: a.contrast === 'topogram' ? 'T20s' : 'H31s' },
  };
  return {
    type,
    seriesDescription,
    frames: a.slices * a.volumes,
    xsiType: 'xnat:ctScanData',
    modality: 'CT',
    parameters: {
      ...geometryParameters(acquisition),
      'parameters/kvp': 120,
      'parameters/xrayTubeCurrent': tubeCurrent,
      'parameters/rescale/intercept': -1024,
      'parameters/rescale/slope': 1,
    },
    acquisition,
  };
}

/** Low-dose CT for PET attenuation correction. */
export const CT_PROTOCOLS: readonly SeriesProtocol[] = [
  ct(
    'Topogram',
    'Topogram  0.6  T20s',
    {
      contrast: 'topogram',
      orientation: 'Cor',
      rows: 128,
      columns: 128,
      pixelSpacing: 2,
      slices: 1,
      sliceThickness: 0.6,
      sliceSpacing: 0.6,
      volumes: 1,
      centre: HEAD,
      phase: 'ROW',
      window: [1200, 2400],
    },
    35,
  ),
  ct(
    'CT Head AC',
    'CTAC 3.0 H31s',
    {
      contrast: 'CT',
      orientation: 'Tra',
      rows: 128,
      columns: 128,
      pixelSpacing: 2,
      slices: 48,
      sliceThickness: 4,
      sliceSpacing: 4,
      volumes: 1,
      centre: HEAD,
      phase: 'ROW',
      window: [40, 80],
    },
    50,
  ),
];

export const PRISMA: Scanner = {
  manufacturer: 'SIEMENS',
  model: 'Prisma',
  station: 'AWP166038',
  fieldStrength: '3.0',
  institution: 'Northfield Imaging Center',
  software: 'syngo MR XA30',
};
export const PRISMA_FIT: Scanner = { ...PRISMA, model: 'Prisma_fit', station: 'MRC67078' };
export const SIGNA: Scanner = {
  manufacturer: 'GE MEDICAL SYSTEMS',
  model: 'SIGNA Premier',
  station: 'GEMR3TP1',
  fieldStrength: '3.0',
  institution: "Riverside Children's Hospital",
  software: '29\\LX\\MR Software release:MR29.1_EA_2136.a',
};
export const BIOGRAPH: Scanner = {
  manufacturer: 'SIEMENS',
  model: 'Biograph mCT',
  station: 'PETCT01',
  institution: 'Northfield Imaging Center',
  software: 'VG80B',
};
