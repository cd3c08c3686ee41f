// `npm run bench` (after run.js): the query tools over the 50,000-experiment project, each beside
// the raw XNAT listing of that project fetched by curl in the same run (the baseline; these
// machines are noisy, so only ratios to it mean anything; target: within 2x):
//   curl listing     one GET of the project's experiment listing (as bench/run.js's baseline)
//   curl search CSV  one POST of the same search to XNAT's engine as CSV: what the tools build on
//   groupBy counts   searchArchive with groupBy PROJECT x DATE by year (one streamed pass)
//   CSV export       exportSearch of every session to a local CSV file (streamed)
// through an in-memory MCP client; and the peak resident memory of this process (the MCP server)
// and of the sandbox's.
// Usage: node bench/query.js [--experiments N] [--repeat R]
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { XnatClient } from '../dist/index.js';
import { buildSearchXml } from '../dist/client/search.js';
import { median, medianOf } from './timing.js';
import { createServer } from '../dist/server.js';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const EXPERIMENTS = arg('experiments', 50_000);
const REPEAT = arg('repeat', 3);
const USER = 'admin';
const PASSWORD = 'admin';
const PROJECT = 'BIG';
const TYPE = 'xnat:mrSessionData';
const TARGET = 2;

if (spawnSync('curl', ['--version']).status !== 0) {
  console.error('bench/query.js needs curl for its baseline');
  process.exit(1);
}

const run = promisify(execFile);

