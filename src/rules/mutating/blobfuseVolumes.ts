import { append, type Mutation, type PathSegment } from '../../admission/patch.js';
import type { Container, Volume } from '../../k8s/pod.js';
import type { BlobfuseMount } from '../../policy/aml.js';
import { BlobVolume, MutatingRuleId, type BlobfuseSettings } from '../../policy/types.js';
import { malformed, Needs, nothing, unknownCompute, type MutatingRule } from '../rule.js';

/**
 * The volume for one mount: a FlexVolume (option keys as the azure/blobfuse driver reads them), or
 * an inline CSI volume (volumeAttributes as the Azure Blob CSI driver reads them; the Secret holds
 * `azurestorageaccountname` and `azurestorageaccountkey`, and is read from the pod's namespace).
 */
export function blobfuseVolume(m: BlobfuseMount, settings: BlobfuseSettings): Record<string, unknown> {
  const mountoptions = m.mountOptions ?? settings.mountOptions;
  if (settings.volume === BlobVolume.Csi) {
    return {
      name: m.name,
      csi: {
        driver: settings.csiDriver,
        ...(m.readOnly === true ? { readOnly: true } : {}),
        volumeAttributes: { containerName: m.container, secretName: m.secretName, ...(mountoptions !== '' ? { mountOptions: mountoptions } : {}) },
      },
    };
  }
  return {
    name: m.name,
    flexVolume: {
      driver: settings.driver,
      secretRef: { name: m.secretName },
      ...(m.readOnly === true ? { readOnly: true } : {}),
      options: { container: m.container, tmppath: settings.tmpPath, ...(mountoptions !== '' ? { mountoptions } : {}) },
    },
  };
}

/** A volume of the compute's blob driver, in either form (an earlier call made it, or the pod brought it). */
export function isBlobVolume(v: Volume, settings: BlobfuseSettings): boolean {
  return v.flexVolume?.driver === settings.driver || v.csi?.driver === settings.csiDriver;
}

interface Target {
  readonly name: string | undefined;
  readonly path: readonly PathSegment[];
  /** The container's mounts, plus the ones this call adds (so two mounts never share a path). */
  readonly mounts: { name?: string; mountPath?: string }[];
}

function targetsOf(list: readonly Container[], field: 'containers' | 'initContainers'): Target[] {
  return list.map((c, index) => ({ name: c.name, path: ['spec', field, index], mounts: [...(c.volumeMounts ?? [])] }));
}

/**
 * Each mount of the blobfuse annotation becomes a volume of the compute's `blobfuse.volume` form
 * (a FlexVolume, or an inline Azure Blob CSI volume) and a volumeMount in the named containers
 * (default: every regular container). Volumes and mounts already present by name are left alone, which is
 * also what makes a second call a no-op.
 */
export const blobfuseVolumes: MutatingRule = {
  id: MutatingRuleId.BlobfuseVolumes,
  needs: Needs.AmlPod,
  run({ policy, pod, aml }) {
    const { blobfuse, compute } = aml!;
    if (blobfuse === undefined) return nothing;
    if (!blobfuse.ok) return malformed(`annotation ${policy.keys.blobfuseAnnotation} ${blobfuse.error}`);
    if (!compute) return unknownCompute(aml!.computeName);
    const settings = compute.blobfuse;
    const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
    const regular = targetsOf(pod.containers, 'containers');
    const all = [...regular, ...targetsOf(pod.initContainers, 'initContainers')];
    const mutations: Mutation[] = [];
    const warnings: string[] = [];
    for (const m of blobfuse.mounts) {
      const existing = volumes.get(m.name);
      if (existing === undefined) mutations.push(append(['spec', 'volumes'], blobfuseVolume(m, settings)));
      else if (!isBlobVolume(existing, settings)) {
        warnings.push(`volume "${m.name}" already exists and is not blobfuse; mount skipped`);
        continue;
      }
      const targets = m.containers === undefined ? regular : m.containers.map((name) => all.find((t) => t.name === name) ?? name);
      for (const t of targets) {
        if (typeof t === 'string') {
          warnings.push(`mount "${m.name}" names no container "${t}"`);
          continue;
        }
        if (t.mounts.some((vm) => vm.name === m.name)) continue;
        if (t.mounts.some((vm) => vm.mountPath === m.mountPath)) {
          warnings.push(`container "${t.name}" already mounts ${m.mountPath}; "${m.name}" not mounted`);
          continue;
        }
        const mount = { name: m.name, mountPath: m.mountPath, ...(m.readOnly === true ? { readOnly: true } : {}) };
        t.mounts.push(mount);
        mutations.push(append([...t.path, 'volumeMounts'], mount));
      }
    }
    return { mutations, warnings };
  },
};
