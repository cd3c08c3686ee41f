/**
 * Typed models of XNAT objects as the client core hands them out. These schemas are the public
 * contract of the library (types flow from them); `rows.ts` is the one place that turns XNAT's
 * string-typed listing rows and item documents into these models.
 */
import * as z from 'zod';

/**
 * A page of a listing: `nextOffset` is absent on the last page. `total` is the exact number of
 * matches when known (always for whole listings; for subjects and experiments when the page shows
 * it, it was passed back as `knownTotal`, or `count` asked for it).
 */
export interface Page<T> {
  items: T[];
  total?: number;
  offset: number;
  nextOffset?: number;
}

export const ProjectSchema = z.object({
  id: z.string(),
  secondaryId: z.string(),
  name: z.string(),
  description: z.string(),
  piFirstname: z.string(),
  piLastname: z.string(),
});
export type Project = z.infer<typeof ProjectSchema>;

export const ProjectDetailSchema = ProjectSchema.extend({
  keywords: z.string(),
  accessibility: z.enum(['public', 'protected', 'private']).optional(),
  aliases: z.array(z.string()),
  fields: z.record(z.string(), z.string()),
  subjectCount: z.number().int(),
  experimentCount: z.number().int(),
  /** Experiment counts by xsiType, e.g. `{ 'xnat:mrSessionData': 12 }`. */
  experimentTypes: z.record(z.string(), z.number().int()),
});
export type ProjectDetail = z.infer<typeof ProjectDetailSchema>;

export const SubjectSchema = z.object({
  id: z.string(),
  /** Label in the requesting project (a shared subject's shared label). */
  label: z.string(),
  /** The project the listing/lookup was made in (the requesting project), when there was one. */
  project: z.string(),
  /** The owning (primary) project, which differs from `project` for a shared subject. */
  owningProject: z.string(),
  insertDate: z.string(),
  gender: z.string().optional(),
  handedness: z.string().optional(),
  yob: z.string().optional(),
  age: z.string().optional(),
  group: z.string().optional(),
});
export type Subject = z.infer<typeof SubjectSchema>;

export const ShareSchema = z.object({ project: z.string(), label: z.string() });
export type Share = z.infer<typeof ShareSchema>;

export const ExperimentSchema = z.object({
  id: z.string(),
  label: z.string(),
  /** The requesting project (or the owning one when listed site-wide). */
  project: z.string(),
  owningProject: z.string(),
  xsiType: z.string(),
  /** ISO `YYYY-MM-DD`, '' when unknown. */
  date: z.string(),
  subjectId: z.string(),
  subjectLabel: z.string(),
  insertDate: z.string(),
});
export type Experiment = z.infer<typeof ExperimentSchema>;

const AxesSchema = z.object({ x: z.number().optional(), y: z.number().optional(), z: z.number().optional() });

/** Acquisition parameters XNAT keeps on a scan (filled from the DICOM headers at archiving), when present. */
export const ScanParametersSchema = z.object({
  /** Repetition, echo and inversion time, ms. */
  tr: z.number().optional(),
  te: z.number().optional(),
  ti: z.number().optional(),
  /** Flip angle, degrees. */
  flip: z.number().optional(),
  /** Voxel size, mm. */
  voxelRes: AxesSchema.optional(),
  /** Field of view, as XNAT records it. */
  fov: AxesSchema.optional(),
  /** `Sag`, `Cor`, `Tra`, ... */
  orientation: z.string().optional(),
  /** X-ray tube voltage (CT), kV. */
  kvp: z.number().optional(),
  /** Manufacturer and model. */
  scanner: z.string().optional(),
  /** Tesla, as XNAT keeps it (a string, e.g. `3.0`). */
  fieldStrength: z.string().optional(),
});
export type ScanParameters = z.infer<typeof ScanParametersSchema>;

export const ScanSchema = z.object({
  id: z.string(),
  xsiType: z.string(),
  type: z.string(),
  seriesDescription: z.string(),
  quality: z.string(),
  note: z.string(),
  /** Number of files across the scan's resources, when known. */
  fileCount: z.number().int().optional(),
  frames: z.number().int().optional(),
  modality: z.string().optional(),
  /** From the scan's item document (getExperiment), not from scan listings. */
  parameters: ScanParametersSchema.optional(),
});
export type Scan = z.infer<typeof ScanSchema>;

export const ResourceSchema = z.object({
  /** Numeric `xnat_abstractresource_id`, as a string. */
  id: z.string(),
  label: z.string(),
  /** `resources` | `scans` | `reconstructions` | `assessors`. */
  category: z.string(),
  /** Owning scan/reconstruction/assessor ID for non-session resources, '' otherwise. */
  categoryId: z.string(),
  format: z.string(),
  content: z.string(),
  fileCount: z.number().int(),
  fileSize: z.number(),
});
export type Resource = z.infer<typeof ResourceSchema>;

