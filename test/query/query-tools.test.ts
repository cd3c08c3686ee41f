/**
 * The query toolset end to end: an SDK client, the server from the one factory, the sandbox over
 * loopback HTTP. Discovery (types with counts, fields with custom variables, saved searches), searches
 * with every operator and nested groups checked against the archive itself, paging one XNAT request
 * per page, saved searches, grouped counts (searchArchive groupBy) equal to the exported rows, and
 * exports to local files.
 */
import { TOOLSETS } from '../../src/tools/index.js';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import type { SandboxArchive, StoredExperiment, StoredSubject } from '../../src/sandbox/model.js';
import { searchElementRows } from '../../src/sandbox/search.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { ADMIN, ALICE, call, callOk, connectInMemory, textOf, type Connected } from '../server/helpers.js';

interface SearchOut {
  xsiType: string;
  columns: Array<{ key: string; fieldId?: string; header?: string }>;
  rows: Array<Record<string, string>>;
  total: number;
  nextCursor?: string;
}
interface CountOut {
  total: number;
  groupBy: string[];
  groups: Array<{ values: string[]; count: number }>;
}
interface ExportOut {
  path: string;
  format: string;
  rows: number;
  columns: string[];
  bytes: number;
}

let sandbox: RunningSandbox;
let archive: SandboxArchive;
let admin: Connected;
let alice: Connected;
let root: string;

const mrSessions = (): StoredExperiment[] =>
  [...archive.experiments.values()].filter((e) => e.xsiType === 'xnat:mrSessionData');
const subjects = (): StoredSubject[] => [...archive.subjects.values()];
const sorted = (values: Iterable<string>): string[] => [...values].sort();

