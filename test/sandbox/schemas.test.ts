import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { getAs, resultRows, startFixtureSandbox } from './fixture.js';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startFixtureSandbox();
});
afterAll(async () => {
  await sb.close();
});

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (name) => ['xs:complexType', 'xs:simpleType', 'xs:element', 'xs:import'].includes(name),
});

interface Schema {
  targetNamespace: string;
  prefixes: Record<string, string>;
  /** Prefixed type name → prefixed base type ('' when the type extends nothing). */
  bases: Map<string, string>;
  /** Root element name → prefixed type name. */
  roots: Map<string, string>;
  text: string;
}

async function fetchSchema(path: string): Promise<Schema> {
  const response = await getAs(sb, 'alice', path);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/xml/);
  const text = await response.text();
  expect(XMLValidator.validate(text)).toBe(true);
  const root = (parser.parse(text) as Node)['xs:schema'] as Node;
  const targetNamespace = String(root['@targetNamespace']);
  const prefixes = Object.fromEntries(
    Object.entries(root)
      .filter(([k]) => k.startsWith('@xmlns:'))
      .map(([k, v]) => [String(v), k.slice('@xmlns:'.length)]),
  );
  const own = prefixes[targetNamespace] ?? '';
  const bases = new Map<string, string>();
  for (const type of (root['xs:complexType'] ?? []) as Node[]) {
    const extension = (type['xs:complexContent'] as Node | undefined)?.['xs:extension'] as Node | undefined;
    bases.set(`${own}:${String(type['@name'])}`, String(extension?.['@base'] ?? ''));
  }
  for (const type of (root['xs:simpleType'] ?? []) as Node[])
    bases.set(`${own}:${String(type['@name'])}`, '');
  const roots = new Map(
    ((root['xs:element'] ?? []) as Node[]).map((e) => [`${own}:${String(e['@name'])}`, String(e['@type'])]),
  );
  return { targetNamespace, prefixes, bases, roots, text };
}

async function allSchemas(): Promise<Schema[]> {
  const names = (await (await getAs(sb, 'alice', '/xapi/schemas')).json()) as string[];
  return Promise.all(names.map((name) => fetchSchema(`/xapi/schemas/${name}`)));
}

function chain(bases: Map<string, string>, type: string): string[] {
  const lineage: string[] = [];
  for (let t: string | undefined = type; t; t = bases.get(t) || undefined) lineage.push(t);
  return lineage;
}

