import { badRequest } from '../fhir/outcome.js';
import { type DicomLevel, type DicomMatch, MATCHING_ATTRIBUTES, type QueryRow } from '../store/dicom-index.js';
import { type DicomJson, tagOfKeyword, vrOfTag } from './dicom-json.js';
import type { ImagingContext } from './stow.js';

/**
 * QIDO-RS (PS3.18 10.6): the query's keys parsed (keywords or tags, percent-decoded UTF-8),
 * matched in the index under the door, and each match answered in DICOM JSON with the default
 * attributes of its level (PS3.18 tables 10.6.3-3 to -5) and those `includefield` asks for.
 */

/** The default page when the query gives no `limit`, and the largest it may ask for. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

const LEVELS: readonly DicomLevel[] = ['study', 'series', 'instance'];

/** Attributes each level returns by default (PS3.18 tables 10.6.3-3, -4, -5). */
const DEFAULT_RETURN: Record<DicomLevel, readonly string[]> = {
  study: ['00080005', '00080020', '00080030', '00080050', '00080056', '00080061', '00080090', '00080201', '00081030', '00081190', '00100010', '00100020', '00100030', '00100040', '0020000D', '00200010', '00201206', '00201208'],
  series: ['00080005', '00080060', '0008103E', '00080201', '00081190', '0020000E', '00200011', '00201209', '00400244', '00400245', '00400275'],
  instance: ['00080016', '00080018', '00080056', '00081190', '00083002', '00200013', '00280008', '00280010', '00280011', '00280100'],
};

export interface QidoAnswer {
  body: DicomJson[];
  warnings: string[];
}

export async function searchDicom(level: DicomLevel, query: readonly [string, string][], path: { study?: string; series?: string }, context: ImagingContext): Promise<QidoAnswer> {
  const warnings: string[] = [];
  const matches: DicomMatch[] = [];
  const included = new Set<string>();
  let all = false;
  let limit = DEFAULT_LIMIT;
  let offset = 0;
  for (const [name, value] of query) {
    if (name === 'limit' || name === 'offset') {
      if (!/^\d{1,9}$/.test(value)) throw badRequest(`${name} is a whole number, not "${value}"`, name);
      if (name === 'limit') limit = Math.min(Math.max(Number(value), 1), MAX_LIMIT);
      else offset = Number(value);
    } else if (name === 'fuzzymatching') {
      if (value === 'true') warnings.push('299 densaulyq "fuzzymatching is not supported: the query was matched exactly"');
      else if (value !== 'false') throw badRequest(`fuzzymatching is true or false, not "${value}"`, name);
    } else if (name === 'includefield') {
      for (const field of value.split(',')) {
        if (field === 'all') all = true;
        else included.add(tagOf(field.trim(), 'includefield'));
      }
    } else {
      const tag = tagOf(name, name);
      const attribute = MATCHING_ATTRIBUTES[tag];
      if (!attribute) {
        warnings.push(`299 densaulyq "${name} is not a matching key of this server: it was ignored"`);
        continue;
      }
      if (LEVELS.indexOf(attribute.level) > LEVELS.indexOf(level)) throw badRequest(`${name} is an attribute of the ${attribute.level}, not of a ${level} query`, name);
      if (attribute.kind === 'number' && !/^-?\d+$/.test(value)) throw badRequest(`${name} matches a number, not "${value}"`, name);
      if ((attribute.kind === 'date' || attribute.kind === 'time') && !/^[0-9.]*(-[0-9.]*)?$/.test(value)) throw badRequest(`${name} is a ${attribute.kind} or a range of them, not "${value}"`, name);
      if (value !== '' && value !== '*') matches.push({ tag, value });
    }
  }
  const { rows, more } = await context.repo.dicom.query({ level, ...path, matches, limit, offset }, { query: new URLSearchParams(query as [string, string][]).toString() });
  if (more) warnings.push(`299 densaulyq "There are more matches than the limit: ask again with offset=${offset + limit}"`);
  return { body: rows.map((row) => answer(level, row, path, { all, included }, context.base)), warnings };
}

/** A keyword (`PatientName`) or a tag (`00100010`) as a tag; 400 for neither. */
function tagOf(field: string, parameter: string): string {
  if (/^[0-9A-Fa-f]{8}$/.test(field)) return field.toUpperCase();
  const tag = tagOfKeyword(field);
  if (!tag) throw badRequest(`${field} is not a DICOM attribute keyword or tag`, parameter);
  return tag;
}

/** One match in DICOM JSON: the levels above the queried one unless the path fixed them (PS3.18 10.6.3.3). */
function answer(level: DicomLevel, row: QueryRow, path: { study?: string; series?: string }, include: { all: boolean; included: Set<string> }, base: string): DicomJson {
  const out: DicomJson = {};
  const studyUrl = `${base}/studies/${row.study.study_uid}`;
  const pick = (source: DicomJson, defaults: readonly string[]) => {
    for (const [tag, element] of Object.entries(source)) if (include.all || defaults.includes(tag) || include.included.has(tag)) out[tag] = element;
  };
  if (level === 'study' || !path.study) {
    pick(JSON.parse(row.study.attributes) as DicomJson, DEFAULT_RETURN.study);
    out['0020000D'] = { vr: 'UI', Value: [row.study.study_uid] };
    if (level === 'study') {
      out['00080061'] = { vr: 'CS', ...(row.study.modalities.length ? { Value: row.study.modalities } : {}) };
      out['00201206'] = { vr: 'IS', Value: [row.study.series_count] };
      out['00201208'] = { vr: 'IS', Value: [row.study.instance_count] };
      out['00081190'] = { vr: 'UR', Value: [studyUrl] };
    }
  }
  if (row.series && (level === 'series' || !path.series)) {
    pick(JSON.parse(row.series.attributes) as DicomJson, DEFAULT_RETURN.series);
    if (level === 'series') {
      out['00201209'] = { vr: 'IS', Value: [row.series.instance_count] };
      out['00081190'] = { vr: 'UR', Value: [`${studyUrl}/series/${row.series.series_uid}`] };
    }
  }
  if (row.instance) {
    const metadata = JSON.parse(row.instance.metadata) as DicomJson;
    // Bulk data is retrieved by WADO-RS, not listed in a query's answer.
    for (const [tag, element] of Object.entries(metadata)) if (element.BulkDataURI !== undefined || element.InlineBinary !== undefined) delete metadata[tag];
    pick(metadata, DEFAULT_RETURN.instance);
    out['00081190'] = { vr: 'UR', Value: [`${studyUrl}/series/${row.instance.series_uid}/instances/${row.instance.sop_instance_uid}`] };
    out['00083002'] = { vr: 'UI', Value: [row.instance.transfer_syntax_uid] };
  }
  // Every value is served as Unicode: the character set of the answer is UTF-8 (PS3.18 F.2.5).
  if (out['00080005']) out['00080005'] = { vr: 'CS', Value: ['ISO_IR 192'] };
  out['00080056'] = { vr: 'CS', Value: ['ONLINE'] };
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)).map(([tag, element]) => [tag, element.vr ? element : { ...element, vr: vrOfTag(tag) ?? 'UN' }]));
}
