import { LoggingMessageNotificationSchema, type ResourceLink } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatConfigError } from '../../src/client/errors.js';
import { XnatClient } from '../../src/client/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import {
  DEMO_UNICODE_EXPERIMENT_LABEL,
  DEMO_UNICODE_SUBJECT_LABEL,
  createDemoArchive,
  project,
} from '../../src/sandbox/seed.js';
import { MAX_LISTED_PROJECTS } from '../../src/resources/index.js';
import { createServer } from '../../src/server.js';
import { READ_ONLY, defineTool } from '../../src/mcp/define.js';
import { TOOLSETS, loadTools, selectTools } from '../../src/tools/index.js';
import {
  ADMIN,
  ALICE,
  call,
  callOk,
  connectInMemory,
  textOf,
  type Connected,
  type ListOut,
} from './helpers.js';

type Sandbox = Awaited<ReturnType<typeof startSandbox>>;

interface ExperimentItem {
  id: string;
  label: string;
  project: string;
  owningProject: string;
  subjectId: string;
  subjectLabel: string;
}
interface SubjectItem {
  id: string;
  label: string;
  project: string;
  owningProject: string;
}

let sandbox: Sandbox;
let alice: Connected;

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
  alice = await connectInMemory(sandbox.url, ALICE, { toolsets: [...TOOLSETS] });
});

afterAll(async () => {
  await alice?.close();
  await sandbox?.close();
});

describe('tools/list', () => {
  it('declares every tool with a title, description, output schema and all four annotation hints', async () => {
    const { tools } = await alice.mcp.listTools();
    expect(tools.map((t) => t.name)).toEqual((await loadTools()).map((t) => t.name));
    for (const tool of tools) {
      expect(tool.title, tool.name).toBeTruthy();
      expect(tool.description?.length, tool.name).toBeGreaterThan(40);
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      const hints = tool.annotations ?? {};
      for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
        expect(typeof hints[hint], `${tool.name}.${hint}`).toBe('boolean');
      }
      // Every parameter explains itself to the model.
      for (const [param, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
        expect((schema as { description?: string }).description, `${tool.name}.${param}`).toBeTruthy();
      }
    }
  });

  it('lists the same fields a create tool returns as its get* tool, without repeating that schema', async () => {
    const { tools } = await alice.mcp.listTools();
    const schemaOf = (name: string): { properties?: Record<string, unknown>; description?: string } =>
      tools.find((t) => t.name === name)?.outputSchema ?? {};
    const created = schemaOf('createExperiment');
    expect(Object.keys(created.properties ?? {})).toEqual(
      expect.arrayContaining(['created', 'id', 'label', 'status']),
    );
    expect(created.properties).not.toHaveProperty('scans');
    expect(created.description).toMatch(/getExperiment/);
    expect(schemaOf('getExperiment').properties).toHaveProperty('scans');
    expect(JSON.stringify(tools)).not.toContain('$schema');
    // Output schemas still say which fields every result carries.
    expect((schemaOf('getExperiment') as { required?: string[] }).required).toEqual(
      expect.arrayContaining(['id', 'label', 'scans']),
    );
  });

  it('advertises instructions about IDs, labels and cursors', () => {
    const instructions = alice.mcp.getInstructions() ?? '';
    expect(instructions).toMatch(/label/);
    expect(instructions).toMatch(/cursor/);
  });
});

