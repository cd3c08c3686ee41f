import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { UNICODE_SUBJECT, getAs, resultRows, startFixtureSandbox } from './fixture.js';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startFixtureSandbox();
});
afterAll(async () => {
  await sb.close();
});

async function json(login: string, path: string): Promise<{ ResultSet: Record<string, unknown> }> {
  const response = await getAs(sb, login, path);
  expect(response.status).toBe(200);
  return (await response.json()) as { ResultSet: Record<string, unknown> };
}

async function rows(login: string, path: string): Promise<Array<Record<string, string>>> {
  const response = await getAs(sb, login, path);
  expect(response.status).toBe(200);
  return resultRows(response);
}

function expectAllStrings(list: Array<Record<string, unknown>>): void {
  for (const row of list) for (const value of Object.values(row)) expect(typeof value).toBe('string');
}

describe('project listing', () => {
  it('lists public and protected projects to everyone, private ones to members only', async () => {
    const eve = await rows('eve', '/data/projects?format=json');
    expect(eve.map((r) => r.ID).sort()).toEqual(['EVEPRIV', 'OPEN', 'PROT']);
    const admin = await rows('admin', '/data/archive/projects');
    expect(admin).toHaveLength(4);
  });

  it('has the default columns, string cells, a string totalRecords and ID-based URIs', async () => {
    const body = await json('alice', '/REST/projects?format=json');
    expect(body.ResultSet.totalRecords).toBe('3');
    const list = body.ResultSet.Result as Array<Record<string, string>>;
    expectAllStrings(list);
    expect(Object.keys(list[0] ?? {}).sort()).toEqual(
      ['ID', 'URI', 'description', 'name', 'pi_firstname', 'pi_lastname', 'secondary_ID'].sort(),
    );
    expect(list.find((r) => r.ID === 'PROT')).toMatchObject({
      URI: '/data/projects/PROT',
      secondary_ID: 'PROT_sec',
    });
  });
});

describe('subject listings', () => {
  it('have XNAT default keys and site-level URIs', async () => {
    const list = await rows('alice', '/data/projects/PROT/subjects?format=json');
    expectAllStrings(list);
    expect(Object.keys(list[0] ?? {}).sort()).toEqual([
      'ID',
      'URI',
      'insert_date',
      'insert_user',
      'label',
      'project',
    ]);
    expect(list.find((r) => r.label === UNICODE_SUBJECT)).toMatchObject({
      ID: 'XNAT_S00002',
      project: 'PROT',
      insert_date: '2018-01-05 09:10:11.123',
      URI: '/data/subjects/XNAT_S00002',
    });
  });

  it('substitute the shared label but keep the owning project', async () => {
    const list = await rows('eve', '/data/projects/OPEN/subjects?format=json');
    expect(list.find((r) => r.ID === 'XNAT_S00001')).toMatchObject({ label: 'SHARED_S1', project: 'PROT' });
    expect(list.map((r) => r.ID).sort()).toEqual(['XNAT_S00001', 'XNAT_S00003']);
  });

  it('omit totalRecords when paging and page with a default limit of 100', async () => {
    const paged = await json('admin', '/data/subjects?format=json&offset=1');
    expect(paged.ResultSet.totalRecords).toBeUndefined();
    expect(paged.ResultSet.Result).toHaveLength(3);
    const limited = await json('admin', '/data/subjects?format=json&limit=2&offset=1');
    expect((limited.ResultSet.Result as Array<Record<string, string>>).map((r) => r.ID)).toEqual([
      'XNAT_S00002',
      'XNAT_S00003',
    ]);
    const all = await json('admin', '/data/subjects?format=json&limit=*');
    expect(all.ResultSet.Result).toHaveLength(4);
    expect((await json('admin', '/data/subjects?format=json')).ResultSet.totalRecords).toBe('4');
  });

  it('with columns=ID still add the URI, and drop unknown names', async () => {
    const list = await rows('admin', '/data/subjects?format=json&columns=ID,bogus');
    expect(Object.keys(list[0] ?? {}).sort()).toEqual(['ID', 'URI']);
    const demographics = await rows('admin', '/data/subjects?format=json&columns=ID,gender,yob,label');
    expect(demographics[0]).toMatchObject({ gender: 'female', yob: '1970' });
  });

  it('list one row per custom variable for fields/field/field and /name columns', async () => {
    const prefix = 'xnat:subjectData/fields/field';
    const list = await rows(
      'alice',
      `/data/projects/PROT/subjects?format=json&columns=ID,${prefix}/name,${prefix}/field`,
    );
    expect(
      list.map((r) => [
        r.ID,
        r['xnat:subjectdata/fields/field/name'],
        r['xnat:subjectdata/fields/field/field'],
      ]),
    ).toEqual([
      ['XNAT_S00001', 'site', 'north'],
      ['XNAT_S00001', 'cohort', 'A'],
      ['XNAT_S00002', '', ''],
    ]);
    const filtered = await rows(
      'alice',
      `/data/subjects?format=json&${prefix}/name=cohort&columns=ID,${prefix}/field`,
    );
    expect(filtered).toEqual([
      expect.objectContaining({ ID: 'XNAT_S00001', 'xnat:subjectdata/fields/field/field': 'A' }),
    ]);
  });

  it('only show readable subjects site-wide', async () => {
    const eve = await rows('eve', '/data/subjects?format=json');
    expect(eve.map((r) => r.ID).sort()).toEqual(['XNAT_S00001', 'XNAT_S00003']);
  });
});

