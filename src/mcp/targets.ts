/**
 * What a call is about, named for error messages: tools and resources declare their targets here so
 * that "not found" and "not allowed" say what was looked for, where, and which tool finds it.
 */
import type { ObjectKind, ObjectRef, ResourceParent } from '../client/index.js';
import type { ErrorTarget } from './errors.js';

export function projectTarget(project: string): ErrorTarget {
  return {
    what: `Project '${project}'`,
    nextStep: 'use listProjects to see the projects the configured user can access',
  };
}

export function subjectTarget(subject: string, project: string | undefined): ErrorTarget {
  return {
    what: `Subject '${subject}'`,
    project,
    nextStep:
      project === undefined
        ? `if '${subject}' is a label, pass project too; otherwise use searchSubjects to find the subject ID`
        : `use searchSubjects with project ${project} to find its ID or label`,
  };
}

export function experimentTarget(experiment: string, project: string | undefined): ErrorTarget {
  return {
    what: `Experiment '${experiment}'`,
    project,
    nextStep:
      project === undefined
        ? `if '${experiment}' is a label, pass project too; otherwise use searchExperiments to find the experiment ID`
        : `use searchExperiments with project ${project} to find its ID or label`,
  };
}

const objectTargets: Record<ObjectKind, (ref: ObjectRef) => ErrorTarget> = {
  project: (r) => ({
    what: `Project '${r.project ?? ''}'`,
    nextStep: 'use listProjects to see the projects',
  }),
  subject: (r) => subjectTarget(r.subject ?? '', r.project),
  experiment: (r) => experimentTarget(r.experiment ?? '', r.project),
  scan: (r) => ({
    what: `Scan '${r.scan ?? ''}' of experiment '${r.experiment ?? ''}'`,
    project: r.project,
    nextStep: 'use getExperiment to see its scan IDs',
  }),
  assessor: (r) => ({
    what: `Assessor '${r.assessor ?? ''}' of experiment '${r.experiment ?? ''}'`,
    project: r.project,
    nextStep: 'use getExperiment to see its assessors',
  }),
  resource: (r) => ({
    what: `Resource '${r.resource ?? ''}'`,
    project: r.project,
    nextStep: 'use listFiles (or getExperiment) to see the resources',
  }),
  file: (r) => ({
    what: `File '${r.file ?? ''}' in resource '${r.resource ?? ''}'`,
    project: r.project,
    nextStep: 'use listFiles to see the file paths',
  }),
};

/** Any archive object by kind and reference (as curation tools take them). */
export function objectTarget(kind: ObjectKind, ref: ObjectRef): ErrorTarget {
  return objectTargets[kind](ref);
}

/** The object a resource hangs on, as transfers name it: the innermost of experiment, subject, project. */
export function resourceParentTarget(parent: ResourceParent): ErrorTarget | undefined {
  if (parent.experiment !== undefined) return experimentTarget(parent.experiment, parent.project);
  if (parent.subject !== undefined) return subjectTarget(parent.subject, parent.project);
  if (parent.project !== undefined) return projectTarget(parent.project);
  return undefined;
}