export const XnatFileSchema = z.object({
  name: z.string(),
  /** Path relative to the resource root. */
  path: z.string(),
  /** Resource label. */
  resource: z.string(),
  /** Scan ID when the file belongs to a scan resource. */
  scan: z.string().optional(),
  size: z.number(),
  /** MD5 hex as XNAT recorded it; '' when XNAT has none. */
  digest: z.string(),
  format: z.string(),
  content: z.string(),
  /** Server-relative download URI (`/data/experiments/.../files/...`). */
  uri: z.string(),
});
export type XnatFile = z.infer<typeof XnatFileSchema>;

export const AssessorSchema = z.object({
  id: z.string(),
  label: z.string(),
  xsiType: z.string(),
  date: z.string(),
  project: z.string(),
  sessionId: z.string(),
});
export type Assessor = z.infer<typeof AssessorSchema>;

export const SubjectDetailSchema = SubjectSchema.extend({
  demographics: z.record(z.string(), z.string()),
  fields: z.record(z.string(), z.string()),
  shares: z.array(ShareSchema),
  experiments: z.array(ExperimentSchema),
});
export type SubjectDetail = z.infer<typeof SubjectDetailSchema>;

export const ExperimentDetailSchema = ExperimentSchema.extend({
  time: z.string(),
  visitId: z.string(),
  modality: z.string(),
  note: z.string(),
  /** Read from XNAT's `/status` sub-resource: `quarantine` or `active`. */
  status: z.enum(['active', 'quarantine']),
  fields: z.record(z.string(), z.string()),
  /** Other type-specific data fields (`scanner/manufacturer`, `fieldStrength`, `UID`, ...), as strings. */
  attributes: z.record(z.string(), z.string()),
  shares: z.array(ShareSchema),
  /** A manual QC assessment's are its per-scan ratings: the scan rated, rating as quality, comments as note. */
  scans: z.array(ScanSchema),
  resources: z.array(ResourceSchema),
  assessors: z.array(AssessorSchema),
});
export type ExperimentDetail = z.infer<typeof ExperimentDetailSchema>;

export const PrearchiveSessionSchema = z.object({
  project: z.string(),
  /** Upload timestamp folder, e.g. `20240611_101128996`. */
  timestamp: z.string(),
  /** Session folder inside the timestamp folder. */
  folderName: z.string(),
  /** Session label XNAT will use when archiving. */
  name: z.string(),
  subject: z.string(),
  /** `READY`, `RECEIVING`, `BUILDING`, `ERROR`, `CONFLICT`, ... (`_`-prefixed while locked). */
  status: z.string(),
  /** ISO `YYYY-MM-DD`, '' when unknown. */
  scanDate: z.string(),
  scanTime: z.string(),
  uploaded: z.string(),
  lastModified: z.string(),
  /** StudyInstanceUID. */
  tag: z.string(),
  autoArchive: z.string(),
  /** `/prearchive/projects/{p}/{timestamp}/{folderName}`: what archive/move/delete take. */
  url: z.string(),
});
export type PrearchiveSession = z.infer<typeof PrearchiveSessionSchema>;

export const PluginSchema = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string().optional(),
});
export type Plugin = z.infer<typeof PluginSchema>;

export const ServerInfoSchema = z.object({
  /** Base URL of XNAT (no credentials). */
  url: z.string(),
  version: z.string(),
  buildNumber: z.string().optional(),
  /** As XNAT reports it, e.g. `Tue Jan 09 18:05:57 UTC 2024`. */
  buildDate: z.string().optional(),
  /** Short git commit of the build. */
  commit: z.string().optional(),
  /** Logged-in user's login name. */
  user: z.string(),
  /** Whether that user is a site administrator (their site roles include Administrator). */
  siteAdmin: z.boolean().optional(),
  /** Seconds XNAT has been running. */
  uptimeSeconds: z.number().int().optional(),
  /** Installed plugins (`/xapi/plugins`); absent when XNAT would not list them. */
  plugins: z.array(PluginSchema).optional(),
  /** The XNAT session's idle timeout and when it ends if unused (from XNAT's SESSION_EXPIRATION_TIME cookie). */
  session: z.object({ idleTimeoutSeconds: z.number().int(), expiresAt: z.string() }).optional(),
});
export type ServerInfo = z.infer<typeof ServerInfoSchema>;

