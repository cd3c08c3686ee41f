/**
 * Single objects (§3): the `{"items":[{meta,data_fields,children}]}` JSON of ItemJSONBuilder, the
 * schema XML of ItemXMLRepresentation and a small HTML report (the default without `format=`),
 * plus the plain-text sub-paths (`status`, project codes).
 */
import { SandboxHttpError } from './errors.js';
import { canReadItem } from './access.js';
import {
  experimentNode,
  projectNode,
  reconstructionNode,
  scanNode,
  subjectNode,
  type ItemNode,
} from './item-json.js';
import { archiveDirectory } from './item-parts.js';
import {
  experimentXml,
  projectXml,
  reconstructionXml,
  scanXml,
  subjectXml,
  withNamespaces,
} from './item-xml.js';
import { findReconstruction, requireScan, resolvePath, visibleProject } from './lookup.js';
import type { SandboxArchive, StoredExperiment, StoredSubject } from './model.js';
import { escapeHtml } from './pages.js';
import { jsonReply, textReply, type AuthedContext, type Reply } from './reply.js';
import { elementName } from './types.js';
import { xmlDocument, type XmlElement } from './xml.js';

// ---------------------------------------------------------------- replies

type ItemFormat = 'json' | 'xml' | 'html';

/** Items register HTML first, so without `format=` a generic Accept gets the HTML report (§0.1). */
function itemFormat(ctx: AuthedContext): ItemFormat {
  const format = ctx.query.get('format')?.toLowerCase();
  if (format === 'json' || format === 'xml' || format === 'html') return format;
  if (format !== undefined) throw new SandboxHttpError(406, `Unsupported format: ${format}`);
  const accept = ctx.headers.accept ?? '';
  if (/application\/json/.test(accept)) return 'json';
  if (/text\/xml|application\/xml/.test(accept)) return 'xml';
  return 'html';
}

function htmlReport(title: string, item: ItemNode): Reply {
  const rows = Object.entries(item.data_fields)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`)
    .join('');
  return textReply(
    200,
    `<!DOCTYPE html><html><head><title>XNAT -- ${escapeHtml(title)}</title></head><body>` +
      `<h2>${escapeHtml(title)}</h2><table>${rows}</table></body></html>`,
    'text/html;charset=UTF-8',
  );
}

function itemReply(ctx: AuthedContext, title: string, json: () => ItemNode, xml: () => XmlElement): Reply {
  switch (itemFormat(ctx)) {
    case 'json':
      return jsonReply({ items: [json()] });
    case 'xml':
      return textReply(200, xmlDocument(withNamespaces(xml(), ctx)), 'text/xml;charset=UTF-8');
    case 'html':
      return htmlReport(title, json());
  }
}

export function getProject(ctx: AuthedContext): Reply {
  const project = visibleProject(ctx, ctx.params.project ?? '', 'Unable to find the specified experiment.');
  const { archive } = ctx.state;
  return itemReply(
    ctx,
    `Project ${project.id}`,
    () => projectNode(archive, project),
    () => projectXml(archive, project),
  );
}

export function getSubject(ctx: AuthedContext): Reply {
  const { subject } = resolvePath(ctx);
  if (!subject) throw new SandboxHttpError(404, 'Unable to find the specified subject.');
  const { archive } = ctx.state;
  return itemReply(
    ctx,
    `Subject ${subject.label}`,
    () => subjectNode(archive, subject, ctx.user),
    () => subjectXml(archive, subject, ctx.user),
  );
}

export function getExperiment(ctx: AuthedContext): Reply {
  const objects = resolvePath(ctx);
  const experiment = objects.assessor ?? objects.experiment;
  if (!experiment) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  const { archive } = ctx.state;
  return itemReply(
    ctx,
    `${experiment.xsiType} ${experiment.label}`,
    () => experimentNode(archive, experiment, ctx.user),
    () => experimentXml(archive, experiment, ctx.user, elementName(experiment.xsiType)),
  );
}

export function getScan(ctx: AuthedContext): Reply {
  const { experiment } = resolvePath(ctx);
  if (!experiment) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  const scan = requireScan(experiment, ctx.params.scan ?? '');
  const directory = archiveDirectory(ctx.state.archive, experiment);
  return itemReply(
    ctx,
    `Scan ${scan.id}`,
    () => scanNode(scan, experiment, directory),
    () => {
      const root = scanXml(scan, experiment, directory);
      root.name = elementName(scan.xsiType);
      root.attributes = root.attributes.filter(([k]) => k !== 'xsi:type');
      return root;
    },
  );
}

/** `.../reconstructions/{id}` (ReconResource): looked up by its site-wide ID. */
export function getReconstruction(ctx: AuthedContext): Reply {
  const { experiment } = resolvePath(ctx);
  if (!experiment) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  const { archive } = ctx.state;
  const found = findReconstruction(archive, ctx.params.reconstruction ?? '');
  if (!found || !canReadItem(archive, found.session, ctx.user)) {
    throw new SandboxHttpError(404, 'Unable to find the specified reconstruction.');
  }
  const { session, reconstruction } = found;
  const directory = archiveDirectory(archive, session);
  return itemReply(
    ctx,
    `Reconstruction ${reconstruction.id}`,
    () => reconstructionNode(reconstruction, session, directory),
    () => reconstructionXml(reconstruction, session, directory, elementName('xnat:reconstructedImageData')),
  );
}

/** `quarantine` when the item or one of its children is quarantined (XFTItem#needsActivation). */
function needsActivation(archive: SandboxArchive, item: StoredSubject | StoredExperiment): boolean {
  if (item.status === 'quarantine') return true;
  for (const child of archive.experiments.values()) {
    const isChild = 'demographics' in item ? child.subjectId === item.id : child.imageSessionId === item.id;
    if (isChild && child.id !== item.id && needsActivation(archive, child)) return true;
  }
  return false;
}

export function getStatus(ctx: AuthedContext): Reply {
  const objects = resolvePath(ctx);
  const item = objects.assessor ?? objects.experiment ?? objects.subject;
  if (!item) throw new SandboxHttpError(404, 'Unable to find the specified experiment.');
  return textReply(200, needsActivation(ctx.state.archive, item) ? 'quarantine' : 'active');
}

/** `/data/projects/{p}/quarantine_code|prearchive_code|current_arc|accessibility`. */
export function getProjectSetting(ctx: AuthedContext): Reply {
  const project = visibleProject(ctx, ctx.params.project ?? '');
  const setting = ctx.params.setting;
  const values: Record<string, string> = {
    quarantine_code: String(project.quarantineCode),
    prearchive_code: String(project.prearchiveCode),
    current_arc: 'arc001',
    accessibility: project.accessibility,
  };
  const value = setting === undefined ? undefined : values[setting];
  // No message: the Restlet page then carries its default 404 description.
  if (value === undefined) throw new SandboxHttpError(404, '');
  return textReply(200, value);
}
