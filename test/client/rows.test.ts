import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { XnatProtocolError } from '../../src/client/errors.js';
import { parseAuthUser, parseBuildInfo } from '../../src/client/rows-site.js';
import {
  ExperimentSchema,
  ProjectSchema,
  ScanSchema,
  SearchElementSchema,
  SubjectSchema,
} from '../../src/client/models.js';
import {
  experimentDetailFromItem,
  parseItem,
  parseStatus,
  parseTable,
  toExperiment,
  toFile,
  toIsoDate,
  toIsoTimestamp,
  toProject,
  toScan,
  toSearchElement,
  toSearchResult,
  toSubject,
  toXnatDate,
  type Row,
} from '../../src/client/rows.js';
import { parseSessionExpiration } from '../../src/client/session.js';

const edge = { method: 'GET', path: '/data/test' };
const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
/** Wraps a recorded `Result` fragment in the envelope XNAT sends around it. */
const envelope = (rows: unknown): string => JSON.stringify({ ResultSet: { Result: rows } });

describe('listing rows recorded from real XNAT servers', () => {
  it('maps a project listing', () => {
    const table = parseTable(fixture('projects-listing.ohif.json'), edge);
    expect(table.totalRecords).toBe(2);
    const projects = table.rows.map(toProject);
    for (const project of projects) ProjectSchema.parse(project);
    expect(projects[0]).toEqual({
      id: 'ITCRdemo',
      secondaryId: 'ITCRdemo',
      name: 'ITCRdemo',
      description: '',
      piFirstname: '',
      piLastname: '',
    });
  });

  it('maps a project subject listing with a shared subject to the requesting project', () => {
    const subjects = parseTable(
      fixture('subjects-listing.project-with-shared-subject.ohif.json'),
      edge,
    ).rows.map((row) => toSubject(row, 'ITCRdemo'));
    for (const subject of subjects) SubjectSchema.parse(subject);
    expect(subjects[1]).toEqual({
      id: 'XNAT_JPETTS_S00012',
      label: 'Patient1',
      project: 'ITCRdemo',
      owningProject: 'TestParentProject',
      insertDate: '2018-05-14T15:25:07.609',
    });
  });

  it('maps experiment listings, with or without the duplicated xpath ID column', () => {
    const experiments = parseTable(fixture('experiments-listing.subject-pet-ct.ohif.json'), edge).rows.map(
      (row) => toExperiment(row, 'TEST_Viewer'),
    );
    for (const experiment of experiments) ExperimentSchema.parse(experiment);
    expect(experiments.map((e) => [e.id, e.xsiType, e.date])).toEqual([
      ['XNAT_JPETTS_E00037', 'xnat:petSessionData', '1987-06-10'],
      ['XNAT_JPETTS_E00039', 'xnat:ctSessionData', '1990-06-09'],
    ]);
    const projected = JSON.parse(
      fixture('experiments-listing.project-columns-with-last_modified.xmigrate.json'),
    ) as Row[];
    const withoutId = projected.map(({ ID: _id, ...rest }) => rest as Row);
    expect(toExperiment(withoutId[0]!).id).toBe('UCL_TEST_XNAT_E00240');
    expect(toExperiment(withoutId[0]!).insertDate).toBe('2026-02-02T14:54:42.62');
  });

  it('maps a scan row', () => {
    const [row] = parseTable(envelope([JSON.parse(fixture('scan-row.mr.meierlab.json'))]), edge).rows;
    const scan = ScanSchema.parse(toScan(row!));
    expect(scan).toEqual({
      id: '2',
      xsiType: 'xnat:mrScanData',
      type: 'T1W',
      seriesDescription: 'T1W',
      quality: 'usable',
      note: '',
    });
  });

  it('maps search elements whose counts and flags are strings', () => {
    const elements = parseTable(fixture('search-elements-listing.truncated.dax-issue.json'), edge).rows.map(
      toSearchElement,
    );
    for (const element of elements) SearchElementSchema.parse(element);
    expect(elements.find((e) => e.elementName === 'xnat:mrSessionData')).toEqual({
      elementName: 'xnat:mrSessionData',
      singular: 'MR Session',
      plural: 'MR Sessions',
      secured: true,
      count: 2,
    });
  });

  it('maps a search result with its Columns metadata', () => {
    const result = toSearchResult(
      parseTable(fixture('search-result.mrsessions.xnatpy.json'), edge),
      'xnat:mrSessionData',
    );
    expect(result).toEqual({
      rootElement: 'xnat:mrSessionData',
      columns: [
        { key: 'project', header: 'url', fieldId: 'PROJECT', element: 'xnat:mrSessionData' },
        {
          key: 'xnat_col_mrsessiondatalabel',
          header: 'url',
          fieldId: 'XNAT_COL_MRSESSIONDATALABEL',
          element: 'xnat:mrSessionData',
        },
        { key: 'quarantine_status' },
      ],
      rows: [{ quarantine_status: 'active', project: 'sandbox', xnat_col_mrsessiondatalabel: 'test' }],
      total: 1,
    });
  });

  it('maps file rows, taking the path inside the resource and the scan from the URI', () => {
    const file = toFile({
      Name: 'b c.dcm',
      Size: '2048',
      URI: '/data/experiments/XNAT_E00001/scans/3-OT/resources/1234/files/sub%20dir/b%20c.dcm',
      collection: 'DICOM',
      file_tags: '',
      file_format: 'DICOM',
      file_content: 'RAW',
      cat_ID: '1234',
      digest: '9e107d9d372bb6826bd81d3542a419d6',
    });
    expect(file).toEqual({
      name: 'b c.dcm',
      path: 'sub dir/b c.dcm',
      resource: 'DICOM',
      scan: '3-OT',
      size: 2048,
      digest: '9e107d9d372bb6826bd81d3542a419d6',
      format: 'DICOM',
      content: 'RAW',
      uri: '/data/experiments/XNAT_E00001/scans/3-OT/resources/1234/files/sub%20dir/b%20c.dcm',
    });
  });

  it('gives digests in lower-case hex whatever case the catalog holds, so every comparison agrees', () => {
    const file = toFile({
      Name: 'a.dcm',
      Size: '1',
      URI: '/data/experiments/XNAT_E00001/resources/1/files/a.dcm',
      digest: '9E107D9D372BB6826BD81D3542A419D6',
    });
    expect(file.digest).toBe('9e107d9d372bb6826bd81d3542a419d6');
  });
});

