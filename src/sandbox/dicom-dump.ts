/**
 * XNAT's DICOM header dump (§7.9), `GET /data/services/dicomdump?src=...[&field=...]` (the DicomDump
 * restlet and DicomHeaderDump of xnat-web): `src` names a session, a scan or one file of a scan's
 * DICOM resource in the archive or the prearchive; the first matching file (catalog order, resources
 * labelled DICOM or secondary) is read up to the pixel data, or up to the highest `field` asked for,
 * and answered as a table `tag1, tag2, vr, value, desc`. A sequence gives, per item, a row for the
 * sequence (`tag1` = `tag2` = its tag) and one row per element of the item (`tag1` = the sequence).
 */
import { canReadItem } from './access.js';
import { tagForKeyword, tagName } from './dicom-dictionary.js';
import { readDicom, textOf, type DicomElement } from './dicom-read.js';
import { SandboxHttpError } from './errors.js';
import { findExperimentIn, findProject } from './lookup.js';
import type { StoredExperiment, StoredFile } from './model.js';
import { findEntry } from './prearchive.js';
import type { AuthedContext, Reply } from './reply.js';
import { openFile } from './storage.js';
import { tableReply } from './table.js';

const COLUMNS = ['tag1', 'tag2', 'vr', 'value', 'desc'];
/** dumpImageTypes' default: the resource labels whose files are dumped. */
const IMAGE_TYPES = new Set(['DICOM', 'secondary']);
/** DicomObjectToStringParam's valueLength as DicomHeaderDump sets it. */
const VALUE_LENGTH = 255;
const PIXEL_DATA = 0x7fe00010;
/** Headers end well before this in anything the sandbox holds; a longer one is read as far as this. */
const HEAD_BYTES = 1024 * 1024;

const SEGMENT = '([^/]+)';
/** DicomDump.HeaderType's templates (Template.MODE_STARTS_WITH), FILE before SCAN before SESSION. */
const TEMPLATES: ReadonlyArray<{ pattern: RegExp; archive: boolean; scan: boolean; file: boolean }> = [
  [`/prearchive/projects/P/T/E/scans/S/resources/DICOM/files/F`, false, true, true],
  [`/archive/projects/P/subjects/J/experiments/E/scans/S/resources/DICOM/files/F`, true, true, true],
  [`/archive/projects/P/subjects/J/experiments/E/scans/S`, true, true, false],
  [`/archive/projects/P/experiments/E/scans/S`, true, true, false],
  [`/prearchive/projects/P/T/E/scans/S`, false, true, false],
  [`/archive/projects/P/subjects/J/experiments/E`, true, false, false],
  [`/archive/projects/P/experiments/E`, true, false, false],
  [`/prearchive/projects/P/T/E`, false, false, false],
].map(([template, archive, scan, file]) => ({
  pattern: new RegExp(`^${String(template).replace(/\/[PTJESF](?=\/|$)/g, `/${SEGMENT}`)}`),
  archive: archive as boolean,
  scan: scan as boolean,
  file: file as boolean,
}));

interface Source {
  archive: boolean;
  project: string;
  timestamp?: string;
  experiment: string;
  scan?: string;
  file?: string;
}

function parseSrc(src: string): Source | undefined {
  for (const t of TEMPLATES) {
    const match = t.pattern.exec(src);
    if (!match) continue;
    const parts = match.slice(1).map((p) => decodeURIComponent(p ?? ''));
    // Archive templates with `subjects/` carry the subject label, which XNAT does not look at.
    const named = t.archive && t.pattern.source.includes('subjects') ? [parts[0], ...parts.slice(2)] : parts;
    const [project = '', second = '', third, fourth] = named;
    if (t.archive) return { archive: true, project, experiment: second, scan: third, file: fourth };
    return {
      archive: false,
      project,
      timestamp: second,
      experiment: third ?? '',
      scan: fourth,
      file: named[4],
    };
  }
  return undefined;
}

/** `field` values: keywords (dcm4che's tagForName) or hexadecimal tags; anything else is a 400. */
function parseFields(values: string[]): Set<number> {
  const tags = new Set<number>();
  for (const field of values) {
    const name = field.split(':')[0] ?? '';
    const tag = tagForKeyword(name) ?? (/^[0-9a-fA-F]{1,8}$/.test(name) ? parseInt(name, 16) : undefined);
    if (tag === undefined) throw new SandboxHttpError(400, `not a valid DICOM attribute tag: ${name}`);
    tags.add(tag);
  }
  return tags;
}

/** The session the source names, as ArchiveType.retrieve finds it (400 when it cannot). */
function sessionOf(ctx: AuthedContext, source: Source): StoredExperiment {
  if (!source.archive) {
    return findEntry(ctx, source.project, source.timestamp ?? '', source.experiment).session;
  }
  const { archive } = ctx.state;
  const project = findProject(archive, source.project);
  const experiment = project ? findExperimentIn(archive, project.id, source.experiment) : undefined;
  if (!experiment || !canReadItem(archive, experiment, ctx.user)) {
    throw new SandboxHttpError(400, 'Experiment or project not found');
  }
  return experiment;
}

