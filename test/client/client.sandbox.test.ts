/**
 * XnatClient against the XNAT sandbox over loopback HTTP. Expected values are derived from the
 * archive the sandbox serves, never written in by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/client.js';
import {
  XnatAuthenticationError,
  XnatBadRequestError,
  XnatCancelledError,
  XnatNotFoundError,
  XnatPermissionError,
} from '../../src/client/errors.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import type {
  SandboxArchive,
  StoredExperiment,
  StoredResource,
  StoredSubject,
} from '../../src/sandbox/model.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';

let sandbox: RunningSandbox;
let archive: SandboxArchive;
const clients: XnatClient[] = [];

function connect(user = 'alice', password = `${user}123`, url = sandbox.url): XnatClient {
  const client = new XnatClient({ url, user, password });
  clients.push(client);
  return client;
}

function subjectsIn(project: string): StoredSubject[] {
  return [...archive.subjects.values()].filter(
    (s) => s.project === project || s.shares.some((share) => share.project === project),
  );
}

/** Sessions and other subject assessors (what project experiment listings return). */
function sessionsIn(project: string): StoredExperiment[] {
  return [...archive.experiments.values()].filter(
    (e) =>
      e.imageSessionId === '' &&
      (e.project === project || e.shares.some((share) => share.project === project)),
  );
}

function fileCount(resources: StoredResource[]): number {
  return resources.reduce((sum, r) => sum + r.files.length, 0);
}

function experimentByLabel(project: string, label: string): StoredExperiment {
  const found = [...archive.experiments.values()].find((e) => e.project === project && e.label === label);
  if (!found) throw new Error(`no experiment ${label} in ${project}`);
  return found;
}

beforeAll(async () => {
  archive = createDemoArchive();
  sandbox = await startSandbox({ archive });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sandbox.close();
});

describe('projects and identity', () => {
  it('reports who is logged in and lists the projects a user may see', async () => {
    const alice = connect();
    const info = await alice.serverInfo();
    expect(info.user).toBe('alice');
    expect(info.url).toBe(sandbox.url.replace(/\/$/, ''));
    expect(info.version).not.toBe('');
    const ids = (await alice.listProjects()).map((p) => p.id).sort();
    const visible = [...archive.projects.values()]
      .filter((p) => p.accessibility !== 'private' || p.users.alice !== undefined)
      .map((p) => p.id)
      .sort();
    expect(ids).toEqual(visible);
  });

  it('details a project with exact counts in at most three requests', async () => {
    const alice = connect();
    await alice.serverInfo(); // log in first so only the project requests are counted
    const before = alice.stats.requests;
    const detail = await alice.getProject('BRAIN_MR');
    expect(alice.stats.requests - before).toBeLessThanOrEqual(3);
    const stored = archive.projects.get('BRAIN_MR')!;
    expect(detail).toMatchObject({
      id: stored.id,
      name: stored.name,
      description: stored.description,
      keywords: stored.keywords,
      piFirstname: stored.piFirstname,
      piLastname: stored.piLastname,
      aliases: stored.aliases,
      fields: stored.fields,
    });
    expect(detail.subjectCount).toBe(subjectsIn('BRAIN_MR').length);
    expect(detail.experimentCount).toBe(sessionsIn('BRAIN_MR').length);
    const types: Record<string, number> = {};
    for (const e of sessionsIn('BRAIN_MR')) types[e.xsiType] = (types[e.xsiType] ?? 0) + 1;
    expect(detail.experimentTypes).toEqual(types);
  });

  it('hides private projects (404) and refuses unreadable data of a visible project', async () => {
    const dave = connect('dave');
    await expect(dave.getProject('PEDS_DTI')).rejects.toBeInstanceOf(XnatNotFoundError);
    expect((await dave.listProjects()).map((p) => p.id)).not.toContain('PEDS_DTI');
    // A protected project is listed, but its data is not readable: XNAT answers 403 (xnat-rest.md §9.2).
    await expect(dave.listSubjects({ project: 'BRAIN_MR' })).rejects.toBeInstanceOf(XnatPermissionError);
  });
});

