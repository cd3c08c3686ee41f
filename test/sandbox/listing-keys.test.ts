import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { createFixtureArchive, getAs } from './fixture.js';

// XNAT's QueryOrganizer selects the root's primary key first whatever `columns=` asks for, and
// joins one-to-many parts (aliases), so a listing has one row per alias.
let sb: RunningSandbox;
beforeAll(async () => {
  const archive = createFixtureArchive();
  const prot = archive.projects.get('PROT');
  if (prot) prot.aliases = ['PROTALIAS', 'PROT_OLD'];
  sb = await startSandbox({ archive });
});
afterAll(async () => {
  await sb.close();
});

async function csv(path: string): Promise<string[]> {
  const response = await getAs(sb, 'alice', path);
  expect(response.status).toBe(200);
  return (await response.text()).trimEnd().split('\n');
}

describe('listings with columns=', () => {
  it('answer the project ID with the aliases, one row per alias', async () => {
    const lines = await csv('/data/projects?format=csv&columns=alias');
    expect(lines[0]).toBe('ID,alias,URI');
    expect(lines.slice(1).sort()).toEqual([
      'OPEN,,/data/projects/OPEN',
      'PRIV,,/data/projects/PRIV',
      'PROT,PROTALIAS,/data/projects/PROT',
      'PROT,PROT_OLD,/data/projects/PROT',
    ]);
    expect(await csv('/data/projects?format=csv&columns=alias&alias=PROT_OLD')).toEqual([
      'ID,alias,URI',
      'PROT,PROT_OLD,/data/projects/PROT',
    ]);
  });

  it('put the primary key first for subjects, experiments, assessors and scans', async () => {
    expect((await csv('/data/subjects?format=csv&columns=label'))[0]).toBe('ID,label,URI');
    expect((await csv('/data/projects/PROT/subjects?format=csv&columns=label,ID'))[0]).toBe('ID,label,URI');
    expect((await csv('/data/experiments?format=csv&columns=label'))[0]).toBe('ID,label,project,xsiType,URI');
    expect((await csv('/data/projects/PROT/experiments?format=csv&columns=label'))[0]).toBe(
      'xnat:subjectassessordata/id,label,URI',
    );
    expect((await csv('/data/experiments/XNAT_E00001/assessors?format=csv&columns=label'))[0]).toBe(
      'xnat:imageassessordata/id,label,URI',
    );
    expect(await csv('/data/experiments/XNAT_E00001/scans?format=csv&columns=ID,type')).toEqual([
      'xnat_imagescandata_id,ID,type,URI',
      '500,1,T1w,/data/experiments/XNAT_E00001/scans/1',
      '501,2,BOLD,/data/experiments/XNAT_E00001/scans/2',
    ]);
  });
});
