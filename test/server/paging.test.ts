import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/index.js';
import { generateArchive } from '../../src/sandbox/generate.js';
import { ADMIN, call, callOk, connectInMemory, textOf, type Connected, type ListOut } from './helpers.js';

const EXPERIMENTS = 1234;

let sandbox: Awaited<ReturnType<typeof startSandbox>>;
let admin: Connected;

beforeAll(async () => {
  sandbox = await startSandbox({ archive: generateArchive({ experiments: EXPERIMENTS, project: 'BIG' }) });
  admin = await connectInMemory(sandbox.url, ADMIN);
});

afterAll(async () => {
  await admin?.close();
  await sandbox?.close();
});

describe('paging through a large project with cursors', () => {
  it('visits every experiment exactly once, one bounded page at a time', async () => {
    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    let total: number | undefined;
    do {
      // Counted once, on the first page; the cursor carries the total on.
      const result = await call(admin.mcp, 'searchExperiments', {
        project: 'BIG',
        limit: 100,
        ...(cursor ? { cursor } : { count: true }),
      });
      expect(result.isError, textOf(result)).toBeFalsy();
      const page = result.structuredContent as unknown as ListOut<{ id: string }>;
      total ??= page.total;
      expect(page.total).toBe(total);
      expect(page.items.length).toBeLessThanOrEqual(100);
      expect(page.items.length).toBeGreaterThan(0);
      for (const item of page.items) {
        expect(seen.has(item.id), `duplicate ${item.id}`).toBe(false);
        seen.add(item.id);
      }
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined);
    expect(total).toBe(EXPERIMENTS);
    expect(seen.size).toBe(EXPERIMENTS);
    expect(pages).toBe(Math.ceil(EXPERIMENTS / 100));
  });

  it('pages subjects with the default limit of 25 and a compact text', async () => {
    const first = await call(admin.mcp, 'searchSubjects', { project: 'BIG' });
    const page = first.structuredContent as unknown as ListOut<{ id: string }>;
    expect(page.items).toHaveLength(25);
    expect(page.total).toBeUndefined();
    expect(textOf(first)).toContain('25 subjects (more follow; total not counted, count=true counts it)');
    expect(textOf(first).length).toBeLessThanOrEqual(4096);
    expect(textOf(first)).toContain(`cursor=${page.nextCursor}`);
    const second = await callOk<ListOut<{ id: string }>>(admin.mcp, 'searchSubjects', {
      project: 'BIG',
      cursor: page.nextCursor,
    });
    expect(second.items).toHaveLength(25);
    expect(second.items.map((s) => s.id)).not.toContain(page.items[0]?.id);
  });

  it('answers the first page in one request, without counting, until the last page shows the total', async () => {
    let before = sandbox.stats.requests;
    let page = await callOk<ListOut<{ id: string }>>(admin.mcp, 'searchExperiments', {
      project: 'BIG',
      limit: 100,
    });
    expect(sandbox.stats.requests - before).toBe(1);
    expect(page.total).toBeUndefined();
    let seen = page.items.length;
    while (page.nextCursor !== undefined) {
      before = sandbox.stats.requests;
      page = await callOk<ListOut<{ id: string }>>(admin.mcp, 'searchExperiments', {
        project: 'BIG',
        limit: 100,
        cursor: page.nextCursor,
      });
      expect(sandbox.stats.requests - before).toBe(1);
      seen += page.items.length;
    }
    expect(seen).toBe(EXPERIMENTS);
    expect(page.total).toBe(EXPERIMENTS);
  });

  it('does not recount on later pages', async () => {
    const first = await callOk<ListOut<{ id: string }>>(admin.mcp, 'searchExperiments', {
      project: 'BIG',
      limit: 50,
      count: true,
    });
    expect(first.total).toBe(EXPERIMENTS);
    const before = sandbox.stats.requests;
    await callOk(admin.mcp, 'searchExperiments', { project: 'BIG', limit: 50, cursor: first.nextCursor });
    expect(sandbox.stats.requests - before).toBe(1);
  });
});
