/**
 * The plumbing every read shares: a GET that asks the /data API for JSON, a listing table or an item
 * document parsed through rows.ts, an optional listing row, and "not found" errors that say what to do.
 */
import { csvBatches } from './csv.js';
import { XnatError, XnatNotFoundError } from './errors.js';
import type { HttpRequest, QueryValue, RequestContext } from './http.js';
import { checkCsvHeader, csvRows } from './rows-csv.js';
import { parseItem, parseTable, type ItemNode, type Row, type Table } from './rows.js';

/** Options of a read of one object: a subject or experiment label resolves only inside a project. */
export interface ObjectOptions {
  project?: string;
  signal?: AbortSignal;
}

/** The same not-found error, with a hint naming what was asked for and how to address it. */
export function withHint(err: unknown, hint: string): unknown {
  if (!(err instanceof XnatNotFoundError)) return err;
  return new XnatNotFoundError(`${hint} (${err.message})`, {
    method: err.method,
    path: err.path,
    status: err.status,
    xnatMessage: err.xnatMessage,
    cause: err,
  });
}

export function notFoundHint(
  kind: 'Experiment' | 'Subject',
  id: string,
  project: string | undefined,
): string {
  if (project) return `${kind} "${id}" was not found in project ${project}, or you cannot read it`;
  return `${kind} "${id}" was not found, or you cannot read it: without a project only accession IDs work; pass the project to address it by label`;
}

/** Path segments of an experiment: labels resolve only inside a project. */
export function experimentBase(experiment: string, project: string | undefined): string[] {
  return project
    ? ['data', 'projects', project, 'experiments', experiment]
    : ['data', 'experiments', experiment];
}

export async function getBody(ctx: RequestContext, req: Omit<HttpRequest, 'method'>): Promise<string> {
  // The /data API negotiates formats (item resources prefer HTML); XAPI always answers JSON.
  const query =
    req.expect === 'json' && req.path.startsWith('/data/') ? { ...req.query, format: 'json' } : req.query;
  const res = await ctx.request({ ...req, method: 'GET', ...(query ? { query } : {}) });
  return res.body;
}

/** A listing; `notFound` (a hint) rewords a 404. */
export async function readTable(
  ctx: RequestContext,
  path: string,
  query: Record<string, QueryValue>,
  signal: AbortSignal | undefined,
  notFound?: string,
): Promise<Table> {
  try {
    return parseTable(await getBody(ctx, { path, query, expect: 'json', signal }), { method: 'GET', path });
  } catch (err) {
    throw notFound !== undefined ? withHint(err, notFound) : err;
  }
}

/**
 * A large listing read as CSV: half the bytes of its JSON, parsed as it arrives (no whole-body
 * string) and handed on a batch of rows at a time (as tables), so rows live only until the caller
 * has mapped them. The header is checked once for the `required` columns. CSV carries no `totalRecords`.
 * A JSON answer is read as JSON; any other (XNAT's login page served with 200, a proxy's page) is
 * asked for again as JSON, whose path recognises the login page and renews an expired session.
 */
export async function* readCsvListing(
  ctx: RequestContext,
  path: string,
  query: Record<string, QueryValue>,
  signal: AbortSignal | undefined,
  required: Parameters<typeof checkCsvHeader>[1],
): AsyncGenerator<Table> {
  const edge = { method: 'GET', path };
  const res = await ctx.request({
    method: 'GET',
    path,
    query: { ...query, format: 'csv' },
    expect: 'text',
    streamResponse: true,
    signal,
  });
  const stream = res.stream;
  if (!/^text\/csv\b/i.test(res.contentType)) {
    // An XNAT (or proxy) that answers JSON whatever was asked: read that answer as it is.
    if (/\bjson\b/i.test(res.contentType)) {
      yield parseTable(stream ? await text(stream) : res.body, edge);
      return;
    }
    stream?.destroy();
    yield await readTable(ctx, path, query, signal);
    return;
  }
  let header: string[] | undefined;
  let count = 0;
  try {
    for await (const batch of csvBatches(stream ?? res.body)) {
      if (header === undefined) {
        header = batch.shift() ?? [];
        checkCsvHeader(header, required, edge);
      }
      const rows = csvRows(header, batch, count, edge);
      count += rows.length;
      yield { rows };
    }
  } finally {
    stream?.destroy();
  }
}

async function text(stream: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

export async function readItem(
  ctx: RequestContext,
  path: string,
  signal: AbortSignal | undefined,
): Promise<ItemNode> {
  return parseItem(await getBody(ctx, { path, expect: 'json', signal }), { method: 'GET', path });
}

/**
 * The listing row of one object, for the few columns item documents lack (insert date, labels).
 * These are conveniences: when XNAT will not list the row, the caller goes without.
 */
export async function optionalRow(
  ctx: RequestContext,
  path: string,
  query: Record<string, QueryValue> & { ID: string },
  signal: AbortSignal | undefined,
): Promise<Row | undefined> {
  try {
    const table = await readTable(ctx, path, query, signal);
    return table.rows.find((row) => row.ID === query.ID);
  } catch (err) {
    if (err instanceof XnatError && err.kind !== 'cancelled') return undefined;
    throw err;
  }
}
