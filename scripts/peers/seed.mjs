/**
 * The data each suite expects to find on the server it was written for, created in the sandbox
 * through XNAT's REST API (XML documents with explicit accession IDs, as XNAT accepts them, so the
 * suites' hard-coded IDs resolve). Only structure is reproduced (projects, subjects, sessions,
 * scans, assessors, resources, small files): what a test asserts about a public server's exact
 * contents (counts, timestamps, version) is listed in expected-unsupported.json instead.
 */
const XNAT_NS =
  'xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const ELEMENT = {
  'xnat:mrSessionData': 'xnat:MRSession',
  'xnat:petSessionData': 'xnat:PETSession',
  'xnat:ctSessionData': 'xnat:CTSession',
};
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** A REST client for one user; every failed step is collected, not thrown, so one gap is not fatal. */
function rest(url, user) {
  const auth = `Basic ${Buffer.from(`${user.login}:${user.password}`).toString('base64')}`;
  const problems = [];
  async function call(method, path, body, type = 'text/xml') {
    const response = await fetch(`${url}/data${path}`, {
      method,
      headers: { Authorization: auth, ...(body === undefined ? {} : { 'Content-Type': type }) },
      body,
    });
    const text = await response.text();
    if (!response.ok)
      problems.push(`${method} /data${path} -> ${response.status} ${text.slice(0, 160).trim()}`);
    return response.ok;
  }
  return { call, problems };
}

async function seedSite(url, user, site) {
  const { call, problems } = rest(url, user);
  for (const p of site.projects) {
    const aliases = (p.aliases ?? []).map((a) => `<xnat:alias>${esc(a)}</xnat:alias>`).join('');
    await call(
      'PUT',
      `/projects/${p.id}?accessibility=${p.accessibility ?? 'public'}`,
      `<xnat:Project ${XNAT_NS} ID="${esc(p.id)}" secondary_ID="${esc(p.id)}">` +
        `<xnat:name>${esc(p.name ?? p.id)}</xnat:name>` +
        `<xnat:description>${esc(p.description ?? '')}</xnat:description>` +
        (aliases ? `<xnat:aliases>${aliases}</xnat:aliases>` : '') +
        `</xnat:Project>`,
    );
  }
  for (const s of site.subjects) {
    const id = s.id ? ` ID="${esc(s.id)}"` : '';
    await call(
      'PUT',
      `/projects/${s.project}/subjects/${encodeURIComponent(s.label)}`,
      `<xnat:Subject ${XNAT_NS}${id} project="${esc(s.project)}" label="${esc(s.label)}"/>`,
    );
  }
  for (const e of site.experiments) {
    const scans = (e.scans ?? [])
      .map(
        (c) =>
          `<xnat:scan ID="${esc(c.id)}" type="${esc(c.type)}" xsi:type="${c.xsiType ?? 'xnat:mrScanData'}">` +
          `<xnat:series_description>${esc(c.type)}</xnat:series_description>` +
          (c.voxelRes
            ? `<xnat:parameters><xnat:voxelRes x="${c.voxelRes[0]}" y="${c.voxelRes[1]}" z="${c.voxelRes[2]}"/></xnat:parameters>`
            : '') +
          `</xnat:scan>`,
      )
      .join('');
    const base = `/projects/${e.project}/subjects/${encodeURIComponent(e.subject)}/experiments/${encodeURIComponent(e.label)}`;
    const element = ELEMENT[e.xsiType ?? 'xnat:mrSessionData'];
    await call(
      'PUT',
      base,
      `<${element} ${XNAT_NS} ID="${esc(e.id)}" project="${esc(e.project)}" label="${esc(e.label)}">` +
        `<xnat:date>${e.date ?? '2010-01-01'}</xnat:date>` +
        (e.scanner ? `<xnat:scanner>${esc(e.scanner)}</xnat:scanner>` : '') +
        (scans ? `<xnat:scans>${scans}</xnat:scans>` : '') +
        `</${element}>`,
    );
    for (const c of e.scans ?? []) {
      for (const [name, text] of Object.entries(c.files ?? {})) {
        await call(
          'PUT',
          `${base}/scans/${c.id}/resources/DICOM/files/${name}?format=DICOM`,
          text,
          'application/octet-stream',
        );
      }
    }
    for (const r of e.resources ?? []) {
      await call('PUT', `${base}/resources/${r}`, undefined);
    }
    for (const a of e.assessors ?? []) {
      const id = a.id ? ` ID="${esc(a.id)}"` : '';
      await call(
        'PUT',
        `${base}/assessors/${encodeURIComponent(a.label)}`,
        `<xnat:QCManualAssessment ${XNAT_NS}${id} project="${esc(e.project)}" label="${esc(a.label)}">` +
          `<xnat:imageSession_ID>${esc(e.id)}</xnat:imageSession_ID></xnat:QCManualAssessment>`,
      );
    }
  }
  return problems;
}

