import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { canReadItem, canReadProject } from '../../src/sandbox/access.js';
import { SandboxHttpError } from '../../src/sandbox/errors.js';
import { generateArchive } from '../../src/sandbox/generate.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import type { SandboxUser, StoredExperiment, StoredSubject } from '../../src/sandbox/model.js';
import {
  parseBundle,
  runSearch,
  searchElementRows,
  searchFieldRows,
  type SearchResult,
} from '../../src/sandbox/search.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';

const sample = (name: string): string =>
  readFileSync(new URL(`../fixtures/xnat-samples/${name}`, import.meta.url), 'utf8');

const archive = createDemoArchive();
const user = (login: string): SandboxUser => {
  const found = archive.users.find((u) => u.login === login);
  if (!found) throw new Error(`no user ${login}`);
  return found;
};
const experiments = [...archive.experiments.values()];
const subjects = [...archive.subjects.values()];
const readable = (login: string) => (item: StoredSubject | StoredExperiment) =>
  canReadItem(archive, item, user(login));
const labelIn = (item: StoredSubject | StoredExperiment, project: string) =>
  item.project === project ? item.label : (item.shares.find((s) => s.project === project)?.label ?? '');

/** A bundle as pyxnat builds it: columns `type/FIELD`, criteria as nested XML. */
function bundle(root: string, columns: string[], where = ''): string {
  const fields = columns
    .map((c, i) => {
      const slash = c.indexOf('/');
      return `<xdat:search_field><xdat:element_name>${c.slice(0, slash)}</xdat:element_name><xdat:field_ID>${c.slice(slash + 1)}</xdat:field_ID><xdat:sequence>${i}</xdat:sequence><xdat:type>string</xdat:type><xdat:header>${c}</xdat:header></xdat:search_field>`;
    })
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><xdat:bundle xmlns:xdat="http://nrg.wustl.edu/security" ID="@${root}"><xdat:root_element_name>${root}</xdat:root_element_name>${fields}${where}</xdat:bundle>`;
}

const escape = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const criteria = (field: string, op: string, value: string) =>
  `<xdat:criteria override_value_formatting="0"><xdat:schema_field>${field}</xdat:schema_field><xdat:comparison_type>${escape(op)}</xdat:comparison_type><xdat:value>${escape(value)}</xdat:value></xdat:criteria>`;
const where = (method: string, ...children: string[]) =>
  `<xdat:search_where method="${method}">${children.join('')}</xdat:search_where>`;
const childSet = (method: string, ...children: string[]) =>
  `<xdat:child_set method="${method}">${children.join('')}</xdat:child_set>`;

const column = (result: SearchResult, key: string) => result.rows.map((r) => r[key]);
const sorted = (values: Array<string | undefined>) => [...values].sort();

function httpError(fn: () => unknown): SandboxHttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SandboxHttpError) return error;
    throw error;
  }
  throw new Error('expected a SandboxHttpError');
}

describe('parseBundle', () => {
  it('reads the bundle XNAT generates, skipping hidden_fields comments', () => {
    const parsed = parseBundle(
      sample('search-bundle.default-project-subjects.rest-tests.xml').replaceAll('%PROJECT_ID%', 'P1'),
    );
    expect(parsed.rootElementName).toBe('xnat:subjectData');
    expect(parsed.fields.map((f) => [f.elementName, f.fieldId, f.header, f.value])).toEqual([
      ['xnat:subjectData', 'SUB_PROJECT_IDENTIFIER=P1', 'Subject', 'P1'],
      ['xnat:subjectData', 'GENDER_TEXT', 'M/F', ''],
      ['xnat:subjectData', 'HANDEDNESS_TEXT', 'Hand', ''],
      ['xnat:subjectData', 'DOB', 'YOB', ''],
    ]);
    expect(parsed.where?.method).toBe('AND');
    expect(parsed.where?.criteria).toEqual([]);
    expect(parsed.where?.childSets[0]?.method).toBe('OR');
    expect(parsed.where?.childSets[0]?.criteria).toEqual([
      {
        schemaField: 'xnat:subjectData/sharing/share/project',
        comparison: '=',
        value: 'P1',
        overrideValueFormatting: false,
      },
      {
        schemaField: 'xnat:subjectData/PROJECT',
        comparison: '=',
        value: 'P1',
        overrideValueFormatting: false,
      },
    ]);
  });

  it('reads the compact bundle xnatpy sends', () => {
    const parsed = parseBundle(sample('search-request.bundle-for-search-result.xnatpy.xml'));
    expect(parsed.fields.map((f) => f.fieldId)).toEqual(['PROJECT', 'xnat:mrSessionData/label']);
    expect(parsed.where?.criteria).toEqual([
      {
        schemaField: 'xnat:mrSessionData/label',
        comparison: '=',
        value: 'test',
        overrideValueFormatting: false,
      },
    ]);
  });

  it('accepts the bundle wrapped in a multipart body', () => {
    const xml = sample('search-request.bundle-for-search-result.xnatpy.xml');
    const body = `--b1\r\nContent-Disposition: form-data; name="file"; filename="search.xml"\r\nContent-Type: text/xml\r\n\r\n${xml}\r\n--b1--\r\n`;
    expect(parseBundle(Buffer.from(body)).rootElementName).toBe('xnat:mrSessionData');
  });

  it('answers 422 for a body that is not XML or not a bundle', () => {
    expect(httpError(() => parseBundle('not xml at all')).status).toBe(422);
    expect(httpError(() => parseBundle('<xdat:bundle><unclosed></xdat:bundle>')).status).toBe(422);
    expect(httpError(() => parseBundle('<project ID="x"/>')).status).toBe(422);
    expect(httpError(() => parseBundle('')).status).toBe(422);
  });
});

describe('runSearch with the recorded XNAT bundles', () => {
  it("runs XNAT's default project subject search, including subjects shared into the project", () => {
    const xml = sample('search-bundle.default-project-subjects.rest-tests.xml').replaceAll(
      '%PROJECT_ID%',
      'PET_AMYLOID',
    );
    const result = runSearch(archive, user('alice'), xml);
    const inProject = subjects.filter(
      (s) => s.project === 'PET_AMYLOID' || s.shares.some((x) => x.project === 'PET_AMYLOID'),
    );
    expect(inProject.some((s) => s.project !== 'PET_AMYLOID')).toBe(true);
    expect(result.rootElementName).toBe('xnat:subjectData');
    expect(result.columns.map((c) => c.key)).toEqual([
      'sub_project_identifier_pet_amyloid',
      'gender_text',
      'handedness_text',
      'dob',
      'quarantine_status',
    ]);
    expect(result.columns[0]).toEqual({
      key: 'sub_project_identifier_pet_amyloid',
      element_name: 'xnat:subjectData',
      id: 'SUB_PROJECT_IDENTIFIER=PET_AMYLOID',
      xPATH: 'xnat:subjectData.SUB_PROJECT_IDENTIFIER=PET_AMYLOID',
      header: 'Subject',
      type: 'string',
    });
    expect(result.columns.at(-1)).toEqual({ key: 'quarantine_status' });
    expect(sorted(column(result, 'sub_project_identifier_pet_amyloid'))).toEqual(
      sorted(inProject.map((s) => labelIn(s, 'PET_AMYLOID'))),
    );
    for (const row of result.rows) {
      const subject = inProject.find(
        (s) => labelIn(s, 'PET_AMYLOID') === row.sub_project_identifier_pet_amyloid,
      );
      const yob = subject?.demographics.yob ?? Number(subject?.demographics.dob?.slice(0, 4));
      expect(row.dob).toBe(String(yob));
      // subjectData_display.xml: CASE gender WHEN 'male' THEN 'M' WHEN 'female' THEN 'F' ELSE 'U' END.
      expect(row.gender_text).toBe(
        ({ male: 'M', female: 'F' } as Record<string, string>)[subject?.demographics.gender ?? ''] ?? 'U',
      );
      expect(row.quarantine_status).toBe('active');
      expect(Object.keys(row)).toEqual(result.columns.map((c) => c.key));
    }
  });

  it("runs the REST test suite's MR session search (PROJECTS LIKE %<P>%, cross-type columns)", () => {
    const xml = sample('search-bundle.mr-sessions-request.rest-tests.xml')
      .replaceAll('%PROJECT_ID%', 'BRAIN_MR')
      .replaceAll('SITE_URL_BASE', 'http://localhost');
    const result = runSearch(archive, user('bob'), xml);
    expect(result.columns.map((c) => c.key)).toEqual([
      'label',
      'project',
      'date',
      'xnat_subjectdata_subject_label',
      'xnat_subjectdata_gender_text',
      'age',
      'type',
      'scanner',
      'mr_scan_count_agg',
      'quarantine_status',
    ]);
    expect(result.columns[3]).toMatchObject({
      element_name: 'xnat:subjectData',
      id: 'SUBJECT_LABEL',
      header: 'Subject',
    });
    const expected = experiments.filter(
      (e) =>
        e.xsiType === 'xnat:mrSessionData' &&
        [e.project, ...e.shares.map((s) => s.project)].includes('BRAIN_MR'),
    );
    expect(sorted(column(result, 'label'))).toEqual(sorted(expected.map((e) => e.label)));
    for (const row of result.rows) {
      const session = expected.find((e) => e.label === row.label);
      const subject = archive.subjects.get(session?.subjectId ?? '');
      expect(row.project).toBe('BRAIN_MR');
      expect(row.date).toBe(session?.date);
      expect(row.xnat_subjectdata_subject_label).toBe(subject?.label);
      // The MR_SCAN_COUNT_AGG view: type(count) per scan type, in type order, joined with ', '.
      const types = (session?.scans ?? []).map((scan) => scan.type).sort((a, b) => a.localeCompare(b, 'en'));
      expect(row.mr_scan_count_agg).toBe(
        [...new Set(types)].map((t) => `${t}(${types.filter((x) => x === t).length})`).join(', '),
      );
      expect(row.scanner).toBe(session?.attributes.scanner);
      expect(row.quarantine_status).toBe(session?.status);
      if (subject?.demographics.yob !== undefined) {
        expect(row.age).toBe(String(Number(session?.date.slice(0, 4)) - subject.demographics.yob));
      }
    }
    expect(column(result, 'quarantine_status')).toContain('quarantine');
  });

  it("runs the site default MR listing bundle and xnatpy's xpath column search", () => {
    const site = runSearch(
      archive,
      user('admin'),
      sample('search-bundle.default-site-mr-sessions.rest-tests.xml'),
    );
    expect(site.rows).toHaveLength(experiments.filter((e) => e.xsiType === 'xnat:mrSessionData').length);

    const target = experiments.find((e) => e.project === 'BRAIN_MR' && e.xsiType === 'xnat:mrSessionData');
    const xml = sample('search-request.bundle-for-search-result.xnatpy.xml').replace(
      '<xdat:value>test</xdat:value>',
      `<xdat:value>${target?.label}</xdat:value>`,
    );
    const result = runSearch(archive, user('alice'), xml);
    const recorded = JSON.parse(sample('search-result.mrsessions.xnatpy.json')) as {
      ResultSet: { Columns: Array<Record<string, string>> };
    };
    expect(result.columns).toEqual(recorded.ResultSet.Columns);
    expect(result.rows).toEqual([
      { project: 'BRAIN_MR', xnat_col_mrsessiondatalabel: target?.label, quarantine_status: 'active' },
    ]);
  });

  it('answers an xpath naming the one schema element of a display field as that field (xnatpy query().all())', () => {
    const target = experiments.find((e) => e.project === 'BRAIN_MR' && e.xsiType === 'xnat:mrSessionData');
    const mr = 'xnat:mrSessionData/xnat:mrSessionData';
    const result = runSearch(
      archive,
      user('alice'),
      bundle(
        'xnat:mrSessionData',
        [`${mr}/ID`, `${mr}/project`, `${mr}/subject_ID`, `${mr}/label`],
        where('AND', criteria('xnat:mrSessionData/label', '=', target?.label ?? '')),
      ),
    );
    // SESSION_ID, PROJECT and SUBJECT_ID name one element each; LABEL has Content, so label stays an XNAT_COL_ column.
    expect(result.columns.map((c) => [c.key, c.id])).toEqual([
      ['session_id', 'SESSION_ID'],
      ['project', 'PROJECT'],
      ['subject_id', 'SUBJECT_ID'],
      ['xnat_col_mrsessiondatalabel', 'XNAT_COL_MRSESSIONDATALABEL'],
      ['quarantine_status', undefined],
    ]);
    expect(result.rows).toEqual([
      {
        session_id: target?.id,
        project: 'BRAIN_MR',
        subject_id: target?.subjectId,
        xnat_col_mrsessiondatalabel: target?.label,
        quarantine_status: 'active',
      },
    ]);
  });
});

describe('runSearch criteria', () => {
  const mr = (columns: string[], whereXml: string, login = 'admin') =>
    runSearch(archive, user(login), bundle('xnat:mrSessionData', columns, whereXml));
  const mrSessions = experiments.filter((e) => e.xsiType === 'xnat:mrSessionData');

  it('filters dates with BETWEEN (MM/DD/YYYY) and ISO comparisons', () => {
    const between = mr(
      ['xnat:mrSessionData/SESSION_ID', 'xnat:mrSessionData/DATE'],
      where('AND', criteria('xnat:mrSessionData.DATE', 'BETWEEN', '01/01/2022 AND 06/30/2022')),
    );
    const expected = mrSessions.filter((e) => e.date >= '2022-01-01' && e.date <= '2022-06-30');
    expect(expected.length).toBeGreaterThan(0);
    expect(sorted(column(between, 'session_id'))).toEqual(sorted(expected.map((e) => e.id)));

    const range = mr(
      ['xnat:mrSessionData/SESSION_ID'],
      where(
        'AND',
        criteria('xnat:mrSessionData.DATE', '>=', '2023-01-01'),
        criteria('xnat:mrSessionData/date', '<', '2024-01-01'),
      ),
    );
    expect(sorted(column(range, 'session_id'))).toEqual(
      sorted(mrSessions.filter((e) => e.date.startsWith('2023')).map((e) => e.id)),
    );
  });

  it('combines nested child sets with AND and OR', () => {
    const result = mr(
      ['xnat:mrSessionData/LABEL'],
      where(
        'AND',
        criteria('xnat:mrSessionData.PROJECT', '=', 'BRAIN_MR'),
        childSet(
          'OR',
          criteria('xnat:mrSessionData/label', 'LIKE', '%_MR2'),
          criteria('xnat:mrSessionData.LABEL', 'LIKE', 'MR %'),
        ),
      ),
    );
    const expected = mrSessions.filter(
      (e) => e.project === 'BRAIN_MR' && (e.label.endsWith('_MR2') || e.label.startsWith('MR ')),
    );
    expect(expected.some((e) => e.label.startsWith('MR '))).toBe(true);
    expect(sorted(column(result, 'label'))).toEqual(sorted(expected.map((e) => e.label)));
  });

  it('supports IN, IS NULL, IS NOT NULL and cross-type criteria', () => {
    const inProjects = mr(
      ['xnat:mrSessionData/SESSION_ID'],
      where('AND', criteria('xnat:mrSessionData.PROJECT', 'IN', "'PEDS_DTI','PET_AMYLOID'")),
    );
    expect(sorted(column(inProjects, 'session_id'))).toEqual(
      sorted(
        mrSessions.filter((e) => e.project === 'PEDS_DTI' || e.project === 'PET_AMYLOID').map((e) => e.id),
      ),
    );

    const shared = mr(
      ['xnat:mrSessionData/SESSION_ID'],
      where('AND', criteria('xnat:mrSessionData/sharing/share/project', 'IS NOT NULL', '')),
    );
    expect(column(shared, 'session_id')).toEqual(
      mrSessions.filter((e) => e.shares.length > 0).map((e) => e.id),
    );
    const unshared = mr(
      ['xnat:mrSessionData/SESSION_ID'],
      where('AND', criteria('xnat:mrSessionData/sharing/share/project', 'IS', 'NULL')),
    );
    expect(unshared.rows).toHaveLength(mrSessions.length - shared.rows.length);

    const women = mr(
      ['xnat:mrSessionData/SESSION_ID', 'xnat:subjectData/GENDER_TEXT'],
      where('AND', criteria('xnat:subjectData.GENDER_TEXT', '=', 'F')),
    );
    const expected = mrSessions.filter(
      (e) => archive.subjects.get(e.subjectId)?.demographics.gender === 'female',
    );
    expect(sorted(column(women, 'session_id'))).toEqual(sorted(expected.map((e) => e.id)));
    expect(new Set(column(women, 'xnat_subjectdata_gender_text'))).toEqual(new Set(['F']));
  });

  it('reads custom fields, per-project labels and numeric comparisons', () => {
    const result = runSearch(
      archive,
      user('admin'),
      bundle(
        'xnat:subjectData',
        [
          'xnat:subjectData/SUBJECTID',
          'xnat:subjectData/XNAT_SUBJECTDATA_FIELD_MAP=site',
          'xnat:subjectData/MR_COUNT',
        ],
        where(
          'AND',
          criteria('xnat:subjectData/fields/field[name=site]/field', '=', 'Leipzig'),
          criteria('xnat:subjectData.MR_COUNT', '>=', '2'),
        ),
      ),
    );
    const expected = subjects.filter(
      (s) => s.fields.site === 'Leipzig' && mrSessions.filter((e) => e.subjectId === s.id).length >= 2,
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(sorted(column(result, 'subjectid'))).toEqual(sorted(expected.map((s) => s.id)));
    expect(new Set(column(result, 'xnat_subjectdata_field_map_site'))).toEqual(new Set(['Leipzig']));
  });

  it('joins one row per session when a subject search shows session fields', () => {
    const result = runSearch(
      archive,
      user('alice'),
      bundle(
        'xnat:subjectData',
        ['xnat:subjectData/SUBJECT_LABEL', 'xnat:mrSessionData/LABEL'],
        where('AND', criteria('xnat:subjectData.PROJECT', '=', 'BRAIN_MR')),
      ),
    );
    const expected = mrSessions.filter((e) => e.project === 'BRAIN_MR');
    expect(result.columns.map((c) => c.key)).toEqual([
      'subject_label',
      'xnat_mrsessiondata_label',
      'quarantine_status',
    ]);
    expect(sorted(column(result, 'xnat_mrsessiondata_label'))).toEqual(sorted(expected.map((e) => e.label)));
  });

  it('searches QC assessors and scans', () => {
    const qc = runSearch(
      archive,
      user('alice'),
      bundle(
        'xnat:qcManualAssessorData',
        [
          'xnat:qcManualAssessorData/LABEL',
          'xnat:qcManualAssessorData/IMAGE_SESSION_ID',
          'xnat:qcManualAssessorData/RATER',
        ],
        '',
      ),
    );
    const assessor = experiments.find((e) => e.xsiType === 'xnat:qcManualAssessorData');
    expect(qc.rows).toEqual([
      {
        label: assessor?.label,
        image_session_id: assessor?.imageSessionId,
        rater: assessor?.attributes.rater,
        quarantine_status: 'active',
      },
    ]);

    const unusable = runSearch(
      archive,
      user('admin'),
      bundle(
        'xnat:mrScanData',
        ['xnat:mrScanData/IMAGE_SESSION_ID', 'xnat:mrScanData/ID', 'xnat:mrScanData/NOTE'],
        where('AND', criteria('xnat:mrScanData.QUALITY', '=', 'unusable')),
      ),
    );
    const expected = mrSessions.flatMap((e) =>
      e.scans.filter((s) => s.quality === 'unusable').map((s) => `${e.id}/${s.id}`),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(unusable.rows.map((r) => `${r.image_session_id}/${r.id}`)).toEqual(expected);
  });

  it('reads type-specific session and scan fields by xpath', () => {
    const prisma = mr(
      ['xnat:mrSessionData/SESSION_ID'],
      where('AND', criteria('xnat:mrSessionData/scanner/model', '=', 'Prisma_fit')),
    );
    expect(sorted(column(prisma, 'session_id'))).toEqual(
      sorted(mrSessions.filter((e) => e.attributes['scanner/model'] === 'Prisma_fit').map((e) => e.id)),
    );
    const longTr = runSearch(
      archive,
      user('admin'),
      bundle(
        'xnat:mrScanData',
        ['xnat:mrScanData/IMAGE_SESSION_ID', 'xnat:mrScanData/ID'],
        where(
          'AND',
          criteria('xnat:mrScanData/parameters/tr', '>', '3000'),
          criteria('xnat:mrScanData/parameters/tr', 'IS NOT NULL', ''),
        ),
      ),
    );
    const expected = mrSessions.flatMap((e) =>
      e.scans.filter((s) => Number(s.parameters['parameters/tr']) > 3000).map((s) => `${e.id}/${s.id}`),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(longTr.rows.map((r) => `${r.image_session_id}/${r.id}`)).toEqual(expected);
  });

  it('answers 400 for unknown fields, types and operators', () => {
    expect(httpError(() => mr(['xnat:mrSessionData/NO_SUCH_FIELD'], '')).status).toBe(400);
    expect(
      httpError(() =>
        mr(['xnat:mrSessionData/LABEL'], where('AND', criteria('xnat:mrSessionData/no/such/path', '=', 'x'))),
      ).message,
    ).toMatch(/Unknown search field/);
    expect(
      httpError(() => runSearch(archive, user('admin'), bundle('xnat:nopeData', ['xnat:nopeData/ID'])))
        .status,
    ).toBe(400);
    expect(
      httpError(() =>
        mr(
          ['xnat:mrSessionData/LABEL'],
          where('AND', criteria('xnat:mrSessionData.LABEL', 'SOUNDS LIKE', 'x')),
        ),
      ).message,
    ).toMatch(/comparison_type/);
  });
});

describe('runSearch permissions', () => {
  const all = (login: string, root: string, idField: string) =>
    column(runSearch(archive, user(login), bundle(root, [`${root}/${idField}`])), idField.toLowerCase());

  it('returns only rows the user may read', () => {
    for (const login of ['alice', 'bob', 'carol', 'dave']) {
      expect(sorted(all(login, 'xnat:mrSessionData', 'SESSION_ID'))).toEqual(
        sorted(
          experiments
            .filter((e) => e.xsiType === 'xnat:mrSessionData' && readable(login)(e))
            .map((e) => e.id),
        ),
      );
      expect(sorted(all(login, 'xnat:subjectData', 'SUBJECTID'))).toEqual(
        sorted(subjects.filter(readable(login)).map((s) => s.id)),
      );
    }
    expect(
      all('alice', 'xnat:mrSessionData', 'SESSION_ID').some(
        (id) => archive.experiments.get(id ?? '')?.project === 'PEDS_DTI',
      ),
    ).toBe(false);
    // dave has no role: only the public project's data, including the MR session shared into it.
    expect(all('dave', 'xnat:mrSessionData', 'SESSION_ID')).toEqual(
      experiments
        .filter(
          (e) => e.xsiType === 'xnat:mrSessionData' && e.shares.some((s) => s.project === 'PET_AMYLOID'),
        )
        .map((e) => e.id),
    );
    expect(sorted(all('dave', 'xnat:projectData', 'ID'))).toEqual(['BRAIN_MR', 'PET_AMYLOID']);
  });

  it('answers 403 when the user can read no data of the root type', () => {
    const big = generateArchive({ experiments: 10 });
    const dave = big.users.find((u) => u.login === 'dave');
    if (!dave) throw new Error('no dave');
    const error = httpError(() =>
      runSearch(big, dave, bundle('xnat:mrSessionData', ['xnat:mrSessionData/LABEL'])),
    );
    expect(error.status).toBe(403);
    const admin = big.users.find((u) => u.login === 'admin');
    if (!admin) throw new Error('no admin');
    expect(
      runSearch(big, admin, bundle('xnat:mrSessionData', ['xnat:mrSessionData/LABEL'])).rows,
    ).toHaveLength(10);
  });
});

describe('search element and field listings', () => {
  it('lists searchable types with the count of readable records', () => {
    for (const login of ['alice', 'dave']) {
      const rows = searchElementRows(archive, user(login));
      for (const row of rows)
        expect(Object.keys(row)).toEqual(['ELEMENT_NAME', 'SINGULAR', 'PLURAL', 'SECURED', 'COUNT']);
      const count = (type: string) => rows.find((r) => r.ELEMENT_NAME === type)?.COUNT;
      expect(count('xnat:mrSessionData')).toBe(
        String(experiments.filter((e) => e.xsiType === 'xnat:mrSessionData' && readable(login)(e)).length),
      );
      expect(count('xnat:subjectData')).toBe(String(subjects.filter(readable(login)).length));
      expect(count('xnat:petSessionData')).toBe(
        String(experiments.filter((e) => e.xsiType === 'xnat:petSessionData').length),
      );
      expect(rows.find((r) => r.ELEMENT_NAME === 'xnat:mrSessionData')).toMatchObject({
        SINGULAR: 'MR Session',
        PLURAL: 'MR Sessions',
        SECURED: 'true',
      });
    }
  });

  it('lists the display fields of a type, and nothing for an unknown type', () => {
    const fields = searchFieldRows(archive, user('alice'), 'xnat:subjectData');
    // Only the fields subjectData_display.xml marks searchable, then the project label rows.
    expect(fields?.filter((f) => f.SRC === '0').map((f) => f.FIELD_ID)).toEqual([
      'INSERT_DATE',
      'INSERT_USER',
      'PROJECTS',
      'PROJECT',
      'SUB_GROUP',
      'GENDER_TEXT',
      'HANDEDNESS_TEXT',
      'AGE_BRACKET',
      'SES',
      'INVEST_CSV',
      'ADD_IDS',
      'DOB',
      'AGE',
      'EDUC',
      'RACE',
      'ETHNICITY',
    ]);
    expect(fields?.find((f) => f.FIELD_ID === 'GENDER_TEXT')).toMatchObject({
      HEADER: 'M/F',
      REQUIRES_VALUE: 'false',
      ELEMENT_NAME: 'xnat:subjectData',
    });
    for (const f of fields ?? [])
      expect(Object.keys(f)).toEqual([
        'FIELD_ID',
        'HEADER',
        'SUMMARY',
        'TYPE',
        'REQUIRES_VALUE',
        'DESC',
        'ELEMENT_NAME',
        'SRC',
      ]);
    const mr = searchFieldRows(archive, user('alice'), 'xnat:mrSessionData') ?? [];
    expect(mr.map((f) => f.FIELD_ID)).toEqual(
      expect.arrayContaining([
        'SESSION_ID',
        'DATE',
        'PROJECT',
        'SUBJECT_ID',
        'SUBJECT_LABEL',
        'MR_SCAN_COUNT_AGG',
        'SCANNER_CSV',
        'GEN_AGE',
        'SCAN_COUNT_TYPE',
        'INSERT_DATE',
      ]),
    );
    expect(mr.find((f) => f.FIELD_ID === 'SCAN_COUNT_TYPE')?.REQUIRES_VALUE).toBe('true');
    // Not searchable in mrSessionData_display.xml, though a search may still show them.
    for (const hidden of ['LABEL', 'PROJECTS', 'MR_PROJECT_IDENTIFIER', 'SCANNER']) {
      expect(mr.map((f) => f.FIELD_ID)).not.toContain(hidden);
    }
    expect(searchFieldRows(archive, user('alice'), 'xnat:noSuchData')).toBeUndefined();
    // SearchFieldListResource adds the label within each project whose data the user may read.
    const labels = fields?.filter((f) => f.SRC === '2');
    expect(labels?.map((f) => [f.FIELD_ID, f.HEADER, f.REQUIRES_VALUE])).toEqual(
      [...archive.projects.values()]
        .filter((p) => canReadProject(p, user('alice')))
        .map((p) => p.id)
        .sort()
        .map((p) => [`SUB_PROJECT_IDENTIFIER=${p}`, p, 'false']),
    );
    expect(labels?.length).toBeGreaterThan(1);
    expect(searchFieldRows(archive, user('alice'), 'xnat:projectData')?.some((f) => f.SRC === '2')).toBe(
      false,
    );
  });

  it('every listed display field can be searched', () => {
    for (const element of searchElementRows(archive, user('admin'))) {
      const type = element.ELEMENT_NAME ?? '';
      const ids = (searchFieldRows(archive, user('admin'), type) ?? []).map((f) =>
        f.REQUIRES_VALUE === 'true' ? `${f.FIELD_ID}=BRAIN_MR` : f.FIELD_ID,
      );
      const result = runSearch(
        archive,
        user('admin'),
        bundle(
          type,
          ids.map((id) => `${type}/${id}`),
        ),
      );
      expect(result.rows).toHaveLength(Number(element.COUNT));
    }
  });
});

describe('search over HTTP', () => {
  let sandbox: RunningSandbox;
  let big: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ archive: createDemoArchive() });
    big = await startSandbox({ archive: generateArchive({ experiments: 20 }) });
  });
  afterAll(async () => {
    await sandbox?.close();
    await big?.close();
  });

  const basic = (login: string, password = login === 'admin' ? 'admin' : `${login}123`) =>
    `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
  const post = (url: string, body: string, login = 'alice') =>
    fetch(url, {
      method: 'POST',
      body,
      headers: { Authorization: basic(login), 'Content-Type': 'text/xml' },
    });
  const get = (url: string, login = 'alice') => fetch(url, { headers: { Authorization: basic(login) } });

  const mrBundle = bundle(
    'xnat:mrSessionData',
    ['xnat:mrSessionData/SESSION_ID', 'xnat:mrSessionData/LABEL', 'xnat:subjectData/SUBJECT_LABEL'],
    where('AND', criteria('xnat:mrSessionData/PROJECT', '=', 'BRAIN_MR')),
  );
  const expectedSessions = experiments.filter(
    (e) => e.xsiType === 'xnat:mrSessionData' && e.project === 'BRAIN_MR',
  );

  it('answers POST /data/search?format=json with the ResultSet envelope', async () => {
    const response = await post(`${sandbox.url}/data/search?format=json`, mrBundle);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      ResultSet: {
        Columns: Array<Record<string, string>>;
        Result: Array<Record<string, string>>;
        totalRecords: string;
        rootElementName: string;
      };
    };
    expect(body.ResultSet.rootElementName).toBe('xnat:mrSessionData');
    expect(body.ResultSet.totalRecords).toBe(String(expectedSessions.length));
    expect(body.ResultSet.Columns.map((c) => c.key)).toEqual([
      'session_id',
      'label',
      'xnat_subjectdata_subject_label',
      'quarantine_status',
    ]);
    expect(sorted(body.ResultSet.Result.map((r) => r.session_id))).toEqual(
      sorted(expectedSessions.map((e) => e.id)),
    );
    for (const row of body.ResultSet.Result)
      for (const v of Object.values(row)) expect(typeof v).toBe('string');
  });

  it('answers format=csv with a header row of result keys, as pyxnat and xnatpy read it', async () => {
    const response = await post(`${sandbox.url}/data/search?format=csv`, mrBundle);
    expect(response.status).toBe(200);
    const lines = (await response.text()).trimEnd().split('\n');
    expect(lines[0]).toBe('session_id,label,xnat_subjectdata_subject_label,quarantine_status');
    expect(lines).toHaveLength(expectedSessions.length + 1);
    const unicode = expectedSessions.find((e) => /[^ -~]/.test(e.label));
    expect(lines.some((l) => unicode !== undefined && l.startsWith(`${unicode.id},${unicode.label},`))).toBe(
      true,
    );
  });

  it('caches a search and pages it with GET /data/search/{ID}', async () => {
    const response = await post(`${sandbox.url}/data/search?format=json&cache=true`, mrBundle);
    const body = (await response.json()) as { ResultSet: { ID: string; totalRecords: string } };
    expect(body.ResultSet.ID).toBeTruthy();
    expect(body.ResultSet.totalRecords).toBe(String(expectedSessions.length));
    const page = await get(
      `${sandbox.url}/data/search/${body.ResultSet.ID}?format=json&offset=5&limit=10&sortBy=session_id&sortOrder=ASC`,
    );
    const paged = (await page.json()) as { ResultSet: { Result: Array<Record<string, string>> } };
    expect(paged.ResultSet.Result.map((r) => r.session_id)).toEqual(
      sorted(expectedSessions.map((e) => e.id)).slice(5, 15),
    );
  });

  it('answers 422 for a body that is not a search document, 403 when nothing is queryable', async () => {
    expect((await post(`${sandbox.url}/data/search?format=json`, 'hello')).status).toBe(422);
    expect(
      (await post(`${sandbox.url}/data/search?format=json`, '<xdat:other xmlns:xdat="x"/>')).status,
    ).toBe(422);
    expect((await post(`${big.url}/data/search?format=json`, mrBundle, 'dave')).status).toBe(403);
    const admin = await post(
      `${big.url}/data/search?format=json`,
      bundle('xnat:mrSessionData', ['xnat:mrSessionData/LABEL']),
      'admin',
    );
    expect(((await admin.json()) as { ResultSet: { totalRecords: string } }).ResultSet.totalRecords).toBe(
      '20',
    );
  });

  it('lists searchable elements and their fields', async () => {
    const elements = (await (
      await get(`${sandbox.url}/data/search/elements?format=json`, 'dave')
    ).json()) as {
      ResultSet: { Result: Array<Record<string, string>> };
    };
    expect(elements.ResultSet.Result).toEqual(searchElementRows(archive, user('dave')));
    const fields = await get(`${sandbox.url}/data/search/elements/xnat:subjectData?format=json`);
    const fieldBody = (await fields.json()) as { ResultSet: { Result: Array<Record<string, string>> } };
    expect(fieldBody.ResultSet.Result).toEqual(searchFieldRows(archive, user('alice'), 'xnat:subjectData'));
    expect((await get(`${sandbox.url}/data/search/elements/xnat:noSuchData?format=json`)).status).toBe(404);
  });
});
