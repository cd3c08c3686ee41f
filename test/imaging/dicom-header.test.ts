/**
 * getDicomHeader end to end: an MCP client over Streamable HTTP, the server from the one factory and
 * the sandbox's dicomdump service over loopback HTTP. The header the tool returns must match what
 * pydicom (a DICOM reader nobody here wrote) reads from the same file, downloaded through the client.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/index.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { startHttpServer, type RunningHttpServer } from '../../src/transports/http.js';
import { ALICE, textOf } from '../server/helpers.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./dicom_elements.py', import.meta.url));

interface Element {
  tag: string;
  parent?: string;
  vr: string;
  name: string;
  value?: string;
  private?: boolean;
}
interface HeaderOut {
  experiment: string;
  project: string;
  scan: string;
  instances: number;
  file?: string;
  instance?: number;
  compared?: Array<{ file: string; instance: number }>;
  elements: Element[];
  varying?: Array<Element & { values: string[] }>;
}

let sandbox: RunningSandbox;
let xnat: XnatClient;
let http: RunningHttpServer;
let mcp: Client;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
  xnat = new XnatClient({ url: sandbox.url, ...ALICE });
  http = await startHttpServer({ client: xnat }, {}, { port: 0 });
  mcp = new Client({ name: 'dicom-test', version: '0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(http.url)));
  await mcp.listTools();
  dir = mkdtempSync(join(tmpdir(), 'xnat-mcp-dicom-'));
});

afterAll(async () => {
  await mcp?.close();
  await http?.close();
  await xnat?.close();
  await sandbox?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function header(args: Record<string, unknown>): Promise<{ out: HeaderOut; text: string }> {
  const result = (await mcp.callTool({ name: 'getDicomHeader', arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(textOf(result));
  return { out: result.structuredContent as unknown as HeaderOut, text: textOf(result) };
}

async function failure(args: Record<string, unknown>): Promise<string> {
  const result = (await mcp.callTool({ name: 'getDicomHeader', arguments: args })) as CallToolResult;
  expect(result.isError).toBe(true);
  return textOf(result);
}

/** pydicom's reading of a file of the scan, downloaded through the client. */
async function pydicomElements(experiment: string, scan: string, file: string): Promise<Element[]> {
  const files = await xnat.listFiles({ experiment, scan, resource: 'DICOM' });
  const wanted = files.filter((f) => f.name === file);
  expect(wanted).toHaveLength(1);
  const target = join(dir, `${experiment}-${scan}`);
  const downloaded = await xnat.download({ files: wanted, destDir: target, layout: 'flat', overwrite: true });
  const path = downloaded.files[0]?.localPath ?? '';
  const { stdout } = await run(PYTHON, [SCRIPT, path]);
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Element & { parent: string | null })
    .map(({ parent, ...e }) => (parent === null ? e : { ...e, parent }));
}

const comparable = (elements: Element[]) =>
  elements.map((e) => ({
    tag: e.tag,
    ...(e.parent ? { parent: e.parent } : {}),
    vr: e.vr,
    value: e.value ?? '',
  }));

describe('getDicomHeader', () => {
  it('reads the first file of a scan, field for field as pydicom reads it', async () => {
    const { out, text } = await header({ experiment: 'BMR001_MR1', project: 'BRAIN_MR', scan: '2' });
    expect(out).toMatchObject({ project: 'BRAIN_MR', scan: '2', instance: 1, instances: 48 });
    expect(out.elements.find((e) => e.tag === '(0018,0080)')).toMatchObject({
      vr: 'DS',
      name: 'Repetition Time',
      value: '2300',
    });
    expect(comparable(out.elements)).toEqual(
      comparable(await pydicomElements(out.experiment, '2', out.file ?? '')),
    );
    expect(text).toContain('(0018,0080) DS Repetition Time = 2300');
  });

  it('reads a file by position, with its sequence items nested under their parent', async () => {
    const { out } = await header({ experiment: 'BMR001_MR1', project: 'BRAIN_MR', scan: '2', instance: 2 });
    expect(out.instance).toBe(2);
    const nested = out.elements.filter((e) => e.parent === '(0008,1140)');
    expect(nested.map((e) => e.tag)).toEqual(['(0008,1150)', '(0008,1155)']);
    expect(comparable(out.elements)).toEqual(
      comparable(await pydicomElements(out.experiment, '2', out.file ?? '')),
    );
    const byName = await header({ experiment: out.experiment, scan: '2', file: out.file });
    expect(byName.out.elements).toEqual(out.elements);
  });

  it('filters by keyword and by tag in any spelling', async () => {
    const { out } = await header({
      experiment: 'BMR001_MR1',
      project: 'BRAIN_MR',
      scan: '2',
      fields: ['EchoTime', '(0018,0080)', '0018,1314', '00200013'],
    });
    expect(out.elements.map((e) => [e.tag, e.value])).toEqual([
      ['(0018,0080)', '2300'],
      ['(0018,0081)', '2.98'],
      ['(0018,1314)', '9'],
      ['(0020,0013)', '1'],
    ]);
  });

  it('compares the files of a series: what varies and what is the same', async () => {
    const { out, text } = await header({
      experiment: 'BMR001_MR1',
      project: 'BRAIN_MR',
      scan: '2',
      compare: true,
    });
    // 48 slices: the first, the last and evenly between, 16 in all.
    const sampled = [1, 4, 7, 10, 14, 17, 20, 23, 26, 29, 32, 35, 39, 42, 45, 48];
    expect(out.compared?.map((c) => c.instance)).toEqual(sampled);
    const varying = new Map(out.varying?.map((e) => [e.tag, e.values]));
    expect(varying.get('(0020,0013)')).toEqual(sampled.map(String));
    // Sagittal slices 3 mm apart, centred on the head.
    expect(varying.get('(0020,1041)')).toEqual(sampled.map((n) => String(3 * n - 73.5)));
    // Every instance but the first refers to the image before it.
    const series = out.elements.find((e) => e.tag === '(0020,000E)')?.value;
    expect(series).toBeTruthy();
    expect(varying.get('(0008,1140)')?.[0]).toBe('');
    expect(varying.get('(0008,1155)')).toEqual(['', ...sampled.slice(1).map((n) => `${series}.${n - 1}`)]);
    expect(out.elements.find((e) => e.tag === '(0018,0080)')?.value).toBe('2300');
    expect(out.elements.some((e) => e.tag === '(0020,0013)')).toBe(false);
    expect(text).toMatch(/Differ:\n[\s\S]*\(0020,0013\) IS Instance Number: 1 \| 4 \| 7 \| 10 \|/);
  });

  it('names the next step for a bad scan, a bad field and an instance out of range', async () => {
    expect(await failure({ experiment: 'BMR001_MR1', project: 'BRAIN_MR', scan: '99' })).toMatch(
      /Scan "99" is not in experiment XNAT_E\d+; its scans are 1, 2, 3, 4, 5, 6$/,
    );
    expect(
      await failure({ experiment: 'BMR001_MR1', project: 'BRAIN_MR', scan: '2', fields: ['(00,80)'] }),
    ).toContain('RepetitionTime');
    expect(
      await failure({ experiment: 'BMR001_MR1', project: 'BRAIN_MR', scan: '2', instance: 49 }),
    ).toContain('between 1 and 48');
    expect(
      await failure({ experiment: 'BMR001_MR1', project: 'BRAIN_MR', scan: '2', instance: 1, compare: true }),
    ).toContain('leave out instance');
  });
});
