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

const BUNDLE =
  '<xdat:bundle xmlns:xdat="http://nrg.wustl.edu/security"><xdat:root_element_name>xnat:mrSessionData</xdat:root_element_name>' +
  '<xdat:search_field><xdat:element_name>xnat:mrSessionData</xdat:element_name><xdat:field_ID>LABEL</xdat:field_ID>' +
  '<xdat:sequence>0</xdat:sequence><xdat:type>string</xdat:type><xdat:header>label</xdat:header></xdat:search_field>' +
  '</xdat:bundle>';

function post(
  path: string,
  body: string | FormData,
  login = 'alice',
  contentType?: string,
): Promise<Response> {
  const headers: Record<string, string> = { Authorization: basic(login) };
  if (contentType) headers['Content-Type'] = contentType;
  return fetch(`${sb.url}${path}`, { method: 'POST', body, headers });
}

interface SearchBody {
  ResultSet: {
    Result: Array<Record<string, string>>;
    totalRecords: string;
    ID?: string;
    rootElementName: string;
  };
}

describe('search routes', () => {
  it('accept the bundle as a multipart .xml part', async () => {
    const form = new FormData();
    form.append('search', new Blob([BUNDLE], { type: 'text/xml' }), 'search.xml');
    const response = await post('/data/search?format=json', form);
    expect(response.status).toBe(200);
    const body = (await response.json()) as SearchBody;
    expect(body.ResultSet.rootElementName).toBe('xnat:mrSessionData');
    expect(body.ResultSet.Result.map((r) => r.label).sort()).toEqual([
      'MR Ü 2',
      'O1_MR1',
      'P1_MR1',
      'S1_MR1',
    ]);
  });

  it('keep cached results per user, page them and validate paging parameters', async () => {
    const cached = (await (
      await post('/data/search?format=json&cache=true&sortBy=label', BUNDLE)
    ).json()) as SearchBody;
    const id = cached.ResultSet.ID ?? '';
    expect(id).not.toBe('');
    expect(cached.ResultSet.totalRecords).toBe('4');

    const page = (await (
      await getAs(sb, 'alice', `/data/search/${id}?format=json&offset=1&limit=2&sortBy=label`)
    ).json()) as SearchBody;
    expect(page.ResultSet.Result.map((r) => r.label)).toEqual(['O1_MR1', 'P1_MR1']);
    expect(page.ResultSet.totalRecords).toBe('4');

    const csv = await (
      await getAs(sb, 'alice', `/data/search/${id}?format=csv&limit=1&sortBy=label&sortOrder=DESC`)
    ).text();
    expect(csv).toBe('label,quarantine_status\nS1_MR1,active\n');

    expect((await getAs(sb, 'alice', `/data/search/${id}?offset=abc`)).status).toBe(422);
    expect((await getAs(sb, 'alice', `/data/search/${id}?sortBy=label;drop`)).status).toBe(422);
    expect((await getAs(sb, 'bob', `/data/search/${id}?format=json`)).status).toBe(410);
    expect((await getAs(sb, 'alice', '/data/search/xs0_404?format=json')).status).toBe(410);
  });

  it('refuse GET on /data/search and empty bodies', async () => {
    expect((await getAs(sb, 'alice', '/data/search')).status).toBe(405);
    expect((await post('/data/search?format=json', '')).status).toBe(422);
  });
});
