import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { UNICODE_SUBJECT, getAs, startFixtureSandbox } from './fixture.js';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startFixtureSandbox();
});
afterAll(async () => {
  await sb.close();
});

interface ItemNode {
  meta: Record<string, unknown>;
  data_fields: Record<string, unknown>;
  children: Array<{ field: string; items: ItemNode[] }>;
}

async function item(login: string, path: string): Promise<ItemNode> {
  const response = await getAs(sb, login, path);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { items: ItemNode[] };
  expect(body.items).toHaveLength(1);
  return body.items[0] as ItemNode;
}

function child(node: ItemNode, field: string): ItemNode[] {
  return node.children.find((c) => c.field === field)?.items ?? [];
}

describe('addressing items', () => {
  it('finds subjects by label, shared label or accession ID within a project', async () => {
    const byLabel = await item('alice', '/data/projects/PROT/subjects/S1?format=json');
    expect(byLabel.data_fields.ID).toBe('XNAT_S00001');
    const shared = await item('eve', '/data/projects/OPEN/subjects/SHARED_S1?format=json');
    expect(shared.data_fields).toMatchObject({ ID: 'XNAT_S00001', label: 'S1', project: 'PROT' });
    const byId = await item('eve', '/data/projects/OPEN/subjects/XNAT_S00001?format=json');
    expect(byId.data_fields.ID).toBe('XNAT_S00001');
    const unicode = await item(
      'alice',
      `/data/projects/PROT/subjects/${encodeURIComponent(UNICODE_SUBJECT)}?format=json`,
    );
    expect(unicode.data_fields.label).toBe(UNICODE_SUBJECT);
    // URLDecoder semantics: '+' in a /data path is a space.
    const plus = await item(
      'alice',
      `/data/projects/PROT/subjects/${encodeURIComponent(UNICODE_SUBJECT).replaceAll('%20', '+')}?format=json`,
    );
    expect(plus.data_fields.ID).toBe('XNAT_S00002');
    expect((await getAs(sb, 'alice', '/data/projects/OPEN/subjects/XNAT_S00002?format=json')).status).toBe(
      404,
    );
  });

  it('routes /projects/{p}/experiments/{e}/<anything> to the experiment itself, as XNAT prefix-matches it', async () => {
    // XNAT has no scan or files-shortcut routes below a project-scoped experiment: ExperimentResource
    // answers with the experiment document; only status and projects are read from the remaining path.
    const viaScans = await item('alice', '/data/projects/PROT/experiments/S1_MR1/scans?format=json');
    expect(viaScans.meta['xsi:type']).toBe('xnat:mrSessionData');
    expect(viaScans.data_fields.ID).toBe('XNAT_E00001');
    const status = await getAs(sb, 'alice', '/data/projects/PROT/experiments/S1_MR1/status');
    expect(await status.text()).toBe('active');
    // The scan listing lives under the subject-scoped and the contextless experiment paths.
    const scans = await getAs(sb, 'alice', '/data/experiments/XNAT_E00001/scans?format=json');
    expect(
      ((await scans.json()) as { ResultSet: { Result: unknown[] } }).ResultSet.Result.length,
    ).toBeGreaterThan(0);
  });

  it('accepts only accession IDs on /data/subjects and /data/experiments', async () => {
    expect((await item('alice', '/data/subjects/XNAT_S00001?format=json')).data_fields.label).toBe('S1');
    expect((await getAs(sb, 'alice', '/data/subjects/S1?format=json')).status).toBe(404);
    expect((await item('alice', '/data/experiments/XNAT_E00001?format=json')).data_fields.label).toBe(
      'S1_MR1',
    );
    const byLabel = await getAs(sb, 'alice', '/data/experiments/S1_MR1?format=json');
    expect(byLabel.status).toBe(404);
    expect(await byLabel.text()).toContain('<h3>Unable to find the specified experiment.</h3>');
  });

  it('finds experiments by label (including shared and non-ASCII labels) or ID under a project', async () => {
    const session = await item('alice', '/data/projects/PROT/subjects/S1/experiments/S1_MR1?format=json');
    expect(session.data_fields.ID).toBe('XNAT_E00001');
    expect((await item('eve', '/data/projects/OPEN/experiments/SHARED_MR?format=json')).data_fields.ID).toBe(
      'XNAT_E00001',
    );
    expect(
      (await item('alice', '/data/projects/PROT/experiments/XNAT_E00002?format=json')).data_fields.label,
    ).toBe('S1 PET 1');
    const quarantined = await item(
      'alice',
      `/data/archive/projects/PROT/experiments/${encodeURIComponent('MR Ü 2')}?format=json`,
    );
    expect(quarantined.data_fields.ID).toBe('XNAT_E00003');
    // The experiment exists but not under that subject.
    expect(
      (await getAs(sb, 'alice', '/data/projects/PROT/subjects/O1/experiments/S1_MR1?format=json')).status,
    ).toBe(404);
  });

  it('finds projects by ID or alias and hides unreadable objects behind 404', async () => {
    expect((await item('alice', '/data/projects/PROTALIAS?format=json')).data_fields.ID).toBe('PROT');
    expect((await getAs(sb, 'eve', '/data/projects/PRIV?format=json')).status).toBe(404);
    expect((await getAs(sb, 'eve', '/data/experiments/XNAT_E00006?format=json')).status).toBe(404);
    expect((await getAs(sb, 'eve', '/data/experiments/XNAT_E00002?format=json')).status).toBe(404);
    // Shared into a public project, the session is readable for everyone.
    expect((await getAs(sb, 'eve', '/data/experiments/XNAT_E00001?format=json')).status).toBe(200);
    expect((await getAs(sb, 'bob', '/data/experiments/XNAT_E00002?format=json')).status).toBe(200);
  });
});