/** Every row of a search, page by page. */
async function allRows(client: Connected, args: Record<string, unknown>): Promise<SearchOut['rows']> {
  const rows: SearchOut['rows'] = [];
  let cursor: string | undefined;
  do {
    const page = await callOk<SearchOut>(client.mcp, 'searchArchive', { ...args, limit: 100, cursor });
    rows.push(...page.rows);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return rows;
}

const labels = async (args: Record<string, unknown>): Promise<string[]> =>
  sorted(
    (await allRows(admin, { xsiType: 'xnat:mrSessionData', columns: ['LABEL'], ...args })).map(
      (r) => r.label ?? '',
    ),
  );

beforeAll(async () => {
  archive = createDemoArchive();
  sandbox = await startSandbox({ archive });
  root = realpathSync(mkdtempSync(join(tmpdir(), 'xnat-query-')));
  admin = await connectInMemory(sandbox.url, ADMIN, { roots: [root], toolsets: [...TOOLSETS] });
  alice = await connectInMemory(sandbox.url, ALICE, { roots: [root], toolsets: [...TOOLSETS] });
});

afterAll(async () => {
  await admin.close();
  await alice.close();
  await sandbox.close();
  rmSync(root, { recursive: true, force: true });
});

describe('describeSearchable', () => {
  it('lists the searchable types with the counts the user can read', async () => {
    const out = await callOk<{ types: Array<{ xsiType: string; count: number }>; total: number }>(
      alice.mcp,
      'describeSearchable',
      { limit: 100 },
    );
    const user = archive.users.find((u) => u.login === 'alice');
    if (!user) throw new Error('no alice');
    const expected = searchElementRows(archive, user).map((r) => ({
      xsiType: r.ELEMENT_NAME,
      count: Number(r.COUNT),
    }));
    expect(out.types.map((t) => ({ xsiType: t.xsiType, count: t.count }))).toEqual(expected);
    expect(out.types.find((t) => t.xsiType === 'xnat:mrSessionData')?.count).toBeGreaterThan(0);
  });

  it("lists a type's fields with project custom variables, filtered and paged", async () => {
    const site = await callOk<{ fields: Array<{ id: string; header: string }>; total: number }>(
      admin.mcp,
      'describeSearchable',
      { xsiType: 'xnat:subjectData', match: 'custom field' },
    );
    expect(site.fields.map((f) => f.id)).toEqual(
      expect.arrayContaining([
        'XNAT_SUBJECTDATA_FIELD_MAP=site',
        'XNAT_SUBJECTDATA_FIELD_MAP=apoe',
        'XNAT_SUBJECTDATA_FIELD_MAP=grade',
      ]),
    );
    const first = await callOk<{ fields: Array<{ id: string }>; total: number; nextCursor?: string }>(
      admin.mcp,
      'describeSearchable',
      { xsiType: 'xnat:subjectData', limit: 5 },
    );
    expect(first.fields).toHaveLength(5);
    expect(first.nextCursor).toBeDefined();
    const second = await callOk<{ fields: Array<{ id: string }>; total: number }>(
      admin.mcp,
      'describeSearchable',
      {
        xsiType: 'xnat:subjectData',
        limit: 5,
        cursor: first.nextCursor,
      },
    );
    expect(second.total).toBe(first.total);
    expect(second.fields.map((f) => f.id)).not.toContain(first.fields[0]?.id);
    const unknown = await call(admin.mcp, 'describeSearchable', { xsiType: 'xnat:nopeData' });
    expect(unknown.isError).toBe(true);
  });

  it('lists saved searches', async () => {
    const out = await callOk<{ savedSearches: Array<{ id: string; xsiType: string; name: string }> }>(
      admin.mcp,
      'describeSearchable',
      { what: 'savedSearches' },
    );
    expect(out.savedSearches.map((s) => s.name)).toContain('Female subjects');
  });
});

describe('searchArchive', () => {
  it('finds subjects by a custom variable', async () => {
    const rows = await allRows(admin, {
      xsiType: 'xnat:subjectData',
      columns: ['SUBJECT_LABEL', 'XNAT_SUBJECTDATA_FIELD_MAP=site'],
      where: ['XNAT_SUBJECTDATA_FIELD_MAP=site = Boston'],
    });
    expect(sorted(rows.map((r) => r.subject_label ?? ''))).toEqual(
      sorted(
        subjects()
          .filter((s) => s.fields.site === 'Boston')
          .map((s) => s.label),
      ),
    );
  });

  it('supports every operator and nested groups', async () => {
    const all = mrSessions();
    const expectLabels = (keep: (e: StoredExperiment) => boolean) =>
      sorted(all.filter(keep).map((e) => e.label));
    expect(await labels({ where: ['PROJECT = PEDS_DTI'] })).toEqual(
      expectLabels((e) => e.project === 'PEDS_DTI'),
    );
    expect(await labels({ where: ['PROJECT != BRAIN_MR'] })).toEqual(
      expectLabels((e) => e.project !== 'BRAIN_MR'),
    );
    expect(await labels({ where: ['DATE < 2022-01-01'] })).toEqual(
      expectLabels((e) => e.date < '2022-01-01'),
    );
    expect(await labels({ where: ['DATE >= 2023-06-01'] })).toEqual(
      expectLabels((e) => e.date >= '2023-06-01'),
    );
    expect(await labels({ where: ['DATE BETWEEN 2022-01-01 AND 2022-12-31'] })).toEqual(
      expectLabels((e) => e.date >= '2022-01-01' && e.date <= '2022-12-31'),
    );
    expect(await labels({ where: ['LABEL LIKE bmr00*'] })).toEqual(
      expectLabels((e) => e.label.startsWith('BMR00')),
    );
    expect(await labels({ where: ['PROJECT IN PEDS_DTI,PET_AMYLOID'] })).toEqual(
      expectLabels((e) => e.project === 'PEDS_DTI' || e.project === 'PET_AMYLOID'),
    );
    expect(
      await labels({
        where: ['LABEL LIKE BMR*', ['PROJECT = BRAIN_MR', "LABEL = 'MR 07'"]],
      }),
    ).toEqual(expectLabels((e) => e.label.startsWith('BMR') && e.project === 'BRAIN_MR'));
    expect(
      await labels({
        match: 'any',
        where: ['PROJECT = PEDS_DTI', ['PROJECT = BRAIN_MR', 'DATE >= 2024-01-01']],
      }),
    ).toEqual(
      expectLabels((e) => e.project === 'PEDS_DTI' || (e.project === 'BRAIN_MR' && e.date >= '2024-01-01')),
    );
    const grades = await allRows(admin, {
      xsiType: 'xnat:subjectData',
      columns: ['SUBJECT_LABEL'],
      where: ['XNAT_SUBJECTDATA_FIELD_MAP=grade IS NULL'],
    });
    expect(sorted(grades.map((r) => r.subject_label ?? ''))).toEqual(
      sorted(
        subjects()
          .filter((s) => s.fields.grade === undefined)
          .map((s) => s.label),
      ),
    );
    const graded = await allRows(admin, {
      xsiType: 'xnat:subjectData',
      columns: ['SUBJECT_LABEL'],
      where: ['XNAT_SUBJECTDATA_FIELD_MAP=grade IS NOT NULL'],
    });
    expect(graded.length + grades.length).toBe(subjects().length);
    // XNAT's != keeps rows without a value (x != v OR x IS NULL), as DisplayCriteria writes it.
    const notThird = await allRows(admin, {
      xsiType: 'xnat:subjectData',
      columns: ['SUBJECT_LABEL'],
      where: ['XNAT_SUBJECTDATA_FIELD_MAP=grade != 3'],
    });
    expect(sorted(notThird.map((r) => r.subject_label ?? ''))).toEqual(
      sorted(
        subjects()
          .filter((s) => s.fields.grade !== '3')
          .map((s) => s.label),
      ),
    );
  });

  it('searches across types: sessions of subjects with a custom variable, sessions with a scan of a type and quality', async () => {
    const boston = new Set(
      subjects()
        .filter((s) => s.fields.site === 'Boston')
        .map((s) => s.id),
    );
    expect(
      await labels({
        where: ['xnat:subjectData.XNAT_SUBJECTDATA_FIELD_MAP=site = Boston'],
      }),
    ).toEqual(
      sorted(
        mrSessions()
          .filter((e) => boston.has(e.subjectId))
          .map((e) => e.label),
      ),
    );
    const scan = mrSessions()[0]?.scans[0];
    if (!scan) throw new Error('no scan');
    expect(
      await labels({
        where: [`xnat:mrScanData/type = ${scan.type}`, 'xnat:mrScanData/quality = usable'],
      }),
    ).toEqual(
      sorted(
        mrSessions()
          .filter((e) => e.scans.some((s) => s.type === scan.type && s.quality === 'usable'))
          .map((e) => e.label),
      ),
    );
  });

  it('pages through XNAT cached search: one request per later page, sorted, every row once', async () => {
    const first = await callOk<SearchOut>(admin.mcp, 'searchArchive', {
      xsiType: 'xnat:mrSessionData',
      columns: ['LABEL', 'DATE', 'xnat:subjectData.SUBJECT_LABEL'],
      sortBy: 'DATE',
      sortOrder: 'DESC',
      limit: 10,
    });
    expect(first.total).toBe(mrSessions().length);
    expect(first.columns.map((c) => c.key)).toEqual([
      'label',
      'date',
      'xnat_subjectdata_subject_label',
      'quarantine_status',
    ]);
    const rows = [...first.rows];
    let cursor = first.nextCursor;
    while (cursor !== undefined) {
      const before = admin.xnat.stats.requests;
      const page = await callOk<SearchOut>(admin.mcp, 'searchArchive', {
        xsiType: 'xnat:mrSessionData',
        columns: ['LABEL', 'DATE', 'xnat:subjectData.SUBJECT_LABEL'],
        sortBy: 'DATE',
        sortOrder: 'DESC',
        limit: 10,
        cursor,
      });
      expect(admin.xnat.stats.requests - before).toBe(1);
      rows.push(...page.rows);
      cursor = page.nextCursor;
    }
    expect(sorted(rows.map((r) => r.label ?? ''))).toEqual(sorted(mrSessions().map((e) => e.label)));
    const dates = rows.map((r) => r.date ?? '');
    expect(dates).toEqual([...dates].sort().reverse());
    const other = await call(admin.mcp, 'searchArchive', {
      xsiType: 'xnat:subjectData',
      cursor: first.nextCursor,
    });
    expect(other.isError).toBe(true);
  });

  it('uses the type default listing without columns, and runs saved searches', async () => {
    const listing = await callOk<SearchOut>(admin.mcp, 'searchArchive', {
      xsiType: 'xnat:subjectData',
      limit: 3,
    });
    expect(listing.columns[0]?.key).toBe('subject_label');
    // Later pages read the cached search only, without looking the default columns up again.
    const before = admin.xnat.stats.requests;
    const next = await callOk<SearchOut>(admin.mcp, 'searchArchive', {
      xsiType: 'xnat:subjectData',
      limit: 3,
      cursor: listing.nextCursor,
    });
    expect(admin.xnat.stats.requests - before).toBe(1);
    expect(next.rows.map((r) => r.subject_label)).not.toContain(listing.rows[0]?.subject_label);
    const saved = await allRows(admin, { savedSearch: 'xs1687270561902' });
    expect(sorted(saved.map((r) => r.subject_label ?? ''))).toEqual(
      sorted(
        subjects()
          .filter((s) => s.demographics?.gender === 'female')
          .map((s) => s.label),
      ),
    );
    const bad = await call(admin.mcp, 'searchArchive', { xsiType: 'xnat:subjectData', savedSearch: 'x' });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/exactly one of xsiType/);
  });
});

