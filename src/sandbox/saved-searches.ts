/**
 * Saved searches (`xdat:stored_search`), as XNAT's SavedSearchListResource and SavedSearchResource
 * keep them: the listing of the searches a user may use, each document as XML, running it, and
 * storing or removing it, with their access rules (public when not secure; otherwise the allowed
 * users; site admins list everything with `all=true` and delete any search).
 */
import { canEditProject } from './access.js';
import { SandboxHttpError } from './errors.js';
import type { SandboxArchive, SandboxUser } from './model.js';
import { parseBundle, type CriteriaSet, type SearchDocument } from './search-bundle.js';
import { element, xmlDocument, type XmlElement } from './xml.js';

/** The archive's stored searches (an empty map when the archive has none yet). */
export function savedSearchesOf(archive: SandboxArchive): Map<string, SearchDocument> {
  archive.savedSearches ??= new Map();
  return archive.savedSearches;
}

/** XNAT's default for `secure` is true: a document that does not say is private to its allowed users. */
const isSecure = (search: SearchDocument): boolean => search.secure ?? true;

/** Whether `login` may read and run the search (SavedSearchResource: secure searches need an allowed user, admins included). */
export function canUseSearch(search: SearchDocument, login: string): boolean {
  return !isSecure(search) || search.allowedUsers.includes(login);
}

/** `GET /data/search/saved` rows: SavedSearchListResource's query (columns of xdat_stored_search, then `users`). */
export function savedSearchRows(
  archive: SandboxArchive,
  user: SandboxUser,
  query: URLSearchParams,
): Array<Record<string, string>> {
  const listFor = (user.admin && query.get('user')) || user.login;
  const all = user.admin && query.get('all')?.toLowerCase() === 'true';
  const includeTag = query.get('includeTag');
  if (!all && includeTag !== null && includeTag !== 'true' && !archive.projects.has(includeTag)) {
    throw new SandboxHttpError(400, `Unknown tag: ${includeTag}`);
  }
  const tagMatches = (tag: string): boolean =>
    includeTag === null ? tag === '' : includeTag === 'true' ? tag !== '' : tag === includeTag;
  return [...savedSearchesOf(archive).values()]
    .filter((s) => all || (canUseSearch(s, listFor) && tagMatches(s.tag)))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((s) => ({
      id: s.id,
      root_element_name: s.rootElementName,
      sort_by_element_name: s.sortBy?.elementName ?? '',
      sort_by_field_id: s.sortBy?.fieldId ?? '',
      description: s.description,
      layeredsequence: '',
      allow_diff_columns: s.allowDiffColumns === undefined ? '' : s.allowDiffColumns ? '1' : '0',
      secure: isSecure(s) ? '1' : '0',
      brief_description: s.briefDescription,
      tag: s.tag,
      // PostgreSQL's text form of array_agg over a left join: {NULL} when nobody is listed.
      users: `{${s.allowedUsers.length > 0 ? s.allowedUsers.join(',') : 'NULL'}}`,
    }));
}

export const SAVED_SEARCH_COLUMNS = [
  'id',
  'root_element_name',
  'sort_by_element_name',
  'sort_by_field_id',
  'description',
  'layeredsequence',
  'allow_diff_columns',
  'secure',
  'brief_description',
  'tag',
  'users',
];

/** The stored search a user may read (403 for secure searches they are not allowed on, 404 when absent). */
export function readableSavedSearch(archive: SandboxArchive, user: SandboxUser, id: string): SearchDocument {
  const search = savedSearchesOf(archive).get(id);
  if (!search) throw new SandboxHttpError(404, `No stored search with ID ${id}.`);
  if (!canUseSearch(search, user.login)) {
    throw new SandboxHttpError(403, `The user ${user.login} may not use the stored search ${id}.`);
  }
  return search;
}

const X = 'xdat';

function criteriaSetXml(name: string, set: CriteriaSet): XmlElement {
  return element(
    `${X}:${name}`,
    [['method', set.method]],
    [
      ...set.criteria.map((c) =>
        element(
          `${X}:criteria`,
          [['override_value_formatting', c.overrideValueFormatting ? '1' : '0']],
          [
            element(`${X}:schema_field`, [], [], c.schemaField),
            element(`${X}:comparison_type`, [], [], c.comparison),
            element(`${X}:value`, [], [], c.value),
          ],
        ),
      ),
      ...set.childSets.map((child) => criteriaSetXml('child_set', child)),
    ],
  );
}

