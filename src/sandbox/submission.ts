/**
 * What a write request asks to set on one item, read the way `SecureResource#loadItem` reads it:
 * an `.xml` multipart part, an XML body or form fields first, then the query parameters on top
 * (shortcut names and xpaths: `xnat:mrSessionData/date`,
 * `.../demographics[@xsi:type=xnat:demographicData]/gender`, `.../fields/field[name=x]/field`).
 * Unknown fields are ignored, as XNAT ignores them.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { SandboxHttpError } from './errors.js';
import type { StoredElement } from './model.js';
import type { AuthedContext } from './reply.js';
import { IMAGE_SCAN_DATA, typeLineage, typeOfElement } from './types.js';

export type ItemKind = 'project' | 'subject' | 'experiment' | 'scan' | 'reconstruction';

/** What a request asks to set on one item. */
export interface Submission {
  /** The data type named by `xsiType=`, the document root or the first typed xpath. */
  xsiType: string | undefined;
  /** Values by path relative to the item (`date`, `demographics/gender`, `fields/field[name=x]/field`). */
  values: Array<[string, string]>;
  /** Identity attributes of a submitted XML document, checked against the stored item. */
  document: { id?: string; project?: string; label?: string } | undefined;
  /** Scans of a submitted session document. */
  scans: Submission[];
  /** Elements kept as submitted (KEPT_ELEMENTS). */
  elements: StoredElement[];
}

/** Query parameters that steer the request rather than set a field. */
const CONTROL_PARAMS = new Set(
  [
    'format',
    'xsiType',
    'req_format',
    'inbody',
    'event_reason',
    'event_type',
    'event_action',
    'event_comment',
    'event_id',
    'quarantine',
    'activate',
    '_lock',
    '_unlock',
    '_obsolete',
    'allowDataDeletion',
    'removeFiles',
    'triggerPipelines',
    'fixScanTypes',
    'pullDataFromHeaders',
    'overwrite',
    'primary',
    'loadExisting',
    'ELEMENT_0',
    'XNAT_CSRF',
    'accessibility',
    'label',
  ].map((p) => p.toLowerCase()),
);

const DEMOGRAPHIC_SHORTCUTS = [
  'dob',
  'yob',
  'age',
  'gender',
  'handedness',
  'ses',
  'education',
  'educationDesc',
  'race',
  'ethnicity',
  'weight',
  'height',
  'gestational_age',
  'post_menstrual_age',
  'birth_weight',
];

/** XMLPathShortcuts (§2.4): shortcut name → path relative to the item. */
const SHORTCUTS: Record<ItemKind, Record<string, string>> = {
  project: {
    ID: 'ID',
    secondary_ID: 'secondary_ID',
    name: 'name',
    description: 'description',
    keywords: 'keywords',
    alias: 'aliases/alias/alias',
    pi_firstname: 'PI/firstname',
    pi_lastname: 'PI/lastname',
    note: 'note',
  },
  subject: {
    ID: 'ID',
    project: 'project',
    group: 'group',
    src: 'src',
    pi_firstname: 'investigator/firstname',
    pi_lastname: 'investigator/lastname',
    ...Object.fromEntries(DEMOGRAPHIC_SHORTCUTS.map((d) => [d, `demographics/${d}`])),
  },
  experiment: {
    ID: 'ID',
    visit_id: 'visit_id',
    visit: 'visit',
    protocol: 'protocol',
    date: 'date',
    time: 'time',
    note: 'note',
    project: 'project',
    scanner: 'scanner',
    operator: 'operator',
    dcmAccessionNumber: 'dcmAccessionNumber',
    dcmPatientId: 'dcmPatientId',
    dcmPatientName: 'dcmPatientName',
    session_type: 'session_type',
    modality: 'modality',
    UID: 'UID',
    studyInstanceUID: 'UID',
    coil: 'coil',
    fieldStrength: 'fieldStrength',
    marker: 'marker',
    stabilization: 'stabilization',
    subject_ID: 'subject_ID',
    acquisition_site: 'acquisition_site',
  },
  scan: {
    ID: 'ID',
    type: 'type',
    UID: 'UID',
    note: 'note',
    quality: 'quality',
    condition: 'condition',
    series_description: 'series_description',
    documentation: 'documentation',
    scanner: 'scanner',
    modality: 'modality',
    frames: 'frames',
    scanTime: 'startTime',
    coil: 'coil',
    fieldStrength: 'fieldStrength',
  },
  reconstruction: { ID: 'ID', type: 'type', baseScanType: 'baseScanType' },
};

function shortcut(kind: ItemKind, key: string): string | undefined {
  const lower = key.toLowerCase();
  const entry = Object.entries(SHORTCUTS[kind]).find(([name]) => name.toLowerCase() === lower);
  return entry?.[1];
}