describe('experiment listings', () => {
  it('duplicate the ID under xnat:subjectassessordata/id on project listings', async () => {
    const list = await rows('alice', '/data/projects/PROT/experiments?format=json');
    expectAllStrings(list);
    expect(list.map((r) => r.label).sort()).toEqual(['MR Ü 2', 'S1 PET 1', 'S1_MR1']);
    expect(list.find((r) => r.ID === 'XNAT_E00001')).toEqual({
      ID: 'XNAT_E00001',
      project: 'PROT',
      date: '2018-07-07',
      xsiType: 'xnat:mrSessionData',
      label: 'S1_MR1',
      insert_date: '2018-07-07 12:00:00.000',
      'xnat:subjectassessordata/id': 'XNAT_E00001',
      URI: '/data/experiments/XNAT_E00001',
    });
  });

  it('show shared experiments under the sharing project and label', async () => {
    const list = await rows('eve', '/data/projects/OPEN/subjects/XNAT_S00001/experiments?format=json');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ ID: 'XNAT_E00001', label: 'SHARED_MR', project: 'OPEN' });
    const byLabel = await rows('eve', '/data/projects/OPEN/subjects/SHARED_S1/experiments?format=json');
    expect(byLabel.map((r) => r.ID)).toEqual(['XNAT_E00001']);
  });

  it('add subject columns for a subject-assessor root and the security columns for columns=ID', async () => {
    const mr = await rows('alice', '/data/experiments?format=json&xsiType=xnat:mrSessionData');
    expect(mr.map((r) => r.ID).sort()).toEqual(['XNAT_E00001', 'XNAT_E00003', 'XNAT_E00005', 'XNAT_E00006']);
    expect(mr.find((r) => r.ID === 'XNAT_E00001')).toMatchObject({
      subject_ID: 'XNAT_S00001',
      subject_label: 'S1',
      'xnat:mrsessiondata/id': 'XNAT_E00001',
    });
    const minimal = await rows('alice', '/data/experiments?format=json&columns=ID');
    expect(Object.keys(minimal[0] ?? {}).sort()).toEqual(['ID', 'URI', 'project', 'xsiType']);
    const qc = await rows('alice', '/data/experiments?format=json&xsiType=xnat:qcManualAssessorData');
    expect(qc).toEqual([
      expect.objectContaining({ ID: 'XNAT_E00004', session_ID: 'XNAT_E00001', session_label: 'S1_MR1' }),
    ]);
  });

  it('filter dates as MM/DD/YYYY ranges split on the first dash', async () => {
    const ids = async (query: string) =>
      (await rows('alice', `/data/experiments?format=json&${query}`)).map((r) => r.ID).sort();
    expect(await ids('date=07/01/2018-07/08/2018')).toEqual(['XNAT_E00001']);
    expect(await ids('date=07/01/2018-07/14/2018')).toEqual(['XNAT_E00001', 'XNAT_E00004']);
    expect(await ids('date=07/20/2018')).toEqual(['XNAT_E00002']);
    expect(await ids('date=07/01/2018-12/31/2019')).toEqual([
      'XNAT_E00001',
      'XNAT_E00002',
      'XNAT_E00003',
      'XNAT_E00004',
    ]);
    // An ISO date contains '-' and is misread as a range, as XNAT misreads it.
    expect(await ids('date=2018-07-07')).toEqual([]);
  });

  it('filter with LIKE wildcards, comma ORs, project= and xpaths', async () => {
    const ids = async (query: string) =>
      (await rows('alice', `/data/experiments?format=json&${query}`)).map((r) => r.ID).sort();
    expect(await ids('label=S1*')).toEqual(['XNAT_E00001', 'XNAT_E00002', 'XNAT_E00004']);
    expect(await ids('label=S1%25MR%25')).toEqual(['XNAT_E00001', 'XNAT_E00004']);
    expect(await ids('label=O1_MR1,P1_MR1')).toEqual(['XNAT_E00005', 'XNAT_E00006']);
    expect(await ids('project=OPEN')).toEqual(['XNAT_E00005']);
    expect(await ids('xnat:mrSessionData/fieldStrength=3.0')).toEqual(['XNAT_E00001']);
    const projectScoped = await rows(
      'alice',
      '/data/projects/PROT/experiments?format=json&xsiType=xnat:petSessionData',
    );
    expect(projectScoped.map((r) => r.ID)).toEqual(['XNAT_E00002']);
    expect(projectScoped[0]?.['xnat:petsessiondata/id']).toBe('XNAT_E00002');
  });

  it('key xpath columns by the lower-cased xpath and narrow the root to that type', async () => {
    const list = await rows(
      'alice',
      '/data/projects/PROT/subjects/S1/experiments?format=json&columns=ID,xnat:mrSessionData/date,xsiType',
    );
    expect(list).toEqual([
      expect.objectContaining({ ID: 'XNAT_E00001', 'xnat:mrsessiondata/date': '2018-07-07' }),
    ]);
    const custom = await rows(
      'alice',
      '/data/projects/PROT/experiments?format=json&columns=ID,xnat:mrSessionData/fields/field[name=visit_type]/field',
    );
    expect(custom[0]?.['xnat:mrsessiondata/fields/field[name=visit_type]/field']).toBe('baseline');
  });

  it('re-sort returned rows with sortBy and sortOrder', async () => {
    const list = await rows('alice', '/data/experiments?format=json&sortBy=date&sortOrder=DESC');
    const dates = list.map((r) => r.date);
    expect(dates).toEqual([...dates].sort().reverse());
    expect(dates[0]).toBe('2021-03-03');
  });
});

