/**
 * The import service, the prearchive and the archiver (§7.6–7.8) over HTTP against the demo archive:
 * DICOM zips become sessions (one per study, one scan per series), land in the prearchive or the
 * archive, and prearchive sessions are listed, moved, archived, rebuilt and deleted like XNAT does.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SOP_CLASS, dicomFile, type DicomInstance } from '../../src/sandbox/dicom.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { demoBasic } from './fixture.js';
import { createZip, type ZipEntry } from '../../src/sandbox/zip.js';

const PREARCHIVE_COLUMNS = [
  'project',
  'timestamp',
  'lastmod',
  'uploaded',
  'scan_date',
  'scan_time',
  'subject',
  'folderName',
  'name',
  'tag',
  'status',
  'url',
  'autoarchive',
  'prevent_anon',
  'prevent_auto_commit',
  'SOURCE',
  'VISIT',
  'PROTOCOL',
  'TIMEZONE',
].sort();

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(async () => {
  await sb.close();
});

function call(
  method: string,
  path: string,
  {
    login = 'alice',
    body,
    headers = {},
  }: { login?: string; body?: RequestInit['body']; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(`${sb.url}${path}`, {
    method,
    redirect: 'manual',
    headers: { Authorization: demoBasic(login), ...headers },
    ...(body === undefined ? {} : { body }),
  });
}

const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');

let studyCounter = 0;

interface Study {
  uid: string;
  patientId: string;
  patientName: string;
  files: Array<{ name: string; bytes: Buffer; series: number }>;
}

/** A study of synthetic DICOM files: `series` lists [seriesNumber, description, instance count]. */
function study(
  series: Array<[number, string, number]>,
  patient = { id: `PID${++studyCounter}`, name: `DOE^JANE ${studyCounter}` },
  modality: 'MR' | 'CT' = 'MR',
): Study {
  const uid = `1.2.826.0.1.3680043.8.499.77.${++studyCounter}`;
  const files = series.flatMap(([number, description, count]) =>
    Array.from({ length: count }, (_, i) => {
      const instance: DicomInstance = {
        sopClassUid: SOP_CLASS[modality],
        sopInstanceUid: `${uid}.${number}.${i + 1}`,
        studyInstanceUid: uid,
        seriesInstanceUid: `${uid}.${number}`,
        studyDate: '2024-05-06',
        studyTime: '10:11:12',
        modality,
        manufacturer: 'SIEMENS',
        modelName: 'Prisma',
        stationName: 'MRC1',
        studyDescription: 'BRAIN',
        seriesDescription: description,
        patientName: patient.name,
        patientId: patient.id,
        patientBirthDate: '',
        patientSex: '',
        accessionNumber: '',
        seriesNumber: number,
        instanceNumber: i + 1,
        size: 8,
        extra: [{ tag: 0x00180087, vr: 'DS', value: '3' }],
      };
      return { name: `dicom/${number}/${i + 1}.dcm`, bytes: dicomFile(instance), series: number };
    }),
  );
  return { uid, patientId: patient.id, patientName: patient.name, files };
}

function zipOf(...studies: Study[]): Buffer {
  const entries: ZipEntry[] = studies.flatMap((s) =>
    s.files.map((f) => ({ name: f.name, data: f.bytes, modified: Date.UTC(2024, 4, 6) })),
  );
  return createZip(entries);
}

async function importZip(query: string, zip: Buffer, login = 'alice'): Promise<Response> {
  return call('POST', `/data/services/import?${query}`, {
    login,
    body: zip,
    headers: { 'Content-Type': 'application/zip' },
  });
}

async function uris(response: Response): Promise<string[]> {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/uri-list/);
  const text = await response.text();
  expect(text.endsWith('\r\n')).toBe(true);
  return text.split('\r\n').filter((line) => line !== '');
}

type Row = Record<string, string>;

