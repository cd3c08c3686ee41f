/**
 * Reconstructions (§4.2, ReconResource/ReconList): `PUT`/`GET`/`DELETE .../reconstructions/{id}`,
 * the session's listing and its documents, against the demo archive (alice owns BRAIN_MR, bob is a
 * member, carol a collaborator).
 */
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { demoBasic } from './fixture.js';

let sb: RunningSandbox;
let session: string;
let base: string;
beforeAll(async () => {
  sb = await startSandbox({ archive: createDemoArchive() });
  const answer = await call(
    'PUT',
    'alice',
    '/data/projects/BRAIN_MR/subjects/R_SUBJ/experiments/R_MR?xsiType=xnat:mrSessionData',
  );
  session = answer.text;
  base = `/data/experiments/${session}/reconstructions`;
});
afterAll(async () => {
  await sb.close();
});

async function call(method: string, login: string, path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${sb.url}${path}`, { method, headers: { Authorization: demoBasic(login) } });
  return { status: response.status, text: await response.text() };
}

async function listing(): Promise<Array<Record<string, string>>> {
  const answer = await call('GET', 'alice', `${base}?format=json`);
  expect(answer.status, answer.text).toBe(200);
  return (JSON.parse(answer.text) as { ResultSet: { Result: Array<Record<string, string>> } }).ResultSet
    .Result;
}

describe('reconstructions', () => {
  it('creates and updates with 200 and an empty body, listed with their type and base scan type', async () => {
    const created = await call(
      'PUT',
      'alice',
      `${base}/R1?xsiType=xnat:reconstructedImageData&type=T1_AVG&baseScanType=MPRAGE` +
        `&${encodeURIComponent('xnat:reconstructedImageData/parameters/addParam[name=kernel]/addField')}=gauss`,
    );
    expect(created).toEqual({ status: 200, text: '' });
    expect(await listing()).toEqual([
      {
        xnat_reconstructedimagedata_id: expect.stringMatching(/^\d+$/) as string,
        ID: 'R1',
        type: 'T1_AVG',
        baseScanType: 'MPRAGE',
        URI: `/data/experiments/${session}/reconstructions/R1`,
      },
    ]);
    const updated = await call('PUT', 'alice', `${base}/R1?type=T1_MEAN`);
    expect(updated).toEqual({ status: 200, text: '' });
    expect((await listing()).map((r) => [r.ID, r.type, r.baseScanType])).toEqual([
      ['R1', 'T1_MEAN', 'MPRAGE'],
    ]);
  });

  it('serves the reconstruction as an item (JSON and XML), found by its ID', async () => {
    const json = await call('GET', 'alice', `${base}/R1?format=json`);
    expect(json.status, json.text).toBe(200);
    const node = (JSON.parse(json.text) as { items: Array<Record<string, Record<string, unknown>>> })
      .items[0];
    expect(node?.meta?.['xsi:type']).toBe('xnat:reconstructedImageData');
    expect(node?.data_fields).toMatchObject({
      ID: 'R1',
      type: 'T1_MEAN',
      baseScanType: 'MPRAGE',
      image_session_ID: session,
    });
    const xml = await call('GET', 'alice', `${base}/R1?format=xml`);
    expect(XMLValidator.validate(xml.text)).toBe(true);
    expect(xml.text).toMatch(/<xnat:ReconstructedImage ID="R1" type="T1_MEAN" baseScanType="MPRAGE"/);
    expect(xml.text).toContain(`<xnat:image_session_ID>${session}</xnat:image_session_ID>`);
    expect(xml.text).toMatch(
      /<xnat:addParam name="kernel">\n\t+<!--hidden_fields\[[^\]]+\]-->gauss<\/xnat:addParam>/,
    );
    const sessionXml = await call('GET', 'alice', `/data/experiments/${session}?format=xml`);
    expect(sessionXml.text).toMatch(
      /<xnat:reconstructions>\s*<xnat:reconstructedImage ID="R1" type="T1_MEAN" baseScanType="MPRAGE">/,
    );
    expect((await call('GET', 'alice', `${base}/NOPE?format=json`)).status).toBe(404);
  });

  it('refuses other document types (422), writes by collaborators (403) and deletes by members (403)', async () => {
    const scan = await call('PUT', 'alice', `${base}/R2?xsiType=xnat:mrScanData`);
    expect(scan.status).toBe(422);
    expect(scan.text).toContain('Only reconstruction documents can be PUT to this address.');
    expect((await call('PUT', 'carol', `${base}/R2?type=X`)).status).toBe(403);
    expect((await call('PUT', 'bob', `${base}/R2?type=X`)).status).toBe(200);
    expect((await call('DELETE', 'bob', `${base}/R2`)).status).toBe(403);
  });

  it('deletes with 200, then answers 404', async () => {
    expect(await call('DELETE', 'alice', `${base}/R2`)).toEqual({ status: 200, text: '' });
    expect((await listing()).map((r) => r.ID)).toEqual(['R1']);
    expect((await call('DELETE', 'alice', `${base}/R2`)).status).toBe(404);
    expect((await call('GET', 'alice', `${base}/R2?format=json`)).status).toBe(404);
  });

  it('keeps a provenance document and lists one row per process step on provenance columns', async () => {
    const document =
      '<xnat:ReconstructedImage xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:prov="http://www.nbirn.net/prov" ID="RP">' +
      '<xnat:provenance><prov:processStep><prov:program version="2.1">young</prov:program>' +
      '<prov:timestamp>2011-03-01T12:01:01</prov:timestamp><prov:user>angus</prov:user>' +
      '<prov:machine>war</prov:machine><prov:platform version="6.1">linux</prov:platform></prov:processStep>' +
      '<prov:processStep><prov:program>fsl</prov:program><prov:timestamp>2011-03-02T00:00:00</prov:timestamp>' +
      '<prov:user>angus</prov:user><prov:machine>war</prov:machine><prov:platform>linux</prov:platform>' +
      '</prov:processStep></xnat:provenance></xnat:ReconstructedImage>';
    const put = await fetch(`${sb.url}${base}/RP`, {
      method: 'PUT',
      headers: { Authorization: demoBasic('alice'), 'Content-Type': 'text/xml' },
      body: document,
    });
    expect(put.status, await put.text()).toBe(200);
    const step = 'xnat:reconstructedImageData/provenance/processStep';
    const answer = await call(
      'GET',
      'alice',
      `${base}?format=json&columns=xnat:reconstructedImageData/ID,${step}/program,${step}/program_version,${step}/platform_version`,
    );
    const rows = (JSON.parse(answer.text) as { ResultSet: { Result: Array<Record<string, string>> } })
      .ResultSet.Result;
    const key = step.toLowerCase();
    expect(
      rows
        .filter((r) => r.ID === 'RP')
        .map((r) => [r[`${key}/program`], r[`${key}/program_version`], r[`${key}/platform_version`]]),
    ).toEqual([
      ['young', '2.1', '6.1'],
      ['fsl', '', ''],
    ]);
    const xml = await call('GET', 'alice', `${base}/RP?format=xml`);
    expect(xml.text).toMatch(
      /<xnat:provenance>\s*<prov:processStep>\s*<prov:program version="2.1">young<\/prov:program>/,
    );
  });
});
