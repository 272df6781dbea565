import { defaultPoolFor } from '../mutation/nodePool.js';
import { containersOf, initContainersOf, podGpus, requestsGpu, type Container, type Pod } from '../pod.js';
import { podTolerations } from '../scheduling.js';
import { ValidatingRuleId, type Compute, type Policy } from '../types.js';
import { finding, listOf, needsKnownCompute, plural, type Finding, type Subject, type ValidatingRule } from './rule.js';
import { grantedTolerations, ownTolerations } from './tolerations.js';

const id = ValidatingRuleId.ResourceClaims;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isWholeCount(q: unknown): boolean {
  return (typeof q === 'number' && Number.isInteger(q) && q >= 0) || (typeof q === 'string' && /^\d+$/.test(q));
}

/** GPU quantities must be whole numbers, and a request must come with an equal limit (extended resources are not overcommitted). */
function gpuQuantityFindings(c: Container, kind: string, resourceNames: readonly string[]): Finding[] {
  const res = isObject(c.resources) ? c.resources : {};
  const requests = isObject(res.requests) ? (res.requests as Record<string, unknown>) : {};
  const limits = isObject(res.limits) ? (res.limits as Record<string, unknown>) : {};
  const where = `${kind} ${typeof c.name === 'string' ? c.name : '?'}`;
  const findings: Finding[] = [];
  for (const name of resourceNames) {
    const req = requests[name];
    const lim = limits[name];
    if (req === undefined && lim === undefined) continue;
    if (![req, lim].every((q) => q === undefined || isWholeCount(q))) {
      findings.push(finding(id, `${where}: ${name} must be a whole number`));
    } else if (req !== undefined && lim === undefined) {
      findings.push(finding(id, `${where}: ${name} is requested without a limit; set limits equal to requests`));
    } else if (req !== undefined && Number(req) !== Number(lim)) {
      findings.push(finding(id, `${where}: ${name} requests (${String(req)}) must equal limits (${String(lim)})`));
    }
  }
  return findings;
}

function claimNames(pod: Pod): string[] {
  const volumes: unknown = pod.spec?.volumes;
  if (!Array.isArray(volumes)) return [];
  return volumes.flatMap((v: unknown) => {
    const claim = isObject(v) && isObject(v.persistentVolumeClaim) ? v.persistentVolumeClaim.claimName : undefined;
    return typeof claim === 'string' ? [claim] : [];
  });
}

/** Secrets named by blobfuse mounts: the annotation's entries and flexVolumes of the blobfuse driver. */
function blobfuseSecretNames(pod: Pod, subject: Subject, compute: Compute): string[] {
  const names: string[] = [];
  if (subject.aml?.blobfuse?.ok) names.push(...subject.aml.blobfuse.mounts.map((m) => m.secretName));
  const volumes: unknown = pod.spec?.volumes;
  for (const v of Array.isArray(volumes) ? volumes : []) {
    const flex = isObject(v) && isObject(v.flexVolume) ? v.flexVolume : undefined;
    if (flex?.driver !== compute.blobfuse.driver) continue;
    const name = isObject(flex.secretRef) ? flex.secretRef.name : undefined;
    if (typeof name === 'string') names.push(name);
  }
  return [...new Set(names)];
}

/** nodeSelector entries the mutating webhook writes: the instance type's and the default pool's labels. */
function grantedSelector(subject: Subject, compute: Compute): Record<string, string> {
  const defaultPool = defaultPoolFor(compute, requestsGpu(subject.pod, subject.policy.gpu.resourceNames));
  return { ...defaultPool.labels, ...subject.aml!.instanceType?.nodeSelector };
}

function selfSetPlacement(policy: Policy, subject: Subject, compute: Compute): Finding[] {
  const { pod, aml } = subject;
  const claims = compute.claims.resources;
  const findings: Finding[] = [];
  if (!claims.allowNodeSelector) {
    const selector: unknown = pod.spec?.nodeSelector;
    const granted = grantedSelector(subject, compute);
    const own = isObject(selector) ? Object.entries(selector).filter(([k, v]) => granted[k] !== v).map(([k]) => k) : [];
    if (own.length > 0) findings.push(finding(id, `pods of compute ${aml!.computeName} may not set their own nodeSelector (${listOf(own)})`));
  }
  if (!claims.allowAffinity && isObject(pod.spec?.affinity?.nodeAffinity)) {
    findings.push(finding(id, `pods of compute ${aml!.computeName} may not set node affinity`));
  }
  if (!claims.allowTolerations) {
    const own = ownTolerations(podTolerations(pod), grantedTolerations(policy, pod, aml));
    if (own.length > 0) {
      findings.push(finding(id, `pods of compute ${aml!.computeName} may not set their own tolerations (${listOf(own.map((t) => t.key || '*'))})`));
    }
  }
  return findings;
}

/**
 * What a pod may claim from its compute: GPU counts (whole, requests = limits, at most
 * maxGpusPerPod), an allowed instance type, allowed PVCs and blobfuse secrets, and its own
 * nodeSelector/affinity/tolerations only when the compute allows them.
 */
export const resourceClaims: ValidatingRule = {
  id,
  skip: needsKnownCompute,
  check(subject: Subject): Finding[] {
    const { policy, pod, aml } = subject;
    const compute = aml!.compute!;
    const claims = compute.claims.resources;
    const gpuNames = policy.gpu.resourceNames;
    const findings: Finding[] = [
      ...containersOf(pod).flatMap((c) => gpuQuantityFindings(c, 'container', gpuNames)),
      ...initContainersOf(pod).flatMap((c) => gpuQuantityFindings(c, 'init container', gpuNames)),
    ];
    const gpus = podGpus(pod, gpuNames);
    if (claims.maxGpusPerPod !== undefined && gpus > claims.maxGpusPerPod) {
      findings.push(finding(id, `pod requests ${plural(gpus, 'GPU')}; compute ${aml!.computeName} allows at most ${claims.maxGpusPerPod} per pod`));
    }
    if (claims.instanceTypes.length > 0 && aml!.instanceType !== undefined && !claims.instanceTypes.includes(aml!.instanceTypeName)) {
      findings.push(finding(id, `instance type ${aml!.instanceTypeName} is not allowed (allowed: ${listOf(claims.instanceTypes)})`));
    }
    if (claims.persistentVolumeClaims.length > 0) {
      const denied = claimNames(pod).filter((n) => !claims.persistentVolumeClaims.includes(n));
      if (denied.length > 0) findings.push(finding(id, `PVC ${listOf(denied)} not allowed (allowed: ${listOf(claims.persistentVolumeClaims)})`));
    }
    const allowedSecrets = claims.blobfuseSecrets.length > 0 ? claims.blobfuseSecrets : compute.blobfuse.allowedSecrets;
    if (allowedSecrets.length > 0) {
      const denied = blobfuseSecretNames(pod, subject, compute).filter((n) => !allowedSecrets.includes(n));
      if (denied.length > 0) findings.push(finding(id, `blobfuse secret ${listOf(denied)} not allowed (allowed: ${listOf(allowedSecrets)})`));
    }
    findings.push(...selfSetPlacement(policy, subject, compute));
    return findings;
  },
};
