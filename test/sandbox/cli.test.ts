/**
 * `xnat-mcp sandbox` as scripts run it: the built CLI (`dist/cli.js`, built by `npm test`) in a child
 * process, base URL on the first stdout line, a clean exit on SIGTERM.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

function firstLine(child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      lines.close();
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited early with ${String(code)}`)));
  });
}

function exitCode(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('xnat-mcp sandbox', () => {
  it('prints the base URL first, serves a generated archive under the context path and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [CLI, 'sandbox', '--context-path', '/xnat', '--generate-experiments', '7'],
      {
        stdio: 'pipe',
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const url = await firstLine(child);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/xnat$/);

    const response = await fetch(`${url}/data/experiments?format=json`, {
      headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ResultSet: { totalRecords: string } };
    expect(body.ResultSet.totalRecords).toBe('7');
    expect(stderr).toContain('alice');

    const exited = exitCode(child);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('rejects bad options with a usage message and exit code 2', async () => {
    const child = spawn(process.execPath, [CLI, 'sandbox', '--port', 'abc'], { stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exitCode(child)).toBe(2);
    expect(stderr).toContain('--port must be');
  });
});
