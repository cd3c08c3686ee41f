/**
 * Item documents as XNAT writes them back after a write (§3.2, §3.3, §4.1): IDs given on create are
 * kept, numbers are typed by the schema (JSON numbers, `42.0` in XML for xs:float), `addParam`
 * entries, investigators, study protocols, a subject's experiments and root-element types.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { demoBasic } from './fixture.js';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startSandbox({ archive: createDemoArchive() });
});
afterAll(async () => {
  await sb.close();
});

interface ItemNode {
  meta: Record<string, unknown>;
  data_fields: Record<string, unknown>;
  children: Array<{ field: string; items: ItemNode[] }>;
}

async function call(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${sb.url}${path}`, {
    method,
    headers: { Authorization: demoBasic('alice'), ...headers },
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, text: await response.text() };
}

async function item(path: string): Promise<ItemNode> {
  const answer = await call('GET', `${path}?format=json`);
  expect(answer.status, answer.text).toBe(200);
  return (JSON.parse(answer.text) as { items: ItemNode[] }).items[0] as ItemNode;
}

/** The item's XML document, checked to be well-formed. */
async function xml(path: string): Promise<string> {
  const answer = await call('GET', `${path}?format=xml`);
  expect(answer.status, answer.text).toBe(200);
  expect(XMLValidator.validate(answer.text)).toBe(true);
  return answer.text;
}

async function rows(path: string): Promise<Array<Record<string, string>>> {
  const answer = await call('GET', `${path}&format=json`);
  expect(answer.status, answer.text).toBe(200);
  return (JSON.parse(answer.text) as { ResultSet: { Result: Array<Record<string, string>> } }).ResultSet
    .Result;
}

function children(node: ItemNode, field: string): ItemNode[] {
  return node.children.find((c) => c.field === field)?.items ?? [];
}

const q = encodeURIComponent;
const SUBJECTS = '/data/projects/BRAIN_MR/subjects';

async function created(method: string, path: string, body?: string, type = 'text/xml'): Promise<string> {
  const answer = await call(method, path, body, body === undefined ? {} : { 'Content-Type': type });
  expect(answer.status, answer.text).toBe(201);
  return answer.text;
}

describe('IDs given on create', () => {
  it('keeps ID= and xnat:subjectData/ID= on subjects, and the ID of a posted document', async () => {
    expect(await created('PUT', `${SUBJECTS}/D_ID1?ID=BRAIN_S_D1`)).toBe('BRAIN_S_D1');
    expect(await created('PUT', `${SUBJECTS}/D_ID2?${q('xnat:subjectData/ID')}=BRAIN_S_D2`)).toBe(
      'BRAIN_S_D2',
    );
    const document = '<xnat:Subject xmlns:xnat="http://nrg.wustl.edu/xnat" ID="BRAIN_S_D3" label="D_ID3"/>';
    expect(await created('PUT', `${SUBJECTS}/D_ID3`, document)).toBe('BRAIN_S_D3');
    expect((await item(`${SUBJECTS}/D_ID1`)).data_fields.ID).toBe('BRAIN_S_D1');
    // The same ID again names that subject: an update, 200 + the ID.
    const again = await call('PUT', `${SUBJECTS}/D_ID1?ID=BRAIN_S_D1&group=control`);
    expect(again).toEqual({ status: 200, text: 'BRAIN_S_D1' });
  });

  it('keeps experiment IDs from xpaths and documents, and generates one for a blank ID', async () => {
    const session = `${SUBJECTS}/D_ID1/experiments`;
    expect(
      await created(
        'PUT',
        `${session}/D_MR1?xsiType=xnat:mrSessionData&${q('xnat:mrSessionData/ID')}=BRAIN_E_D1`,
      ),
    ).toBe('BRAIN_E_D1');
    const blank =
      '<xnat:MRSession xmlns:xnat="http://nrg.wustl.edu/xnat" ID="" project="" label="D_MR2"><xnat:date>2001-01-01</xnat:date></xnat:MRSession>';
    expect(await created('PUT', `${session}/D_MR2`, blank)).toMatch(/^XNAT_E\d{5}$/);
  });
});

