/**
 * Whether the pyxnat tests can run, shared by every test that drives pyxnat. pyxnat is Debian's
 * python3-pyxnat for /usr/bin/python3 (not a pyenv python3 on PATH). Without it the tests are
 * skipped with one line saying why, except under CI=true, where a missing pyxnat fails the file:
 * CI must never silently skip them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's interpreter, the one python3-pyxnat is installed for. */
export const DEFAULT_PYTHON = '/usr/bin/python3';
/** Override of the interpreter, read only here (tests of this policy point it at a python without pyxnat). */
export const PYTHON_OVERRIDE = 'PYXNAT_TEST_PYTHON';

export type PyxnatCheck =
  | { readonly run: true; readonly python: string }
  | { readonly run: false; readonly python: string; readonly skip: string }
  | { readonly run: false; readonly python: string; readonly fail: string };

/** Why `python -c 'import pyxnat'` failed, or undefined when it worked. */
export async function importError(python: string): Promise<string | undefined> {
  try {
    await run(python, ['-c', 'import pyxnat'], { timeout: 60_000 });
    return undefined;
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    const detail = typeof stderr === 'string' && stderr.trim() ? stderr : String(error);
    return detail.trim().split('\n').at(-1) ?? detail;
  }
}

/** The policy, separate from the probe so it can be tested directly. */
export function decide(python: string, error: string | undefined, env: NodeJS.ProcessEnv): PyxnatCheck {
  if (error === undefined) return { run: true, python };
  const why = `pyxnat is not importable by ${python} (${error}); install it with: apt-get install python3-pyxnat`;
  return env.CI === 'true'
    ? { run: false, python, fail: `${why}. Under CI=true the pyxnat tests must run, not be skipped.` }
    : { run: false, python, skip: `pyxnat tests skipped: ${why}` };
}

export async function checkPyxnat(env: NodeJS.ProcessEnv = process.env): Promise<PyxnatCheck> {
  const python = env[PYTHON_OVERRIDE] || DEFAULT_PYTHON;
  return decide(python, await importError(python), env);
}

/**
 * For a test file's top level: the interpreter to run pyxnat with, or undefined after printing the
 * one-line reason to skip; throws (failing the file) when pyxnat is missing under CI=true.
 */
export async function pyxnatPython(): Promise<string | undefined> {
  const check = await checkPyxnat();
  if (check.run) return check.python;
  if ('fail' in check) throw new Error(check.fail);
  process.stderr.write(`${check.skip}\n`);
  return undefined;
}
