/**
 * XNAT's project-level permission model, as the sandbox applies it everywhere (listings, items,
 * files, search): owners and members edit, collaborators read, site admins do everything; public
 * projects are readable by any user, protected ones are listed but their data is not readable.
 */
import type { SandboxArchive, SandboxUser, StoredExperiment, StoredProject, StoredSubject } from './model.js';

/** The user's role in the project: a default group's, or the data rights of the custom group they are in. */
export function roleIn(
  project: StoredProject,
  user: SandboxUser,
): 'owner' | 'member' | 'collaborator' | undefined {
  return project.users[user.login] ?? project.groups?.find((g) => g.members.includes(user.login))?.rights;
}

/** Whether `/data/projects` lists the project for this user (public and protected are listed to all). */
export function canListProject(project: StoredProject, user: SandboxUser): boolean {
  return user.admin || project.accessibility !== 'private' || roleIn(project, user) !== undefined;
}

/** Whether the user may read the project's data (subjects, experiments, files). */
export function canReadProject(project: StoredProject, user: SandboxUser): boolean {
  return user.admin || project.accessibility === 'public' || roleIn(project, user) !== undefined;
}

/** Whether the user may create and edit data in the project (owners and members). */
export function canEditProject(project: StoredProject, user: SandboxUser): boolean {
  if (user.admin) return true;
  const role = roleIn(project, user);
  return role === 'owner' || role === 'member';
}

/** Whether the user may delete data in the project ("members can't delete"). */
export function canDeleteProject(project: StoredProject, user: SandboxUser): boolean {
  return user.admin || roleIn(project, user) === 'owner';
}

/**
 * Whether the user may quarantine, activate, lock or obsolete data in the project
 * (`Permissions.canActivate`: XNAT's owner group carries the activate right, members do not).
 */
export function canActivateProject(project: StoredProject, user: SandboxUser): boolean {
  return user.admin || roleIn(project, user) === 'owner';
}

/** Projects an object is visible through: its owning project and every project it is shared into. */
export function projectsOf(item: StoredSubject | StoredExperiment): string[] {
  return [item.project, ...item.shares.map((s) => s.project)];
}

/** An object is readable when any project it belongs to (owning or shared) is readable. */
export function canReadItem(
  archive: SandboxArchive,
  item: StoredSubject | StoredExperiment,
  user: SandboxUser,
): boolean {
  return projectsOf(item).some((p) => {
    const project = archive.projects.get(p);
    return project !== undefined && canReadProject(project, user);
  });
}
