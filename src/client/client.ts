/**
 * XnatClient: the facade over the client core. It owns the connection pool, the session and the
 * label → ID memory, and wires them into the modules that do the work (listings, items, files,
 * search, curation, transfers, prearchive), each of which takes only the narrow context it needs.
 * Every read makes a small, bounded number of requests (one per listing page, never one per object).
 */
// Modules load on the first call of a method that uses them (`await import` in the method), so that
// a server answering tools/list loads only the HTTP layer and the session; their types are imported here.
import type * as access from './access.js';
import { DEFAULT_TIMEOUT_MS, normalizeXnatUrl, type XnatConfig } from './config.js';
import { XnatConfigError } from './errors.js';
import type * as containers from './containers/index.js';
import type * as copy from './copy.js';
import type * as dicom from './dicom.js';
import type * as files from './files.js';
import type * as imaging from './imaging/index.js';
import {
  HttpClient,
  type ClientStats,
  type HttpRequest,
  type HttpResponse,
  type RequestContext,
} from './http.js';
import type * as items from './items.js';
import type { ExperimentQuery, PageRequest, SubjectQuery } from './listings.js';
import type { ExperimentIds } from './lookups.js';
import type {
  ActiveUser,
  Assessor,
  DicomHeader,
  DicomVariation,
  Experiment,
  ExperimentDetail,
  Page,
  PrearchiveSession,
  Project,
  ProjectDetail,
  ProjectMember,
  Resource,
  Scan,
  SavedSearch,
  SearchElement,
  SearchField,
  SearchResult,
  ServerInfo,
  Share,
  SiteUser,
  Subject,
  SubjectDetail,
  UserDetails,
  XnatFile,
} from './models.js';
import type { ObjectOptions } from './reads.js';
import type * as search from './search.js';
import type * as searchExport from './search-export.js';
import type * as searchRuns from './search-runs.js';
import { XnatSession } from './session.js';
import type { CurrentUser } from './site.js';
import type * as tokens from './tokens.js';
import type * as curation from './curation/index.js';
import type * as prearchive from './prearchive.js';
import type * as bids from './bids/index.js';
// Uploads and downloads load on their first call (a short cold start for servers that never transfer).
import type * as transfers from './transfers/index.js';

export interface XnatClientOptions extends Partial<Omit<XnatConfig, 'source'>> {
  url: string;
  user: string;
  password: string;
  /** Keep-alive connections to XNAT (default 8). */
  connections?: number;
  /** Retries of idempotent requests on 502/503/504 and dropped connections (default 3). */
  retries?: number;
  userAgent?: string;
  /** Receives one line per HTTP request (`GET /data/projects 200 12ms`) and warnings; never credentials. */
  log?: (line: string) => void;
}

interface CallOptions {
  signal?: AbortSignal | undefined;
}

export class XnatClient {
  /** Base URL of XNAT, without credentials. */
  readonly url: string;
  readonly stats: ClientStats = { requests: 0, logins: 0, retries: 0 };
  private readonly http: HttpClient;
  private readonly session: XnatSession;
  /** Loaded with the first call that names an experiment (see lookups()). */
  private experimentIds: ExperimentIds | undefined;
  private user: CurrentUser | undefined;
  /** Reads go straight to the session; writes through `write`, which forgets label → ID mappings. */
  private readonly reads: RequestContext;
  private readonly writes: RequestContext;

  constructor(options: XnatClientOptions) {
    const normalized = normalizeXnatUrl(options.url, 'the url option');
    const user = options.user || normalized.user;
    const password = options.password || normalized.password;
    if (!user || !password) {
      throw new XnatConfigError('XnatClient needs a user and a password (or an alias token and its secret)');
    }
    this.url = normalized.url;
    this.http = new HttpClient({
      baseUrl: this.url,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      stats: this.stats,
      connections: options.connections ?? 8,
      retries: options.retries ?? 3,
      caFile: options.caFile,
      insecure: options.insecure,
      userAgent: options.userAgent,
      log: options.log,
    });
    this.session = new XnatSession(this.http, { user, password }, { stats: this.stats, log: options.log });
    this.reads = { request: (req) => this.session.request(req) };
    this.writes = { request: (req) => this.write(req) };
  }

