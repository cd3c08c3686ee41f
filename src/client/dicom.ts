/**
 * DICOM headers of a scan through XNAT's dicomdump service (`/data/services/dicomdump`), which reads
 * one file per request: the file is named in `src` (XNAT's FILE template, under the owning project
 * and subject), so one instance, or a sample of a series compared element by element, is read
 * without downloading any file.
 */
import { XnatBadRequestError, XnatNotFoundError } from './errors.js';
import { xnatPath, type RequestContext } from './http.js';
import type { DicomElement, DicomHeader, DicomVariation, ExperimentDetail, XnatFile } from './models.js';
import { getBody, type ObjectOptions } from './reads.js';
import { parseTable, toDicomElement } from './rows.js';
import { runPool } from './transfers/common.js';
import { MAX_COMPARED_FILES } from './vocabulary.js';

export { MAX_COMPARED_FILES } from './vocabulary.js';

export interface DicomContext extends RequestContext {
  getExperiment(experiment: string, opts: ObjectOptions): Promise<ExperimentDetail>;
  listFiles(
    target: { experiment: string; scan: string; resource: string },
    signal?: AbortSignal,
  ): Promise<XnatFile[]>;
}

export interface DicomRequest {
  experiment: string;
  project?: string;
  scan: string;
  /** Tags (`(0018,0080)`, `0018,0080`, `00180080`) or keywords (`RepetitionTime`); top-level elements only. */
  fields?: readonly string[];
  signal?: AbortSignal;
}

const PARALLEL_DUMPS = 4;

/** A tag in any usual spelling → XNAT's `field` form (8 hex digits); a keyword passes as it is. */
export function dicomField(field: string): string {
  const text = field.trim();
  const tag = /^\(?\s*([0-9a-f]{4})\s*[,|]?\s*([0-9a-f]{4})\s*\)?$/i.exec(text);
  if (tag) return `${tag[1]}${tag[2]}`.toUpperCase();
  if (/^[A-Za-z][A-Za-z0-9]*$/.test(text)) return text;
  throw new XnatBadRequestError(
    `"${field}" is not a DICOM tag or keyword: use (0018,0080), 0018,0080, 00180080 or a keyword such as RepetitionTime`,
  );
}

interface ScanFiles {
  experiment: ExperimentDetail;
  files: XnatFile[];
}

async function scanFiles(ctx: DicomContext, q: DicomRequest): Promise<ScanFiles> {
  const experiment = await ctx.getExperiment(q.experiment, { project: q.project, signal: q.signal });
  if (!experiment.scans.some((s) => s.id === q.scan)) {
    throw new XnatNotFoundError(
      `Scan "${q.scan}" is not in experiment ${experiment.id}; its scans are ${experiment.scans.map((s) => s.id).join(', ') || 'none'}`,
    );
  }
  let files: XnatFile[] = [];
  try {
    files = await ctx.listFiles({ experiment: experiment.id, scan: q.scan, resource: 'DICOM' }, q.signal);
  } catch (err) {
    if (!(err instanceof XnatNotFoundError)) throw err;
  }
  if (files.length === 0) {
    throw new XnatNotFoundError(
      `Scan ${q.scan} of experiment ${experiment.id} has no files in a DICOM resource`,
    );
  }
  return { experiment, files };
}

/** One file's header, as XNAT dumps it. */
async function dumpFile(
  ctx: DicomContext,
  at: ScanFiles,
  scan: string,
  file: XnatFile,
  q: DicomRequest,
): Promise<DicomElement[]> {
  const { experiment } = at;
  const src = `/archive/projects/${experiment.owningProject}/subjects/${experiment.subjectId}/experiments/${experiment.id}/scans/${scan}/resources/DICOM/files/${file.name}`;
  const path = xnatPath('data', 'services', 'dicomdump');
  const fields = (q.fields ?? []).map(dicomField);
  const body = await getBody(ctx, { path, query: { src, field: fields }, expect: 'json', signal: q.signal });
  return parseTable(body, { method: 'GET', path }).rows.map(toDicomElement);
}

/** The header of one DICOM file of a scan: the first (as XNAT's own dump of a scan), or by position or name. */
export async function dicomHeader(
  ctx: DicomContext,
  q: DicomRequest & { instance?: number; file?: string },
): Promise<DicomHeader> {
  const at = await scanFiles(ctx, q);
  const { files, experiment } = at;
  let index = 0;
  if (q.file !== undefined) {
    index = files.findIndex((f) => f.name === q.file || f.path === q.file);
    if (index === -1) {
      throw new XnatNotFoundError(
        `No file "${q.file}" in the DICOM resource of scan ${q.scan}; use listFiles to see its files`,
      );
    }
  } else if (q.instance !== undefined) {
    if (q.instance < 1 || q.instance > files.length) {
      throw new XnatBadRequestError(
        `instance must be between 1 and ${files.length} (the scan's DICOM files)`,
      );
    }
    index = q.instance - 1;
  }
  const file = files[index]!;
  return {
    experiment: experiment.id,
    project: experiment.owningProject,
    scan: q.scan,
    file: file.name,
    instance: index + 1,
    instances: files.length,
    elements: await dumpFile(ctx, at, q.scan, file, q),
  };
}

/** Evenly spaced positions, first and last included. */
function sample(count: number, max: number): number[] {
  if (count <= max) return Array.from({ length: count }, (_, i) => i);
  return [...new Set(Array.from({ length: max }, (_, i) => Math.round((i * (count - 1)) / (max - 1))))];
}

/** Which header elements differ across a scan's DICOM files (up to MAX_COMPARED_FILES of them). */
export async function dicomVariation(ctx: DicomContext, q: DicomRequest): Promise<DicomVariation> {
  const at = await scanFiles(ctx, q);
  const picked = sample(at.files.length, MAX_COMPARED_FILES);
  const headers: DicomElement[][] = new Array<DicomElement[]>(picked.length);
  await runPool(
    picked.map((fileIndex, i) => ({ fileIndex, i })),
    PARALLEL_DUMPS,
    async ({ fileIndex, i }) => {
      headers[i] = await dumpFile(ctx, at, q.scan, at.files[fileIndex]!, q);
    },
    q.signal,
  );
  // One entry per element, in first-seen order; repeated rows (sequence items) join their values.
  const seen = new Map<string, { element: DicomElement; values: string[] }>();
  headers.forEach((elements, i) => {
    for (const element of elements) {
      const key = `${element.parent ?? ''}>${element.tag}`;
      let entry = seen.get(key);
      if (!entry) {
        entry = { element, values: new Array<string>(picked.length).fill('') };
        seen.set(key, entry);
      }
      const was = entry.values[i] ?? '';
      entry.values[i] = was === '' ? element.value : `${was} | ${element.value}`;
    }
  });
  const constant: DicomElement[] = [];
  const varying: DicomVariation['varying'] = [];
  for (const { element, values } of seen.values()) {
    const present = headers.every((elements) =>
      elements.some((e) => e.tag === element.tag && e.parent === element.parent),
    );
    if (present && values.every((v) => v === values[0]))
      constant.push({ ...element, value: values[0] ?? '' });
    else {
      const { value: _value, ...rest } = element;
      varying.push({ ...rest, values });
    }
  }
  return {
    experiment: at.experiment.id,
    project: at.experiment.owningProject,
    scan: q.scan,
    instances: at.files.length,
    files: picked.map((i) => ({ file: at.files[i]!.name, instance: i + 1 })),
    constant,
    varying,
  };
}