const dicom = (n) => ({ [`${n}.dcm`]: `not really DICOM ${n}\n` });
const mrScans = (types) => types.map((type, i) => ({ id: String(i + 1), type, files: dicom(i + 1) }));

/**
 * pyxnat's suites: Debian 1.5's against XNAT central (nosetests* projects, the OASIS projects,
 * CENTRAL_* IDs), 1.6.4's against NITRC IR (cs_schizbull08, ixi, xnat_* IDs) and BBRC's dev server
 * (pyxnat_tests*, BBRCDEV_* IDs). One site holds both, as they never collide.
 */
const PYXNAT_SITE = {
  projects: [
    { id: 'nosetests', description: 'nosetests' },
    { id: 'nosetests5', description: 'nosetests', aliases: ['nosetests52'], accessibility: 'private' },
    { id: 'metabase_nosetests' },
    { id: 'testing_new' },
    { id: 'CENTRAL_OASIS_CS', name: 'OASIS cross-sectional' },
    { id: 'CENTRAL_OASIS_LONG', name: 'OASIS longitudinal' },
    { id: 'surfmask_smpl2' },
    {
      id: 'pyxnat_tests',
      name: 'pyxnat tests',
      description: 'pyxnat CI tests',
      aliases: ['pyxnat'],
      accessibility: 'private',
    },
    { id: 'pyxnat_tests2', accessibility: 'private' },
    { id: 'OASIS3' },
    { id: 'cs_schizbull08' },
    { id: 'ixi' },
    { id: 'ABIDE', accessibility: 'protected' },
  ],
  subjects: [
    { project: 'nosetests5', label: 'nose_S1' },
    { project: 'CENTRAL_OASIS_CS', label: 'OAS1_0440', id: 'OAS1_0440' },
    { project: 'CENTRAL_OASIS_CS', label: 'OAS1_0286', id: 'OAS1_0286' },
    { project: 'CENTRAL_OASIS_CS', label: 'OAS1_0001', id: 'OAS1_0001' },
    { project: 'CENTRAL_OASIS_CS', label: 'OAS1_0002', id: 'OAS1_0002' },
    { project: 'CENTRAL_OASIS_LONG', label: 'OAS2_0001' },
    { project: 'CENTRAL_OASIS_LONG', label: 'OAS2_0002', id: 'CENTRAL_S06242' },
    { project: 'surfmask_smpl2', label: '001', id: 'CENTRAL05_S01120' },
    { project: 'pyxnat_tests', label: '001', id: 'BBRCDEV_S02627' },
    { project: 'pyxnat_tests', label: '002', id: 'BBRCDEV_S02630' },
    { project: 'cs_schizbull08', label: 'xnat_S02636', id: 'xnat_S02636' },
    { project: 'cs_schizbull08', label: 'xnat_S02582', id: 'xnat_S02582' },
    { project: 'cs_schizbull08', label: 'xnat_S02583', id: 'xnat_S02583' },
    { project: 'ixi', label: 'IXI002', id: 'NITRC_IR_S00002' },
  ],
  experiments: [
    {
      project: 'CENTRAL_OASIS_CS',
      subject: 'OAS1_0440',
      label: 'OAS1_0440_MR1',
      // XNAT central imported OASIS with accession IDs equal to the labels.
      id: 'OAS1_0440_MR1',
      scanner: 'GE Signa',
      scans: mrScans(['mpr-1', 'mpr-2']),
    },
    {
      project: 'CENTRAL_OASIS_CS',
      subject: 'OAS1_0286',
      label: 'OAS1_0286_MR1',
      id: 'OAS1_0286_MR1',
      scans: mrScans(['mpr-1']),
      assessors: [{ label: 'OAS1_0286_MR1_FSEG', id: 'OAS1_0286_MR1_FSEG' }],
    },
    {
      project: 'CENTRAL_OASIS_LONG',
      subject: 'OAS2_0001',
      label: 'OAS2_0001_MR1',
      id: 'CENTRAL_E00090',
      scans: mrScans(['mpr-1', 'mpr-2']),
    },
    ...['MR1', 'MR2'].map((v, i) => ({
      project: 'CENTRAL_OASIS_LONG',
      subject: 'OAS2_0002',
      label: `OAS2_0002_${v}`,
      id: `CENTRAL_E0710${i}`,
      scans: mrScans(['mpr-1']),
    })),
    {
      project: 'CENTRAL_OASIS_LONG',
      subject: 'OAS2_0002',
      label: 'OAS2_0002_PET1',
      id: 'CENTRAL_E72012',
      xsiType: 'xnat:petSessionData',
      scans: Array.from({ length: 16 }, (_, i) => ({
        id: String(i + 1),
        type: i < 8 ? 'PET' : 'CT',
        xsiType: i < 8 ? 'xnat:petScanData' : 'xnat:ctScanData',
      })),
    },
    {
      project: 'surfmask_smpl2',
      subject: '001',
      label: '001_obscured',
      id: 'CENTRAL05_E02681',
      scans: mrScans(['T1', 'T2', 'FLAIR', 'DWI']).map((s, i) => ({ ...s, id: String(11 + i) })),
      resources: ['obscure_algorithm_output'],
    },
    {
      project: 'pyxnat_tests',
      subject: '001',
      label: '001_obscured',
      id: 'BBRCDEV_E03106',
      scans: mrScans(['T1', 'T2', 'FLAIR', 'DWI']).map((s, i) => ({ ...s, id: String(11 + i) })),
      resources: ['obscure_algorithm_output'],
    },
    {
      project: 'pyxnat_tests',
      subject: '002',
      label: '002_MR1',
      id: 'BBRCDEV_E03099',
      scans: mrScans(['T1']),
    },
    {
      project: 'cs_schizbull08',
      subject: 'xnat_S02636',
      label: 'xnat_E02685',
      id: 'xnat_E02685',
      scans: mrScans(['anat']),
    },
    {
      project: 'cs_schizbull08',
      subject: 'xnat_S02582',
      label: 'xnat_E02579',
      id: 'xnat_E02579',
      scans: mrScans(['anat']).map((scan) => ({ ...scan, voxelRes: ['0.9375', '0.9375', '1.5'] })),
      assessors: [{ label: 'xnat_E02580', id: 'xnat_E02580' }],
    },
    {
      project: 'ixi',
      subject: 'IXI002',
      label: 'IXI002_MR1',
      id: 'NITRC_IR_E10539',
      scans: mrScans(['T1', 'T2']),
    },
  ],
};

/** xnat4tests' `dummydicom` dataset: one project, subject and session with three MR scans. */
const XNAT4TESTS_SITE = {
  projects: [{ id: 'dummydicomproject' }],
  subjects: [{ project: 'dummydicomproject', label: 'dummydicomsubject' }],
  experiments: [
    {
      project: 'dummydicomproject',
      subject: 'dummydicomsubject',
      label: 'dummydicomsession',
      id: 'XNAT_E00001',
      scans: mrScans(['t1w', 'dwi', 'fmap']),
    },
  ],
};

export const seeders = {
  pyxnat: (url, user) => seedSite(url, user, PYXNAT_SITE),
  xnatpy: (url) => seedSite(url, { login: 'admin', password: 'admin' }, XNAT4TESTS_SITE),
};
