// `npm run bench` (cold start): wall time from spawning a server process to its answer to the first
// `tools/list` over stdio (initialize, initialized, tools/list), for `xnat-mcp serve` beside a
// minimal SDK server with one tool (bench/minimal-server.js), alternating, in the same run.
// `serve` logs in to XNAT only when a tool needs it, so an unreachable XNAT URL is fine here.
// Usage: node bench/cold-start.js [--repeat R]
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { target } from './targets.js';
import { median } from './timing.js';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--repeat');
const REPEAT = i >= 0 ? Number(process.argv[i + 1]) : 9;

const servers = {
  minimal: [join(here, 'minimal-server.js')],
  'xnat-mcp serve': [
    join(here, '..', 'dist', 'cli.js'),
    'serve',
    '--url',
    'http://127.0.0.1:9',
    '--user',
    'bench',
    '--password',
    'bench',
  ],
};

function firstToolsList(args) {
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const send = (msg) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...msg })}\n`);
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code} before answering`)));
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const msg = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if (msg.id === 1) {
          send({ method: 'notifications/initialized' });
          send({ id: 2, method: 'tools/list' });
        } else if (msg.id === 2) {
          const ms = Number(process.hrtime.bigint() - start) / 1e6;
          child.removeAllListeners('exit');
          child.kill();
          resolve({ ms, tools: msg.result.tools.length });
        }
      }
    });
    send({
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'bench', version: '0' },
      },
    });
  });
}

const times = Object.fromEntries(Object.keys(servers).map((name) => [name, []]));
const tools = {};
for (let r = 0; r < REPEAT; r++) {
  for (const [name, args] of Object.entries(servers)) {
    const { ms, tools: n } = await firstToolsList(args);
    times[name].push(ms);
    tools[name] = n;
  }
}
const base = median(times.minimal);
const pad = (s, n) => `${s} `.padEnd(n);
console.log(
  `\n${pad('cold start to first tools/list', 40)}${pad('tools', 7)}${pad('median ms', 11)}× baseline`,
);
for (const [name, xs] of Object.entries(times)) {
  const label = name === 'minimal' ? 'minimal SDK server, one tool (baseline)' : name;
  console.log(
    `${pad(label, 40)}${pad(tools[name], 7)}${pad(median(xs).toFixed(0), 11)}${(median(xs) / base).toFixed(2)}`,
  );
}
target(
  'cold start to first tools/list',
  median(times['xnat-mcp serve']) / base,
  1.3,
  'the minimal SDK server',
);