/** The `xdat:stored_search` item as ItemXMLRepresentation writes it (booleans as 1/0, no empty elements). */
export function savedSearchXml(search: SearchDocument): string {
  const fields = search.fields.map((f, sequence) =>
    element(
      `${X}:search_field`,
      [],
      [
        element(`${X}:element_name`, [], [], f.elementName),
        element(`${X}:field_ID`, [], [], f.fieldId),
        element(`${X}:sequence`, [], [], String(sequence)),
        ...(f.type ? [element(`${X}:type`, [], [], f.type)] : []),
        ...(f.header ? [element(`${X}:header`, [], [], f.header)] : []),
      ],
    ),
  );
  const sortBy = search.sortBy
    ? [
        element(
          `${X}:sort_by`,
          [],
          [
            element(`${X}:element_name`, [], [], search.sortBy.elementName),
            element(`${X}:field_ID`, [], [], search.sortBy.fieldId),
          ],
        ),
      ]
    : [];
  const groups =
    search.allowedGroups.length > 0
      ? [
          element(
            `${X}:allowed_groups`,
            [],
            search.allowedGroups.map((g) => element(`${X}:groupID`, [], [], g)),
          ),
        ]
      : [];
  const root = element(
    `${X}:stored_search`,
    [
      ['ID', search.id],
      ['description', search.description],
      [
        'allow-diff-columns',
        search.allowDiffColumns === undefined ? undefined : search.allowDiffColumns ? '1' : '0',
      ],
      ['secure', isSecure(search) ? '1' : '0'],
      ['brief-description', search.briefDescription],
      ['tag', search.tag],
      ['xmlns:xdat', 'http://nrg.wustl.edu/security'],
      ['xmlns:xsi', 'http://www.w3.org/2001/XMLSchema-instance'],
    ],
    [
      element(`${X}:root_element_name`, [], [], search.rootElementName),
      ...fields,
      ...(search.where ? [criteriaSetXml('search_where', search.where)] : []),
      ...sortBy,
      ...search.allowedUsers.map((login) =>
        element(`${X}:allowed_user`, [], [element(`${X}:login`, [], [], login)]),
      ),
      ...groups,
    ],
  );
  return xmlDocument(root);
}

/**
 * `PUT /data/search/saved/{id}` (SavedSearchResource#handlePut): the document is stored under the
 * URL's ID; a new search gets its author as an allowed user, and an existing one may only be
 * replaced by an allowed user (or, for a project-tagged search, by someone who may edit the project).
 * `canQuery` is the caller's check that the user may search the root type (403 otherwise).
 */
export function putSavedSearch(
  archive: SandboxArchive,
  user: SandboxUser,
  id: string,
  body: string,
  saveAs: boolean,
  canQuery: (rootElementName: string) => boolean,
): void {
  const searches = savedSearchesOf(archive);
  const search = parseBundle(body);
  let targetId = id;
  let isNew = search.id !== id || !searches.has(id);
  if (!isNew && saveAs) {
    while (searches.has(targetId)) targetId = `${targetId}_1`;
    isNew = true;
  }
  if (isNew && search.tag !== '') {
    const same = [...searches.values()].find(
      (s) => s.tag === search.tag && s.briefDescription === search.briefDescription,
    );
    if (same) {
      isNew = false;
      targetId = same.id;
    }
  }
  if (!canQuery(search.rootElementName)) {
    throw new SandboxHttpError(
      403,
      `The user ${user.login} has no permission to query ${search.rootElementName}.`,
    );
  }
  if (saveAs) {
    search.allowedUsers = [];
    search.allowedGroups = [];
  }
  const found = search.allowedUsers.includes(user.login);
  if (!found && !isNew) {
    const project = archive.projects.get(search.tag);
    if (!project || !canEditProject(project, user)) {
      throw new SandboxHttpError(403, `The user ${user.login} may not change the stored search ${targetId}.`);
    }
    search.allowedUsers.push(user.login);
  }
  if (isNew && !found) search.allowedUsers.push(user.login);
  // XFT saves the item over an existing row of that ID and keeps the sharing rows it already had.
  const previous = searches.get(targetId);
  const allowedUsers = [...new Set([...(previous?.allowedUsers ?? []), ...search.allowedUsers])];
  searches.set(targetId, { ...search, id: targetId, allowedUsers });
}

/** `DELETE /data/search/saved/{id}`: an allowed user leaves the search (removing it when they were the last); admins remove it. */
export function deleteSavedSearch(archive: SandboxArchive, user: SandboxUser, id: string): void {
  const searches = savedSearchesOf(archive);
  const search = searches.get(id);
  if (!search) return;
  if (search.allowedUsers.includes(user.login)) {
    if (search.allowedUsers.length > 1 || search.allowedGroups.length > 0) {
      search.allowedUsers = search.allowedUsers.filter((login) => login !== user.login);
    } else {
      searches.delete(id);
    }
    return;
  }
  if (!user.admin) {
    throw new SandboxHttpError(403, `The user ${user.login} may not delete the stored search ${id}.`);
  }
  searches.delete(id);
}

