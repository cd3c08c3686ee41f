/**
 * Whether the browser tests can run: they drive Debian's chromium (apt-get install chromium) with
 * playwright-core. Without it they are skipped with one line saying why, except under CI=true,
 * where a missing browser fails the file: CI must never silently skip them.
 */
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

export type ChromiumCheck = { run: true } | { run: false; skip: string } | { run: false; fail: string };

/** The policy, separate from the probe so it can be tested directly. */
export function decide(present: boolean, env: NodeJS.ProcessEnv): ChromiumCheck {
  if (present) return { run: true };
  const why = `${CHROMIUM} is missing; install it with: apt-get install chromium`;
  return env.CI === 'true'
    ? { run: false, fail: `${why}. Under CI=true the browser tests must run, not be skipped.` }
    : { run: false, skip: `browser tests skipped: ${why}` };
}

/** For a test file's top level: the browser's path, or undefined after printing why not; throws under CI=true. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const check = decide(existsSync(CHROMIUM), env);
  if (check.run) return CHROMIUM;
  if ('fail' in check) throw new Error(check.fail);
  process.stderr.write(`${check.skip}\n`);
  return undefined;
}
