/**
 * What a search ranges over: the searchable data types (`/data/search/elements`), the records of each
 * the user may read, and XNAT's join paths between them (project, subject, session, assessor, scan).
 */
import { canListProject, canReadItem, canReadProject, projectsOf } from './access.js';
import type {
  SandboxArchive,
  SandboxUser,
  StoredExperiment,
  StoredProject,
  StoredScan,
  StoredSubject,
} from './model.js';
import { experimentIsA, experimentKind, isSameType, typeLineage } from './types.js';

export type Kind = 'project' | 'subject' | 'experiment' | 'scan';

export type Entity =
  | { kind: 'project'; item: StoredProject }
  | { kind: 'subject'; item: StoredSubject }
  | { kind: 'experiment'; item: StoredExperiment }
  | { kind: 'scan'; item: StoredScan; session: StoredExperiment };

export interface ElementDef {
  name: string;
  kind: Kind;
  singular: string;
  plural: string;
  /** Listed by `/data/search/elements` (abstract types and scans are searchable but not listed). */
  listed: boolean;
}

const element = (name: string, kind: Kind, singular: string, plural: string, listed = true): ElementDef => ({
  name,
  kind,
  singular,
  plural,
  listed,
});

const session = (modality: string, label = modality): ElementDef =>
  element(`xnat:${modality.toLowerCase()}SessionData`, 'experiment', `${label} Session`, `${label} Sessions`);

export const ELEMENTS: readonly ElementDef[] = [
  element('xnat:projectData', 'project', 'Project', 'Projects'),
  element('xnat:subjectData', 'subject', 'Subject', 'Subjects'),
  session('MR'),
  session('PET'),
  session('CT'),
  element('xnat:petmrSessionData', 'experiment', 'PET/MR Session', 'PET/MR Sessions'),
  session('CR'),
  session('DX'),
  session('MG'),
  session('NM'),
  session('RF'),
  session('US'),
  session('XA'),
  session('MEG'),
  session('EEG'),
  element('xnat:otherDicomSessionData', 'experiment', 'Other DICOM Session', 'Other DICOM Sessions'),
  element('xnat:qcManualAssessorData', 'experiment', 'Manual QC', 'Manual QCs'),
  element('xnat:qcAssessmentData', 'experiment', 'Auto QC', 'Auto QCs'),
  element('xnat:experimentData', 'experiment', 'Experiment', 'Experiments', false),
  element('xnat:subjectAssessorData', 'experiment', 'Subject Assessor', 'Subject Assessors', false),
  element('xnat:imageSessionData', 'experiment', 'Image Session', 'Image Sessions', false),
  element('xnat:imageAssessorData', 'experiment', 'Image Assessor', 'Image Assessors', false),
  element('xnat:imageScanData', 'scan', 'Scan', 'Scans', false),
  element('xnat:mrScanData', 'scan', 'MR Scan', 'MR Scans', false),
  element('xnat:petScanData', 'scan', 'PET Scan', 'PET Scans', false),
  element('xnat:ctScanData', 'scan', 'CT Scan', 'CT Scans', false),
];

export function findElement(name: string): ElementDef | undefined {
  return ELEMENTS.find((e) => isSameType(e.name, name));
}

/** `xnat:subjectData` → `xnat_subjectdata`: how XNAT prefixes row keys of joined elements. */
export const sqlName = (elementName: string): string => elementName.replace(':', '_').toLowerCase();

export const isSessionType = (name: string): boolean => /SessionData$/i.test(name);
export const isAssessorType = (name: string): boolean =>
  typeLineage(name).some((t) => isSameType(t, 'xnat:imageAssessorData')) && !isSessionType(name);

/** What evaluating a search needs: the archive, the user, and indexes built on first use. */
export interface Env {
  archive: SandboxArchive;
  user: SandboxUser;
  /** Experiments by `subject_ID`, and image assessors by the session they assess. */
  experimentsOfSubject: (subjectId: string) => StoredExperiment[];
  assessorsOfSession: (sessionId: string) => StoredExperiment[];
}

export function createEnv(archive: SandboxArchive, user: SandboxUser): Env {
  let bySubject: Map<string, StoredExperiment[]> | undefined;
  let bySession: Map<string, StoredExperiment[]> | undefined;
  const index = (key: (e: StoredExperiment) => string) => {
    const map = new Map<string, StoredExperiment[]>();
    for (const e of archive.experiments.values()) {
      const k = key(e);
      if (k === '') continue;
      const list = map.get(k);
      if (list) list.push(e);
      else map.set(k, [e]);
    }
    return map;
  };
  return {
    archive,
    user,
    experimentsOfSubject: (id) => (bySubject ??= index((e) => e.subjectId)).get(id) ?? [],
    assessorsOfSession: (id) => (bySession ??= index((e) => e.imageSessionId)).get(id) ?? [],
  };
}