describe('every tool, with outputs validated against their schemas by the SDK client', () => {
  it('getServerInfo names the XNAT URL, version and logged-in user', async () => {
    const info = await callOk<{ url: string; version: string; user: string }>(alice.mcp, 'getServerInfo');
    expect(info.url).toBe(sandbox.url);
    expect(info.user).toBe('alice');
    expect(info.version).not.toBe('');
  });

  it('listProjects shows what alice may see, with resource links', async () => {
    const result = await call(alice.mcp, 'listProjects');
    const out = result.structuredContent as unknown as ListOut<{ id: string }>;
    const ids = out.items.map((p) => p.id);
    expect(ids).toContain('BRAIN_MR');
    expect(ids).toContain('PET_AMYLOID');
    expect(ids).not.toContain('PEDS_DTI');
    expect(out.total).toBe(ids.length);
    const links = result.content.filter((c): c is ResourceLink => c.type === 'resource_link');
    expect(links.map((l) => l.uri)).toContain('xnat://projects/BRAIN_MR');
  });

  it('getProject reports counts by type', async () => {
    const p = await callOk<{
      subjectCount: number;
      experimentCount: number;
      experimentTypes: Record<string, number>;
    }>(alice.mcp, 'getProject', { project: 'BRAIN_MR' });
    expect(p.subjectCount).toBe(22);
    expect(p.experimentTypes['xnat:mrSessionData']).toBeGreaterThan(0);
    expect(p.experimentCount).toBeGreaterThanOrEqual(p.experimentTypes['xnat:mrSessionData'] ?? 0);
  });

  it('searchSubjects and searchExperiments filter by project', async () => {
    const subjects = await callOk<ListOut<SubjectItem>>(alice.mcp, 'searchSubjects', {
      project: 'BRAIN_MR',
      limit: 100,
    });
    expect(subjects.total).toBe(22);
    expect(subjects.items.every((s) => s.project === 'BRAIN_MR')).toBe(true);
    const experiments = await callOk<ListOut<ExperimentItem>>(alice.mcp, 'searchExperiments', {
      project: 'PET_AMYLOID',
      modality: 'PT',
    });
    expect(experiments.total).toBeGreaterThan(0);
    expect(experiments.items.every((e) => e.project === 'PET_AMYLOID')).toBe(true);
  });

  it('searchExperiments honours the date range', async () => {
    const out = await callOk<ListOut<ExperimentItem & { date: string }>>(alice.mcp, 'searchExperiments', {
      project: 'BRAIN_MR',
      dateFrom: '2022-01-01',
      dateTo: '2022-12-31',
      limit: 100,
    });
    expect(out.total).toBeGreaterThan(0);
    for (const e of out.items) expect(e.date >= '2022-01-01' && e.date <= '2022-12-31', e.date).toBe(true);
  });

  it('getSubject, getExperiment and listFiles chain by ID', async () => {
    const subjects = await callOk<ListOut<SubjectItem>>(alice.mcp, 'searchSubjects', {
      project: 'BRAIN_MR',
      label: 'BMR001',
    });
    const subjectId = subjects.items[0]?.id ?? '';
    const subject = await callOk<{ label: string; experiments: ExperimentItem[] }>(alice.mcp, 'getSubject', {
      subject: subjectId,
    });
    expect(subject.label).toBe('BMR001');
    const mr1 = subject.experiments.find((e) => e.label === 'BMR001_MR1');
    expect(mr1).toBeDefined();
    const experiment = await callOk<{
      id: string;
      status: string;
      scans: Array<{ id: string; fileCount?: number }>;
      resources: Array<{ label: string }>;
    }>(alice.mcp, 'getExperiment', { experiment: mr1?.id });
    expect(experiment.status).toBe('active');
    expect(experiment.scans.length).toBeGreaterThan(0);
    const scan = experiment.scans[0];
    const files = await callOk<ListOut<{ path: string; size: number; digest: string; scan?: string }>>(
      alice.mcp,
      'listFiles',
      { experiment: experiment.id, scan: scan?.id },
    );
    expect(files.total).toBeGreaterThan(0);
    expect(files.items.every((f) => f.size > 0 && f.scan === scan?.id)).toBe(true);
  });
});

