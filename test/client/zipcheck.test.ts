/** Local zip checks and packing: a missing or unreadable input is a clear XnatLocalFileError. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { XnatLocalFileError } from '../../src/client/errors.js';
import { checkZip, storedZip } from '../../src/client/zipcheck.js';

const dir = mkdtempSync(join(tmpdir(), 'xnat-zipcheck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('local zip files', () => {
  it('says which zip is missing instead of failing with a bare file-system error', async () => {
    const missing = join(dir, 'missing.zip');
    const error = await checkZip(missing).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(XnatLocalFileError);
    expect((error as Error).message).toBe(`Cannot read ${missing}: it does not exist`);
  });

  it('says which file to pack is missing', async () => {
    const present = join(dir, 'a.dcm');
    writeFileSync(present, 'DICM');
    const missing = join(dir, 'gone.dcm');
    const error = await storedZip([
      { localPath: present, name: 'a.dcm' },
      { localPath: missing, name: 'gone.dcm' },
    ]).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(XnatLocalFileError);
    expect((error as Error).message).toBe(`Cannot read ${missing}: it does not exist`);
  });
});
