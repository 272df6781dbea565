import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { ROOT } from './assets.js';
import { httpsGet, type ControlPlane } from './controlPlane.js';
import { freePort, run, waitFor, type Proc, type RunResult } from './processes.js';

/** aml-admission's own namespace and object names, as deploy/ and webhook-config/ have them. */
export const AML = {
  namespace: 'azureml',
  secret: 'azureml-connector-admission-tls',
  caSecret: 'azureml-connector-admission-ca',
  schedulerDeployment: 'azureml-connector-scheduler',
  webhookConfig: 'azureml-connector-admission',
  admissionSa: 'azureml-connector-admission',
  initSa: 'azureml-connector-admission-init',
  schedulerSa: 'azureml-connector-scheduler',
  policyConfigMap: 'aml-admission-policy',
} as const;

/** The manifests of deploy/ that a test install needs: the namespace, ServiceAccounts and RBAC (no Deployments: the processes run here). */
const BASE_MANIFESTS = [
  'deploy/namespace.yaml',
  'deploy/admission/serviceaccount.yaml',
  'deploy/admission/rbac.yaml',
  'deploy/init/serviceaccount.yaml',
  'deploy/init/rbac.yaml',
  'deploy/kube-scheduler/serviceaccount.yaml',
  'deploy/kube-scheduler/rbac.yaml',
];

const MAIN = join(ROOT, 'dist/src/main.js');

/** The CLI as users run it (`node dist/src/main.js`; `npm run test:e2e` builds first). */
export function amlCli(args: readonly string[]): Promise<RunResult> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (npm run test:e2e does)`);
  return run(process.execPath, [MAIN, ...args], { cwd: ROOT });
}

const installed = new WeakMap<ControlPlane, Promise<void>>();

async function applyBase(plane: ControlPlane): Promise<void> {
  await plane.kubectlOk(['apply', ...BASE_MANIFESTS.flatMap((f) => ['-f', join(ROOT, f)])]);
  await ensureDefaultServiceAccount(plane, AML.namespace);
}

/** deploy/'s namespace, ServiceAccounts and RBAC, applied once per control plane. */
export function installBase(plane: ControlPlane): Promise<void> {
  let done = installed.get(plane);
  if (!done) {
    done = applyBase(plane);
    installed.set(plane, done);
  }
  return done;
}

/** The base again, for the files after one that removed it (the Helm chart's install and uninstall). */
export async function restoreBase(plane: ControlPlane): Promise<void> {
  await installBase(plane);
  await applyBase(plane);
}

/**
 * Pods need their namespace's `default` ServiceAccount (the ServiceAccount admission plugin looks
 * it up), which only the controller manager creates: create it when the controller manager is not
 * running. Either way it exists afterwards.
 */
export async function ensureDefaultServiceAccount(plane: ControlPlane, namespace: string): Promise<void> {
  const core = plane.kubeConfig().makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'default' } } }).catch((err: { code?: number }) => {
    if (err.code !== 409) throw err;
  });
}

/**
 * A fresh namespace with its default ServiceAccount, where every authenticated user may manage
 * pods and workloads, so what stops them is the webhooks, not RBAC. (Not the built-in `edit`
 * role: it is aggregated by the controller manager, and empty while that does not run.)
 */
export async function createNamespace(plane: ControlPlane, name: string, labels: Record<string, string> = {}): Promise<string> {
  const kc = plane.kubeConfig();
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, labels } } });
  await rbac.createNamespacedRole({
    namespace: name,
    body: {
      metadata: { name: 'e2e-workloads' },
      rules: [
        { apiGroups: [''], resources: ['pods', 'configmaps'], verbs: ['*'] },
        { apiGroups: ['apps', 'batch'], resources: ['*'], verbs: ['*'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: name,
    body: {
      metadata: { name: 'e2e-workloads' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'e2e-workloads' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:authenticated' }],
    },
  });
  await ensureDefaultServiceAccount(plane, name);
  return name;
}

/** `aml-admission init` as the init Job's ServiceAccount (deploy/init/rbac.yaml), registering the webhooks by URL. */
export async function initByUrl(plane: ControlPlane, opts: { port: number; certsDir: string; extra?: readonly string[] }): Promise<RunResult> {
  await installBase(plane);
  const kubeconfig = await plane.serviceAccountKubeconfig(AML.namespace, AML.initSa);
  return amlCli([
    'init',
    '--kubeconfig',
    kubeconfig,
    '--webhook-config',
    join(ROOT, 'webhook-config'),
    '--webhook-url',
    `https://127.0.0.1:${opts.port}`,
    '--certs-dir',
    opts.certsDir,
    ...(opts.extra ?? []),
  ]);
}

