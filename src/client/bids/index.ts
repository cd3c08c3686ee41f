/**
 * BIDS export: the pure planner (names, maps, runs, collisions), sidecars from DICOM headers, the
 * dataset's tables, and the export that reads XNAT and writes a dataset folder.
 */
export { bidsLabel, datatypeOf, fileStem, parseBidsName, ENTITY_ORDER } from './names.js';
export type { BidsName } from './names.js';
export {
  BidsmapEntrySchema,
  Dcm2bidsConfigSchema,
  ExplicitRuleSchema,
  compileMapping,
  defaultMatch,
} from './mapping.js';
export type {
  BidsMapping,
  BidsMatch,
  BidsScanInfo,
  BidsmapEntry,
  Dcm2bidsConfig,
  ExplicitRule,
} from './mapping.js';
export { planBids } from './plan.js';
export type {
  BidsPlan,
  BidsPlanOptions,
  BidsPlannedScan,
  BidsScanInput,
  BidsScanRef,
  BidsSessionInput,
  BidsSource,
} from './plan.js';
export { bidsSidecar, dicomSidecar, SIDECAR_TAGS } from './sidecar.js';
export { BIDS_VERSION, ageAt, datasetFiles } from './tables.js';
export type {
  BidsContext,
  BidsExportRequest,
  BidsExportResult,
  BidsMappingChoice,
  BidsPlanRequest,
  BidsPlanned,
} from './export.js';
