/**
 * The BIDS validator (npm bids-validator 1.15.0), pinned with its heavy dependencies in
 * .ci/bids-validator, out of the project's own package.json. .ci/run installs it; a developer's first
 * run installs it on demand with `npm ci` (the lockfile decides), CI without it fails.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PREFIX = fileURLToPath(new URL('../../.ci/bids-validator/', import.meta.url));
const BIN = join(PREFIX, 'node_modules', 'bids-validator', 'bin', 'bids-validator');

export interface ValidatorIssue {
  code: number;
  key: string;
  reason: string;
  files: string[];
}

async function validatorBin(): Promise<string> {
  if (existsSync(BIN)) return BIN;
  if (process.env.CI === 'true') {
    throw new Error(
      'bids-validator is not installed: .ci/run installs it (npm ci --prefix .ci/bids-validator)',
    );
  }
  await run('npm', ['ci', '--prefix', PREFIX, '--no-audit', '--no-fund'], { timeout: 900_000 });
  return BIN;
}

/** Validates a dataset folder; errors and warnings with the files each concerns. */
export async function validateBids(
  dir: string,
): Promise<{ errors: ValidatorIssue[]; warnings: ValidatorIssue[] }> {
  const bin = await validatorBin();
  // Exit status 1 means "errors found": the JSON report says which.
  const { stdout } = await run(process.execPath, [bin, '--json', dir], { maxBuffer: 64 * 1024 * 1024 }).catch(
    (err: { stdout?: string; stderr?: string }) => {
      if (!err.stdout) throw new Error(`bids-validator failed: ${err.stderr ?? String(err)}`);
      return { stdout: err.stdout };
    },
  );
  const report = JSON.parse(stdout) as {
    issues: Record<
      'errors' | 'warnings',
      Array<{ code: number; key: string; reason: string; files: Array<{ file?: { relativePath?: string } }> }>
    >;
  };
  const issues = (list: (typeof report.issues)['errors']): ValidatorIssue[] =>
    list.map((i) => ({
      code: i.code,
      key: i.key,
      reason: i.reason,
      files: i.files.map((f) => f.file?.relativePath ?? '').filter((f) => f !== ''),
    }));
  return { errors: issues(report.issues.errors), warnings: issues(report.issues.warnings) };
}