const TYPED_KEY = /^([A-Za-z_][\w-]*:[A-Za-z_][\w-]*)\/(.+)$/;

/** `[@xsi:type=...]` predicates name a type, not an element: the path is the same without them. */
function stripTypePredicates(path: string): string {
  return path.replace(/\[@[^\]]*\]/g, '');
}

/** The types whose xpaths address an item of `xsiType` (the type itself and its ancestors). */
function lineageOf(kind: ItemKind, xsiType: string | undefined): string[] {
  if (kind === 'project') return ['xnat:projectdata'];
  if (kind === 'subject') return ['xnat:subjectdata'];
  if (kind === 'reconstruction') return ['xnat:reconstructedimagedata'];
  if (kind === 'scan')
    return [...(xsiType ? [xsiType] : []), 'xnat:imagescandata'].map((t) => t.toLowerCase());
  return xsiType ? typeLineage(xsiType).map((t) => t.toLowerCase()) : ['xnat:experimentdata'];
}

/** Query or form parameters as item values; the first typed xpath names the type when nothing else did. */
function paramValues(kind: ItemKind, params: URLSearchParams, submission: Submission): void {
  for (const [key, value] of params) {
    if (CONTROL_PARAMS.has(key.toLowerCase())) continue;
    const typed = TYPED_KEY.exec(key);
    if (typed?.[1] && typed[2]) {
      submission.xsiType ??= kind === 'project' || kind === 'subject' ? undefined : typed[1];
      if (!lineageOf(kind, submission.xsiType).includes(typed[1].toLowerCase())) continue;
      submission.values.push([stripTypePredicates(typed[2]), value]);
      continue;
    }
    const path = shortcut(kind, key);
    if (path !== undefined) submission.values.push([path, value]);
  }
}

// ---------------------------------------------------------------- XML documents

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => ['field', 'scan', 'alias', 'addParam', 'studyProtocol'].includes(localName(name)),
});

type XmlNode = Record<string, unknown>;

function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isNode(value) && typeof value['#text'] === 'string') return value['#text'];
  return undefined;
}

/** Schema parts the sandbox keeps as submitted (a project's `studyProtocol` elements). */
const KEPT_ELEMENTS = new Set(['studyProtocol', 'provenance']);

/** Elements below an item that are other records (shares, resources, children), not its fields. */
const SKIPPED_ELEMENTS = new Set([
  'sharing',
  'resources',
  'assessors',
  'reconstructions',
  'experiments',
  'file',
  'in',
  'out',
  'image_session_ID',
]);

function isMetaAttribute(name: string): boolean {
  return name.startsWith('@xmlns') || name.startsWith('@xsi:');
}

function collectElement(path: string, value: unknown, into: Array<[string, string]>): void {
  // `<xnat:addParam name="x">v</xnat:addParam>` is the xpath `.../addParam[name=x]/addField`.
  if (localName(path.slice(path.lastIndexOf('/') + 1)) === 'addParam' && isNode(value)) {
    into.push([`${path}[name=${String(value['@name'] ?? '')}]/addField`, textOf(value) ?? '']);
    return;
  }
  const text = textOf(value);
  if (text !== undefined && text !== '') into.push([path, text]);
  if (!isNode(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key === '#text' || isMetaAttribute(key)) continue;
    if (key.startsWith('@')) into.push([`${path}/${key.slice(1)}`, String(child)]);
    else
      for (const item of Array.isArray(child) ? child : [child])
        collectElement(`${path}/${localName(key)}`, item, into);
  }
}

/** The repeated `child` elements of a wrapper element (`<xnat:scans><xnat:scan/>...`). */
function listed(wrapper: unknown, child: string): unknown[] {
  const items = isNode(wrapper)
    ? Object.entries(wrapper).find(([k]) => localName(k) === child)?.[1]
    : undefined;
  return Array.isArray(items) ? items : [];
}

/** A parsed element back as an element tree (namespace declarations dropped). */
function storedElement(name: string, node: unknown): StoredElement {
  const element: StoredElement = { name, attributes: [], children: [] };
  const text = textOf(node);
  if (text !== undefined && text !== '') element.text = text;
  if (!isNode(node)) return element;
  for (const [key, value] of Object.entries(node)) {
    if (key === '#text' || key.startsWith('@xmlns')) continue;
    if (key.startsWith('@')) element.attributes.push([key.slice(1), String(value)]);
    else
      for (const item of Array.isArray(value) ? value : [value])
        element.children.push(storedElement(key, item));
  }
  return element;
}

