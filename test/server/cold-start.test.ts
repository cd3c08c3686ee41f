/**
 * The serve path loads only what answering `tools/list` needs: the sandbox, the HTTP transport, the
 * transfer modules, undici, the XML builder, the DICOM pixel decoders and the tools of toolsets that
 * are off load when a command, a call or enableToolsets first uses them. The
 * built CLI runs as a host starts it, with a module-load hook that names every module it loads.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

/** Registers a load hook that writes `LOADED <url>` to stderr for every module. */
const HOOK = `data:text/javascript,${encodeURIComponent(`
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(
  'export async function load(url, context, next) { process.stderr.write("LOADED " + url + "\\\\n"); return next(url, context); }'
));`)}`;

function modulesUntilToolsList(): Promise<{ loaded: string[]; tools: string[] }> {
  const child = spawn(
    process.execPath,
    ['--import', HOOK, CLI, 'serve', '--url', 'http://127.0.0.1:9', '--user', 'u', '--password', 'p'],
    { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const send = (msg: object): boolean => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...msg })}\n`);
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${stderr.slice(-500)}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const msg = JSON.parse(buffered.slice(0, nl)) as {
          id?: number;
          result?: { tools: Array<{ name: string }> };
        };
        buffered = buffered.slice(nl + 1);
        if (msg.id === 1) {
          send({ method: 'notifications/initialized' });
          send({ id: 2, method: 'tools/list' });
        } else if (msg.id === 2) {
          child.removeAllListeners('exit');
          child.kill();
          const loaded = [...stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]!);
          resolve({ loaded, tools: msg.result!.tools.map((t) => t.name) });
        }
      }
    });
    send({
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '0' } },
    });
  });
}

describe('cold start', () => {
  it('answers tools/list without loading the sandbox, the HTTP transport or transfer code', async () => {
    const { loaded, tools } = await modulesUntilToolsList();
    expect(tools).toContain('downloadFiles');
    // The hook sees our modules and the packages': an empty list below means something.
    expect(loaded.some((url) => url.endsWith('/dist/cli.js'))).toBe(true);
    expect(loaded.some((url) => url.includes('/node_modules/@modelcontextprotocol/sdk/'))).toBe(true);
    const unneeded = loaded.filter((url) =>
      /\/dist\/sandbox\/|\/dist\/transports\/http\.js|\/transfers\/(upload|download|zip-download)\.js|\/node_modules\/(undici|fast-xml-parser|@modelcontextprotocol\/ext-apps|dcmjs-imaging)\//.test(
        url,
      ),
    );
    expect(unneeded).toEqual([]);
    // Loaded on first use (an env file, a digest, an error's status text): each costs ms at start.
    const lazyPackages = loaded.filter((url) =>
      /^node:(crypto|http|zlib)$|\/node_modules\/dotenv\//.test(url),
    );
    expect(lazyPackages).toEqual([]);
    expect(loaded).toContain('node:fs');
    // The client facade loads every module but the HTTP layer and the session on a method's first
    // call; the serve path bypasses the barrel. Tool schemas name constants of the search, curation
    // and DICOM modules from client/vocabulary.js.
    const lazyClient = loaded.filter((url) =>
      /\/dist\/client\/(index|tokens|prearchive|search|search-runs|search-export|dicom|zipcheck|transfers\/(local|common)|containers\/index|curation\/(index|update)|imaging\/(index|scan-image|decode)|bids\/index|listings|items|files|lookups|site|access|reads|rows|rows-site|rows-csv|csv|models)\.js$/.test(
        url,
      ),
    );
    expect(loaded.some((url) => url.endsWith('/dist/client/session.js'))).toBe(true);
    expect(lazyClient).toEqual([]);
    // Tool modules of toolsets that are off load when enableToolsets switches them on.
    const otherToolsets = loaded.filter((url) =>
      /\/dist\/tools\/(query|qc|prearchive|access|bids|processing|copy)\.js$/.test(url),
    );
    expect(otherToolsets).toEqual([]);
    expect(loaded.some((url) => url.endsWith('/dist/tools/curate.js'))).toBe(true);
  });
});
