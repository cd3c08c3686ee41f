/**
 * The policy of the browser tests: run when Debian's chromium is there, skip with one line saying
 * why and how to install it when it is not, and fail instead of skipping under CI=true.
 */
import { describe, expect, it } from 'vitest';
import { CHROMIUM, decide } from './chromium-available.js';

describe('the chromium availability check', () => {
  it('runs when the browser is there', () => {
    expect(decide(true, { CI: 'true' })).toEqual({ run: true });
  });

  it('skips with one line naming the browser and the install command', () => {
    const check = decide(false, {});
    const skip = 'skip' in check ? check.skip : '';
    expect(skip).toContain(CHROMIUM);
    expect(skip).toContain('apt-get install chromium');
    expect(skip).not.toContain('\n');
    expect(check).not.toHaveProperty('fail');
  });

  it('fails instead of skipping under CI=true', () => {
    const check = decide(false, { CI: 'true' });
    expect(check).not.toHaveProperty('skip');
    expect('fail' in check ? check.fail : '').toMatch(/apt-get install chromium.*CI=true/);
  });
});
