// `npm run bench`: listing every experiment of a 50,000-experiment project against the sandbox over
// loopback HTTP, several ways in the same run (these machines are noisy, so only ratios to the
// baselines measured here mean anything). Every way asks for the same columns: those the client
// core's Experiment model needs (EXPERIMENT_COLUMNS), so each moves the same bytes.
//   curl    one GET of the project's experiment listing by curl, as CSV like the client core asks
//           (the baseline; a raw undici GET stands in when curl is missing)
//   raw     the JSON GET by hand in this process, parsed with JSON.parse (context)
//   pyxnat  pyxnat's own listing reader (`Interface._get_json`, what its collections use: CSV), timed
//           inside Python from connecting to the parsed rows (Debian's /usr/bin/python3)
//   client  XnatClient.iterateExperiments (the client core, one request per page)
//   tool    the searchExperiments MCP tool, paging with cursors through an in-memory MCP client
// Then the first page of a new query beside a later page, through the client core and the tool,
// with the sandbox process's peak memory around them (printed, no target: see bench/README.md).
// Usage: npm run bench [-- --experiments N] [-- --repeat R]; `node --expose-gc bench/run.js
// --experiments 200000 --first-pages-only` measures first pages alone (the listings take long there).
// The MCP later page is the 11th page of 100 (the tool's largest), the first page asks for 100 too:
// each sandbox request filters the whole archive, so the offset changes little but the walk's length.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { request } from 'undici';
import { XnatClient } from '../dist/index.js';
import { EXPERIMENT_COLUMNS } from '../dist/client/listings.js';
import { createServer } from '../dist/server.js';
import { target } from './targets.js';
import { median, medianOf } from './timing.js';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const EXPERIMENTS = arg('experiments', 50_000);
const REPEAT = arg('repeat', 3);
const FIRST_PAGES_ONLY = process.argv.includes('--first-pages-only');
const USER = 'admin';
const PASSWORD = 'admin';
const PROJECT = 'BIG';

/** `fn` returns the rows it saw and the requests it sent. */
async function measure(label, fn) {
  const { ms, result } = await medianOf(REPEAT, fn);
  return { label, ms, ...result };
}

