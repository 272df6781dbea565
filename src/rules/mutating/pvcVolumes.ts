import { append, type Mutation } from '../../admission/patch.js';
import { amlVolumeClaim, type AmlVolumeClaim } from '../../policy/amlClaims.js';
import { MutatingRuleId } from '../../policy/types.js';
import { Needs, nothing, unknownCompute, type MutatingRule } from '../rule.js';

/**
 * AML's PVC convention: every PVC of the pod's namespace labelled `ml.azure.com/pvc: "true"`
 * becomes a volume of the AML pod, mounted at its `ml.azure.com/mountpath` in every regular
 * container; its `ml.azure.com/gid` joins the pod's supplementalGroups.
 *
 * Governed by the resource claims, so that validation never denies what this rule added: a claim
 * outside the compute's `claims.resources.persistentVolumeClaims` (when that list is set) is not
 * mounted, with a warning. A pod that already mounts the claim (itself, or by an earlier call) is
 * left as it is, which also makes a second call a no-op; a container that already uses the path
 * keeps its own mount.
 */
export const pvcVolumes: MutatingRule = {
  id: MutatingRuleId.PvcVolumes,
  needs: Needs.AmlPod,
  run(s) {
    const { pod, policy } = s;
    const aml = s.aml!;
    const offered = s.claims.inNamespace(s.namespace).filter((c) => c.labels[policy.keys.pvcLabel] === 'true');
    // Only a pod that would get a claim hears about its unknown compute (as blobfuse-volumes does).
    if (offered.length === 0) return nothing;
    if (aml.compute === undefined) return unknownCompute(aml.computeName);
    const allowed = aml.compute.claims.resources.persistentVolumeClaims;
    const claimed = new Set(pod.volumes.flatMap((v) => (v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : [])));
    const volumeNames = new Set(pod.volumes.map((v) => v.name));
    const containers = pod.containers.map((c, index) => ({ name: c.name, index, paths: new Set((c.volumeMounts ?? []).map((m) => m.mountPath)) }));
    const groups = new Set(pod.object.spec?.securityContext?.supplementalGroups ?? []);
    const mutations: Mutation[] = [];
    const warnings: string[] = [];
    const claims: AmlVolumeClaim[] = [];
    for (const meta of [...offered].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const read = amlVolumeClaim(meta, policy.keys);
      if (read === undefined) continue;
      if (!read.ok) warnings.push(`PVC ${meta.name} not mounted: ${read.error}`);
      else if (allowed.length > 0 && !allowed.includes(meta.name)) warnings.push(`PVC ${meta.name} not mounted: not in the compute's allowed PVCs`);
      else claims.push(read.claim);
    }
    for (const c of claims) {
      if (claimed.has(c.claimName)) continue;
      if (volumeNames.has(c.volumeName)) {
        warnings.push(`PVC ${c.claimName} not mounted: the pod has another volume named ${c.volumeName}`);
        continue;
      }
      mutations.push(append(['spec', 'volumes'], { name: c.volumeName, persistentVolumeClaim: { claimName: c.claimName } }));
      volumeNames.add(c.volumeName);
      for (const t of containers) {
        if (t.paths.has(c.mountPath)) {
          warnings.push(`container "${t.name}" already mounts ${c.mountPath}; PVC ${c.claimName} not mounted there`);
          continue;
        }
        t.paths.add(c.mountPath);
        mutations.push(append(['spec', 'containers', t.index, 'volumeMounts'], { name: c.volumeName, mountPath: c.mountPath }));
      }
      if (c.gid !== undefined && !groups.has(c.gid)) {
        groups.add(c.gid);
        mutations.push(append(['spec', 'securityContext', 'supplementalGroups'], c.gid));
      }
    }
    return { mutations, warnings };
  },
};
