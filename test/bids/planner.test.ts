/**
 * The BIDS planner, pure: names and labels, the four maps (XNAT bidsmap, dcm2bids, explicit rules,
 * default), run numbering in scan order, unmapped scans with their reasons, collisions, scans without
 * NIfTI, and the agreement of the three maps on the demo protocol.
 */
import { describe, expect, it } from 'vitest';
import {
  XnatBadRequestError,
  bidsLabel,
  compileMapping,
  dicomSidecar,
  bidsSidecar,
  parseBidsName,
  planBids,
  type BidsMapping,
  type BidsSessionInput,
  type DicomElement,
  type XnatFile,
} from '../../src/client/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { MR_PROTOCOLS } from '../../src/sandbox/seed-protocols.js';

const file = (path: string, scan: string): XnatFile => ({
  name: path.split('/').pop() ?? path,
  path,
  resource: 'NIFTI',
  scan,
  size: 1,
  digest: '',
  format: 'NIFTI',
  content: 'NIFTI_RAW',
  uri: `/data/experiments/E/scans/${scan}/resources/1/files/${path}`,
});

/** A session of the demo protocol (scans 1..6); `nifti` lists the scans with a NIFTI resource. */
function session(
  subject: string,
  label: string,
  nifti: string[] = ['2', '4', '5'],
  extra: Partial<Record<string, string>> = {},
): BidsSessionInput {
  return {
    experiment: `E_${label}`,
    label,
    date: '2021-01-11',
    subject: { id: `S_${subject}`, label: subject },
    scans: MR_PROTOCOLS.map((p, i) => {
      const id = String(i + 1);
      const files = nifti.includes(id)
        ? [
            file(`x_${id}.nii.gz`, id),
            file(`x_${id}.json`, id),
            file(`x_${id}.bval`, id),
            file(`x_${id}.bvec`, id),
          ]
        : [];
      return {
        id,
        type: p.type,
        seriesDescription: p.seriesDescription,
        modality: p.modality,
        xsiType: p.xsiType,
        quality: extra[id] ?? 'usable',
        nifti: files,
      };
    }),
  };
}

let bidsmap: BidsMapping | undefined;

/** BRAIN_MR's bidsmap as the demo archive seeds it in XNAT's configuration service. */
function demoBidsmap(): BidsMapping {
  if (bidsmap) return bidsmap;
  const config = createDemoArchive().configs?.get('BRAIN_MR\u0000bids\u0000bidsmap');
  const contents = config?.versions.at(-1)?.contents;
  if (!contents) throw new Error('the demo archive has no BRAIN_MR bidsmap');
  bidsmap = { source: 'xnat-bidsmap', entries: JSON.parse(contents) };
  return bidsmap;
}

const DCM2BIDS: BidsMapping = {
  source: 'dcm2bids',
  config: {
    descriptions: [
      { datatype: 'anat', suffix: 'T1w', criteria: { SeriesDescription: '*mprage*' } },
      { datatype: 'anat', suffix: 'T2w', criteria: { SeriesDescription: 't2_space*' } },
      { datatype: 'anat', suffix: 'FLAIR', criteria: { SeriesDescription: '*dark-fluid' } },
      {
        datatype: 'func',
        suffix: 'bold',
        custom_entities: 'task-rest_dir-AP',
        criteria: { SeriesDescription: 'rfMRI_REST_AP' },
      },
      {
        datatype: 'dwi',
        suffix: 'dwi',
        custom_entities: ['dir-AP'],
        criteria: { SeriesDescription: 'dMRI_*_AP' },
      },
    ],
  },
};

describe('BIDS names', () => {
  it('reduces labels to letters and digits, accents dropped', () => {
    expect(bidsLabel('Sujet Éloïse 07')).toBe('SujetEloise07');
    expect(bidsLabel('BMR-001_x.y')).toBe('BMR001xy');
    expect(bidsLabel('__')).toBe('');
  });

  it("parses XNAT's bidsnames into folder, suffix and entities, and refuses what BIDS cannot name", () => {
    expect(parseBidsName('task-rest_dir-AP_bold')).toEqual({
      datatype: 'func',
      suffix: 'bold',
      entities: { task: 'rest', dir: 'AP' },
    });
    expect(parseBidsName('t1w')).toEqual({ datatype: 'anat', suffix: 'T1w', entities: {} });
    expect(() => parseBidsName('sub-01_T1w')).toThrow(/names subjects and sessions itself/);
    expect(() => parseBidsName('task-re_st_bold')).toThrow(XnatBadRequestError);
    expect(() => parseBidsName('color-red_T1w')).toThrow(/not a BIDS entity/);
    expect(() => parseBidsName('weird')).toThrow(/no BIDS datatype folder/);
    expect(parseBidsName('weird', 'anat')).toEqual({ datatype: 'anat', suffix: 'weird', entities: {} });
    // Names become file names: nothing but letters and digits in a suffix.
    expect(() => parseBidsName('../../evil', 'anat')).toThrow(/letters and digits only/);
    expect(() =>
      compileMapping({
        source: 'dcm2bids',
        config: {
          descriptions: [{ datatype: 'anat', suffix: 'T1w/../x', criteria: { SeriesDescription: '*' } }],
        },
      }),
    ).toThrow(/letters and digits only/);
  });
});

