/**
 * XNAT search documents (`xdat:bundle`, also the body of an `xdat:stored_search`): the root element,
 * the display fields to show and the criteria tree, as `POST /data/search` and saved searches read them.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import * as z from 'zod';

import { SandboxHttpError } from './errors.js';

export interface SearchField {
  elementName: string;
  fieldId: string;
  header: string;
  /** The value of a `FIELD_ID=value` field, from the ID or the `value` element. */
  value: string;
  /** `xdat:type` as sent (`string` from pyxnat), kept for stored searches. */
  type: string;
}

export interface SearchCriteria {
  schemaField: string;
  comparison: string;
  value: string;
  overrideValueFormatting: boolean;
}

export interface CriteriaSet {
  method: 'AND' | 'OR';
  criteria: SearchCriteria[];
  childSets: CriteriaSet[];
}

export interface SearchBundle {
  rootElementName: string;
  fields: SearchField[];
  where: CriteriaSet | undefined;
  /** `xdat:sort_by`: the display field rows are ordered by (XdatStoredSearch#getDisplaySearch). */
  sortBy?: { elementName: string; fieldId: string } | undefined;
}

/** The whole document, as an `xdat:stored_search` keeps it (the `xdat:bundle` attributes and sharing). */
export interface SearchDocument extends SearchBundle {
  id: string;
  briefDescription: string;
  description: string;
  /** Absent when the document does not say (XNAT's default is secure). */
  secure: boolean | undefined;
  allowDiffColumns: boolean | undefined;
  tag: string;
  allowedUsers: string[];
  allowedGroups: string[];
}

/** Text content of an element that may also carry attributes (`{'#text': ...}`). */
const text = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && '#text' in v ? (v as { '#text': unknown })['#text'] : v),
  z.union([z.string(), z.number(), z.boolean()]).transform(String),
);

const RawField = z.object({
  element_name: text,
  field_ID: text,
  header: text.optional(),
  value: text.optional(),
  sequence: text.optional(),
  type: text.optional(),
});

const RawCriteria = z.object({
  '@_override_value_formatting': z.string().optional(),
  schema_field: text,
  comparison_type: text,
  value: text.optional(),
});

interface RawSet {
  '@_method'?: string | undefined;
  criteria?: Array<z.infer<typeof RawCriteria>> | undefined;
  child_set?: RawSet[] | undefined;
}

const RawSetSchema: z.ZodType<RawSet> = z.lazy(() =>
  z.object({
    '@_method': z.string().optional(),
    criteria: z.array(RawCriteria).optional(),
    child_set: z.array(RawSetSchema).optional(),
  }),
);

const RawBundle = z.object({
  '@_ID': z.string().optional(),
  '@_brief-description': z.string().optional(),
  '@_description': z.string().optional(),
  '@_secure': z.string().optional(),
  '@_allow-diff-columns': z.string().optional(),
  '@_tag': z.string().optional(),
  root_element_name: text,
  search_field: z.array(RawField).optional(),
  search_where: z.array(RawSetSchema).optional(),
  sort_by: z.object({ element_name: text.optional(), field_ID: text.optional() }).optional(),
  allowed_user: z.array(z.object({ login: text.optional() }).or(z.literal(''))).optional(),
  allowed_groups: z
    .object({ groupID: z.array(text).optional() })
    .or(z.literal(''))
    .optional(),
});

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) =>
    ['search_field', 'search_where', 'criteria', 'child_set', 'allowed_user', 'groupID'].includes(name),
});

/** xs:boolean lexical forms (`true`/`false`/`1`/`0`). */
function xmlBoolean(value: string | undefined): boolean | undefined {
  const v = value?.trim().toLowerCase();
  return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : undefined;
}

function criteriaSet(raw: RawSet): CriteriaSet {
  return {
    method: raw['@_method']?.trim().toUpperCase() === 'OR' ? 'OR' : 'AND',
    criteria: (raw.criteria ?? []).map((c) => ({
      schemaField: c.schema_field.trim(),
      comparison: c.comparison_type,
      value: c.value ?? '',
      overrideValueFormatting: xmlBoolean(c['@_override_value_formatting']) ?? false,
    })),
    childSets: (raw.child_set ?? []).map(criteriaSet),
  };
}

/** Parses an `xdat:bundle` or `xdat:stored_search` (raw XML, or a multipart body holding it); 422 when it is not one. */
export function parseBundle(body: string | Buffer): SearchDocument {
  const source = typeof body === 'string' ? body : body.toString('utf8');
  // A multipart upload wraps the document in boundaries and part headers: keep the XML itself.
  const start = source.indexOf('<');
  const end = source.lastIndexOf('>');
  const xml = start >= 0 && end > start ? source.slice(start, end + 1) : '';
  if (xml === '' || XMLValidator.validate(xml) !== true) {
    throw new SandboxHttpError(
      422,
      'Unable to parse the search document: the request body is not well-formed XML.',
    );
  }
  const document: unknown = parser.parse(xml);
  const root =
    document !== null && typeof document === 'object'
      ? ((document as Record<string, unknown>).bundle ?? (document as Record<string, unknown>).stored_search)
      : undefined;
  const parsed = RawBundle.safeParse(root);
  if (!parsed.success) {
    throw new SandboxHttpError(
      422,
      'The request body is not an xdat:bundle search document (it needs xdat:root_element_name and xdat:search_field elements).',
    );
  }
  const data = parsed.data;
  const where = data.search_where?.[0];
  return {
    id: data['@_ID'] ?? '',
    briefDescription: data['@_brief-description'] ?? '',
    description: data['@_description'] ?? '',
    secure: xmlBoolean(data['@_secure']),
    allowDiffColumns: xmlBoolean(data['@_allow-diff-columns']),
    tag: data['@_tag'] ?? '',
    rootElementName: data.root_element_name.trim(),
    fields: (data.search_field ?? [])
      .map((f, index) => ({ f, index, sequence: Number(f.sequence ?? Number.NaN) }))
      .sort((a, b) => a.sequence - b.sequence || a.index - b.index)
      .map(({ f }) => {
        const fieldId = f.field_ID.trim();
        const eq = fieldId.indexOf('=');
        return {
          elementName: f.element_name.trim(),
          fieldId,
          header: f.header?.trim() ?? '',
          value: eq >= 0 ? fieldId.slice(eq + 1) : (f.value?.trim() ?? ''),
          type: f.type?.trim() ?? '',
        };
      }),
    where: where ? criteriaSet(where) : undefined,
    sortBy:
      data.sort_by?.element_name && data.sort_by.field_ID
        ? { elementName: data.sort_by.element_name.trim(), fieldId: data.sort_by.field_ID.trim() }
        : undefined,
    allowedUsers: (data.allowed_user ?? [])
      .map((u) => (typeof u === 'string' ? '' : (u.login?.trim() ?? '')))
      .filter((login) => login !== ''),
    allowedGroups: typeof data.allowed_groups === 'object' ? (data.allowed_groups.groupID ?? []) : [],
  };
}
