/** What the JSON and XML renderings of items share: archive paths and the children a user may see. */
import { canReadItem } from './access.js';
import type {
  SandboxArchive,
  SandboxUser,
  StoredExperiment,
  StoredProject,
  StoredResource,
  StoredSubject,
} from './model.js';

/** Where the resource's catalog lives on the server's archive file system (`URI` of the resource). */
export function catalogPath(directory: string, resource: StoredResource): string {
  return `${directory}/RESOURCES/${resource.label}/${resource.label}_catalog.xml`;
}

export function archiveDirectory(
  archive: SandboxArchive,
  item: StoredExperiment | StoredSubject | StoredProject,
): string {
  if ('subjectId' in item) return `/data/xnat/archive/${item.project}/arc001/${item.label}`;
  if ('demographics' in item) return `/data/xnat/archive/${item.project}/subjects/${item.label}`;
  return `/data/xnat/archive/${archive.projects.get(item.id)?.id ?? item.id}`;
}

export function assessorsOf(
  archive: SandboxArchive,
  session: StoredExperiment,
  user: SandboxUser,
): StoredExperiment[] {
  return [...archive.experiments.values()].filter(
    (a) => a.imageSessionId === session.id && canReadItem(archive, a, user),
  );
}
