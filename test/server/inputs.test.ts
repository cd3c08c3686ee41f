/**
 * Inputs hosts really send, and hostile ones: numbers for numeric-looking IDs, unpaired surrogates,
 * IDs far longer than XNAT's. Each gets a result or a clear input error, never an internal error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { call, callOk, connectInMemory, textOf, type Connected } from './helpers.js';

let sandbox: RunningSandbox;
let connected: Connected;

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
  connected = await connectInMemory(sandbox.url);
});

afterAll(async () => {
  await connected?.close();
  await sandbox?.close();
});

describe('ID parameters', () => {
  it('refuse an unpaired UTF-16 surrogate as input, not as an internal error', async () => {
    for (const [tool, args] of [
      ['getProject', { project: '\ud800' }],
      ['getExperiment', { experiment: 'MR\udc00' }],
      ['listFiles', { experiment: 'XNAT_E00001', resource: 'a\ud800' }],
    ] as const) {
      const result = await call(connected.mcp, tool, args);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/unpaired UTF-16 surrogate/);
      expect(textOf(result)).not.toMatch(/Internal error|URIError/);
    }
  });

  it('say an ID is too long, and how long it may be, before anything is sent', async () => {
    const before = sandbox.stats.requests;
    const result = await call(connected.mcp, 'getProject', { project: 'P'.repeat(20_000) });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Project ID is too long: at most 255 characters/);
    expect(textOf(result)).not.toMatch(/retry later|431/);
    expect(sandbox.stats.requests).toBe(before);
  });

  it('accept whole numbers for numeric-looking IDs, and the listed schema says so', async () => {
    const detail = await callOk<{ scans: Array<{ id: string }> }>(connected.mcp, 'getExperiment', {
      experiment: 'XNAT_E00001',
    });
    const scanId = detail.scans.find((s) => /^\d+$/.test(s.id))!.id;
    const files = await callOk<{ items: Array<{ scan?: string }> }>(connected.mcp, 'listFiles', {
      experiment: 'XNAT_E00001',
      scan: Number(scanId),
    });
    expect(files.items.length).toBeGreaterThan(0);
    expect(files.items.every((f) => f.scan === scanId)).toBe(true);
    const notWhole = await call(connected.mcp, 'listFiles', { experiment: 'XNAT_E00001', scan: 2.5 });
    expect(textOf(notWhole)).toMatch(/Scan ID must be text \(or a whole number\)/);

    const { tools } = await connected.mcp.listTools();
    const listFiles = tools.find((t) => t.name === 'listFiles')!;
    const scan = (listFiles.inputSchema.properties as Record<string, Record<string, unknown>>).scan;
    expect(scan).toMatchObject({ type: ['string', 'integer'], maxLength: 255 });
    // Emptiness is checked though tools/list does not spell it out (no minLength: 1).
    const empty = await call(connected.mcp, 'listFiles', { experiment: '', scan: 2 });
    expect(textOf(empty)).toMatch(/Experiment must be text \(or a whole number\), at most 255/);
  });
});
