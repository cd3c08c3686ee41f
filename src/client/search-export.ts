/**
 * A search answer written to a local file (CSV, TSV or JSON lines) as it streams in: no row limit,
 * constant memory, a temporary file renamed into place only when complete, never a partial file.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { XnatError, XnatLocalFileError } from './errors.js';
import type { RequestContext } from './http.js';
import { streamSearch, type SearchOrder, type SearchSpec } from './search-runs.js';

export type ExportFormat = 'csv' | 'tsv' | 'jsonl';

export interface ExportRequest extends SearchOrder {
  /** Absolute path of the file to write (checked by the caller). */
  path: string;
  format: ExportFormat;
  /** Replace an existing file; otherwise an existing file is an error. */
  overwrite: boolean;
  signal?: AbortSignal | undefined;
  /** Called every so many rows with the count so far. */
  onRows?: ((rows: number) => void) | undefined;
}

export interface ExportResult {
  path: string;
  format: ExportFormat;
  rows: number;
  columns: string[];
  bytes: number;
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function line(format: ExportFormat, columns: readonly string[], row: Record<string, string>): string {
  switch (format) {
    case 'jsonl':
      return `${JSON.stringify(Object.fromEntries(columns.map((c) => [c, row[c] ?? ''])))}\n`;
    case 'tsv':
      return `${columns.map((c) => (row[c] ?? '').replace(/[\t\r\n]+/g, ' ')).join('\t')}\n`;
    case 'csv':
      return `${columns.map((c) => csvCell(row[c] ?? '')).join(',')}\r\n`;
  }
}

function headerLine(format: ExportFormat, columns: readonly string[]): string {
  if (format === 'jsonl') return '';
  return line(format, columns, Object.fromEntries(columns.map((c) => [c, c])));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

const PROGRESS_EVERY = 5000;

function localError(what: string, cause: unknown): XnatLocalFileError {
  const reason = cause instanceof Error && 'code' in cause ? ` (${String(cause.code)})` : '';
  return new XnatLocalFileError(`${what}${reason}`, { cause });
}

export async function exportSearch(
  ctx: RequestContext,
  spec: SearchSpec,
  req: ExportRequest,
): Promise<ExportResult> {
  if (!req.overwrite && (await exists(req.path))) {
    throw new XnatLocalFileError(`${req.path} already exists; pass overwrite to replace it`);
  }
  const { columns, rows } = await streamSearch(ctx, spec, req);
  await mkdir(dirname(req.path), { recursive: true }).catch((err: unknown) => {
    throw localError(`Cannot create the folder of ${req.path}`, err);
  });
  const temp = join(dirname(req.path), `.${basename(req.path)}.${randomBytes(4).toString('hex')}.part`);
  const out = createWriteStream(temp, { flags: 'wx' });
  let count = 0;
  let bytes = 0;
  const write = async (text: string) => {
    if (text === '') return;
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  try {
    await write(headerLine(req.format, columns));
    for await (const row of rows) {
      await write(line(req.format, columns, row));
      count += 1;
      if (count % PROGRESS_EVERY === 0) req.onRows?.(count);
    }
    out.end();
    await once(out, 'finish');
    await rename(temp, req.path);
  } catch (err) {
    out.destroy();
    await rows.return(undefined);
    await unlink(temp).catch(() => undefined);
    throw err instanceof XnatError ? err : localError(`Cannot write ${req.path}`, err);
  }
  return { path: req.path, format: req.format, rows: count, columns, bytes };
}
