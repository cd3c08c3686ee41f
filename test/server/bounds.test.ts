/**
 * Every result stays under the stated budget whatever XNAT holds: strings shortened in the middle
 * with a marker (and said so), pages cut short with a cursor to the rest.
 */
import { createHash } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_CHAR_BUDGET, RESULT_TOKEN_BUDGET } from '../../src/mcp/format.js';
import { INSTRUCTIONS } from '../../src/server.js';
import type { SandboxArchive } from '../../src/sandbox/model.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { call, connectInMemory, textOf, type Connected } from './helpers.js';

let sandbox: RunningSandbox;
let archive: SandboxArchive;
let connected: Connected;
const FILES = 300;

/** What a result costs a model: the structured copy, the text copy and the links. */
function resultChars(result: CallToolResult): number {
  return JSON.stringify(result.structuredContent ?? {}).length + JSON.stringify(result.content).length;
}

beforeAll(async () => {
  archive = createDemoArchive();
  const experiment = archive.experiments.get('XNAT_E00001')!;
  const bytes = Buffer.from('x');
  const digest = createHash('md5').update(bytes).digest('hex');
  experiment.resources.push({
    xnatAbstractresourceId: 990_001,
    label: 'LONG',
    xsiType: 'xnat:resourceCatalog',
    format: '',
    content: '',
    description: '',
    tags: [],
    files: Array.from({ length: FILES }, (_, i) => ({
      path: `${String(i).padStart(4, '0')}/${'d'.repeat(1990)}.dcm`,
      size: 1,
      digest,
      format: '',
      content: '',
      tags: [],
      lastModified: Date.now(),
      bytes: () => bytes,
    })),
  });
  sandbox = await startSandbox({ archive });
  connected = await connectInMemory(sandbox.url);
});

afterAll(async () => {
  await connected?.close();
  await sandbox?.close();
});

describe('result bounds', () => {
  it('are stated to the model', () => {
    expect(INSTRUCTIONS).toContain(`${RESULT_TOKEN_BUDGET.toLocaleString('en-US')} tokens`);
  });

  it('shorten long paths in the middle, say so, and page under the budget with a cursor', async () => {
    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const result = await call(connected.mcp, 'listFiles', {
        experiment: 'XNAT_E00001',
        resource: 'LONG',
        limit: 100,
        ...(cursor ? { cursor } : {}),
      });
      expect(result.isError).toBeFalsy();
      expect(resultChars(result)).toBeLessThanOrEqual(RESULT_CHAR_BUDGET);
      const out = result.structuredContent as {
        items: Array<{ path: string; name: string }>;
        total: number;
        nextCursor?: string;
      };
      expect(out.total).toBe(FILES);
      for (const f of out.items) {
        expect(f.path.length).toBeLessThanOrEqual(1024);
        expect(f.path).toMatch(/characters cut/);
        seen.add(f.path.slice(0, 4));
      }
      expect(textOf(result)).toMatch(/shortened in the middle/);
      if (out.nextCursor) expect(textOf(result)).toMatch(/truncated, use cursor/i);
      cursor = out.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 100);
    expect(seen.size).toBe(FILES);
    expect(pages).toBeGreaterThan(3);
  });
});
