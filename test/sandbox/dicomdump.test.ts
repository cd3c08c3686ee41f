/**
 * The dicomdump service (§7.9, xnat-web DicomDump/DicomHeaderDump) over loopback HTTP: XNAT's src
 * templates (session, scan, one file), `field` by keyword or hex tag, sequence rows, empty tables
 * for what holds no DICOM, and the 400s XNAT answers.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { demoBasic } from './fixture.js';

const sample = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/xnat-samples/${name}`, import.meta.url), 'utf8'));

let sb: RunningSandbox;
let files: string[];

beforeAll(async () => {
  sb = await startSandbox({ archive: createDemoArchive() });
  const listing = await dump(
    'alice',
    '/data/experiments/XNAT_E00001/scans/2/resources/DICOM/files?format=json',
  );
  files = ((await listing.json()) as { ResultSet: { Result: Array<{ Name: string }> } }).ResultSet.Result.map(
    (r) => r.Name,
  );
});

afterAll(async () => {
  await sb?.close();
});

function dump(login: string, path: string): Promise<Response> {
  return fetch(`${sb.url}${path}`, { headers: { Authorization: demoBasic(login) } });
}

async function rows(src: string, extra = ''): Promise<Array<Record<string, string>>> {
  const response = await dump('alice', `/data/services/dicomdump?src=${encodeURIComponent(src)}${extra}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('application/json');
  const body = (await response.json()) as { ResultSet: { Result: Array<Record<string, string>> } };
  return body.ResultSet.Result;
}

describe('GET /data/services/dicomdump', () => {
  it('dumps the first DICOM file of a scan as tag1, tag2, vr, value, desc rows', async () => {
    const all = await rows('/archive/projects/BRAIN_MR/experiments/BMR001_MR1/scans/2');
    expect(Object.keys(all[0] ?? {})).toEqual(['tag1', 'tag2', 'vr', 'value', 'desc']);
    expect(all[0]).toEqual({
      tag1: '(0002,0000)',
      tag2: '',
      vr: 'UL',
      value: expect.stringMatching(/^\d+$/),
      desc: 'File Meta Information Group Length',
    });
    // XNAT prints OB bytes in hex joined by a backslash (a recorded first row).
    expect(all[1]).toEqual(sample('dicomdump-row.first-header-row.meierlab-docstring.json'));
    expect(all.find((r) => r.tag1 === '(0020,0013)')?.value).toBe('1');
    // The dump stops before the pixel data.
    expect(all.some((r) => r.tag1 === '(7FE0,0010)')).toBe(false);
    // By accession ID too, as xnatpy's scan.dicom_dump() sends it.
    expect(await rows('/archive/projects/BRAIN_MR/experiments/XNAT_E00001/scans/2')).toEqual(all);
  });

  it('names one file with the FILE template, and shows sequence items as XNAT does', async () => {
    const second = await rows(
      `/archive/projects/BRAIN_MR/subjects/BMR001/experiments/BMR001_MR1/scans/2/resources/DICOM/files/${files[1]}`,
    );
    expect(second.find((r) => r.tag1 === '(0020,0013)')?.value).toBe('2');
    const sequence = second.filter((r) => r.tag1 === '(0008,1140)');
    expect(sequence).toEqual([
      { tag1: '(0008,1140)', tag2: '(0008,1140)', vr: 'SQ', value: '', desc: 'Referenced Image Sequence' },
      expect.objectContaining({ tag2: '(0008,1150)', vr: 'UI', desc: 'Referenced SOP Class UID' }),
      expect.objectContaining({ tag2: '(0008,1155)', vr: 'UI', value: expect.stringMatching(/\.1$/) }),
    ]);
  });

  it('answers one field as a recorded server did', async () => {
    const recorded = sample('dicomdump-rows.single-field.meierlab.json') as Array<Record<string, string>>;
    const ours = await rows(
      '/archive/projects/BRAIN_MR/subjects/BMR001/experiments/BMR001_MR1/scans/2',
      '&field=00180081',
    );
    expect(ours.map((r) => ({ ...r, value: '' }))).toEqual(recorded.map((r) => ({ ...r, value: '' })));
    expect(ours[0]?.value).toBe('2.98');
  });

  it('keeps only the fields asked for, by keyword or hexadecimal tag', async () => {
    const some = await rows(
      '/archive/projects/BRAIN_MR/experiments/BMR001_MR1/scans/2',
      '&field=RepetitionTime&field=00180081&format=json',
    );
    expect(some).toEqual([
      { tag1: '(0018,0080)', tag2: '', vr: 'DS', value: '2300', desc: 'Repetition Time' },
      { tag1: '(0018,0081)', tag2: '', vr: 'DS', value: '2.98', desc: 'Echo Time' },
    ]);
  });

  it('answers an empty table for an unknown src form, a scan or file without DICOM', async () => {
    expect(await rows('/archive/experiments/XNAT_E00001/scans/2')).toEqual([]);
    expect(await rows('/archive/projects/BRAIN_MR/experiments/BMR001_MR1/scans/99')).toEqual([]);
    expect(
      await rows(
        '/archive/projects/BRAIN_MR/subjects/BMR001/experiments/BMR001_MR1/scans/2/resources/DICOM/files/nope.dcm',
      ),
    ).toEqual([]);
    // A session src reads the first DICOM file of its first scan.
    const session = await rows('/archive/projects/BRAIN_MR/experiments/BMR001_MR1');
    expect(session.find((r) => r.tag1 === '(0020,0011)')?.value).toBe('1');
  });

  it('refuses a missing src, a field that is no tag, and experiments the user cannot read', async () => {
    const noSrc = await dump('alice', '/data/services/dicomdump');
    expect(noSrc.status).toBe(400);
    expect(await noSrc.text()).toContain('Please set the src parameter');
    const badField = await dump(
      'alice',
      '/data/services/dicomdump?src=/archive/projects/BRAIN_MR&field=NoSuchTag',
    );
    expect(badField.status).toBe(400);
    expect(await badField.text()).toContain('not a valid DICOM attribute tag: NoSuchTag');
    const missing = await dump(
      'alice',
      '/data/services/dicomdump?src=/archive/projects/BRAIN_MR/experiments/NOPE/scans/1',
    );
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain('Experiment or project not found');
    // PEDS_DTI is private to carol: alice gets XNAT's 400, carol the dump.
    const listing = await dump('carol', '/data/projects/PEDS_DTI/experiments?format=json');
    const label = ((await listing.json()) as { ResultSet: { Result: Array<{ label: string }> } }).ResultSet
      .Result[0]?.label;
    const src = `/archive/projects/PEDS_DTI/experiments/${label}/scans/1`;
    expect((await dump('alice', `/data/services/dicomdump?src=${src}`)).status).toBe(400);
    const own = await dump('carol', `/data/services/dicomdump?src=${src}`);
    expect(own.status).toBe(200);
    expect(
      ((await own.json()) as { ResultSet: { Result: unknown[] } }).ResultSet.Result.length,
    ).toBeGreaterThan(10);
  });
});
