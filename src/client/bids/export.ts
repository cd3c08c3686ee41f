/**
 * BIDS export of a project, or some of its subjects or sessions: what XNAT holds is read (sessions
 * with their scans, each session's file listing in one request, subjects' demographics, the
 * bidsmap in XNAT's configuration service), planned (plan.ts), then written into a local folder:
 * NIfTI (and bval/bvec) downloaded verified and named by the plan, a sidecar per image from its
 * DICOM header, and the dataset's own files. Every write lands whole or not at all; running the same
 * export again skips what is already there and identical, so an interrupted export resumes.
 */
import type { z } from 'zod';
import { XnatBadRequestError, XnatNotFoundError } from '../errors.js';
import { xnatPath, type RequestContext } from '../http.js';
import type { ExperimentQuery } from '../listings.js';
import type {
  DicomHeader,
  Experiment,
  ExperimentDetail,
  ProjectDetail,
  SubjectDetail,
  XnatFile,
} from '../models.js';
import type { ObjectOptions } from '../reads.js';
import { getBody } from '../reads.js';
import { runPool, type TransferProgress } from '../transfers/common.js';
import type { DownloadRequest, DownloadResult } from '../transfers/download.js';
import { writeLocalFile } from '../transfers/download.js';
import { SERVER_NAME, VERSION } from '../version.js';
import {
  compileMapping,
  BidsmapEntrySchema,
  Dcm2bidsConfigSchema,
  ExplicitRuleSchema,
  type BidsMapping,
  type BidsmapEntry,
  type Dcm2bidsConfig,
  type ExplicitRule,
} from './mapping.js';
import { planBids, type BidsPlan, type BidsPlannedScan, type BidsSessionInput } from './plan.js';
import { bidsSidecar, dicomSidecar, SIDECAR_TAGS } from './sidecar.js';
import { datasetFiles } from './tables.js';

/** What the export needs of the client: reads, DICOM headers and the verified download. */
export interface BidsContext extends RequestContext {
  siteUrl: string;
  getProject(project: string, opts: { signal?: AbortSignal }): Promise<ProjectDetail>;
  getSubject(subject: string, opts: ObjectOptions): Promise<SubjectDetail>;
  iterateExperiments(q: ExperimentQuery & { signal?: AbortSignal }): AsyncIterable<Experiment>;
  getExperiment(experiment: string, opts: ObjectOptions): Promise<ExperimentDetail>;
  listFiles(
    target: { experiment: string; scan: string; resource: string },
    signal?: AbortSignal,
  ): Promise<XnatFile[]>;
  dicomHeader(q: {
    experiment: string;
    project?: string;
    scan: string;
    fields?: readonly string[];
    signal?: AbortSignal;
  }): Promise<DicomHeader>;
  download(q: DownloadRequest): Promise<DownloadResult>;
}

/** Which map places the scans: `auto` (XNAT's bidsmap when the project or site has one, else the default). */
export type BidsMappingChoice =
  | 'auto'
  | 'xnat'
  | 'default'
  | { bidsmap: BidsmapEntry[] }
  | { dcm2bids: Dcm2bidsConfig }
  | { rules: ExplicitRule[] };

export interface BidsPlanRequest {
  project: string;
  /** Subject labels or IDs in the project (all when absent). */
  subjects?: readonly string[];
  /** Session labels or IDs in the project (all when absent). */
  experiments?: readonly string[];
  mapping?: BidsMappingChoice;
  sessionLabels?: 'strip-subject' | 'label';
  includeUnusable?: boolean;
  signal?: AbortSignal;
}

export interface BidsExportRequest extends BidsPlanRequest {
  /** Absolute local folder: the dataset root. */
  destDir: string;
  /** Dataset name (default: the project's name). */
  name?: string;
  overwrite?: boolean;
  concurrency?: number;
  onProgress?: (p: TransferProgress) => void;
}

