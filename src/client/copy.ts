/**
 * Copying subjects and experiments from one XNAT (or project) to another. Each experiment is planned
 * first (what the target lacks, holds already, or holds differently), then acted on: the subject and
 * the experiment with their fields, the scans with type, series description, quality and note, the
 * session and scan resources with their files, and (once per subject) the subject's own resources.
 * Files stream server to server (the source download is the upload's body; nothing is staged on
 * disk) and are verified on the target by size and MD5. Running a copy again copies only what is
 * missing or different, so an interrupted copy resumes.
 */
import { PassThrough, type Readable } from 'node:stream';
import { XnatBadRequestError, XnatError, XnatNotFoundError, XnatProtocolError } from './errors.js';
import { xnatPath, type StreamBody } from './http.js';
import type { ExperimentDetail, SubjectDetail, XnatFile } from './models.js';
import { readTable } from './reads.js';
import { toResource } from './rows.js';
import { createExperiment, createSubject, type Demographics } from './curation/create.js';
import { write, type CurationContext } from './curation/common.js';
import { Digesting, checkConcurrency, listAt, plural, runPool } from './transfers/common.js';

/** What an existing target experiment means: a conflict (default), fill in what it lacks, or leave it. */
export type OnExisting = 'conflict' | 'merge' | 'skip';

export interface CopyRequest {
  /** What `ids` name: experiments, or subjects (each with its experiments in `sourceProject`). */
  kind: 'experiment' | 'subject';
  /** Accession IDs, or labels in `sourceProject`. */
  ids: readonly string[];
  sourceProject?: string | undefined;
  targetProject: string;
  onExisting?: OnExisting | undefined;
  /** Files streamed at once (default 4). */
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((p: CopyProgress) => void) | undefined;
}

export interface CopyProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  current?: string;
}

/** One file of a resource, as the plan sees it. */
interface PlannedFile {
  path: string;
  size: number;
  /** The source's MD5 ('' when XNAT has none). */
  digest: string;
  /** `copy`: the target lacks it; `same`: it holds these bytes; `different`: it holds other bytes. */
  state: 'copy' | 'same' | 'different';
}

interface PlannedResource {
  /** `subject`: a resource of the subject itself; otherwise of the experiment, or of its scan `scan`. */
  level?: 'subject' | undefined;
  scan?: string | undefined;
  label: string;
  format: string;
  content: string;
  files: PlannedFile[];
}

/** What the target gets of one source experiment (or of a subject without experiments). */
export interface CopyItem {
  subject: { id: string; label: string; state: 'create' | 'exists' };
  experiment?: { id: string; label: string; xsiType: string; state: 'create' | 'exists' };
  /** What is done: create (nothing there yet), merge (fill in), skip, or conflict (nothing is done). */
  action: 'create' | 'merge' | 'skip' | 'conflict';
  reason?: string | undefined;
  scansToCreate: string[];
  /** The subject's own resources (labels), planned into the subject's first acting item only. */
  subjectResources: string[];
  files: { toCopy: number; bytes: number; same: number; different: number };
  /** What is not copied: assessors, and resources of reconstructions and assessors, named. */
  notCopied: string[];
}

export interface CopyPlan {
  sourceProject: string | undefined;
  targetProject: string;
  onExisting: OnExisting;
  items: CopyItem[];
}

/** The plan with what each item needs to act (opaque outside the client core). */
export interface ItemWork {
  item: CopyItem;
  source: { subject: SubjectDetail; experiment?: ExperimentDetail | undefined };
  resources: PlannedResource[];
}

export interface CopyOutcome {
  item: CopyItem;
  /** Set when the item was acted on. */
  target?: { subjectId: string; experimentId?: string | undefined };
  copied: { files: number; bytes: number; verified: number };
  error?: string | undefined;
}

export interface CopyResult {
  outcomes: CopyOutcome[];
}

/** Both sides: a curation context (reads, and writes that forget label mappings). */
export type CopyContext = CurationContext;

const SUPPORTED_CATEGORIES = new Set(['resources', 'scans']);

function isNotFound(err: unknown): boolean {
  return err instanceof XnatNotFoundError;
}

async function unlessNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The project a subject is read in: the request's, else its own. */
function sourceProjectOf(q: CopyRequest, subject: SubjectDetail): string {
  return q.sourceProject ?? subject.owningProject;
}

/** A subject's resource folder (or, without a label, its resources), by its ID or label in `project`. */
function subjectResourcePath(project: string, subject: string, label?: string): string[] {
  return [
    'data',
    'projects',
    project,
    'subjects',
    subject,
    'resources',
    ...(label === undefined ? [] : [label]),
  ];
}