/** The sandbox in a process of its own, as XNAT is: its work does not share this process's CPU. */
function startBigSandbox() {
  const child = spawn(
    process.execPath,
    [new URL('./big-sandbox.js', import.meta.url).pathname, String(EXPERIMENTS), PROJECT],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sandbox exited with code ${code}`)));
    createInterface({ input: child.stdout }).once('line', (url) => resolve({ url: url.trim(), child }));
  });
}

/** The sandbox process's resident memory now and at its peak, MiB (Linux). */
function sandboxMemory(sandbox) {
  const status = readFileSync(`/proc/${sandbox.child.pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

const COLUMNS = EXPERIMENT_COLUMNS;
const hasCurl = spawnSync('curl', ['--version']).status === 0;
const PYTHON = '/usr/bin/python3';
const hasPyxnat = spawnSync(PYTHON, ['-c', 'import pyxnat']).status === 0;

const run = promisify(execFile);

async function curlListing(sandbox) {
  const r = await run(
    'curl',
    [
      '-sS',
      '-f',
      '-w',
      '\n%{time_total}',
      '-u',
      `${USER}:${PASSWORD}`,
      `${sandbox.url}/data/projects/${PROJECT}/experiments?format=csv&columns=${COLUMNS}`,
    ],
    { maxBuffer: 1 << 30, encoding: 'latin1' },
  );
  // curl times itself (its process start is not the transfer); rows counted without parsing (one
  // line each after the header: the generated labels hold no line breaks).
  const nl = r.stdout.lastIndexOf('\n');
  return { rows: r.stdout.slice(0, nl).split('\n').length - 2, ms: Number(r.stdout.slice(nl + 1)) * 1000 };
}

const PYXNAT_LISTING = `
import sys, time, json, pyxnat
url, user, password, project, columns = sys.argv[1:6]
start = time.perf_counter()
xnat = pyxnat.Interface(server=url, user=user, password=password)
rows = xnat._get_json('/data/projects/%s/experiments?columns=%s' % (project, columns))
ms = (time.perf_counter() - start) * 1000
print(json.dumps({'rows': len(rows), 'ms': ms}))
`;

/** pyxnat times itself (the interpreter's start and imports are not pyxnat's listing). */
async function pyxnatListing(sandbox) {
  const r = await run(PYTHON, ['-c', PYXNAT_LISTING, sandbox.url, USER, PASSWORD, PROJECT, COLUMNS], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function rawListing(sandbox) {
  // The floor: log in once, then one GET of the whole listing with the columns a caller needs.
  const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const login = await request(`${sandbox.url}/data/JSESSION`, {
    method: 'POST',
    headers: { authorization: auth },
  });
  const jsession = (await login.body.text()).trim();
  const res = await request(
    `${sandbox.url}/data/projects/${PROJECT}/experiments?format=json&columns=${COLUMNS}`,
    { headers: { cookie: `JSESSIONID=${jsession}` } },
  );
  const body = await res.body.json();
  await request(`${sandbox.url}/data/JSESSION`, {
    method: 'DELETE',
    headers: { cookie: `JSESSIONID=${jsession}` },
  });
  return { rows: body.ResultSet.Result.length, requests: 3 };
}

async function clientListing(sandbox) {
  const client = new XnatClient({ url: sandbox.url, user: USER, password: PASSWORD });
  let rows = 0;
  for await (const _ of client.iterateExperiments({ project: PROJECT })) rows += 1;
  const { requests } = client.stats;
  await client.close();
  return { rows, requests: requests + 1 };
}

async function toolListing(sandbox) {
  const client = new XnatClient({ url: sandbox.url, user: USER, password: PASSWORD });
  const server = await createServer({ client }, {});
  const mcp = new Client({ name: 'bench', version: '0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), mcp.connect(clientSide)]);
  let rows = 0;
  let cursor;
  do {
    const result = await mcp.callTool({
      name: 'searchExperiments',
      arguments: { project: PROJECT, limit: 100, ...(cursor ? { cursor } : {}) },
    });
    if (result.isError) throw new Error(`searchExperiments failed: ${JSON.stringify(result.content)}`);
    rows += result.structuredContent.items.length;
    cursor = result.structuredContent.nextCursor;
  } while (cursor);
  const { requests } = client.stats;
  await mcp.close();
  await server.close();
  await client.close();
  return { rows, requests: requests + 1 };
}

const t0 = Date.now();
const sandbox = await startBigSandbox();
console.log(
  `sandbox with ${EXPERIMENTS} experiments in project ${PROJECT} ready in ${Date.now() - t0} ms (${sandbox.url})`,
);
console.log(
  `each figure is the median of ${REPEAT} runs; requests include logins and logouts; the sandbox runs in its own process\n`,
);

/** For another process that times itself: the median of its own figures. */
async function selfTimed(label, fn) {
  const runs = [];
  for (let i = 0; i < REPEAT; i++) runs.push(await fn());
  return { label, ms: median(runs.map((r) => r.ms)), requests: NaN, rows: runs[0].rows };
}

const pad = (s, n) => String(s).padEnd(n);
const results = [];
if (!FIRST_PAGES_ONLY) await listings();
await firstPages(sandbox);
sandbox.child.kill('SIGTERM');

async function listings() {
  if (hasCurl) results.push(await selfTimed('curl GET (self-timed, baseline)', () => curlListing(sandbox)));
  results.push(
    await measure(`raw HTTP GET + JSON.parse${hasCurl ? '' : ' (baseline)'}`, () => rawListing(sandbox)),
  );
  if (hasPyxnat) results.push(await selfTimed('pyxnat _get_json (self-timed)', () => pyxnatListing(sandbox)));
  results.push(await measure('client core iterateExperiments', () => clientListing(sandbox)));
  results.push(await measure('MCP searchExperiments (limit 100)', () => toolListing(sandbox)));

  const base = results[0];
  console.log(
    `${pad('listing every experiment', 36)}${pad('rows', 9)}${pad('requests', 10)}${pad('wall ms', 10)}× baseline`,
  );
  for (const r of results) {
    console.log(
      `${pad(r.label, 36)}${pad(r.rows, 9)}${pad(Number.isNaN(r.requests) ? '-' : r.requests, 10)}${pad(r.ms.toFixed(0), 10)}${(r.ms / base.ms).toFixed(2)}`,
    );
  }
  const client = results.find((r) => r.label.startsWith('client core'));
  target('client core listing', client.ms / base.ms, 2, base.label.split(' (')[0]);
  const pyxnat = results.find((r) => r.label.startsWith('pyxnat'));
  if (pyxnat) target('client core listing vs pyxnat (faster)', client.ms / pyxnat.ms, 1, 'pyxnat');
  for (const r of results) {
    if (r.rows !== EXPERIMENTS) {
      console.error(`\n${r.label} returned ${r.rows} rows, expected ${EXPERIMENTS}`);
      process.exitCode = 1;
    }
  }
}

/**
 * The first page of a new query beside a later page of it (the baseline), through the client core
 * and the MCP tool, each the median of at least 11 runs; and the sandbox process's peak memory
 * before and after first pages, uncounted and counted.
 */
async function firstPages(sandbox) {
  const client = new XnatClient({ url: sandbox.url, user: USER, password: PASSWORD });
  await client.currentUser();
  const server = await createServer({ client }, {});
  const mcp = new Client({ name: 'bench', version: '0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), mcp.connect(clientSide)]);
  const later = Math.floor(EXPERIMENTS / 2);
  const timed = async (fn) => {
    const times = [];
    // Single pages are quick: more runs steady the medians.
    for (let i = 0; i < Math.max(REPEAT, 11); i++) {
      const start = process.hrtime.bigint();
      await fn(i);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return median(times);
  };
  // The same query each time (a label filter matching everything, as a model might ask), at offset
  // 0 and halfway through: a first page that counts would cost a full listing more.
  const q = { project: PROJECT, label: '*' };
  // The sandbox's peak memory: what first pages add beyond later pages (every page request filters
  // the whole archive in the sandbox, so "before" follows three later pages), then what one counted
  // first page adds.
  for (let i = 0; i < 3; i++) await client.listExperiments({ ...q, offset: later });
  const start = sandboxMemory(sandbox);
  for (let i = 0; i < 3; i++) await client.listExperiments(q);
  const afterFirst = sandboxMemory(sandbox);
  await client.listExperiments({ ...q, count: true });
  const afterCount = sandboxMemory(sandbox);
  const rows = [
    ['client core later page (baseline)', await timed(() => client.listExperiments({ ...q, offset: later }))],
    ['client core first page', await timed(() => client.listExperiments(q))],
    ['client core first page, count: true', await timed(() => client.listExperiments({ ...q, count: true }))],
  ];
  const tool = (args) =>
    mcp.callTool({ name: 'searchExperiments', arguments: { ...q, limit: 100, ...args } });
  let cursor = (await tool({})).structuredContent.nextCursor;
  for (let page = 1; page < 10; page++) cursor = (await tool({ cursor })).structuredContent.nextCursor;
  rows.push(['MCP later page (cursor)', await timed(() => tool({ cursor }))]);
  rows.push(['MCP first page', await timed(() => tool({}))]);
  rows.push(['MCP first page, count: true', await timed(() => tool({ count: true }))]);
  await mcp.close();
  await server.close();
  await client.close();
  console.log(
    `\n${pad(`first page vs later page (${EXPERIMENTS} experiments)`, 46)}${pad('median ms', 11)}× its later page`,
  );
  const clientBase = rows[0][1];
  const mcpBase = rows[3][1];
  rows.forEach(([label, ms], i) =>
    console.log(
      `${pad(label, 46)}${pad(ms.toFixed(1), 11)}${(ms / (i < 3 ? clientBase : mcpBase)).toFixed(2)}`,
    ),
  );
  console.log(
    `sandbox process memory (MiB): ${start.rss.toFixed(0)} resident, peak ${start.peak.toFixed(0)} after three later pages; ` +
      `peak ${afterFirst.peak.toFixed(0)} after three first pages; peak ${afterCount.peak.toFixed(0)} after one counted first page`,
  );
  target('client core first page', rows[1][1] / clientBase, 2, 'a later page');
  target('MCP first page', rows[4][1] / mcpBase, 2, 'a later page');
  // No target on the sandbox's peak memory: it rises with every page request, first or later (each
  // filters the whole archive in memory; XNAT pages in SQL), so its high-water mark cannot tell
  // first pages apart. Printed for the counted first page, the one request that adds a count.
}