/** XNAT's three default project groups; `custom` for a project's own groups. */
export const MEMBER_ROLES = ['owner', 'member', 'collaborator'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export const ProjectMemberSchema = z.object({
  login: z.string(),
  firstname: z.string(),
  lastname: z.string(),
  email: z.string(),
  role: z.enum([...MEMBER_ROLES, 'custom']),
  /** XNAT's group ID, e.g. `PET_AMYLOID_owner`. */
  group: z.string(),
  /** The group's display name: `Owners`, `Members`, `Collaborators` or a custom group's. */
  groupName: z.string(),
});
export type ProjectMember = z.infer<typeof ProjectMemberSchema>;

export const SiteUserSchema = z.object({
  id: z.number().int(),
  login: z.string(),
  firstname: z.string(),
  lastname: z.string(),
  email: z.string(),
});
export type SiteUser = z.infer<typeof SiteUserSchema>;

/** A user with live XNAT sessions (`/xapi/users/active`, site admins only); the session IDs are never kept. */
export const ActiveUserSchema = z.object({ login: z.string(), sessions: z.number().int() });
export type ActiveUser = z.infer<typeof ActiveUserSchema>;

export const UserDetailsSchema = z.object({
  login: z.string(),
  id: z.number().int().optional(),
  firstname: z.string().optional(),
  lastname: z.string().optional(),
  email: z.string().optional(),
  siteAdmin: z.boolean(),
  /** Site roles (e.g. Administrator); project roles are per project (listProjectMembers). */
  roles: z.array(z.string()),
  /** ISO 8601. */
  lastLogin: z.string().optional(),
});
export type UserDetails = z.infer<typeof UserDetailsSchema>;

export const SearchElementSchema = z.object({
  elementName: z.string(),
  singular: z.string(),
  plural: z.string(),
  secured: z.boolean(),
  count: z.number().int(),
});
export type SearchElement = z.infer<typeof SearchElementSchema>;

export const SearchFieldSchema = z.object({
  fieldId: z.string(),
  header: z.string(),
  summary: z.string(),
  type: z.string(),
  requiresValue: z.boolean(),
  description: z.string(),
  elementName: z.string(),
});
export type SearchField = z.infer<typeof SearchFieldSchema>;

/** A stored search (`/data/search/saved`): run it by `id`. */
export const SavedSearchSchema = z.object({
  id: z.string(),
  rootElement: z.string(),
  briefDescription: z.string(),
  description: z.string(),
  tag: z.string(),
});
export type SavedSearch = z.infer<typeof SavedSearchSchema>;

/** A search's answer: its columns (with XNAT's display-field metadata) and every row, as strings. */
export const SearchResultSchema = z.object({
  rootElement: z.string(),
  columns: z.array(
    z.object({
      key: z.string(),
      header: z.string().optional(),
      fieldId: z.string().optional(),
      element: z.string().optional(),
    }),
  ),
  rows: z.array(z.record(z.string(), z.string())),
  total: z.number().int(),
});
export type SearchResult = z.infer<typeof SearchResultSchema>;

/** One row of XNAT's DICOM header dump (`/data/services/dicomdump`), values unescaped. */
export const DicomElementSchema = z.object({
  /** `(gggg,eeee)`, upper-case hex. */
  tag: z.string(),
  /** For an element inside a sequence item: the sequence's tag. */
  parent: z.string().optional(),
  vr: z.string(),
  /** As XNAT prints it: multiple values joined by `\`, binary values in hex; at most 255 characters. */
  value: z.string(),
  /** The data dictionary's name (XNAT's), e.g. `Repetition Time`. */
  name: z.string(),
  /** Odd group: a vendor's private tag. */
  private: z.boolean(),
});
export type DicomElement = z.infer<typeof DicomElementSchema>;

/** The header of one DICOM file of a scan. */
export const DicomHeaderSchema = z.object({
  experiment: z.string(),
  project: z.string(),
  scan: z.string(),
  /** File name in the scan's DICOM resource. */
  file: z.string(),
  /** 1-based position of the file in the resource (catalog order). */
  instance: z.number().int(),
  /** Files in the scan's DICOM resource. */
  instances: z.number().int(),
  elements: z.array(DicomElementSchema),
});
export type DicomHeader = z.infer<typeof DicomHeaderSchema>;

/** Which header elements differ across (a sample of) a scan's DICOM files. */
export const DicomVariationSchema = z.object({
  experiment: z.string(),
  project: z.string(),
  scan: z.string(),
  instances: z.number().int(),
  /** Files whose headers were read, in catalog order. */
  files: z.array(z.object({ file: z.string(), instance: z.number().int() })),
  /** Elements with the same value in every file read. */
  constant: z.array(DicomElementSchema),
  /** Elements whose value differs (or which some files lack), with the value in each file read ('' = absent). */
  varying: z.array(DicomElementSchema.omit({ value: true }).extend({ values: z.array(z.string()) })),
});
export type DicomVariation = z.infer<typeof DicomVariationSchema>;