  static fromConfig(config: XnatConfig, extra: Partial<XnatClientOptions> = {}): XnatClient {
    const { source: _source, ...settings } = config;
    return new XnatClient({ ...settings, ...extra });
  }

  /** Version and build, uptime, plugins, the user and whether they are a site admin, the session's expiry. */
  async serverInfo(opts: CallOptions = {}): Promise<ServerInfo> {
    const { serverInfo } = await import('./site.js');
    return serverInfo(this.reads, this.url, () => this.session.expiry(), opts.signal);
  }

  /** The current user's profile, site roles and whether they are a site admin. */
  async userDetails(opts: CallOptions = {}): Promise<UserDetails> {
    const { userDetails } = await import('./access.js');
    return userDetails(this.reads, await this.currentUser(opts), opts.signal);
  }

  /** The site's enabled users (403 → XnatPermissionError where the site restricts the list to admins). */
  async listUsers(opts: CallOptions = {}): Promise<SiteUser[]> {
    const { listUsers } = await import('./access.js');
    return listUsers(this.reads, opts.signal);
  }

  /** Who is logged in now, with their session counts (site admins only). */
  async activeUsers(opts: CallOptions = {}): Promise<ActiveUser[]> {
    const { activeUsers } = await import('./access.js');
    return activeUsers(this.reads, opts.signal);
  }

  /** A project's members and their groups (its owners and site admins only). */
  async listProjectMembers(project: string, opts: CallOptions = {}): Promise<ProjectMember[]> {
    const { listProjectMembers } = await import('./access.js');
    return listProjectMembers(this.reads, project, opts.signal);
  }

  /** Adds the user to a group of the project, or moves them there; returns their row as read back. */
  async setProjectMember(q: access.MemberChange): Promise<ProjectMember> {
    const { setProjectMember } = await import('./access.js');
    return setProjectMember({ reads: this.reads, writes: this.writes }, q);
  }

  /** Removes the user from the project; returns the membership they had. */
  async removeProjectMember(q: {
    project: string;
    login: string;
    signal?: AbortSignal | undefined;
  }): Promise<ProjectMember> {
    const { removeProjectMember } = await import('./access.js');
    return removeProjectMember({ reads: this.reads, writes: this.writes }, q);
  }

  async listProjects(opts: CallOptions = {}): Promise<Project[]> {
    const { listProjects } = await import('./listings.js');
    return listProjects(this.reads, opts.signal);
  }

  async getProject(project: string, opts: CallOptions = {}): Promise<ProjectDetail> {
    const { getProject } = await import('./items.js');
    return getProject(this.reads, project, opts.signal);
  }

  async listSubjects(q: SubjectQuery & PageRequest = {}): Promise<Page<Subject>> {
    const { listSubjects } = await import('./listings.js');
    return listSubjects(this.reads, q);
  }

  async getSubject(subject: string, opts: ObjectOptions = {}): Promise<SubjectDetail> {
    const { getSubject } = await import('./items.js');
    return getSubject(this.reads, subject, opts);
  }

  async listExperiments(q: ExperimentQuery & PageRequest = {}): Promise<Page<Experiment>> {
    const { listExperiments } = await import('./listings.js');
    return listExperiments(this.reads, q);
  }

  /** Every matching experiment, one request per page (no total is computed). */
  iterateExperiments(
    q: ExperimentQuery & { pageSize?: number; signal?: AbortSignal } = {},
  ): AsyncIterable<Experiment> {
    const reads = this.reads;
    return (async function* () {
      const { iterateExperiments } = await import('./listings.js');
      yield* iterateExperiments(reads, q);
    })();
  }

