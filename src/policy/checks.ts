import { escapeToken as esc } from '../k8s/json.js';
import { fitPlacement } from '../k8s/placement.js';
import { viewPod } from '../k8s/pod.js';
import { compareQuantities, parseQuantity, wholeNumber } from '../k8s/quantity.js';
import { formatTaint, type Toleration } from '../k8s/tolerations.js';
import { defaultPoolFor, typeHasGpus } from '../rules/grants.js';
import { targetsPool } from '../rules/mutating/nodePool.js';
import { reservationTaints } from './reservation.js';
import type { Compute, InstanceType, Policy } from './types.js';
import { isDns1123Label } from '../k8s/names.js';
import { WORKLOAD_RESOURCES } from '../k8s/workloads.js';
import { isExtendedResource } from '../k8s/resources.js';
import { DEFAULT_INSTANCE_TYPE } from './instanceTypeObjects.js';
import { selectorConflicts } from './instanceTypes.js';

/**
 * Cross-field checks the schema cannot express, run on the policy with its defaults filled in.
 * Each refuses something that would otherwise reach the API server as a pod it rejects, or leave
 * a rule quietly unenforced.
 */

export interface PolicyError {
  /** JSON Pointer into the document, e.g. `/computes/gpu/defaultInstanceType` ("" for the root). */
  readonly path: string;
  readonly message: string;
}

/** A label or taint key: an optional DNS subdomain prefix and a name of at most 63 characters. */
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** What the API server's ValidateTolerations refuses. */
function tolerationErrors(list: readonly Toleration[], at: string): PolicyError[] {
  const errors: PolicyError[] = [];
  list.forEach((t, i) => {
    const path = `${at}/${i}`;
    const key = t.key ?? '';
    if (key !== '' && (key.length > 316 || !QUALIFIED_NAME.test(key))) errors.push({ path: `${path}/key`, message: `"${key}" is not a valid taint key` });
    if (key === '' && t.operator !== 'Exists') errors.push({ path: `${path}/operator`, message: 'a toleration without a key must use operator Exists' });
    if (t.operator === 'Exists' && (t.value ?? '') !== '')
      errors.push({ path: `${path}/value`, message: `a toleration with operator Exists must not have a value (got "${t.value}")` });
    if (t.operator !== 'Exists' && !LABEL_VALUE.test(t.value ?? '')) errors.push({ path: `${path}/value`, message: `"${t.value}" is not a valid taint value` });
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute')
      errors.push({ path: `${path}/tolerationSeconds`, message: 'tolerationSeconds needs effect NoExecute' });
  });
  return errors;
}

/** Quantities the API server would refuse in a container that the instance type fills in. */
function resourceErrors(type: InstanceType, gpuNames: ReadonlySet<string>, at: string): PolicyError[] {
  const errors: PolicyError[] = [];
  const { requests, limits } = type.resources;
  for (const kind of ['requests', 'limits'] as const) {
    for (const [res, q] of Object.entries(type.resources[kind])) {
      const path = `${at}/resources/${kind}/${esc(res)}`;
      const v = parseQuantity(q)!; // the schema admits only quantities
      if (v.mantissa < 0n) errors.push({ path, message: `must not be negative, got "${q}"` });
      else if (gpuNames.has(res) && wholeNumber(q) === undefined) errors.push({ path, message: `GPU count must be a whole number, got "${q}"` });
      else if (isExtendedResource(res) && wholeNumber(q) === undefined)
        errors.push({ path, message: `extended resource ${res} must be a whole number, got "${q}"` });
    }
  }
  for (const [res, q] of Object.entries(requests)) {
    const path = `${at}/resources/requests/${esc(res)}`;
    const limit = limits[res];
    if (limit === undefined) {
      if (isExtendedResource(res)) errors.push({ path, message: `extended resource ${res} needs a limit equal to its request (it cannot be overcommitted)` });
      continue;
    }
    const order = compareQuantities(parseQuantity(q)!, parseQuantity(limit)!);
    if (order > 0) errors.push({ path, message: `request ${q} is greater than the limit ${limit}` });
    else if (order < 0 && isExtendedResource(res)) errors.push({ path, message: `extended resource ${res}: request ${q} must equal the limit ${limit}` });
  }
  return errors;
}

/**
 * An instance type's pods must land in the compute's pools. A selector that names a pool is all
 * the placement they get; one that names none is joined by the default pool (node-pool).
 */
