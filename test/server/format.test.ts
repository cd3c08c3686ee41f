/** Size bounds and cursors of the output shaper, on synthetic objects larger than any demo record. */
import { describe, expect, it } from 'vitest';
import type { ExperimentDetail, Scan } from '../../src/client/models.js';
import { ToolInputError } from '../../src/mcp/errors.js';
import {
  RESULT_CHAR_BUDGET,
  boundStrings,
  fitBudget,
  MAX_FIELDS,
  MAX_NESTED,
  pageListing,
  pageOfArray,
  shapeExperimentDetail,
} from '../../src/mcp/format.js';

function scan(i: number): Scan {
  return {
    id: String(i),
    xsiType: 'xnat:mrScanData',
    type: 'T1w',
    seriesDescription: 'x'.repeat(500),
    quality: 'usable',
    note: '',
  };
}

function hugeExperiment(): ExperimentDetail {
  return {
    id: 'XNAT_E00001',
    label: 'E1',
    project: 'P',
    owningProject: 'P',
    xsiType: 'xnat:mrSessionData',
    date: '2024-01-01',
    subjectId: 'XNAT_S00001',
    subjectLabel: 'S1',
    insertDate: '',
    time: '',
    visitId: '',
    modality: 'MR',
    note: 'n'.repeat(10_000),
    status: 'active',
    fields: Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`f${i}`, 'v'.repeat(1000)])),
    attributes: {},
    shares: [],
    scans: Array.from({ length: 150 }, (_, i) => scan(i)),
    resources: [],
    assessors: [],
  };
}

describe('shapeExperimentDetail', () => {
  it('caps nested arrays and maps, cuts long text, and counts what it left out', () => {
    const shaped = shapeExperimentDetail(hugeExperiment());
    expect(shaped.scans).toHaveLength(MAX_NESTED);
    expect(Object.keys(shaped.fields)).toHaveLength(MAX_FIELDS);
    expect(shaped.truncated).toEqual({ scans: 150 - MAX_NESTED, fields: 80 - MAX_FIELDS });
    expect(shaped.note.length).toBeLessThanOrEqual(2000);
    expect(shaped.note).toMatch(/^n+…\[\d+ characters cut\]…n+$/);
    expect(JSON.stringify(shaped).length).toBeLessThan(60_000);
  });

  it('keeps a whole result under the budget by halving its longest arrays, counting the cut', () => {
    const huge = hugeExperiment();
    huge.scans = huge.scans.map((s) => ({ ...s, seriesDescription: 'y'.repeat(5000) }));
    const { value, shortened } = boundStrings(shapeExperimentDetail(huge));
    expect(shortened).toBe(0); // the shaper's own bounds came first
    const render = (o: typeof value) => o.scans.map((s) => s.seriesDescription).join('\n');
    const fitted = fitBudget(value, render, () => []);
    const size = JSON.stringify(fitted.output).length + fitted.text.length;
    expect(size).toBeLessThanOrEqual(RESULT_CHAR_BUDGET);
    expect(fitted.output.truncated?.scans).toBe(150 - fitted.output.scans.length);
  });

  it('adds no truncated marker when nothing was cut', () => {
    const small = { ...hugeExperiment(), scans: [scan(1)], fields: {}, note: 'short' };
    expect(shapeExperimentDetail(small).truncated).toBeUndefined();
  });
});

describe('pageListing', () => {
  const all = Array.from({ length: 7 }, (_, i) => i);
  const listing = (query: Record<string, unknown>, cursor?: string) =>
    pageListing(
      't',
      query,
      { limit: 3, cursor },
      async (spec) => pageOfArray(all, spec),
      (n) => n,
    );

  it('walks to the end and then stops offering a cursor', async () => {
    const one = await listing({ q: 1 });
    const two = await listing({ q: 1 }, one.nextCursor);
    const three = await listing({ q: 1 }, two.nextCursor);
    expect([...one.items, ...two.items, ...three.items]).toEqual(all);
    expect(three.nextCursor).toBeUndefined();
  });

  it('refuses a cursor from another query', async () => {
    const one = await listing({ q: 1 });
    await expect(listing({ q: 2 }, one.nextCursor)).rejects.toThrow(ToolInputError);
  });
});
