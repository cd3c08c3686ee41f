/**
 * The size checker (scripts/check-size.mjs, run by `npm run lint`): files over 700 lines and
 * functions over 120 lines are reported by name and line, shorter ones pass.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CHECKER = fileURLToPath(new URL('../../scripts/check-size.mjs', import.meta.url));
const made: string[] = [];

function run(dir: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CHECKER, dir], { cwd: dir }, (error, _stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stderr });
    });
  });
}

function fn(name: string, bodyLines: number): string {
  return [
    `export function ${name}(): number {`,
    ...Array.from({ length: bodyLines }, (_, i) => `  const v${i} = ${i};`),
    '  return 0;',
    '}',
  ].join('\n');
}

afterAll(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('check-size', () => {
  it('passes files and functions within the limits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'size-'));
    made.push(dir);
    await writeFile(join(dir, 'ok.ts'), `${fn('short', 100)}\n`);
    const result = await run(dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('names each long file and long function (declarations, arrows, methods)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'size-'));
    made.push(dir);
    const filler = Array.from({ length: 701 }, (_, i) => `export const c${i} = ${i};`).join('\n');
    await writeFile(join(dir, 'long.ts'), `${filler}\n`);
    await writeFile(join(dir, 'fn.ts'), `${fn('tooLong', 125)}\n`);
    const arrow = [
      'export const arrow = (): number => {',
      ...Array.from({ length: 125 }, () => '  void 0;'),
      '  return 1;',
      '};',
    ].join('\n');
    await writeFile(join(dir, 'arrow.ts'), `${arrow}\n`);
    const result = await run(dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('long.ts: 701 lines (at most 700)');
    expect(result.stderr).toMatch(/fn\.ts:1: function tooLong has 128 lines/);
    expect(result.stderr).toMatch(/arrow\.ts:1: function arrow has 128 lines/);
    expect(result.stderr).toContain('size: 3 over the limits');
  });
});
