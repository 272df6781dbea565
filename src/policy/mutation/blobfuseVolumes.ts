import { append, type Mutation, type PathSegment } from '../../admission/patch.js';
import type { BlobfuseMount } from '../pod.js';
import { MutatingRuleId, type BlobfuseSettings } from '../types.js';
import { indexed, isObject, mutations, nothing, skip, unknownCompute, type MutatingRule } from './rule.js';

/** The FlexVolume for one mount; option keys are the ones the azure/blobfuse driver reads. */
export function blobfuseVolume(m: BlobfuseMount, settings: BlobfuseSettings): Record<string, unknown> {
  const mountoptions = m.mountOptions ?? settings.mountOptions;
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

interface Target {
  readonly name: string;
  readonly path: readonly PathSegment[];
  /** The container's mounts, plus the ones this call adds (so two mounts never share a path). */
  readonly mounts: Record<string, unknown>[];
}

function targetsOf(list: unknown, field: 'containers' | 'initContainers'): Target[] {
  return indexed(list).map(({ index, container }) => ({
    name: String(container.name),
    path: ['spec', field, index],
    mounts: Array.isArray(container.volumeMounts) ? container.volumeMounts.filter(isObject) : [],
  }));
}

/**
 * Each mount of the blobfuse annotation becomes a FlexVolume (driver, secretRef, options
 * container/tmppath/mountoptions) and a volumeMount in the named containers (default: every
 * regular container). Volumes and mounts already present by name are left alone, which is
 * also what makes a second call a no-op.
 */
export const blobfuseVolumes: MutatingRule = {
  id: MutatingRuleId.BlobfuseVolumes,
  mutate({ policy, pod, aml }) {
    if (!aml || aml.blobfuse === undefined) return nothing;
    if (!aml.blobfuse.ok) return skip(`annotation ${policy.keys.blobfuseAnnotation} ${aml.blobfuse.error}`);
    if (!aml.compute) return unknownCompute(aml);
    const settings = aml.compute.blobfuse;
    const volumes = new Map(indexed(pod.spec?.volumes).map(({ container: v }) => [v.name, v]));
    const regular = targetsOf(pod.spec?.containers, 'containers');
    const all = [...regular, ...targetsOf(pod.spec?.initContainers, 'initContainers')];
    const out: Mutation[] = [];
    const warnings: string[] = [];
    for (const m of aml.blobfuse.mounts) {
      const existing = volumes.get(m.name);
      if (existing === undefined) out.push(append(['spec', 'volumes'], blobfuseVolume(m, settings)));
      else if (!isObject(existing.flexVolume) || existing.flexVolume.driver !== settings.driver) {
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
        out.push(append([...t.path, 'volumeMounts'], mount));
      }
    }
    return mutations(out, warnings);
  },
};
