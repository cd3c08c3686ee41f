import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { MODIFIED, basic, getAs, startFixtureSandbox, unzip } from './fixture.js';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startFixtureSandbox();
});
afterAll(async () => {
  await sb.close();
});

interface FilesBody {
  ResultSet: {
    Columns: unknown;
    Result: Array<Record<string, string>>;
    title: string;
    totalRecords?: string;
  };
}

async function files(path: string, login = 'alice'): Promise<FilesBody['ResultSet']> {
  const response = await getAs(sb, login, path);
  expect(response.status).toBe(200);
  return ((await response.json()) as FilesBody).ResultSet;
}

describe('file listings', () => {
  it('have exactly the FileList columns, ID-based URIs, Columns metadata and no totalRecords', async () => {
    const result = await files(
      '/data/projects/PROT/subjects/S1/experiments/S1_MR1/scans/1/resources/DICOM/files?format=json',
    );
    expect(result.Columns).toEqual([{ key: 'URI', serverRoot: '' }]);
    expect(result.title).toBe('Files');
    expect(result.totalRecords).toBeUndefined();
    expect(result.Result[1]).toEqual({
      Name: '2.dcm',
      Size: '12',
      URI: '/data/experiments/XNAT_E00001/scans/1/resources/101/files/sub/2.dcm',
      collection: 'DICOM',
      file_tags: '',
      file_format: 'DICOM',
      file_content: 'RAW',
      cat_ID: '101',
      digest: createHash('md5').update('second dicom').digest('hex'),
    });
  });

  it('select scans by ID, type or ALL and resources by label or numeric ID', async () => {
    const names = async (path: string) => (await files(path)).Result.map((r) => r.Name);
    expect(await names('/data/experiments/XNAT_E00001/scans/ALL/files?format=json')).toEqual([
      '1.dcm',
      '2.dcm',
      '3.dcm',
    ]);
    expect(await names('/data/experiments/XNAT_E00001/scans/BOLD/files?format=json')).toEqual(['3.dcm']);
    expect(
      await names('/data/experiments/XNAT_E00001/scans/1,2/resources/DICOM/files?format=json'),
    ).toHaveLength(3);
    expect(await names('/data/experiments/XNAT_E00001/scans/2/resources/102/files?format=json')).toEqual([
      '3.dcm',
    ]);
    expect(await names('/data/experiments/XNAT_E00001/files?format=json')).toEqual(['notes.txt']);
    expect(await names('/data/projects/PROT/files?format=json')).toEqual(['protocol.txt']);
    expect(
      await names('/data/experiments/XNAT_E00001/assessors/XNAT_E00004/out/resources/QC/files?format=json'),
    ).toEqual(['report.pdf']);
  });

  it('filter by file_format and file_content', async () => {
    const all = await files(
      '/data/experiments/XNAT_E00001/resources/NOTES/files?format=json&file_format=TXT',
    );
    expect(all.Result).toHaveLength(1);
    const none = await files(
      '/data/experiments/XNAT_E00001/resources/NOTES/files?format=json&file_content=RAW',
    );
    expect(none.Result).toHaveLength(0);
  });

  it('use the subject path of the request for subject resources and report the context path', async () => {
    const withContext = await startFixtureSandbox({ contextPath: '/xnat' });
    try {
      const response = await getAs(
        withContext,
        'alice',
        '/data/projects/PROT/resources/PROTOCOLS/files?format=json',
      );
      const body = (await response.json()) as FilesBody;
      expect(body.ResultSet.Columns).toEqual([{ key: 'URI', serverRoot: '/xnat' }]);
      expect(body.ResultSet.Result[0]?.URI).toBe('/data/projects/PROT/resources/100/files/protocol.txt');
    } finally {
      await withContext.close();
    }
  });

  it('list resources with the CatalogResourceList columns', async () => {
    const response = await getAs(sb, 'alice', '/data/experiments/XNAT_E00001/resources?format=json&all=true');
    const body = (await response.json()) as {
      ResultSet: { Result: Array<Record<string, string>>; title: string; totalRecords: string };
    };
    expect(body.ResultSet.title).toBe('Resources');
    expect(body.ResultSet.totalRecords).toBe('4');
    expect(body.ResultSet.Result.find((r) => r.cat_id === '2')).toEqual({
      xnat_abstractresource_id: '102',
      label: 'DICOM',
      element_name: 'xnat:resourceCatalog',
      category: 'scans',
      cat_id: '2',
      cat_desc: 'BOLD',
      file_count: '1',
      file_size: '11',
      tags: '',
      content: 'RAW',
      format: 'DICOM',
    });
    expect(body.ResultSet.Result.map((r) => r.category)).toEqual([
      'resources',
      'scans',
      'scans',
      'assessors',
    ]);
  });
});

