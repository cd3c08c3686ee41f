#!/usr/bin/env node
// `npm run fuzz [-- --calls N --seed S]`: hostile tool calls against the sandbox (test/fuzz), 10,000 by default.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '10000' }, seed: { type: 'string' } },
});
const env = { ...process.env, FUZZ_CALLS: values.calls, FUZZ_REPORT: '1' };
if (values.seed !== undefined) env.FUZZ_SEED = values.seed;
const run = spawnSync('npx', ['vitest', 'run', 'test/fuzz'], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