describe('item JSON', () => {
  it('shapes a session with meta, typed data_fields and children', async () => {
    const session = await item('alice', '/data/experiments/XNAT_E00001?format=json');
    expect(session.meta).toMatchObject({ 'xsi:type': 'xnat:mrSessionData', isHistory: false });
    expect(session.meta.start_date).toBe('Sat Jul 07 12:00:00 UTC 2018');
    expect(session.data_fields).toMatchObject({
      ID: 'XNAT_E00001',
      id: 'XNAT_E00001',
      project: 'PROT',
      label: 'S1_MR1',
      date: '2018-07-07',
      subject_ID: 'XNAT_S00001',
      'scanner/manufacturer': 'SIEMENS',
      fieldStrength: '3.0',
      dcmPatientWeight: 83.91,
    });
    expect(session.data_fields).not.toHaveProperty('note');
    const scans = child(session, 'scans/scan');
    expect(scans.map((s) => s.data_fields.ID)).toEqual(['1', '2']);
    expect(scans[0]?.meta['xsi:type']).toBe('xnat:mrScanData');
    expect(scans[0]?.data_fields).toMatchObject({ frames: 176, 'parameters/tr': 2400, type: 'T1w' });
    const scanFiles = child(scans[0] as ItemNode, 'file');
    expect(scanFiles[0]?.data_fields).toMatchObject({ label: 'DICOM', file_count: 2, format: 'DICOM' });
    expect(child(session, 'sharing/share').map((s) => s.data_fields)).toEqual([
      { label: 'SHARED_MR', project: 'OPEN' },
    ]);
    expect(child(session, 'fields/field').map((f) => f.data_fields)).toEqual([
      { field: 'baseline', name: 'visit_type' },
    ]);
    expect(child(session, 'resources/resource').map((r) => r.data_fields.label)).toEqual(['NOTES']);
    expect(child(session, 'assessors/assessor').map((a) => a.data_fields.ID)).toEqual(['XNAT_E00004']);
  });

  it('shapes a subject with demographics and its experiments', async () => {
    const subject = await item('alice', '/data/subjects/XNAT_S00001?format=json');
    expect(subject.meta['xsi:type']).toBe('xnat:subjectData');
    expect(child(subject, 'demographics')[0]?.data_fields).toEqual({
      gender: 'female',
      handedness: 'right',
      yob: 1970,
    });
    expect(child(subject, 'experiments/experiment').map((e) => e.data_fields.ID)).toEqual([
      'XNAT_E00001',
      'XNAT_E00002',
    ]);
  });
});

