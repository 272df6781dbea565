import type { Operation as PatchOperation } from 'fast-json-patch';
import { escapeToken, isObject as isMap } from '../k8s/json.js';

/**
 * The one place where mutation intents become RFC 6902 operations. Rules say *what* they want
 * (set this key, append this item); this module knows the JSON Patch traps (Volcano's webhooks
 * document the same ones):
 * - a missing parent is added whole (`add /spec/tolerations [t]`), never by appending to nothing;
 * - an existing array is appended to with `/-`, an existing map gets its escaped key;
 * - keys are escaped as JSON Pointer tokens (`~` → `~0`, `/` → `~1`);
 * - setting a value that is already there is no operation, so reinvocation yields no patch.
 */

/** A path into the object: object keys as strings, array indexes as numbers. */
export type PathSegment = string | number;

export type Mutation =
  /** Set the member at `path` (its last segment is a key) to `value`, creating missing parent maps. */
  | { readonly op: 'set'; readonly path: readonly PathSegment[]; readonly value: unknown }
  /** Append `value` to the array at `path`, creating the array (and missing parent maps) if needed. */
  | { readonly op: 'append'; readonly path: readonly PathSegment[]; readonly value: unknown };

export const set = (path: readonly PathSegment[], value: unknown): Mutation => ({ op: 'set', path, value });
export const append = (path: readonly PathSegment[], value: unknown): Mutation => ({ op: 'append', path, value });

/** A mutation that does not fit the document (e.g. a list where a map is expected). */
export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

export function pointer(path: readonly PathSegment[]): string {
  return path.map((s) => `/${escapeToken(s)}`).join('');
}

type Container = Record<string, unknown> | unknown[];

/** JSON values are equal when they serialise alike, ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Compiles mutations against a document, keeping a working copy that always equals
 * "original + ops so far", so each rule in a pipeline sees the pod as the earlier rules left it.
 * The original is never modified: only the containers on a changed path are copied.
 */
export class PatchBuilder<T extends object> {
  private working: T;
  /** Containers of the working document that are this builder's own (copies and fresh ones), never the original's. */
  private readonly owned = new WeakSet<object>();
  private readonly out: PatchOperation[] = [];
  /**
   * Maps and arrays this patch created. Their `add` op holds them by reference, so later
   * mutations inside them change that op's value instead of emitting ops of their own: two
   * tolerations for a pod with none become one `add /spec/tolerations [a, b]`.
   */
  private readonly fresh = new WeakSet<object>();

  constructor(original: T) {
    this.working = original;
  }

  /** The document as patched so far; read-only for callers. */
  get current(): T {
    return this.working;
  }

  /**
   * The operations so far. Their values are the working copy's own maps and lists (a later
   * mutation inside one edits the op that added it), so they are for reading and encoding:
   * clone them before applying them to a document. Not copying them is worth it on the hot path.
   */
  ops(): readonly PatchOperation[] {
    return this.out;
  }

  /**
   * Applies the mutations in order; answers whether the document changed. Every mutation is
   * checked against the document before any is applied, so a mutation that does not fit
   * (malformed input) throws PatchError and leaves builder and document untouched.
   */
  apply(mutations: readonly Mutation[]): boolean {
    for (const m of mutations) this.check(m);
    let changed = false;
    for (const m of mutations) changed = this.applyOne(m) || changed;
    return changed;
  }

  private check(m: Mutation): void {
    if (m.path.length === 0) throw new PatchError('a mutation needs a non-empty path');
    // Assigning "__proto__" would change a prototype instead of adding a member.
    if (m.path.includes('__proto__')) throw new PatchError('"__proto__" cannot be a key');
    const last = m.path.length - 1;
    let node: unknown = this.working;
    for (let i = 0; i < m.path.length; i++) {
      const seg = m.path[i]!;
      const isTarget = i === last;
      if (node === undefined || node === null) {
        // Created whole on apply, as nested maps: an index into a list that is not there cannot be.
        const index = m.path.slice(i).find((s) => typeof s === 'number');
        if (index !== undefined) throw new PatchError(`${pointer(m.path.slice(0, i))} does not exist`);
        return;
      }
      if (typeof seg === 'number') {
        if (!Array.isArray(node) || seg < 0 || seg >= node.length) throw new PatchError(`${pointer(m.path.slice(0, i + 1))} does not exist`);
      } else if (!isMap(node)) {
        throw new PatchError(`${pointer(m.path.slice(0, i))} is not a map`);
      }
      if (isTarget && m.op === 'set') return;
      node = (node as Record<string, unknown>)[seg as string];
    }
    if (m.op === 'append' && node !== undefined && node !== null && !Array.isArray(node)) throw new PatchError(`${pointer(m.path)} is not a list`);
  }

