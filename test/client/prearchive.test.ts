/**
 * Prearchive session URLs as callers pass them (checked locally, never a crash on malformed text),
 * and archiving against the sandbox however XNAT's archiver answers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/client.js';
import { XnatBadRequestError } from '../../src/client/errors.js';
import { HttpClient, type HttpRequest, type HttpResponse } from '../../src/client/http.js';
import { archivePrearchive, prearchiveParts } from '../../src/client/prearchive.js';
import { XnatSession } from '../../src/client/session.js';
import { mrDicom } from '../fixtures/mr-dicom.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createZip } from '../../src/sandbox/zip.js';

describe('prearchiveParts', () => {
  it('splits a session URL with or without /data and decodes its parts', () => {
    expect(prearchiveParts('/data/prearchive/projects/P1/20240611_101128996/Sess%20A')).toEqual({
      project: 'P1',
      timestamp: '20240611_101128996',
      folderName: 'Sess A',
    });
    expect(prearchiveParts('/prearchive/projects/P1/20240611_101128996/S1/').folderName).toBe('S1');
  });

  it('refuses malformed percent-encoding and traversal with a clear error', () => {
    for (const bad of [
      '/prearchive/projects/P1/%E0%A4%A/S1',
      '/prearchive/projects/P1/20240611/%2E%2E',
      '/prearchive/projects/P1/S1',
    ]) {
      expect(() => prearchiveParts(bad)).toThrow(XnatBadRequestError);
    }
  });
});

describe('archivePrearchive against the sandbox under a context path', () => {
  let sandbox: RunningSandbox;
  let root: string;
  const stats = { requests: 0, logins: 0, retries: 0 };
  let http: HttpClient;
  let session: XnatSession;
  let client: XnatClient;

  beforeAll(async () => {
    sandbox = await startSandbox({ contextPath: '/xnat' });
    root = mkdtempSync(join(tmpdir(), 'xnat-prearchive-'));
    http = new HttpClient({ baseUrl: sandbox.url, timeoutMs: 30_000, stats });
    session = new XnatSession(http, { user: 'alice', password: 'alice123' }, { stats });
    client = new XnatClient({ url: sandbox.url, user: 'alice', password: 'alice123' });
  });
  afterAll(async () => {
    await client.close();
    await session.close();
    await http.close();
    await sandbox.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** Imports one synthetic study into BRAIN_MR's prearchive; returns its prearchive URL. */
  async function prearchived(study: number): Promise<string> {
    const uid = `1.2.826.0.1.3680043.8.499.91.${study}`;
    const zipPath = join(root, `study${study}.zip`);
    writeFileSync(
      zipPath,
      createZip([
        {
          name: '1.dcm',
          data: mrDicom({
            study: uid,
            series: 1,
            instance: 1,
            seriesDescription: 'T1',
            patientName: `DOE^REDIRECT ${study}`,
            patientId: `REDIR${study}`,
          }),
          modified: Date.UTC(2024, 4, 6),
        },
      ]),
    );
    const [uri] = (await client.importSession({ zipPath, project: 'BRAIN_MR', destination: 'prearchive' }))
      .uris;
    return uri!.replace(/^\/data/, '');
  }

  it('reads the archived session from the Location header of a 303 with an empty body', async () => {
    const src = await prearchived(1);
    // XNAT's Archiver answers `redirect=true` with 303 + Location only (as some auto-archive paths do).
    const redirecting = {
      request: (req: HttpRequest): Promise<HttpResponse> =>
        session.request({ ...req, query: { ...req.query, redirect: true } }),
    };
    const result = await archivePrearchive(redirecting, {
      session: src,
      subject: 'REDIR_SUBJ',
      label: 'REDIR_MR1',
    });
    const archived = await client.getExperiment('REDIR_MR1', { project: 'BRAIN_MR' });
    expect(result.experimentId).toBe(archived.id);
    expect(result.uris).toEqual([
      `/data/archive/projects/BRAIN_MR/subjects/${archived.subjectId}/experiments/${archived.id}`,
    ]);
  });

  it('reads the URI from the body when XNAT answers 200 with a uri-list', async () => {
    const src = await prearchived(2);
    const result = await client.archivePrearchive({
      session: src,
      subject: 'REDIR_SUBJ',
      label: 'REDIR_MR2',
    });
    const archived = await client.getExperiment('REDIR_MR2', { project: 'BRAIN_MR' });
    expect(result.experimentId).toBe(archived.id);
    expect(result.uris[0]).toMatch(
      new RegExp(`^/data/archive/projects/BRAIN_MR/subjects/[^/]+/experiments/${archived.id}$`),
    );
  });
});