describe('current user', () => {
  it("is asked once for concurrent callers, and one caller's cancellation is its own", async () => {
    const alice = connect();
    const cancel = new AbortController();
    const cancelled = alice.currentUser({ signal: cancel.signal });
    const waiting = alice.currentUser();
    cancel.abort();
    await expect(cancelled).rejects.toBeInstanceOf(XnatCancelledError);
    await expect(waiting).resolves.toBe('alice');
    const before = alice.stats.requests;
    await expect(alice.currentUser()).resolves.toBe('alice');
    expect(alice.stats.requests).toBe(before);
  });
});

describe('paged listings', () => {
  it('pages subjects one request per page, counting only when asked', async () => {
    const alice = connect();
    await alice.serverInfo();
    const expected = subjectsIn('BRAIN_MR')
      .map((s) => s.id)
      .sort();
    const seen: string[] = [];
    let request: { limit: number; offset: number; knownTotal?: number; count?: boolean } = {
      limit: 5,
      offset: 0,
      count: true,
    };
    let pages = 0;
    for (;;) {
      const before = alice.stats.requests;
      const page = await alice.listSubjects({ project: 'BRAIN_MR', ...request });
      const spent = alice.stats.requests - before;
      // The first full page counts (asked for); later pages reuse knownTotal.
      expect(spent).toBe(pages === 0 ? 2 : 1);
      expect(page.total).toBe(expected.length);
      seen.push(...page.items.map((s) => s.id));
      pages++;
      if (page.nextOffset === undefined) break;
      request = { limit: 5, offset: page.nextOffset, knownTotal: page.total! };
    }
    expect(pages).toBe(Math.ceil(expected.length / 5));
    expect(seen.sort()).toEqual(expected);

    // Uncounted: one request per page, the total known only once the last page shows it.
    const uncounted: string[] = [];
    for (let offset: number | undefined = 0; offset !== undefined;) {
      const before = alice.stats.requests;
      const page = await alice.listSubjects({ project: 'BRAIN_MR', limit: 5, offset });
      expect(alice.stats.requests - before).toBe(1);
      uncounted.push(...page.items.map((s) => s.id));
      expect(page.total).toBe(page.nextOffset === undefined ? expected.length : undefined);
      offset = page.nextOffset;
    }
    expect(uncounted.sort()).toEqual(expected);
  });

  it('filters subjects and experiments server-side', async () => {
    const alice = connect();
    const patients = await alice.listSubjects({ project: 'BRAIN_MR', group: 'patient', limit: 1000 });
    const expectedPatients = subjectsIn('BRAIN_MR').filter((s) => s.group === 'patient');
    expect(patients.items.map((s) => s.id).sort()).toEqual(expectedPatients.map((s) => s.id).sort());
    expect(patients.total).toBe(expectedPatients.length);

    const labelled = await alice.listExperiments({ project: 'BRAIN_MR', label: 'BMR01*' });
    const expectedLabels = sessionsIn('BRAIN_MR')
      .filter((e) => e.project === 'BRAIN_MR' && e.label.startsWith('BMR01'))
      .map((e) => e.label)
      .sort();
    expect(labelled.items.map((e) => e.label).sort()).toEqual(expectedLabels);

    const from = '2022-01-01';
    const to = '2022-12-31';
    const inRange = (e: StoredExperiment): boolean => e.date >= from && e.date <= to;
    const dated = await alice.listExperiments({
      project: 'BRAIN_MR',
      dateFrom: from,
      dateTo: to,
      limit: 1000,
    });
    expect(dated.items.map((e) => e.id).sort()).toEqual(
      sessionsIn('BRAIN_MR')
        .filter(inRange)
        .map((e) => e.id)
        .sort(),
    );
    const since = await alice.listExperiments({ project: 'BRAIN_MR', dateFrom: from, limit: 1000 });
    expect(since.total).toBe(sessionsIn('BRAIN_MR').filter((e) => e.date >= from).length);
    const until = await alice.listExperiments({ project: 'BRAIN_MR', dateTo: to, limit: 1000 });
    expect(until.total).toBe(sessionsIn('BRAIN_MR').filter((e) => e.date !== '' && e.date <= to).length);

    await expect(
      alice.listExperiments({ project: 'BRAIN_MR', dateFrom: '01/02/2022' }),
    ).rejects.toBeInstanceOf(XnatBadRequestError);
  });

  it("lists a subject's experiments site-wide by accession ID, and explains labels need a project", async () => {
    const alice = connect();
    const subject = subjectsIn('BRAIN_MR').find((s) => s.project === 'BRAIN_MR')!;
    const page = await alice.listExperiments({ subject: subject.id, limit: 1000 });
    const expected = [...archive.experiments.values()].filter((e) => e.subjectId === subject.id);
    expect(page.items.map((e) => e.id).sort()).toEqual(expected.map((e) => e.id).sort());
    const err = await alice.getSubject(subject.label).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XnatNotFoundError);
    expect((err as Error).message).toMatch(/pass the project/);
  });

  it("lists a subject's experiments with subject labels", async () => {
    const alice = connect();
    const subject = subjectsIn('BRAIN_MR').find((s) => s.project === 'BRAIN_MR')!;
    const page = await alice.listExperiments({ project: 'BRAIN_MR', subject: subject.label });
    const expected = sessionsIn('BRAIN_MR').filter((e) => e.subjectId === subject.id);
    expect(page.items.map((e) => e.id).sort()).toEqual(expected.map((e) => e.id).sort());
    for (const e of page.items)
      expect(e).toMatchObject({ subjectId: subject.id, subjectLabel: subject.label, project: 'BRAIN_MR' });
  });
});