  /**
   * Copy-on-write by path: before a container is changed it is copied shallowly, once, and its
   * parents with it; untouched subtrees stay shared with the original. (Cloning the whole pod
   * per request was the largest cost of the hot path.)
   */
  private ownRoot(): void {
    if (this.owned.has(this.working)) return;
    this.working = shallowCopy(this.working);
    this.owned.add(this.working);
  }

  /** The child at `parent[seg]`, copied into the working document first if it is still shared. */
  private ownChild(parent: Container, seg: PathSegment): Container {
    const child = (parent as Record<string | number, unknown>)[seg] as Container;
    if (this.owned.has(child)) return child;
    const copy = shallowCopy(child);
    (parent as Record<string | number, unknown>)[seg] = copy;
    this.owned.add(copy);
    return copy;
  }

  private applyOne(m: Mutation): boolean {
    // A set that changes nothing (the usual case on reinvocation) must not copy or emit anything.
    if (m.op === 'set' && this.holds(m.path, m.value)) return false;
    this.ownRoot();
    const last = m.path.length - 1;
    let node = this.working as unknown as Container;
    let insideFresh = false;
    for (let i = 0; i <= last; i++) {
      const seg = m.path[i]!;
      insideFresh ||= this.fresh.has(node);
      const child = (node as Record<string | number, unknown>)[seg];
      const isTarget = i === last;
      if (isTarget && m.op === 'set') {
        const value = cloneJson(m.value);
        if (typeof value === 'object' && value !== null) this.mark(value);
        const existed = child !== undefined;
        (node as Record<string | number, unknown>)[seg] = value;
        if (!insideFresh) this.out.push({ op: existed ? 'replace' : 'add', path: pointer(m.path), value });
        return true;
      }
      if (child === undefined || child === null) {
        // Build the rest of the path whole and add it with one op at the first missing segment.
        const built = this.build(m, i + 1);
        (node as Record<string | number, unknown>)[seg] = built;
        if (!insideFresh) this.out.push({ op: 'add', path: pointer(m.path.slice(0, i + 1)), value: built });
        return true;
      }
      node = this.ownChild(node, seg);
    }
    // The target is an existing array: append.
    const item = cloneJson(m.value);
    (node as unknown[]).push(item);
    if (!insideFresh && !this.fresh.has(node)) this.out.push({ op: 'add', path: `${pointer(m.path)}/-`, value: item });
    return true;
  }

  /** The structure for path[from..]: nested maps ending in the set value or a one-item array. */
  private build(m: Mutation, from: number): unknown {
    const leaf: unknown = m.op === 'append' ? this.mark([cloneJson(m.value)]) : cloneJson(m.value);
    let value = leaf;
    for (let i = m.path.length - 1; i >= from; i--) value = this.mark({ [m.path[i] as string]: value });
    return value;
  }

  private mark<V extends object>(v: V): V {
    this.fresh.add(v);
    this.owned.add(v);
    return v;
  }

  /** Whether the working document already holds `value` at `path`. */
  private holds(path: readonly PathSegment[], value: unknown): boolean {
    let node: unknown = this.working;
    for (const seg of path) {
      if (node === undefined || node === null || typeof node !== 'object') return false;
      node = (node as Record<string | number, unknown>)[seg];
    }
    return node !== undefined && jsonEqual(node, value);
  }
}

/**
 * A deep copy of a JSON value. Mutation values are small plain JSON, and structuredClone
 * (a V8 serialise/deserialise round trip) costs several microseconds per call on the hot path.
 */
export function cloneJson<V>(v: V): V {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(cloneJson) as V;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const value = cloneJson((v as Record<string, unknown>)[k]);
    // JSON.parse makes "__proto__" an own key; assigning it would set the prototype instead.
    if (k === '__proto__') Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    else out[k] = value;
  }
  return out as V;
}

function shallowCopy<V>(v: V): V {
  return (Array.isArray(v) ? [...v] : { ...v }) as V;
}
