/**
 * The policy every pyxnat test file follows: run when pyxnat imports, skip with one line saying why
 * and how to install it when it does not, and fail instead of skipping under CI=true.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { DEFAULT_PYTHON, PYTHON_OVERRIDE, checkPyxnat, decide, importError } from './pyxnat-available.js';

const dir = mkdtempSync(join(tmpdir(), 'xnat-mcp-nopyxnat-'));
/** A real python that lacks pyxnat: Debian's, without site-packages (-S) or user paths (-I). */
const withoutPyxnat = join(dir, 'python3');
writeFileSync(withoutPyxnat, `#!/bin/sh\nexec ${DEFAULT_PYTHON} -I -S "$@"\n`);
chmodSync(withoutPyxnat, 0o755);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the pyxnat availability check', () => {
  it('skips with one line naming the interpreter, the error and the install command', async () => {
    const check = await checkPyxnat({ [PYTHON_OVERRIDE]: withoutPyxnat });
    expect(check.run).toBe(false);
    const skip = 'skip' in check ? check.skip : '';
    expect(skip).toContain(withoutPyxnat);
    expect(skip).toContain("No module named 'pyxnat'");
    expect(skip).toContain('apt-get install python3-pyxnat');
    expect(skip).not.toContain('\n');
    expect(check).not.toHaveProperty('fail');
  });

  it('fails instead of skipping under CI=true', async () => {
    const check = await checkPyxnat({ [PYTHON_OVERRIDE]: withoutPyxnat, CI: 'true' });
    expect(check).not.toHaveProperty('skip');
    expect('fail' in check ? check.fail : '').toMatch(/apt-get install python3-pyxnat.*CI=true/);
  });

  it('names an interpreter that does not exist instead of crashing', async () => {
    const missing = join(dir, 'no-such-python');
    expect(await importError(missing)).toContain('ENOENT');
    expect(await checkPyxnat({ [PYTHON_OVERRIDE]: missing })).toMatchObject({ run: false, python: missing });
  });

  it('runs when pyxnat imports, with or without CI', () => {
    expect(decide('/usr/bin/python3', undefined, { CI: 'true' })).toEqual({
      run: true,
      python: '/usr/bin/python3',
    });
    expect(decide('/usr/bin/python3', undefined, {})).toEqual({ run: true, python: '/usr/bin/python3' });
  });

  it('uses Debian /usr/bin/python3 unless overridden', async () => {
    expect((await checkPyxnat({})).python).toBe(DEFAULT_PYTHON);
  });
});