describe('large projects', () => {
  let big: RunningSandbox;
  let bigArchive: SandboxArchive;

  beforeAll(async () => {
    const { generateArchive } = await import('../../src/sandbox/generate.js');
    bigArchive = generateArchive({ experiments: 1200 });
    big = await startSandbox({ archive: bigArchive });
  });
  afterAll(async () => {
    await big.close();
  });

  it('iterates every experiment with exactly one request per page', async () => {
    const alice = connect('alice', 'alice123', big.url);
    await alice.serverInfo();
    const before = alice.stats.requests;
    const ids: string[] = [];
    for await (const e of alice.iterateExperiments({ project: 'BIG', pageSize: 250 })) ids.push(e.id);
    const expected = [...bigArchive.experiments.values()].filter((e) => e.project === 'BIG').map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(expected.sort());
    expect(alice.stats.requests - before).toBe(Math.floor(expected.length / 250) + 1);
  });

  it('serves every page in one request, counting the total only when asked', async () => {
    const alice = connect('alice', 'alice123', big.url);
    const total = [...bigArchive.experiments.values()].filter((e) => e.project === 'BIG').length;
    await alice.currentUser(); // logged in: what follows is listing requests only
    let sandboxBefore = big.stats.requests;
    const first = await alice.listExperiments({ project: 'BIG', limit: 100 });
    expect(big.stats.requests - sandboxBefore).toBe(1);
    expect(first.total).toBeUndefined();
    expect(first.items).toHaveLength(100);
    expect(first.nextOffset).toBe(100);
    const counted = await alice.listExperiments({ project: 'BIG', limit: 100, count: true });
    expect(counted.total).toBe(total);
    expect(counted.items.map((e) => e.id)).toEqual(first.items.map((e) => e.id));
    sandboxBefore = big.stats.requests;
    const last = await alice.listExperiments({
      project: 'BIG',
      limit: 100,
      offset: total - 50,
      knownTotal: counted.total!,
    });
    expect(big.stats.requests - sandboxBefore).toBe(1);
    expect(last.items).toHaveLength(50);
    expect(last.total).toBe(total);
    expect(last.nextOffset).toBeUndefined();
    // A page ending exactly at the end says so without a total to compare against.
    const exact = await alice.listExperiments({ project: 'BIG', limit: 50, offset: total - 50 });
    expect(exact).toMatchObject({ total, offset: total - 50 });
    expect(exact.nextOffset).toBeUndefined();
  });
});

