/**
 * Item writes over HTTP (§4, §5 of the XNAT reference): creates, updates, renames, sharing,
 * quarantine and deletes of projects, subjects, experiments, scans and assessors, against the demo
 * archive where alice owns BRAIN_MR, bob is a member and carol a collaborator.
 */
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { demoBasic } from './fixture.js';
import type { StoredExperiment, StoredSubject } from '../../src/sandbox/model.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startSandbox({ archive: createDemoArchive() });
});
afterAll(async () => {
  await sb.close();
});

interface Answer {
  status: number;
  text: string;
  contentType: string;
}

async function call(
  method: string,
  login: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${sb.url}${path}`, {
    method,
    headers: { Authorization: demoBasic(login), ...headers },
    ...(body === undefined ? {} : { body }),
  });
  return {
    status: response.status,
    text: await response.text(),
    contentType: response.headers.get('content-type') ?? '',
  };
}

/** The message of a Restlet status page (`<h3>...</h3>`). */
function message(answer: Answer): string {
  return /<h3>([\s\S]*?)<\/h3>/.exec(answer.text)?.[1] ?? answer.text;
}

interface ItemNode {
  meta: Record<string, unknown>;
  data_fields: Record<string, unknown>;
  children: Array<{ field: string; items: ItemNode[] }>;
}

async function item(login: string, path: string): Promise<ItemNode> {
  const answer = await call('GET', login, `${path}${path.includes('?') ? '&' : '?'}format=json`);
  expect(answer.status, answer.text).toBe(200);
  return (JSON.parse(answer.text) as { items: ItemNode[] }).items[0] as ItemNode;
}

function children(node: ItemNode, field: string): ItemNode[] {
  return node.children.find((c) => c.field === field)?.items ?? [];
}

async function rows(login: string, path: string): Promise<Array<Record<string, string>>> {
  const answer = await call('GET', login, `${path}${path.includes('?') ? '&' : '?'}format=json`);
  expect(answer.status, answer.text).toBe(200);
  return (JSON.parse(answer.text) as { ResultSet: { Result: Array<Record<string, string>> } }).ResultSet
    .Result;
}

async function status(login: string, path: string): Promise<string> {
  const answer = await call('GET', login, `${path}/status`);
  expect(answer.status).toBe(200);
  return answer.text;
}

const subjectRecord = (id: string): StoredSubject | undefined => sb.archive.subjects.get(id);
const experimentRecord = (id: string): StoredExperiment | undefined => sb.archive.experiments.get(id);

/** A fresh subject in BRAIN_MR (alice owns the project). */
async function newSubject(label: string, query = ''): Promise<string> {
  const answer = await call('PUT', 'alice', `/data/projects/BRAIN_MR/subjects/${label}${query}`);
  expect(answer.status, answer.text).toBe(201);
  return answer.text;
}

/** A fresh MR session (and its subject) in BRAIN_MR. */
async function newSession(subject: string, label: string, query = ''): Promise<string> {
  const answer = await call(
    'PUT',
    'alice',
    `/data/projects/BRAIN_MR/subjects/${subject}/experiments/${label}?xsiType=xnat:mrSessionData${query}`,
  );
  expect(answer.status, answer.text).toBe(201);
  return answer.text;
}

describe('subjects', () => {
  it('creates with 201 and the new accession ID, updates with 200 and the same ID', async () => {
    const expectedId = `XNAT_S${String(sb.archive.sequences.subject).padStart(5, '0')}`;
    const created = await call(
      'PUT',
      'alice',
      '/data/projects/BRAIN_MR/subjects/W_SUBJ1?gender=female&group=control' +
        `&${encodeURIComponent('xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/yob')}=1980` +
        `&${encodeURIComponent('xnat:subjectData/fields/field[name=site]/field')}=north&event_reason=curation`,
    );
    expect(created.status).toBe(201);
    expect(created.text).toBe(expectedId);
    const node = await item('alice', '/data/projects/BRAIN_MR/subjects/W_SUBJ1');
    expect(node.data_fields).toMatchObject({
      ID: expectedId,
      label: 'W_SUBJ1',
      project: 'BRAIN_MR',
      group: 'control',
    });
    expect(children(node, 'demographics')[0]?.data_fields).toMatchObject({ gender: 'female', yob: 1980 });
    expect(children(node, 'fields/field').map((f) => f.data_fields)).toEqual([
      { name: 'site', field: 'north' },
    ]);
    expect(subjectRecord(expectedId)?.fields).not.toHaveProperty('event_reason');

    const updated = await call(
      'PUT',
      'alice',
      '/data/projects/BRAIN_MR/subjects/W_SUBJ1?handedness=left&gender=male',
    );
    expect(updated).toMatchObject({ status: 200, text: expectedId });
    expect(subjectRecord(expectedId)?.demographics).toMatchObject({
      gender: 'male',
      handedness: 'left',
      yob: 1980,
    });
  });

  it('answers 400 with the validation text for values the schema refuses', async () => {
    const gender = await call('PUT', 'alice', '/data/projects/BRAIN_MR/subjects/W_BAD?gender=robot');
    expect(gender.status).toBe(400);
    expect(message(gender)).toContain('gender');
    const yob = await call('PUT', 'alice', '/data/projects/BRAIN_MR/subjects/W_BAD?yob=nineteen');
    expect(yob.status).toBe(400);
    expect([...sb.archive.subjects.values()].some((s) => s.label === 'W_BAD')).toBe(false);
  });

  it('never reuses an accession ID after a delete', async () => {
    const first = await newSubject('W_SEQ1');
    expect(
      (await call('DELETE', 'alice', '/data/projects/BRAIN_MR/subjects/W_SEQ1?removeFiles=true')).status,
    ).toBe(200);
    const second = await newSubject('W_SEQ1');
    expect(second).not.toBe(first);
    expect(Number(second.slice(-5))).toBeGreaterThan(Number(first.slice(-5)));
  });

  it('creates from the list with POST (200 and the URL) and refuses an existing label with 409', async () => {
    const created = await call(
      'POST',
      'alice',
      '/data/projects/BRAIN_MR/subjects?label=W_LIST1&gender=female',
    );
    expect(created.status).toBe(200);
    expect(created.text).toMatch(new RegExp(`^${sb.url}/data/projects/BRAIN_MR/subjects/XNAT_S\\d{5}$`));
    const again = await call('POST', 'alice', '/data/projects/BRAIN_MR/subjects?label=W_LIST1');
    expect(again.status).toBe(409);
    expect(message(again)).toBe('Subject already exists.');
  });

  it('reads an XML document body, and refuses malformed XML (422) and ID changes (400)', async () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<xnat:Subject xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" group="patient">' +
      '<xnat:demographics xsi:type="xnat:demographicData"><xnat:gender>female</xnat:gender><xnat:yob>1975</xnat:yob></xnat:demographics>' +
      '<xnat:fields><xnat:field name="cohort">B</xnat:field></xnat:fields></xnat:Subject>';
    const created = await call('PUT', 'alice', '/data/projects/BRAIN_MR/subjects/W_XML1', xml, {
      'Content-Type': 'text/xml',
    });
    expect(created.status, created.text).toBe(201);
    const subject = subjectRecord(created.text);
    expect(subject).toMatchObject({ label: 'W_XML1', group: 'patient', fields: { cohort: 'B' } });
    expect(subject?.demographics).toMatchObject({ gender: 'female', yob: 1975 });

    const broken = await call(
      'PUT',
      'alice',
      '/data/projects/BRAIN_MR/subjects/W_XML1',
      '<xnat:Subject><oops>',
      {
        'Content-Type': 'text/xml',
      },
    );
    expect(broken.status).toBe(422);
    const otherId = await call(
      'PUT',
      'alice',
      '/data/projects/BRAIN_MR/subjects/W_XML1',
      '<xnat:Subject xmlns:xnat="http://nrg.wustl.edu/xnat" ID="XNAT_S99999"/>',
      { 'Content-Type': 'application/xml' },
    );
    expect(otherId.status).toBe(400);
    expect(message(otherId)).toBe('ID cannot be modified');
    const otherProject = await call(
      'PUT',
      'alice',
      '/data/projects/BRAIN_MR/subjects/W_XML1',
      '<xnat:Subject xmlns:xnat="http://nrg.wustl.edu/xnat" project="PET_AMYLOID"/>',
      { 'Content-Type': 'application/xml' },
    );
    expect(otherProject.status).toBe(409);
    expect(message(otherProject)).toBe('Project must be modified through separate URI.');
  });

  it('reads form bodies (req_format=form)', async () => {
    const created = await call(
      'PUT',
      'alice',
      '/data/projects/BRAIN_MR/subjects/W_FORM1?req_format=form',
      'gender=female&src=referral',
      { 'Content-Type': 'application/x-www-form-urlencoded' },
    );
    expect(created.status).toBe(201);
    expect(subjectRecord(created.text)).toMatchObject({
      src: 'referral',
      demographics: { gender: 'female' },
    });
  });

  it('renames with ?label= and answers 409 when the label is taken', async () => {
    const id = await newSubject('W_REN1');
    await newSubject('W_REN_TAKEN');
    const renamed = await call('PUT', 'alice', '/data/projects/BRAIN_MR/subjects/W_REN1?label=W_REN2');
    expect(renamed.status).toBe(200);
    expect((await item('alice', '/data/projects/BRAIN_MR/subjects/W_REN2')).data_fields.ID).toBe(id);
    expect((await call('GET', 'alice', '/data/projects/BRAIN_MR/subjects/W_REN1?format=json')).status).toBe(
      404,
    );
    const taken = await call('PUT', 'alice', `/data/subjects/${id}?label=W_REN_TAKEN`);
    expect(taken.status).toBe(409);
    expect(message(taken)).toBe('Specified label is already in use.');
    expect(subjectRecord(id)?.label).toBe('W_REN2');
  });
});

describe('experiments', () => {
  it('creates any session type with 201 + ID, auto-creating a missing subject, and updates with 200 + ID', async () => {
    const subjectsBefore = sb.archive.subjects.size;
    const created = await call(
      'PUT',
      'alice',
      '/data/projects/BRAIN_MR/subjects/W_AUTO1/experiments/W_AUTO1_PET?xsiType=xnat:petSessionData' +
        '&xnat:petSessionData/date=2023-04-05&visit_id=V1&note=first' +
        `&${encodeURIComponent('xnat:petSessionData/fields/field[name=tracer_batch]/field')}=B7`,
    );
    expect(created.status, created.text).toBe(201);
    expect(created.text).toMatch(/^XNAT_E\d{5}$/);
    expect(sb.archive.subjects.size).toBe(subjectsBefore + 1);
    const subject = [...sb.archive.subjects.values()].find((s) => s.label === 'W_AUTO1');
    const node = await item('alice', `/data/experiments/${created.text}`);
    expect(node.meta['xsi:type']).toBe('xnat:petSessionData');
    expect(node.data_fields).toMatchObject({
      label: 'W_AUTO1_PET',
      project: 'BRAIN_MR',
      date: '2023-04-05',
      visit_id: 'V1',
      note: 'first',
      subject_ID: subject?.id,
    });
    expect(children(node, 'fields/field').map((f) => f.data_fields)).toEqual([
      { name: 'tracer_batch', field: 'B7' },
    ]);

    const updated = await call(
      'PUT',
      'alice',
      `/data/projects/BRAIN_MR/experiments/W_AUTO1_PET?xsiType=xnat:petSessionData&time=10:11:12&acquisition_site=North`,
    );
    expect(updated).toMatchObject({ status: 200, text: created.text });
    expect(experimentRecord(created.text)).toMatchObject({
      time: '10:11:12',
      acquisitionSite: 'North',
      date: '2023-04-05',
    });
  });

  it('answers 417 without contents, 422 for a non-session type and 400 for a bad date', async () => {
    const none = await call('PUT', 'alice', '/data/projects/BRAIN_MR/subjects/W_AUTO1/experiments/W_NONE');
    expect(none.status).toBe(417);
    expect(message(none)).toBe('Need PUT Contents');
    const scanType = await call(
      'PUT',
      'alice',
      '/data/projects/BRAIN_MR/subjects/W_AUTO1/experiments/W_NONE?xsiType=xnat:mrScanData',
    );
    expect(scanType.status).toBe(422);
    // Types that do not extend xnat:subjectAssessorData in the data-type table, whatever their names say.
    for (const type of ['xnat:reconstructedImageData', 'xnat:investigatorData', 'xnat:qcAssessmentData']) {
      const notAssessor = await call(
        'PUT',
        'alice',
        `/data/projects/BRAIN_MR/subjects/W_AUTO1/experiments/W_NONE?xsiType=${type}`,
      );
      expect(notAssessor.status, type).toBe(422);
    }
    const badDate = await call(
      'PUT',
      'alice',
      '/data/projects/BRAIN_MR/subjects/W_AUTO1/experiments/W_NONE?xsiType=xnat:mrSessionData&date=2023-02-30',
    );
    expect(badDate.status).toBe(400);
    expect(message(badDate)).toContain('date');
    expect([...sb.archive.experiments.values()].some((e) => e.label === 'W_NONE')).toBe(false);
  });

  it("POST to a missing subject's experiment list is 404; to an existing one 200 + URL, then 409", async () => {
    const missing = await call(
      'POST',
      'alice',
      '/data/projects/BRAIN_MR/subjects/NO_SUCH_SUBJECT/experiments?xsiType=xnat:mrSessionData&label=W_POST1',
    );
    expect(missing.status).toBe(404);
    await newSubject('W_POSTS');
    const created = await call(
      'POST',
      'alice',
      '/data/projects/BRAIN_MR/subjects/W_POSTS/experiments?xsiType=xnat:ctSessionData&label=W_POST1',
    );
    expect(created.status).toBe(200);
    expect(created.text).toMatch(/\/data\/projects\/BRAIN_MR\/subjects\/W_POSTS\/experiments\/XNAT_E\d{5}$/);
    const again = await call(
      'POST',
      'alice',
      '/data/projects/BRAIN_MR/subjects/W_POSTS/experiments?xsiType=xnat:ctSessionData&label=W_POST1',
    );
    expect(again.status).toBe(409);
    expect(message(again)).toBe('Specified experiment already exists.');
  });

  it('accepts a session document as a multipart .xml part (pyxnat), scans included', async () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<xnat:MRSession xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" UID="1.2.3.4">' +
      '<xnat:date>2022-11-12</xnat:date><xnat:scanner manufacturer="SIEMENS" model="Prisma"/>' +
      '<xnat:fieldStrength>3.0</xnat:fieldStrength>' +
      '<xnat:scans><xnat:scan ID="7" type="T2w" xsi:type="xnat:mrScanData"><xnat:quality>usable</xnat:quality>' +
      '<xnat:series_description>T2 SPACE</xnat:series_description><xnat:frames>160</xnat:frames></xnat:scan></xnat:scans>' +
      '</xnat:MRSession>';
    const boundary = 'pyxnatBoundary42';
    const body =
      `--${boundary}\r\nContent-Disposition: form-data; name="data.xml"; filename="data.xml"\r\n` +
      `Content-Type: text/xml\r\n\r\n${xml}\r\n--${boundary}--\r\n`;
    const created = await call(
      'PUT',
      'alice',
      '/data/projects/BRAIN_MR/subjects/W_XMLS/experiments/W_XMLS_MR?allowDataDeletion=true',
      body,
      { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    );
    expect(created.status, created.text).toBe(201);
    const session = experimentRecord(created.text);
    expect(session).toMatchObject({ xsiType: 'xnat:mrSessionData', label: 'W_XMLS_MR', date: '2022-11-12' });
    expect(session?.attributes).toMatchObject({
      UID: '1.2.3.4',
      'scanner/manufacturer': 'SIEMENS',
      'scanner/model': 'Prisma',
      fieldStrength: '3.0',
    });
    const scans = await rows('alice', `/data/experiments/${created.text}/scans`);
    expect(scans.map((s) => [s.ID, s.type, s.quality, s.series_description, s.xsiType])).toEqual([
      ['7', 'T2w', 'usable', 'T2 SPACE', 'xnat:mrScanData'],
    ]);
    const relabel = await call(
      'PUT',
      'alice',
      `/data/experiments/${created.text}`,
      '<xnat:MRSession xmlns:xnat="http://nrg.wustl.edu/xnat" label="OTHER"/>',
      { 'Content-Type': 'text/xml' },
    );
    expect(relabel.status).toBe(400);
    expect(message(relabel)).toBe('Label must be modified through separate URI.');
    // Query xpaths are loaded over the stored session too (pyxnat's attrs.set): a new label is refused,
    // the same label is no change.
    const byXpath = await call(
      'PUT',
      'alice',
      `/data/experiments/${created.text}?xsiType=xnat:mrSessionData&xnat:mrSessionData/label=OTHER`,
    );
    expect(byXpath.status).toBe(400);
    expect(message(byXpath)).toBe('Label must be modified through separate URI.');
    const same = await call(
      'PUT',
      'alice',
      `/data/experiments/${created.text}?xsiType=xnat:mrSessionData&xnat:mrSessionData/label=W_XMLS_MR&xnat:mrSessionData/note=kept`,
    );
    expect(same.status).toBe(200);
    expect(experimentRecord(created.text)).toMatchObject({ label: 'W_XMLS_MR', note: 'kept' });
  });

  it('creates through the contextless URL when the project and subject are named in parameters', async () => {
    const subjectId = await newSubject('W_CTX');
    const missing = await call('PUT', 'alice', '/data/experiments/W_CTX_MR?xsiType=xnat:mrSessionData');
    expect(missing.status).toBe(422);
    expect(message(missing)).toBe('Submitted experiment record must include the project attribute.');
    const noSubject = await call(
      'PUT',
      'alice',
      '/data/experiments/W_CTX_MR?xsiType=xnat:mrSessionData&project=BRAIN_MR',
    );
    expect(noSubject.status).toBe(422);
    expect(message(noSubject)).toBe('Submitted experiment record must include the subject.');
    const created = await call(
      'PUT',
      'alice',
      `/data/experiments/W_CTX_MR?xsiType=xnat:mrSessionData&project=BRAIN_MR&subject_ID=${subjectId}`,
    );
    expect(created.status).toBe(201);
    expect(experimentRecord(created.text)).toMatchObject({
      label: 'W_CTX_MR',
      project: 'BRAIN_MR',
      subjectId,
    });
  });

  it('renames with ?label=, 409 when taken', async () => {
    const id = await newSession('W_RENS', 'W_RENS_MR1');
    await newSession('W_RENS', 'W_RENS_MR2');
    const renamed = await call(
      'PUT',
      'alice',
      `/data/projects/BRAIN_MR/experiments/W_RENS_MR1?label=W_RENS_MR3`,
    );
    expect(renamed.status).toBe(200);
    expect(experimentRecord(id)?.label).toBe('W_RENS_MR3');
    const taken = await call(
      'PUT',
      'alice',
      `/data/projects/BRAIN_MR/experiments/W_RENS_MR3?label=W_RENS_MR2`,
    );
    expect(taken.status).toBe(409);
    expect(message(taken)).toBe('Specified label is already in use.');
  });
});

describe('scans and assessors', () => {
  it('creates and updates scans with 200 and an empty body', async () => {
    const session = await newSession('W_SCANS', 'W_SCANS_MR');
    const base = `/data/projects/BRAIN_MR/subjects/W_SCANS/experiments/W_SCANS_MR/scans`;
    const created = await call(
      'PUT',
      'alice',
      `${base}/3?xsiType=xnat:mrScanData&type=T1w&quality=usable&frames=176`,
    );
    expect(created).toMatchObject({ status: 200, text: '' });
    const update = await call('PUT', 'alice', `${base}/3?quality=questionable&series_description=MPRAGE`);
    expect(update).toMatchObject({ status: 200, text: '' });
    const scan = experimentRecord(session)?.scans.find((s) => s.id === '3');
    expect(scan).toMatchObject({
      xsiType: 'xnat:mrScanData',
      type: 'T1w',
      quality: 'questionable',
      seriesDescription: 'MPRAGE',
      frames: 176,
    });
  });

  it('answers 400 for a new scan with fields but no xsiType, 417 with nothing, 409 on a type change', async () => {
    await newSession('W_SCANS', 'W_SCANS_MR2');
    const base = `/data/experiments/${[...sb.archive.experiments.values()].find((e) => e.label === 'W_SCANS_MR2')?.id}/scans`;
    const untyped = await call('PUT', 'alice', `${base}/1?type=T1w`);
    expect(untyped.status).toBe(400);
    expect(message(untyped)).toContain('Multiple scan modalities');
    expect((await call('PUT', 'alice', `${base}/1`)).status).toBe(417);
    expect((await call('PUT', 'alice', `${base}/1?xsiType=xnat:mrScanData`)).status).toBe(200);
    const changed = await call('PUT', 'alice', `${base}/1?xsiType=xnat:ctScanData`);
    expect(changed.status).toBe(409);
    expect(message(changed)).toBe('Specified xsiType differs from existing xsiType');
  });

  it('creates image assessors with 201 + ID and updates them with 200 + ID', async () => {
    const session = await newSession('W_ASSESS', 'W_ASSESS_MR');
    const path = `/data/experiments/${session}/assessors/W_ASSESS_QC?xsiType=xnat:qcManualAssessorData&xnat:qcManualAssessorData/pass=1`;
    const created = await call('PUT', 'alice', path);
    expect(created.status, created.text).toBe(201);
    expect(experimentRecord(created.text)).toMatchObject({
      imageSessionId: session,
      label: 'W_ASSESS_QC',
      project: 'BRAIN_MR',
      attributes: { pass: '1' },
    });
    const assessors = await rows('alice', `/data/experiments/${session}/assessors`);
    expect(assessors.map((a) => a.ID)).toEqual([created.text]);
    const updated = await call(
      'PUT',
      'alice',
      `/data/experiments/${session}/assessors/W_ASSESS_QC?note=checked`,
    );
    expect(updated).toMatchObject({ status: 200, text: created.text });
    expect(experimentRecord(created.text)?.note).toBe('checked');
  });
});

describe('permissions', () => {
  it('lets a collaborator read but not create, edit, quarantine or delete (403)', async () => {
    const session = await newSession('W_PERM', 'W_PERM_MR');
    const createSubject = await call('PUT', 'carol', '/data/projects/BRAIN_MR/subjects/W_CAROL');
    expect(createSubject.status).toBe(403);
    const createSession = await call(
      'PUT',
      'carol',
      '/data/projects/BRAIN_MR/subjects/W_PERM/experiments/W_CAROL_MR?xsiType=xnat:mrSessionData',
    );
    expect(createSession.status).toBe(403);
    const edit = await call('PUT', 'carol', `/data/projects/BRAIN_MR/experiments/W_PERM_MR?note=carol`);
    expect(edit.status).toBe(403);
    expect(message(edit)).toBe(
      'Specified user account has insufficient edit privileges for experiments in this project.',
    );
    const scan = await call('PUT', 'carol', `/data/experiments/${session}/scans/1?xsiType=xnat:mrScanData`);
    expect(scan.status).toBe(403);
    expect((await call('DELETE', 'carol', `/data/experiments/${session}`)).status).toBe(403);
    expect(experimentRecord(session)?.note).toBe('');
    expect([...sb.archive.subjects.values()].some((s) => s.label === 'W_CAROL')).toBe(false);
  });

  it('refuses edits of existing subjects and experiments alike: 403 (in their own words), 409 project, 400 ID', async () => {
    const session = await newSession('W_SAME', 'W_SAME_MR');
    const subjectEdit = await call('PUT', 'carol', '/data/projects/BRAIN_MR/subjects/W_SAME?gender=male');
    expect(subjectEdit.status).toBe(403);
    expect(message(subjectEdit)).toBe(
      'Specified user account has insufficient edit privileges for subjects in this project.',
    );
    const renameAsCarol = await call(
      'PUT',
      'carol',
      '/data/projects/BRAIN_MR/experiments/W_SAME_MR?label=W_X',
    );
    expect(renameAsCarol.status).toBe(403);
    expect(experimentRecord(session)?.label).toBe('W_SAME_MR');
    const xml = (attributes: string): string =>
      `<xnat:MRSession xmlns:xnat="http://nrg.wustl.edu/xnat" ${attributes}/>`;
    const otherId = await call(
      'PUT',
      'alice',
      `/data/projects/BRAIN_MR/experiments/W_SAME_MR`,
      xml('ID="XNAT_E99999"'),
      {
        'Content-Type': 'application/xml',
      },
    );
    expect(otherId.status).toBe(400);
    expect(message(otherId)).toBe('ID cannot be modified');
    const otherProject = await call(
      'PUT',
      'alice',
      `/data/projects/BRAIN_MR/experiments/W_SAME_MR`,
      xml('project="PET_AMYLOID"'),
      { 'Content-Type': 'application/xml' },
    );
    expect(otherProject.status).toBe(409);
    expect(message(otherProject)).toBe('Project must be modified through separate URI.');
    // An allowed edit with subject_ID re-points the session, creating the subject when it is new.
    const moved = await call(
      'PUT',
      'alice',
      `/data/projects/BRAIN_MR/experiments/W_SAME_MR?subject_ID=W_SAME2`,
    );
    expect(moved.status).toBe(200);
    const newOwner = [...sb.archive.subjects.values()].find((s) => s.label === 'W_SAME2');
    expect(experimentRecord(session)?.subjectId).toBe(newOwner?.id);
  });

  it('lets members create and edit but not delete or quarantine', async () => {
    const created = await call(
      'PUT',
      'bob',
      '/data/projects/BRAIN_MR/subjects/W_BOB/experiments/W_BOB_MR?xsiType=xnat:mrSessionData',
    );
    expect(created.status).toBe(201);
    expect((await call('PUT', 'bob', '/data/projects/BRAIN_MR/experiments/W_BOB_MR?note=bob')).status).toBe(
      200,
    );
    const quarantine = await call(
      'PUT',
      'bob',
      '/data/projects/BRAIN_MR/experiments/W_BOB_MR?quarantine=true',
    );
    expect(quarantine.status).toBe(403);
    expect(message(quarantine)).toContain('insufficient activation privileges');
    const deleted = await call('DELETE', 'bob', '/data/projects/BRAIN_MR/experiments/W_BOB_MR');
    expect(deleted.status).toBe(403);
    expect(message(deleted)).toBe("User account doesn't have permission to delete this experiment.");
    expect(experimentRecord(created.text)).toBeDefined();
  });

  it('hides projects the user cannot see (404) and refuses writes to unreadable ones', async () => {
    const hidden = await call('PUT', 'alice', '/data/projects/PEDS_DTI/subjects/W_HIDDEN');
    expect(hidden.status).toBe(404);
    const protectedProject = await call('PUT', 'dave', '/data/projects/BRAIN_MR/subjects/W_DAVE');
    expect(protectedProject.status).toBe(403);
  });
});

describe('deletes', () => {
  it('deletes through the owning URL (with its assessors), contextless by ID, and never through a member', async () => {
    const session = await newSession('W_DEL', 'W_DEL_MR');
    const assessor = await call(
      'PUT',
      'alice',
      `/data/experiments/${session}/assessors/W_DEL_QC?xsiType=xnat:qcManualAssessorData`,
    );
    expect(assessor.status).toBe(201);
    const deleted = await call(
      'DELETE',
      'alice',
      `/data/experiments/${session}?removeFiles=true&event_reason=cleanup`,
    );
    expect(deleted).toMatchObject({ status: 200, text: '' });
    expect(experimentRecord(session)).toBeUndefined();
    expect(experimentRecord(assessor.text)).toBeUndefined();
    expect((await call('GET', 'alice', `/data/experiments/${session}?format=json`)).status).toBe(404);
    expect((await call('DELETE', 'alice', `/data/experiments/${session}`)).status).toBe(404);
  });

  it('removes the uploaded files from the archive directory only with removeFiles=true', async () => {
    const blobs = async (): Promise<number> => (await readdir(sb.archiveDir)).length;
    const upload = async (session: string): Promise<void> => {
      const base = `/data/experiments/${session}/scans/1`;
      expect((await call('PUT', 'alice', `${base}?xsiType=xnat:mrScanData`)).status).toBe(200);
      const put = await call(
        'PUT',
        'alice',
        `${base}/resources/DICOM/files/1.dcm`,
        Buffer.from('dicom bytes'),
        {
          'Content-Type': 'application/octet-stream',
        },
      );
      expect(put.status, put.text).toBe(200);
    };
    const kept = await newSession('W_FILES', 'W_FILES_KEPT');
    await upload(kept);
    const before = await blobs();
    expect((await call('DELETE', 'alice', `/data/experiments/${kept}`)).status).toBe(200);
    expect(await blobs()).toBe(before);

    const removed = await newSession('W_FILES', 'W_FILES_REMOVED');
    await upload(removed);
    const withUpload = await blobs();
    expect((await call('DELETE', 'alice', `/data/experiments/${removed}?removeFiles=true`)).status).toBe(200);
    expect(await blobs()).toBe(withUpload - 1);
  });

  it('deletes a subject with its experiments, and scans one by one', async () => {
    const session = await newSession('W_DELS', 'W_DELS_MR');
    const scanPath = `/data/experiments/${session}/scans/2`;
    expect((await call('PUT', 'alice', `${scanPath}?xsiType=xnat:mrScanData`)).status).toBe(200);
    expect((await call('DELETE', 'bob', scanPath)).status).toBe(403);
    expect((await call('DELETE', 'alice', scanPath)).status).toBe(200);
    expect(experimentRecord(session)?.scans).toEqual([]);
    const subjectId = experimentRecord(session)?.subjectId ?? '';
    expect((await call('DELETE', 'alice', '/data/projects/BRAIN_MR/subjects/W_DELS')).status).toBe(200);
    expect(subjectRecord(subjectId)).toBeUndefined();
    expect(experimentRecord(session)).toBeUndefined();
  });
});

describe('sharing', () => {
  it('shares into another project under a label, answers 409 for repeats and taken labels, 404 for unknown projects', async () => {
    const session = await newSession('W_SHARE', 'W_SHARE_MR');
    const base = '/data/projects/BRAIN_MR/subjects/W_SHARE/experiments/W_SHARE_MR/projects';
    const shared = await call('PUT', 'alice', `${base}/PET_AMYLOID?label=W_SHARED_MR&format=json`);
    expect(shared.status, shared.text).toBe(200);
    const table = (JSON.parse(shared.text) as { ResultSet: { Result: Array<Record<string, string>> } })
      .ResultSet.Result;
    expect(table.map((r) => [r.ID, r.label])).toEqual([
      ['BRAIN_MR', 'W_SHARE_MR'],
      ['PET_AMYLOID', 'W_SHARED_MR'],
    ]);
    expect((await item('bob', '/data/projects/PET_AMYLOID/experiments/W_SHARED_MR')).data_fields.ID).toBe(
      session,
    );

    const again = await call('PUT', 'alice', `${base}/PET_AMYLOID`);
    expect(again.status).toBe(409);
    expect(message(again)).toBe('Already assigned to project:PET_AMYLOID');
    const own = await call('PUT', 'alice', `${base}/BRAIN_MR`);
    expect(message(own)).toBe('Already assigned to project:BRAIN_MR');
    const unknown = await call('PUT', 'alice', `${base}/NO_SUCH_PROJECT`);
    expect(unknown.status).toBe(404);
    expect(message(unknown)).toBe('Unable to identify project: NO_SUCH_PROJECT');

    const other = await newSession('W_SHARE', 'W_SHARE_MR2');
    const taken = await call(
      'PUT',
      'alice',
      `/data/experiments/${other}/projects/PET_AMYLOID?label=W_SHARED_MR`,
    );
    expect(taken.status).toBe(409);
    expect(message(taken)).toBe('Label already in use:W_SHARED_MR');
  });

  it('refuses sharing into a project the user cannot create in (403)', async () => {
    const session = await newSession('W_SHARE3', 'W_SHARE3_MR');
    // carol reads BRAIN_MR (collaborator) and PET_AMYLOID (public) but has no role in PET_AMYLOID.
    const denied = await call('PUT', 'carol', `/data/experiments/${session}/projects/PET_AMYLOID`);
    expect(denied.status).toBe(403);
    expect(experimentRecord(session)?.shares).toEqual([]);
  });

  it("unshares through DELETE .../projects/{dest} and through the sharing project's URL", async () => {
    const session = await newSession('W_UNSHARE', 'W_UNSHARE_MR');
    expect(
      (await call('PUT', 'alice', `/data/experiments/${session}/projects/PET_AMYLOID?label=W_US1`)).status,
    ).toBe(200);
    const unshared = await call('DELETE', 'alice', `/data/experiments/${session}/projects/PET_AMYLOID`);
    expect(unshared.status).toBe(200);
    expect(experimentRecord(session)?.shares).toEqual([]);

    expect(
      (await call('PUT', 'alice', `/data/experiments/${session}/projects/PET_AMYLOID?label=W_US2`)).status,
    ).toBe(200);
    const viaShare = await call('DELETE', 'alice', '/data/projects/PET_AMYLOID/experiments/W_US2');
    expect(viaShare.status).toBe(200);
    expect(experimentRecord(session)?.shares).toEqual([]);
    expect(experimentRecord(session)?.project).toBe('BRAIN_MR');
  });

  it('shares subjects, relabels an existing share, and lets only owners unshare', async () => {
    const subjectId = await newSubject('W_SSHARE');
    const path = `/data/projects/BRAIN_MR/subjects/W_SSHARE/projects/PET_AMYLOID`;
    expect((await call('PUT', 'alice', `${path}?label=W_SSHARED`)).status).toBe(200);
    expect((await item('bob', '/data/projects/PET_AMYLOID/subjects/W_SSHARED')).data_fields.ID).toBe(
      subjectId,
    );
    const relabelled = await call('PUT', 'alice', `${path}?label=W_SSHARED2&format=json`);
    expect(relabelled.status).toBe(200);
    expect(subjectRecord(subjectId)?.shares).toEqual([{ project: 'PET_AMYLOID', label: 'W_SSHARED2' }]);
    expect(message(await call('PUT', 'alice', path))).toBe('Already assigned to project:PET_AMYLOID');
    // carol owns neither BRAIN_MR nor PET_AMYLOID.
    const denied = await call('DELETE', 'carol', path);
    expect(denied.status).toBe(403);
    expect(message(denied)).toBe('User cannot delete subjects for project PET_AMYLOID');
    expect((await call('DELETE', 'bob', '/data/projects/PET_AMYLOID/subjects/W_SSHARED2')).status).toBe(200);
    expect(subjectRecord(subjectId)).toMatchObject({ project: 'BRAIN_MR', shares: [] });
  });

  it('moves the owning project with primary=true', async () => {
    const subjectId = await newSubject('W_MOVE');
    const moved = await call(
      'PUT',
      'alice',
      `/data/subjects/${subjectId}/projects/PET_AMYLOID?primary=true&label=W_MOVED`,
    );
    expect(moved.status).toBe(200);
    expect(subjectRecord(subjectId)).toMatchObject({ project: 'PET_AMYLOID', label: 'W_MOVED', shares: [] });
    expect((await item('bob', '/data/projects/PET_AMYLOID/subjects/W_MOVED')).data_fields.ID).toBe(subjectId);
  });
});

describe('quarantine', () => {
  it('quarantines and activates with ?quarantine=true / ?activate=true, read back through /status', async () => {
    const session = await newSession('W_QUAR', 'W_QUAR_MR');
    const path = '/data/projects/BRAIN_MR/subjects/W_QUAR/experiments/W_QUAR_MR';
    expect(await status('alice', path)).toBe('active');
    expect((await call('PUT', 'alice', `${path}?quarantine=true`)).status).toBe(200);
    expect(await status('alice', path)).toBe('quarantine');
    expect(await status('alice', '/data/projects/BRAIN_MR/subjects/W_QUAR')).toBe('quarantine');
    expect((await call('PUT', 'alice', `/data/experiments/${session}?activate=true`)).status).toBe(200);
    expect(await status('alice', path)).toBe('active');
    expect((await call('PUT', 'alice', `${path}?_lock=true`)).status).toBe(200);
    expect(experimentRecord(session)?.status).toBe('locked');
    expect(await status('alice', path)).toBe('active');
  });

  it('quarantines assessors', async () => {
    const session = await newSession('W_QUAR', 'W_QUAR_MR2');
    const assessor = await call(
      'PUT',
      'alice',
      `/data/experiments/${session}/assessors/W_QUAR_QC?xsiType=xnat:qcManualAssessorData&quarantine=true`,
    );
    expect(assessor.status).toBe(201);
    expect(await status('alice', `/data/experiments/${session}/assessors/W_QUAR_QC`)).toBe('quarantine');
  });

  it('quarantines every experiment saved in a project whose quarantine code is 1', async () => {
    const project = await call(
      'PUT',
      'alice',
      '/data/projects/W_QPROJ?name=Quarantine%20test&accessibility=private',
    );
    expect(project.status).toBe(200);
    expect((await call('PUT', 'alice', '/data/projects/W_QPROJ/quarantine_code/1')).status).toBe(200);
    expect((await call('GET', 'alice', '/data/projects/W_QPROJ/quarantine_code')).text).toBe('1');
    const created = await call(
      'PUT',
      'alice',
      '/data/projects/W_QPROJ/subjects/Q1/experiments/Q1_MR?xsiType=xnat:mrSessionData',
    );
    expect(created.status).toBe(201);
    expect(await status('alice', `/data/experiments/${created.text}`)).toBe('quarantine');
  });
});

describe('projects', () => {
  it('creates with 200 and an empty body (the creator owns it), edits as owner only', async () => {
    const created = await call(
      'PUT',
      'bob',
      '/data/projects/W_PROJ1?name=Write%20project&description=made%20by%20bob&accessibility=protected' +
        `&${encodeURIComponent('xnat:projectData/fields/field[name=grant]/field')}=G-1`,
    );
    expect(created).toMatchObject({ status: 200, text: '' });
    const project = sb.archive.projects.get('W_PROJ1');
    expect(project).toMatchObject({
      name: 'Write project',
      description: 'made by bob',
      accessibility: 'protected',
      users: { bob: 'owner' },
      fields: { grant: 'G-1' },
    });
    expect((await call('PUT', 'alice', '/data/projects/W_PROJ1?description=alice')).status).toBe(403);
    expect((await call('PUT', 'bob', '/data/projects/W_PROJ1?keywords=a%20b')).status).toBe(200);
    expect(project?.keywords).toBe('a b');
  });

  it('refuses bad IDs (417), existing IDs through the list (409) and reuse of a deleted project ID (403)', async () => {
    expect((await call('PUT', 'alice', '/data/projects/bad%20id')).status).toBe(417);
    const exists = await call('POST', 'alice', '/data/projects?xsiType=xnat:projectData&ID=BRAIN_MR');
    expect(exists.status).toBe(409);
    expect(message(exists)).toBe('Project already exists.');
    const listed = await call(
      'POST',
      'alice',
      '/data/projects?xsiType=xnat:projectData&ID=W_PROJ2&name=Second',
    );
    expect(listed.status).toBe(200);
    expect(listed.text).toBe(`${sb.url}/data/projects/W_PROJ2`);
    expect((await call('DELETE', 'bob', '/data/projects/W_PROJ2')).status).toBe(404);
    expect((await call('DELETE', 'alice', '/data/projects/W_PROJ2')).status).toBe(200);
    const reused = await call('PUT', 'alice', '/data/projects/W_PROJ2');
    expect(reused.status).toBe(403);
    expect(message(reused)).toContain('previously deleted project');
  });
});