describe('ID-or-label addressing', () => {
  it('finds the same experiment by accession ID and by label with project', async () => {
    const byLabel = await callOk<{ id: string; label: string }>(alice.mcp, 'getExperiment', {
      experiment: 'BMR003_MR1',
      project: 'BRAIN_MR',
    });
    const byId = await callOk<{ id: string; label: string }>(alice.mcp, 'getExperiment', {
      experiment: byLabel.id,
    });
    expect(byId).toEqual(byLabel);
    expect(byLabel.id).not.toBe('BMR003_MR1');
  });

  it('resolves labels with spaces and non-ASCII characters', async () => {
    const subject = await callOk<{ label: string }>(alice.mcp, 'getSubject', {
      subject: DEMO_UNICODE_SUBJECT_LABEL,
      project: 'BRAIN_MR',
    });
    expect(subject.label).toBe(DEMO_UNICODE_SUBJECT_LABEL);
    const experiment = await callOk<{ label: string }>(alice.mcp, 'getExperiment', {
      experiment: DEMO_UNICODE_EXPERIMENT_LABEL,
      project: 'BRAIN_MR',
    });
    expect(experiment.label).toBe(DEMO_UNICODE_EXPERIMENT_LABEL);
  });

  it('explains that a label needs its project', async () => {
    const result = await call(alice.mcp, 'getExperiment', { experiment: 'BMR003_MR1' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Experiment 'BMR003_MR1' not found.*pass project/);
  });

  it('shows the shared subject under its label in each project', async () => {
    const inPet = await callOk<ListOut<SubjectItem>>(alice.mcp, 'searchSubjects', {
      project: 'PET_AMYLOID',
      limit: 100,
    });
    const shared = inPet.items.find((s) => s.label === 'AMY101');
    expect(shared?.owningProject).toBe('BRAIN_MR');
    expect(shared?.project).toBe('PET_AMYLOID');
    const own = await callOk<{
      id: string;
      label: string;
      shares: Array<{ project: string; label: string }>;
    }>(alice.mcp, 'getSubject', { subject: 'BMR002', project: 'BRAIN_MR' });
    expect(own.id).toBe(shared?.id);
    expect(own.shares).toContainEqual({ project: 'PET_AMYLOID', label: 'AMY101' });
    const viaShare = await callOk<{ id: string; label: string }>(alice.mcp, 'getSubject', {
      subject: 'AMY101',
      project: 'PET_AMYLOID',
    });
    expect(viaShare).toMatchObject({ id: own.id, label: 'AMY101' });
  });

  it('reports the quarantined session', async () => {
    const e = await callOk<{ status: string }>(alice.mcp, 'getExperiment', {
      experiment: 'BMR020_MR2',
      project: 'BRAIN_MR',
    });
    expect(e.status).toBe('quarantine');
  });
});

describe('errors a model can act on', () => {
  it("treats carol's private project as not found for alice, with a next step", async () => {
    const result = await call(alice.mcp, 'getProject', { project: 'PEDS_DTI' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Project 'PEDS_DTI' not found.*listProjects/);
  });

  it('rejects a date in the wrong format, naming the format', async () => {
    const result = await call(alice.mcp, 'searchExperiments', { dateFrom: '2023/01/01' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/dateFrom must be an ISO date YYYY-MM-DD/);
    const impossible = await call(alice.mcp, 'searchExperiments', { dateTo: '2023-02-30' });
    expect(impossible.isError).toBe(true);
    expect(textOf(impossible)).toMatch(/dateTo must be an ISO date YYYY-MM-DD/);
  });

  it('rejects an inverted date range', async () => {
    const result = await call(alice.mcp, 'searchExperiments', {
      dateFrom: '2024-01-01',
      dateTo: '2023-01-01',
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/dateFrom .* is after dateTo/);
  });

  it('rejects garbage and foreign cursors, telling the model to restart', async () => {
    const garbage = await call(alice.mcp, 'searchExperiments', {
      project: 'BRAIN_MR',
      cursor: 'not-a-cursor',
    });
    expect(garbage.isError).toBe(true);
    expect(textOf(garbage)).toMatch(/Invalid cursor.*without `cursor`/);
    const page = await callOk<ListOut<ExperimentItem>>(alice.mcp, 'searchExperiments', {
      project: 'BRAIN_MR',
      limit: 5,
    });
    expect(page.nextCursor).toBeDefined();
    const foreign = await call(alice.mcp, 'searchExperiments', {
      project: 'PET_AMYLOID',
      cursor: page.nextCursor,
    });
    expect(foreign.isError).toBe(true);
    expect(textOf(foreign)).toMatch(/different query.*without `cursor`/);
  });

  it('reports wrong credentials clearly and never echoes the password', async () => {
    const wrong = await connectInMemory(sandbox.url, { user: 'alice', password: 'not-her-password-42' });
    try {
      const result = await call(wrong.mcp, 'listProjects');
      expect(result.isError).toBe(true);
      const text = textOf(result);
      expect(text).toMatch(/rejected the configured credentials.*XNAT_USER.*XNAT_PASSWORD/);
      expect(text).not.toContain('not-her-password-42');
    } finally {
      await wrong.close();
    }
  });
});

describe('MCP logging', () => {
  it('sends tool failures as log notifications, honouring logging/setLevel', async () => {
    const messages: Array<{ level: string; data: unknown }> = [];
    alice.mcp.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      messages.push(n.params);
    });
    await alice.mcp.setLoggingLevel('error');
    await call(alice.mcp, 'getProject', { project: 'NO_SUCH_PROJECT' });
    await alice.mcp.ping();
    expect(messages).toEqual([]);
    await alice.mcp.setLoggingLevel('warning');
    await call(alice.mcp, 'getProject', { project: 'NO_SUCH_PROJECT' });
    await alice.mcp.ping();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      level: 'warning',
      data: expect.stringContaining("'NO_SUCH_PROJECT' not found"),
    });
  });
});