describe('addressing by ID or label, shared objects', () => {
  it('resolves an experiment by label in its project and by accession ID alone', async () => {
    const alice = connect();
    const stored = experimentByLabel('BRAIN_MR', 'MR 2023-03 Ünal');
    const byLabel = await alice.getExperiment(stored.label, { project: 'BRAIN_MR' });
    const byId = await alice.getExperiment(stored.id);
    expect(byLabel.id).toBe(stored.id);
    expect(byId.label).toBe(stored.label);
    expect(byId.scans.map((s) => s.id)).toEqual(byLabel.scans.map((s) => s.id));
    const err = await alice.getExperiment(stored.label).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XnatNotFoundError);
    expect((err as Error).message).toMatch(/pass the project/);
  });

  it('never lets an identifier escape its path segment', async () => {
    const alice = connect();
    for (const tricky of ['../BRAIN_MR', 'BMR001/experiments', 'a?b=c', '#x']) {
      await expect(alice.getSubject(tricky, { project: 'BRAIN_MR' })).rejects.toBeInstanceOf(
        XnatNotFoundError,
      );
    }
    await expect(alice.getSubject('..', { project: 'BRAIN_MR' })).rejects.toBeInstanceOf(XnatBadRequestError);
  });

  it('shows a shared subject under its label in the sharing project', async () => {
    const bob = connect('bob');
    const shared = [...archive.subjects.values()].find((s) =>
      s.shares.some((share) => share.project === 'PET_AMYLOID'),
    )!;
    const sharedLabel = shared.shares.find((share) => share.project === 'PET_AMYLOID')!.label;
    const detail = await bob.getSubject(sharedLabel, { project: 'PET_AMYLOID' });
    expect(detail).toMatchObject({
      id: shared.id,
      label: sharedLabel,
      project: 'PET_AMYLOID',
      owningProject: shared.project,
    });
    expect(detail.shares).toContainEqual({ project: 'PET_AMYLOID', label: sharedLabel });
    const sharedSessions = sessionsIn('PET_AMYLOID').filter((e) => e.subjectId === shared.id);
    expect(detail.experiments.map((e) => e.id).sort()).toEqual(sharedSessions.map((e) => e.id).sort());
    expect(
      detail.experiments.every((e) => e.subjectLabel === sharedLabel && e.project === 'PET_AMYLOID'),
    ).toBe(true);
    const own = await bob.getSubject(shared.id);
    expect(own).toMatchObject({ label: shared.label, project: shared.project });

    const listed = await bob.listSubjects({ project: 'PET_AMYLOID', limit: 1000 });
    expect(listed.items.find((s) => s.id === shared.id)).toMatchObject({
      label: sharedLabel,
      project: 'PET_AMYLOID',
      owningProject: shared.project,
    });
  });
});

