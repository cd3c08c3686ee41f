import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { demoBasic } from './fixture.js';

// The demo archive seeds two stored searches: xs1654093127431 (secure, alice and bob) and
// xs1687270561902 (not secure, carol).
const BRAIN = 'xs1654093127431';
const FEMALE = 'xs1687270561902';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startSandbox({ archive: createDemoArchive() });
});
afterAll(async () => {
  await sb.close();
});

function call(login: string, path: string, method = 'GET', body?: string): Promise<Response> {
  const headers: Record<string, string> = { Authorization: demoBasic(login) };
  if (body !== undefined) headers['Content-Type'] = 'text/xml';
  return fetch(`${sb.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
}

async function listed(login: string, query = ''): Promise<Array<Record<string, string>>> {
  const response = await call(login, `/data/search/saved?format=json${query}`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { ResultSet: { Result: Array<Record<string, string>> } };
  return body.ResultSet.Result;
}

const ids = (rows: Array<Record<string, string>>) => rows.map((r) => r.id);

/** A search as pyxnat's `manage.search.save(name, row, columns, constraints)` sends it. */
function pyxnatBundle(name: string, users: string[], id = '@xnat:subjectData'): string {
  return (
    `<xdat:bundle xmlns:xdat="http://nrg.wustl.edu/security" ID="${id}" brief-description="${name}" description="" allow-diff-columns="0" secure="false">` +
    '<xdat:root_element_name>xnat:subjectData</xdat:root_element_name>' +
    '<xdat:search_field><xdat:element_name>xnat:subjectData</xdat:element_name><xdat:field_ID>SUBJECT_LABEL</xdat:field_ID><xdat:sequence>0</xdat:sequence><xdat:type>string</xdat:type><xdat:header>xnat:subjectData/SUBJECT_LABEL</xdat:header></xdat:search_field>' +
    '<xdat:search_where method="AND"><xdat:criteria override_value_formatting="0"><xdat:schema_field>xnat:subjectData/PROJECT</xdat:schema_field><xdat:comparison_type>=</xdat:comparison_type><xdat:value>PEDS_DTI</xdat:value></xdat:criteria></xdat:search_where>' +
    users.map((u) => `<xdat:allowed_user><xdat:login>${u}</xdat:login></xdat:allowed_user>`).join('') +
    '</xdat:bundle>'
  );
}

describe('saved searches', () => {
  it('list the searches a user may use: public ones and those naming them; admins see all with all=true', async () => {
    const alice = await listed('alice');
    expect(ids(alice)).toEqual([BRAIN, FEMALE]);
    expect(alice[0]).toMatchObject({
      brief_description: 'BRAIN_MR 3T sessions',
      root_element_name: 'xnat:mrSessionData',
      secure: '1',
      users: '{alice,bob}',
      sort_by_field_id: 'DATE',
    });
    expect(ids(await listed('dave'))).toEqual([FEMALE]);
    expect(ids(await listed('admin'))).toEqual([FEMALE]);
    expect(ids(await listed('admin', '&all=true'))).toEqual([BRAIN, FEMALE]);
    expect(ids(await listed('admin', '&user=bob'))).toEqual([BRAIN, FEMALE]);
    expect(ids(await listed('alice', '&includeTag=true'))).toEqual([]);
    expect((await call('alice', '/data/search/saved?format=json&includeTag=NOPE')).status).toBe(400);
  });

  it('return the stored document to allowed users only, and 404 for unknown IDs', async () => {
    const response = await call('alice', `/data/search/saved/${BRAIN}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/xml/);
    const xml = await response.text();
    expect(xml).toContain(`<xdat:stored_search ID="${BRAIN}"`);
    expect(xml).toContain('<xdat:root_element_name>xnat:mrSessionData</xdat:root_element_name>');
    expect(xml).toContain('<xdat:login>bob</xdat:login>');
    expect((await call('dave', `/data/search/saved/${BRAIN}`)).status).toBe(403);
    expect((await call('dave', `/data/search/saved/${FEMALE}`)).status).toBe(200);
    expect((await call('alice', '/data/search/saved/xs404')).status).toBe(404);
  });

  it('run the stored search like POST /data/search runs its document', async () => {
    const xml = await (await call('alice', `/data/search/saved/${BRAIN}`)).text();
    const results = await call('alice', `/data/search/saved/${BRAIN}/results?format=csv`);
    expect(results.status).toBe(200);
    const csv = await results.text();
    expect(csv.split('\n')[0]).toBe(
      'label,xnat_subjectdata_subject_label,date,scanner,mr_scan_count_agg,quarantine_status',
    );
    expect(csv.split('\n').length).toBeGreaterThan(3);
    // Ordered by the search's xdat:sort_by (DATE).
    const dates = csv
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',')[2]);
    expect(dates).toEqual([...dates].sort());
    const posted = await (await call('alice', '/data/search?format=csv', 'POST', xml)).text();
    expect(csv).toBe(posted);
    const json = (await (await call('alice', `/data/search/saved/${BRAIN}/results?format=json`)).json()) as {
      ResultSet: { totalRecords: string; Columns: unknown[] };
    };
    expect(Number(json.ResultSet.totalRecords)).toBe(csv.trimEnd().split('\n').length - 1);
    expect(json.ResultSet.Columns).toHaveLength(6);
    expect((await call('dave', `/data/search/saved/${BRAIN}/results?format=csv`)).status).toBe(403);
  });

  it("answer @<type> with the type's default listing, as a document and run", async () => {
    const response = await call('alice', '/data/search/saved/@xnat:mrSessionData');
    expect(response.status).toBe(200);
    const xml = await response.text();
    expect(xml).toContain('<xdat:stored_search ID="@xnat:mrSessionData"');
    const csv = await (
      await call('alice', '/data/search/saved/@xnat:mrSessionData/results?format=csv')
    ).text();
    expect(csv.split('\n')[0]).toBe(
      'label,project,date,xnat_subjectdata_subject_label,xnat_subjectdata_gender_text,age,type,scanner,mr_scan_count_agg,quarantine_status',
    );
    expect(csv).toBe(await (await call('alice', '/data/search?format=csv', 'POST', xml)).text());
    expect((await call('alice', '/data/search/saved/@xnat:petmrSessionData')).status).toBe(404);
  });

  it('store a search under the URL ID with its author allowed, and refuse replacing one the user is not on', async () => {
    const put = await call(
      'dave',
      '/data/search/saved/peds_subjects?inbody=true',
      'PUT',
      pyxnatBundle('peds', ['dave']),
    );
    expect(put.status).toBe(200);
    expect(await listed('dave')).toContainEqual(
      expect.objectContaining({
        id: 'peds_subjects',
        brief_description: 'peds',
        secure: '0',
        users: '{dave}',
      }),
    );
    const stored = await (await call('dave', '/data/search/saved/peds_subjects')).text();
    expect(stored).toContain('<xdat:value>PEDS_DTI</xdat:value>');

    const replace = pyxnatBundle('mine now', [], BRAIN);
    expect((await call('dave', `/data/search/saved/${BRAIN}`, 'PUT', replace)).status).toBe(403);
    expect((await call('dave', '/data/search/saved/x', 'PUT', '<not-a-search/>')).status).toBe(422);
  });

  it('delete: an allowed user leaves the search, the last one removes it, others get 403, admins remove any', async () => {
    expect((await call('bob', `/data/search/saved/${BRAIN}`, 'DELETE')).status).toBe(200);
    expect((await call('bob', `/data/search/saved/${BRAIN}`)).status).toBe(403);
    expect(ids(await listed('alice'))).toContain(BRAIN);
    expect((await call('dave', `/data/search/saved/${BRAIN}`, 'DELETE')).status).toBe(403);
    expect((await call('admin', `/data/search/saved/${BRAIN}`, 'DELETE')).status).toBe(200);
    expect((await call('alice', `/data/search/saved/${BRAIN}`)).status).toBe(404);
    expect((await call('dave', '/data/search/saved/peds_subjects', 'DELETE')).status).toBe(200);
    expect(ids(await listed('dave'))).toEqual([FEMALE]);
  });
});
