/**
 * The scan viewer, an MCP App (`io.modelcontextprotocol/ui`): one self-contained HTML page served
 * as the `ui://` resource that getScanImage's definition links. Hosts with MCP Apps show it with
 * the tool's result; it loads nothing from the network (no CSP domains declared), so ext-apps'
 * browser bundle and the viewer's script are inlined here, once, on first read.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WINDOW_PRESETS } from '../client/imaging/limits.js';
import { VERSION } from '../client/version.js';
import { SCAN_VIEWER_URI } from '../mcp/uris.js';
import { VIEWER_BODY, VIEWER_SCRIPT, VIEWER_STYLE } from './viewer-app.js';

/**
 * The MCP Apps HTML type (ext-apps' RESOURCE_MIME_TYPE, checked against it in test/ui): spelled out
 * because ext-apps' server module would load its whole App protocol at every start.
 */
export const APP_MIME_TYPE = 'text/html;profile=mcp-app';

/** The bundle's exports the viewer uses. */
const USED = ['App', 'applyDocumentTheme'];

/**
 * ext-apps' self-contained browser build (`app-with-deps`, an ES module with no imports), with its
 * closing `export{local as Name,...}` turned into a `McpApps` object: an inline module script can
 * neither be imported from nor import a second inline one, and a blob: or data: import would need
 * a CSP the host may not grant.
 */
function appBundle(): string {
  const require = createRequire(import.meta.url);
  const source = readFileSync(require.resolve('@modelcontextprotocol/ext-apps/app-with-deps'), 'utf8');
  const tail = /export\s*\{([^}]*)\}\s*;?\s*$/.exec(source);
  if (!tail) throw new Error('ext-apps app-with-deps: no closing export list (has its build changed?)');
  const names = new Map<string, string>();
  for (const item of tail[1]!.split(',')) {
    const [local, exported = local] = item.trim().split(/\s+as\s+/);
    if (local) names.set(exported!, local);
  }
  const missing = USED.filter((n) => !names.has(n));
  if (missing.length > 0) throw new Error(`ext-apps app-with-deps does not export ${missing.join(', ')}`);
  const object = USED.map((n) => `${n}: ${names.get(n)}`).join(', ');
  // `</script` would end the inline script early; the bundle holds none today, escaping is cheap.
  return `${source.slice(0, tail.index)}\nconst McpApps = { ${object} };\n`.replace(
    /<\/script/gi,
    '<\\/script',
  );
}

let page: string | undefined;

export function viewerHtml(): string {
  page ??= [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>XNAT scan viewer</title>',
    `<style>${VIEWER_STYLE}</style>`,
    '</head><body>',
    VIEWER_BODY,
    '<script type="module">',
    appBundle(),
    VIEWER_SCRIPT.replace('__PRESETS__', JSON.stringify(WINDOW_PRESETS)).replace(
      '__VERSION__',
      JSON.stringify(VERSION),
    ),
    '</script>',
    '</body></html>',
  ].join('\n');
  return page;
}

export function registerScanViewer(server: McpServer): void {
  server.registerResource(
    'scanViewer',
    SCAN_VIEWER_URI,
    {
      title: 'XNAT scan viewer',
      description:
        "getScanImage's interactive view (MCP Apps): slices, window/level, montage, quality rating",
      mimeType: APP_MIME_TYPE,
    },
    () => ({
      contents: [
        {
          uri: SCAN_VIEWER_URI,
          mimeType: APP_MIME_TYPE,
          text: viewerHtml(),
          // No domains: the page loads nothing (hosts then allow no network at all).
          _meta: { ui: { csp: {}, prefersBorder: true } },
        },
      ],
    }),
  );
}
