/**
 * The container service's installed commands (container-service `Command` and `CommandWrapper`, as
 * `/xapi/commands` serialises them) and which wrappers the demo site enables. The images never run in
 * Docker: each command names the in-process runner (runners.ts) that does its work.
 */

export interface CommandInput {
  name: string;
  description: string;
  type: 'string' | 'boolean' | 'number' | 'file';
  required: boolean;
  'default-value'?: string;
  'replacement-key': string;
  'command-line-flag'?: string;
  'true-value'?: string;
  'false-value'?: string;
  'select-values'?: string[];
}

export interface WrapperInput {
  name: string;
  label?: string;
  description: string;
  type: 'Session' | 'Scan' | 'string' | 'Project' | 'Subject';
  required: boolean;
  'provides-value-for-command-input'?: string;
  'provides-files-for-command-mount'?: string;
  'user-settable': boolean;
  'load-children': boolean;
  'derived-from-wrapper-input'?: string;
  'derived-from-xnat-object-property'?: string;
}

export interface OutputHandler {
  name: string;
  'accepts-command-output': string;
  'as-a-child-of': string;
  type: 'Resource' | 'Assessor';
  label: string;
  format: string;
  description: string;
}

export interface Wrapper {
  id: number;
  name: string;
  label: string;
  description: string;
  contexts: string[];
  'external-inputs': WrapperInput[];
  'derived-inputs': WrapperInput[];
  'output-handlers': OutputHandler[];
}

/** What the sandbox does in place of the image (runners.ts). */
export type Runner = 'dcm2niix' | 'snapshots' | 'recon-all' | 'mriqc';

export interface Command {
  id: number;
  name: string;
  label: string;
  description: string;
  version: string;
  'schema-version': string;
  'info-url': string;
  image: string;
  type: 'docker';
  'command-line': string;
  'working-directory'?: string;
  mounts: Array<{ name: string; writable: boolean; path: string }>;
  inputs: CommandInput[];
  outputs: Array<{
    name: string;
    description: string;
    required: boolean;
    mount: string;
    path?: string;
    glob?: string;
  }>;
  xnat: Wrapper[];
  runner: Runner;
}

const sessionInput = (description: string, mount = 'in'): WrapperInput => ({
  name: 'session',
  label: 'Session',
  description,
  type: 'Session',
  required: true,
  'provides-files-for-command-mount': mount,
  'user-settable': true,
  'load-children': true,
});

const sessionLabel: WrapperInput = {
  name: 'session-label',
  description: "The session's label",
  type: 'string',
  required: true,
  'provides-value-for-command-input': 'subject_label',
  'user-settable': false,
  'load-children': true,
  'derived-from-wrapper-input': 'session',
  'derived-from-xnat-object-property': 'label',
};

const MOUNTS = [
  { name: 'in', writable: false, path: '/input' },
  { name: 'out', writable: true, path: '/output' },
];

/** dcm2niix: every scan with DICOM of a session to NIfTI (a NIFTI resource per scan). */
const DCM2NIIX: Command = {
  id: 1,
  name: 'dcm2niix',
  label: 'dcm2niix',
  description: 'Converts the DICOM of every scan of a session to NIfTI with a BIDS sidecar',
  version: '1.5',
  'schema-version': '1.0',
  'info-url': 'https://github.com/rordenlab/dcm2niix',
  image: 'xnat/dcm2niix:1.0.20240202',
  type: 'docker',
  'command-line': 'dcm2niix -b #BIDS# -z #COMPRESS# -f #FILENAME# -o /output /input',
  mounts: MOUNTS,
  inputs: [
    {
      name: 'bids',
      description: 'Write a BIDS JSON sidecar next to each image (y/n)',
      type: 'string',
      required: false,
      'default-value': 'y',
      'replacement-key': '#BIDS#',
      'select-values': ['y', 'n'],
    },
    {
      name: 'compress',
      description: 'Gzip the NIfTI images (y: .nii.gz, n: .nii)',
      type: 'string',
      required: false,
      'default-value': 'y',
      'replacement-key': '#COMPRESS#',
      'select-values': ['y', 'n'],
    },
    {
      name: 'filename',
      description: 'Output file name pattern (%s scan ID, %d series description)',
      type: 'string',
      required: false,
      'default-value': '%s_%d',
      'replacement-key': '#FILENAME#',
    },
  ],
  outputs: [{ name: 'nifti', description: 'The NIfTI files and sidecars', required: true, mount: 'out' }],
  xnat: [
    {
      id: 1,
      name: 'dcm2niix-session',
      label: 'dcm2niix (all scans)',
      description: "Converts each scan's DICOM resource into a NIFTI resource on that scan",
      contexts: ['xnat:imageSessionData'],
      'external-inputs': [sessionInput('Input session: every scan with a DICOM resource is converted')],
      'derived-inputs': [],
      'output-handlers': [
        {
          name: 'nifti-resource',
          'accepts-command-output': 'nifti',
          'as-a-child-of': 'session',
          type: 'Resource',
          label: 'NIFTI',
          format: 'NIFTI',
          description: 'One NIFTI resource per scan',
        },
      ],
    },
  ],
  runner: 'dcm2niix',
};

