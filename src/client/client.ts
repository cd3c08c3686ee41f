/**
 * XnatClient: typed reads of an XNAT archive. Every method makes a small, bounded number of
 * requests (one per listing page, never one per object), asks XNAT only for the columns the models
 * need, and turns XNAT's answers into models through rows.ts.
 */
import { DEFAULT_TIMEOUT_MS, normalizeXnatUrl, type XnatConfig } from './config.js';
import { XnatBadRequestError, XnatConfigError, XnatError, XnatNotFoundError } from './errors.js';
import {
  HttpClient,
  xnatPath,
  type ClientStats,
  type HttpRequest,
  type HttpResponse,
  type QueryValue,
} from './http.js';
import type {
  Assessor,
  Experiment,
  ExperimentDetail,
  Page,
  PrearchiveSession,
  Project,
  ProjectDetail,
  Resource,
  Scan,
  SearchElement,
  SearchField,
  SearchResult,
  ServerInfo,
  Share,
  Subject,
  SubjectDetail,
  XnatFile,
} from './models.js';
import {
  experimentDetailFromItem,
  parseAuthUser,
  parseBuildInfo,
  parseItem,
  parseStatus,
  parseTable,
  projectDetailFromItem,
  subjectDetailFromItem,
  toAssessor,
  toExperiment,
  toFile,
  toProject,
  toResource,
  toScan,
  toSearchElement,
  toSearchField,
  toSearchResult,
  toSubject,
  toXnatDate,
  type ItemNode,
  type Row,
  type Table,
} from './rows.js';
import { buildSearchXml, type SearchQuery } from './search.js';
import { XnatSession, awaitWithSignal } from './session.js';
import * as curation from './curation.js';
import * as prearchive from './prearchive.js';
import * as transfers from './transfers.js';

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

export interface PageRequest {
  limit?: number;
  offset?: number;
  signal?: AbortSignal;
  /** The `total` of an earlier page of the same listing: saves recounting. */
  knownTotal?: number;
}

export interface SubjectQuery {
  project?: string;
  /** `*` wildcards allowed. */
  label?: string;
  gender?: string;
  group?: string;
  /** Raw XNAT shortcut or xpath filters (`{ 'xnat:subjectData/src': 'X' }`). */
  filters?: Record<string, string>;
}

export interface ExperimentQuery {
  project?: string;
  /** Accession ID, or a label within `project`. */
  subject?: string;
  xsiType?: string;
  /** `*` wildcards allowed. */
  label?: string;
  /** ISO `YYYY-MM-DD`, inclusive. */
  dateFrom?: string;
  dateTo?: string;
  modality?: string;
  filters?: Record<string, string>;
}

export interface FileTarget {
  experiment: string;
  project?: string;
  scan?: string;
  assessor?: string;
}

interface CallOptions {
  signal?: AbortSignal | undefined;
}

export const DEFAULT_PAGE_SIZE = 100;
const ITERATE_PAGE_SIZE = 5000;
const SUBJECT_COLUMNS = 'ID,label,project,insert_date,gender,handedness,yob,age,group';
const EXPERIMENT_COLUMNS = 'ID,label,project,xsiType,date,subject_ID,subject_label,insert_date';
/** Query parameters the client sets itself; raw filters may not override them. */
const RESERVED_PARAMS = new Set(['format', 'columns', 'limit', 'offset', 'sortBy', 'sortOrder']);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
/** XNAT's date filter only takes closed ranges (`a-b`); open ends get bounds no session predates/outlives. */
const EARLIEST_DATE = '01/01/1900';
const LATEST_DATE = '12/31/9999';
const ID_CACHE_SIZE = 1000;

function withHint(err: unknown, hint: string): unknown {
  if (!(err instanceof XnatNotFoundError)) return err;
  return new XnatNotFoundError(`${hint} (${err.message})`, {
    method: err.method,
    path: err.path,
    status: err.status,
    xnatMessage: err.xnatMessage,
    cause: err,
  });
}

