/**
 * Calls the fuzzer found wrong once, replayed on every `npm test` (`npm run fuzz` runs 10,000 and
 * more with other seeds): each must end in a clear message or a result within the budget.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOLSETS } from '../../src/mcp/define.js';
import { RESULT_CHAR_BUDGET } from '../../src/mcp/format.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { ALICE, connectInMemory, textOf, type Connected } from '../server/helpers.js';
import { contentCost, problemsOf } from './hostile.js';

let sandbox: RunningSandbox;
let connected: Connected;

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
  connected = await connectInMemory(sandbox.url, ALICE, { toolsets: [...TOOLSETS] });
});

afterAll(async () => {
  await connected?.close();
  await sandbox?.close();
});

async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await connected.mcp.callTool({ name, arguments: args })) as CallToolResult;
}

describe('calls the fuzzer found (seed 20261202, 10,000 calls)', () => {
  it('2,000 unknown toolset names get one short refusal, not one line per name', async () => {
    const result = await call('enableToolsets', {
      toolsets: Array.from({ length: 2000 }, (_, i) => String(i)),
    });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text.length).toBeLessThan(1000);
    expect(text).toMatch(/toolsets/);
    expect(problemsOf(text, [ALICE.password])).toEqual([]);
  });

  it('a lung-window montage (a large PNG) stays within the budget, its image counted by its pixels', async () => {
    const result = await call('getScanImage', {
      experiment: 'XNAT_E00001',
      scan: '2',
      mode: 'montage',
      window: 'lung',
    });
    expect(result.isError).toBeFalsy();
    const image = result.content.find((c) => c.type === 'image');
    expect(image).toBeDefined();
    // Its base64 alone is over the budget in characters; a model pays for its pixels.
    expect(JSON.stringify(image).length).toBeGreaterThan(RESULT_CHAR_BUDGET);
    expect(JSON.stringify(result.structuredContent).length + contentCost(result.content)).toBeLessThanOrEqual(
      RESULT_CHAR_BUDGET,
    );
  });
});
