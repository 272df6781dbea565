import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { KubeConfigError } from './errors.js';

/**
 * The cluster connection: an explicit kubeconfig file, or client-node's default chain
 * ($KUBECONFIG, ~/.kube/config, then the in-cluster service account).
 */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (err) {
    throw new KubeConfigError(`cannot load kubeconfig${file ? ` ${file}` : ''}: ${(err as Error).message}`, { cause: err });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`kubeconfig${file ? ` ${file}` : ''} has no current cluster`);
  // client-node's last resort when it finds nothing is an unauthenticated http://localhost:8080,
  // which it then refuses to use; say what is missing instead.
  if (!file && cluster.name === 'cluster' && cluster.server === 'http://localhost:8080') {
    throw new KubeConfigError('no kubeconfig found: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a pod');
  }
  return kc;
}

export interface KubeClients {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly admission: AdmissionregistrationV1Api;
  readonly apps: AppsV1Api;
  readonly rbac: RbacAuthorizationV1Api;
}

export function kubeClients(kc: KubeConfig): KubeClients {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    admission: kc.makeApiClient(AdmissionregistrationV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
  };
}
