import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { basic, getAs, startFixtureSandbox } from './fixture.js';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startFixtureSandbox();
});
afterAll(async () => {
  await sb.close();
});

/** A bundle as pyxnat's `select(type, columns).where(...)` builds it. */
function bundle(root: string, columns: string[], criteria: Array<[string, string, string]>): string {
  const fields = columns
    .map((c, i) => {
      const slash = c.indexOf('/');
      return `<xdat:search_field><xdat:element_name>${c.slice(0, slash)}</xdat:element_name><xdat:field_ID>${c.slice(slash + 1)}</xdat:field_ID><xdat:sequence>${i}</xdat:sequence><xdat:type>string</xdat:type><xdat:header>${c}</xdat:header></xdat:search_field>`;
    })
    .join('');
  const where = criteria
    .map(
      ([field, op, value]) =>
        `<xdat:criteria override_value_formatting="0"><xdat:schema_field>${field}</xdat:schema_field><xdat:comparison_type>${op}</xdat:comparison_type><xdat:value>${value}</xdat:value></xdat:criteria>`,
    )
    .join('');
  return (
    `<xdat:bundle xmlns:xdat="http://nrg.wustl.edu/security" ID="@${root}" allow-diff-columns="0" secure="false" brief-description="${root}">` +
    `<xdat:root_element_name>${root}</xdat:root_element_name>${fields}<xdat:search_where method="AND">${where}</xdat:search_where></xdat:bundle>`
  );
}

interface Body {
  ResultSet: { Result: Array<Record<string, string>>; Columns: Array<Record<string, string>> };
}

async function search(xml: string, login = 'alice'): Promise<Body> {
  const response = await fetch(`${sb.url}/data/search?format=json`, {
    method: 'POST',
    body: xml,
    headers: { Authorization: basic(login), 'Content-Type': 'text/xml' },
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Body;
}

async function listedFields(type: string): Promise<string[]> {
  const response = await getAs(sb, 'alice', `/data/search/elements/${type}?format=json`);
  const body = (await response.json()) as Body;
  return body.ResultSet.Result.map((r) => r.FIELD_ID ?? '').filter((id) => !id.includes('='));
}

describe('search display fields', () => {
  it('accept every listed field, sub-query fields without a value as empty columns (pyxnat select(type).all())', async () => {
    for (const type of ['xnat:mrSessionData', 'xnat:subjectData', 'xnat:projectData']) {
      const ids = await listedFields(type);
      expect(ids.length).toBeGreaterThan(5);
      const body = await search(
        bundle(
          type,
          ids.map((id) => `${type}/${id}`),
          [[`${type}/ID`, 'LIKE', '%']],
        ),
      );
      expect(body.ResultSet.Result.length).toBeGreaterThan(0);
    }
    const mr = await search(
      bundle(
        'xnat:mrSessionData',
        ['xnat:mrSessionData/LABEL', 'xnat:mrSessionData/MR_PROJECT_IDENTIFIER'],
        [['xnat:mrSessionData/PROJECT', '=', 'PROT']],
      ),
    );
    expect(mr.ResultSet.Result.map((r) => [r.label, r.mr_project_identifier])).toEqual([
      ['S1_MR1', ''],
      ['MR Ü 2', ''],
    ]);
    expect(mr.ResultSet.Columns[1]).toMatchObject({
      key: 'mr_project_identifier',
      id: 'MR_PROJECT_IDENTIFIER',
    });
  });

  it('know SUBJECT_ID on xnat:subjectData, as a column and a criteria', async () => {
    const body = await search(
      bundle(
        'xnat:subjectData',
        ['xnat:subjectData/SUBJECT_ID', 'xnat:subjectData/SUBJECT_LABEL'],
        [['xnat:subjectData.SUBJECT_ID', '=', 'XNAT_S00001']],
      ),
    );
    expect(body.ResultSet.Result).toEqual([
      { subject_id: 'XNAT_S00001', subject_label: 'S1', quarantine_status: 'active' },
    ]);
  });

  it("give xnat:projectData's display fields their values (counts, users, PI, headers)", async () => {
    const fields = [
      'ID',
      'SECONDARY_ID',
      'PI',
      'PROJECT_INVS',
      'PROJ_MR_COUNT',
      'PROJ_PET_COUNT',
      'PROJECT_OWNERS',
      'PROJECT_COLLABS',
      'PROJECT_USERS',
      'PROJ_QUARANTINE',
    ];
    const body = await search(
      bundle(
        'xnat:projectData',
        fields.map((f) => `xnat:projectData/${f}`),
        [['xnat:projectData/ID', 'LIKE', '%']],
      ),
    );
    const prot = body.ResultSet.Result.find((r) => r.id === 'PROT');
    expect(prot).toEqual({
      id: 'PROT',
      secondary_id: 'PROT_sec',
      pi: 'Pat Investigator',
      project_invs: 'Investigator, Pat',
      proj_mr_count: '2',
      proj_pet_count: '1',
      project_owners: ' alice ',
      project_collabs: ' bob ',
      project_users: ' alice <br/> bob ',
      proj_quarantine: '0',
      quarantine_status: 'active',
    });
    // OPEN owns one MR session and has one shared into it; XNAT's count view has no row without sessions.
    const open = body.ResultSet.Result.find((r) => r.id === 'OPEN');
    expect([open?.proj_mr_count, open?.proj_pet_count]).toEqual(['2', '']);
    const listing = (await (
      await getAs(sb, 'alice', '/data/search/elements/xnat:projectData?format=json')
    ).json()) as Body;
    const header = (id: string) => listing.ResultSet.Result.find((r) => r.FIELD_ID === id)?.HEADER;
    expect([header('SECONDARY_ID'), header('NAME'), header('PROJ_MR_COUNT')]).toEqual([
      'Running Title',
      'Title',
      'MR Count',
    ]);
  });

  it('give MR and subject fields the values of their display documents', async () => {
    const mr = await search(
      bundle(
        'xnat:mrSessionData',
        [
          'xnat:mrSessionData/SESSION_ID',
          'xnat:mrSessionData/MR_SCAN_COUNT_AGG',
          'xnat:mrSessionData/SCAN_COUNT_TYPE=bold',
          'xnat:mrSessionData/SCAN_COUNT_L_DESC=series',
          'xnat:mrSessionData/GEN_AGE',
        ],
        [['xnat:mrSessionData/ID', '=', 'XNAT_E00001']],
      ),
    );
    expect(mr.ResultSet.Result).toEqual([
      {
        session_id: 'XNAT_E00001',
        mr_scan_count_agg: 'BOLD(1), T1w(1)',
        scan_count_type_bold: '1',
        scan_count_l_desc_series: '2',
        gen_age: '48',
        quarantine_status: 'active',
      },
    ]);
    const subjects = await search(
      bundle(
        'xnat:subjectData',
        [
          'xnat:subjectData/SUBJECT_ID',
          'xnat:subjectData/ADD_IDS',
          'xnat:subjectData/GENDER_TEXT',
          'xnat:subjectData/HANDEDNESS_TEXT',
        ],
        [['xnat:subjectData/ID', 'LIKE', 'XNAT_S0000%']],
      ),
    );
    expect(subjects.ResultSet.Result.find((r) => r.subject_id === 'XNAT_S00001')).toMatchObject({
      add_ids: 'S1, SHARED_S1',
      gender_text: 'F',
      handedness_text: 'R',
    });
    expect(subjects.ResultSet.Result.find((r) => r.subject_id === 'XNAT_S00002')?.add_ids).toBe('');
  });
});