describe('scan documents', () => {
  const scan = `${SUBJECTS}/D_ID1/experiments/D_MR1/scans/1`;

  it('types MR scan parameters as the schema does and names the session in the scan item', async () => {
    const answer = await call(
      'PUT',
      `${scan}?xsiType=xnat:mrScanData&type=T1&${q('xnat:mrScanData/parameters/tr')}=42` +
        `&${q('xnat:mrScanData/parameters/te')}=3.08&${q('xnat:mrScanData/parameters/fov/x')}=256`,
    );
    expect(answer.status, answer.text).toBe(200);
    const node = await item(scan);
    expect(node.data_fields).toMatchObject({
      ID: '1',
      image_session_ID: 'BRAIN_E_D1',
      'parameters/tr': 42,
      'parameters/te': 3.08,
      'parameters/fov/x': 256,
    });
    expect(typeof node.data_fields.xnat_imagescandata_id).toBe('number');
    const document = await xml(scan);
    expect(document).toContain('<xnat:tr>42.0</xnat:tr>');
    expect(document).toContain('<xnat:te>3.08</xnat:te>');
    expect(document).toContain('<xnat:fov x="256"/>');
    const bad = await call('PUT', `${scan}?${q('xnat:mrScanData/parameters/tr')}=fast`);
    expect(bad.status).toBe(400);
  });

  it('writes addParam entries as named elements inside parameters, after their hidden-fields comment', async () => {
    const answer = await call(
      'PUT',
      `${scan}?${q('xnat:mrScanData/parameters/addParam[name=foo]/addField')}=bar` +
        `&${q('xnat:mrScanData/parameters/addParam[name=baz]/addField')}=qux`,
    );
    expect(answer.status, answer.text).toBe(200);
    const document = await xml(scan);
    expect(document).toMatch(
      /<xnat:parameters>[\s\S]*<xnat:addParam name="foo">\n\t+<!--hidden_fields\[[^\]]+\]-->bar<\/xnat:addParam>\s*<xnat:addParam name="baz">\n\t+<!--hidden_fields\[[^\]]+\]-->qux<\/xnat:addParam>\s*<\/xnat:parameters>/,
    );
    const node = await item(scan);
    expect(children(node, 'parameters/addParam').map((p) => p.data_fields)).toEqual([
      { addField: 'bar', name: 'foo' },
      { addField: 'qux', name: 'baz' },
    ]);
    // A session document carrying addParam elements reads them back the same way.
    const session =
      '<xnat:MRSession xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
      '<xnat:scans><xnat:scan ID="2" xsi:type="xnat:mrScanData"><xnat:parameters>' +
      // As XNAT writes it (a client sending back what it read).
      '<xnat:tr>2400</xnat:tr><xnat:addParam name="echo">\n\t<!--hidden_fields[xnat_addField_id="7"]-->1</xnat:addParam>' +
      '</xnat:parameters></xnat:scan></xnat:scans></xnat:MRSession>';
    const updated = await call('PUT', `${SUBJECTS}/D_ID1/experiments/D_MR1`, session, {
      'Content-Type': 'text/xml',
    });
    expect(updated.status, updated.text).toBe(200);
    const second = await xml(`${SUBJECTS}/D_ID1/experiments/D_MR1/scans/2`);
    expect(second).toContain('<xnat:tr>2400.0</xnat:tr>');
    expect(second).toMatch(
      /<xnat:addParam name="echo">\n\t+<!--hidden_fields\[[^\]]+\]-->1<\/xnat:addParam>/,
    );
  });
});