function resourcePath(experimentId: string, r: { scan?: string | undefined; label: string }): string[] {
  return [
    'data',
    'experiments',
    experimentId,
    ...(r.scan !== undefined ? ['scans', r.scan] : []),
    'resources',
    r.label,
  ];
}

/** The source experiments the request names, with their subjects; subjects without experiments stand alone. */
async function sourceItems(
  source: CopyContext,
  q: CopyRequest,
): Promise<Array<{ subject: SubjectDetail; experiment?: ExperimentDetail }>> {
  const out: Array<{ subject: SubjectDetail; experiment?: ExperimentDetail }> = [];
  const opts = { project: q.sourceProject, signal: q.signal };
  for (const id of q.ids) {
    if (q.kind === 'experiment') {
      const experiment = await source.getExperiment(id, opts);
      const subject = await source.getSubject(experiment.subjectId, { signal: q.signal });
      out.push({ subject, experiment });
    } else {
      const subject = await source.getSubject(id, opts);
      const project = sourceProjectOf(q, subject);
      const experiments = subject.experiments.filter((e) => e.project === project);
      if (experiments.length === 0) out.push({ subject });
      for (const e of experiments) {
        out.push({ subject, experiment: await source.getExperiment(e.id, { signal: q.signal }) });
      }
    }
  }
  return out;
}

/** Plans one item: what the target holds of it, file by file. */
async function planItem(
  source: CopyContext,
  target: CopyContext,
  src: { subject: SubjectDetail; experiment?: ExperimentDetail | undefined },
  q: CopyRequest & { onExisting: OnExisting },
): Promise<ItemWork> {
  const { subject, experiment } = src;
  const signal = q.signal;
  const targetSubject = await unlessNotFound(
    target.getSubject(subject.label, { project: q.targetProject, signal }),
  );
  const targetExperiment =
    experiment === undefined
      ? undefined
      : await unlessNotFound(target.getExperiment(experiment.label, { project: q.targetProject, signal }));
  const item: CopyItem = {
    subject: { id: subject.id, label: subject.label, state: targetSubject ? 'exists' : 'create' },
    ...(experiment
      ? {
          experiment: {
            id: experiment.id,
            label: experiment.label,
            xsiType: experiment.xsiType,
            state: targetExperiment ? 'exists' : 'create',
          },
        }
      : {}),
    action: 'create',
    scansToCreate: [],
    subjectResources: [],
    files: { toCopy: 0, bytes: 0, same: 0, different: 0 },
    notCopied: [],
  };
  const exists = experiment === undefined ? targetSubject !== undefined : targetExperiment !== undefined;
  if (targetExperiment && targetExperiment.subjectLabel !== subject.label) {
    item.action = 'conflict';
    item.reason = `${experiment!.label} exists in ${q.targetProject} under another subject (${targetExperiment.subjectLabel})`;
    return { item, source: src, resources: [] };
  }
  if (targetExperiment && targetExperiment.xsiType !== experiment!.xsiType) {
    item.action = 'conflict';
    item.reason = `${experiment!.label} exists in ${q.targetProject} as ${targetExperiment.xsiType}`;
    return { item, source: src, resources: [] };
  }
  if (exists) {
    item.action = q.onExisting === 'merge' ? 'merge' : q.onExisting;
    if (q.onExisting === 'conflict') item.reason = 'exists on the target (choose onExisting merge or skip)';
    if (q.onExisting !== 'merge') return { item, source: src, resources: [] };
  }
  if (experiment === undefined) return { item, source: src, resources: [] };

  const targetScans = new Set((targetExperiment?.scans ?? []).map((s) => s.id));
  item.scansToCreate = experiment.scans.filter((s) => !targetScans.has(s.id)).map((s) => s.id);
  const resources: PlannedResource[] = [];
  // Assessors (QC, derived data) are experiments of their own: named, not copied.
  item.notCopied.push(...experiment.assessors.map((a) => `assessor ${a.label}`));
  for (const r of experiment.resources) {
    if (!SUPPORTED_CATEGORIES.has(r.category)) {
      item.notCopied.push(`${r.category}${r.categoryId ? ` ${r.categoryId}` : ''}/${r.label}`);
      continue;
    }
    const where = { scan: r.category === 'scans' ? r.categoryId : undefined, label: r.label };
    const files = await planFiles(
      source,
      target,
      resourcePath(experiment.id, where),
      targetExperiment && resourcePath(targetExperiment.id, where),
      signal,
    );
    countFiles(item, files);
    resources.push({ ...where, format: r.format, content: r.content, files });
  }
  return { item, source: src, resources };
}

