import { wholeNumber } from '../../k8s/quantity.js';
import type { Container } from '../../k8s/pod.js';
import { ValidatingRuleId, type Compute } from '../../policy/types.js';
import { grantedSelector, ownTolerations } from '../grants.js';
import { listOf, Needs, plural, type ValidatingRule } from '../rule.js';
import type { Subject } from '../subject.js';

/** GPU quantities must be whole numbers, and a request must come with an equal limit (extended resources are not overcommitted). */
function gpuQuantityFindings(c: Container, kind: string, resourceNames: readonly string[]): string[] {
  const where = `${kind} ${c.name ?? '?'}`;
  const findings: string[] = [];
  for (const name of resourceNames) {
    const req: unknown = c.resources?.requests?.[name];
    const lim: unknown = c.resources?.limits?.[name];
    if (req === undefined && lim === undefined) continue;
    if (![req, lim].every((q) => q === undefined || wholeNumber(q) !== undefined)) findings.push(`${where}: ${name} must be a whole number`);
    else if (req !== undefined && lim === undefined) findings.push(`${where}: ${name} is requested without a limit; set limits equal to requests`);
    else if (req !== undefined && wholeNumber(req) !== wholeNumber(lim))
      findings.push(`${where}: ${name} requests (${String(req)}) must equal limits (${String(lim)})`);
  }
  return findings;
}

/**
 * Secrets named by blob mounts: the annotation's entries, FlexVolumes of the blobfuse driver, and
 * inline CSI volumes of the Blob CSI driver (whichever form the compute uses: a pod may bring
 * either itself).
 */
function blobfuseSecretNames(s: Subject, compute: Compute): string[] {
  const names = s.aml?.blobfuse?.ok ? s.aml.blobfuse.mounts.map((m) => m.secretName) : [];
  const { driver, csiDriver } = compute.blobfuse;
  for (const v of s.pod.volumes) {
    const found: unknown[] =
      v.flexVolume?.driver === driver
        ? [v.flexVolume.secretRef?.name]
        : v.csi?.driver === csiDriver
          ? [v.csi.volumeAttributes?.secretName, v.csi.nodePublishSecretRef?.name]
          : [];
    for (const name of found) if (typeof name === 'string' && name !== '') names.push(name);
  }
  return [...new Set(names)];
}

function selfSetPlacement(s: Subject, compute: Compute): string[] {
  const claims = compute.claims.resources;
  const of = `pods of compute ${s.aml!.computeName} may not`;
  const findings: string[] = [];
  if (!claims.allowNodeSelector) {
    const granted = grantedSelector(s, compute);
    const own = Object.entries(s.pod.nodeSelector).filter(([k, v]) => granted[k] !== v);
    if (own.length > 0) findings.push(`${of} set their own nodeSelector (${listOf(own.map(([k]) => k))})`);
    // Naming the node is the strongest placement of all; the webhook never grants it.
    if (s.namedNode !== undefined) findings.push(`${of} set spec.nodeName`);
  }
  if (!claims.allowAffinity && s.pod.hasNodeAffinity) findings.push(`${of} set node affinity`);
  if (!claims.allowTolerations) {
    const own = ownTolerations(s);
    if (own.length > 0) findings.push(`${of} set their own tolerations (${listOf(own.map((t) => t.key || '*'))})`);
  }
  return findings;
}

/**
 * What a pod may claim from its compute: GPU counts (whole, requests = limits, at most
 * maxGpusPerPod), an allowed instance type, allowed PVCs and blobfuse secrets, and its own
 * nodeSelector/affinity/tolerations only when the compute allows them.
 */
export const resourceClaims: ValidatingRule = {
  id: ValidatingRuleId.ResourceClaims,
  needs: Needs.KnownCompute,
  run(s) {
    const aml = s.aml!;
    const compute = aml.compute!;
    const claims = compute.claims.resources;
    const gpuNames = s.policy.gpu.resourceNames;
    const findings = [
      ...s.pod.containers.flatMap((c) => gpuQuantityFindings(c, 'container', gpuNames)),
      ...s.pod.initContainers.flatMap((c) => gpuQuantityFindings(c, 'init container', gpuNames)),
    ];
    if (claims.maxGpusPerPod !== undefined && s.gpus > claims.maxGpusPerPod) {
      findings.push(`pod requests ${plural(s.gpus, 'GPU')}; compute ${aml.computeName} allows at most ${claims.maxGpusPerPod} per pod`);
    }
    if (claims.instanceTypes.length > 0 && aml.instanceType !== undefined && !claims.instanceTypes.includes(aml.instanceTypeName)) {
      findings.push(`instance type ${aml.instanceTypeName} is not allowed (allowed: ${listOf(claims.instanceTypes)})`);
    }
    if (claims.persistentVolumeClaims.length > 0) {
      const claimed = s.pod.volumes.flatMap((v) => (typeof v.persistentVolumeClaim?.claimName === 'string' ? [v.persistentVolumeClaim.claimName] : []));
      const refused = claimed.filter((n) => !claims.persistentVolumeClaims.includes(n));
      if (refused.length > 0) findings.push(`PVC ${listOf(refused)} not allowed (allowed: ${listOf(claims.persistentVolumeClaims)})`);
    }
    const allowedSecrets = claims.blobfuseSecrets.length > 0 ? claims.blobfuseSecrets : compute.blobfuse.allowedSecrets;
    if (allowedSecrets.length > 0) {
      const refused = blobfuseSecretNames(s, compute).filter((n) => !allowedSecrets.includes(n));
      if (refused.length > 0) findings.push(`blobfuse secret ${listOf(refused)} not allowed (allowed: ${listOf(allowedSecrets)})`);
    }
    return [...findings, ...selfSetPlacement(s, compute)];
  },
};