describe('maps', () => {
  const [localizer, t1, , bold, dwi] = session('BMR001', 'BMR001_MR1').scans;
  if (!localizer || !t1 || !bold || !dwi) throw new Error('demo protocol changed');

  it("matches XNAT's bidsmap by series description in any case; later entries win", () => {
    const match = compileMapping({
      source: 'xnat-bidsmap',
      entries: [
        { series_description: 'T1_MPRAGE_SAG_P2', bidsname: 'acq-old_T1w' },
        { series_description: 't1_mprage_sag_p2', bidsname: 'T1w' },
      ],
    });
    expect(match(t1)).toMatchObject({ name: { suffix: 'T1w', entities: {} } });
    expect(match(localizer)).toEqual({ reason: 'series description "localizer" is not in the bidsmap' });
  });

  it('matches dcm2bids criteria as fnmatch globs, case-sensitive unless told, and refuses double matches', () => {
    const match = compileMapping(DCM2BIDS);
    expect(match(bold)).toMatchObject({ name: { datatype: 'func', entities: { task: 'rest', dir: 'AP' } } });
    const upper = compileMapping({
      source: 'dcm2bids',
      config: {
        descriptions: [{ datatype: 'anat', suffix: 'T1w', criteria: { SeriesDescription: '*MPRAGE*' } }],
      },
    });
    expect(upper(t1)).toMatchObject({ reason: 'matches no dcm2bids description' });
    const anyCase = compileMapping({
      source: 'dcm2bids',
      config: {
        case_sensitive: false,
        descriptions: [
          { datatype: 'anat', suffix: 'T1w', criteria: { SeriesDescription: '*MPRAGE*' } },
          { datatype: 'anat', suffix: 'T2w', criteria: { SeriesDescription: 't?_*', SeriesNumber: 2 } },
          { datatype: 'anat', suffix: 'PDw', criteria: { ImageComments: 'x' } },
        ],
      },
    });
    expect(anyCase(t1)).toEqual({
      reason: 'matches 2 dcm2bids descriptions (1, 2); dcm2bids converts only a single match',
    });
    expect(anyCase(localizer)).toMatchObject({
      reason: expect.stringMatching(/ImageComments cannot be checked/),
    });
  });

  it('takes the first explicit rule that matches; a rule matching on nothing is refused', () => {
    const match = compileMapping({
      source: 'explicit',
      rules: [
        { scan: '2', bidsname: 'acq-first_T1w' },
        { seriesDescription: 'T1_*', bidsname: 'T1w' },
        { type: 'dmri*', bidsname: 'acq-b1000_dwi' },
      ],
    });
    expect(match(t1)).toMatchObject({ name: { entities: { acq: 'first' } }, rule: 'rule 1: acq-first_T1w' });
    expect(match(dwi)).toMatchObject({ name: { entities: { acq: 'b1000' } } });
    expect(match(bold)).toEqual({ reason: 'matches no mapping rule' });
    expect(() => compileMapping({ source: 'explicit', rules: [{ bidsname: 'T1w' }] })).toThrow(
      /matches nothing/,
    );
  });

  it('defaults from types and descriptions, leaving out localizers, PET, CT and field maps with the reason', () => {
    const match = compileMapping({ source: 'default' });
    const scan = (seriesDescription: string, type = '', modality = 'MR') =>
      match({ id: '1', seriesDescription, type, modality, xsiType: 'xnat:mrScanData' });
    expect(scan('AAHead_Scout_64ch')).toEqual({ reason: 'localizer' });
    expect(scan('MPRAGE', 'T1')).toMatchObject({ name: { suffix: 'T1w' } });
    expect(scan('t2_tirm_tra_dark-fluid')).toMatchObject({ name: { suffix: 'FLAIR' } });
    expect(scan('BOLD_task-nback_PA')).toMatchObject({ name: { entities: { task: 'nback', dir: 'PA' } } });
    expect(scan('ep2d_bold')).toMatchObject({ reason: expect.stringMatching(/without a task name/) });
    expect(scan('gre_field_mapping')).toMatchObject({ reason: expect.stringMatching(/field map/) });
    expect(scan('PET_Brain_AC_3D', 'PET AC', 'PT')).toMatchObject({ reason: expect.stringMatching(/PET/) });
    expect(scan('CTAC 3.0 H31s', 'CT Head', 'CT')).toEqual({ reason: 'CT is not part of BIDS raw data' });
    expect(scan('mystery')).toMatchObject({ reason: expect.stringMatching(/map it explicitly/) });
  });
});