/** Each source file of a resource against what the target's resource (if any) holds at its path. */
async function planFiles(
  source: CopyContext,
  target: CopyContext,
  from: string[],
  to: string[] | undefined,
  signal: AbortSignal | undefined,
): Promise<PlannedFile[]> {
  const files = (await listAt(source, from, signal)) ?? [];
  const held = new Map<string, XnatFile>(
    to === undefined ? [] : ((await listAt(target, to, signal)) ?? []).map((f) => [f.path, f]),
  );
  return files.map((f): PlannedFile => {
    const there = held.get(f.path);
    const same = there !== undefined && there.size === f.size && there.digest === f.digest && f.digest !== '';
    return {
      path: f.path,
      size: f.size,
      digest: f.digest,
      state: there === undefined ? 'copy' : same ? 'same' : 'different',
    };
  });
}

function countFiles(item: CopyItem, files: PlannedFile[]): void {
  for (const f of files) {
    if (f.state === 'same') item.files.same += 1;
    else {
      item.files.toCopy += 1;
      item.files.bytes += f.size;
      if (f.state === 'different') item.files.different += 1;
    }
  }
}

/**
 * The subject's own resources (consent forms, clinical documents), planned into the first item of
 * the subject that acts, so they are copied once however many of its experiments are copied.
 */
async function planSubjectResources(
  source: CopyContext,
  target: CopyContext,
  w: ItemWork,
  q: CopyRequest,
): Promise<void> {
  const { subject } = w.source;
  const sourceProject = sourceProjectOf(q, subject);
  const listing = xnatPath(...subjectResourcePath(sourceProject, subject.id));
  const table = await readTable(source, listing, {}, q.signal);
  const planned: PlannedResource[] = [];
  for (const r of table.rows.map(toResource)) {
    const files = await planFiles(
      source,
      target,
      subjectResourcePath(sourceProject, subject.id, r.label),
      w.item.subject.state === 'exists'
        ? subjectResourcePath(q.targetProject, subject.label, r.label)
        : undefined,
      q.signal,
    );
    countFiles(w.item, files);
    planned.push({ level: 'subject', label: r.label, format: r.format, content: r.content, files });
  }
  w.item.subjectResources = planned.map((r) => r.label);
  w.resources.unshift(...planned);
}

/** A plan, and what acting on it needs. */
export interface PlannedCopy {
  plan: CopyPlan;
  work: ItemWork[];
}

/** Plans a copy: reads both sides, changes nothing. */
export async function planCopy(
  source: CopyContext,
  target: CopyContext,
  q: CopyRequest,
): Promise<PlannedCopy> {
  if (q.ids.length === 0) throw new XnatBadRequestError('Name at least one subject or experiment to copy');
  const onExisting = q.onExisting ?? 'conflict';
  const found = await sourceItems(source, q);
  const work: ItemWork[] = [];
  const seen = new Set<string>();
  for (const src of found) {
    const key = src.experiment?.id ?? src.subject.id;
    if (seen.has(key)) continue;
    seen.add(key);
    work.push(await planItem(source, target, src, { ...q, onExisting }));
  }
  const subjectsPlanned = new Set<string>();
  for (const w of work) {
    const { item } = w;
    if (item.action !== 'create' && item.action !== 'merge') continue;
    if (!subjectsPlanned.has(item.subject.id)) {
      subjectsPlanned.add(item.subject.id);
      await planSubjectResources(source, target, w, q);
    }
    // Merging into a target that already holds everything changes nothing.
    if (item.action === 'merge' && item.scansToCreate.length === 0 && item.files.toCopy === 0) {
      item.reason = 'the target holds all of it';
    }
  }
  return {
    plan: {
      sourceProject: q.sourceProject,
      targetProject: q.targetProject,
      onExisting,
      items: work.map((w) => w.item),
    },
    work,
  };
}

function demographicsOf(subject: SubjectDetail): Demographics {
  const d = subject.demographics;
  const number = (v: string | undefined): number | undefined =>
    v === undefined || v === '' || Number.isNaN(Number(v)) ? undefined : Number(v);
  return {
    gender: d.gender || undefined,
    handedness: d.handedness || undefined,
    yob: number(d.yob),
    dob: d.dob || undefined,
    age: number(d.age),
  };
}