/** The plan and what it was made from. */
export interface BidsPlanned {
  plan: BidsPlan;
  project: ProjectDetail;
  subjects: Map<string, SubjectDetail>;
  sessions: Map<string, ExperimentDetail>;
  /** Where the map came from, e.g. `XNAT bidsmap of project BRAIN_MR`. */
  mappingOrigin: string;
}

export interface BidsExportResult {
  /** Files written (relative to the dataset root). */
  written: string[];
  /** Files left as they were: identical already, or different without overwrite. */
  kept: Array<{ path: string; reason: string }>;
  /** Planned scans XNAT has no NIfTI for: not exported (convert them to NIfTI in XNAT first). */
  withoutNifti: BidsPlannedScan[];
}

const PARALLEL_READS = 4;

/** XNAT's bidsmap: the site's entries, then the project's (which win for the same series description). */
export async function readBidsmap(
  ctx: RequestContext,
  project: string,
  signal?: AbortSignal,
): Promise<{ entries: BidsmapEntry[]; origin: string } | undefined> {
  const read = async (path: string): Promise<BidsmapEntry[] | undefined> => {
    let body: string;
    try {
      body = await getBody(ctx, { path, query: { contents: 'true' }, signal });
    } catch (err) {
      if (err instanceof XnatNotFoundError) return undefined;
      throw err;
    }
    if (body.trim() === '') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new XnatBadRequestError(
        `XNAT's bidsmap at ${path} is not JSON; fix it in XNAT or pass a mapping`,
      );
    }
    // Entries without both keys are skipped, as XNAT's dcm2bids-session does.
    return Array.isArray(parsed)
      ? parsed.flatMap((e) => {
          const entry = BidsmapEntrySchema.safeParse(e);
          return entry.success ? [entry.data] : [];
        })
      : undefined;
  };
  const [site, own] = await Promise.all([
    read(xnatPath('data', 'config', 'bids', 'bidsmap')),
    read(xnatPath('data', 'projects', project, 'config', 'bids', 'bidsmap')),
  ]);
  if (site === undefined && own === undefined) return undefined;
  const origin = [own && `project ${project}`, site && 'the site'].filter(Boolean).join(' and ');
  return { entries: [...(site ?? []), ...(own ?? [])], origin: `XNAT bidsmap of ${origin}` };
}

/** A map given by the caller, checked: a clear error naming the first problem. */
function checked<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  throw new XnatBadRequestError(`The ${what} is not valid${where}: ${issue?.message ?? 'unexpected shape'}`);
}

async function resolveMapping(
  ctx: BidsContext,
  q: BidsPlanRequest,
): Promise<{ mapping: BidsMapping; origin: string }> {
  const choice = q.mapping ?? 'auto';
  if (choice === 'default') return { mapping: { source: 'default' }, origin: 'the default map' };
  if (typeof choice === 'object') {
    if ('bidsmap' in choice) {
      const entries = checked(BidsmapEntrySchema.array().min(1), choice.bidsmap, 'bidsmap');
      return { mapping: { source: 'xnat-bidsmap', entries }, origin: 'the bidsmap given' };
    }
    if ('dcm2bids' in choice) {
      const config = checked(Dcm2bidsConfigSchema, choice.dcm2bids, 'dcm2bids configuration');
      return { mapping: { source: 'dcm2bids', config }, origin: 'the dcm2bids configuration given' };
    }
    const rules = checked(ExplicitRuleSchema.array().min(1), choice.rules, 'mapping rules');
    return { mapping: { source: 'explicit', rules }, origin: 'the rules given' };
  }
  const stored = await readBidsmap(ctx, q.project, q.signal);
  if (stored) return { mapping: { source: 'xnat-bidsmap', entries: stored.entries }, origin: stored.origin };
  if (choice === 'xnat') {
    throw new XnatNotFoundError(
      `Neither project ${q.project} nor the site has a bidsmap (config bids/bidsmap); pass a mapping or use the default`,
    );
  }
  return { mapping: { source: 'default' }, origin: 'the default map (no XNAT bidsmap found)' };
}