function notFoundHint(kind: 'Experiment' | 'Subject', id: string, project: string | undefined): string {
  if (project) return `${kind} "${id}" was not found in project ${project}, or you cannot read it`;
  return `${kind} "${id}" was not found, or you cannot read it: without a project only accession IDs work; pass the project to address it by label`;
}

function checkDate(value: string | undefined, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!ISO_DATE.test(value) || Number.isNaN(Date.parse(value))) {
    throw new XnatBadRequestError(`${name} must be an ISO date YYYY-MM-DD (got "${value}")`);
  }
  return toXnatDate(value);
}

function checkPaging(request: PageRequest): { limit: number; offset: number } {
  const limit = request.limit ?? DEFAULT_PAGE_SIZE;
  const offset = request.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1)
    throw new XnatBadRequestError(`limit must be a positive integer (got ${limit})`);
  if (!Number.isInteger(offset) || offset < 0) {
    throw new XnatBadRequestError(`offset must be a non-negative integer (got ${offset})`);
  }
  return { limit, offset };
}

function rawFilters(filters: Record<string, string> | undefined): Record<string, string> {
  for (const key of Object.keys(filters ?? {})) {
    if (RESERVED_PARAMS.has(key)) throw new XnatBadRequestError(`"${key}" cannot be used as a filter`);
  }
  return { ...filters };
}