describe('project-scoped experiment resources', () => {
  it('answer resources, catalogs, files and uploads below /projects/{p}/experiments/{e}, as XNAT routes them', async () => {
    const base = '/data/projects/PROT/experiments/S1_MR1';
    const resources = await getAs(sb, 'alice', `${base}/resources?format=json`);
    expect(resources.status).toBe(200);
    const rows = ((await resources.json()) as FilesBody).ResultSet.Result;
    expect(rows.map((r) => [r.label, r.category, r.file_count])).toEqual([['NOTES', 'resources', '1']]);

    const listing = await files(`${base}/resources/NOTES/files?format=json`);
    expect(listing.Result.map((r) => [r.Name, r.collection])).toEqual([['notes.txt', 'NOTES']]);
    expect(listing.Result[0]?.URI).toMatch(
      /^\/data\/experiments\/XNAT_E00001\/resources\/\d+\/files\/notes\.txt$/,
    );
    const download = await getAs(sb, 'alice', `${base}/resources/NOTES/files/notes.txt`);
    expect(await download.text()).toBe('hello, world\n');
    const catalog = await getAs(sb, 'alice', `${base}/resources/NOTES`);
    expect(await catalog.text()).toContain('<cat:entry ');
    // The shared project reaches it under its own label.
    const shared = await getAs(
      sb,
      'alice',
      '/data/projects/OPEN/experiments/SHARED_MR/resources/NOTES/files/notes.txt',
    );
    expect(await shared.text()).toBe('hello, world\n');

    const put = await fetch(`${sb.url}${base}/resources/PSCOPED/files/a.txt`, {
      method: 'PUT',
      headers: { Authorization: basic('alice'), 'Content-Type': 'text/plain' },
      body: 'scoped',
    });
    expect(put.status).toBe(200);
    expect(
      (await files(`/data/experiments/XNAT_E00001/resources/PSCOPED/files?format=json`)).Result.map(
        (r) => r.Name,
      ),
    ).toEqual(['a.txt']);
    expect((await getAs(sb, 'alice', `${base}/resources/NOPE/files?format=json`)).status).toBe(404);
  });

  it('leave every other path to ExperimentResource, which prefix-matches it (no files shortcut, no scans)', async () => {
    for (const rest of ['files', 'scans', 'scans/1/resources']) {
      const response = await getAs(sb, 'alice', `/data/projects/PROT/experiments/S1_MR1/${rest}?format=json`);
      expect(response.status, rest).toBe(200);
      const body = (await response.json()) as { items: Array<{ meta: Record<string, string> }> };
      expect(body.items[0]?.meta['xsi:type'], rest).toBe('xnat:mrSessionData');
    }
  });
});

describe('file downloads', () => {
  it('stream the bytes with type, length and modification time', async () => {
    const response = await getAs(
      sb,
      'alice',
      '/data/experiments/XNAT_E00001/resources/NOTES/files/notes.txt',
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(response.headers.get('content-length')).toBe('13');
    expect(response.headers.get('last-modified')).toBe(new Date(MODIFIED).toUTCString());
    expect(await response.text()).toBe('hello, world\n');

    const dicom = await getAs(
      sb,
      'alice',
      '/data/experiments/XNAT_E00001/scans/1/resources/101/files/sub/2.dcm',
    );
    expect(dicom.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = Buffer.from(await dicom.arrayBuffer());
    const listing = await files('/data/experiments/XNAT_E00001/scans/1/resources/DICOM/files?format=json');
    expect(createHash('md5').update(bytes).digest('hex')).toBe(listing.Result[1]?.digest);
  });

  it('answer 404 for missing files and unreadable sessions', async () => {
    const missing = await getAs(sb, 'alice', '/data/experiments/XNAT_E00001/resources/NOTES/files/nope.txt');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('<h3>Unable to find file.</h3>');
    const accepted = await getAs(
      sb,
      'alice',
      '/data/experiments/XNAT_E00001/resources/NOTES/files/nope.txt?accept-not-found=true',
    );
    expect(accepted.status).toBe(204);
    expect((await getAs(sb, 'eve', '/data/experiments/XNAT_E00002/resources/NOTES/files')).status).toBe(404);
  });

  it('list a folder when the path ends with a slash', async () => {
    const folder = await files(
      '/data/experiments/XNAT_E00001/scans/1/resources/DICOM/files/sub/?format=json',
    );
    expect(folder.Result.map((r) => r.Name)).toEqual(['2.dcm']);
  });

  it('zip a selection with session-relative entry paths', async () => {
    const response = await getAs(sb, 'alice', '/data/experiments/XNAT_E00001/scans/ALL/files?format=zip');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename=S1_MR1.zip');
    const entries = unzip(Buffer.from(await response.arrayBuffer()));
    expect([...entries.keys()]).toEqual([
      'S1_MR1/scans/1/resources/DICOM/files/1.dcm',
      'S1_MR1/scans/1/resources/DICOM/files/sub/2.dcm',
      'S1_MR1/scans/2/resources/DICOM/files/3.dcm',
    ]);
    expect(entries.get('S1_MR1/scans/2/resources/DICOM/files/3.dcm')?.toString()).toBe('third dicom');
    const simplified = await getAs(
      sb,
      'alice',
      '/data/experiments/XNAT_E00001/resources/NOTES/files?format=zip&structure=simplified',
    );
    expect([...unzip(Buffer.from(await simplified.arrayBuffer())).keys()]).toEqual([
      'S1_MR1/NOTES/notes.txt',
    ]);
    expect(
      (await getAs(sb, 'alice', '/data/experiments/XNAT_E00002/scans/ALL/files?format=zip')).status,
    ).toBe(404);
  });
});