describe('experiment contents', () => {
  it('details an experiment with bounded requests, status, scans with file counts and resources', async () => {
    const alice = connect();
    await alice.serverInfo();
    const quarantined = [...archive.experiments.values()].find((e) => e.status === 'quarantine')!;
    const large = [...archive.experiments.values()].reduce((a, b) =>
      b.scans.length > a.scans.length ? b : a,
    );
    const costs: number[] = [];
    for (const stored of [quarantined, large]) {
      const before = alice.stats.requests;
      const detail = await alice.getExperiment(stored.id);
      costs.push(alice.stats.requests - before);
      expect(detail.status).toBe(stored.status === 'quarantine' ? 'quarantine' : 'active');
      expect(detail.scans.map((s) => s.id)).toEqual(stored.scans.map((s) => s.id));
      for (const scan of stored.scans) {
        expect(detail.scans.find((s) => s.id === scan.id)?.fileCount ?? 0).toBe(fileCount(scan.resources));
      }
      const subject = archive.subjects.get(stored.subjectId);
      expect(detail.subjectLabel).toBe(subject?.label ?? '');
      expect(detail.insertDate).toBe(stored.insertDate.replace(' ', 'T'));
      const expectedResources =
        stored.resources.length + stored.scans.reduce((n, s) => n + s.resources.length, 0);
      expect(detail.resources.length).toBeGreaterThanOrEqual(expectedResources);
    }
    expect(costs[0]).toBe(costs[1]);
    expect(costs[0]).toBeLessThanOrEqual(4);

    // Through a sharing project: the shared labels of the session and of its subject.
    const shared = [...archive.experiments.values()].find((e) => e.shares.length > 0)!;
    const share = shared.shares[0]!;
    const subjectShare = archive.subjects
      .get(shared.subjectId)!
      .shares.find((s) => s.project === share.project);
    const before = alice.stats.requests;
    const viaShare = await alice.getExperiment(share.label, { project: share.project });
    expect(alice.stats.requests - before).toBeLessThanOrEqual(5);
    expect(viaShare).toMatchObject({
      id: shared.id,
      label: share.label,
      project: share.project,
      owningProject: shared.project,
      subjectLabel: subjectShare?.label ?? archive.subjects.get(shared.subjectId)!.label,
    });
    await expect(
      alice.getExperimentStatus(quarantined.label, { project: quarantined.project }),
    ).resolves.toBe('quarantine');
  });

  it('lists scans, resources, assessors and files in one request each once the ID is known', async () => {
    const alice = connect();
    const withAssessor = [...archive.experiments.values()].find((e) =>
      [...archive.experiments.values()].some((a) => a.imageSessionId === e.id),
    )!;
    const assessors = [...archive.experiments.values()].filter((a) => a.imageSessionId === withAssessor.id);
    await alice.serverInfo();

    let before = alice.stats.requests;
    const scans = await alice.listScans(withAssessor.label, { project: withAssessor.project });
    expect(alice.stats.requests - before).toBe(2); // label → ID lookup, then the listing
    expect(scans.map((s) => s.id)).toEqual(withAssessor.scans.map((s) => s.id));
    before = alice.stats.requests;
    await alice.listScans(withAssessor.label, { project: withAssessor.project });
    expect(alice.stats.requests - before).toBe(1);

    const listedAssessors = await alice.listAssessors(withAssessor.id);
    expect(listedAssessors.map((a) => a.id).sort()).toEqual(assessors.map((a) => a.id).sort());
    expect(listedAssessors.every((a) => a.sessionId === withAssessor.id)).toBe(true);

    before = alice.stats.requests;
    const files = await alice.listFiles({ experiment: withAssessor.id });
    expect(alice.stats.requests - before).toBe(1);
    const allResources = [...withAssessor.resources, ...withAssessor.scans.flatMap((s) => s.resources)];
    expect(files.length).toBeGreaterThanOrEqual(fileCount(allResources));

    const scan = withAssessor.scans.find((s) => s.resources.length > 0)!;
    const scanFiles = await alice.listFiles({ experiment: withAssessor.id, scan: scan.id });
    expect(scanFiles).toHaveLength(fileCount(scan.resources));
    expect(scanFiles.every((f) => f.scan === scan.id)).toBe(true);
    const stored = scan.resources[0]!;
    const oneResource = await alice.listFiles({
      experiment: withAssessor.id,
      scan: scan.id,
      resource: stored.label,
    });
    expect(oneResource.map((f) => f.path).sort()).toEqual(stored.files.map((f) => f.path).sort());
    const byPath = new Map(stored.files.map((f) => [f.path, f]));
    for (const f of oneResource) {
      expect(f.size).toBe(byPath.get(f.path)!.size);
      expect(f.digest).toBe(byPath.get(f.path)!.digest);
      expect(f.resource).toBe(stored.label);
    }
    const resources = await alice.listResources({ experiment: withAssessor.id, scan: scan.id });
    expect(resources.map((r) => [r.label, r.fileCount]).sort()).toEqual(
      scan.resources.map((r) => [r.label, r.files.length]).sort(),
    );
  });
});

describe('search', () => {
  it('discovers types and fields and runs an xdat:bundle search', async () => {
    const alice = connect();
    const elements = await alice.searchElements();
    expect(elements.map((e) => e.elementName)).toContain('xnat:mrSessionData');
    const fields = await alice.searchFields('xnat:mrSessionData');
    expect(fields.length).toBeGreaterThan(0);
    await expect(alice.searchFields('xnat:noSuchData')).rejects.toBeInstanceOf(XnatNotFoundError);

    const result = await alice.search({
      rootElement: 'xnat:mrSessionData',
      fields: [{ fieldId: 'LABEL', header: 'Label' }, { fieldId: 'PROJECT' }],
      where: {
        method: 'AND',
        criteria: [{ field: 'xnat:mrSessionData/project', op: '=', value: 'BRAIN_MR' }],
      },
    });
    const expected = [...archive.experiments.values()]
      .filter((e) => e.project === 'BRAIN_MR' && e.xsiType === 'xnat:mrSessionData')
      .map((e) => e.label)
      .sort();
    expect(result.rootElement).toBe('xnat:mrSessionData');
    expect(result.total).toBe(expected.length);
    const labelKey = result.columns.find((c) => c.fieldId === 'LABEL')!.key;
    expect(result.rows.map((row) => row[labelKey]).sort()).toEqual(expected);

    const page = await alice.search(
      { rootElement: 'xnat:mrSessionData', fields: [{ fieldId: 'LABEL' }] },
      { limit: 3, offset: 2 },
    );
    expect(page.rows).toHaveLength(3);
    expect(page.total).toBeGreaterThan(3);
  });
});

