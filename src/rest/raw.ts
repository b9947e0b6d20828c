import type { Resource } from '@medplum/fhirtypes';
import { isJsonObject, prettyJson, stringifyFhir } from '../fhir/json.js';

/**
 * A Bundle entry may carry a stored resource's JSON text under this key instead of `resource`;
 * `serialize` splices the text in, so search and history never parse and re-serialize what the
 * store already holds as JSON.
 */
export const RAW_RESOURCE = Symbol('raw resource');

const MARKER = '\u0000raw:';
const MARKER_PATTERN = /"\\u0000raw:(\d+)"/g;

export function serialize(resource: Resource, pretty = false): string {
  const raws: string[] = [];
  const replacer = function (this: Record<PropertyKey, unknown>, key: string, value: unknown): unknown {
    if (isJsonObject(value) && RAW_RESOURCE in value) {
      const { fullUrl, ...rest } = value;
      raws.push(String(value[RAW_RESOURCE]));
      return { fullUrl, resource: MARKER + (raws.length - 1), ...rest };
    }
    return value;
  };
  const text = stringifyFhir(resource, { replacer });
  const spliced = raws.length ? text.replace(MARKER_PATTERN, (_, i: string) => raws[Number(i)]) : text;
  return pretty ? prettyJson(spliced) : spliced;
}
