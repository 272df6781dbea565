import { parseAllDocuments } from 'yaml';
import { isObject } from '../k8s/json.js';
import { MemoryNodeCache } from './cache.js';

/**
 * A cluster picture from a file, for running the extender without a cluster (and for demos and
 * tests): YAML or JSON, one or more documents, each a Node, a Pod, or a list of them (`NodeList`,
 * `PodList`, or `List` as `kubectl get nodes,pods -A -o yaml` prints). Other kinds are skipped.
 */
export interface StateFileResult {
  readonly cache: MemoryNodeCache;
  readonly nodes: number;
  readonly pods: number;
  readonly skipped: number;
}

/** Parses the file's text into a fresh cache; throws an Error naming the document on bad YAML. */
export function loadStateText(text: string): StateFileResult {
  const cache = new MemoryNodeCache();
  let nodes = 0;
  let pods = 0;
  let skipped = 0;
  const add = (item: unknown, impliedKind?: string): void => {
    const kind = isObject(item) && typeof item.kind === 'string' ? item.kind : impliedKind;
    if (kind === 'Node' && cache.upsertNode(item)) nodes += 1;
    else if (kind === 'Pod' && isObject(item)) {
      cache.upsertPod(item);
      pods += 1;
    } else if (isObject(item) && typeof kind === 'string' && kind.endsWith('List') && Array.isArray(item.items)) {
      const implied = kind === 'List' ? undefined : kind.slice(0, -'List'.length); // API lists omit each item's kind
      for (const i of item.items) add(i, implied);
    } else skipped += 1;
  };
  for (const [i, doc] of parseAllDocuments(text, { prettyErrors: false }).entries()) {
    if (!('errors' in doc) || doc.errors.length > 0) {
      const message = 'errors' in doc && doc.errors[0] ? doc.errors[0].message.split('\n')[0] : 'unreadable document';
      throw new Error(`document ${i + 1}: ${message}`);
    }
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) add(value);
  }
  return { cache, nodes, pods, skipped };
}
