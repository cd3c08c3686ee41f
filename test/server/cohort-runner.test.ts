/**
 * The cohort module's own guarantees, apart from any tool: the runner starts each item at most
 * once, never more than `concurrency` at a time, in order, and after a failure with onError 'stop'
 * starts nothing new; digests ignore order and duplicates; results and dry runs stay in budget.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  cohortDigest,
  cohortPreview,
  cohortResult,
  mapBounded,
  MAX_LISTED_RESULTS,
  renderCohort,
  runCohort,
  type CohortItemResult,
} from '../../src/mcp/cohort.js';
import { RESULT_CHAR_BUDGET } from '../../src/mcp/format.js';

const ids = Array.from({ length: 60 }, (_, i) => `XNAT_E${String(i + 1).padStart(5, '0')}`);

async function run(onError: 'stop' | 'continue', failing: ReadonlySet<string>) {
  const starts = new Map<string, number>();
  let running = 0;
  let most = 0;
  const progress: number[] = [];
  const results = await runCohort(
    ids,
    (id) => ({ id }),
    async (id) => {
      starts.set(id, (starts.get(id) ?? 0) + 1);
      most = Math.max(most, ++running);
      // Uneven durations, so workers overtake each other.
      await sleep(failing.has(id) ? 5 : (id.charCodeAt(id.length - 1) % 3) + 1);
      running -= 1;
      if (failing.has(id)) throw new Error(`${id} refused`);
      return `did ${id}`;
    },
    {
      concurrency: 3,
      onError,
      signal: new AbortController().signal,
      verb: 'touch',
      progress: async (p) => void progress.push(p.progress),
    },
  );
  return { results, starts, most, progress };
}

describe('runCohort', () => {
  it('stop: nothing starts after the failure; what did not start is the tail; each item at most once', async () => {
    const { results, starts, most, progress } = await run('stop', new Set([ids[20] ?? '']));
    expect(most).toBeLessThanOrEqual(3);
    expect([...starts.values()].every((n) => n === 1)).toBe(true);
    expect(results.map((r) => r.id)).toEqual(ids);
    const failed = results.filter((r) => r.outcome === 'failed');
    expect(failed).toEqual([{ id: ids[20], outcome: 'failed', error: `${ids[20]} refused` }]);
    const tail = results.findIndex((r) => r.outcome === 'notStarted');
    expect(tail).toBeGreaterThan(20);
    expect(results.slice(tail).every((r) => r.outcome === 'notStarted' && !starts.has(r.id))).toBe(true);
    expect(results.slice(0, tail).every((r) => starts.get(r.id) === 1)).toBe(true);
    expect(results.find((r) => r.outcome === 'done')?.detail).toMatch(/^did /);
    expect(progress.at(-1)).toBe(tail);
  });

  it('continue: every item runs once, failures are outcomes', async () => {
    const failing = new Set([ids[3] ?? '', ids[40] ?? '']);
    const { results, starts } = await run('continue', failing);
    expect([...starts.values()]).toEqual(ids.map(() => 1));
    expect(results.filter((r) => r.outcome === 'failed').map((r) => r.id)).toEqual([...failing]);
    expect(results.filter((r) => r.outcome === 'done')).toHaveLength(58);
  });

  it('mapBounded keeps order and stops at the first failure', async () => {
    const seen: number[] = [];
    expect(await mapBounded([1, 2, 3, 4, 5], 2, async (n) => n * 2)).toEqual([2, 4, 6, 8, 10]);
    await expect(
      mapBounded(
        Array.from({ length: 50 }, (_, i) => i),
        2,
        async (n) => {
          seen.push(n);
          await sleep(1);
          if (n === 3) throw new Error('no');
          return n;
        },
      ),
    ).rejects.toThrow('no');
    expect(Math.max(...seen)).toBeLessThan(10);
  });
});

describe('cohort digests and bounds', () => {
  it('a set has one digest in any order, with duplicates; another set has another', () => {
    expect(cohortDigest(ids)).toMatch(/^[0-9a-f]{12}$/);
    expect(cohortDigest([...ids].reverse())).toBe(cohortDigest(ids));
    expect(cohortDigest([...ids, ids[0] ?? ''])).toBe(cohortDigest(ids));
    expect(cohortDigest(ids.slice(1))).not.toBe(cohortDigest(ids));
  });

  it('results of thousands of items stay in budget, unsuccessful ones listed first', () => {
    const many: CohortItemResult[] = Array.from({ length: 5000 }, (_, i) => ({
      id: `XNAT_E${i}`,
      label: `SUBJECT_${i}_MR1`,
      project: 'P',
      outcome: i % 1000 === 999 ? 'failed' : i > 4500 ? 'notStarted' : 'done',
      ...(i % 1000 === 999 ? { error: `refused ${'x'.repeat(2000)}` } : { detail: 'now quarantine' }),
    }));
    const out = cohortResult('quarantine', many, 'continue');
    expect(out).toMatchObject({ count: 5000, failed: 5, notStarted: 498, done: 4497 });
    expect(out.items.length).toBeLessThanOrEqual(MAX_LISTED_RESULTS);
    expect(out.items.slice(0, 5).every((i) => i.outcome === 'failed' && (i.error?.length ?? 0) <= 300)).toBe(
      true,
    );
    expect(out.unlisted).toBe(5000 - out.items.length);
    const text = renderCohort(out);
    expect(JSON.stringify(out).length + text.length).toBeLessThan(RESULT_CHAR_BUDGET);
    expect(text).toContain(`unlisted: ${out.unlisted}`);
  });

  it('a dry run lists one page of the set; the digest and confirm cover it all', () => {
    const targets = Array.from({ length: 250 }, (_, i) => ({
      id: `XNAT_E${i}`,
      summary: 'active → quarantine',
    }));
    const page = cohortPreview('quarantine', targets, '250:abc', 200);
    expect(page).toMatchObject({ count: 250, listedFrom: 200, confirm: '250:abc' });
    expect(page.items.map((i) => i.id)).toEqual(targets.slice(200).map((t) => t.id));
    expect(page.nextListFrom).toBeUndefined();
    expect(page.digest).toBe(cohortDigest(targets.map((t) => t.id)));
    expect(cohortPreview('quarantine', targets, '250:abc', 0).nextListFrom).toBe(100);
  });
});