describe('item documents', () => {
  it('maps an archived MR session item (typed values, both id and ID)', () => {
    const item = parseItem(fixture('experiment-item.archived-mrsession.xnatpy.json'), edge);
    const detail = experimentDetailFromItem(item, {
      project: undefined,
      status: 'active',
      resources: [],
      subjectLabel: 'SUBJECT001',
    });
    expect(detail).toMatchObject({
      id: 'TESTXNAT1_E01234',
      label: 'SUBJECT001',
      project: 'sandbox',
      owningProject: 'sandbox',
      xsiType: 'xnat:mrSessionData',
      date: '2000-01-01',
      time: '00:00:00',
      modality: 'MR',
      subjectId: 'TESTXNAT1_S00123',
      scans: [],
    });
    expect(detail.attributes).toMatchObject({
      'scanner/manufacturer': 'GE MEDICAL SYSTEMS',
      fieldStrength: '1.5',
      session_type: 'BRAIN',
    });
    expect(detail.attributes).not.toHaveProperty('ID');
  });

  it('stringifies typed data_fields and resolves shared labels and per-scan file counts', () => {
    const dataFields = JSON.parse(
      fixture('experiment-item.data_fields.mrsession-with-number.meierlab-2023.json'),
    ) as Record<string, unknown>;
    const body = JSON.stringify({
      items: [
        {
          meta: { 'xsi:type': 'xnat:mrSessionData' },
          data_fields: { ...dataFields, project: 'OWNER', label: 'OWN_LABEL' },
          children: [
            {
              field: 'sharing/share',
              items: [{ meta: {}, data_fields: { project: 'OTHER', label: 'SHARED_LABEL' } }],
            },
            {
              field: 'scans/scan',
              items: [
                {
                  meta: { 'xsi:type': 'xnat:mrScanData' },
                  data_fields: { ID: '1', type: 'T1', frames: 176 },
                },
              ],
            },
            { field: 'fields/field', items: [{ data_fields: { name: 'site', field: 'A' } }] },
          ],
        },
      ],
    });
    const detail = experimentDetailFromItem(parseItem(body, edge), {
      project: 'OTHER',
      status: 'quarantine',
      subjectLabel: 'S',
      resources: [
        {
          id: '7',
          label: 'DICOM',
          category: 'scans',
          categoryId: '1',
          format: 'DICOM',
          content: 'RAW',
          fileCount: 176,
          fileSize: 1,
        },
        {
          id: '8',
          label: 'NIFTI',
          category: 'scans',
          categoryId: '1',
          format: 'NIFTI',
          content: '',
          fileCount: 1,
          fileSize: 1,
        },
      ],
    });
    expect(detail.label).toBe('SHARED_LABEL');
    expect(detail.project).toBe('OTHER');
    expect(detail.owningProject).toBe('OWNER');
    expect(detail.shares).toEqual([{ project: 'OTHER', label: 'SHARED_LABEL' }]);
    expect(detail.scans).toEqual([
      {
        id: '1',
        xsiType: 'xnat:mrScanData',
        type: 'T1',
        seriesDescription: '',
        quality: '',
        note: '',
        frames: 176,
        fileCount: 177,
      },
    ]);
    expect(detail.fields).toEqual({ site: 'A' });
    expect(detail.attributes.dcmPatientWeight).toBe('83.91');
  });

  it('rejects documents of the wrong shape as protocol errors naming the path', () => {
    expect(() => parseTable('{"items":[]}', edge)).toThrow(XnatProtocolError);
    expect(() => parseTable('<html>login</html>', edge)).toThrow(/not valid JSON/);
    expect(() => parseItem('{"items":[]}', edge)).toThrow(XnatProtocolError);
    let caught: unknown;
    try {
      parseTable('{"ResultSet":{}}', edge);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(XnatProtocolError);
    expect((caught as XnatProtocolError).path).toBe('/data/test');
  });
});

describe('small text formats and dates', () => {
  it('reads /data/auth, /status, buildInfo and SESSION_EXPIRATION_TIME', () => {
    expect(parseAuthUser("User 'alice' is logged in", edge)).toBe('alice');
    expect(() => parseAuthUser('hello', edge)).toThrow(XnatProtocolError);
    expect(parseStatus('quarantine\n', edge)).toBe('quarantine');
    expect(() => parseStatus('locked', edge)).toThrow(XnatProtocolError);
    expect(parseBuildInfo(fixture('buildinfo.xnat-1.7.5.6.xnatpy.json'), edge)).toEqual({
      version: '1.7.5.6',
      buildNumber: '1651',
      buildDate: 'Tue Aug 20 18:10:41 CDT 2019',
      commit: '5696414138',
    });
    const cookies = JSON.parse(fixture('cookies.session.xnatpy.json')) as Record<string, string>;
    expect(parseSessionExpiration(cookies.SESSION_EXPIRATION_TIME)).toEqual({
      start: 1668081619871,
      intervalMs: 900000,
    });
  });

  it('normalizes XNAT date forms', () => {
    expect(toIsoDate('2019-03-05 16:46:37.103')).toBe('2019-03-05');
    expect(toIsoDate('7/4/2018')).toBe('2018-07-04');
    expect(toIsoDate('Thu Apr 08 19:28:45 UTC 2021')).toBe('2021-04-08');
    expect(toIsoDate('')).toBe('');
    expect(toIsoTimestamp('2023-05-01 10:11:12.225298')).toBe('2023-05-01T10:11:12.225298');
    expect(toXnatDate('2018-07-14')).toBe('07/14/2018');
  });
});