  async getExperiment(experiment: string, opts: ObjectOptions = {}): Promise<ExperimentDetail> {
    const { getExperiment } = await import('./items.js');
    return getExperiment(await this.itemContext(), experiment, opts);
  }

  async listScans(experiment: string, opts: ObjectOptions = {}): Promise<Scan[]> {
    const { listScans } = await import('./files.js');
    return listScans(await this.fileContext(), experiment, opts);
  }

  /** Resources of an experiment (all of them: session, scans, assessors, reconstructions), a scan or an assessor. */
  async listResources(target: files.FileTarget, opts: CallOptions = {}): Promise<Resource[]> {
    const { listResources } = await import('./files.js');
    return listResources(await this.fileContext(), target, opts.signal);
  }

  /** Files of one resource, or of every resource under the target, in a single listing request. */
  async listFiles(
    target: files.FileTarget & { resource?: string },
    opts: CallOptions = {},
  ): Promise<XnatFile[]> {
    const { listFiles } = await import('./files.js');
    return listFiles(await this.fileContext(), target, opts.signal);
  }

  /** A PNG of one slice, a montage or orthogonal views of a scan, rendered from its DICOM files; see imaging/. */
  async scanImage(q: imaging.ScanImageQuery): Promise<imaging.ScanImage> {
    const { scanImage } = await import('./imaging/index.js');
    return scanImage(await this.fileContext(), q);
  }

  /**
   * XNAT's own GIF snapshot (one slice, a montage or a thumbnail). XNAT writes it into the scan's
   * SNAPSHOTS resource when it generates it: a read with a side effect.
   */
  async scanSnapshot(q: imaging.SnapshotQuery): Promise<imaging.Snapshot> {
    const { scanSnapshot } = await import('./imaging/index.js');
    return scanSnapshot(await this.fileContext(), q);
  }

  /** Pipelines (container service wrappers) that can run on items of `xsiType` in the project, with whether it enabled them. */
  async listPipelines(
    project: string,
    xsiType: string,
    opts: CallOptions = {},
  ): Promise<containers.Pipeline[]> {
    const { listPipelines } = await import('./containers/index.js');
    return listPipelines(this.reads, project, xsiType, opts.signal);
  }

  /** Every installed pipeline with its inputs explained (one request). */
  async listPipelineDetails(opts: CallOptions = {}): Promise<containers.PipelineDetail[]> {
    const { listPipelineDetails } = await import('./containers/index.js');
    return listPipelineDetails(this.reads, opts.signal);
  }

  async pipelineEnabled(
    project: string,
    wrapperId: number,
    opts: CallOptions = {},
  ): Promise<{ site: boolean; project: boolean }> {
    const { pipelineEnabled } = await import('./containers/index.js');
    return pipelineEnabled(this.reads, project, wrapperId, opts.signal);
  }

  /** The inputs XNAT would resolve for a launch (nothing is launched). */
  async previewLaunch(
    project: string,
    wrapperId: number,
    inputs: Record<string, string>,
    opts: CallOptions = {},
  ): Promise<containers.LaunchPreview> {
    const { previewLaunch } = await import('./containers/index.js');
    return previewLaunch(this.reads, project, wrapperId, inputs, opts.signal);
  }

  /** One launch; XNAT checks almost nothing here, so check the pipeline first (listPipelines). */
  async launchPipeline(q: {
    project: string;
    wrapperId: number;
    rootInput: string;
    inputs: Record<string, string>;
    signal?: AbortSignal | undefined;
  }): Promise<containers.LaunchResult> {
    const { launch } = await import('./containers/index.js');
    return launch(this.writes, q);
  }

