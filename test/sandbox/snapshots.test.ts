/**
 * The snapshot XAPI (SnapshotGenerationApi): a GIF of the scan's DICOM (one slice or a montage,
 * thumbnails at half size), written into the scan's SNAPSHOTS resource under XNAT's names and served
 * from there afterwards. The GIF is checked by an independent decoder (PIL) when it is installed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import type { StoredExperiment, StoredScan } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { syntheticSlice } from '../imaging/synthetic.js';
import { demoBasic } from './fixture.js';

let sandbox: RunningSandbox;
let session: StoredExperiment;
let scan: StoredScan;
const tmp = mkdtempSync(join(tmpdir(), 'xnat-snapshots-'));
const hasPil = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import PIL'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
  for (const e of sandbox.archive.experiments.values()) {
    const found = e.scans.find(
      (s) =>
        s.resources.some((r) => r.label === 'DICOM' && r.files.length > 2) &&
        !s.resources.some((r) => r.label === 'SNAPSHOTS'),
    );
    if (found && e.project === 'BRAIN_MR') {
      session = e;
      scan = found;
      break;
    }
  }
});

afterAll(async () => {
  await sandbox?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const get = (path: string): Promise<Response> =>
  fetch(`${sandbox.url}/xapi${path}`, { headers: { Authorization: demoBasic('alice') } });

/** Width and height from PIL, and the pixel range. */
function pil(gif: Buffer): { size: number[]; extrema: number[] } {
  const path = join(tmp, `s${Math.random().toString(36).slice(2)}.gif`);
  writeFileSync(path, gif);
  const script = `import json,sys\nfrom PIL import Image\ni=Image.open(sys.argv[1]).convert('L')\ni.load()\nprint(json.dumps({'size':i.size,'extrema':i.getextrema()}))`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8' })) as {
    size: number[];
    extrema: number[];
  };
}

describe('snapshot XAPI', () => {
  it('answers a GIF of one slice and writes it into SNAPSHOTS as XNAT names it', async () => {
    expect(scan).toBeDefined();
    const res = await get(`/projects/${session.project}/experiments/${session.id}/scan/${scan.id}/snapshot`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    const gif = Buffer.from(await res.arrayBuffer());
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    const size = [gif.readUInt16LE(6), gif.readUInt16LE(8)];
    const snapshots = scan.resources.find((r) => r.label === 'SNAPSHOTS');
    expect(snapshots?.format).toBe('GIF');
    expect(snapshots?.files.map((f) => [f.path, f.content, f.format])).toEqual([
      [`${session.id}_${scan.id}_qc.gif`, 'ORIGINAL', 'GIF'],
    ]);
    if (hasPil) {
      const decoded = pil(gif);
      expect(decoded.size).toEqual(size);
      expect(decoded.extrema[1]!).toBeGreaterThan(decoded.extrema[0]!);
    }
  });

  it('makes montages ({cols}X{rows}) and half-size thumbnails, each once', async () => {
    const one = await get(`/experiments/${session.id}/scan/${scan.id}/snapshot`);
    const single = Buffer.from(await one.arrayBuffer());
    const res = await get(`/experiments/${session.id}/scan/${scan.id}/snapshot/3X2`);
    expect(res.status).toBe(200);
    const montage = Buffer.from(await res.arrayBuffer());
    expect(montage.readUInt16LE(6)).toBe(3 * single.readUInt16LE(6));
    expect(montage.readUInt16LE(8)).toBe(2 * single.readUInt16LE(8));
    const thumb = Buffer.from(
      await (await get(`/experiments/${session.id}/scan/${scan.id}/thumbnail`)).arrayBuffer(),
    );
    expect(thumb.readUInt16LE(6)).toBe(Math.floor(single.readUInt16LE(6) / 2));
    await get(`/experiments/${session.id}/scan/${scan.id}/snapshot/3X2`);
    const names = scan.resources.find((r) => r.label === 'SNAPSHOTS')!.files.map((f) => [f.path, f.content]);
    expect(names).toEqual([
      [`${session.id}_${scan.id}_qc.gif`, 'ORIGINAL'],
      [`${session.id}_${scan.id}_3x2_qc.gif`, '3X2'],
      [`${session.id}_${scan.id}_qc_t.gif`, 'THUMBNAIL'],
    ]);
    if (hasPil) expect(pil(montage).size).toEqual([montage.readUInt16LE(6), montage.readUInt16LE(8)]);
  });

  it.skipIf(!hasPil)(
    'encodes every pixel: a noise slice decodes to its own min-max scaled values',
    async () => {
      const size = 200;
      const dicom = syntheticSlice({ size, k: 0, t: 0, instance: 1, volumes: 1 });
      const values: number[] = [];
      for (let i = 0; i < size * size; i++) {
        const v = (i * 7919 + ((i * i) % 9973)) % 4000;
        values.push(v);
        dicom.writeUInt16LE(v, dicom.length - size * size * 2 + i * 2);
      }
      const auth = { Authorization: demoBasic('alice') };
      const base = `${sandbox.url}/data/experiments/${session.id}/scans/NOISE`;
      expect(
        (await fetch(`${base}?xsiType=xnat:mrScanData`, { method: 'PUT', headers: auth })).status,
      ).toBeLessThan(300);
      const put = await fetch(`${base}/resources/DICOM/files/n.dcm?inbody=true&format=DICOM`, {
        method: 'PUT',
        headers: auth,
        body: dicom,
      });
      expect(put.status).toBeLessThan(300);
      const gif = Buffer.from(
        await (await get(`/experiments/${session.id}/scan/NOISE/snapshot`)).arrayBuffer(),
      );
      const path = join(tmp, 'noise.gif');
      writeFileSync(path, gif);
      const script = `import sys\nfrom PIL import Image\nsys.stdout.buffer.write(Image.open(sys.argv[1]).convert('L').tobytes())`;
      const pixels = execFileSync('/usr/bin/python3', ['-c', script, path]);
      const low = Math.min(...values);
      const high = Math.max(...values);
      expect([...pixels]).toEqual(values.map((v) => Math.round(((v - low) * 255) / (high - low))));
    },
  );

  it('answers 404 for a scan without DICOM and for an unknown scan', async () => {
    expect((await get(`/experiments/${session.id}/scan/NOPE/snapshot`)).status).toBe(404);
    const bare = session.scans.find((s) => !s.resources.some((r) => r.label === 'DICOM'));
    if (bare) expect((await get(`/experiments/${session.id}/scan/${bare.id}/snapshot`)).status).toBe(404);
  });
});