export class XnatClient {
  /** Base URL of XNAT, without credentials. */
  readonly url: string;
  readonly stats: ClientStats = { requests: 0, logins: 0, retries: 0 };
  private readonly http: HttpClient;
  private readonly session: XnatSession;
  /** `project\0labelOrId` → accession ID, for sub-resources XNAT only serves under `/data/experiments/{ID}`. */
  private readonly experimentIds = new Map<string, string>();
  private userLogin: Promise<string> | undefined;

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
  }

  static fromConfig(config: XnatConfig, extra: Partial<XnatClientOptions> = {}): XnatClient {
    const { source: _source, ...settings } = config;
    return new XnatClient({ ...settings, ...extra });
  }

  async serverInfo(opts: CallOptions = {}): Promise<ServerInfo> {
    const buildInfoPath = xnatPath('xapi', 'siteConfig', 'buildInfo');
    const authPath = xnatPath('data', 'auth');
    const [buildInfo, auth] = await Promise.all([
      this.get({ path: buildInfoPath, expect: 'json', signal: opts.signal }),
      this.get({ path: authPath, expect: 'text', signal: opts.signal }),
    ]);
    const info = parseBuildInfo(buildInfo, { method: 'GET', path: buildInfoPath });
    return { url: this.url, ...info, user: parseAuthUser(auth, { method: 'GET', path: authPath }) };
  }

  async listProjects(opts: CallOptions = {}): Promise<Project[]> {
    const table = await this.table(xnatPath('data', 'projects'), {}, opts.signal);
    return table.rows.map(toProject);
  }

  async getProject(project: string, opts: CallOptions = {}): Promise<ProjectDetail> {
    const base = ['data', 'projects', project];
    try {
      const [item, subjects, experiments] = await Promise.all([
        this.item(xnatPath(...base), opts.signal),
        this.table(xnatPath(...base, 'subjects'), { columns: 'ID' }, opts.signal),
        this.table(xnatPath(...base, 'experiments'), { columns: 'ID,xsiType' }, opts.signal),
      ]);
      return projectDetailFromItem(item, subjects.rows, experiments.rows);
    } catch (err) {
      throw withHint(err, `Project "${project}" was not found, or you cannot read it`);
    }
  }

  async listSubjects(q: SubjectQuery & PageRequest = {}): Promise<Page<Subject>> {
    const path = q.project
      ? xnatPath('data', 'projects', q.project, 'subjects')
      : xnatPath('data', 'subjects');
    const filters = { ...rawFilters(q.filters), label: q.label, gender: q.gender, group: q.group };
    return this.page(path, SUBJECT_COLUMNS, filters, q, (row) => toSubject(row, q.project));
  }

  async getSubject(
    subject: string,
    opts: { project?: string; signal?: AbortSignal } = {},
  ): Promise<SubjectDetail> {
    const { project, signal } = opts;
    const itemPath = project
      ? xnatPath('data', 'projects', project, 'subjects', subject)
      : xnatPath('data', 'subjects', subject);
    const experimentsRequest = project
      ? this.table(
          xnatPath('data', 'projects', project, 'subjects', subject, 'experiments'),
          { columns: EXPERIMENT_COLUMNS },
          signal,
        )
      : this.table(
          xnatPath('data', 'experiments'),
          { columns: EXPERIMENT_COLUMNS, subject_ID: subject },
          signal,
        );
    try {
      const [item, experiments] = await Promise.all([this.item(itemPath, signal), experimentsRequest]);
      const detail = subjectDetailFromItem(item, project, []);
      // Listings carry the owning label in subject_label; in a sharing project the subject has its shared label.
      const sessions = experiments.rows.map((row) => ({
        ...toExperiment(row, project),
        subjectLabel: detail.label,
      }));
      return { ...detail, experiments: sessions };
    } catch (err) {
      throw withHint(err, notFoundHint('Subject', subject, project));
    }
  }

  async listExperiments(q: ExperimentQuery & PageRequest = {}): Promise<Page<Experiment>> {
    const { path, filters } = this.experimentListing(q);
    return this.page(path, EXPERIMENT_COLUMNS, filters, q, (row) => toExperiment(row, q.project));
  }

  /** Every matching experiment, one request per page (no total is computed). */
  async *iterateExperiments(
    q: ExperimentQuery & { pageSize?: number; signal?: AbortSignal } = {},
  ): AsyncIterable<Experiment> {
    const { path, filters } = this.experimentListing(q);
    // Large pages: each XNAT listing request has a fixed cost (a full query per page), while a
    // 5,000-row page is only about a megabyte of JSON.
    const { limit } = checkPaging({ limit: q.pageSize ?? ITERATE_PAGE_SIZE });
    let firstId: string | undefined;
    for (let offset = 0; ; offset += limit) {
      const table = await this.table(
        path,
        { ...filters, columns: EXPERIMENT_COLUMNS, limit, offset },
        q.signal,
      );
      const page = table.rows.map((row) => toExperiment(row, q.project));
      // An XNAT that ignores limit/offset sends every row each time: a page longer than asked for,
      // or a later page starting with the first page's first row, means everything was yielded.
      if (offset > 0 && page[0] !== undefined && page[0].id === firstId) return;
      firstId ??= page[0]?.id;
      yield* page;
      if (page.length !== limit) return;
    }
  }

  async getExperiment(
    experiment: string,
    opts: { project?: string; signal?: AbortSignal } = {},
  ): Promise<ExperimentDetail> {
    const { project, signal } = opts;
    const base = this.experimentBase(experiment, project);
    let item: ItemNode;
    let statusText: string;
    try {
      [item, statusText] = await Promise.all([
        this.item(xnatPath(...base), signal),
        this.get({ path: xnatPath(...base, 'status'), expect: 'text', signal }),
      ]);
    } catch (err) {
      throw withHint(err, notFoundHint('Experiment', experiment, project));
    }
    const id = item.dataFields.ID ?? item.dataFields.id ?? experiment;
    this.rememberExperimentId(experiment, project, id);
    const subjectId = item.dataFields.subject_ID ?? '';
    // Seen through a sharing project, the subject is usually shared too, under another label.
    const viaShare = project !== undefined && project !== item.dataFields.project;
    const [resources, listed, sharedSubjectLabel] = await Promise.all([
      this.table(xnatPath('data', 'experiments', id, 'resources'), { all: true }, signal),
      this.optionalRow(
        xnatPath('data', 'experiments'),
        { ID: id, columns: 'ID,insert_date,subject_label' },
        signal,
      ),
      viaShare && subjectId
        ? this.optionalRow(
            xnatPath('data', 'projects', project, 'subjects'),
            { ID: subjectId, columns: 'ID,label' },
            signal,
          )
        : Promise.resolve(undefined),
    ]);
    return experimentDetailFromItem(item, {
      project,
      status: parseStatus(statusText, { method: 'GET', path: xnatPath(...base, 'status') }),
      resources: resources.rows.map(toResource),
      subjectLabel: sharedSubjectLabel?.label || listed?.subject_label || '',
      insertDate: listed?.insert_date ?? '',
    });
  }

  async listScans(
    experiment: string,
    opts: { project?: string; signal?: AbortSignal } = {},
  ): Promise<Scan[]> {
    const id = await this.experimentId(experiment, opts.project, opts.signal);
    const table = await this.table(
      xnatPath('data', 'experiments', id, 'scans'),
      {},
      opts.signal,
      experiment,
      opts.project,
    );
    return table.rows.map(toScan);
  }

  /** Resources of an experiment (all of them: session, scans, assessors, reconstructions), a scan or an assessor. */
  async listResources(target: FileTarget, opts: CallOptions = {}): Promise<Resource[]> {
    const { parent, all } = await this.fileParent(target, opts.signal);
    const table = await this.table(
      xnatPath(...parent, 'resources'),
      all ? { all: true } : {},
      opts.signal,
      target.experiment,
      target.project,
    );
    return table.rows.map(toResource);
  }

  /** Files of one resource, or of every resource under the target, in a single listing request. */
  async listFiles(target: FileTarget & { resource?: string }, opts: CallOptions = {}): Promise<XnatFile[]> {
    const { parent, all } = await this.fileParent(target, opts.signal);
    const path = target.resource
      ? xnatPath(...parent, 'resources', target.resource, 'files')
      : xnatPath(...parent, 'files');
    const table = await this.table(
      path,
      all && !target.resource ? { all: true } : {},
      opts.signal,
      target.experiment,
      target.project,
    );
    return table.rows.map(toFile);
  }

  async listAssessors(
    experiment: string,
    opts: { project?: string; signal?: AbortSignal } = {},
  ): Promise<Assessor[]> {
    const id = await this.experimentId(experiment, opts.project, opts.signal);
    const table = await this.table(
      xnatPath('data', 'experiments', id, 'assessors'),
      {},
      opts.signal,
      experiment,
      opts.project,
    );
    return table.rows.map((row) => toAssessor(row, id));
  }

  async getExperimentStatus(
    experiment: string,
    opts: { project?: string; signal?: AbortSignal } = {},
  ): Promise<'active' | 'quarantine'> {
    const path = xnatPath(...this.experimentBase(experiment, opts.project), 'status');
    try {
      return parseStatus(await this.get({ path, expect: 'text', signal: opts.signal }), {
        method: 'GET',
        path,
      });
    } catch (err) {
      throw withHint(err, notFoundHint('Experiment', experiment, opts.project));
    }
  }

  async searchElements(opts: CallOptions = {}): Promise<SearchElement[]> {
    const table = await this.table(xnatPath('data', 'search', 'elements'), {}, opts.signal);
    return table.rows.map(toSearchElement);
  }

  async searchFields(xsiType: string, opts: CallOptions = {}): Promise<SearchField[]> {
    try {
      const table = await this.table(xnatPath('data', 'search', 'elements', xsiType), {}, opts.signal);
      return table.rows.map(toSearchField);
    } catch (err) {
      throw withHint(err, `Data type "${xsiType}" is not known to XNAT (see searchElements())`);
    }
  }

  /**
   * Runs a search (one POST of an `xdat:bundle`). XNAT does not page uncached searches, so
   * `limit`/`offset` select rows from the full answer; `total` is the full count.
   */
  async search(query: SearchQuery, opts: PageRequest = {}): Promise<SearchResult> {
    const body = buildSearchXml(query);
    const hasPaging = opts.limit !== undefined || opts.offset !== undefined;
    const { limit, offset } = checkPaging({
      limit: opts.limit ?? Number.MAX_SAFE_INTEGER,
      offset: opts.offset ?? 0,
    });
    const path = xnatPath('data', 'search');
    const text = await this.session.request({
      method: 'POST',
      path,
      query: { format: 'json' },
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body,
      expect: 'json',
      signal: opts.signal,
    });
    const result = toSearchResult(parseTable(text.body, { method: 'POST', path }), query.rootElement);
    return hasPaging ? { ...result, rows: result.rows.slice(offset, offset + limit) } : result;
  }

  /** Creates a subject; an existing label is returned or reported as a conflict, never updated. */
  async createSubject(
    q: curation.CreateSubjectRequest,
  ): Promise<{ created: boolean; subject: SubjectDetail }> {
    return curation.createSubject(this.curationContext(), q);
  }

  /** Creates an experiment of any xsiType under an existing subject; an existing label is never updated. */
  async createExperiment(
    q: curation.CreateExperimentRequest,
  ): Promise<{ created: boolean; experiment: ExperimentDetail }> {
    return curation.createExperiment(this.curationContext(), q);
  }

  /** Sets standard fields, custom variables and/or the label; reports old and new values read back. */
  async updateFields(
    ref: curation.ObjectRef & { kind: curation.UpdatableKind },
    changes: curation.FieldChanges,
    opts: CallOptions = {},
  ): Promise<{ changes: curation.FieldChange[] }> {
    return curation.updateFields(this.curationContext(), ref, changes, opts);
  }

  async share(q: curation.ShareRequest): Promise<{ owningProject: string; shares: Share[] }> {
    return curation.share(this.curationContext(), q);
  }

  async unshare(q: curation.UnshareRequest): Promise<{ owningProject: string; shares: Share[] }> {
    return curation.unshare(this.curationContext(), q);
  }

  /** Quarantines or activates an experiment (or one of its assessors); returns the status read back. */
  async setQuarantine(q: curation.QuarantineRequest): Promise<{ status: 'active' | 'quarantine' }> {
    return curation.setQuarantine(this.curationContext(), q);
  }

  /** `quarantine` or `active`, of an experiment or (with `assessor`) one of its assessors. */
  async getQuarantineStatus(q: {
    experiment: string;
    project?: string;
    assessor?: string;
    signal?: AbortSignal;
  }): Promise<'active' | 'quarantine'> {
    return curation.getQuarantineStatus(this.curationContext(), q);
  }

  /** Deletes a subject, experiment, scan, assessor, resource or file (files removed too). */
  async deleteObject(
    ref: curation.ObjectRef & { kind: curation.ObjectKind },
    opts: CallOptions = {},
  ): Promise<void> {
    return curation.deleteObject(this.curationContext(), ref, opts);
  }

  /** Resolves any object to its ID, label, owning project and a one-line summary. */
  async describeObject(
    ref: curation.ObjectRef & { kind: curation.ObjectKind },
    opts: CallOptions = {},
  ): Promise<curation.ObjectDescription> {
    return curation.describeObject(this.curationContext(), ref, opts);
  }

  /** The XNAT login this client acts as (asked once; an alias token resolves to its user). */
  async currentUser(opts: CallOptions = {}): Promise<string> {
    const path = xnatPath('data', 'auth');
    // Shared by concurrent callers, so no one caller's signal may cancel it: each only stops waiting.
    this.userLogin ??= this.get({ path, expect: 'text' })
      .then((body) => parseAuthUser(body, { method: 'GET', path }))
      .catch((err: unknown) => {
        this.userLogin = undefined;
        throw err;
      });
    return awaitWithSignal(this.userLogin, opts.signal, { method: 'GET', path });
  }

  /** Uploads local files (or one zip XNAT extracts) into a resource, streamed; see transfers.ts. */
  async upload(q: transfers.UploadRequest): Promise<transfers.UploadResult> {
    return transfers.upload(this.transferContext(), q);
  }

  /** Downloads listed files into a local folder, streamed and verified; see transfers.ts. */
  async download(q: transfers.DownloadRequest): Promise<transfers.DownloadResult> {
    return transfers.download(this.transferContext(), q);
  }

  /** Files of one resource of a project, subject, experiment, scan or assessor; undefined when the resource does not exist. */
  async listResourceFiles(
    parent: transfers.ResourceParent,
    resource: string,
    opts: CallOptions = {},
  ): Promise<XnatFile[] | undefined> {
    return transfers.listResourceFiles(this.transferContext(), parent, resource, opts.signal);
  }

  async listPrearchive(q: { project?: string; signal?: AbortSignal } = {}): Promise<PrearchiveSession[]> {
    return prearchive.listPrearchive(this.transferContext(), q);
  }

  async getPrearchiveSession(
    ref: prearchive.PrearchiveRef,
    opts: CallOptions = {},
  ): Promise<PrearchiveSession> {
    return prearchive.getPrearchiveSession(this.transferContext(), ref, opts.signal);
  }

  async archivePrearchive(q: prearchive.ArchiveRequest): Promise<prearchive.ImportResult> {
    return prearchive.archivePrearchive(this.transferContext(), q);
  }

  /** Moves a prearchive session to another project; returns its new prearchive URL. */
  async movePrearchive(q: {
    session: prearchive.PrearchiveRef;
    toProject: string;
    signal?: AbortSignal;
  }): Promise<string> {
    return prearchive.movePrearchive(this.transferContext(), q);
  }

  async deletePrearchive(q: { session: prearchive.PrearchiveRef; signal?: AbortSignal }): Promise<void> {
    return prearchive.deletePrearchive(this.transferContext(), q);
  }

  async rebuildPrearchive(q: { session: prearchive.PrearchiveRef; signal?: AbortSignal }): Promise<void> {
    return prearchive.rebuildPrearchive(this.transferContext(), q);
  }

  /** Sends a DICOM zip (or a folder, zipped while sent) through XNAT's import service. */
  async importSession(q: prearchive.ImportRequest): Promise<prearchive.ImportResult> {
    return prearchive.importSession(this.transferContext(), q);
  }

  /** Ends the XNAT session and closes the connection pool. */
  async close(): Promise<void> {
    await this.session.close();
    await this.http.close();
  }

  private transferContext(): transfers.TransferContext {
    return {
      request: (req) => this.write(req),
      experimentId: (experiment, project, signal) => this.experimentId(experiment, project, signal),
    };
  }

  private curationContext(): curation.CurationContext {
    return {
      send: (req) => this.write(req),
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
      this.experimentIds.clear();
    }
  }

  private async get(req: Omit<HttpRequest, 'method'>): Promise<string> {
    // The /data API negotiates formats (item resources prefer HTML); XAPI always answers JSON.
    const query =
      req.expect === 'json' && req.path.startsWith('/data/') ? { ...req.query, format: 'json' } : req.query;
    const res = await this.session.request({ ...req, method: 'GET', ...(query ? { query } : {}) });
    return res.body;
  }

  private async table(
    path: string,
    query: Record<string, QueryValue>,
    signal: AbortSignal | undefined,
    experiment?: string,
    project?: string,
  ): Promise<Table> {
    try {
      return parseTable(await this.get({ path, query, expect: 'json', signal }), { method: 'GET', path });
    } catch (err) {
      throw experiment !== undefined ? withHint(err, notFoundHint('Experiment', experiment, project)) : err;
    }
  }

  private async item(path: string, signal: AbortSignal | undefined): Promise<ItemNode> {
    return parseItem(await this.get({ path, expect: 'json', signal }), { method: 'GET', path });
  }

  /**
   * One page of a subject/experiment listing. XNAT omits the total when paging, so it is derived
   * from a short page, taken from `knownTotal`, or counted once with a one-column unpaged listing.
   */
  private async page<T>(
    path: string,
    columns: string,
    filters: Record<string, QueryValue>,
    request: PageRequest,
    map: (row: Row) => T,
  ): Promise<Page<T>> {
    const { limit, offset } = checkPaging(request);
    const table = await this.table(path, { ...filters, columns, limit, offset }, request.signal);
    // A page longer than asked for means XNAT ignored limit/offset: page its full answer here.
    const unpaged = table.rows.length > limit;
    const items = (unpaged ? table.rows.slice(offset, offset + limit) : table.rows).map(map);
    let total: number;
    if (unpaged) total = table.rows.length;
    else if (items.length > 0 && items.length < limit) total = offset + items.length;
    else if (items.length === 0 && offset === 0) total = 0;
    else if (request.knownTotal !== undefined) total = request.knownTotal;
    else total = (await this.table(path, { ...filters, columns: 'ID' }, request.signal)).rows.length;
    const next = offset + items.length;
    return { items, total, offset, ...(items.length > 0 && next < total ? { nextOffset: next } : {}) };
  }

  private experimentListing(q: ExperimentQuery): { path: string; filters: Record<string, QueryValue> } {
    const from = checkDate(q.dateFrom, 'dateFrom');
    const to = checkDate(q.dateTo, 'dateTo');
    const filters: Record<string, QueryValue> = {
      ...rawFilters(q.filters),
      label: q.label,
      xsiType: q.xsiType,
      modality: q.modality,
      ...(from || to ? { date: `${from ?? EARLIEST_DATE}-${to ?? LATEST_DATE}` } : {}),
    };
    if (q.project && q.subject) {
      return { path: xnatPath('data', 'projects', q.project, 'subjects', q.subject, 'experiments'), filters };
    }
    if (q.project) return { path: xnatPath('data', 'projects', q.project, 'experiments'), filters };
    // Site-wide, a subject can only be named by its accession ID.
    return { path: xnatPath('data', 'experiments'), filters: { ...filters, subject_ID: q.subject } };
  }

  /** Path segments of an experiment: labels resolve only inside a project. */
  private experimentBase(experiment: string, project: string | undefined): string[] {
    return project
      ? ['data', 'projects', project, 'experiments', experiment]
      : ['data', 'experiments', experiment];
  }

  private rememberExperimentId(experiment: string, project: string | undefined, id: string): void {
    if (!project) return;
    if (this.experimentIds.size >= ID_CACHE_SIZE) {
      const oldest = this.experimentIds.keys().next().value;
      if (oldest !== undefined) this.experimentIds.delete(oldest);
    }
    this.experimentIds.set(`${project}\0${experiment}`, id);
  }

  /**
   * The accession ID of an experiment named by ID or by label in a project. XNAT serves scans,
   * resources, files and assessors only under `/data/experiments/{ID}` or a path that names the
   * subject, so a label costs one lookup (then cached).
   */
  private async experimentId(
    experiment: string,
    project: string | undefined,
    signal?: AbortSignal,
  ): Promise<string> {
    if (!project) return experiment;
    const cached = this.experimentIds.get(`${project}\0${experiment}`);
    if (cached) return cached;
    let item: ItemNode;
    try {
      item = await this.item(xnatPath(...this.experimentBase(experiment, project)), signal);
    } catch (err) {
      throw withHint(err, notFoundHint('Experiment', experiment, project));
    }
    const id = item.dataFields.ID ?? item.dataFields.id ?? experiment;
    this.rememberExperimentId(experiment, project, id);
    return id;
  }

  private async fileParent(
    target: FileTarget,
    signal?: AbortSignal,
  ): Promise<{ parent: string[]; all: boolean }> {
    if (target.scan !== undefined && target.assessor !== undefined) {
      throw new XnatBadRequestError('Give either a scan or an assessor, not both');
    }
    const id = await this.experimentId(target.experiment, target.project, signal);
    if (target.scan !== undefined)
      return { parent: ['data', 'experiments', id, 'scans', target.scan], all: false };
    if (target.assessor !== undefined) {
      return { parent: ['data', 'experiments', id, 'assessors', target.assessor], all: false };
    }
    return { parent: ['data', 'experiments', id], all: true };
  }

  /**
   * The listing row of one object, for the few columns item documents lack (insert date, labels).
   * These are conveniences: when XNAT will not list the row, the caller goes without.
   */
  private async optionalRow(
    path: string,
    query: Record<string, QueryValue> & { ID: string },
    signal: AbortSignal | undefined,
  ): Promise<Row | undefined> {
    try {
      const table = await this.table(path, query, signal);
      return table.rows.find((row) => row.ID === query.ID);
    } catch (err) {
      if (err instanceof XnatError && err.kind !== 'cancelled') return undefined;
      throw err;
    }
  }
}
