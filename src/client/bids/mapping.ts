/**
 * Where a scan goes in BIDS, from whichever map the user has: XNAT's own bidsmap (`[{series_description,
 * bidsname}]`, matched case-insensitively as XNAT's dcm2bids-session does), a dcm2bids configuration
 * (`descriptions` with `criteria` globs; a scan matching several descriptions is left out, as dcm2bids
 * does), explicit rules (first match wins), or a default read from scan types and series descriptions.
 */
import { z } from 'zod';
import { XnatBadRequestError } from '../errors.js';
import { checkSuffix, datatypeOf, DATATYPES, parseBidsName, parseEntities, type BidsName } from './names.js';

/** What the mapping sees of a scan. */
export interface BidsScanInfo {
  id: string;
  type: string;
  seriesDescription: string;
  modality?: string | undefined;
  xsiType: string;
}

export const BidsmapEntrySchema = z.object({
  series_description: z.string().max(1024).describe('Series description, matched exactly in any case'),
  bidsname: z.string().min(1).max(255).describe('BIDS name in XNAT\'s form, e.g. "T1w", "task-rest_bold"'),
});
export type BidsmapEntry = z.infer<typeof BidsmapEntrySchema>;

const entitiesInput = z.union([z.string(), z.array(z.string())]);

export const Dcm2bidsConfigSchema = z.object({
  descriptions: z
    .array(
      z.object({
        datatype: z.string().optional(),
        dataType: z.string().optional(),
        suffix: z.string().optional(),
        modalityLabel: z.string().optional(),
        custom_entities: entitiesInput.optional(),
        customLabels: entitiesInput.optional(),
        criteria: z.record(z.string(), z.unknown()),
      }),
    )
    .min(1),
  search_method: z.enum(['fnmatch', 're']).optional(),
  case_sensitive: z.boolean().optional(),
});
export type Dcm2bidsConfig = z.infer<typeof Dcm2bidsConfigSchema>;

const BIDSNAME_HELP =
  'BIDS name in XNAT\'s form: entities key-value joined by "_", suffix last, e.g. "T1w", "task-rest_bold", "dir-AP_dwi"';

export const ExplicitRuleSchema = z.object({
  seriesDescription: z
    .string()
    .max(1024)
    .optional()
    .describe('Glob (*, ?) on the series description, any case'),
  type: z.string().max(1024).optional().describe('Glob on the scan type, any case'),
  scan: z.string().max(255).optional().describe('Scan ID'),
  bidsname: z.string().min(1).max(255).describe(BIDSNAME_HELP),
  datatype: z.string().max(20).optional().describe('Datatype folder, needed only for unusual suffixes'),
});
export type ExplicitRule = z.infer<typeof ExplicitRuleSchema>;

export type BidsMapping =
  | { source: 'xnat-bidsmap'; entries: BidsmapEntry[] }
  | { source: 'dcm2bids'; config: Dcm2bidsConfig }
  | { source: 'explicit'; rules: ExplicitRule[] }
  | { source: 'default' };

export type BidsMatch = { name: BidsName; rule: string } | { reason: string };

/** Checks the map once and returns the function placing each scan. */
export function compileMapping(mapping: BidsMapping): (scan: BidsScanInfo) => BidsMatch {
  switch (mapping.source) {
    case 'xnat-bidsmap':
      return bidsmapMatcher(mapping.entries);
    case 'dcm2bids':
      return dcm2bidsMatcher(mapping.config);
    case 'explicit':
      return explicitMatcher(mapping.rules);
    case 'default':
      return defaultMatch;
  }
}

function bidsmapMatcher(entries: readonly BidsmapEntry[]): (scan: BidsScanInfo) => BidsMatch {
  // Later entries win, as in XNAT's dict comprehension (the project's map is read after the site's).
  const byDescription = new Map<string, { name: BidsName; bidsname: string }>();
  for (const entry of entries) {
    byDescription.set(entry.series_description.toLowerCase(), {
      name: parseBidsName(entry.bidsname),
      bidsname: entry.bidsname,
    });
  }
  return (scan) => {
    const found = byDescription.get(scan.seriesDescription.toLowerCase());
    if (!found) return { reason: `series description "${scan.seriesDescription}" is not in the bidsmap` };
    return { name: found.name, rule: `bidsmap: ${scan.seriesDescription} -> ${found.bidsname}` };
  };
}