export interface AmlServer {
  readonly proc: Proc;
  readonly port: number;
  readonly url: string;
  readonly certsDir: string;
  readonly auditLog: string;
  /** The CA bundle the server's certificate chains to (ca.crt of init's Secret). */
  ca(): Promise<string>;
  /** The audit log's lines so far. */
  audit(): Promise<Record<string, any>[]>;
  /** The audit lines about pods named `name`, once there are at least `count` (written just after the answer). */
  decisions(name: string, count: number): Promise<Record<string, any>[]>;
  /** The server's own log lines so far. */
  logs(): Promise<Record<string, any>[]>;
  stop(): Promise<void>;
}

/**
 * `aml-admission serve` as its Deployment runs it: as the admission ServiceAccount
 * (deploy/admission/rbac.yaml), with the certificate init wrote, here on loopback.
 */
export async function startServer(
  plane: ControlPlane,
  opts: {
    name: string;
    port: number;
    certsDir: string;
    args: readonly string[];
    /** Default: the admission ServiceAccount's. */
    kubeconfig?: string;
    /** POD_NAME, as the Deployment sets it from the downward API. */
    podName?: string;
    /** Wait for /readyz (default true). */
    ready?: boolean;
  },
): Promise<AmlServer> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (npm run test:e2e does)`);
  await installBase(plane);
  const kubeconfig = opts.kubeconfig ?? (await plane.serviceAccountKubeconfig(AML.namespace, AML.admissionSa));
  const auditLog = join(plane.dir, `${opts.name}.audit.log`);
  const proc = await plane.startProcess({
    name: opts.name,
    command: process.execPath,
    cwd: ROOT,
    ...(opts.podName ? { env: { POD_NAME: opts.podName } } : {}),
    args: [
      MAIN,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(opts.port),
      // As deploy/admission/deployment.yaml does with the mounted Secret. (`--certs-dir` would
      // replace a certificate within 30 days of expiry by a self-signed one the cluster does not trust.)
      '--tls-cert',
      join(opts.certsDir, 'tls.crt'),
      '--tls-key',
      join(opts.certsDir, 'tls.key'),
      '--kubeconfig',
      kubeconfig,
      '--audit-log',
      auditLog,
      '--reload-interval',
      '250ms',
      '--drain-delay',
      '0s',
      ...opts.args,
    ],
  });
  const url = `https://127.0.0.1:${opts.port}`;
  const ca = () => readFile(join(opts.certsDir, 'ca.crt'), 'utf8');
  const lines = async (file: string) => {
    const text = await readFile(file, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);
  };
  if (opts.ready ?? true)
    await waitFor(`${opts.name} /readyz`, async () => (await httpsGet(`${url}/readyz`, { ca: await ca() })).status === 200, { proc, timeoutMs: 60_000 });
  const decisions = (name: string, count: number) =>
    waitFor(`${count} audit lines about ${name}`, async () => {
      const found = (await lines(auditLog)).filter((l) => l.name === name);
      return found.length >= count && found;
    });
  return {
    proc,
    port: opts.port,
    url,
    certsDir: opts.certsDir,
    auditLog,
    ca,
    audit: () => lines(auditLog),
    decisions,
    logs: () => lines(proc.logFile),
    stop: () => proc.stop(),
  };
}

/**
 * The whole install, out of cluster: init registers the webhooks by URL and writes the
 * certificate, then serve runs with it. Returns the running server; `uninstall` removes the
 * webhook configurations again (a failing validating webhook would block every later pod).
 */
export async function installServer(
  plane: ControlPlane,
  opts: { name: string; args: readonly string[]; initArgs?: readonly string[]; podName?: string; ready?: boolean },
): Promise<AmlServer & { init: RunResult }> {
  const port = await freePort();
  const certsDir = join(plane.dir, `${opts.name}-certs`);
  await mkdir(certsDir, { recursive: true });
  const init = await initByUrl(plane, { port, certsDir, ...(opts.initArgs ? { extra: opts.initArgs } : {}) });
  if (init.code !== 0) throw new Error(`init exited ${init.code}: ${init.err}${init.out}`);
  return { ...(await startServer(plane, { ...opts, port, certsDir })), init };
}

export async function uninstall(plane: ControlPlane): Promise<void> {
  await plane.kubectlOk([
    'delete',
    '--ignore-not-found',
    `mutatingwebhookconfiguration/${AML.webhookConfig}`,
    `validatingwebhookconfiguration/${AML.webhookConfig}`,
  ]);
}
