/** The XNAT client core: configuration, the client, search documents, models and errors (no MCP). */
export {
  resolveConfig,
  resolveServers,
  normalizeXnatUrl,
  DEFAULT_SERVER,
  DEFAULT_TIMEOUT_MS,
} from './config.js';
export type { XnatConfig, ConfigInput, NormalizedUrl, ServerProfile } from './config.js';
export { parseNetrc, netrcLookup } from './netrc.js';
export type { Netrc, NetrcEntry } from './netrc.js';
export { XnatClient } from './client.js';
export type { XnatClientOptions } from './client.js';
export type { AliasToken } from './tokens.js';
export { describePlan } from './copy.js';
export type {
  CopyItem,
  CopyOutcome,
  CopyPlan,
  CopyProgress,
  CopyRequest,
  CopyResult,
  OnExisting,
  PlannedCopy,
} from './copy.js';
export { DEFAULT_PAGE_SIZE } from './listings.js';
export type { PageRequest, SubjectQuery, ExperimentQuery } from './listings.js';
export type { FileTarget } from './files.js';
export { ADMINISTRATOR_ROLE, isInGroup } from './access.js';
export type { MemberChange } from './access.js';
export type {
  Job,
  JobEvent,
  LaunchPreview,
  LaunchResult,
  Pipeline,
  PipelineDetail,
  PipelineInput,
  Workflow,
} from './containers/index.js';
export { MAX_COMPARED_FILES, dicomField } from './dicom.js';
export type { DicomRequest } from './dicom.js';
export {
  MAX_IMAGE_BYTES,
  MAX_IMAGE_SIZE,
  MAX_MONTAGE,
  SUPPORTED_SYNTAXES,
  WINDOW_PRESETS,
} from './imaging/index.js';
export type {
  ImageMode,
  ScanImage,
  ScanImageQuery,
  Snapshot,
  SnapshotQuery,
  Window,
  WindowPreset,
} from './imaging/index.js';
export { QC_ASSESSOR_TYPE, UPDATABLE_FIELDS } from './curation/index.js';
export type {
  ObjectKind,
  ObjectRef,
  ObjectDescription,
  Demographics,
  CreateSubjectRequest,
  CreateExperimentRequest,
  UpdatableKind,
  FieldChanges,
  FieldChange,
  ShareRequest,
  UnshareRequest,
  QuarantineRequest,
  QcAssessment,
  QcAssessmentRequest,
  QcScanRating,
} from './curation/index.js';
// Straight from their modules: the barrel would load upload.ts and download.ts, which load on first use.
export { DEFAULT_CONCURRENCY, checkRemotePath } from './transfers/common.js';
export { listLocalFiles } from './transfers/local.js';
export type {
  TransferProgress,
  ResourceParent,
  UploadRequest,
  UploadResult,
  DownloadRequest,
  DownloadResult,
  LocalFile,
} from './transfers/index.js';
export { prearchiveParts } from './prearchive.js';
export type {
  PrearchiveRef,
  ArchiveRequest,
  ImportRequest,
  ImportResult,
  ImportOverwrite,
} from './prearchive.js';
export { checkZip, unsafeEntryReason } from './zipcheck.js';
export type { ZipEntry } from './zipcheck.js';
export { SEARCH_OPERATORS, buildSearchXml } from './search.js';
export type { SearchQuery, SearchCriterion, SearchCriteriaGroup, SearchOperator } from './search.js';
export type { ExportFormat, ExportRequest, ExportResult } from './search-export.js';
export type { SearchSpec, SearchOrder, SearchPage, SearchPageRequest, SearchStream } from './search-runs.js';
// The export itself (export.ts) loads on first use through XnatClient; the planner is pure.
export * from './bids/index.js';
export { xnatPath, extractXnatMessage, DEFAULT_USER_AGENT } from './http.js';
export type { ClientStats } from './http.js';
export * from './errors.js';
export * from './models.js';