/** fnmatch's pattern language (`*`, `?`, `[seq]`, `[!seq]`) as an anchored regular expression. */
function fnmatchRegExp(pattern: string, caseSensitive: boolean): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) source += '\\[';
      else {
        const body = pattern.slice(i + 1, end);
        source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`.replace(/\\/g, '\\\\');
        i = end;
      }
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, caseSensitive ? 's' : 'is');
}

/** The criteria keys an XNAT scan listing can answer, and from which scan field. */
const CRITERIA: Record<string, (scan: BidsScanInfo) => string | undefined> = {
  SeriesDescription: (scan) => scan.seriesDescription,
  SeriesNumber: (scan) => scan.id,
  Modality: (scan) => scan.modality,
};

function dcm2bidsMatcher(config: Dcm2bidsConfig): (scan: BidsScanInfo) => BidsMatch {
  const caseSensitive = config.case_sensitive ?? true;
  const descriptions = config.descriptions.map((d, index) => {
    const datatype = d.datatype ?? d.dataType;
    const suffix = d.suffix ?? d.modalityLabel;
    const where = `dcm2bids description ${index + 1}`;
    if (datatype === undefined || suffix === undefined) {
      throw new XnatBadRequestError(`${where} needs a datatype and a suffix`);
    }
    if (!DATATYPES.includes(datatype)) {
      throw new XnatBadRequestError(`${where}: datatype "${datatype}" is not one of ${DATATYPES.join(', ')}`);
    }
    checkSuffix(suffix, where);
    const custom = d.custom_entities ?? d.customLabels ?? [];
    const parts = (Array.isArray(custom) ? custom : [custom]).flatMap((c) => c.split('_')).filter((p) => p);
    const name: BidsName = { datatype, suffix, entities: parseEntities(parts, where) };
    const tests = Object.entries(d.criteria).map(([key, pattern]) => {
      const read = CRITERIA[key];
      const text =
        typeof pattern === 'number' ? String(pattern) : typeof pattern === 'string' ? pattern : undefined;
      if (read === undefined || text === undefined) return { key, test: undefined };
      const re =
        config.search_method === 're'
          ? new RegExp(text, caseSensitive ? '' : 'i')
          : fnmatchRegExp(text, caseSensitive);
      return { key, test: (scan: BidsScanInfo) => re.test(read(scan) ?? '') };
    });
    return { index: index + 1, name, tests };
  });
  return (scan) => {
    const matching = descriptions.filter((d) => d.tests.every((t) => t.test?.(scan) === true));
    const unanswerable = descriptions
      .flatMap((d) => d.tests.filter((t) => t.test === undefined).map((t) => t.key))
      .filter((k, i, all) => all.indexOf(k) === i);
    if (matching.length === 1 && matching[0]) {
      return { name: matching[0].name, rule: `dcm2bids description ${matching[0].index}` };
    }
    if (matching.length > 1) {
      return {
        reason: `matches ${matching.length} dcm2bids descriptions (${matching.map((d) => d.index).join(', ')}); dcm2bids converts only a single match`,
      };
    }
    const note =
      unanswerable.length > 0
        ? ` (criteria ${unanswerable.join(', ')} cannot be checked from XNAT's scan listing: only ${Object.keys(CRITERIA).join(', ')})`
        : '';
    return { reason: `matches no dcm2bids description${note}` };
  };
}

function explicitMatcher(rules: readonly ExplicitRule[]): (scan: BidsScanInfo) => BidsMatch {
  const compiled = rules.map((rule, index) => {
    if (rule.seriesDescription === undefined && rule.type === undefined && rule.scan === undefined) {
      throw new XnatBadRequestError(
        `mapping rule ${index + 1} (${rule.bidsname}) matches nothing: give seriesDescription, type or scan`,
      );
    }
    const description = rule.seriesDescription && fnmatchRegExp(rule.seriesDescription, false);
    const type = rule.type && fnmatchRegExp(rule.type, false);
    const test = (scan: BidsScanInfo) =>
      (!description || description.test(scan.seriesDescription)) &&
      (!type || type.test(scan.type)) &&
      (rule.scan === undefined || rule.scan === scan.id);
    return {
      test,
      name: parseBidsName(rule.bidsname, rule.datatype),
      label: `rule ${index + 1}: ${rule.bidsname}`,
    };
  });
  return (scan) => {
    const found = compiled.find((c) => c.test(scan));
    return found ? { name: found.name, rule: found.label } : { reason: 'matches no mapping rule' };
  };
}

/** Phase-encoding direction at the end of a description (`..._AP`, `... PA`). */
function direction(text: string): Record<string, string> {
  const found = /(?:^|[^A-Za-z0-9])(AP|PA|LR|RL|SI|IS)$/.exec(text.trim());
  return found?.[1] ? { dir: found[1] } : {};
}

/** The default: what scan types and series descriptions usually say, and why the rest is left out. */
export function defaultMatch(scan: BidsScanInfo): BidsMatch {
  const text = `${scan.seriesDescription} ${scan.type}`.toLowerCase();
  const rule = (bidsname: string, entities: Record<string, string> = {}): BidsMatch => {
    const parsed = datatypeOf(bidsname);
    if (!parsed) throw new Error(`no datatype for ${bidsname}`);
    return { name: { ...parsed, entities }, rule: `default: ${bidsname}` };
  };
  if (scan.modality === 'PT' || /petscandata/i.test(scan.xsiType)) {
    return { reason: 'PET needs tracer and timing metadata XNAT does not list; map it explicitly' };
  }
  if (scan.modality === 'CT' || /ctscandata/i.test(scan.xsiType)) {
    return { reason: 'CT is not part of BIDS raw data' };
  }
  if (/localizer|scout|survey|aahead|topogram|3plane/.test(text)) return { reason: 'localizer' };
  if (/field.?map|fmap|b0map|phasediff/.test(text)) {
    return { reason: 'field map: which image (magnitude, phase difference) is unknown; map it explicitly' };
  }
  if (/sbref/.test(text)) return { reason: 'single-band reference: map it explicitly' };
  const dir = direction(scan.seriesDescription);
  if (/dwi|dti|dmri|diff/.test(text)) return rule('dwi', dir);
  if (/bold|fmri|rest|task|epfid/.test(text)) {
    const task = /rest/.test(text) ? 'rest' : /task[-_ ]?([a-z0-9]+)/.exec(text)?.[1];
    if (task === undefined) return { reason: 'functional scan without a task name: map it explicitly' };
    return rule('bold', { task, ...dir });
  }
  if (/flair|dark.?fluid|tirm/.test(text)) return rule('FLAIR');
  if (/t2\*|t2star|t2_star|swi/.test(text)) return rule('T2starw');
  if (/t1|mprage|mp-rage|spgr|tfl3d/.test(text)) return rule('T1w');
  if (/t2|space|tse/.test(text)) return rule('T2w');
  if (/\bpd\b|pdw/.test(text)) return rule('PDw');
  return { reason: 'type and series description name no BIDS image kind; map it explicitly' };
}
