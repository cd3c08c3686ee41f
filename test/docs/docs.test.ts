/**
 * The README's tool table is generated (scripts/gen-docs.mjs, from tools/list of the built server);
 * `npm run lint` runs its --check. Here: the committed README is current, a stale copy fails the
 * check naming the row to change, and generating fills an empty table with every tool.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/gen-docs.mjs');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function genDocs(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

let dir: string;
let readme: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gen-docs-'));
  readme = await readFile(join(ROOT, 'README.md'), 'utf8');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('README tool table', () => {
  it('is current in the committed README', async () => {
    const run = await genDocs('--check');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('fails the check on a stale table, naming the line to change', async () => {
    const stale = join(dir, 'stale.md');
    const row = readme.split('\n').find((line) => line.includes('`listProjects {')) ?? '';
    expect(row).toContain('List XNAT projects');
    const staleText = readme.replace(row, row.replace('List XNAT projects', 'List projects'));
    await writeFile(stale, staleText);
    const run = await genDocs('--check', '--readme', stale);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the tool table is stale; run `npm run docs`');
    expect(run.stderr).toContain(`  + ${row}`);
    // --check only reports.
    expect(await readFile(stale, 'utf8')).toBe(staleText);
  });

  it('fills an empty table with a row per tool, and refuses a README without markers', async () => {
    const empty = join(dir, 'empty.md');
    const start = readme.indexOf('<!-- tools:start');
    const end = readme.indexOf('<!-- tools:end -->');
    await writeFile(
      empty,
      `# Tools\n\n${readme.slice(start, readme.indexOf('\n', start))}\n${readme.slice(end)}`,
    );
    const run = await genDocs('--readme', empty);
    expect(run.code).toBe(0);
    const written = await readFile(empty, 'utf8');
    expect(written).toBe(`# Tools\n\n${readme.slice(start, end)}${readme.slice(end)}`);
    expect(written).toMatch(
      /\| `core` +\| `getServerInfo \{server\?\}` +\| XNAT server info +\| read-only +\|/,
    );
    expect(written).toMatch(/\| `curate` +\| `deleteObject \{kind, [^}]*\}` +\| [^|]+\| destructive +\|/);

    const none = join(dir, 'none.md');
    await writeFile(none, '# Tools\n');
    const refused = await genDocs('--readme', none);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('has no <!-- tools:start -->, <!-- tools:end --> markers');
  });
});
