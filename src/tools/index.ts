/**
 * The tool catalogue, in the order tools/list shows them (stable order helps hosts' prompt caches).
 * Each entry names its toolset, so that a tool module (and what it imports) loads only when one of
 * its toolsets is on: a server that lists the default toolsets never loads the others' modules.
 */
import { DEFAULT_TOOLSETS, TOOLSETS, type AnyToolDefinition, type Toolset } from '../mcp/define.js';

export { DEFAULT_TOOLSETS, TOOLSETS, type Toolset } from '../mcp/define.js';

interface CatalogueEntry {
  toolset: Toolset;
  name: string;
  load(): Promise<AnyToolDefinition>;
}

/** `name` is the tool's export from its module (checked by the compiler) and its tool name. */
function entry<M>(toolset: Toolset, module: () => Promise<M>, name: keyof M & string): CatalogueEntry {
  return { toolset, name, load: async () => (await module())[name] as AnyToolDefinition };
}

const access = () => import('./access.js');
const bids = () => import('./bids.js');
const browse = () => import('./browse.js');
const copy = () => import('./copy.js');
const core = () => import('./core.js');
const curate = () => import('./curate.js');
const dicom = () => import('./dicom.js');
const imaging = () => import('./imaging.js');
const prearchive = () => import('./prearchive.js');
const processing = () => import('./processing.js');
const qc = () => import('./qc.js');
const query = () => import('./query.js');
const search = () => import('./search.js');
const transfer = () => import('./transfer.js');

const CATALOGUE: readonly CatalogueEntry[] = [
  entry('core', core, 'getServerInfo'),
  entry('core', core, 'enableToolsets'),
  entry('browse', browse, 'listProjects'),
  entry('browse', browse, 'getProject'),
  entry('search', search, 'searchSubjects'),
  entry('browse', browse, 'getSubject'),
  entry('search', search, 'searchExperiments'),
  entry('browse', browse, 'getExperiment'),
  entry('browse', browse, 'listFiles'),
  entry('query', query, 'describeSearchable'),
  entry('query', query, 'searchArchive'),
  entry('query', query, 'exportSearch'),
  entry('curate', curate, 'createSubject'),
  entry('curate', curate, 'createExperiment'),
  entry('curate', curate, 'updateFields'),
  entry('curate', curate, 'shareObject'),
  entry('curate', curate, 'setQuarantine'),
  entry('curate', curate, 'deleteObject'),
  entry('transfer', transfer, 'uploadResource'),
  entry('transfer', transfer, 'downloadFiles'),
  entry('imaging', dicom, 'getDicomHeader'),
  entry('imaging', imaging, 'getScanImage'),
  entry('qc', imaging, 'getScanSnapshot'),
  entry('qc', qc, 'recordQc'),
  entry('prearchive', prearchive, 'listPrearchive'),
  entry('prearchive', prearchive, 'managePrearchive'),
  entry('prearchive', prearchive, 'importSession'),
  entry('access', access, 'listProjectMembers'),
  entry('access', access, 'manageProjectMember'),
  entry('access', access, 'listUsers'),
  entry('bids', bids, 'exportBids'),
  entry('processing', processing, 'findPipelines'),
  entry('processing', processing, 'launchPipeline'),
  entry('processing', processing, 'getJobStatus'),
  entry('processing', processing, 'killJob'),
  entry('copy', copy, 'copyData'),
];

export function isToolset(name: string): name is Toolset {
  return (TOOLSETS as readonly string[]).includes(name);
}

/** The tools of the given toolsets (default: all), in catalogue order, their modules loaded. */
export async function loadTools(toolsets: readonly Toolset[] = TOOLSETS): Promise<AnyToolDefinition[]> {
  const wanted = CATALOGUE.filter((e) => toolsets.includes(e.toolset));
  return Promise.all(
    wanted.map(async (e) => {
      const tool = await e.load();
      // A catalogue entry that disagrees with its definition would list a tool under the wrong toolset.
      if (tool.name !== e.name || tool.toolset !== e.toolset) {
        throw new Error(
          `Tool catalogue: ${e.name} (${e.toolset}) is defined as ${tool.name} (${tool.toolset})`,
        );
      }
      return tool;
    }),
  );
}

/**
 * The tools a server exposes: those of the chosen toolsets (default DEFAULT_TOOLSETS), minus writing
 * tools in read-only mode; from the catalogue, or from `tools` when given.
 */
export async function selectTools(
  options: { toolsets?: readonly Toolset[] | undefined; readOnly?: boolean | undefined },
  tools?: readonly AnyToolDefinition[],
): Promise<AnyToolDefinition[]> {
  const toolsets = options.toolsets ?? DEFAULT_TOOLSETS;
  const candidates = tools ?? (await loadTools(toolsets));
  return candidates.filter((t) => toolsets.includes(t.toolset) && !(options.readOnly && t.writes));
}