/** Two searches as the XNAT UI stores them (`xs` + creation time), for the demo archive. */
const DEMO_SEARCHES = [
  `<xdat:stored_search xmlns:xdat="http://nrg.wustl.edu/security" ID="xs1654093127431" brief-description="BRAIN_MR 3T sessions" description="MR sessions of the Brain MRI Cohort with their subject and scanner" allow-diff-columns="0" secure="true">
  <xdat:root_element_name>xnat:mrSessionData</xdat:root_element_name>
  <xdat:search_field><xdat:element_name>xnat:mrSessionData</xdat:element_name><xdat:field_ID>LABEL</xdat:field_ID><xdat:sequence>0</xdat:sequence><xdat:type>string</xdat:type><xdat:header>MR Session</xdat:header></xdat:search_field>
  <xdat:search_field><xdat:element_name>xnat:subjectData</xdat:element_name><xdat:field_ID>SUBJECT_LABEL</xdat:field_ID><xdat:sequence>1</xdat:sequence><xdat:type>string</xdat:type><xdat:header>Subject</xdat:header></xdat:search_field>
  <xdat:search_field><xdat:element_name>xnat:mrSessionData</xdat:element_name><xdat:field_ID>DATE</xdat:field_ID><xdat:sequence>2</xdat:sequence><xdat:type>date</xdat:type><xdat:header>Date</xdat:header></xdat:search_field>
  <xdat:search_field><xdat:element_name>xnat:mrSessionData</xdat:element_name><xdat:field_ID>SCANNER</xdat:field_ID><xdat:sequence>3</xdat:sequence><xdat:type>string</xdat:type><xdat:header>Scanner</xdat:header></xdat:search_field>
  <xdat:search_field><xdat:element_name>xnat:mrSessionData</xdat:element_name><xdat:field_ID>MR_SCAN_COUNT_AGG</xdat:field_ID><xdat:sequence>4</xdat:sequence><xdat:type>integer</xdat:type><xdat:header>Scans</xdat:header></xdat:search_field>
  <xdat:search_where method="AND"><xdat:criteria override_value_formatting="0"><xdat:schema_field>xnat:mrSessionData.PROJECT</xdat:schema_field><xdat:comparison_type>=</xdat:comparison_type><xdat:value>BRAIN_MR</xdat:value></xdat:criteria></xdat:search_where>
  <xdat:sort_by><xdat:element_name>xnat:mrSessionData</xdat:element_name><xdat:field_ID>DATE</xdat:field_ID></xdat:sort_by>
  <xdat:allowed_user><xdat:login>alice</xdat:login></xdat:allowed_user>
  <xdat:allowed_user><xdat:login>bob</xdat:login></xdat:allowed_user>
</xdat:stored_search>`,
  `<xdat:stored_search xmlns:xdat="http://nrg.wustl.edu/security" ID="xs1687270561902" brief-description="Female subjects" description="Subjects recorded as female, across the projects the user can read" allow-diff-columns="0" secure="false">
  <xdat:root_element_name>xnat:subjectData</xdat:root_element_name>
  <xdat:search_field><xdat:element_name>xnat:subjectData</xdat:element_name><xdat:field_ID>SUBJECT_LABEL</xdat:field_ID><xdat:sequence>0</xdat:sequence><xdat:type>string</xdat:type><xdat:header>Subject</xdat:header></xdat:search_field>
  <xdat:search_field><xdat:element_name>xnat:subjectData</xdat:element_name><xdat:field_ID>PROJECT</xdat:field_ID><xdat:sequence>1</xdat:sequence><xdat:type>string</xdat:type><xdat:header>Project</xdat:header></xdat:search_field>
  <xdat:search_field><xdat:element_name>xnat:subjectData</xdat:element_name><xdat:field_ID>GENDER_TEXT</xdat:field_ID><xdat:sequence>2</xdat:sequence><xdat:type>string</xdat:type><xdat:header>M/F</xdat:header></xdat:search_field>
  <xdat:search_field><xdat:element_name>xnat:subjectData</xdat:element_name><xdat:field_ID>DOB</xdat:field_ID><xdat:sequence>3</xdat:sequence><xdat:type>integer</xdat:type><xdat:header>YOB</xdat:header></xdat:search_field>
  <xdat:search_where method="AND"><xdat:criteria override_value_formatting="0"><xdat:schema_field>xnat:subjectData.GENDER_TEXT</xdat:schema_field><xdat:comparison_type>=</xdat:comparison_type><xdat:value>F</xdat:value></xdat:criteria></xdat:search_where>
  <xdat:allowed_user><xdat:login>carol</xdat:login></xdat:allowed_user>
</xdat:stored_search>`,
];

/** Adds the demo archive's saved searches (called once by the demo seed). */
export function seedSavedSearches(archive: SandboxArchive): void {
  const searches = savedSearchesOf(archive);
  for (const xml of DEMO_SEARCHES) {
    const search = parseBundle(xml);
    searches.set(search.id, search);
  }
}
