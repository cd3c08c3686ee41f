/**
 * searchArchive against pyxnat's own `select(...).where(...)` on the same sandbox: the same
 * questions, asked through our MCP tool and through pyxnat, must find the same rows.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { pyxnatPython } from '../pyxnat/pyxnat-available.js';
import { ADMIN, callOk, connectInMemory, type Connected } from '../server/helpers.js';

const run = promisify(execFile);
const PYTHON = await pyxnatPython();
const SCRIPT = fileURLToPath(new URL('./pyxnat_select.py', import.meta.url));

type Rows = Array<Record<string, string>>;

/** The same question for both: our tool's arguments and pyxnat's root, columns and criteria list. */
const CASES: Array<{
  name: string;
  key: string;
  tool: Record<string, unknown>;
  pyxnat: Record<string, unknown>;
}> = [
  {
    name: 'project and date',
    key: 'label',
    tool: {
      xsiType: 'xnat:mrSessionData',
      columns: ['LABEL', 'PROJECT'],
      where: ['PROJECT = BRAIN_MR', 'DATE >= 2022-06-01'],
    },
    pyxnat: {
      root: 'xnat:mrSessionData',
      columns: ['xnat:mrSessionData/LABEL', 'xnat:mrSessionData/PROJECT'],
      where: [
        ['xnat:mrSessionData/PROJECT', '=', 'BRAIN_MR'],
        ['xnat:mrSessionData/DATE', '>=', '2022-06-01'],
        'AND',
      ],
    },
  },
  {
    name: 'a custom variable (display field here, schema path in pyxnat)',
    key: 'subject_label',
    tool: {
      xsiType: 'xnat:subjectData',
      columns: ['SUBJECT_LABEL'],
      where: ['XNAT_SUBJECTDATA_FIELD_MAP=site = Boston'],
    },
    pyxnat: {
      root: 'xnat:subjectData',
      columns: ['xnat:subjectData/SUBJECT_LABEL'],
      where: [['xnat:subjectData/fields/field[name=site]/field', '=', 'Boston'], 'AND'],
    },
  },
  {
    name: 'LIKE with a wildcard',
    key: 'label',
    tool: {
      xsiType: 'xnat:mrSessionData',
      columns: ['LABEL'],
      where: ['LABEL LIKE BMR00*'],
    },
    pyxnat: {
      root: 'xnat:mrSessionData',
      columns: ['xnat:mrSessionData/LABEL'],
      where: [['xnat:mrSessionData/LABEL', 'LIKE', 'BMR00*'], 'AND'],
    },
  },
  {
    name: 'nested OR and AND, and !=',
    key: 'label',
    tool: {
      xsiType: 'xnat:mrSessionData',
      columns: ['LABEL'],
      match: 'any',
      where: ['PROJECT = PEDS_DTI', ['PROJECT != PEDS_DTI', 'DATE >= 2024-01-01']],
    },
    pyxnat: {
      root: 'xnat:mrSessionData',
      columns: ['xnat:mrSessionData/LABEL'],
      where: [
        ['xnat:mrSessionData/PROJECT', '=', 'PEDS_DTI'],
        [
          ['xnat:mrSessionData/PROJECT', '!=', 'PEDS_DTI'],
          ['xnat:mrSessionData/DATE', '>=', '2024-01-01'],
          'AND',
        ],
        'OR',
      ],
    },
  },
];

describe.skipIf(PYTHON === undefined)('searchArchive finds what pyxnat select().where() finds', () => {
  let sandbox: RunningSandbox;
  let admin: Connected;
  let pyxnat: Record<string, Rows>;

  beforeAll(async () => {
    sandbox = await startSandbox({ archive: createDemoArchive() });
    admin = await connectInMemory(sandbox.url, ADMIN, { toolsets: ['query'] });
    const config = { url: sandbox.url, ...ADMIN, queries: CASES.map((c) => c.pyxnat) };
    const { stdout } = await run(PYTHON ?? '', [SCRIPT, JSON.stringify(config)], { maxBuffer: 16 << 20 });
    pyxnat = JSON.parse(stdout) as Record<string, Rows>;
  }, 120_000);

  afterAll(async () => {
    await admin.close();
    await sandbox.close();
  });

  it.each(CASES.map((c, i) => [c.name, i] as const))('%s', async (_name, index) => {
    const c = CASES[index];
    if (!c) throw new Error('no case');
    const out = await callOk<{ rows: Rows; total: number }>(admin.mcp, 'searchArchive', {
      ...c.tool,
      limit: 100,
    });
    const ours = out.rows.map((r) => r[c.key] ?? '').sort();
    const theirs = (pyxnat[String(index)] ?? []).map((r) => r[c.key] ?? '').sort();
    expect(theirs.length).toBeGreaterThan(0);
    expect(out.total).toBe(ours.length);
    expect(ours).toEqual(theirs);
  });
});
