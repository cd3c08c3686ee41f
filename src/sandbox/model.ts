/**
 * The sandbox's in-memory archive: the data XNAT keeps in its database and archive directory,
 * stored in the shape XNAT's schema gives it (xnat.xsd), not in the shape any client wants.
 * HTTP handlers render these records into XNAT's wire formats; seeders and generators fill them.
 */

import type { Readable } from 'node:stream';

import type { SearchDocument } from './search-bundle.js';

export type Accessibility = 'public' | 'protected' | 'private';
export type ProjectRole = 'owner' | 'member' | 'collaborator';
/** XNAT's meta status of an item (ViewManager): quarantine is not part of the XML document. */
export type ItemStatus = 'active' | 'quarantine' | 'locked' | 'obsolete';

export interface SandboxUser {
  xdatUserId: number;
  login: string;
  password: string;
  firstname: string;
  lastname: string;
  email: string;
  /** Site administrator: reads and writes everything. */
  admin: boolean;
  enabled: boolean;
}

export interface AliasToken {
  id: number;
  alias: string;
  secret: string;
  login: string;
  created: number;
  estimatedExpirationTime: number;
  enabled: boolean;
  singleUse: boolean;
}

/** A catalogued file. `bytes` is produced on demand so large generated archives stay small in memory. */
export interface StoredFile {
  /** Path relative to the resource root, `/`-separated (may contain sub-folders). */
  path: string;
  size: number;
  /** MD5 hex of the bytes, as XNAT records it in the catalog entry; '' when not recorded. */
  digest: string;
  format: string;
  content: string;
  tags: string[];
  /** The whole content at once: fine for small seeded files; use `open` (or storage's `openFile`) to stream. */
  bytes: () => Buffer;
  /** A fresh stream of the content (files stored on disk by uploads); absent for files generated in memory. */
  open?: () => Readable;
  lastModified: number;
}

export interface StoredResource {
  /** `xnat_abstractresource_id`: a site-wide integer sequence. */
  xnatAbstractresourceId: number;
  label: string;
  /** `xnat:resourceCatalog` almost always. */
  xsiType: string;
  format: string;
  content: string;
  description: string;
  tags: string[];
  files: StoredFile[];
}

export interface Share {
  project: string;
  label: string;
}

export interface StoredProject {
  id: string;
  secondaryId: string;
  name: string;
  description: string;
  keywords: string;
  piFirstname: string;
  piLastname: string;
  accessibility: Accessibility;
  aliases: string[];
  fields: Record<string, string>;
  /** login → role in this project's three default groups. */
  users: Record<string, ProjectRole>;
  /** The project's custom groups (a user is in one of a project's groups at a time). */
  groups?: ProjectGroup[];
  quarantineCode: 0 | 1;
  prearchiveCode: 0 | 4 | 5 | 10;
  insertDate: string;
  insertUser: string;
  resources: StoredResource[];
  /** `studyProtocol` elements of the project document (`xnat:datatypeProtocol`, ...), kept as sent. */
  studyProtocols?: StoredElement[];
}

/**
 * A custom user group tagged with a project (`xdat:userGroup`, ID `{project}_{name}`). XNAT gives
 * project edit rights to the group displayed as "Owners" only; on data a custom group has what its
 * permissions say, approximated here by the default role with the same data rights.
 */
export interface ProjectGroup {
  id: string;
  displayname: string;
  rights: Exclude<ProjectRole, 'owner'>;
  members: string[];
}

/** An XML element kept as it was submitted (schema parts the sandbox stores but does not model). */
export interface StoredElement {
  name: string;
  attributes: Array<[string, string]>;
  children: StoredElement[];
  text?: string;
}

/** `xnat:investigatorData`: a subject's or project's investigator. */
export interface Investigator {
  title?: string;
  firstname?: string;
  lastname?: string;
  institution?: string;
  department?: string;
  email?: string;
  phone?: string;
}

export interface Demographics {
  gender?: string;
  handedness?: string;
  dob?: string;
  yob?: number;
  age?: number;
  education?: number;
  race?: string;
  ethnicity?: string;
  weight?: number;
  height?: number;
}

export interface StoredSubject {
  /** Accession ID, e.g. `XNAT_S00001`. */
  id: string;
  /** Owning project. */
  project: string;
  label: string;
  group: string;
  src: string;
  initials: string;
  demographics: Demographics;
  investigator?: Investigator;
  fields: Record<string, string>;
  shares: Share[];
  status: ItemStatus;
  insertDate: string;
  insertUser: string;
  lastModified: string;
  resources: StoredResource[];
}

export interface StoredScan {
  /** Per-session scan ID string, e.g. `"1"`, `"3-OT"`. */
  id: string;
  /** Site-wide integer key `xnat_imagescandata_id`. */
  xnatImagescandataId: number;
  xsiType: string;
  type: string;
  seriesDescription: string;
  quality: string;
  condition: string;
  note: string;
  frames: number;
  uid: string;
  modality: string;
  startTime: string;
  /** Extra data_fields the item JSON shows (`parameters/tr`, `fieldStrength`, `scanner/model`, ...). */
  parameters: Record<string, string | number>;
  /** `parameters/addParam` entries (`<xnat:addParam name="...">value</xnat:addParam>`), by name. */
  addParams?: Record<string, string>;
  insertDate: string;
  insertUser: string;
  lastModified: string;
  resources: StoredResource[];
}