  async listJobs(
    q: { project?: string | undefined; running?: boolean | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<containers.Job[]> {
    const { listJobs } = await import('./containers/index.js');
    return listJobs(this.reads, q);
  }

  async getJob(id: string, opts: CallOptions = {}): Promise<containers.Job> {
    const { getJob } = await import('./containers/index.js');
    return getJob(this.reads, id, opts.signal);
  }

  async jobLog(id: string, stream: 'stdout' | 'stderr', opts: CallOptions = {}): Promise<string> {
    const { jobLog } = await import('./containers/index.js');
    return jobLog(this.reads, id, stream, opts.signal);
  }

  async killJob(id: string, opts: CallOptions = {}): Promise<string> {
    const { killJob } = await import('./containers/index.js');
    return killJob(this.writes, id, opts.signal);
  }

  async getWorkflow(id: string, opts: CallOptions = {}): Promise<containers.Workflow> {
    const { getWorkflow } = await import('./containers/index.js');
    return getWorkflow(this.reads, id, opts.signal);
  }

  async listAssessors(experiment: string, opts: ObjectOptions = {}): Promise<Assessor[]> {
    const { listAssessors } = await import('./files.js');
    return listAssessors(await this.fileContext(), experiment, opts);
  }

  async getExperimentStatus(experiment: string, opts: ObjectOptions = {}): Promise<'active' | 'quarantine'> {
    const { getExperimentStatus } = await import('./items.js');
    return getExperimentStatus(this.reads, experiment, opts);
  }

  async searchElements(opts: CallOptions = {}): Promise<SearchElement[]> {
    const { searchElements } = await import('./search.js');
    return searchElements(this.reads, opts.signal);
  }

  async searchFields(xsiType: string, opts: CallOptions = {}): Promise<SearchField[]> {
    const { searchFields } = await import('./search.js');
    return searchFields(this.reads, xsiType, opts.signal);
  }

  /**
   * Runs a search (one POST of an `xdat:bundle`). XNAT does not page uncached searches, so
   * `limit`/`offset` select rows from the full answer; `total` is the full count.
   */
  async search(query: search.SearchQuery, opts: PageRequest = {}): Promise<SearchResult> {
    const { runSearch } = await import('./search.js');
    return runSearch(this.reads, query, opts);
  }

  /** Saved (stored) searches the user may run. */
  async savedSearches(opts: CallOptions = {}): Promise<SavedSearch[]> {
    const { savedSearches } = await import('./search-runs.js');
    return savedSearches(this.reads, opts.signal);
  }

  /** The columns of a type's default listing (`<element>.<field ID>`), if XNAT has one. */
  async defaultListingFields(xsiType: string, opts: CallOptions = {}): Promise<string[] | undefined> {
    const { defaultListingFields } = await import('./search-runs.js');
    return defaultListingFields(this.reads, xsiType, opts.signal);
  }

  /** One page of a search through XNAT's cached searches (one request per page). */
  async searchPage(
    search: searchRuns.SearchSpec | (() => Promise<searchRuns.SearchSpec>),
    req: searchRuns.SearchPageRequest,
  ): Promise<searchRuns.SearchPage> {
    const { searchPage } = await import('./search-runs.js');
    return searchPage(this.reads, search, req);
  }

  /** A whole search answer, streamed row by row from one request. */
  async streamSearch(
    spec: searchRuns.SearchSpec,
    opts: searchRuns.SearchOrder & CallOptions = {},
  ): Promise<searchRuns.SearchStream> {
    const { streamSearch } = await import('./search-runs.js');
    return streamSearch(this.reads, spec, opts);
  }

  /** A whole search answer written to a local file as it streams (temp file, then rename). */
  async exportSearch(
    spec: searchRuns.SearchSpec,
    req: searchExport.ExportRequest,
  ): Promise<searchExport.ExportResult> {
    const { exportSearch } = await import('./search-export.js');
    return exportSearch(this.reads, spec, req);
  }

  /** Creates a subject; an existing label is returned or reported as a conflict, never updated. */
  async createSubject(
    q: curation.CreateSubjectRequest,
  ): Promise<{ created: boolean; subject: SubjectDetail }> {
    const { createSubject } = await import('./curation/index.js');
    return createSubject(this.curationContext(), q);
  }

  /** Creates an experiment of any xsiType under an existing subject; an existing label is never updated. */
  /** Creates a manual QC assessment (xnat:qcManualAssessorData) of an image session; never overwrites. */
  async createQcAssessment(q: curation.QcAssessmentRequest): Promise<curation.QcAssessment> {
    const { createQcAssessment } = await import('./curation/index.js');
    return createQcAssessment(this.curationContext(), q);
  }

  async createExperiment(
    q: curation.CreateExperimentRequest,
  ): Promise<{ created: boolean; experiment: ExperimentDetail }> {
    const { createExperiment } = await import('./curation/index.js');
    return createExperiment(this.curationContext(), q);
  }

  /** Sets standard fields, custom variables and/or the label; reports old and new values read back. */
  async updateFields(
    ref: curation.ObjectRef & { kind: curation.UpdatableKind },
    changes: curation.FieldChanges,
    opts: CallOptions = {},
  ): Promise<{ changes: curation.FieldChange[] }> {
    const { updateFields } = await import('./curation/index.js');
    return updateFields(this.curationContext(), ref, changes, opts);
  }

  async share(q: curation.ShareRequest): Promise<{ owningProject: string; shares: Share[] }> {
    const { share } = await import('./curation/index.js');
    return share(this.curationContext(), q);
  }

  async unshare(q: curation.UnshareRequest): Promise<{ owningProject: string; shares: Share[] }> {
    const { unshare } = await import('./curation/index.js');
    return unshare(this.curationContext(), q);
  }

  /** Quarantines or activates an experiment (or one of its assessors); returns the status read back. */
  async setQuarantine(q: curation.QuarantineRequest): Promise<{ status: 'active' | 'quarantine' }> {
    const { setQuarantine } = await import('./curation/index.js');
    return setQuarantine(this.curationContext(), q);
  }

  /** `quarantine` or `active`, of an experiment or (with `assessor`) one of its assessors. */
  async getQuarantineStatus(q: {
    experiment: string;
    project?: string;
    assessor?: string;
    signal?: AbortSignal;
  }): Promise<'active' | 'quarantine'> {
    const { getQuarantineStatus } = await import('./curation/index.js');
    return getQuarantineStatus(this.curationContext(), q);
  }

  /** Deletes a subject, experiment, scan, assessor, resource or file (files removed too). */
  async deleteObject(
    ref: curation.ObjectRef & { kind: curation.ObjectKind },
    opts: CallOptions = {},
  ): Promise<void> {
    const { deleteObject } = await import('./curation/index.js');
    return deleteObject(this.curationContext(), ref, opts);
  }

  /** Resolves any object to its ID, label, owning project and a one-line summary. */
  async describeObject(
    ref: curation.ObjectRef & { kind: curation.ObjectKind },
    opts: CallOptions = {},
  ): Promise<curation.ObjectDescription> {
    const { describeObject } = await import('./curation/index.js');
    return describeObject(this.curationContext(), ref, opts);
  }

  /** The XNAT login this client acts as (asked once; an alias token resolves to its user). */
  async currentUser(opts: CallOptions = {}): Promise<string> {
    if (!this.user) {
      const { CurrentUser } = await import('./site.js');
      this.user ??= new CurrentUser(this.reads);
    }
    return this.user.get(opts.signal);
  }

  /** Uploads local files (or one zip XNAT extracts) into a resource, streamed; see transfers.ts. */
  async upload(q: transfers.UploadRequest): Promise<transfers.UploadResult> {
    const { upload } = await import('./transfers/upload.js');
    return upload(await this.transferContext(), q);
  }

  /** Downloads listed files into a local folder, streamed and verified; see transfers.ts. */
  async download(q: transfers.DownloadRequest): Promise<transfers.DownloadResult> {
    const { download } = await import('./transfers/download.js');
    return download(await this.transferContext(), q);
  }

  /** Files of one resource of a project, subject, experiment, scan or assessor; undefined when the resource does not exist. */
  async listResourceFiles(
    parent: transfers.ResourceParent,
    resource: string,
    opts: CallOptions = {},
  ): Promise<XnatFile[] | undefined> {
    const { listResourceFiles } = await import('./transfers/common.js');
    return listResourceFiles(await this.transferContext(), parent, resource, opts.signal);
  }

  async listPrearchive(q: { project?: string; signal?: AbortSignal } = {}): Promise<PrearchiveSession[]> {
    const { listPrearchive } = await import('./prearchive.js');
    return listPrearchive(this.writes, q);
  }

  async getPrearchiveSession(
    ref: prearchive.PrearchiveRef,
    opts: CallOptions = {},
  ): Promise<PrearchiveSession> {
    const { getPrearchiveSession } = await import('./prearchive.js');
    return getPrearchiveSession(this.writes, ref, opts.signal);
  }

  async archivePrearchive(q: prearchive.ArchiveRequest): Promise<prearchive.ImportResult> {
    const { archivePrearchive } = await import('./prearchive.js');
    return archivePrearchive(this.writes, q);
  }

  /** Moves a prearchive session to another project; returns its new prearchive URL. */
  async movePrearchive(q: {
    session: prearchive.PrearchiveRef;
    toProject: string;
    signal?: AbortSignal;
  }): Promise<string> {
    const { movePrearchive } = await import('./prearchive.js');
    return movePrearchive(this.writes, q);
  }

  async deletePrearchive(q: { session: prearchive.PrearchiveRef; signal?: AbortSignal }): Promise<void> {
    const { deletePrearchive } = await import('./prearchive.js');
    return deletePrearchive(this.writes, q);
  }

  async rebuildPrearchive(q: { session: prearchive.PrearchiveRef; signal?: AbortSignal }): Promise<void> {
    const { rebuildPrearchive } = await import('./prearchive.js');
    return rebuildPrearchive(this.writes, q);
  }

  /** Sends a DICOM zip (or a folder, zipped while sent) through XNAT's import service. */
  async importSession(q: prearchive.ImportRequest): Promise<prearchive.ImportResult> {
    const { importSession } = await import('./prearchive.js');
    return importSession(this.writes, q);
  }

  /** The header of one DICOM file of a scan (the first, or by 1-based position or name), via XNAT's dicomdump. */
  async dicomHeader(q: dicom.DicomRequest & { instance?: number; file?: string }): Promise<DicomHeader> {
    const { dicomHeader } = await import('./dicom.js');
    return dicomHeader(this.dicomContext(), q);
  }

  /** Which DICOM header elements differ across a scan's files (a sample of at most MAX_COMPARED_FILES). */
  async dicomVariation(q: dicom.DicomRequest): Promise<DicomVariation> {
    const { dicomVariation } = await import('./dicom.js');
    return dicomVariation(this.dicomContext(), q);
  }

  /** XNAT's bidsmap (config `bids/bidsmap`) of the site and the project, merged; undefined when neither has one. */
  async readBidsmap(project: string, opts: CallOptions = {}) {
    const { readBidsmap } = await import('./bids/export.js');
    return readBidsmap(this.reads, project, opts.signal);
  }

  /** The BIDS plan of a project's (chosen) sessions: every scan's path or why it has none; nothing written. */
  async planBidsExport(q: bids.BidsPlanRequest): Promise<bids.BidsPlanned> {
    const { planBidsExport } = await import('./bids/export.js');
    return planBidsExport(this.bidsContext(), q);
  }

  /** Writes a planned BIDS export into a local folder (NIfTI, sidecars, dataset tables); resumable. */
  async exportBids(planned: bids.BidsPlanned, q: bids.BidsExportRequest): Promise<bids.BidsExportResult> {
    const { exportBids } = await import('./bids/export.js');
    return exportBids(this.bidsContext(), planned, q);
  }

  /** A new alias token for this client's login (to hold in place of a password; see tokens.ts). */
  async issueAliasToken(opts: CallOptions = {}): Promise<tokens.AliasToken> {
    const { issueAliasToken } = await import('./tokens.js');
    return issueAliasToken(this.reads, opts.signal);
  }

  /** Disables one of this login's alias tokens. */
  async invalidateAliasToken(alias: string, opts: CallOptions = {}): Promise<void> {
    const { invalidateAliasToken } = await import('./tokens.js');
    return invalidateAliasToken(this.reads, alias, opts.signal);
  }

  /**
   * Plans copying subjects or experiments from this XNAT to `to` (another client, or this one for a
   * copy between projects): what the target lacks, holds, or holds differently. Changes nothing.
   */
  async planCopy(to: XnatClient, q: copy.CopyRequest): Promise<copy.PlannedCopy> {
    const { planCopy } = await import('./copy.js');
    return planCopy(this.curationContext(), to.curationContext(), q);
  }

  /** Acts on a plan of planCopy: creates what is missing, streams files server to server, verifies them. */
  async runCopy(to: XnatClient, planned: copy.PlannedCopy, q: copy.CopyRequest): Promise<copy.CopyResult> {
    const { runCopy } = await import('./copy.js');
    return runCopy(this.curationContext(), to.curationContext(), planned.work, q);
  }

  /** Ends the XNAT session and closes the connection pool. */
  async close(): Promise<void> {
    await this.session.close();
    await this.http.close();
  }

  /** The label → ID memory, made on first use. */
  private async lookups(): Promise<ExperimentIds> {
    if (!this.experimentIds) {
      const { ExperimentIds } = await import('./lookups.js');
      this.experimentIds ??= new ExperimentIds(this.reads);
    }
    return this.experimentIds;
  }

  private async itemContext(): Promise<items.ItemContext> {
    const ids = await this.lookups();
    return {
      ...this.reads,
      rememberExperimentId: (experiment, project, id) => ids.remember(experiment, project, id),
    };
  }

  private async fileContext(): Promise<files.FileContext> {
    const ids = await this.lookups();
    return {
      ...this.reads,
      experimentId: (experiment, project, signal) => ids.experimentId(experiment, project, signal),
    };
  }

  private dicomContext(): dicom.DicomContext {
    return {
      ...this.reads,
      getExperiment: (experiment, opts) => this.getExperiment(experiment, opts),
      listFiles: (target, signal) => this.listFiles(target, { signal }),
    };
  }

  private bidsContext(): bids.BidsContext {
    return {
      ...this.reads,
      siteUrl: this.url,
      getProject: (project, opts) => this.getProject(project, opts),
      getSubject: (subject, opts) => this.getSubject(subject, opts),
      iterateExperiments: (q) => this.iterateExperiments(q),
      getExperiment: (experiment, opts) => this.getExperiment(experiment, opts),
      listFiles: (target, signal) => this.listFiles(target, { signal }),
      dicomHeader: (q) => this.dicomHeader(q),
      download: (q) => this.download(q),
    };
  }

  private async transferContext(): Promise<transfers.TransferContext> {
    const ids = await this.lookups();
    return {
      ...this.writes,
      experimentId: (experiment, project, signal) => ids.experimentId(experiment, project, signal),
    };
  }

  private curationContext(): curation.CurationContext {
    return {
      ...this.writes,
      getProject: (project, opts) => this.getProject(project, opts),
      getSubject: (subject, opts) => this.getSubject(subject, opts),
      getExperiment: (experiment, opts) => this.getExperiment(experiment, opts),
      listScans: (experiment, opts) => this.listScans(experiment, opts),
    };
  }

  /**
   * Requests of curation, transfers and the prearchive. Any of their writes may rename, delete,
   * re-create or archive an experiment, so remembered label → ID mappings go: a stale one would
   * silently read or write another experiment than the label now names.
   */
  private async write(req: HttpRequest): Promise<HttpResponse> {
    if (req.method === 'GET' || req.method === 'HEAD') return this.session.request(req);
    try {
      return await this.session.request(req);
    } finally {
      this.experimentIds?.forgetAll();
    }
  }
}