/** A file of the source as a request body: every attempt (retry, re-login) downloads it afresh. */
function streamedFrom(
  source: CopyContext,
  path: string,
  size: number,
  signal: AbortSignal | undefined,
  onChunk: (bytes: number) => void,
): StreamBody & { digesting(): Digesting | undefined } {
  let current: Digesting | undefined;
  return {
    length: size,
    digesting: () => current,
    open(): Readable {
      const digesting = new Digesting(onChunk);
      current = digesting;
      const out = new PassThrough();
      digesting.pipe(out);
      digesting.on('error', (err) => out.destroy(err));
      source.request({ method: 'GET', path, streamResponse: true, signal }).then(
        (res) => {
          const body = res.stream;
          if (body === undefined) {
            digesting.end(Buffer.from(res.body));
            return;
          }
          body.on('error', (err) => digesting.destroy(err));
          out.on('close', () => body.destroy());
          body.pipe(digesting);
        },
        (err: unknown) => digesting.destroy(err instanceof Error ? err : new Error(String(err))),
      );
      return out;
    },
  };
}

/** Creates what the target lacks of one item and streams its missing or different files. */
async function actOnItem(
  source: CopyContext,
  target: CopyContext,
  w: ItemWork,
  q: CopyRequest,
  progress: (bytes: number, fileDone: boolean, current: string) => void,
): Promise<CopyOutcome> {
  const { item } = w;
  const copied = { files: 0, bytes: 0, verified: 0 };
  if (item.action === 'skip' || item.action === 'conflict') return { item, copied };
  const signal = q.signal;
  const { subject: srcSubject, experiment: srcExperiment } = w.source;
  const { subject } = await createSubject(target, {
    project: q.targetProject,
    label: srcSubject.label,
    ...(srcSubject.group ? { group: srcSubject.group } : {}),
    demographics: demographicsOf(srcSubject),
    fields: srcSubject.fields,
    ifExists: 'return',
    signal,
  });
  const sourceProject = sourceProjectOf(q, srcSubject);
  await copyResources(
    source,
    target,
    w.resources.filter((r) => r.level === 'subject'),
    (r) => ({
      from: subjectResourcePath(sourceProject, srcSubject.id, r.label),
      to: subjectResourcePath(q.targetProject, subject.id, r.label),
      owner: srcSubject.label,
    }),
    q,
    progress,
    copied,
  );
  if (srcExperiment === undefined) return { item, target: { subjectId: subject.id }, copied };
  const { experiment } = await createExperiment(target, {
    project: q.targetProject,
    subject: subject.id,
    label: srcExperiment.label,
    xsiType: srcExperiment.xsiType,
    date: srcExperiment.date || undefined,
    time: srcExperiment.time || undefined,
    visitId: srcExperiment.visitId || undefined,
    note: srcExperiment.note || undefined,
    fields: srcExperiment.fields,
    ifExists: 'return',
    signal,
  });
  for (const scanId of item.scansToCreate) {
    const scan = srcExperiment.scans.find((s) => s.id === scanId)!;
    const xsiType = scan.xsiType || 'xnat:otherDicomScanData';
    const values: Record<string, string> = {};
    for (const [name, value] of [
      ['type', scan.type],
      ['series_description', scan.seriesDescription],
      ['quality', scan.quality],
      ['note', scan.note],
    ] as const) {
      if (value !== '') values[`${xsiType}/${name}`] = value;
    }
    await write(
      target,
      'PUT',
      xnatPath('data', 'experiments', experiment.id, 'scans', scanId),
      {
        xsiType,
        req_format: 'qs',
        ...values,
      },
      signal,
    );
  }
  await copyResources(
    source,
    target,
    w.resources.filter((r) => r.level !== 'subject'),
    (r) => ({
      from: resourcePath(srcExperiment.id, r),
      to: resourcePath(experiment.id, r),
      owner: srcExperiment.label,
    }),
    q,
    progress,
    copied,
  );
  return { item, target: { subjectId: subject.id, experimentId: experiment.id }, copied };
}

/** Where a planned resource is on each side, and whose it is (for messages). */
interface ResourcePlace {
  from: string[];
  to: string[];
  owner: string;
}

/**
 * Streams the missing or different files of each resource, `concurrency` at a time, into the
 * target's resource of that label (made first when it lacks it), then reads them back there.
 */