function firstFile(session: StoredExperiment, source: Source): StoredFile | undefined {
  for (const scan of session.scans) {
    if (source.scan !== undefined && scan.id !== source.scan) continue;
    for (const resource of scan.resources) {
      if (!IMAGE_TYPES.has(resource.label)) continue;
      const file = resource.files.find(
        (f) => source.file === undefined || f.path.split('/').pop() === source.file,
      );
      if (file) return file;
    }
  }
  return undefined;
}

async function head(file: StoredFile): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of openFile(file)) {
    const bytes = chunk as Buffer;
    chunks.push(bytes.subarray(0, HEAD_BYTES - kept));
    kept += bytes.length;
    if (kept >= HEAD_BYTES) break;
  }
  return Buffer.concat(chunks);
}

/** TagUtils.toString: `(gggg,eeee)` in upper-case hex. */
function tagString(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

function numbers(value: Buffer, size: number, read: (at: number) => number): number[] {
  const out: number[] = [];
  for (let at = 0; at + size <= value.length; at += size) out.push(read(at));
  return out;
}

/** Java's Float/Double.toString for the common cases: integers keep a `.0`. */
const javaFloat = (n: number): string => (Number.isInteger(n) ? `${n}.0` : String(n));

/** dcm4che2's getValueAsString(null, 255): text without padding, binary values joined by `\`. */
function valueOf(element: DicomElement): string {
  const v = element.value;
  const hex = (n: number, digits: number): string => n.toString(16).toUpperCase().padStart(digits, '0');
  let text: string;
  switch (element.vr) {
    case 'US':
      text = numbers(v, 2, (at) => v.readUInt16LE(at)).join('\\');
      break;
    case 'SS':
      text = numbers(v, 2, (at) => v.readInt16LE(at)).join('\\');
      break;
    case 'UL':
      text = numbers(v, 4, (at) => v.readUInt32LE(at)).join('\\');
      break;
    case 'SL':
      text = numbers(v, 4, (at) => v.readInt32LE(at)).join('\\');
      break;
    case 'FL':
      text = numbers(v, 4, (at) => v.readFloatLE(at))
        .map(javaFloat)
        .join('\\');
      break;
    case 'FD':
      text = numbers(v, 8, (at) => v.readDoubleLE(at))
        .map(javaFloat)
        .join('\\');
      break;
    case 'OW':
      text = numbers(v.subarray(0, VALUE_LENGTH * 2), 2, (at) => v.readUInt16LE(at))
        .map((n) => hex(n, 4))
        .join('\\');
      break;
    case 'OB':
    case 'UN':
      text = [...v.subarray(0, VALUE_LENGTH)].map((n) => hex(n, 2)).join('\\');
      break;
    default:
      text = textOf(v);
  }
  return escapeHtml4(text.slice(0, VALUE_LENGTH));
}

/** StringEscapeUtils.escapeHtml4 for the characters DICOM text carries. */
function escapeHtml4(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

function row(element: DicomElement, parent?: number): Record<string, string> {
  const tag = tagString(element.tag);
  return {
    tag1: parent === undefined ? tag : tagString(parent),
    tag2: parent === undefined ? '' : tag,
    vr: element.vr,
    value: element.items ? '' : valueOf(element),
    desc: escapeHtml4(tagName(element.tag)),
  };
}

function rowsOf(elements: DicomElement[], fields: Set<number>): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = [];
  for (const element of elements) {
    if (fields.size > 0 && !fields.has(element.tag)) continue;
    if (!element.items) {
      rows.push(row(element));
      continue;
    }
    for (const item of element.items) {
      rows.push(row(element, element.tag));
      for (const inner of item) rows.push(row(inner, element.tag));
    }
  }
  return rows;
}

/** `GET /data/services/dicomdump` (JSON by default; `format=xml|csv|html` as any table). */
export async function dicomDump(ctx: AuthedContext): Promise<Reply> {
  const src = ctx.query.get('src');
  if (src === null) throw new SandboxHttpError(400, 'Please set the src parameter');
  const fields = parseFields(ctx.query.getAll('field'));
  const source = parseSrc(src);
  // An unknown src, a scan without DICOM or a file not in the catalog: an empty table, as XNAT answers.
  const file = source ? firstFile(sessionOf(ctx, source), source) : undefined;
  const stop = fields.size === 0 ? PIXEL_DATA : Math.max(...fields) + 1;
  const read = file ? readDicom(await head(file), stop) : undefined;
  return tableReply(ctx, { columns: COLUMNS, rows: read ? rowsOf(read.elements, fields) : [] });
}