describe('sessions', () => {
  it('logs in once and re-logs in exactly once when XNAT drops the session under concurrent load', async () => {
    const alice = connect();
    await alice.listProjects();
    expect(alice.stats.logins).toBe(1);
    sandbox.expireSessions();
    const results = await Promise.all([
      alice.listProjects(),
      alice.listSubjects({ project: 'BRAIN_MR' }),
      alice.listExperiments({ project: 'BRAIN_MR' }),
      alice.getProject('PET_AMYLOID'),
      alice.serverInfo(),
      alice.listProjects(),
    ]);
    expect(results).toHaveLength(6);
    expect(alice.stats.logins).toBe(2);
  });

  it('survives a short session timeout without opening a session per request', async () => {
    const short = await startSandbox({ archive: createDemoArchive(), sessionTimeoutSeconds: 1 });
    try {
      const alice = connect('alice', 'alice123', short.url);
      for (let i = 0; i < 3; i++) {
        await alice.listProjects();
        await new Promise((resolve) => setTimeout(resolve, 700));
      }
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect((await alice.listProjects()).length).toBeGreaterThan(0);
      expect(alice.stats.logins).toBeLessThanOrEqual(2);
      expect(short.stats.sessionsCreated).toBe(alice.stats.logins);
    } finally {
      await short.close();
    }
  });

  it('touches the session before it expires while a job is pausing between requests', async () => {
    const short = await startSandbox({ archive: createDemoArchive(), sessionTimeoutSeconds: 2 });
    const lines: string[] = [];
    const alice = new XnatClient({
      url: short.url,
      user: 'alice',
      password: 'alice123',
      log: (l) => lines.push(l),
    });
    try {
      await alice.listProjects();
      await new Promise((resolve) => setTimeout(resolve, 2600));
      expect(lines.some((line) => line.startsWith('GET /data/auth 200'))).toBe(true);
      expect((await alice.listProjects()).length).toBeGreaterThan(0);
      expect(alice.stats.logins).toBeLessThanOrEqual(2);
    } finally {
      await alice.close();
      await short.close();
    }
  });

  it('rejects wrong credentials with an actionable message that never contains the password', async () => {
    const mallory = connect('alice', 'not-the-password-42');
    const err = await mallory.listProjects().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XnatAuthenticationError);
    expect((err as Error).message).toContain('alice');
    expect((err as Error).message).toContain('XNAT_USER/XNAT_PASSWORD');
    expect(JSON.stringify(err) + String(err) + (err as Error).message).not.toContain('not-the-password-42');
  });

  it('accepts an alias token as user and secret', async () => {
    const now = Date.now();
    archive.tokens.push({
      id: 9001,
      alias: '5e0b6c1a-7d0f-4f5e-9a55-3f0c2b8f1d11',
      secret: 'tokensecret-for-tests-only',
      login: 'alice',
      created: now,
      estimatedExpirationTime: now + 3_600_000,
      enabled: true,
      singleUse: false,
    });
    const viaToken = connect('5e0b6c1a-7d0f-4f5e-9a55-3f0c2b8f1d11', 'tokensecret-for-tests-only');
    expect((await viaToken.serverInfo()).user).toBe('alice');
  });

  it('ends the XNAT session on close and refuses later calls', async () => {
    const lines: string[] = [];
    const alice = new XnatClient({
      url: sandbox.url,
      user: 'alice',
      password: 'alice123',
      log: (l) => lines.push(l),
    });
    await alice.listProjects();
    await alice.close();
    expect(lines.at(-1)).toMatch(/^DELETE \/data\/JSESSION 200 \d+ms$/);
    expect(lines.join('\n')).not.toContain('alice123');
    await expect(alice.listProjects()).rejects.toThrow(/closed/);
  });

  it('works under a context path', async () => {
    const nested = await startSandbox({ archive: createDemoArchive(), contextPath: '/xnat' });
    try {
      expect(new URL(nested.url).pathname.replace(/\/$/, '')).toBe('/xnat');
      const alice = connect('alice', 'alice123', nested.url);
      const experiment = sessionsIn('BRAIN_MR')[0]!;
      expect((await alice.getExperiment(experiment.id)).label).toBe(experiment.label);
      expect((await alice.listFiles({ experiment: experiment.id })).length).toBeGreaterThan(0);
    } finally {
      await nested.close();
    }
  });
});
