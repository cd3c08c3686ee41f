// `npm run bench`: listing every experiment of a 50,000-experiment project, three ways, against the
// sandbox over loopback HTTP, in the same run (these machines are noisy, so only ratios to the raw
// baseline measured here mean anything):
//   raw     one hand-written HTTP GET of the project's experiment listing (the floor)
//   client  XnatClient.iterateExperiments (the client core, one request per page)
//   tool    the searchExperiments MCP tool, paging with cursors through an in-memory MCP client
// Usage: npm run bench [-- --experiments N] [-- --repeat R]
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { request } from 'undici';
import { XnatClient } from '../dist/index.js';
import { startSandbox } from '../dist/sandbox/index.js';
import { generateArchive } from '../dist/sandbox/testing.js';
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

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(label, sandbox, fn) {
  const times = [];
  let rows = 0;
  let requests = 0;
  for (let i = 0; i < REPEAT; i++) {
    globalThis.gc?.();
    const before = sandbox.stats.requests;
    const start = process.hrtime.bigint();
    rows = await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    requests = sandbox.stats.requests - before;
  }
  return { label, ms: median(times), requests, rows };
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
    `${sandbox.url}/data/projects/${PROJECT}/experiments?format=json&columns=ID,label,date,xsiType,subject_label`,
    { headers: { cookie: `JSESSIONID=${jsession}` } },
  );
  const body = await res.body.json();
  await request(`${sandbox.url}/data/JSESSION`, {
    method: 'DELETE',
    headers: { cookie: `JSESSIONID=${jsession}` },
  });
  return body.ResultSet.Result.length;
}

async function clientListing(sandbox) {
  const client = new XnatClient({ url: sandbox.url, user: USER, password: PASSWORD });
  let rows = 0;
  for await (const _ of client.iterateExperiments({ project: PROJECT })) rows += 1;
  await client.close();
  return rows;
}

async function toolListing(sandbox) {
  const client = new XnatClient({ url: sandbox.url, user: USER, password: PASSWORD });
  const server = createServer({ client }, {});
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
  await mcp.close();
  await server.close();
  await client.close();
  return rows;
}

const t0 = Date.now();
const archive = generateArchive({ experiments: EXPERIMENTS, project: PROJECT });
const sandbox = await startSandbox({ archive });
console.log(
  `sandbox with ${EXPERIMENTS} experiments in project ${PROJECT} ready in ${Date.now() - t0} ms (${sandbox.url})`,
);
console.log(`each figure is the median of ${REPEAT} runs; requests include logins and logouts\n`);

const results = [];
results.push(await measure('raw HTTP GET (baseline)', sandbox, () => rawListing(sandbox)));
results.push(await measure('client core iterateExperiments', sandbox, () => clientListing(sandbox)));
results.push(await measure('MCP searchExperiments (limit 100)', sandbox, () => toolListing(sandbox)));
await sandbox.close();

const base = results[0];
const pad = (s, n) => String(s).padEnd(n);
console.log(`${pad('path', 36)}${pad('rows', 9)}${pad('requests', 10)}${pad('wall ms', 10)}× baseline`);
for (const r of results) {
  console.log(
    `${pad(r.label, 36)}${pad(r.rows, 9)}${pad(r.requests, 10)}${pad(r.ms.toFixed(0), 10)}${(r.ms / base.ms).toFixed(2)}`,
  );
}
for (const r of results) {
  if (r.rows !== EXPERIMENTS) {
    console.error(`\n${r.label} returned ${r.rows} rows, expected ${EXPERIMENTS}`);
    process.exitCode = 1;
  }
}