/** The sessions asked for; a name that matches nothing is an error, never silently dropped. */
async function chooseSessions(ctx: BidsContext, q: BidsPlanRequest): Promise<Experiment[]> {
  const all: Experiment[] = [];
  for await (const e of ctx.iterateExperiments({ project: q.project, signal: q.signal })) {
    if (/SessionData$/.test(e.xsiType)) all.push(e);
  }
  const pick = (names: readonly string[] | undefined, kind: string, keys: (e: Experiment) => string[]) => {
    if (names === undefined) return undefined;
    const missing = names.filter((n) => !all.some((e) => keys(e).includes(n)));
    if (missing.length > 0) {
      throw new XnatNotFoundError(
        `No imaging session in project ${q.project} belongs to ${kind} ${missing.join(', ')}`,
      );
    }
    return new Set(names);
  };
  const subjects = pick(q.subjects, 'subject', (e) => [e.subjectId, e.subjectLabel]);
  const sessions = pick(q.experiments, 'session', (e) => [e.id, e.label]);
  return all.filter(
    (e) =>
      (!subjects || subjects.has(e.subjectId) || subjects.has(e.subjectLabel)) &&
      (!sessions || sessions.has(e.id) || sessions.has(e.label)),
  );
}

/** Reads what the plan needs and makes it; nothing is written. */
export async function planBidsExport(ctx: BidsContext, request: BidsPlanRequest): Promise<BidsPlanned> {
  const { signal } = request;
  const q = request;
  const { mapping, origin } = await resolveMapping(ctx, q);
  // A map that cannot work fails before anything else is read.
  compileMapping(mapping);
  const [project, chosen] = await Promise.all([
    ctx.getProject(q.project, { signal }),
    chooseSessions(ctx, q),
  ]);
  const sessions = new Map<string, ExperimentDetail>();
  const niftiFiles = new Map<string, XnatFile[]>();
  await runPool(
    chosen,
    PARALLEL_READS,
    async (e) => {
      const detail = await ctx.getExperiment(e.id, { project: q.project, signal });
      sessions.set(e.id, detail);
      // Only the NIFTI resources' files: a whole session's listing would carry every DICOM file.
      const scans = detail.resources.filter((r) => r.category === 'scans' && r.label === 'NIFTI');
      const lists = await Promise.all(
        scans.map((r) => ctx.listFiles({ experiment: e.id, scan: r.categoryId, resource: 'NIFTI' }, signal)),
      );
      niftiFiles.set(
        e.id,
        lists.flatMap((files, i) => files.map((f) => ({ ...f, scan: f.scan ?? scans[i]?.categoryId }))),
      );
    },
    signal,
  );
  const subjects = new Map<string, SubjectDetail>();
  const subjectIds = [...new Set(chosen.map((e) => e.subjectId))];
  await runPool(
    subjectIds,
    PARALLEL_READS,
    async (id) => void subjects.set(id, await ctx.getSubject(id, { project: q.project, signal })),
    signal,
  );
  const inputs: BidsSessionInput[] = chosen.map((e) => {
    const detail = sessions.get(e.id);
    const files = niftiFiles.get(e.id) ?? [];
    return {
      experiment: e.id,
      label: e.label,
      date: e.date,
      subject: { id: e.subjectId, label: e.subjectLabel },
      scans: (detail?.scans ?? []).map((s) => ({
        id: s.id,
        type: s.type,
        seriesDescription: s.seriesDescription,
        modality: s.modality,
        xsiType: s.xsiType,
        quality: s.quality,
        nifti: files.filter((f) => f.scan === s.id),
      })),
    };
  });
  const plan = planBids(inputs, {
    mapping,
    ...(q.sessionLabels ? { sessionLabels: q.sessionLabels } : {}),
    ...(q.includeUnusable !== undefined ? { includeUnusable: q.includeUnusable } : {}),
  });
  return { plan, project, subjects, sessions, mappingOrigin: origin };
}

/** The NIfTI image's extension as XNAT holds it (`.nii.gz` or `.nii`). */
const imageExtension = (file: XnatFile): string => (/\.gz$/i.test(file.path) ? '.nii.gz' : '.nii');

