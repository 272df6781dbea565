import { hostname } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { MemoryNodeCache } from '../extender/cache.js';
import { parseConfigMapRef, type ConfigMapRef } from '../kube/configMapRef.js';
import { ClaimIndex } from '../policy/amlClaims.js';
import { Component, type ServeOptions } from '../serve.js';

/** commander parser for `--policy-configmap NS/NAME`. */
export function configMapArg(value: string): ConfigMapRef {
  try {
    return parseConfigMapRef(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** The serve options this module reads, named as commander names them (`--policy-configmap` → `policyConfigmap`). */
export interface ClusterFlags {
  readonly kubeconfig?: string;
  readonly policyConfigmap?: ConfigMapRef;
  readonly policyKey?: string;
  readonly components: readonly Component[];
  readonly extenderState?: string;
}

/**
 * The cluster part of `serve`: a connection is made only when --kubeconfig or --policy-configmap
 * asks for one (plain `serve` needs no cluster). With it, informers feed a node cache: the
 * admission webhooks judge pods that name their node by it, and the extender schedules by it
 * (unless a --extender-state file was given, which then serves both); and, for the admission
 * component, a PVC index (AML's labelled PVCs).
 */
export async function clusterServeOptions(flags: ClusterFlags, env: NodeJS.ProcessEnv): Promise<Pick<ServeOptions, 'cluster' | 'nodeCache' | 'claims'>> {
  if (flags.kubeconfig === undefined && flags.policyConfigmap === undefined) return {};
  const { loadKubeConfig } = await import('../kube/client.js'); // client-node only when connecting
  const kc = loadKubeConfig(flags.kubeconfig);
  const ref = flags.policyConfigmap && flags.policyKey ? { ...flags.policyConfigmap, key: flags.policyKey } : flags.policyConfigmap;
  const informed = flags.extenderState === undefined || !flags.components.includes(Component.Extender);
  return {
    // In a pod the hostname is the pod name; POD_NAME (downward API) wins when set.
    cluster: { kc, instance: env.POD_NAME ?? hostname(), ...(ref ? { policyConfigMap: ref } : {}) },
    ...(informed ? { nodeCache: new MemoryNodeCache() } : {}),
    // AML's labelled PVCs, which the mutating webhook mounts into AML pods.
    ...(flags.components.includes(Component.Admission) ? { claims: new ClaimIndex() } : {}),
  };
}