describe('/xapi/schemas (SchemaApi)', () => {
  it('lists the data-type schemas as a JSON array of names', async () => {
    const response = await getAs(sb, 'alice', '/xapi/schemas');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(expect.arrayContaining(['xnat', 'xdat', 'security', 'catalog']));
  });

  it('serves every listed schema as well-formed XSD in its XNAT namespace', async () => {
    const byNamespace = new Map((await allSchemas()).map((s) => [s.targetNamespace, s]));
    expect([...byNamespace.keys()].sort()).toEqual([
      'http://nrg.wustl.edu/catalog',
      'http://nrg.wustl.edu/security',
      'http://nrg.wustl.edu/xdat',
      'http://nrg.wustl.edu/xnat',
    ]);
    const xnat = byNamespace.get('http://nrg.wustl.edu/xnat');
    expect(xnat?.prefixes['http://nrg.wustl.edu/xdat']).toBe('xdat');
    expect(xnat?.text).toContain(
      '<xs:import namespace="http://nrg.wustl.edu/xdat" schemaLocation="../xdat/xdat.xsd"/>',
    );
    expect(byNamespace.get('http://nrg.wustl.edu/catalog')?.bases.has('cat:entry')).toBe(true);
    expect(byNamespace.get('http://nrg.wustl.edu/security')?.roots.get('xdat:bundle')).toBe(
      'xdat:stored_search',
    );
    expect(byNamespace.get('http://nrg.wustl.edu/xdat')?.bases.has('xdat:LONGVARCHAR')).toBe(true);
  });

  it("declares XNAT's types with their base types and root elements", async () => {
    const xnat = await fetchSchema('/xapi/schemas/xnat');
    const lineage = (type: string) => chain(xnat.bases, type);
    expect(lineage('xnat:mrSessionData')).toEqual([
      'xnat:mrSessionData',
      'xnat:imageSessionData',
      'xnat:subjectAssessorData',
      'xnat:experimentData',
    ]);
    expect(lineage('xnat:petmrSessionData').slice(0, 3)).toEqual([
      'xnat:petmrSessionData',
      'xnat:petSessionData',
      'xnat:imageSessionData',
    ]);
    for (const scan of ['xnat:mrScanData', 'xnat:petScanData', 'xnat:ctScanData']) {
      expect(lineage(scan)).toEqual([scan, 'xnat:imageScanData']);
    }
    expect(lineage('xnat:qcAssessmentData')).toEqual([
      'xnat:qcAssessmentData',
      'xnat:mrAssessorData',
      'xnat:imageAssessorData',
      'xnat:derivedData',
      'xnat:experimentData',
    ]);
    expect(lineage('xnat:resourceCatalog')).toEqual([
      'xnat:resourceCatalog',
      'xnat:resource',
      'xnat:abstractResource',
    ]);
    expect(lineage('xnat:demographicData')).toEqual(['xnat:demographicData', 'xnat:abstractDemographicData']);
    for (const type of [
      'xnat:projectData',
      'xnat:subjectData',
      'xnat:investigatorData',
      'xnat:ctSessionData',
    ]) {
      expect(xnat.bases.has(type)).toBe(true);
    }
    expect(xnat.roots.get('xnat:MRSession')).toBe('xnat:mrSessionData');
    expect(xnat.roots.get('xnat:Project')).toBe('xnat:projectData');
    expect(xnat.roots.get('xnat:QCManualAssessment')).toBe('xnat:qcManualAssessorData');
  });

  it('writes members in XSD shapes: wrapped lists, custom fields with a name, restrictions', async () => {
    const { text } = await fetchSchema('/xapi/schemas/xnat');
    const project = text.slice(text.indexOf('<xs:complexType name="projectData">'));
    expect(project).toMatch(
      /<xs:element name="resources" minOccurs="0">\s*<xs:complexType>\s*<xs:sequence>\s*<xs:element name="resource" type="xnat:abstractResource" minOccurs="0" maxOccurs="unbounded"\/>/,
    );
    expect(project).toMatch(/<xs:element name="PI" type="xnat:investigatorData" minOccurs="0"\/>/);
    expect(project).toMatch(
      /<xs:element name="field" minOccurs="0" maxOccurs="unbounded">[\s\S]*?<xdat:element displayIdentifiers="name"\/>[\s\S]*?<xs:extension base="xs:string">\s*<xs:attribute name="name" type="xs:string" use="optional"\/>/,
    );
    expect(project).toMatch(/<xs:attribute name="ID" type="xs:string" use="required"\/>/);
    // xnat.xsd's projectData sequence, in order (pyxnat lists a project's attributes from it).
    const sequence = project.slice(0, project.indexOf('\n\t</xs:complexType>'));
    const top = [...sequence.matchAll(/\n\t{3}<xs:element name="([^"]+)"/g)].map((m) => m[1]);
    expect(top).toEqual([
      'name',
      'type',
      'description',
      'keywords',
      'aliases',
      'publications',
      'resources',
      'studyProtocol',
      'PI',
      'investigators',
      'fields',
    ]);
    const demographics = text.slice(text.indexOf('<xs:complexType name="demographicData">'));
    expect(demographics).toMatch(
      /<xs:element name="gender" minOccurs="0">\s*<xs:simpleType>\s*<xs:restriction base="xs:string">\s*<xs:enumeration value="male"\/>/,
    );
  });

  it('declares the type of every document and search element the sandbox serves', async () => {
    const declared = new Map<string, string>();
    for (const schema of await allSchemas()) {
      for (const type of schema.bases.keys()) declared.set(type.toLowerCase(), type);
    }
    const elements = await resultRows(await getAs(sb, 'alice', '/data/search/elements?format=json'));
    expect(elements.length).toBeGreaterThan(5);
    for (const row of elements) expect(declared.has(String(row.ELEMENT_NAME).toLowerCase())).toBe(true);

    const xnat = await fetchSchema('/xapi/schemas/xnat');
    const experiments = await resultRows(await getAs(sb, 'admin', '/data/experiments?format=json'));
    for (const row of experiments) {
      const xml = await (await getAs(sb, 'admin', `/data/experiments/${String(row.ID)}?format=xml`)).text();
      const root = /<([\w:]+) /.exec(xml.slice(xml.indexOf('?>') + 2))?.[1] ?? '';
      expect(xnat.roots.get(root)).toBe(declared.get(String(row.xsiType).toLowerCase()));
      for (const scan of await resultRows(
        await getAs(sb, 'admin', `/data/experiments/${String(row.ID)}/scans?format=json`),
      )) {
        expect(declared.has(String(scan.xsiType).toLowerCase())).toBe(true);
      }
    }
  });

  it('serves a schema under its folder too, and 404s unknown schemas', async () => {
    const plain = await (await getAs(sb, 'alice', '/xapi/schemas/catalog')).text();
    const folder = await getAs(sb, 'alice', '/xapi/schemas/catalog/catalog');
    expect(await folder.text()).toBe(plain);
    for (const path of ['/xapi/schemas/nope', '/xapi/schemas/xdat/display', '/xapi/schemas/catalog/xnat']) {
      expect((await getAs(sb, 'alice', path)).status).toBe(404);
    }
    expect((await fetch(`${sb.url}/xapi/schemas/xnat`)).status).toBe(401);
  });
});
