import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { basic, getAs, resultRows, startFixtureSandbox, unzip } from './fixture.js';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startFixtureSandbox({ guestAccess: true });
});
afterAll(async () => {
  await sb.close();
});

const SESSION = '/data/projects/PROT/experiments/S1_MR1';
const SCAN1 = 'SCANS/1/RESOURCES/DICOM';

/** A GET whose path is sent as written: fetch would resolve a `..` segment before sending it. */
function rawStatus(path: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(sb.url);
    const req = request({ hostname, port, path, headers: { Authorization: basic('alice') } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}

async function rows(path: string): Promise<Array<Record<string, string>>> {
  const response = await getAs(sb, 'alice', path);
  expect(response.status).toBe(200);
  return resultRows(response);
}

describe('DIR (DIRResource)', () => {
  it('lists the top of the session directory as Name/DIR/Size/URI rows with ID-based URIs', async () => {
    const response = await getAs(sb, 'alice', `${SESSION}/DIR?format=json`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ResultSet: { Columns: unknown; title: string } };
    expect(body.ResultSet.title).toBe('Files');
    expect(body.ResultSet.Columns).toEqual([{ key: 'URI', serverRoot: '' }]);
    expect(await rows(`${SESSION}/DIR?format=json`)).toEqual([
      {
        Name: 'RESOURCES/',
        DIR: 'true',
        Size: '4096',
        URI: '/data/experiments/XNAT_E00001/DIR/RESOURCES/?format=json',
      },
      {
        Name: 'SCANS/',
        DIR: 'true',
        Size: '4096',
        URI: '/data/experiments/XNAT_E00001/DIR/SCANS/?format=json',
      },
    ]);
  });

  it('lists a folder relative to itself, and everything below it with recursive=true', async () => {
    expect((await rows(`/data/experiments/XNAT_E00001/DIR/${SCAN1}`)).map((r) => [r.Name, r.DIR])).toEqual([
      ['1.dcm', 'false'],
      ['DICOM_catalog.xml', 'false'],
      ['sub/', 'true'],
    ]);
    const recursive = await rows('/data/experiments/XNAT_E00001/DIR/SCANS?recursive=true');
    const isCatalog = (r: Record<string, string>) => (r.Name ?? '').endsWith('_catalog.xml');
    // DIRResource lists the disk, so each resource's catalog is there, at the path its URI names.
    const catalogs = recursive.filter(isCatalog);
    expect(catalogs.map((r) => r.Name)).toEqual([
      '1/RESOURCES/DICOM/DICOM_catalog.xml',
      '2/RESOURCES/DICOM/DICOM_catalog.xml',
    ]);
    for (const [index, row] of catalogs.entries()) {
      const served = await getAs(sb, 'alice', row.URI ?? '');
      const document = await getAs(
        sb,
        'alice',
        `/data/experiments/XNAT_E00001/scans/${index + 1}/resources/DICOM`,
      );
      const text = await served.text();
      expect(text).toBe(await document.text());
      expect(row.Size).toBe(String(Buffer.byteLength(text)));
    }
    expect(recursive.filter((r) => !isCatalog(r))).toEqual([
      {
        Name: '1/RESOURCES/DICOM/1.dcm',
        DIR: 'false',
        Size: '11',
        URI: `/data/experiments/XNAT_E00001/DIR/${SCAN1}/1.dcm`,
      },
      {
        Name: '1/RESOURCES/DICOM/sub/2.dcm',
        DIR: 'false',
        Size: '12',
        URI: `/data/experiments/XNAT_E00001/DIR/${SCAN1}/sub/2.dcm`,
      },
      {
        Name: '2/RESOURCES/DICOM/3.dcm',
        DIR: 'false',
        Size: '11',
        URI: '/data/experiments/XNAT_E00001/DIR/SCANS/2/RESOURCES/DICOM/3.dcm',
      },
    ]);
  });

  it('matches each path segment as a glob', async () => {
    const found = await rows('/data/experiments/XNAT_E00001/DIR/SCANS/*/RESOURCES/DICOM/*.dcm');
    expect(found.map((r) => r.URI)).toEqual([
      `/data/experiments/XNAT_E00001/DIR/${SCAN1}/1.dcm`,
      '/data/experiments/XNAT_E00001/DIR/SCANS/2/RESOURCES/DICOM/3.dcm',
    ]);
  });

  it('serves a single matching file, or zips it with format=zip', async () => {
    const file = await getAs(sb, 'alice', `${SESSION}/DIR/RESOURCES/NOTES/notes.txt`);
    expect(file.status).toBe(200);
    expect(await file.text()).toBe('hello, world\n');
    const zipped = await getAs(sb, 'alice', `${SESSION}/DIR/${SCAN1}/sub/2.dcm?format=zip`);
    expect(zipped.headers.get('content-disposition')).toBe('attachment; filename=2.dcm.zip');
    const entries = unzip(Buffer.from(await zipped.arrayBuffer()));
    expect([...entries.keys()]).toEqual([`S1_MR1/${SCAN1}/sub/2.dcm`]);
  });

  it('zips the listed files under the session folder name; folders are not descended without recursive', async () => {
    const zipped = await getAs(sb, 'alice', `${SESSION}/DIR/SCANS?format=zip&recursive=true`);
    expect(zipped.status).toBe(200);
    expect(zipped.headers.get('content-type')).toBe('application/zip');
    expect(zipped.headers.get('content-disposition')).toBe('attachment; filename=S1_MR1.zip');
    const entries = unzip(Buffer.from(await zipped.arrayBuffer()));
    expect([...entries.keys()]).toEqual([
      `S1_MR1/${SCAN1}/1.dcm`,
      `S1_MR1/${SCAN1}/DICOM_catalog.xml`,
      `S1_MR1/${SCAN1}/sub/2.dcm`,
      'S1_MR1/SCANS/2/RESOURCES/DICOM/3.dcm',
      'S1_MR1/SCANS/2/RESOURCES/DICOM/DICOM_catalog.xml',
    ]);
    expect(entries.get(`S1_MR1/${SCAN1}/1.dcm`)?.toString()).toBe('first dicom');
    const shallow = await getAs(sb, 'alice', `${SESSION}/DIR?format=zip`);
    expect(unzip(Buffer.from(await shallow.arrayBuffer())).size).toBe(0);
  });

  it('answers 404 for no match, 400 for .. and for assessors, 401 for the guest', async () => {
    expect((await getAs(sb, 'alice', `${SESSION}/DIR/SCANS/9`)).status).toBe(404);
    expect(await rawStatus(`${SESSION}/DIR/SCANS/..`)).toBe(400);
    expect((await getAs(sb, 'alice', '/data/experiments/XNAT_E00004/DIR')).status).toBe(400);
    expect((await getAs(sb, 'eve', '/data/experiments/XNAT_E00006/DIR')).status).toBe(404);
    expect((await fetch(`${sb.url}/data/experiments/XNAT_E00005/DIR`)).status).toBe(401);
  });
});

describe('XAR', () => {
  it('zips the session document as {ID}.xml with relative file URIs, plus every file', async () => {
    const response = await getAs(sb, 'alice', `${SESSION}/XAR`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/xar');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename=S1_MR1.xar');
    const entries = unzip(Buffer.from(await response.arrayBuffer()));
    expect([...entries.keys()]).toEqual([
      'XNAT_E00001.xml',
      'S1_MR1/RESOURCES/NOTES/NOTES_catalog.xml',
      'S1_MR1/RESOURCES/NOTES/notes.txt',
      `S1_MR1/${SCAN1}/1.dcm`,
      `S1_MR1/${SCAN1}/DICOM_catalog.xml`,
      `S1_MR1/${SCAN1}/sub/2.dcm`,
      'S1_MR1/SCANS/2/RESOURCES/DICOM/3.dcm',
      'S1_MR1/SCANS/2/RESOURCES/DICOM/DICOM_catalog.xml',
    ]);
    const xml = entries.get('XNAT_E00001.xml')?.toString() ?? '';
    expect(xml).toContain('URI="RESOURCES/NOTES/NOTES_catalog.xml"');
    expect(xml).not.toContain('/arc001/S1_MR1/');
  });
});
