/**
 * Hostile tool calls against the sandbox through an SDK Client: every call must end in a result or
 * a clear message. A few hundred calls with a fixed seed run in `npm test`; `npm run fuzz` runs
 * 10,000 or more (FUZZ_CALLS, FUZZ_SEED; scripts/fuzz.mjs).
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_CHAR_BUDGET } from '../../src/mcp/format.js';
import { TOOLSETS } from '../../src/mcp/define.js';
import type { Logger } from '../../src/mcp/logger.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { ADMIN, ALICE, connectInMemory, textOf, type Connected } from '../server/helpers.js';
import { contentCost, hostileCalls, problemsOf, type FuzzCall } from './hostile.js';

const CALLS = Number(process.env.FUZZ_CALLS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_202);
const PARALLEL = 4;
/** Error lines (unexpected errors) the server logged while serving the calls. */
const logged: string[] = [];
const log: Logger = {
  debug() {},
  info() {},
  warning() {},
  error: (line) => logged.push(line),
};

let sandbox: RunningSandbox;
let connected: Connected;
let base: string;

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
  // A root holding what hostile local paths point at: files, a folder, a fake zip, a symbolic link
  // loop and a link leading out of the root.
  base = realpathSync(mkdtempSync(join(tmpdir(), 'xnat-mcp-fuzz-')));
  const root = join(base, 'root');
  mkdirSync(join(root, 'folder'), { recursive: true });
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(root, 'in.txt'), 'in');
  writeFileSync(join(root, 'folder', 'a.dcm'), 'not really DICOM');
  writeFileSync(join(root, 'dicom.zip'), 'PK\u0003\u0004 truncated');
  writeFileSync(join(base, 'outside', 'secret.txt'), 'secret');
  symlinkSync(join(root, 'loop'), join(root, 'loop'));
  symlinkSync(join(base, 'outside'), join(root, 'escape'));
  // Every toolset, not only the default ones.
  connected = await connectInMemory(sandbox.url, ALICE, { roots: [root], toolsets: [...TOOLSETS] }, log);
});

afterAll(async () => {
  await connected?.close();
  await sandbox?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

/** How the calls ended, so a run shows it reached the handlers and not only the schemas. */
const outcomes = { ok: 0, refusedBySchema: 0, refusedByTool: 0 };

interface Failure {
  call: FuzzCall;
  problems: string[];
  text: string;
}

function shown(call: FuzzCall): string {
  return JSON.stringify(call, (_k, v: unknown) =>
    typeof v === 'string' && v.length > 60
      ? `${v.slice(0, 30)}…(${v.length})`
      : Array.isArray(v) && v.length > 5
        ? [...v.slice(0, 3), `…(${v.length} items)`]
        : v,
  );
}

async function callOnce(call: FuzzCall): Promise<Failure | undefined> {
  const secrets = [ALICE.password, ADMIN.password === 'admin' ? 'admin:admin' : ADMIN.password];
  try {
    const result = (await connected.mcp.callTool(call, undefined, { timeout: 60_000 })) as CallToolResult;
    const text = textOf(result);
    if (!result.isError) outcomes.ok++;
    else if (/Input validation error/.test(text)) outcomes.refusedBySchema++;
    else outcomes.refusedByTool++;
    const problems = problemsOf(text, secrets);
    const structured = JSON.stringify(result.structuredContent ?? {});
    problems.push(...problemsOf(structured, secrets).filter((p) => p !== 'no message'));
    if (!result.isError && structured.length + contentCost(result.content) > RESULT_CHAR_BUDGET) {
      problems.push('over the result budget');
    }
    if (result.isError && text.length > 4000) problems.push('error message too long');
    return problems.length > 0 ? { call, problems, text: text.slice(0, 300) } : undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // The SDK answers schema violations as errors of the call; anything else thrown is a failure.
    if (/Input validation error/.test(message)) {
      outcomes.refusedBySchema++;
      return undefined;
    }
    return { call, problems: ['thrown'], text: message.slice(0, 1000) };
  }
}

describe('hostile tool calls', () => {
  it(
    `end in a result or a clear message (${CALLS} calls, seed ${SEED})`,
    async () => {
      const { tools } = await connected.mcp.listTools();
      const failures: Failure[] = [];
      const pending = new Set<Promise<void>>();
      let done = 0;
      for (const call of hostileCalls(tools, CALLS, SEED)) {
        const p = callOnce(call).then((failure) => {
          done++;
          if (failure) failures.push(failure);
          pending.delete(p);
        });
        pending.add(p);
        if (pending.size >= PARALLEL) await Promise.race(pending);
      }
      await Promise.all(pending);
      const report = failures
        .slice(0, 20)
        .map((f) => `${f.problems.join(', ')}: ${shown(f.call)}\n    → ${f.text}`)
        .join('\n');
      if (process.env.FUZZ_REPORT) {
        process.stderr.write(
          `fuzz: ${done} calls over ${tools.length} tools, seed ${SEED}: ${failures.length} failures, ${logged.length} unexpected errors logged; ${outcomes.ok} results, ${outcomes.refusedByTool} refused by the tool, ${outcomes.refusedBySchema} by the schema\n`,
        );
      }
      expect(done).toBe(CALLS);
      expect(failures, `${failures.length} of ${CALLS} calls failed:\n${report}`).toEqual([]);
      expect(logged, 'unexpected errors in the server log').toEqual([]);
    },
    Math.max(120_000, CALLS * 200),
  );
});
