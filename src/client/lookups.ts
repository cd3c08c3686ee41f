/**
 * The client's memory of experiment label → accession ID. XNAT serves scans, resources, files and
 * assessors only under `/data/experiments/{ID}` or a path that names the subject, so a label costs
 * one lookup, then is remembered (bounded). Writes forget everything: any of them may rename, delete,
 * re-create or archive an experiment, and a stale mapping would silently reach another experiment.
 */
import { xnatPath, type RequestContext } from './http.js';
import { experimentBase, notFoundHint, readItem, withHint } from './reads.js';
import type { ItemNode } from './rows.js';

/** What modules that address experiments by label need. */
export interface ExperimentIdLookup {
  /** The accession ID of an experiment named by ID, or by label in `project`. */
  experimentId(experiment: string, project: string | undefined, signal?: AbortSignal): Promise<string>;
}

const ID_CACHE_SIZE = 1000;

export class ExperimentIds implements ExperimentIdLookup {
  /** `project\0labelOrId` → accession ID. */
  private readonly ids = new Map<string, string>();

  constructor(private readonly ctx: RequestContext) {}

  remember(experiment: string, project: string | undefined, id: string): void {
    if (!project) return;
    if (this.ids.size >= ID_CACHE_SIZE) {
      const oldest = this.ids.keys().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    this.ids.set(`${project}\0${experiment}`, id);
  }

  forgetAll(): void {
    this.ids.clear();
  }

  async experimentId(experiment: string, project: string | undefined, signal?: AbortSignal): Promise<string> {
    if (!project) return experiment;
    const cached = this.ids.get(`${project}\0${experiment}`);
    if (cached) return cached;
    let item: ItemNode;
    try {
      item = await readItem(this.ctx, xnatPath(...experimentBase(experiment, project)), signal);
    } catch (err) {
      throw withHint(err, notFoundHint('Experiment', experiment, project));
    }
    const id = item.dataFields.ID ?? item.dataFields.id ?? experiment;
    this.remember(experiment, project, id);
    return id;
  }
}
