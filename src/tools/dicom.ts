import * as z from 'zod';
import { MAX_COMPARED_FILES } from '../client/vocabulary.js';
import { READ_ONLY, defineTool } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import { renderFields, renderTruncated, sections } from '../mcp/format.js';
import { DicomHeaderOutput, shapeDicomHeader, shapeDicomVariation } from '../mcp/format-imaging.js';
import { experimentParam, optionalProjectParam } from '../mcp/params.js';
import { experimentTarget } from '../mcp/targets.js';

export const getDicomHeader = defineTool({
  name: 'getDicomHeader',
  title: 'Read the DICOM header of a scan',
  description:
    "DICOM header of a scan's file (tag, VR, name, value; sequence items name their parent), read by XNAT: " +
    `the first file unless instance or file is given; compare: true lists the elements that differ across the series (up to ${MAX_COMPARED_FILES} files).`,
  toolset: 'imaging',
  inputSchema: {
    experiment: experimentParam,
    project: optionalProjectParam,
    scan: z.string().min(1).describe('Scan ID (from getExperiment)'),
    fields: z
      .array(z.string().min(1))
      .max(50)
      .optional()
      .describe('Only these elements: keywords or tags, e.g. RepetitionTime, (0018,0080), 00180080'),
    instance: z.number().int().min(1).optional().describe('1-based position of the file in the scan'),
    file: z.string().min(1).optional().describe('File name (from listFiles)'),
    compare: z.boolean().default(false).describe('true: compare the files of the series'),
  },
  outputSchema: DicomHeaderOutput,
  annotations: READ_ONLY,
  writes: false,
  async handler({ experiment, project, scan, fields, instance, file, compare }, { client, signal }) {
    if (compare && (instance !== undefined || file !== undefined)) {
      throw new ToolInputError('compare reads several files: leave out instance and file');
    }
    if (compare)
      return shapeDicomVariation(await client.dicomVariation({ experiment, project, scan, fields, signal }));
    return shapeDicomHeader(
      await client.dicomHeader({ experiment, project, scan, fields, instance, file, signal }),
    );
  },
  render: (h) =>
    sections(
      renderFields([
        ['experiment', `${h.experiment} (${h.project})`],
        ['scan', h.scan],
        ['file', h.file === undefined ? undefined : `${h.file} (${h.instance} of ${h.instances})`],
        [
          'compared',
          h.compared === undefined
            ? undefined
            : `${h.compared.length} of ${h.instances} files: ${h.compared.map((c) => `${c.instance} ${c.file}`).join(', ')}`,
        ],
      ]),
      h.varying === undefined
        ? ''
        : h.varying.length === 0
          ? 'No element differs between the files read.'
          : `Differ:\n${h.varying.map((e) => `${e.tag} ${e.vr} ${e.name}: ${e.values.join(' | ')}`).join('\n')}`,
      h.varying === undefined ? '' : 'Same in all:',
      h.elements
        .map(
          (e) =>
            `${e.parent ? `  ${e.parent}>` : ''}${e.tag} ${e.vr} ${e.name}${e.private ? ' [private]' : ''} = ${e.value ?? ''}`,
        )
        .join('\n'),
      renderTruncated(h.truncated),
    ),
  target: ({ experiment, project, scan }) => {
    const base = experimentTarget(experiment, project);
    return {
      what: `${base.what} or its scan '${scan}'`,
      project,
      nextStep: `check the scan IDs with getExperiment; ${base.nextStep}`,
    };
  },
});
