// The benches' XNAT: the built CLI's sandbox in its own process, so its CPU and memory are not the
// measured process's. Resolves with its URL once it prints it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'dist', 'cli.js');

/** Starts `xnat-mcp sandbox --port 0`; `child` is for stopping it. */
export function startSandbox() {
  const child = spawn(process.execPath, [cli, 'sandbox', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sandbox exited with code ${code}`)));
    createInterface({ input: child.stdout }).once('line', (url) => resolve({ url: url.trim(), child }));
  });
}
