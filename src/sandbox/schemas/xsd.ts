/**
 * XNAT's data-type schema API (xnat-web `SchemaApi`): `GET /xapi/schemas` lists the schema names,
 * `GET /xapi/schemas/{schema}` and `/xapi/schemas/{namespace}/{schema}` return the XSD text. The
 * documents are rendered from the sandbox's data-type table, so they describe the types it serves.
 */
import { SandboxHttpError } from '../errors.js';
import { jsonReply, textReply, type AuthedContext, type Reply } from '../reply.js';
import { element, xmlDocument, type XmlElement } from '../xml.js';
import { NAMESPACES, SCHEMAS, findSchema, type SchemaDocument } from './datatypes.js';
import type { AttributeMember, DataType, ElementMember, Member, Restriction } from './declare.js';

const XS = 'http://www.w3.org/2001/XMLSchema';

function local(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

function annotation(displayIdentifiers?: string, documentation?: string): XmlElement[] {
  const appinfo = displayIdentifiers
    ? [element('xs:appinfo', [], [element('xdat:element', [['displayIdentifiers', displayIdentifiers]])])]
    : [];
  const docs = documentation ? [element('xs:documentation', [], [], documentation)] : [];
  return appinfo.length + docs.length > 0 ? [element('xs:annotation', [], [...appinfo, ...docs])] : [];
}

function restriction(r: Restriction): XmlElement {
  return element(
    'xs:restriction',
    [['base', r.base]],
    [
      ...(r.maxLength === undefined ? [] : [element('xs:maxLength', [['value', r.maxLength]])]),
      ...(r.enumeration ?? []).map((value) => element('xs:enumeration', [['value', value]])),
    ],
  );
}

function attributeXsd(a: AttributeMember): XmlElement {
  return element('xs:attribute', [
    ['name', a.name],
    ['type', a.type],
    ['use', a.required ? 'required' : 'optional'],
  ]);
}

/** Elements in an `xs:sequence`, then attributes: the order XSD requires inside a complex type. */
function content(members: Member[]): XmlElement[] {
  const elements = members.filter((m): m is ElementMember => m.kind === 'element');
  const attributes = members.filter((m): m is AttributeMember => m.kind === 'attribute');
  return [
    ...(elements.length > 0 ? [element('xs:sequence', [], elements.map(elementXsd))] : []),
    ...attributes.map(attributeXsd),
  ];
}

function elementXsd(m: ElementMember): XmlElement {
  const body: XmlElement[] = [...annotation(m.displayIdentifiers, m.documentation)];
  if (m.restriction) body.push(element('xs:simpleType', [], [restriction(m.restriction)]));
  else if (m.simpleContent) {
    const { base, attributes } = m.simpleContent;
    body.push(
      element(
        'xs:complexType',
        [],
        [
          element(
            'xs:simpleContent',
            [],
            [element('xs:extension', [['base', base]], attributes.map(attributeXsd))],
          ),
        ],
      ),
    );
  } else if (m.members) body.push(element('xs:complexType', [], content(m.members)));
  const named = !m.restriction && !m.simpleContent && !m.members;
  return element(
    'xs:element',
    [
      ['name', m.name],
      ['type', named ? m.type : undefined],
      ['minOccurs', m.required ? undefined : '0'],
      ['maxOccurs', m.repeated ? 'unbounded' : undefined],
    ],
    body,
  );
}

function typeXsd(type: DataType): XmlElement {
  const notes = annotation(type.displayIdentifiers, type.documentation);
  if (type.simple)
    return element('xs:simpleType', [['name', local(type.name)]], [...notes, restriction(type.simple)]);
  const body = type.base
    ? [
        element(
          'xs:complexContent',
          [],
          [element('xs:extension', [['base', type.base]], content(type.members))],
        ),
      ]
    : content(type.members);
  return element('xs:complexType', [['name', local(type.name)]], [...notes, ...body]);
}

/** The XSD document of one schema: namespace declarations, imports, root elements, then the types. */
export function renderSchema(schema: SchemaDocument): string {
  const imported = schema.imports.flatMap((name) => findSchema(name) ?? []);
  // `xdat` annotations (display identifiers) need the xdat namespace even where no type refers to it.
  const prefixes = new Map<string, string>([[schema.prefix, schema.namespace]]);
  for (const s of imported) prefixes.set(s.prefix, s.namespace);
  if (!prefixes.has('xdat')) prefixes.set('xdat', NAMESPACES.xdat ?? '');
  const root = element(
    'xs:schema',
    [
      ['targetNamespace', schema.namespace],
      ...[...prefixes].map(([prefix, namespace]): [string, string] => [`xmlns:${prefix}`, namespace]),
      ['xmlns:xs', XS],
      ['elementFormDefault', 'qualified'],
      ['attributeFormDefault', 'unqualified'],
    ],
    [
      ...imported.map((s) =>
        element('xs:import', [
          ['namespace', s.namespace],
          ['schemaLocation', `../${s.name}/${s.name}.xsd`],
        ]),
      ),
      ...schema.types.flatMap((t) =>
        t.root === undefined
          ? []
          : [
              element('xs:element', [
                ['name', t.root],
                ['type', t.name],
              ]),
            ],
      ),
      ...schema.types.map(typeXsd),
    ],
  );
  return xmlDocument(root);
}

/** `GET /xapi/schemas`: every schema name, as `getAllDataTypeSchemas` lists the classpath's `schemas/*\/*.xsd`. */
export function listSchemas(): Reply {
  return jsonReply(SCHEMAS.map((s) => s.name));
}

/**
 * `GET /xapi/schemas/{schema}` reads `schemas/{schema}/{schema}.xsd`; `/xapi/schemas/{namespace}/{schema}`
 * reads `schemas/{namespace}/{schema}.xsd`. Anything else is a NotFoundException (404).
 */
export function getSchema(ctx: AuthedContext): Reply {
  const name = ctx.params.schema ?? '';
  const folder = ctx.params.namespace ?? name;
  const schema = folder === name ? findSchema(name) : undefined;
  if (!schema) throw new SandboxHttpError(404, `classpath:schemas/${folder}/${name}.xsd`);
  return textReply(200, renderSchema(schema), 'application/xml;charset=UTF-8');
}