function selectorErrors(policy: Policy, type: InstanceType, compute: Compute, at: string): PolicyError[] {
  if (Object.keys(type.nodeSelector).length === 0) return [];
  const pools = Object.fromEntries(Object.entries(compute.nodePools).map(([name, p]) => [name, p.labels]));
  const typed = viewPod({ spec: { containers: [], nodeSelector: type.nodeSelector } });
  const nodeSelector = targetsPool(typed, policy, compute)
    ? type.nodeSelector
    : { ...defaultPoolFor(compute, typeHasGpus(type, policy)).labels, ...type.nodeSelector };
  const [fit] = fitPlacement(viewPod({ spec: { containers: [], nodeSelector } }), pools).conjuncts;
  if (fit!.contained) return [];
  const selector = Object.entries(type.nodeSelector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return [
    { path: `${at}/nodeSelector`, message: `nodeSelector ${selector} selects nodes outside the compute's node pools (${Object.keys(pools).join(', ')})` },
  ];
}

function computeErrors(policy: Policy, name: string, c: Compute): PolicyError[] {
  const at = `/computes/${esc(name)}`;
  const errors: PolicyError[] = [];
  const gpuNames = new Set(policy.gpu.resourceNames);
  // With the cluster's InstanceType objects honoured, AML's built-in defaultinstancetype is there
  // when the policy defines none, and the claims may name types that only the cluster defines.
  const cluster = policy.amlExtension.instanceTypes;
  if (!(c.defaultInstanceType in c.instanceTypes) && !(cluster && c.defaultInstanceType === DEFAULT_INSTANCE_TYPE)) {
    errors.push({ path: `${at}/defaultInstanceType`, message: `instance type "${c.defaultInstanceType}" is not defined in instanceTypes` });
  }
  if (c.defaultNodePool !== undefined && !(c.defaultNodePool in c.nodePools)) {
    errors.push({ path: `${at}/defaultNodePool`, message: `node pool "${c.defaultNodePool}" is not defined in nodePools` });
  }
  for (const t of c.claims.resources.instanceTypes) {
    if (!cluster && !(t in c.instanceTypes))
      errors.push({ path: `${at}/claims/resources/instanceTypes`, message: `instance type "${t}" is not defined in instanceTypes` });
  }
  c.namespaces.forEach((ns, i) => {
    if (!isDns1123Label(ns))
      errors.push({ path: `${at}/namespaces/${i}`, message: `"${ns}" is not a namespace name (lowercase letters, digits and '-', at most 63 characters)` });
  });
  errors.push(...tolerationErrors(c.tolerations, `${at}/tolerations`));
  for (const [tname, t] of Object.entries(c.instanceTypes)) {
    const typeAt = `${at}/instanceTypes/${esc(tname)}`;
    errors.push(...resourceErrors(t, gpuNames, typeAt), ...selectorErrors(policy, t, c, typeAt));
    for (const key of selectorConflicts(t.nodeSelector, policy.amlExtension.nodeSelector)) {
      errors.push({
        path: `${typeAt}/nodeSelector/${esc(key)}`,
        message: `${key}=${t.nodeSelector[key]} contradicts amlExtension.nodeSelector ${key}=${policy.amlExtension.nodeSelector[key]}: the type would select no node`,
      });
    }
  }
  for (const [pname, pool] of Object.entries(c.nodePools)) {
    if (!pool.reserved || reservationTaints(policy, name, pool).length > 0) continue;
    const generic = pool.taints.map(formatTaint);
    errors.push({
      path: `${at}/nodePools/${esc(pname)}/taints`,
      message:
        `reserved pool ${pname} needs a NoSchedule or NoExecute taint that only compute ${name}'s pods tolerate` +
        (generic.length > 0 ? ` (${generic.join(', ')} ${generic.length === 1 ? 'is' : 'are'} given to other pods too)` : '') +
        `; taint its nodes e.g. ${policy.amlTaints.computeKey}=${name}:NoSchedule and list that taint here`,
    });
  }
  return errors;
}

/** Every cross-field error of a policy whose defaults are filled in (node pools' labels included). */
export function policyErrors(policy: Policy): PolicyError[] {
  return [
    // Extended resources are domain-qualified; the mutating webhook's matchCondition finds GPU pods by that '/'.
    ...policy.gpu.resourceNames.flatMap((r, i) =>
      r.includes('/') ? [] : [{ path: `/gpu/resourceNames/${i}`, message: `"${r}" is not an extended resource name (DOMAIN/NAME, e.g. nvidia.com/gpu)` }],
    ),
    ...tolerationErrors(policy.gpu.tolerations, '/gpu/tolerations'),
    ...tolerationErrors(policy.amlTaints.static, '/amlTaints/static'),
    ...Object.entries(policy.computes).flatMap(([name, c]) => computeErrors(policy, name, c)),
    ...workloadErrors(policy),
  ];
}

/**
 * A policy workload kind must be new (a built-in kind's templates are known), named once, and
 * created by a trusted controller: otherwise its pods would be judged as that controller, whose
 * identity no compute's claims name, and every one refused.
 */
function workloadErrors(policy: Policy): PolicyError[] {
  const seen = new Set<string>();
  return policy.workloads.flatMap((w, i) => {
    const errors: PolicyError[] = [];
    const key = `${w.group}/${w.kind}`;
    if (WORKLOAD_RESOURCES.some((r) => r.group === w.group && (r.kind === w.kind || r.resource === w.resource)))
      errors.push({
        path: `/workloads/${i}`,
        message: `${key} (${w.resource}) is a built-in workload kind: its templates are known (docs/policy.md#workloads)`,
      });
    else if (seen.has(key)) errors.push({ path: `/workloads/${i}`, message: `${key} is listed twice` });
    seen.add(key);
    if (!policy.trustedControllers.serviceAccounts.includes(w.creator))
      errors.push({
        path: `/workloads/${i}/creator`,
        message: `${w.creator} is not in trustedControllers.serviceAccounts: the pods it creates would be judged on its identity, not the submitter's`,
      });
    return errors;
  });
}