describe('the plan', () => {
  it('names every scan sub-/ses-/<datatype>/..., and says which scans have no NIfTI or no mapping', () => {
    const plan = planBids([session('BMR001', 'BMR001_MR1', ['2', '5'])], { mapping: demoBidsmap() });
    expect(plan.scans.map((s) => [s.path, s.source !== undefined])).toEqual([
      ['sub-BMR001/ses-MR1/anat/sub-BMR001_ses-MR1_FLAIR', false],
      ['sub-BMR001/ses-MR1/anat/sub-BMR001_ses-MR1_T1w', true],
      ['sub-BMR001/ses-MR1/anat/sub-BMR001_ses-MR1_T2w', false],
      ['sub-BMR001/ses-MR1/dwi/sub-BMR001_ses-MR1_dir-AP_dwi', true],
      ['sub-BMR001/ses-MR1/func/sub-BMR001_ses-MR1_task-rest_dir-AP_bold', false],
    ]);
    const dwi = plan.scans.find((s) => s.datatype === 'dwi');
    expect([dwi?.source?.image.path, dwi?.source?.bval?.path, dwi?.source?.bvec?.path]).toEqual([
      'x_5.nii.gz',
      'x_5.bval',
      'x_5.bvec',
    ]);
    expect(plan.unmapped).toEqual([
      expect.objectContaining({ scan: '1', reason: expect.stringMatching(/localizer/) }),
    ]);
    expect(plan.collisions).toEqual([]);
  });

  it('numbers scans sharing a name within a session run-01, run-02, ... in scan order', () => {
    const s = session('BMR001', 'BMR001_MR1');
    const t1 = s.scans[1];
    if (!t1) throw new Error('no T1');
    // A repeated T1 acquired as scan 10 and one as scan 7: runs follow the scan numbers, not the listing.
    s.scans.push({ ...t1, id: '10' }, { ...t1, id: '7' });
    const plan = planBids([s, session('BMR002', 'BMR002_MR1')], { mapping: demoBidsmap() });
    const t1s = plan.scans.filter((x) => x.suffix === 'T1w');
    expect(t1s.map((x) => [x.subject, x.scan, x.path.split('/').pop()])).toEqual([
      ['BMR001', '2', 'sub-BMR001_ses-MR1_run-01_T1w'],
      ['BMR001', '7', 'sub-BMR001_ses-MR1_run-02_T1w'],
      ['BMR001', '10', 'sub-BMR001_ses-MR1_run-03_T1w'],
      ['BMR002', '2', 'sub-BMR002_ses-MR1_T1w'],
    ]);
  });

  it('reports collisions instead of overwriting: labels reducing alike, runs given twice', () => {
    const plan = planBids([session('BMR-001', 'BMR-001_MR1'), session('BMR_001', 'BMR_001_MR1')], {
      mapping: { source: 'explicit', rules: [{ seriesDescription: 't1*', bidsname: 'T1w' }] },
    });
    expect(plan.scans).toEqual([]);
    expect(plan.collisions).toEqual([
      {
        path: 'sub-BMR001/ses-MR1/anat/sub-BMR001_ses-MR1_T1w',
        scans: [
          expect.objectContaining({ experiment: 'E_BMR-001_MR1', scan: '2' }),
          expect.objectContaining({ experiment: 'E_BMR_001_MR1', scan: '2' }),
        ],
        reason: 'different XNAT sessions reduce to the same BIDS subject and session labels',
      },
    ]);
    const runs = planBids([session('A', 'A_1')], {
      mapping: { source: 'explicit', rules: [{ type: 'T*', bidsname: 'run-1_T1w' }] },
    });
    expect(runs.collisions).toEqual([
      expect.objectContaining({ reason: 'the map gives these scans the same name, run included' }),
    ]);
  });

  it('reports a NIFTI resource holding several images instead of picking one', () => {
    const s = session('BMR001', 'BMR001_MR1', ['2']);
    const t1 = s.scans[1];
    if (!t1) throw new Error('no T1');
    t1.nifti.push(file('x_2_e2.nii.gz', '2'));
    const plan = planBids([s], { mapping: demoBidsmap() });
    expect(plan.scans.some((x) => x.scan === '2')).toBe(false);
    expect(plan.unmapped).toContainEqual(
      expect.objectContaining({
        scan: '2',
        reason: expect.stringMatching(/holds 2 images \(x_2\.nii\.gz, x_2_e2\.nii\.gz\)/),
      }),
    );
  });

  it('leaves out unusable scans unless asked, and keeps whole session labels when told', () => {
    const s = session('BMR005', 'BMR005_MR1', ['2', '4'], { '4': 'unusable' });
    const plan = planBids([s], { mapping: { source: 'default' } });
    expect(plan.unmapped).toContainEqual(
      expect.objectContaining({ scan: '4', reason: expect.stringMatching(/unusable/) }),
    );
    const all = planBids([s], {
      mapping: { source: 'default' },
      includeUnusable: true,
      sessionLabels: 'label',
    });
    expect(all.scans.find((x) => x.scan === '4')?.path).toBe(
      'sub-BMR005/ses-BMR005MR1/func/sub-BMR005_ses-BMR005MR1_task-rest_dir-AP_bold',
    );
  });

  it("agrees across XNAT's bidsmap, a dcm2bids configuration and the default on the demo protocol", () => {
    const sessions = [
      session('BMR001', 'BMR001_MR1'),
      session('BMR001', 'BMR001_MR2', ['2']),
      session('Sujet Éloïse 07', 'Eloise07_MR1'),
    ];
    const paths = (mapping: BidsMapping) => {
      const plan = planBids(sessions, { mapping });
      return {
        paths: plan.scans.map((s) => `${s.experiment}/${s.scan} ${s.path}`),
        unmapped: plan.unmapped.map((u) => `${u.experiment}/${u.scan}`),
      };
    };
    const xnat = paths(demoBidsmap());
    expect(xnat.paths).toHaveLength(15);
    expect(paths(DCM2BIDS)).toEqual(xnat);
    expect(paths({ source: 'default' })).toEqual(xnat);
    expect(xnat.unmapped).toEqual(['E_BMR001_MR1/1', 'E_BMR001_MR2/1', 'E_Eloise07_MR1/1']);
  });
});