describe('XNAT session expiry', () => {
  it('recovers when the session expires between calls', async () => {
    const first = await callOk<ListOut<SubjectItem>>(alice.mcp, 'searchSubjects', {
      project: 'BRAIN_MR',
      limit: 2,
    });
    const loginsBefore = sandbox.stats.logins;
    sandbox.expireSessions();
    const again = await callOk<ListOut<SubjectItem>>(alice.mcp, 'searchSubjects', {
      project: 'BRAIN_MR',
      limit: 2,
    });
    expect(again.items).toEqual(first.items);
    expect(sandbox.stats.logins).toBeGreaterThan(loginsBefore);
  });
});

describe('toolsets and read-only mode', () => {
  it('exposes only the chosen toolsets', async () => {
    const core = await connectInMemory(sandbox.url, ALICE, { toolsets: ['core'] });
    try {
      const { tools } = await core.mcp.listTools();
      expect(tools.map((t) => t.name)).toEqual(['getServerInfo', 'enableToolsets']);
    } finally {
      await core.close();
    }
    const search = (await selectTools({ toolsets: ['search'] })).map((t) => t.name);
    expect(search).toEqual(['searchSubjects', 'searchExperiments']);
  });

  it('loads each toolset on its own, with exactly the tools that name it', async () => {
    const every = (await loadTools()).map((t) => `${t.toolset}:${t.name}`);
    const byToolset = await Promise.all(TOOLSETS.map((name) => loadTools([name])));
    for (const [i, tools] of byToolset.entries()) {
      expect(tools.length, TOOLSETS[i]).toBeGreaterThan(0);
      expect(tools.every((t) => t.toolset === TOOLSETS[i])).toBe(true);
    }
    const joined = byToolset.flat().map((t) => `${t.toolset}:${t.name}`);
    expect([...joined].sort()).toEqual([...every].sort());
  });

  it('rejects unknown toolsets, listing the valid ones', async () => {
    const xnat = new XnatClient({ url: sandbox.url, ...ALICE });
    await expect(createServer({ client: xnat }, { toolsets: ['browse', 'bogus'] })).rejects.toThrow(
      XnatConfigError,
    );
    await expect(createServer({ client: xnat }, { toolsets: ['bogus'] })).rejects.toThrow(
      TOOLSETS.join(', '),
    );
    await xnat.close();
  });

  it('removes writing tools in read-only mode and keeps them otherwise', async () => {
    const write = defineTool({
      name: 'tagExperiment',
      title: 'Tag',
      description: 'A writing tool, to exercise the filter',
      toolset: 'browse',
      inputSchema: {},
      outputSchema: { ok: z.boolean() },
      annotations: { ...READ_ONLY, readOnlyHint: false },
      writes: true,
      handler: () => Promise.resolve({ ok: true }),
      render: () => 'ok',
    });
    const everyTool = await loadTools();
    const catalogue = [...everyTool, write];
    const all = [...TOOLSETS];
    expect((await selectTools({ toolsets: all }, catalogue)).map((t) => t.name)).toContain('tagExperiment');
    const readOnly = (await selectTools({ toolsets: all, readOnly: true }, catalogue)).map((t) => t.name);
    expect(readOnly).not.toContain('tagExperiment');
    expect(readOnly).toEqual(everyTool.filter((t) => !t.writes).map((t) => t.name));
  });
});

