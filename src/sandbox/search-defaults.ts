/**
 * `@<type>` saved-search IDs (SavedSearchResource): a type's default listing, its display
 * document's `listing` version, as a stored search. Loaded with the search engine.
 */
import { SandboxHttpError } from './errors.js';
import type { SearchDocument } from './search-bundle.js';
import { findField } from './search-display.js';
import { findElement } from './search-elements.js';

/**
 * The `listing` display versions of the display documents the sandbox follows: `@<type>` IDs
 * (SavedSearchResource) are these, converted to a stored search (DisplaySearch#convertToStoredSearch:
 * visible fields in order, `default-order-by` as sort_by).
 */
const LISTINGS: Record<string, { fields: Array<[elementName: string, fieldId: string]>; orderBy: string }> = {
  'xnat:projectdata': {
    fields: [
      'ID',
      'NAME',
      'DESCRIPTION',
      'SECONDARY_ID',
      'KEYWORDS',
      'PROJ_MR_COUNT',
      'PROJ_PET_COUNT',
      'PROJ_CT_COUNT',
    ].map((id) => ['xnat:projectData', id]),
    orderBy: 'ID',
  },
  'xnat:subjectdata': {
    fields: ['SUBJECT_LABEL', 'GENDER', 'HANDEDNESS', 'DOB', 'EDUC', 'SES', 'MR_COUNT'].map((id) => [
      'xnat:subjectData',
      id,
    ]),
    orderBy: 'SUBJECT_ID',
  },
  'xnat:mrsessiondata': {
    fields: [
      ['xnat:mrSessionData', 'LABEL'],
      ['xnat:mrSessionData', 'PROJECT'],
      ['xnat:mrSessionData', 'DATE'],
      ['xnat:subjectData', 'SUBJECT_LABEL'],
      ['xnat:subjectData', 'GENDER_TEXT'],
      ['xnat:mrSessionData', 'AGE'],
      ['xnat:mrSessionData', 'TYPE'],
      ['xnat:mrSessionData', 'SCANNER'],
      ['xnat:mrSessionData', 'MR_SCAN_COUNT_AGG'],
    ],
    orderBy: 'DATE',
  },
};

/** `@<type>`: the type's default listing as a stored search; 404 for types without a known listing version. */
export function builtInSearch(id: string): SearchDocument {
  const def = findElement(id.slice(1));
  const listing = def && LISTINGS[def.name.toLowerCase()];
  if (!def || !listing) throw new SandboxHttpError(404, `No default listing is known for ${id.slice(1)}.`);
  return {
    id,
    briefDescription: '',
    description: '',
    secure: undefined,
    allowDiffColumns: undefined,
    tag: '',
    rootElementName: def.name,
    fields: listing.fields.map(([elementName, fieldId]) => {
      const field = findField(findElement(elementName) ?? def, fieldId);
      return { elementName, fieldId, header: field?.header ?? '', value: '', type: field?.type ?? '' };
    }),
    where: undefined,
    sortBy: { elementName: def.name, fieldId: listing.orderBy },
    allowedUsers: [],
    allowedGroups: [],
  };
}