describe('permissions on listings', () => {
  it('let collaborators read protected projects', async () => {
    expect(await rows('bob', '/data/projects/PROT/subjects?format=json')).toHaveLength(2);
  });

  it('answer 403 for a visible but unreadable project and 404 for an invisible one', async () => {
    const protectedList = await getAs(sb, 'eve', '/data/projects/PROT/subjects?format=json');
    expect(protectedList.status).toBe(403);
    expect(await protectedList.text()).toContain('<h3>Unable to read subjects for Project: PROT</h3>');
    expect((await getAs(sb, 'eve', '/data/projects/PROT/experiments')).status).toBe(403);
    expect((await getAs(sb, 'eve', '/data/projects/PRIV/subjects?format=json')).status).toBe(404);
    expect((await getAs(sb, 'eve', '/data/projects/NOPE/subjects?format=json')).status).toBe(404);
  });
});

describe('other listings and formats', () => {
  it('list scans with XNAT columns and session-ID URIs, by label path too', async () => {
    const list = await rows('alice', '/data/projects/PROT/subjects/S1/experiments/S1_MR1/scans?format=json');
    expectAllStrings(list);
    expect(list[0]).toEqual({
      xnat_imagescandata_id: '500',
      ID: '1',
      type: 'T1w',
      quality: 'usable',
      xsiType: 'xnat:mrScanData',
      note: '',
      series_description: 'T1w series',
      URI: '/data/experiments/XNAT_E00001/scans/1',
    });
    const frames = await rows('alice', '/data/experiments/XNAT_E00001/scans?columns=ID,type,frames,quality');
    expect(frames[1]).toMatchObject({ ID: '2', frames: '176' });
  });

  it('list assessors and the projects an experiment belongs to', async () => {
    const assessors = await rows('alice', '/data/experiments/XNAT_E00001/assessors?format=json');
    expect(assessors).toEqual([
      expect.objectContaining({
        ID: 'XNAT_E00004',
        label: 'S1_MR1_QC',
        xsiType: 'xnat:qcManualAssessorData',
        session_ID: 'XNAT_E00001',
        URI: '/data/experiments/XNAT_E00004',
      }),
    ]);
    const projects = await rows('alice', '/data/experiments/XNAT_E00001/projects?format=json');
    expect(projects).toEqual([
      { label: 'S1_MR1', ID: 'PROT', Secondary_ID: 'PROT_sec', Name: 'PROT name' },
      { label: 'SHARED_MR', ID: 'OPEN', Secondary_ID: 'OPEN_sec', Name: 'OPEN name' },
    ]);
  });

  it('render CSV with a header row and quoting only where needed', async () => {
    const response = await getAs(
      sb,
      'alice',
      '/data/experiments/XNAT_E00001/scans?format=csv&columns=ID,type',
    );
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(await response.text()).toBe(
      'xnat_imagescandata_id,ID,type,URI\n' +
        '500,1,T1w,/data/experiments/XNAT_E00001/scans/1\n' +
        '501,2,BOLD,/data/experiments/XNAT_E00001/scans/2\n',
    );
    const quoted = await (
      await getAs(sb, 'alice', '/data/projects?format=csv&columns=ID,description&ID=PROT')
    ).text();
    expect(quoted).toBe('ID,description,URI\nPROT,"Protected, ""members only""",/data/projects/PROT\n');
  });

  it('render the XML ResultSet', async () => {
    const response = await getAs(sb, 'alice', '/data/projects?format=xml&columns=ID');
    expect(response.headers.get('content-type')).toMatch(/^text\/xml/);
    const xml = await response.text();
    expect(xml).toContain('<ResultSet');
    expect(xml).toContain('totalRecords="3"');
    expect(xml).toContain('<columns><column>ID</column><column>URI</column></columns>');
    expect(xml).toContain('<row><cell>OPEN</cell><cell>/data/projects/OPEN</cell></row>');
  });

  it('render format=txt, xList and unknown formats as the HTML table, as representTable does; media type names as their format', async () => {
    const html = await (await getAs(sb, 'alice', '/data/projects?format=html&columns=ID')).text();
    expect(html).toContain('<td>OPEN</td>');
    for (const format of ['txt', 'TXT', 'xList', 'text/plain']) {
      const response = await getAs(
        sb,
        'alice',
        `/data/projects?format=${encodeURIComponent(format)}&columns=ID`,
      );
      expect(response.status, format).toBe(200);
      expect(response.headers.get('content-type'), format).toMatch(/^text\/html/);
      expect(await response.text(), format).toBe(html);
    }
    const json = await getAs(sb, 'alice', '/data/projects?format=application%2Fjson&columns=ID');
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    const ids = ((await json.json()) as { ResultSet: { Result: Array<{ ID: string }> } }).ResultSet.Result;
    expect(ids.map((r) => r.ID)).toContain('OPEN');
    const csv = await getAs(sb, 'alice', '/data/projects?format=text%2Fcsv&columns=ID');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const empty = await getAs(sb, 'alice', '/data/projects?format=&columns=ID');
    expect(empty.headers.get('content-type')).toMatch(/^application\/json/);
  });
});
