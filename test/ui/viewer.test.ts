/**
 * The scan viewer (an MCP App) in headless Chromium, inside a minimal test host (host.html/host.js)
 * that speaks the MCP Apps bridge and relays the app's tools/call to a real SDK Client connected to
 * our server over Streamable HTTP against the sandbox. The app shows the slice, pages through
 * slices, switches to a montage and a window, and a click records the scan's quality, read back
 * from the sandbox.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from '@modelcontextprotocol/ext-apps/server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import { APP_RESOURCE_URI_KEY } from '../../src/mcp/define.js';
import { APP_MIME_TYPE } from '../../src/resources/viewer.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { startHttpServer, type RunningHttpServer } from '../../src/transports/http.js';
import { ALICE } from '../server/helpers.js';
import { chromiumPath } from './chromium-available.js';

const BROWSER = chromiumPath();
const VIEWER = 'ui://xnat-mcp/scan-viewer.html';
const SCAN = { project: 'BRAIN_MR', experiment: 'BMR001_MR1', scan: '2' };

let sandbox: RunningSandbox;
let xnat: XnatClient;
let http: RunningHttpServer;
let mcp: Client;
let tools: Tool[];
let host: Server;
let browser: Browser;
let page: Page;
let app: Frame;
/** Every tools/call the host relayed, in order, and the page's network requests. */
const calls: Array<{ name: string; args: Record<string, unknown> }> = [];
const requests: string[] = [];
let first: CallToolResult;

/** The host's side of a tools/call: only tools the app may call (spec: visibility includes "app"). */
async function hostCallTool(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const tool = tools.find((t) => t.name === name);
  const visibility = (tool?._meta?.ui as { visibility?: string[] } | undefined)?.visibility;
  if (!tool || (visibility && !visibility.includes('app')))
    throw new Error(`tool ${name} is not callable by the app`);
  calls.push({ name, args });
  return (await mcp.callTool({ name, arguments: args })) as CallToolResult;
}