async function copyResources(
  source: CopyContext,
  target: CopyContext,
  resources: PlannedResource[],
  place: (r: PlannedResource) => ResourcePlace,
  q: CopyRequest,
  progress: (bytes: number, fileDone: boolean, current: string) => void,
  copied: CopyOutcome['copied'],
): Promise<void> {
  const signal = q.signal;
  const concurrency = checkConcurrency(q.concurrency);
  for (const r of resources) {
    const send = r.files.filter((f) => f.state !== 'same');
    if (send.length === 0) continue;
    const { from, to, owner } = place(r);
    try {
      await target.request({
        method: 'PUT',
        path: xnatPath(...to),
        query: { format: r.format || undefined, content: r.content || undefined },
        signal,
      });
    } catch (err) {
      // It exists already (an earlier, interrupted copy made it): just as good.
      if (!(err instanceof XnatError && err.kind === 'conflict')) throw err;
    }
    const digests = new Map<string, string>();
    await runPool(
      send,
      concurrency,
      async (f) => {
        const segments = f.path.split('/');
        const body = streamedFrom(source, xnatPath(...from, 'files', ...segments), f.size, signal, (n) =>
          progress(n, false, f.path),
        );
        await target.request({
          method: 'PUT',
          path: xnatPath(...to, 'files', ...segments),
          query: {
            inbody: true,
            overwrite: f.state === 'different' ? true : undefined,
            format: r.format || undefined,
            content: r.content || undefined,
          },
          headers: { 'content-type': 'application/octet-stream' },
          body,
          signal,
        });
        const d = body.digesting();
        if (d === undefined || d.bytes !== f.size) {
          throw new XnatProtocolError(
            `${f.path} of ${owner}: the source sent ${d?.bytes ?? 0} bytes, its listing says ${f.size}`,
          );
        }
        digests.set(f.path, d.digest());
        copied.files += 1;
        copied.bytes += f.size;
        progress(0, true, f.path);
      },
      signal,
    );
    copied.verified += await verifyResource(target, to, send, digests, signal);
  }
}

/** Reads the target's listing back: every file sent is there with the source's size and MD5. */
async function verifyResource(
  target: CopyContext,
  to: string[],
  sent: PlannedFile[],
  digests: Map<string, string>,
  signal: AbortSignal | undefined,
): Promise<number> {
  const held = new Map(((await listAt(target, to, signal)) ?? []).map((f) => [f.path, f]));
  for (const f of sent) {
    const there = held.get(f.path);
    const expected = f.digest || digests.get(f.path) || '';
    if (there === undefined) {
      throw new XnatProtocolError(`The target accepted ${f.path} but does not list it in ${to.join('/')}`);
    }
    if (there.size !== f.size || (expected !== '' && there.digest !== expected)) {
      throw new XnatProtocolError(
        `The target holds ${there.size} bytes (MD5 ${there.digest || 'none'}) for ${f.path}, the source ${f.size} bytes (MD5 ${expected}); copy again with onExisting merge`,
      );
    }
  }
  return sent.length;
}

/** Acts on a plan made by planCopy: items one after another, files `concurrency` at a time. */
export async function runCopy(
  source: CopyContext,
  target: CopyContext,
  work: ItemWork[],
  q: CopyRequest,
): Promise<CopyResult> {
  const acting = work.filter((w) => w.item.action === 'create' || w.item.action === 'merge');
  const p: CopyProgress = {
    filesDone: 0,
    filesTotal: acting.reduce((n, w) => n + w.item.files.toCopy, 0),
    bytesDone: 0,
    bytesTotal: acting.reduce((n, w) => n + w.item.files.bytes, 0),
  };
  const progress = (bytes: number, fileDone: boolean, current: string): void => {
    p.bytesDone += bytes;
    if (fileDone) p.filesDone += 1;
    q.onProgress?.({ ...p, current });
  };
  const outcomes: CopyOutcome[] = [];
  for (const w of work) {
    try {
      outcomes.push(await actOnItem(source, target, w, q, progress));
    } catch (err) {
      if (q.signal?.aborted) throw err;
      outcomes.push({
        item: w.item,
        copied: { files: 0, bytes: 0, verified: 0 },
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return { outcomes };
}

/** A one-line summary of a plan's counts. */
export function describePlan(plan: CopyPlan): string {
  const count = (action: CopyItem['action']): number => plan.items.filter((i) => i.action === action).length;
  const files = plan.items.reduce(
    (n, i) => n + (i.action === 'create' || i.action === 'merge' ? i.files.toCopy : 0),
    0,
  );
  return `${plural(count('create'), 'new item')}, ${count('merge')} to merge, ${count('skip')} skipped, ${plural(count('conflict'), 'conflict')}, ${plural(files, 'file')} to copy`;
}