async function prearchiveRows(path = '/data/prearchive/projects', login = 'alice'): Promise<Row[]> {
  const response = await call('GET', `${path}?format=json`, { login });
  expect(response.status).toBe(200);
  return ((await response.json()) as { ResultSet: { Result: Row[] } }).ResultSet.Result;
}

async function json<T>(path: string, login = 'alice'): Promise<T> {
  const response = await call('GET', path, { login });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

const blobCount = async (): Promise<number> => (await readdir(sb.archiveDir)).length;

describe('import service', () => {
  it('puts a DICOM zip into the prearchive: one session, the row XNAT lists, the URI in the body', async () => {
    const s = study([
      [1, 'T1w MPRAGE', 2],
      [2, 'BOLD rest', 3],
    ]);
    const [uri, ...more] = await uris(
      await importZip('import-handler=DICOM-zip&dest=/prearchive/projects/BRAIN_MR', zipOf(s)),
    );
    expect(more).toEqual([]);
    expect(uri).toMatch(new RegExp(`^/data/prearchive/projects/BRAIN_MR/\\d{8}_\\d{9}/${s.patientId}$`));

    const row = (await prearchiveRows()).find((r) => r.tag === s.uid);
    expect(Object.keys(row ?? {}).sort()).toEqual(PREARCHIVE_COLUMNS);
    expect(row).toMatchObject({
      project: 'BRAIN_MR',
      subject: s.patientName.replace(/[^A-Za-z0-9_-]/g, '_'),
      name: s.patientId,
      folderName: s.patientId,
      status: 'READY',
      scan_date: '2024-05-06',
      scan_time: '10:11:12',
      url: (uri ?? '').replace(/^\/data/, ''),
      prevent_anon: 'false',
    });
    expect(row?.uploaded).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{1,3}$/);

    const single = await json<{ ResultSet: { Result: Row[] } }>(`${uri ?? ''}?format=json`);
    expect(single.ResultSet.Result).toEqual([row]);
    const scopedRows = await prearchiveRows('/data/prearchive/projects/BRAIN_MR');
    expect(scopedRows.map((r) => r.tag)).toContain(s.uid);
    const byTag = await json<{ ResultSet: { Result: Row[] } }>(
      `/data/prearchive/projects?format=json&tag=${encodeURIComponent(s.uid)}`,
    );
    expect(byTag.ResultSet.Result).toEqual([row]);
  });

  it('archives directly with dest=/archive, building scans per series with digests of the DICOM files', async () => {
    const s = study([
      [3, 'DWI', 2],
      [1, 'T1w', 1],
    ]);
    const [uri] = await uris(
      await importZip('dest=/archive&PROJECT_ID=BRAIN_MR&SUBJECT_ID=IMP_S1&EXPT_LABEL=IMP_S1_MR1', zipOf(s)),
    );
    expect(uri).toMatch(/^\/data\/archive\/projects\/BRAIN_MR\/subjects\/XNAT_S\d+\/experiments\/XNAT_E\d+$/);
    const item = await json<{ items: Array<{ data_fields: Row; meta: Row }> }>(`${uri ?? ''}?format=json`);
    expect(item.items[0]?.meta['xsi:type']).toBe('xnat:mrSessionData');
    expect(item.items[0]?.data_fields).toMatchObject({ label: 'IMP_S1_MR1', date: '2024-05-06', UID: s.uid });

    const experimentId = (uri ?? '').slice((uri ?? '').lastIndexOf('/') + 1);
    const scans = await json<{ ResultSet: { Result: Row[] } }>(
      `/data/experiments/${experimentId}/scans?format=json`,
    );
    expect(scans.ResultSet.Result.map((r) => [r.ID, r.series_description])).toEqual([
      ['1', 'T1w'],
      ['3', 'DWI'],
    ]);
    const files = await json<{ ResultSet: { Result: Row[] } }>(
      `/data/experiments/${experimentId}/scans/3/resources/DICOM/files?format=json`,
    );
    const expected = s.files.filter((f) => f.series === 3).map((f) => md5(f.bytes));
    expect(files.ResultSet.Result.map((r) => r.digest).sort()).toEqual(expected.sort());
    expect(files.ResultSet.Result.every((r) => r.file_format === 'DICOM')).toBe(true);
    const subject = await json<{ items: Array<{ data_fields: Row }> }>(
      '/data/projects/BRAIN_MR/subjects/IMP_S1?format=json',
    );
    expect(subject.items[0]?.data_fields.label).toBe('IMP_S1');
  });

  it('follows the project prearchive code without dest (BRAIN_MR auto-archives), unless prevent_auto_commit', async () => {
    const auto = await uris(
      await importZip('project=BRAIN_MR&subject=AUTO_S&session=AUTO_MR', zipOf(study([[1, 'T1w', 1]]))),
    );
    expect(auto[0]).toMatch(/^\/data\/archive\//);
    const held = await uris(
      await importZip(
        'project=BRAIN_MR&subject=HELD_S&session=HELD_MR&prevent_auto_commit=true',
        zipOf(study([[1, 'T1w', 1]])),
      ),
    );
    expect(held[0]).toMatch(/^\/data\/prearchive\/projects\/BRAIN_MR\/.*\/HELD_MR$/);
    expect((await prearchiveRows()).find((r) => r.name === 'HELD_MR')?.prevent_auto_commit).toBe('true');
  });

  it('answers one URI per study', async () => {
    const lines = await uris(
      await importZip(
        'dest=/prearchive/projects/BRAIN_MR',
        zipOf(study([[1, 'a', 1]]), study([[1, 'b', 1]])),
      ),
    );
    expect(lines).toHaveLength(2);
  });

  it('refuses an existing session without overwrite (409, nothing kept), appends and replaces when asked', async () => {
    const query = 'dest=/archive&PROJECT_ID=BRAIN_MR&SUBJECT_ID=OVR_S&EXPT_LABEL=OVR_MR';
    const patient = { id: 'OVR', name: 'OVR' };
    const [uri] = await uris(await importZip(query, zipOf(study([[1, 'T1w', 2]], patient))));
    const id = (uri ?? '').slice((uri ?? '').lastIndexOf('/') + 1);
    const scanIds = async (): Promise<string[]> =>
      (
        await json<{ ResultSet: { Result: Row[] } }>(`/data/experiments/${id}/scans?format=json`)
      ).ResultSet.Result.map((r) => r.ID ?? '');

    const before = await blobCount();
    const conflict = await importZip(query, zipOf(study([[2, 'T2w', 1]], patient)));
    expect(conflict.status).toBe(409);
    expect(await conflict.text()).toContain('Session already exists');
    expect(await blobCount()).toBe(before);
    expect(await scanIds()).toEqual(['1']);

    const appended = await uris(
      await importZip(`${query}&overwrite=append`, zipOf(study([[2, 'T2w', 1]], patient))),
    );
    expect(appended).toEqual([uri]);
    expect(await scanIds()).toEqual(['1', '2']);

    const replaced = await uris(
      await importZip(`${query}&overwrite=delete`, zipOf(study([[5, 'FLAIR', 1]], patient))),
    );
    expect(replaced).toEqual([uri]);
    expect(await scanIds()).toEqual(['5']);
    // The replaced scans' files left the archive directory.
    expect(await blobCount()).toBe(before - 2 + 1);
  });

  it('reads overwrite= as the SessionImporter of XNAT does: case-insensitive, true merges, override replaces', async () => {
    const query = 'dest=/archive&PROJECT_ID=BRAIN_MR&SUBJECT_ID=OVT_S&EXPT_LABEL=OVT_MR';
    const patient = { id: 'OVT', name: 'OVT' };
    const [uri] = await uris(await importZip(query, zipOf(study([[1, 'T1w', 1]], patient))));
    const id = (uri ?? '').slice((uri ?? '').lastIndexOf('/') + 1);
    const scanIds = async (): Promise<string[]> =>
      (
        await json<{ ResultSet: { Result: Row[] } }>(`/data/experiments/${id}/scans?format=json`)
      ).ResultSet.Result.map((r) => r.ID ?? '');

    // xnat4tests sends overwrite=True: not append/delete/override, so SessionImporter merges.
    const merged = await importZip(`${query}&overwrite=True`, zipOf(study([[2, 'T2w', 1]], patient)));
    expect(merged.status).toBe(200);
    expect(await uris(merged)).toEqual([uri]);
    expect(await scanIds()).toEqual(['1', '2']);
    expect(
      await uris(await importZip(`${query}&overwrite=APPEND`, zipOf(study([[3, 'DWI', 1]], patient)))),
    ).toEqual([uri]);
    expect(await scanIds()).toEqual(['1', '2', '3']);
    expect(
      await uris(await importZip(`${query}&overwrite=Override`, zipOf(study([[4, 'FLAIR', 1]], patient)))),
    ).toEqual([uri]);
    expect(await scanIds()).toEqual(['4']);
  });

  it('quarantines on request', async () => {
    const [uri] = await uris(
      await importZip(
        'dest=/archive&PROJECT_ID=BRAIN_MR&SUBJECT_ID=Q_S&EXPT_LABEL=Q_MR&quarantine=true',
        zipOf(study([[1, 'T1w', 1]])),
      ),
    );
    const id = (uri ?? '').slice((uri ?? '').lastIndexOf('/') + 1);
    expect(sb.archive.experiments.get(id)?.status).toBe('quarantine');
  });

  it('accepts the zip as the one file of a multipart upload, and refuses two files', async () => {
    const form = new FormData();
    form.append('file', new Blob([zipOf(study([[1, 'T1w', 1]]))]), 'session.zip');
    const response = await call(
      'POST',
      '/data/services/import?dest=/prearchive/projects/BRAIN_MR&inbody=false',
      {
        body: form,
      },
    );
    expect((await uris(response))[0]).toMatch(/^\/data\/prearchive\//);

    const two = new FormData();
    two.append('file', new Blob([zipOf(study([[1, 'a', 1]]))]), 'a.zip');
    two.append('file', new Blob([zipOf(study([[1, 'b', 1]]))]), 'b.zip');
    const refused = await call('POST', '/data/services/import?dest=/prearchive/projects/BRAIN_MR', {
      body: two,
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('Importer is limited to one uploaded resource at a time.');
  });

  it('refuses collaborators (403) and bad input with clear errors', async () => {
    const zip = zipOf(study([[1, 'T1w', 1]]));
    const before = await blobCount();
    expect((await importZip('dest=/prearchive/projects/BRAIN_MR', zip, 'carol')).status).toBe(403);
    expect((await importZip('dest=/archive/projects/NO_SUCH', zip)).status).toBe(404);
    expect((await importZip('import-handler=bogus&dest=/prearchive/projects/BRAIN_MR', zip)).status).toBe(
      404,
    );
    const empty = await call('POST', '/data/services/import?dest=/prearchive/projects/BRAIN_MR');
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('Unable to identify upload format.');
    const noDicom = await importZip(
      'dest=/prearchive/projects/BRAIN_MR',
      createZip([{ name: 'readme.txt', data: Buffer.from('not dicom'), modified: 0 }]),
    );
    expect(noDicom.status).toBe(400);
    expect(await noDicom.text()).toContain('No DICOM files');
    const slip = await importZip(
      'dest=/prearchive/projects/BRAIN_MR',
      createZip([{ name: '../../evil.dcm', data: Buffer.from('x'), modified: 0 }]),
    );
    expect(slip.status).toBe(400);
    expect((await importZip('dest=/archive', zip)).status).toBe(400);
    const bareDicom = await call('POST', '/data/services/import?dest=/prearchive/projects/BRAIN_MR', {
      body: study([[1, 'T1w', 1]]).files[0]?.bytes ?? Buffer.alloc(0),
      headers: { 'Content-Type': 'application/dicom' },
    });
    expect(bareDicom.status).toBe(400);
    expect(await bareDicom.text()).toContain('zip');
    expect(await blobCount()).toBe(before);
  });
});

describe('prearchive sessions', () => {
  async function staged(project = 'BRAIN_MR'): Promise<{ uri: string; study: Study }> {
    const s = study([[1, 'T1w', 2]]);
    const [uri] = await uris(await importZip(`dest=/prearchive/projects/${project}`, zipOf(s)));
    return { uri: uri ?? '', study: s };
  }

  it('lists the scans, resources and files of a session and serves the files, as PrearcSessionResourceFiles does', async () => {
    const s = study([
      [1, 'T1w', 2],
      [2, 'BOLD rest', 1],
    ]);
    const [uri = ''] = await uris(await importZip('dest=/prearchive/projects/BRAIN_MR', zipOf(s)));
    const table = async (path: string): Promise<{ Result: Row[] } & Record<string, unknown>> =>
      (await json<{ ResultSet: { Result: Row[] } & Record<string, unknown> }>(`${path}?format=json`))
        .ResultSet;

    const scans = await table(`${uri}/scans`);
    expect(scans.Result).toEqual([
      { ID: '1', xsiType: 'xnat:mrScanData', series_description: 'T1w' },
      { ID: '2', xsiType: 'xnat:mrScanData', series_description: 'BOLD rest' },
    ]);
    expect(scans.totalRecords).toBeUndefined();
    const resources = await table(`${uri}/resources`);
    expect(resources.Result.map((r) => [r.category, r.cat_id, r.label, r.file_count])).toEqual([
      ['scans', '1', 'DICOM', '2'],
      ['scans', '2', 'DICOM', '1'],
    ]);
    const scanResources = (await table(`${uri}/scans/1/resources`)).Result;
    const t1Files = s.files.filter((f) => f.series === 1);
    expect(scanResources).toEqual([
      {
        label: 'DICOM',
        file_count: '2',
        file_size: String(t1Files.reduce((sum, f) => sum + f.bytes.length, 0)),
      },
    ]);

    const files = (await table(`${uri}/scans/1/resources/DICOM/files`)).Result;
    expect(files).toHaveLength(2);
    for (const file of files) {
      expect(Object.keys(file)).toEqual(['Name', 'Size', 'URI']);
      expect(file.URI).toBe(`${uri}/scans/1/resources/DICOM/files/${file.Name}`);
      const download = await call('GET', file.URI ?? '');
      expect(download.status).toBe(200);
      const bytes = Buffer.from(await download.arrayBuffer());
      expect(String(bytes.length)).toBe(file.Size);
      expect(t1Files.map((f) => md5(f.bytes))).toContain(md5(bytes));
    }

    const missingFile = await call('GET', `${uri}/scans/1/resources/DICOM/files/nope.dcm`);
    expect(missingFile.status).toBe(400);
    expect(await missingFile.text()).toBe('');
    expect((await call('GET', `${uri}/scans/9/resources?format=json`)).status).toBe(404);
    expect((await call('GET', `${uri}/scans/1/resources/NIFTI/files?format=json`)).status).toBe(404);
    expect((await call('GET', `${uri}/scans?format=json`, { login: 'carol' })).status).toBe(403);
  });

  it('moves with action=move: 301, the new URI in the body and no Location header', async () => {
    const { uri, study: s } = await staged();
    const moved = await call('POST', `${uri}?action=move&newProject=PET_AMYLOID`);
    expect(moved.status).toBe(301);
    expect(moved.headers.get('location')).toBeNull();
    const newUri = await moved.text();
    expect(newUri).toBe(uri.replace('/BRAIN_MR/', '/PET_AMYLOID/'));
    expect((await prearchiveRows('/data/prearchive/projects/PET_AMYLOID')).map((r) => r.tag)).toContain(
      s.uid,
    );
    expect((await call('GET', `${uri}?format=json`)).status).toBe(404);
    // carol does not edit PET_AMYLOID.
    expect((await call('POST', `${newUri}?action=move&newProject=BRAIN_MR`, { login: 'carol' })).status).toBe(
      403,
    );
  });

  it('archives through /data/services/archive with project, subject and label: 200 and the archive URI', async () => {
    const { uri, study: s } = await staged();
    const src = uri.replace(/^\/data/, '');
    const response = await call(
      'POST',
      `/data/services/archive?src=${encodeURIComponent(src)}&project=BRAIN_MR&subject=ARC_S&session=ARC_MR`,
    );
    expect(response.status).toBe(200);
    const archived = await response.text();
    expect(archived).toMatch(
      /^\/data\/archive\/projects\/BRAIN_MR\/subjects\/XNAT_S\d+\/experiments\/XNAT_E\d+$/,
    );
    expect((await prearchiveRows()).map((r) => r.tag)).not.toContain(s.uid);
    const item = await json<{ items: Array<{ data_fields: Row }> }>(`${archived}?format=json`);
    expect(item.items[0]?.data_fields.label).toBe('ARC_MR');
    // Archiving again: the session is gone from the prearchive.
    expect((await call('POST', `/data/services/archive?src=${encodeURIComponent(src)}`)).status).toBe(404);
  });

  it('redirects with redirect=true (303 to the archive URI)', async () => {
    const { uri } = await staged();
    const response = await call(
      'POST',
      `/data/services/archive?src=${encodeURIComponent(uri)}&subject=RED_S&session=RED_MR&redirect=true`,
    );
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/data\/archive\/projects\/BRAIN_MR\/subjects\//);
  });

  it('commits: 200 with the prearchive URI, or 301 with the archive URI when auto-archiving', async () => {
    const { uri } = await staged();
    const plain = await call('POST', `${uri}?action=commit`);
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe(uri);
    const auto = await call('POST', `${uri}?action=commit&AA=true`);
    expect(auto.status).toBe(301);
    expect(await auto.text()).toMatch(/^\/data\/archive\/projects\/BRAIN_MR\//);
  });

  it('rebuilds, sets status, downloads as zip and deletes (files leave the archive directory)', async () => {
    const { uri, study: s } = await staged();
    expect((await call('POST', `${uri}?action=set-status&status=ERROR`)).status).toBe(200);
    expect((await prearchiveRows()).find((r) => r.tag === s.uid)?.status).toBe('ERROR');
    expect((await call('POST', `${uri}?action=build`)).status).toBe(200);
    expect((await prearchiveRows()).find((r) => r.tag === s.uid)?.status).toBe('READY');
    expect((await call('POST', `${uri}?action=explode`)).status).toBe(400);

    const zip = await call('GET', `${uri}?format=zip`);
    expect(zip.status).toBe(200);
    expect(zip.headers.get('content-type')).toBe('application/zip');

    const before = await blobCount();
    expect((await call('DELETE', uri, { login: 'carol' })).status).toBe(403);
    expect((await call('DELETE', uri)).status).toBe(200);
    expect(await blobCount()).toBe(before - s.files.length);
    expect((await call('GET', `${uri}?format=json`)).status).toBe(404);
  });

  it('batch services move, rebuild and delete several sessions by src', async () => {
    const a = await staged();
    const b = await staged();
    const src = (u: string): string => `src=${encodeURIComponent(u.replace(/^\/data/, ''))}`;
    const moved = await call(
      'POST',
      `/data/services/prearchive/move?${src(a.uri)}&${src(b.uri)}&newProject=PET_AMYLOID`,
    );
    expect(moved.status).toBe(200);
    const rows = ((await moved.json()) as { ResultSet: { Result: Row[] } }).ResultSet.Result;
    expect(rows.map((r) => r.project)).toEqual(['PET_AMYLOID', 'PET_AMYLOID']);
    const movedA = a.uri.replace('/BRAIN_MR/', '/PET_AMYLOID/');
    const movedB = b.uri.replace('/BRAIN_MR/', '/PET_AMYLOID/');
    expect((await call('POST', `/data/services/prearchive/rebuild?${src(movedA)}`)).status).toBe(200);
    // Form-encoded bodies carry the parameters too (pyxnat).
    const deleted = await call('POST', '/data/services/prearchive/delete', {
      body: `${src(movedA)}&${src(movedB)}`,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(deleted.status).toBe(200);
    const tags = (await prearchiveRows('/data/prearchive/projects/PET_AMYLOID')).map((r) => r.tag);
    expect(tags).not.toContain(a.study.uid);
    expect(tags).not.toContain(b.study.uid);
  });

  it('shows each user the prearchive of the projects they edit only', async () => {
    const { study: s } = await staged();
    expect((await prearchiveRows('/data/prearchive/projects', 'carol')).map((r) => r.tag)).not.toContain(
      s.uid,
    );
    expect(
      (await call('GET', '/data/prearchive/projects/BRAIN_MR?format=json', { login: 'carol' })).status,
    ).toBe(403);
    expect((await prearchiveRows('/data/prearchive/projects', 'bob')).map((r) => r.tag)).toContain(s.uid);
    expect((await call('GET', '/data/prearchive/projects/NOPE?format=json')).status).toBe(404);
  });

  it('keeps sessions without a project in Unassigned, visible to admins only', async () => {
    const s = study([[1, 'T1w', 1]]);
    const [uri] = await uris(await importZip('dest=/prearchive', zipOf(s)));
    expect(uri).toMatch(/^\/data\/prearchive\/projects\/Unassigned\//);
    expect((await prearchiveRows('/data/prearchive/projects', 'admin')).map((r) => r.tag)).toContain(s.uid);
    expect((await prearchiveRows()).map((r) => r.tag)).not.toContain(s.uid);
    const archived = await call(
      'POST',
      `/data/services/archive?src=${encodeURIComponent(uri ?? '')}&project=BRAIN_MR&subject=UN_S&session=UN_MR`,
      { login: 'admin' },
    );
    expect(archived.status).toBe(200);
  });
});

describe('dicomdump of a prearchive session', () => {
  it('dumps a scan and one named file of a session waiting in the prearchive', async () => {
    const s = study([[3, 'T1w', 2]]);
    const [uri] = await uris(await importZip('dest=/prearchive/projects/BRAIN_MR', zipOf(s)));
    const src = (uri ?? '').replace(/^\/data/, '');
    const value = (rows: Row[], tag: string): string | undefined => rows.find((r) => r.tag1 === tag)?.value;
    const scan = await json<{ ResultSet: { Result: Row[] } }>(
      `/data/services/dicomdump?src=${encodeURIComponent(`${src}/scans/3`)}`,
    );
    expect(value(scan.ResultSet.Result, '(0020,0013)')).toBe('1');
    expect(value(scan.ResultSet.Result, '(0018,0087)')).toBe('3');
    const files = await json<{ ResultSet: { Result: Array<{ Name: string }> } }>(
      `${uri}/scans/3/resources/DICOM/files?format=json`,
    );
    // Catalog order is the order the zip listed them: the second instance second.
    const second = files.ResultSet.Result[1]?.Name;
    const file = await json<{ ResultSet: { Result: Row[] } }>(
      `/data/services/dicomdump?src=${encodeURIComponent(`${src}/scans/3/resources/DICOM/files/${second}`)}`,
    );
    expect(value(file.ResultSet.Result, '(0020,0013)')).toBe('2');
  });
});