describe('subject documents', () => {
  it('applies investigator xpaths and formats float demographics', async () => {
    const answer = await call(
      'PUT',
      `${SUBJECTS}/D_ID1?${q('xnat:subjectData/investigator/firstname')}=Ada` +
        `&${q('xnat:subjectData/investigator/lastname')}=Lovelace&weight=70&height=172.5`,
    );
    expect(answer).toEqual({ status: 200, text: 'BRAIN_S_D1' });
    const node = await item(`${SUBJECTS}/D_ID1`);
    expect(children(node, 'investigator')[0]?.data_fields).toEqual({
      firstname: 'Ada',
      lastname: 'Lovelace',
    });
    expect(children(node, 'demographics')[0]?.data_fields).toMatchObject({ weight: 70, height: 172.5 });
    const document = await xml(`${SUBJECTS}/D_ID1`);
    expect(document).toMatch(
      /<xnat:investigator>\s*<xnat:firstname>Ada<\/xnat:firstname>\s*<xnat:lastname>Lovelace<\/xnat:lastname>\s*<\/xnat:investigator>/,
    );
    expect(document).toContain('<xnat:weight>70.0</xnat:weight>');
    expect(document).toContain('<xnat:height>172.5</xnat:height>');
  });

  it("includes the subject's experiments, typed, in its XML document", async () => {
    const document = await xml(`${SUBJECTS}/D_ID1`);
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(document) as {
      'xnat:Subject': { 'xnat:experiments': { 'xnat:experiment': Array<Record<string, string>> } };
    };
    const experiments = parsed['xnat:Subject']['xnat:experiments']['xnat:experiment'];
    expect(experiments.map((e) => [e['@ID'], e['@xsi:type']])).toContainEqual([
      'BRAIN_E_D1',
      'xnat:mrSessionData',
    ]);
  });
});

describe('project documents', () => {
  it('keeps studyProtocol elements and fills a blank ID and secondary_ID from the URL', async () => {
    const document =
      '<xnat:Project ID="" secondary_ID="" xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
      '<xnat:name>Doc project</xnat:name>' +
      '<xnat:studyProtocol name="Subjects" data-type="xnat:subjectData" xsi:type="xnat:datatypeProtocol"/>' +
      '<xnat:studyProtocol name="MRs" data-type="xnat:mrSessionData" xsi:type="xnat:datatypeProtocol"/>' +
      '</xnat:Project>';
    const answer = await call('PUT', '/data/projects/DOC_P1', document, { 'Content-Type': 'text/xml' });
    expect(answer.status, answer.text).toBe(200);
    const written = await xml('/data/projects/DOC_P1');
    expect(written).toContain('ID="DOC_P1" secondary_ID="DOC_P1"');
    expect(written).toContain(
      '<xnat:studyProtocol name="Subjects" data-type="xnat:subjectData" xsi:type="xnat:datatypeProtocol"/>',
    );
    expect(written).toContain(
      '<xnat:studyProtocol name="MRs" data-type="xnat:mrSessionData" xsi:type="xnat:datatypeProtocol"/>',
    );
    const node = await item('/data/projects/DOC_P1');
    expect(children(node, 'studyProtocol').map((p) => [p.meta['xsi:type'], p.data_fields.name])).toEqual([
      ['xnat:datatypeProtocol', 'Subjects'],
      ['xnat:datatypeProtocol', 'MRs'],
    ]);
  });
});

describe('root element types', () => {
  it('stores a document without xsi:type under the type its root element declares', async () => {
    const document = '<xnat:QCAssessment xmlns:xnat="http://nrg.wustl.edu/xnat" label="D_QC1"/>';
    const id = await created('PUT', `${SUBJECTS}/D_ID1/experiments/D_MR1/assessors/D_QC1`, document);
    const node = await item(`/data/experiments/BRAIN_E_D1/assessors/${id}`);
    expect(node.meta['xsi:type']).toBe('xnat:qcAssessmentData');
    expect(await xml(`/data/experiments/BRAIN_E_D1/assessors/${id}`)).toMatch(
      /^<\?xml[^>]*>\s*<xnat:QCAssessment /,
    );
  });
});

describe('listing columns', () => {
  it('print xs:float values and addParam entries as XNAT tables do (what pyxnat attrs.get reads)', async () => {
    const tr = 'xnat:mrScanData/parameters/tr';
    const foo = 'xnat:mrScanData/parameters/addParam[name=foo]/addField';
    const scans = await rows(`${SUBJECTS}/D_ID1/experiments/D_MR1/scans?columns=ID,${q(tr)},${q(foo)}`);
    const first = scans.find((r) => r.ID === '1');
    expect(Object.values(first ?? {})).toEqual(expect.arrayContaining(['42.0', 'bar']));
    const weight = 'xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/weight';
    const subjects = await rows(`${SUBJECTS}?columns=ID,${q(weight)}`);
    expect(Object.values(subjects.find((r) => r.ID === 'BRAIN_S_D1') ?? {})).toContain('70.0');
  });
});
