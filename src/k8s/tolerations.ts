/** Taints and tolerations as Kubernetes defines them (k8s.io/api/core/v1 ToleratesTaint). */

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
export const TAINT_EFFECT_LIST: readonly TaintEffect[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
export const TAINT_EFFECTS: ReadonlySet<string> = new Set<TaintEffect>(TAINT_EFFECT_LIST);

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: TaintEffect;
  tolerationSeconds?: number;
}

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
}

/** What the API server's DefaultTolerationSeconds plugin adds to every pod. */
export const DEFAULT_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
];

/** Operators as ToleratesTaint reads them: empty means Equal; any other operator tolerates nothing. */
function operatorOf(t: Toleration): 'Exists' | 'Equal' | undefined {
  const op: string = t.operator ?? '';
  return op === 'Exists' ? 'Exists' : op === '' || op === 'Equal' ? 'Equal' : undefined;
}

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false;
  const op = operatorOf(t);
  // An empty key with operator Exists matches every taint.
  if (op === 'Exists') return true;
  return op === 'Equal' && (t.value ?? '') === (taint.value ?? '');
}

/** True when `broad` tolerates every taint `narrow` tolerates (so `narrow` grants nothing new). */
export function subsumes(broad: Toleration, narrow: Toleration): boolean {
  const narrowOp = operatorOf(narrow);
  if (narrowOp === undefined) return true; // tolerates nothing, so anything covers it
  const broadOp = operatorOf(broad);
  if (broadOp === undefined) return false;
  if (broad.effect && broad.effect !== narrow.effect) return false;
  if (broad.key === undefined || broad.key === '') return broadOp === 'Exists';
  if (narrow.key !== broad.key) return false;
  if (broadOp === 'Exists') return true;
  return narrowOp === 'Equal' && (narrow.value ?? '') === (broad.value ?? '');
}

/** `subsumes`, and no shorter: a bounded tolerationSeconds (NoExecute) is weaker than what `want` asks for. */
export function covers(have: Toleration, want: Toleration): boolean {
  if (have.tolerationSeconds !== undefined && have.tolerationSeconds !== want.tolerationSeconds) return false;
  return subsumes(have, want);
}

/** The wanted tolerations that neither the existing ones nor earlier wanted ones already cover, in order. */
export function missingTolerations(existing: readonly Toleration[], wanted: readonly Toleration[]): Toleration[] {
  const have = [...existing];
  const add: Toleration[] = [];
  for (const w of wanted) {
    if (have.some((h) => covers(h, w))) continue;
    add.push(w);
    have.push(w);
  }
  return add;
}

/** Taints that count for placement (PreferNoSchedule only steers, it never excludes). */
export function isHardTaint(taint: Taint): boolean {
  return taint.effect === 'NoSchedule' || taint.effect === 'NoExecute';
}

export function formatTaint(t: Taint): string {
  return `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
}