describe('item XML', () => {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' });

  it('writes the schema document of a session', async () => {
    const response = await getAs(sb, 'alice', '/data/experiments/XNAT_E00001?format=xml');
    expect(response.headers.get('content-type')).toMatch(/^text\/xml/);
    const doc = parser.parse(await response.text()) as Record<string, Record<string, unknown>>;
    const root = doc['xnat:MRSession'] ?? {};
    expect(root).toMatchObject({
      '@ID': 'XNAT_E00001',
      '@project': 'PROT',
      '@label': 'S1_MR1',
      '@modality': 'MR',
    });
    expect(root['xnat:date']).toBe('2018-07-07');
    expect(root['xnat:subject_ID']).toBe('XNAT_S00001');
    expect(root['xnat:fieldStrength']).toBe(3);
    expect(root['xnat:scanner']).toMatchObject({ '@manufacturer': 'SIEMENS' });
    const scans = (root['xnat:scans'] as { 'xnat:scan': Array<Record<string, unknown>> })['xnat:scan'];
    expect(scans.map((s) => s['@ID'])).toEqual(['1', '2']);
    expect(scans[0]).toMatchObject({
      '@type': 'T1w',
      '@xsi:type': 'xnat:mrScanData',
      'xnat:quality': 'usable',
    });
    expect(scans[0]?.['xnat:file']).toMatchObject({
      '@label': 'DICOM',
      '@file_count': '2',
      '@xsi:type': 'xnat:resourceCatalog',
    });
    const share = (root['xnat:sharing'] as Record<string, Record<string, string>>)['xnat:share'];
    expect(share).toMatchObject({ '@label': 'SHARED_MR', '@project': 'OPEN' });
  });

  it('writes subjects and projects under their element names', async () => {
    const subject = parser.parse(
      await (await getAs(sb, 'alice', '/data/subjects/XNAT_S00001?format=xml')).text(),
    ) as Record<string, Record<string, unknown>>;
    expect(subject['xnat:Subject']).toMatchObject({
      '@ID': 'XNAT_S00001',
      '@label': 'S1',
      '@group': 'control',
    });
    expect(subject['xnat:Subject']?.['xnat:demographics']).toMatchObject({
      'xnat:gender': 'female',
      '@xsi:type': 'xnat:demographicData',
    });
    const project = parser.parse(
      await (await getAs(sb, 'alice', '/data/projects/PROT?format=xml')).text(),
    ) as Record<string, Record<string, unknown>>;
    expect(project['xnat:Project']).toMatchObject({ '@ID': 'PROT', 'xnat:name': 'PROT name' });
  });

  it('defaults to the HTML report without format=', async () => {
    const response = await getAs(sb, 'alice', '/data/experiments/XNAT_E00001');
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toMatch(/^<!DOCTYPE html>/);
  });
});

describe('item sub-paths', () => {
  it('reports quarantine status for the item or its children', async () => {
    const status = async (path: string) => (await getAs(sb, 'alice', path)).text();
    expect(await status('/data/experiments/XNAT_E00003/status')).toBe('quarantine');
    expect(await status('/data/experiments/XNAT_E00001/status')).toBe('active');
    expect(await status(`/data/projects/PROT/subjects/${encodeURIComponent(UNICODE_SUBJECT)}/status`)).toBe(
      'quarantine',
    );
    expect(await status('/data/projects/PROT/subjects/S1/status')).toBe('active');
    expect(await status('/data/experiments/XNAT_E00001/assessors/S1_MR1_QC/status')).toBe('active');
  });

  it('serves project settings as plain text', async () => {
    const text = async (path: string) => {
      const response = await getAs(sb, 'alice', path);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      return response.text();
    };
    expect(await text('/data/projects/PROT/accessibility')).toBe('protected');
    expect(await text('/data/projects/PROT/quarantine_code')).toBe('0');
    expect(await text('/data/projects/PROT/prearchive_code')).toBe('4');
  });

  it('serves scans and assessors as items', async () => {
    const scan = await item('alice', '/data/experiments/XNAT_E00001/scans/2?format=json');
    expect(scan.data_fields).toMatchObject({ ID: '2', type: 'BOLD' });
    expect((await getAs(sb, 'alice', '/data/experiments/XNAT_E00001/scans/9?format=json')).status).toBe(404);
    const assessor = await item(
      'alice',
      '/data/projects/PROT/subjects/S1/experiments/S1_MR1/assessors/S1_MR1_QC?format=json',
    );
    expect(assessor.data_fields).toMatchObject({ ID: 'XNAT_E00004', imageSession_ID: 'XNAT_E00001' });
    expect(child(assessor, 'out/file').map((r) => r.data_fields.label)).toEqual(['QC']);
  });
});