export function subjectOf(env: Env, experiment: StoredExperiment): StoredSubject | undefined {
  if (experiment.subjectId) return env.archive.subjects.get(experiment.subjectId);
  const assessed = env.archive.experiments.get(experiment.imageSessionId);
  return assessed ? env.archive.subjects.get(assessed.subjectId) : undefined;
}

export function canQuery(env: Env, root: ElementDef): boolean {
  if (env.user.admin || root.kind === 'project') return true;
  for (const project of env.archive.projects.values()) if (canReadProject(project, env.user)) return true;
  return false;
}

export function rootEntities(env: Env, root: ElementDef): Entity[] {
  const { archive, user } = env;
  switch (root.kind) {
    case 'project':
      return [...archive.projects.values()]
        .filter((p) => canListProject(p, user))
        .map((item) => ({ kind: 'project', item }));
    case 'subject':
      return [...archive.subjects.values()]
        .filter((s) => canReadItem(archive, s, user))
        .map((item) => ({ kind: 'subject', item }));
    case 'experiment':
      return [...archive.experiments.values()]
        .filter((e) => experimentIsA(e, root.name) && canReadItem(archive, e, user))
        .map((item) => ({ kind: 'experiment', item }));
    case 'scan': {
      const entities: Entity[] = [];
      for (const session of archive.experiments.values()) {
        if (session.scans.length === 0 || !canReadItem(archive, session, user)) continue;
        for (const item of session.scans)
          if (scanIsA(item, root.name)) entities.push({ kind: 'scan', item, session });
      }
      return entities;
    }
  }
}

const scanIsA = (scan: StoredScan, type: string): boolean =>
  isSameType(type, 'xnat:imageScanData') || isSameType(scan.xsiType, type);

/** The records of `target` related to `entity` (XNAT's join paths between its data types). */
export function relate(env: Env, entity: Entity, target: ElementDef): Entity[] {
  const one = (e: Entity | undefined): Entity[] => (e ? [e] : []);
  const experimentsOf = (list: Iterable<StoredExperiment>): Entity[] =>
    [...list]
      .filter((e) => experimentIsA(e, target.name) && readable(e))
      .map((item): Entity => ({ kind: 'experiment', item }));
  const readable = (e: StoredExperiment) => canReadItem(env.archive, e, env.user);
  const owningSession = (): StoredExperiment | undefined => {
    if (entity.kind === 'scan') return entity.session;
    if (entity.kind === 'experiment') {
      return experimentKind(entity.item) === 'imageAssessor'
        ? env.archive.experiments.get(entity.item.imageSessionId)
        : entity.item;
    }
    return undefined;
  };
  switch (target.kind) {
    case 'project': {
      if (entity.kind === 'project') return one(entity);
      const owner = entity.kind === 'scan' ? entity.session.project : entity.item.project;
      const project = env.archive.projects.get(owner);
      return one(project && { kind: 'project', item: project });
    }
    case 'subject': {
      if (entity.kind === 'subject') return one(entity);
      if (entity.kind === 'project') return [];
      const subject = subjectOf(env, entity.kind === 'scan' ? entity.session : entity.item);
      return one(subject && { kind: 'subject', item: subject });
    }
    case 'experiment': {
      if (entity.kind === 'subject') {
        return experimentsOf(env.experimentsOfSubject(entity.item.id));
      }
      if (entity.kind === 'project') {
        const projectId = entity.item.id;
        return experimentsOf(
          [...env.archive.experiments.values()].filter((e) => projectsOf(e).includes(projectId)),
        );
      }
      if (entity.kind === 'experiment' && experimentIsA(entity.item, target.name)) return one(entity);
      const sessionRecord = owningSession();
      if (sessionRecord && experimentIsA(sessionRecord, target.name))
        return one({ kind: 'experiment', item: sessionRecord });
      if (entity.kind === 'experiment' && isAssessorType(target.name)) {
        return experimentsOf(env.assessorsOfSession(entity.item.id));
      }
      return one(undefined);
    }
    case 'scan': {
      if (entity.kind === 'scan') return one(scanIsA(entity.item, target.name) ? entity : undefined);
      const sessionRecord = owningSession();
      if (!sessionRecord) return [];
      return sessionRecord.scans
        .filter((s) => scanIsA(s, target.name))
        .map((item): Entity => ({ kind: 'scan', item, session: sessionRecord }));
    }
  }
}

export function entityId(entity: Entity | undefined): string {
  if (!entity) return '';
  return entity.kind === 'scan' ? `${entity.session.id}/${entity.item.id}` : entity.item.id;
}
