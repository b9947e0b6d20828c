import type { StructureDefinition } from '@medplum/fhirtypes';
import { type ElementModel, coreTree, elementId, elementTree } from './structure.js';

/**
 * The element tree of a profile (https://hl7.org/fhir/R4/profiling.html), complete: each of its
 * elements is laid over the base element it narrows, and what it does not mention is the base
 * type's. So a profile whose snapshot lists only the elements it changes — or only a differential
 * — is enforced as the full definition it stands for. Undefined when its type is not an R4 type.
 */
export function profileTree(definition: StructureDefinition): ElementModel | undefined {
  const type = definition.type;
  const root = type ? coreTree(type) : undefined;
  if (!root) return undefined;
  // The base element each profile element narrows, by the profile element's id.
  const bases = new Map<string, ElementModel | undefined>();
  const tree = elementTree(definition, (element, parent) => {
    const last = element.path.slice(element.path.lastIndexOf('.') + 1);
    const base = parent ? childNamed(inheritedChildren(parent, bases.get(parent.id), root), last) : root;
    bases.set(elementId(element), base);
    return base;
  });
  complete(tree, bases, root);
  return tree;
}

/**
 * The children a profile element inherits: its base's, those the base's contentReference names,
 * or those of its one data type — the profile's, which may have narrowed a choice to one type.
 */
function inheritedChildren(node: ElementModel, base: ElementModel | undefined, root: ElementModel): readonly ElementModel[] {
  if (base && base.children.length > 0) return base.children;
  const reference = base?.contentReference ?? node.contentReference;
  if (reference !== undefined) return findById(root, reference)?.children ?? [];
  const [type] = node.types;
  if (node.types.length !== 1 || !type || !/^[A-Z]/.test(type.code) || type.code === 'Resource') return [];
  return coreTree(type.code)?.children ?? [];
}

/** `value[x]`, or old-style the JSON name of one of its types (`valueQuantity`). */
function childNamed(children: readonly ElementModel[], segment: string): ElementModel | undefined {
  const name = segment.endsWith('[x]') ? segment.slice(0, -3) : segment;
  return children.find((c) => c.name === name) ?? children.find((c) => c.choice && c.types.some((t) => name === c.name + t.code[0].toUpperCase() + t.code.slice(1)));
}

function findById(node: ElementModel, id: string): ElementModel | undefined {
  if (node.id === id) return node;
  for (const child of node.children) {
    const found = findById(child, id);
    if (found) return found;
  }
  return undefined;
}

/**
 * Gives each profile element the full list of its children: the inherited ones, replaced where
 * the profile says more. A backbone element or a data type the profile looks into gets them all;
 * a data type it does not look into keeps none, and is checked by its type's own validator.
 * Base elements are shared, never changed.
 */
function complete(node: ElementModel, bases: Map<string, ElementModel | undefined>, root: ElementModel): void {
  const base = bases.get(node.id);
  const own = node.children.slice();
  const backbone = base !== undefined && (base.children.length > 0 || base.contentReference !== undefined);
  if (own.length > 0 || backbone) {
    const inherited = inheritedChildren(node, base, root);
    const merged = inherited.map((b) => own.find((c) => bases.get(c.id) === b) ?? b);
    for (const child of own) if (!merged.includes(child)) merged.push(child);
    node.children.splice(0, node.children.length, ...merged);
  }
  for (const child of own) complete(child, bases, root);
  for (const slice of node.slices) complete(slice, bases, root);
}