/** Sessions, non-image subject assessors and image assessors all live here (one `E` ID sequence). */
export interface StoredExperiment {
  /** Accession ID, e.g. `XNAT_E00001`. */
  id: string;
  /** Concrete type, e.g. `xnat:mrSessionData`, `xnat:qcManualAssessorData`. */
  xsiType: string;
  /** Owning project. */
  project: string;
  label: string;
  /** For subject assessors (sessions): the subject's accession ID; '' for image assessors. */
  subjectId: string;
  /** For image assessors: the accession ID of the session assessed; '' otherwise. */
  imageSessionId: string;
  date: string;
  time: string;
  visitId: string;
  visit: string;
  note: string;
  acquisitionSite: string;
  status: ItemStatus;
  fields: Record<string, string>;
  shares: Share[];
  /** Type-specific data_fields (`modality`, `UID`, `scanner/manufacturer`, `fieldStrength`, `dcmPatientId`, ...). */
  attributes: Record<string, string | number>;
  scans: StoredScan[];
  /** Session resources (for image assessors: the `out` resources). */
  resources: StoredResource[];
  /** Image assessors only: `in` resources. */
  inResources: StoredResource[];
  /** Image sessions only: `reconstructions/reconstructedImage`. */
  reconstructions?: StoredReconstruction[];
  /** Manual QC assessments only (`xnat:qcManualAssessorData`): `scans/scan`, one rating per scan. */
  qcScans?: StoredQcScan[];
  insertDate: string;
  insertUser: string;
  lastModified: string;
}

/** `xnat:qcScanData` (or a subtype): one scan's rating inside a manual QC assessment. */
export interface StoredQcScan {
  xsiType: string;
  /** Site-wide integer key `xnat_qcScanData_id`. */
  xnatQcscandataId: number;
  /** Leaves by path, in xnat.xsd's order when written (QC_SCAN_LEAVES): `imageScan_ID`, `rating`, `rating/scale`, ... */
  values: Record<string, string>;
}

/** `xnat:reconstructedImageData`: a reconstruction of an image session, its ID unique site-wide. */
export interface StoredReconstruction {
  id: string;
  /** Site-wide integer key `xnat_reconstructedimagedata_id`. */
  xnatReconstructedimagedataId: number;
  type: string;
  baseScanType: string;
  /** `parameters/addParam` entries, by name. */
  addParams: Record<string, string>;
  insertDate: string;
  insertUser: string;
  lastModified: string;
  /** `out/file` resources. */
  resources: StoredResource[];
  /** `xnat:provenance` (`prov:processStep` elements), kept as sent. */
  provenance?: StoredElement;
}

export interface SandboxArchive {
  siteId: string;
  users: SandboxUser[];
  tokens: AliasToken[];
  projects: Map<string, StoredProject>;
  subjects: Map<string, StoredSubject>;
  experiments: Map<string, StoredExperiment>;
  /** Next values of XNAT's sequences. */
  sequences: {
    subject: number;
    experiment: number;
    resource: number;
    scan: number;
    reconstruction?: number;
    qcScan?: number;
  };
  /** Sessions received but not archived yet (the sandbox starts an empty list when absent). */
  prearchive?: PrearchiveSession[];
  /** `xdat:stored_search` documents by ID (the sandbox starts an empty map when absent). */
  savedSearches?: Map<string, SearchDocument>;
  /** The configuration service's entries by scope, tool and path (the sandbox starts an empty map when absent). */
  configs?: Map<string, StoredConfig>;
}

/** One configuration of XNAT's config service (`xhbm_configuration`): every version kept, the last current. */
export interface StoredConfig {
  tool: string;
  path: string;
  /** Project ID for project scope; absent for site-wide configurations. */
  project?: string;
  versions: Array<{
    contents: string;
    user: string;
    created: number;
    reason: string;
    status: 'enabled' | 'disabled';
  }>;
}

/** XNAT's `PrearcUtils.PrearcStatus` names the sandbox produces. */
export type PrearchiveStatus = 'READY' | 'RECEIVING' | 'BUILDING' | 'ERROR' | 'CONFLICT';

/** A prearchive entry (`DatabaseSession` row plus the session it holds), under `{project}/{timestamp}/{folderName}`. */
export interface PrearchiveSession {
  /** Destination project ID, or `Unassigned` when none could be identified. */
  project: string;
  /** Upload folder, `yyyyMMdd_HHmmssSSS`. */
  timestamp: string;
  folderName: string;
  /** Session label the archiver will use. */
  name: string;
  /** Subject label the archiver will use. */
  subject: string;
  /** StudyInstanceUID. */
  tag: string;
  status: PrearchiveStatus;
  /** Epoch milliseconds. */
  uploaded: number;
  lastmod: number;
  autoarchive: 'Manual' | 'AutoArchive' | 'AutoArchiveOverwrite';
  preventAnon: boolean;
  preventAutoCommit: boolean;
  source: string;
  visit: string;
  protocol: string;
  timezone: string;
  /**
   * The session document as built from the DICOM headers (type, date, UID, scans with their DICOM
   * resources); `id`, `project` and `subjectId` are assigned when it is archived.
   */
  session: StoredExperiment;
}
