import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { XnatBadRequestError } from '../../src/client/errors.js';
import { buildSearchXml } from '../../src/client/search.js';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  trimValues: false,
  isArray: (name) => ['xdat:search_field', 'xdat:criteria', 'xdat:child_set'].includes(name),
});

type Node = Record<string, unknown>;

function bundleOf(xml: string): Node {
  return (parser.parse(xml) as Node)['xdat:bundle'] as Node;
}

describe('xdat:bundle building', () => {
  it('writes root element, search fields and nested criteria like XNAT documents', () => {
    const xml = buildSearchXml({
      rootElement: 'xnat:mrSessionData',
      fields: [
        { fieldId: 'LABEL', header: 'Label' },
        { fieldId: 'DATE', type: 'date' },
        { element: 'xnat:subjectData', fieldId: 'SUBJECT_LABEL', header: 'Subject' },
      ],
      where: {
        method: 'AND',
        criteria: [
          { field: 'xnat:mrSessionData/project', op: '=', value: 'BRAIN_MR' },
          { field: 'xnat:mrSessionData/date', op: 'BETWEEN', value: '2020-01-01 AND 2020-12-31' },
          {
            method: 'OR',
            criteria: [
              { field: 'xnat:mrSessionData/label', op: 'LIKE', value: 'MR*' },
              { field: 'xnat:mrSessionData/note', op: 'IS NULL' },
            ],
          },
        ],
      },
    });
    const bundle = bundleOf(xml);
    expect(bundle['@_xmlns:xdat']).toBe('http://nrg.wustl.edu/security');
    expect(bundle['xdat:root_element_name']).toBe('xnat:mrSessionData');
    expect(bundle['xdat:search_field']).toEqual([
      {
        'xdat:element_name': 'xnat:mrSessionData',
        'xdat:field_ID': 'LABEL',
        'xdat:sequence': 0,
        'xdat:type': 'string',
        'xdat:header': 'Label',
      },
      {
        'xdat:element_name': 'xnat:mrSessionData',
        'xdat:field_ID': 'DATE',
        'xdat:sequence': 1,
        'xdat:type': 'date',
        'xdat:header': 'DATE',
      },
      {
        'xdat:element_name': 'xnat:subjectData',
        'xdat:field_ID': 'SUBJECT_LABEL',
        'xdat:sequence': 2,
        'xdat:type': 'string',
        'xdat:header': 'Subject',
      },
    ]);
    const where = bundle['xdat:search_where'] as Node;
    expect(where['@_method']).toBe('AND');
    expect(where['xdat:criteria']).toEqual([
      {
        '@_override_value_formatting': '0',
        'xdat:schema_field': 'xnat:mrSessionData/project',
        'xdat:comparison_type': '=',
        'xdat:value': 'BRAIN_MR',
      },
      {
        '@_override_value_formatting': '0',
        'xdat:schema_field': 'xnat:mrSessionData/date',
        'xdat:comparison_type': 'BETWEEN',
        'xdat:value': '01/01/2020 AND 12/31/2020',
      },
    ]);
    const [child] = where['xdat:child_set'] as Node[];
    expect(child!['@_method']).toBe('OR');
    expect(child!['xdat:criteria']).toEqual([
      {
        '@_override_value_formatting': '0',
        'xdat:schema_field': 'xnat:mrSessionData/label',
        'xdat:comparison_type': ' LIKE ',
        'xdat:value': 'MR%',
      },
      {
        '@_override_value_formatting': '0',
        'xdat:schema_field': 'xnat:mrSessionData/note',
        'xdat:comparison_type': 'IS NULL',
        'xdat:value': '',
      },
    ]);
  });

  it('escapes values and converts ISO dates and bare LIKE values', () => {
    const xml = buildSearchXml({
      rootElement: 'xnat:subjectData',
      fields: [{ fieldId: 'SUBJECT_LABEL' }],
      where: {
        method: 'AND',
        criteria: [
          { field: 'xnat:subjectData/label', op: 'LIKE', value: '<a&b>' },
          { field: 'xnat:subjectData/insert_date', op: '>=', value: '2021-02-03' },
        ],
      },
    });
    expect(xml).toContain('&lt;a&amp;b&gt;');
    const criteria = (bundleOf(xml)['xdat:search_where'] as Node)['xdat:criteria'] as Node[];
    expect(criteria.map((c) => c['xdat:value'])).toEqual(['%<a&b>%', '02/03/2021']);
  });

  it('has the same element structure as the bundle xnatpy sent to a real XNAT', () => {
    const recorded = bundleOf(
      readFileSync(
        new URL('./fixtures/search-request.bundle-for-search-result.xnatpy.xml', import.meta.url),
        'utf8',
      ),
    );
    const ours = bundleOf(
      buildSearchXml({
        rootElement: 'xnat:mrSessionData',
        fields: [
          { fieldId: 'PROJECT', header: 'url' },
          { fieldId: 'xnat:mrSessionData/label', header: 'url' },
        ],
        where: { method: 'AND', criteria: [{ field: 'xnat:mrSessionData/label', op: '=', value: 'test' }] },
      }),
    );
    const shape = (node: Node): string[] =>
      Object.keys(node)
        .filter((k) => k.startsWith('xdat:'))
        .sort();
    expect(shape(ours)).toEqual(shape(recorded));
    expect(Object.keys((ours['xdat:search_field'] as Node[])[0]!).sort()).toEqual(
      Object.keys((recorded['xdat:search_field'] as Node[])[0]!).sort(),
    );
    expect((ours['xdat:search_where'] as Node)['xdat:criteria']).toEqual(
      (recorded['xdat:search_where'] as Node)['xdat:criteria'],
    );
  });

  it('rejects unusable searches with actionable messages', () => {
    expect(() => buildSearchXml({ rootElement: 'mrSession', fields: [{ fieldId: 'LABEL' }] })).toThrow(
      /xnat:mrSessionData/,
    );
    expect(() => buildSearchXml({ rootElement: 'xnat:mrSessionData', fields: [] })).toThrow(
      XnatBadRequestError,
    );
    expect(() =>
      buildSearchXml({
        rootElement: 'xnat:mrSessionData',
        fields: [{ fieldId: 'LABEL' }],
        where: {
          method: 'AND',
          criteria: [{ field: 'xnat:mrSessionData/date', op: 'BETWEEN', value: '2020-01-01' }],
        },
      }),
    ).toThrow(/BETWEEN/);
    expect(() =>
      buildSearchXml({
        rootElement: 'xnat:mrSessionData',
        fields: [{ fieldId: 'LABEL' }],
        where: { method: 'AND', criteria: [{ field: 'xnat:mrSessionData/label', op: '=' }] },
      }),
    ).toThrow(/needs a value/);
  });
});
