/**
 * Flushing a file system through the one kept shell (fs-sync.ts): answers come back in order, a
 * failing command answers false (the caller then fdatasyncs each file), a folder whose name holds a
 * line break takes a process of its own, and a process whose only work left is an awaited flush
 * neither ends before the answer nor hangs after it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { syncFileSystem, useSyncCommand } from '../../src/client/transfers/fs-sync.js';

const run = promisify(execFile);
const folder = mkdtempSync(join(tmpdir(), 'xnat-fs-sync-'));
const built = fileURLToPath(new URL('../../dist/client/transfers/fs-sync.js', import.meta.url));

afterEach(() => useSyncCommand(undefined));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe.skipIf(process.platform !== 'linux')('sync -f through one shell', () => {
  it('answers many flushes, in order, true for each', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => syncFileSystem(folder)));
    expect(answers).toEqual(Array.from({ length: 20 }, () => true));
  });

  it('answers false when the command fails or is missing, so the caller flushes file by file', async () => {
    useSyncCommand('/bin/false');
    expect(await syncFileSystem(folder)).toBe(false);
    useSyncCommand(join(folder, 'no-such-sync'));
    expect(await syncFileSystem(folder)).toBe(false);
    useSyncCommand(null);
    expect(await syncFileSystem(folder)).toBe(false);
    useSyncCommand(undefined);
    expect(await syncFileSystem(folder)).toBe(true);
  });

  it('flushes a folder whose name has a line break with a process of its own', async () => {
    const odd = mkdtempSync(join(folder, 'two\nlines-'));
    expect(await syncFileSystem(odd)).toBe(true);
  });

  it('keeps a process alive for an awaited flush, and lets it end afterwards', async () => {
    const script = `const { syncFileSystem } = await import(${JSON.stringify(built)});
      console.log(await syncFileSystem(${JSON.stringify(folder)}), await syncFileSystem(${JSON.stringify(folder)}));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 20_000,
    });
    expect(stdout.trim()).toBe('true true');
  });
});