/** The sandbox in a process of its own, as XNAT is (bench/big-sandbox.js, shared with run.js). */
function startBigSandbox() {
  const child = spawn(
    process.execPath,
    [new URL('./big-sandbox.js', import.meta.url).pathname, String(EXPERIMENTS), PROJECT],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sandbox exited with code ${code}`)));
    createInterface({ input: child.stdout }).once('line', (url) => resolve({ url: url.trim(), child }));
  });
}

/** Peak resident memory (VmHWM) of a process, MiB (Linux). */
function peakMiB(pid = process.pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? NaN) / 1024;
}

/** curl times itself (its process start is not the transfer). */
async function curl(args) {
  const r = await run('curl', ['-sS', '-f', '-w', '\n%{time_total}', '-u', `${USER}:${PASSWORD}`, ...args], {
    maxBuffer: 1 << 30,
    encoding: 'latin1',
  });
  const nl = r.stdout.lastIndexOf('\n');
  return { body: r.stdout.slice(0, nl), ms: Number(r.stdout.slice(nl + 1)) * 1000 };
}

async function curlListing(sandbox) {
  const { body, ms } = await curl([
    `${sandbox.url}/data/projects/${PROJECT}/experiments?format=json&columns=ID,label,date,xsiType,subject_label`,
  ]);
  return { rows: body.split('"ID":').length - 1, ms };
}

const SEARCH = {
  rootElement: TYPE,
  fields: ['SESSION_ID', 'LABEL', 'DATE', 'PROJECT', 'SUBJECT_LABEL'].map((fieldId) => ({
    element: TYPE,
    fieldId,
    header: '',
  })),
  where: { method: 'AND', criteria: [{ field: `${TYPE}.PROJECT`, op: '=', value: PROJECT }] },
};

async function curlSearchCsv(sandbox) {
  const { body, ms } = await curl([
    '-X',
    'POST',
    '-H',
    'content-type: text/xml',
    '--data-binary',
    buildSearchXml(SEARCH),
    `${sandbox.url}/data/search?format=csv`,
  ]);
  return { rows: body.trimEnd().split('\n').length - 1, ms };
}

async function timed(fn) {
  const { ms, result } = await medianOf(REPEAT, fn);
  return { ...result, ms };
}

async function selfTimed(fn) {
  const runs = [];
  for (let i = 0; i < REPEAT; i++) runs.push(await fn());
  return { rows: runs[0].rows, ms: median(runs.map((r) => r.ms)) };
}

const t0 = Date.now();
const sandbox = await startBigSandbox();
console.log(
  `\nquery tools: sandbox with ${EXPERIMENTS} experiments in project ${PROJECT} ready in ${Date.now() - t0} ms; medians of ${REPEAT} runs`,
);
const dir = mkdtempSync(join(tmpdir(), 'xnat-mcp-bench-query-'));
const client = new XnatClient({ url: sandbox.url, user: USER, password: PASSWORD });
const server = await createServer({ client }, { toolsets: ['query'], roots: [dir] });
const mcp = new Client({ name: 'bench', version: '0' });
const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
await Promise.all([server.connect(serverSide), mcp.connect(clientSide)]);

async function tool(name, args) {
  const result = await mcp.callTool({ name, arguments: args });
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
  return result.structuredContent;
}

const where = [`PROJECT = ${PROJECT}`];
// Logged in and warmed up once, as a running server is.
await tool('searchArchive', { xsiType: TYPE, where, limit: 1 });
const peakBefore = peakMiB();

const results = [];
results.push({ label: 'curl GET listing (baseline)', ...(await selfTimed(() => curlListing(sandbox))) });
results.push({ label: 'curl POST search CSV', ...(await selfTimed(() => curlSearchCsv(sandbox))) });
results.push({
  label: 'searchArchive groupBy PROJECT x year',
  ...(await timed(async () => {
    const out = await tool('searchArchive', {
      xsiType: TYPE,
      where,
      groupBy: [{ field: 'PROJECT' }, { field: 'DATE', by: 'year' }],
    });
    return { rows: out.total, detail: `${out.groups.length} groups` };
  })),
});
const peakAfterCounts = peakMiB();
const file = join(dir, 'sessions.csv');
results.push({
  label: 'exportSearch CSV',
  ...(await timed(async () => {
    const out = await tool('exportSearch', {
      xsiType: TYPE,
      where,
      columns: ['SESSION_ID', 'LABEL', 'DATE', 'PROJECT', 'SUBJECT_LABEL'],
      path: file,
      overwrite: true,
    });
    return { rows: out.rows, detail: `${(out.bytes / 2 ** 20).toFixed(1)} MiB file` };
  })),
});
const peakAfterExport = peakMiB();
const fileBytes = statSync(file).size;

const pad = (s, n) => String(s).padEnd(n);
const base = results[0].ms;
console.log(
  `${pad('whole 50k project', 38)}${pad('rows', 9)}${pad('wall ms', 10)}${pad('× curl', 8)}verdict`,
);
for (const r of results) {
  const ratio = r.ms / base;
  const judged = r.label.startsWith('searchArchive') || r.label.startsWith('exportSearch');
  const verdict = judged
    ? ratio <= TARGET
      ? `PASS (target ≤ ${TARGET}x)`
      : `MISS (target ≤ ${TARGET}x)`
    : '';
  console.log(
    `${pad(r.label, 38)}${pad(r.rows, 9)}${pad(r.ms.toFixed(0), 10)}${pad(ratio.toFixed(2), 8)}${verdict}${r.detail ? `  ${r.detail}` : ''}`,
  );
  if (r.rows !== EXPERIMENTS) {
    console.error(`${r.label} saw ${r.rows} rows, expected ${EXPERIMENTS}`);
    process.exitCode = 1;
  }
}
console.log(
  `peak RSS (MiB): this process (MCP server + client) ${peakBefore.toFixed(0)} warmed up, ` +
    `${peakAfterCounts.toFixed(0)} after counts, ${peakAfterExport.toFixed(0)} after exporting ${(fileBytes / 2 ** 20).toFixed(1)} MiB; ` +
    `sandbox process ${peakMiB(sandbox.child.pid).toFixed(0)}`,
);

await mcp.close();
await server.close();
await client.close();
rmSync(dir, { recursive: true, force: true });
sandbox.child.kill('SIGTERM');