describe('resources, completion and prompts', () => {
  it('lists project resources and templates', async () => {
    const { resources } = await alice.mcp.listResources();
    expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['xnat://projects/BRAIN_MR']));
    expect(resources.map((r) => r.uri)).not.toContain('xnat://projects/PEDS_DTI');
    const { resourceTemplates } = await alice.mcp.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual([
      'xnat://projects/{project}',
      'xnat://projects/{project}/experiments/{experiment}',
      'xnat://projects/{project}/subjects/{subject}',
    ]);
  });

  it(`lists at most ${MAX_LISTED_PROJECTS} projects, the first by ID, and points to listProjects for the rest`, async () => {
    const archive = createDemoArchive();
    // Inserted in reverse, so that the listing's order is not the archive's.
    for (let i = MAX_LISTED_PROJECTS + 20; i >= 1; i--) {
      const id = `GEN_${String(i).padStart(3, '0')}`;
      archive.projects.set(
        id,
        project({
          id,
          name: `Generated ${i}`,
          description: '',
          keywords: '',
          pi: ['Ada', 'Lovelace'],
          accessibility: 'private',
          users: { alice: 'member' },
          insertDate: '2020-01-01 00:00:00.000',
        }),
      );
    }
    const crowded = await startSandbox({ archive });
    const connected = await connectInMemory(crowded.url, ALICE);
    try {
      const visible = (await connected.xnat.listProjects()).map((p) => p.id).sort();
      expect(visible.length).toBeGreaterThan(MAX_LISTED_PROJECTS);
      const { resources } = await connected.mcp.listResources();
      // Beside the projects: the scan viewer (ui://), listed for hosts to review before showing it.
      const projects = resources.filter((r) => r.uri.startsWith('xnat://projects/'));
      expect(projects.map((r) => r.name)).toEqual(visible.slice(0, MAX_LISTED_PROJECTS));
      const { resourceTemplates } = await connected.mcp.listResourceTemplates();
      const template = resourceTemplates.find((t) => t.uriTemplate === 'xnat://projects/{project}');
      expect(template?.description).toMatch(new RegExp(`first ${MAX_LISTED_PROJECTS} .*listProjects`));
    } finally {
      await connected.close();
      await crowded.close();
    }
  });

  it('reads an experiment by its encoded non-ASCII label, as JSON', async () => {
    const uri = `xnat://projects/BRAIN_MR/experiments/${encodeURIComponent(DEMO_UNICODE_EXPERIMENT_LABEL)}`;
    const { contents } = await alice.mcp.readResource({ uri });
    const body = JSON.parse(String(contents[0] && 'text' in contents[0] ? contents[0].text : '')) as {
      label: string;
    };
    expect(body.label).toBe(DEMO_UNICODE_EXPERIMENT_LABEL);
  });

  it('links tool results to readable resources', async () => {
    const result = await call(alice.mcp, 'searchSubjects', { project: 'PET_AMYLOID', label: 'AMY101' });
    const link = result.content.find((c): c is ResourceLink => c.type === 'resource_link');
    expect(link).toBeDefined();
    const { contents } = await alice.mcp.readResource({ uri: link?.uri ?? '' });
    const body = JSON.parse(String(contents[0] && 'text' in contents[0] ? contents[0].text : '')) as {
      label: string;
      project: string;
    };
    expect(body).toMatchObject({ label: 'AMY101', project: 'PET_AMYLOID' });
  });

  it('answers an unreadable resource with an error naming the next step', async () => {
    await expect(alice.mcp.readResource({ uri: 'xnat://projects/PEDS_DTI' })).rejects.toThrow(/listProjects/);
  });

  it('completes project IDs by prefix', async () => {
    const { completion } = await alice.mcp.complete({
      ref: { type: 'ref/resource', uri: 'xnat://projects/{project}' },
      argument: { name: 'project', value: 'br' },
    });
    expect(completion.values).toEqual(['BRAIN_MR']);
    const prompt = await alice.mcp.complete({
      ref: { type: 'ref/prompt', name: 'summarizeProject' },
      argument: { name: 'project', value: 'PE' },
    });
    expect(prompt.completion.values).toEqual(['PET_AMYLOID']);
  });

  it('offers the summarizeProject prompt', async () => {
    const { prompts } = await alice.mcp.listPrompts();
    expect(prompts.map((p) => p.name)).toContain('summarizeProject');
    const prompt = await alice.mcp.getPrompt({
      name: 'summarizeProject',
      arguments: { project: 'BRAIN_MR' },
    });
    const message = prompt.messages[0]?.content;
    expect(message?.type === 'text' ? message.text : '').toContain('BRAIN_MR');
  });
});

describe('bounded output', () => {
  it('keeps a page of 25 compact and admin sees the private project too', async () => {
    const admin = await connectInMemory(sandbox.url, ADMIN);
    try {
      const projects = await callOk<ListOut<{ id: string }>>(admin.mcp, 'listProjects');
      expect(projects.items.map((p) => p.id)).toContain('PEDS_DTI');
      const result = await call(admin.mcp, 'searchExperiments', { limit: 25 });
      expect(result.isError).toBeFalsy();
      expect(textOf(result).length).toBeLessThanOrEqual(4096);
      expect(JSON.stringify(result.structuredContent).length).toBeLessThanOrEqual(25 * 400);
    } finally {
      await admin.close();
    }
  });
});