/** Writes a planned export into `q.destDir`. */
export async function exportBids(
  ctx: BidsContext,
  planned: BidsPlanned,
  request: BidsExportRequest,
): Promise<BidsExportResult> {
  const q = request;
  const { plan } = planned;
  const result: BidsExportResult = {
    written: [],
    kept: [],
    withoutNifti: plan.scans.filter((s) => !s.source),
  };
  const exported = plan.scans.filter((s) => s.source);
  const targets = new Map<string, string>();
  const files: XnatFile[] = [];
  for (const scan of exported) {
    const source = scan.source!;
    targets.set(source.image.uri, `${scan.path}${imageExtension(source.image)}`);
    files.push(source.image);
    if (scan.datatype === 'dwi') {
      for (const [file, ext] of [
        [source.bval, '.bval'],
        [source.bvec, '.bvec'],
      ] as const) {
        if (!file) continue;
        targets.set(file.uri, `${scan.path}${ext}`);
        files.push(file);
      }
    }
  }
  const relative = (localPath: string) =>
    localPath
      .slice(q.destDir.length + 1)
      .split(/[\\/]/)
      .join('/');
  const downloaded = await ctx.download({
    files,
    destDir: q.destDir,
    layout: (file) => targets.get(file.uri) ?? file.path,
    overwrite: q.overwrite === true,
    zip: false,
    ...(q.concurrency !== undefined ? { concurrency: q.concurrency } : {}),
    ...(q.signal ? { signal: q.signal } : {}),
    ...(q.onProgress ? { onProgress: q.onProgress } : {}),
  });
  result.written.push(...downloaded.files.map((f) => relative(f.localPath)));
  result.kept.push(...downloaded.skipped.map((s) => ({ path: relative(s.localPath), reason: s.reason })));

  const write = async (path: string, bytes: Buffer) => {
    const got = await writeLocalFile(q.destDir, path, bytes, {
      overwrite: q.overwrite === true,
      signal: q.signal,
    });
    if (got.written) result.written.push(path);
    else result.kept.push({ path, reason: got.reason ?? 'kept' });
  };
  await runPool(
    exported,
    PARALLEL_READS,
    async (scan) => {
      const sidecar = await scanSidecar(ctx, scan, planned.project.id, q.signal);
      await write(`${scan.path}.json`, Buffer.from(`${JSON.stringify(sidecar, null, 2)}\n`, 'utf8'));
    },
    q.signal,
  );
  const dataset = datasetFiles({
    plan,
    project: planned.project,
    siteUrl: ctx.siteUrl,
    ...(q.name !== undefined ? { name: q.name } : {}),
    subjects: planned.subjects,
    sessions: planned.sessions,
    generatedBy: { name: SERVER_NAME, version: VERSION },
  });
  for (const file of dataset) await write(file.path, file.bytes);
  result.written.sort();
  return result;
}

/** A scan's sidecar: its first DICOM file's header, with dcm2niix's sidecar from XNAT where DICOM is silent. */
async function scanSidecar(
  ctx: BidsContext,
  scan: BidsPlannedScan,
  project: string,
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown>> {
  const header = await ctx.dicomHeader({
    experiment: scan.experiment,
    project,
    scan: scan.scan,
    fields: SIDECAR_TAGS,
    ...(signal ? { signal } : {}),
  });
  let dcm2niix: Record<string, unknown> | undefined;
  const uri = scan.source?.sidecar?.uri;
  if (uri !== undefined) {
    try {
      const parsed: unknown = JSON.parse(await getBody(ctx, { path: uri, signal }));
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        dcm2niix = parsed as Record<string, unknown>;
      }
    } catch (err) {
      // A sidecar XNAT holds that is not JSON adds nothing; the DICOM header still speaks.
      if (!(err instanceof SyntaxError)) throw err;
    }
  }
  return bidsSidecar(dicomSidecar(header.elements), dcm2niix, scan.entities);
}