/** PNG snapshots of the middle slice of every scan (a QC_SNAPSHOTS resource on the session). */
const QC_SNAPSHOTS: Command = {
  id: 2,
  name: 'qc-snapshots',
  label: 'QC snapshots',
  description: 'Draws a PNG snapshot of the middle slice of every scan of a session',
  version: '1.2',
  'schema-version': '1.0',
  'info-url': 'https://github.com/NrgXnat/docker-images',
  image: 'xnat/qc-snapshots:1.2',
  type: 'docker',
  'command-line': 'snapshots --width #WIDTH# /input /output',
  mounts: MOUNTS,
  inputs: [
    {
      name: 'width',
      description: 'Largest width of a snapshot, in pixels',
      type: 'number',
      required: false,
      'default-value': '128',
      'replacement-key': '#WIDTH#',
    },
  ],
  outputs: [{ name: 'snapshots', description: 'PNG snapshots', required: true, mount: 'out', glob: '*.png' }],
  xnat: [
    {
      id: 2,
      name: 'session-snapshots',
      label: 'QC snapshots',
      description: 'A QC_SNAPSHOTS resource on the session with one PNG per scan',
      contexts: ['xnat:imageSessionData'],
      'external-inputs': [sessionInput('Input session: one snapshot per scan with DICOM')],
      'derived-inputs': [],
      'output-handlers': [
        {
          name: 'snapshot-resource',
          'accepts-command-output': 'snapshots',
          'as-a-child-of': 'session',
          type: 'Resource',
          label: 'QC_SNAPSHOTS',
          format: 'PNG',
          description: 'PNG snapshots',
        },
      ],
    },
  ],
  runner: 'snapshots',
};

/** FreeSurfer recon-all: fails, as FreeSurfer does without its license file. */
const RECON_ALL: Command = {
  id: 3,
  name: 'freesurfer-recon-all',
  label: 'FreeSurfer recon-all',
  description: 'Cortical reconstruction of a T1-weighted scan with FreeSurfer 7',
  version: '7.4.1',
  'schema-version': '1.0',
  'info-url': 'https://surfer.nmr.mgh.harvard.edu/fswiki/recon-all',
  image: 'freesurfer/freesurfer:7.4.1',
  type: 'docker',
  'command-line': 'recon-all -s #SUBJECT_LABEL# -i /input/T1.nii.gz -all #FLAGS#',
  mounts: MOUNTS,
  inputs: [
    {
      name: 'subject_label',
      description: 'FreeSurfer subject name (the session label)',
      type: 'string',
      required: true,
      'replacement-key': '#SUBJECT_LABEL#',
    },
    {
      name: 'flags',
      description: 'Extra recon-all flags, e.g. -3T',
      type: 'string',
      required: false,
      'default-value': '',
      'replacement-key': '#FLAGS#',
    },
  ],
  outputs: [{ name: 'fs', description: 'The FreeSurfer subject directory', required: true, mount: 'out' }],
  xnat: [
    {
      id: 3,
      name: 'recon-all-session',
      label: 'FreeSurfer recon-all',
      description: 'Runs recon-all on the T1w scan of a session; writes a FREESURFER resource',
      contexts: ['xnat:mrSessionData'],
      'external-inputs': [sessionInput('Input session with a T1-weighted scan')],
      'derived-inputs': [sessionLabel],
      'output-handlers': [
        {
          name: 'fs-resource',
          'accepts-command-output': 'fs',
          'as-a-child-of': 'session',
          type: 'Resource',
          label: 'FREESURFER',
          format: 'FREESURFER',
          description: 'recon-all output',
        },
      ],
    },
  ],
  runner: 'recon-all',
};

/** MRIQC: quality metrics per MR scan (installed, not enabled on BRAIN_MR). */
const MRIQC: Command = {
  id: 4,
  name: 'mriqc',
  label: 'MRIQC',
  description: 'Image quality metrics of anatomical and functional MR scans',
  version: '24.0.2',
  'schema-version': '1.0',
  'info-url': 'https://mriqc.readthedocs.io',
  image: 'nipreps/mriqc:24.0.2',
  type: 'docker',
  'command-line': 'mriqc /input /output participant',
  mounts: MOUNTS,
  inputs: [],
  outputs: [{ name: 'iqms', description: 'Image quality metrics (JSON)', required: true, mount: 'out' }],
  xnat: [
    {
      id: 4,
      name: 'mriqc-session',
      label: 'MRIQC',
      description: 'Quality metrics of each MR scan of a session, as an MRIQC resource',
      contexts: ['xnat:mrSessionData'],
      'external-inputs': [sessionInput('Input MR session')],
      'derived-inputs': [],
      'output-handlers': [
        {
          name: 'iqm-resource',
          'accepts-command-output': 'iqms',
          'as-a-child-of': 'session',
          type: 'Resource',
          label: 'MRIQC',
          format: 'JSON',
          description: 'MRIQC metrics',
        },
      ],
    },
  ],
  runner: 'mriqc',
};

/** The commands a fresh sandbox has installed, in `/xapi/commands` order (copies: a sandbox may change its own). */
export function installedCommands(): Command[] {
  return structuredClone([DCM2NIIX, QC_SNAPSHOTS, RECON_ALL, MRIQC]);
}

/** Wrappers enabled site-wide and per project on the demo site (MRIQC is installed but not enabled on BRAIN_MR). */
export const DEMO_ENABLEMENT = {
  site: [1, 2, 3, 4],
  projects: { BRAIN_MR: [1, 2, 3], PEDS_DTI: [1, 2, 4] } as Record<string, number[]>,
};