function serveHost(appHtml: string, config: unknown): Promise<Server> {
  const files: Record<string, [string, string]> = {
    '/': ['text/html', readFileSync(join(import.meta.dirname, 'host.html'), 'utf8')],
    '/host.js': ['text/javascript', readFileSync(join(import.meta.dirname, 'host.js'), 'utf8')],
    '/app.html': ['text/html', appHtml],
    '/config.json': ['application/json', JSON.stringify(config)],
  };
  const server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    res.writeHead(file ? 200 : 404, { 'content-type': file?.[0] ?? 'text/plain' });
    res.end(file?.[1] ?? 'not found');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  if (BROWSER === undefined) return;
  sandbox = await startSandbox({ archive: createDemoArchive() });
  xnat = new XnatClient({ url: sandbox.url, ...ALICE });
  http = await startHttpServer(
    { client: xnat },
    { toolsets: ['core', 'browse', 'imaging', 'qc'] },
    { port: 0 },
  );
  mcp = new Client({ name: 'viewer-test', version: '0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(http.url)));
  tools = (await mcp.listTools()).tools;
  const resource = await mcp.readResource({ uri: VIEWER });
  const html = (resource.contents[0] as { text: string }).text;
  const args = { ...SCAN, mode: 'slice' };
  host = await serveHost(html, { tool: 'getScanImage', arguments: args });
  browser = await chromium.launch({ executablePath: BROWSER, args: ['--no-sandbox'] });
  page = await browser.newPage();
  page.on('request', (r) => requests.push(r.url()));
  await page.exposeFunction('hostCallTool', async (name: string, a: Record<string, unknown>) => {
    const result = await hostCallTool(name, a);
    first ??= result;
    return result;
  });
  await page.goto(`http://127.0.0.1:${(host.address() as AddressInfo).port}/`);
  const handle = await page.waitForSelector('iframe#app');
  app = (await handle.contentFrame())!;
  await app.waitForSelector('canvas#image[data-slice]', { timeout: 60_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (host ? host.close(resolve) : resolve(undefined)));
  await mcp?.close();
  await http?.close();
  await xnat?.close();
  await sandbox?.close();
});

/**
 * What the app's canvas shows: size, share of non-black pixels and distinct grey levels. Page code
 * is passed as text: this project's TypeScript has no DOM types.
 */
const CANVAS_STATS = `(() => {
  const canvas = document.getElementById('image');
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  const levels = new Set();
  let lit = 0;
  for (let i = 0; i < data.length; i += 4) {
    levels.add(data[i]);
    if (data[i] > 16) lit++;
  }
  return { width: canvas.width, height: canvas.height, lit: lit / (data.length / 4), levels: levels.size };
})()`;
const canvasStats = (): Promise<{ width: number; height: number; lit: number; levels: number }> =>
  app.evaluate(CANVAS_STATS);

const dataset = (): Promise<Record<string, string>> =>
  app.evaluate(`({ ...document.getElementById('image').dataset })`);

describe.skipIf(BROWSER === undefined)('scan viewer (MCP App) in Chromium', () => {
  it('is linked from getScanImage and served as a self-contained mcp-app resource', async () => {
    // Our spelled-out names are ext-apps' own.
    expect([APP_RESOURCE_URI_KEY, APP_MIME_TYPE]).toEqual([RESOURCE_URI_META_KEY, RESOURCE_MIME_TYPE]);
    const tool = tools.find((t) => t.name === 'getScanImage');
    expect(tool?._meta).toMatchObject({ ui: { resourceUri: VIEWER }, 'ui/resourceUri': VIEWER });
    const { contents } = await mcp.readResource({ uri: VIEWER });
    expect(contents[0]).toMatchObject({ uri: VIEWER, mimeType: 'text/html;profile=mcp-app' });
    const html = (contents[0] as { text: string }).text;
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/i);
    // Hosts without apps: the result still carries the image content.
    expect(first.content.map((c) => c.type)).toEqual(['text', 'image']);
  });

  it('shows the slice the tool rendered, with nothing loaded from the network', async () => {
    const out = first.structuredContent as { width: number; height: number; slices: number[] };
    expect(await dataset()).toMatchObject({ mode: 'slice', slice: String(out.slices[0]) });
    const stats = await canvasStats();
    expect(stats).toMatchObject({ width: out.width, height: out.height });
    expect(stats.lit).toBeGreaterThan(0.1);
    expect(stats.levels).toBeGreaterThan(20);
    const origin = new URL(page.url()).origin;
    expect(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('about:'))).toEqual([]);
    expect(await page.evaluate('window.hostSeen')).toContain('ui/notifications/initialized');
  });

  it('pages through slices, switches to a montage and applies a window, through tools/call', async () => {
    const start = Number((await dataset()).slice);
    await app.click('#next');
    await app.waitForSelector(`canvas#image[data-slice="${start + 1}"]`);
    expect(calls.at(-1)).toMatchObject({ name: 'getScanImage', args: { mode: 'slice', slice: start + 1 } });

    await app.click('#modeMontage');
    await app.waitForSelector('canvas#image[data-mode="montage"]');
    const montage = await canvasStats();
    expect(montage.lit).toBeGreaterThan(0.05);

    await app.fill('#center', '300');
    await app.fill('#width', '400');
    await app.click('#applyWindow');
    await app.waitForSelector('#status:has-text("window 300/400")');
    expect(calls.at(-1)).toMatchObject({
      name: 'getScanImage',
      args: { mode: 'montage', window: { center: 300, width: 400 } },
    });
  });

  it('records the scan quality and note with one click, read back from the sandbox', async () => {
    await app.fill('#note', 'ringing at the vertex');
    await app.click('button[data-quality="unusable"]');
    await app.waitForSelector('#status[data-kind="done"]');
    expect(calls.at(-1)).toEqual({
      name: 'recordQc',
      args: { action: 'rateScan', ...SCAN, quality: 'unusable', note: 'ringing at the vertex' },
    });
    expect(await app.textContent('#status')).toMatch(/Recorded scan 2 of BMR001_MR1: .* → unusable/);
    // The model hears of the click through the host's context update.
    await page.waitForFunction('window.hostModelContext.length > 0');
    expect(await page.evaluate('window.hostModelContext')).toEqual([
      {
        content: [
          {
            type: 'text',
            text: expect.stringMatching(
              /^In the scan viewer the user rated scan 2 of BMR001_MR1 unusable \(note: ringing at the vertex\)\. Recorded/,
            ),
          },
        ],
      },
    ]);
    const session = await xnat.getExperiment(SCAN.experiment, { project: SCAN.project });
    expect(session.scans.find((s) => s.id === SCAN.scan)).toMatchObject({
      quality: 'unusable',
      note: 'ringing at the vertex',
    });
  });
});