describe('sidecars', () => {
  const element = (tag: string, value: string, vr = 'DS'): DicomElement => ({
    tag,
    vr,
    value,
    name: '',
    private: false,
  });

  it('converts DICOM milliseconds to seconds, numbers to numbers, and never copies identifying elements', () => {
    const fromDicom = dicomSidecar([
      element('(0018,0080)', '2300'),
      element('(0018,0081)', '2.98'),
      element('(0018,0082)', '900'),
      element('(0018,1314)', '9'),
      element('(0018,0087)', '3.0'),
      element('(0008,0070)', 'SIEMENS ', 'LO'),
      element('(0008,0008)', 'ORIGINAL\\PRIMARY\\M\\ND', 'CS'),
      element('(0020,0011)', '2', 'IS'),
      element('(0010,0010)', 'Doe^Jane', 'PN'),
      { ...element('(0018,0080)', '99'), parent: '(0008,1140)' },
    ]);
    expect(fromDicom).toEqual({
      RepetitionTime: 2.3,
      EchoTime: 0.00298,
      InversionTime: 0.9,
      FlipAngle: 9,
      MagneticFieldStrength: 3,
      Manufacturer: 'SIEMENS',
      ImageType: ['ORIGINAL', 'PRIMARY', 'M', 'ND'],
      SeriesNumber: 2,
    });
    // dcm2niix adds what DICOM's standard elements cannot say; DICOM wins where both speak.
    const sidecar = bidsSidecar(
      fromDicom,
      { RepetitionTime: 1, PhaseEncodingDirection: 'j-', PatientName: 'x' },
      { task: 'rest' },
    );
    expect(sidecar).toMatchObject({ RepetitionTime: 2.3, PhaseEncodingDirection: 'j-', TaskName: 'rest' });
    expect(sidecar).not.toHaveProperty('PatientName');
  });
});
