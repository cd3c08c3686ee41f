/**
 * The vocabulary of the sandbox's data-type table: a data type is a named complex type (or a simple
 * type) with a base type and members shaped like XNAT's XSD members (elements, attributes, wrapped
 * lists, text with attributes). `xsd.ts` renders these declarations as the schema documents
 * `/xapi/schemas/{name}` serves.
 */

export interface AttributeMember {
  kind: 'attribute';
  name: string;
  type: string;
  required?: boolean;
}

/** A restriction of a simple base type (`xs:string` with a maximum length or an enumeration). */
export interface Restriction {
  base: string;
  maxLength?: number;
  enumeration?: readonly string[];
}

export interface ElementMember {
  kind: 'element';
  name: string;
  /** A named type: `xs:*` or another data type (`xnat:abstractResource`). */
  type?: string;
  restriction?: Restriction;
  /** Text of type `base` carrying attributes (`<xnat:field name="...">text</xnat:field>`). */
  simpleContent?: { base: string; attributes: AttributeMember[] };
  /** An anonymous complex type: wrappers (`scans` holding `scan`) and groups (`parameters`). */
  members?: Member[];
  required?: boolean;
  repeated?: boolean;
  /** XDAT's display identifier of the element's items (`name` for custom fields). */
  displayIdentifiers?: string;
  documentation?: string;
}

export type Member = ElementMember | AttributeMember;

export interface DataType {
  /** Prefixed type name, e.g. `xnat:mrSessionData`. */
  name: string;
  /** The type it extends (`xs:extension base=...`). */
  base?: string;
  /** A simple type (`xs:simpleType`) instead of a complex one. */
  simple?: Restriction;
  /** The document root element that carries this type (`MRSession`), when there is one. */
  root?: string;
  displayIdentifiers?: string;
  documentation?: string;
  members: Member[];
}

export function attr(name: string, type = 'xs:string', required = false): AttributeMember {
  return { kind: 'attribute', name, type, required };
}

export function el(name: string, type = 'xs:string', options: Partial<ElementMember> = {}): ElementMember {
  return { kind: 'element', name, type, ...options };
}

/** A string element restricted to a maximum length (most of XNAT's free-text fields). */
export function text(name: string, maxLength: number, documentation?: string): ElementMember {
  return {
    kind: 'element',
    name,
    restriction: { base: 'xs:string', maxLength },
    ...(documentation ? { documentation } : {}),
  };
}

export function choice(name: string, enumeration: readonly string[]): ElementMember {
  return { kind: 'element', name, restriction: { base: 'xs:string', enumeration } };
}

/** Text with attributes: `<scanner manufacturer=".." model="..">name</scanner>`. */
export function valued(
  name: string,
  base: string,
  attributes: AttributeMember[],
  options: Partial<ElementMember> = {},
): ElementMember {
  return { kind: 'element', name, simpleContent: { base, attributes }, ...options };
}

export function group(name: string, members: Member[]): ElementMember {
  return { kind: 'element', name, members };
}

/** A wrapper element holding any number of `item`s: `resources/resource`, `fields/field`. */
export function list(wrapper: string, item: ElementMember): ElementMember {
  return group(wrapper, [{ ...item, repeated: true }]);
}

/** XNAT's custom variables: `fields/field` with the value as text and its `name` attribute. */
export function customFields(base = 'xs:string'): ElementMember {
  return list('fields', valued('field', base, [attr('name')], { displayIdentifiers: 'name' }));
}
