/**
 * Curation writes: create subjects and experiments, update fields and labels, share, quarantine and
 * delete. Every write goes through the owning project's URL, is checked before it is sent and is
 * read back afterwards. XnatClient exposes these as thin methods and hands in the reads they need.
 */
export type { CurationContext, CurationReads, ObjectKind, ObjectRef } from './common.js';
export { createSubject, createExperiment } from './create.js';
export type { Demographics, CreateSubjectRequest, CreateExperimentRequest } from './create.js';
export { UPDATABLE_FIELDS, updateFields } from './update.js';
export type { UpdatableKind, FieldChanges, FieldChange } from './update.js';
export { share, unshare } from './sharing.js';
export type { ShareRequest, UnshareRequest } from './sharing.js';
export { getQuarantineStatus, setQuarantine } from './quarantine.js';
export type { QuarantineRequest } from './quarantine.js';
export { describeObject } from './describe.js';
export type { ObjectDescription } from './describe.js';
export { deleteObject } from './delete.js';
export { QC_ASSESSOR_TYPE, createQcAssessment } from './qc.js';
export type { QcAssessment, QcAssessmentRequest, QcScanRating } from './qc.js';
