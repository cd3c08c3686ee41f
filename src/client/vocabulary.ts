/**
 * Vocabularies and limits of the client core that the MCP tools' schemas and descriptions name. On
 * their own, so that a server lists its tools without loading the modules that use them (and the
 * HTTP layer under those); each of those modules re-exports what is its own.
 */

export type UpdatableKind = 'project' | 'subject' | 'experiment' | 'scan';

/** Standard fields each kind accepts, by XNAT short name (§2.4 of the reference), read back to verify. */
export const UPDATABLE_FIELDS: Record<UpdatableKind, readonly string[]> = {
  project: ['name', 'secondary_ID', 'description', 'keywords', 'pi_firstname', 'pi_lastname'],
  subject: [
    'group',
    'src',
    'gender',
    'handedness',
    'yob',
    'dob',
    'age',
    'ses',
    'education',
    'race',
    'ethnicity',
    'weight',
    'height',
  ],
  experiment: [
    'date',
    'time',
    'visit_id',
    'note',
    'scanner',
    'operator',
    'session_type',
    'modality',
    'fieldStrength',
    'coil',
    'marker',
    'stabilization',
    'dcmAccessionNumber',
    'dcmPatientId',
    'dcmPatientName',
  ],
  scan: ['type', 'series_description', 'quality', 'note', 'modality', 'frames'],
};

/** The comparisons XNAT's search accepts (`xdat:criteria/comparison_type`). */
export const SEARCH_OPERATORS = [
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'LIKE',
  'IN',
  'BETWEEN',
  'IS NULL',
  'IS NOT NULL',
] as const;

export type SearchOperator = (typeof SEARCH_OPERATORS)[number];

/** Files of a series whose headers a comparison reads at most: first, last and evenly between. */
export const MAX_COMPARED_FILES = 16;