/** `elementType`: the type of the element the document's root or a scan was written as, unless `xsi:type` says more. */
function documentSubmission(root: XmlNode, elementType: string): Submission {
  const xsiType = typeof root['@xsi:type'] === 'string' ? root['@xsi:type'] : elementType;
  const submission: Submission = { xsiType, values: [], document: {}, scans: [], elements: [] };
  const document: NonNullable<Submission['document']> = {};
  for (const [key, value] of Object.entries(root)) {
    if (key === '#text' || isMetaAttribute(key)) continue;
    if (key.startsWith('@')) {
      // XFT reads an empty attribute as no value: `ID=""` asks the server to assign one.
      if (String(value) === '') continue;
      const name = key.slice(1);
      if (name === 'ID') document.id = String(value);
      else if (name === 'project') document.project = String(value);
      else if (name === 'label') document.label = String(value);
      else submission.values.push([name, String(value)]);
      continue;
    }
    const name = localName(key);
    if (SKIPPED_ELEMENTS.has(name)) continue;
    if (name === 'scans') {
      for (const scan of listed(value, 'scan'))
        if (isNode(scan)) submission.scans.push(documentSubmission(scan, IMAGE_SCAN_DATA));
    } else if (name === 'fields') {
      for (const field of listed(value, 'field')) {
        if (!isNode(field) || typeof field['@name'] !== 'string') continue;
        submission.values.push([`fields/field[name=${field['@name']}]/field`, textOf(field) ?? '']);
      }
    } else if (name === 'aliases') {
      for (const alias of listed(value, 'alias'))
        submission.values.push(['aliases/alias/alias', textOf(alias) ?? '']);
    } else if (KEPT_ELEMENTS.has(name)) {
      for (const item of Array.isArray(value) ? value : [value])
        submission.elements.push(storedElement(key, item));
      // An assessor's provenance is read back by path from its stored values (one step).
      if (name === 'provenance') collectElement(name, value, submission.values);
    } else collectElement(name, value, submission.values);
  }
  submission.document = document;
  return submission;
}

function parseDocument(xml: string): Submission {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new SandboxHttpError(
      422,
      `An error occurred parsing the XML: ${valid.err.msg} (line ${valid.err.line})`,
    );
  }
  const parsed = parser.parse(xml) as XmlNode;
  const rootEntry = Object.entries(parsed).find(([key]) => !key.startsWith('?') && key !== '#comment');
  if (!rootEntry || !isNode(rootEntry[1])) {
    throw new SandboxHttpError(422, 'An error occurred parsing the XML: no root element');
  }
  return documentSubmission(rootEntry[1], typeOfElement(rootEntry[0]));
}

/** The `.xml` file part of a multipart body (pyxnat sends `data.xml` this way), if there is one. */
function multipartXml(contentType: string, body: Buffer): string | undefined {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) return undefined;
  for (const part of body.toString('utf8').split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const headers = part.slice(0, split);
    if (/filename="[^"]*\.xml"/i.test(headers)) return part.slice(split + 4).replace(/\r\n$/, '');
  }
  return undefined;
}

function isTrue(value: string | null): boolean {
  return value !== null && value.toLowerCase() === 'true';
}

/** `SecureResource#loadItem`: document or form first, then the query parameters on top. */
export async function readSubmission(ctx: AuthedContext, kind: ItemKind): Promise<Submission> {
  const contentType = ctx.headers['content-type'] ?? '';
  const reqFormat = ctx.query.get('req_format')?.toLowerCase();
  const body = await ctx.body();
  let submission: Submission = {
    xsiType: undefined,
    values: [],
    document: undefined,
    scans: [],
    elements: [],
  };
  if (/multipart\/form-data/i.test(contentType)) {
    const xml = multipartXml(contentType, body);
    if (xml !== undefined) submission = parseDocument(xml);
  } else if (
    body.length > 0 &&
    (/(text|application)\/xml/i.test(contentType) || reqFormat === 'xml' || isTrue(ctx.query.get('inbody')))
  ) {
    submission = parseDocument(body.toString('utf8'));
  } else if (body.length > 0 && (reqFormat === 'form' || /x-www-form-urlencoded/i.test(contentType))) {
    paramValues(kind, new URLSearchParams(body.toString('utf8')), submission);
  }
  const queryType = ctx.query.get('xsiType');
  if (queryType) submission.xsiType = queryType;
  paramValues(kind, ctx.query, submission);
  return submission;
}

/** The value a submission gives a path (the last one wins, as each parameter overwrites the field). */
export function valueOf(submission: Submission, path: string): string | undefined {
  const lower = path.toLowerCase();
  return submission.values.filter(([p]) => p.toLowerCase() === lower).at(-1)?.[1];
}

/** The accession ID a request gives its item (the document's `ID`, else `ID=`); blank asks XNAT for a new one. */
export function submittedId(submission: Submission): string | undefined {
  return submission.document?.id ?? (valueOf(submission, 'ID') || undefined);
}