describe('counts and exportSearch', () => {
  it('counts per project per year, equal to the exported rows', async () => {
    const counts = await callOk<CountOut>(admin.mcp, 'searchArchive', {
      xsiType: 'xnat:mrSessionData',
      groupBy: [{ field: 'PROJECT' }, { field: 'DATE', by: 'year' }],
    });
    expect(counts.total).toBe(mrSessions().length);
    const exported = await callOk<ExportOut>(admin.mcp, 'exportSearch', {
      xsiType: 'xnat:mrSessionData',
      columns: ['LABEL', 'PROJECT', 'DATE'],
      path: 'sessions.jsonl',
    });
    expect(exported).toMatchObject({
      rows: mrSessions().length,
      format: 'jsonl',
      path: join(root, 'sessions.jsonl'),
    });
    const lines = readFileSync(exported.path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines).toHaveLength(exported.rows);
    const fromFile = new Map<string, number>();
    for (const l of lines) {
      const key = JSON.stringify([l.project, (l.date ?? '').slice(0, 4)]);
      fromFile.set(key, (fromFile.get(key) ?? 0) + 1);
    }
    expect(new Map(counts.groups.map((g) => [JSON.stringify(g.values), g.count]))).toEqual(fromFile);
    expect(exported.bytes).toBe(readFileSync(exported.path).length);
  });

  it('counts subjects by a custom variable', async () => {
    const counts = await callOk<CountOut>(admin.mcp, 'searchArchive', {
      xsiType: 'xnat:subjectData',
      groupBy: [{ field: 'XNAT_SUBJECTDATA_FIELD_MAP=site' }],
    });
    const boston = counts.groups.find((g) => g.values[0] === 'Boston');
    expect(boston?.count).toBe(subjects().filter((s) => s.fields.site === 'Boston').length);
    expect(counts.groups.reduce((n, g) => n + g.count, 0)).toBe(subjects().length);
    const total = await callOk<CountOut>(admin.mcp, 'searchArchive', {
      xsiType: 'xnat:subjectData',
      where: ['XNAT_SUBJECTDATA_FIELD_MAP=site = Boston'],
      groupBy: [],
    });
    expect(total).toMatchObject({ total: boston?.count, groups: [] });
  });

  it('exports CSV and TSV inside the allowed roots, never over an existing file unless asked', async () => {
    const csv = await callOk<ExportOut>(admin.mcp, 'exportSearch', {
      xsiType: 'xnat:subjectData',
      columns: ['SUBJECT_LABEL', 'XNAT_SUBJECTDATA_FIELD_MAP=site'],
      where: ['XNAT_SUBJECTDATA_FIELD_MAP=site = Boston'],
      path: 'out/boston.csv',
    });
    const text = readFileSync(csv.path, 'utf8').trim().split('\r\n');
    expect(text[0]).toBe(csv.columns.join(','));
    expect(text).toHaveLength(csv.rows + 1);
    expect(csv.rows).toBe(subjects().filter((s) => s.fields.site === 'Boston').length);
    const again = await call(admin.mcp, 'exportSearch', {
      xsiType: 'xnat:subjectData',
      columns: ['SUBJECT_LABEL'],
      path: 'out/boston.csv',
    });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/already exists/);
    const tsv = await callOk<ExportOut>(admin.mcp, 'exportSearch', {
      savedSearch: 'xs1687270561902',
      path: 'out/boston.csv',
      format: 'tsv',
      overwrite: true,
    });
    expect(readFileSync(tsv.path, 'utf8').split('\n')[0]).toBe(tsv.columns.join('\t'));
    expect(readdirSync(join(root, 'out')).filter((f) => f.endsWith('.part'))).toEqual([]);
    const outside = await call(admin.mcp, 'exportSearch', {
      xsiType: 'xnat:subjectData',
      path: join(tmpdir(), 'escape.csv'),
    });
    expect(outside.isError).toBe(true);
    expect(textOf(outside)).toMatch(/outside the allowed directories/);
    expect(existsSync(join(tmpdir(), 'escape.csv'))).toBe(false);
  });
});
