import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createCA, issueCertificate } from '../../../src/tls/certs.js';
import { locateAssets, type Binary } from './assets.js';
import { freePort, Proc, run, waitFor, type RunResult } from './processes.js';

/** A requester of the static token file: what `userInfo` the API server sends the webhooks. */
export interface User {
  readonly name: string;
  readonly groups: readonly string[];
}

/**
 * The ordinary users the tests act as (the API server adds `system:authenticated` to each).
 * `admin` is the cluster admin the tests use to set things up.
 */
export const USERS = {
  admin: { name: 'e2e-admin', groups: ['system:masters'] },
  alice: { name: 'alice@contoso.com', groups: ['ml-engineers'] },
  bob: { name: 'bob@contoso.com', groups: ['data-analysts'] },
  mallory: { name: 'mallory@example.com', groups: [] },
  controllerManager: { name: 'system:kube-controller-manager', groups: [] },
} as const satisfies Record<string, User>;
export type UserKey = keyof typeof USERS;

/** Child environments without proxies: every address here is loopback. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(https?|no|all)_proxy$/i.test(k)) env[k] = v;
  return env;
}

/** GET over HTTPS trusting only `ca`; resolves with the status and body. */
export function httpsGet(url: string, opts: { ca: string; token?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: opts.ca, headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** POST JSON over HTTPS trusting only `ca`; resolves with the parsed answer. */
export function httpsPostJson(url: string, ca: string, body: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' }, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          reject(new Error(`${url} answered ${res.statusCode}: ${text}`, { cause: err }));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/**
 * etcd and kube-apiserver on 127.0.0.1 with random free ports, the envtest way; the controller
 * manager and kube-scheduler on demand. Certificates and service-account keys are generated here,
 * authentication is a static token file, authorization is RBAC.
 */
export class ControlPlane {
  readonly bin: Record<Binary, string>;
  readonly caPem: string;
  readonly url: string;
  private readonly tokens: Record<UserKey, string>;
  private readonly procs: Proc[] = [];
  private controllerManagerStarted?: Promise<void>;

  private constructor(
    readonly dir: string,
    init: { bin: Record<Binary, string>; caPem: string; url: string; tokens: Record<UserKey, string> },
  ) {
    this.bin = init.bin;
    this.caPem = init.caPem;
    this.url = init.url;
    this.tokens = init.tokens;
  }

  static async start(dir: string): Promise<ControlPlane> {
    const bin = locateAssets();
    await mkdir(join(dir, 'pki'), { recursive: true });
    const pki = (f: string) => join(dir, 'pki', f);

    const ca = createCA({ commonName: 'e2e-kubernetes-ca' });
    const serving = issueCertificate(ca, { commonName: 'kube-apiserver', names: ['127.0.0.1', 'localhost', 'kubernetes.default.svc'], usage: 'server' });
    const sa = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const tokens = Object.fromEntries(Object.keys(USERS).map((k) => [k, randomBytes(24).toString('hex')])) as Record<UserKey, string>;
    const tokenCsv = Object.entries(USERS)
      .map(([k, u]) => `${tokens[k as UserKey]},${u.name},${k},"${u.groups.join(',')}"`)
      .join('\n');
    await Promise.all([
      writeFile(pki('ca.crt'), ca.certPem),
      writeFile(pki('apiserver.crt'), serving.certPem),
      writeFile(pki('apiserver.key'), serving.keyPem, { mode: 0o600 }),
      writeFile(pki('sa.pub'), sa.publicKey),
      writeFile(pki('sa.key'), sa.privateKey, { mode: 0o600 }),
      writeFile(pki('tokens.csv'), `${tokenCsv}\n`, { mode: 0o600 }),
    ]);

    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcd = await Proc.start({
      name: 'etcd',
      command: bin.etcd,
      logFile: join(dir, 'etcd.log'),
      env: childEnv(),
      args: [
        '--name=e2e',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=e2e=http://127.0.0.1:${etcdPeer}`,
        // Throwaway data: no fsync keeps writes fast on a shared disk.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
    });
    const plane = new ControlPlane(dir, { bin, caPem: ca.certPem, url: `https://127.0.0.1:${apiPort}`, tokens });
    plane.procs.push(etcd);
    await waitFor('etcd /health', async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok, { proc: etcd });

    const apiserver = await Proc.start({
      name: 'kube-apiserver',
      command: bin['kube-apiserver'],
      logFile: join(dir, 'kube-apiserver.log'),
      env: childEnv(),
      args: [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        // Loopback only: no kubernetes Service endpoints to reconcile (Endpoints refuse 127.0.0.0/8).
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        `--tls-cert-file=${pki('apiserver.crt')}`,
        `--tls-private-key-file=${pki('apiserver.key')}`,
        `--client-ca-file=${pki('ca.crt')}`,
        // Front-proxy settings as kubeadm writes them: the scheduler and controller manager read
        // them from kube-system/extension-apiserver-authentication (and log errors without them).
        `--requestheader-client-ca-file=${pki('ca.crt')}`,
        '--requestheader-allowed-names=front-proxy-client',
        '--requestheader-username-headers=X-Remote-User',
        '--requestheader-group-headers=X-Remote-Group',
        '--requestheader-extra-headers-prefix=X-Remote-Extra-',
        `--token-auth-file=${pki('tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki('sa.pub')}`,
        `--service-account-signing-key-file=${pki('sa.key')}`,
        // ClusterIPs are only allocated, never routed: nothing here sends traffic to them.
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--profiling=false',
        '--v=1',
      ],
    });
    plane.procs.push(apiserver);
    await waitFor('kube-apiserver /readyz', async () => (await httpsGet(`${plane.url}/readyz`, { ca: plane.caPem, token: tokens.admin })).status === 200, {
      proc: apiserver,
      timeoutMs: 60_000,
    });
    for (const key of Object.keys(USERS) as UserKey[]) await writeFile(plane.kubeconfigPath(key), plane.kubeconfigYaml(key, tokens[key]), { mode: 0o600 });
    return plane;
  }

  token(user: UserKey): string {
    return this.tokens[user];
  }

  kubeconfigPath(user: UserKey | string): string {
    return join(this.dir, `kubeconfig-${user.replace(/[^A-Za-z0-9-]+/g, '-')}`);
  }

  kubeconfigYaml(user: string, token: string): string {
    const ca = Buffer.from(this.caPem).toString('base64');
    return [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: e2e, cluster: { server: "${this.url}", certificate-authority-data: "${ca}" } }]`,
      `users: [{ name: "${user}", user: { token: "${token}" } }]`,
      `contexts: [{ name: e2e, context: { cluster: e2e, user: "${user}" } }]`,
      'current-context: e2e',
      '',
    ].join('\n');
  }

  kubeConfig(user: UserKey = 'admin'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kubeconfigYaml(user, this.tokens[user]));
    return kc;
  }

  /** A kubeconfig file for a ServiceAccount, with a token from the TokenRequest API (what a pod's projected token is). */
  async serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    const tr = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 7200 } } });
    const path = this.kubeconfigPath(`sa-${namespace}-${name}`);
    await writeFile(path, this.kubeconfigYaml(`system:serviceaccount:${namespace}:${name}`, tr.status!.token), { mode: 0o600 });
    return path;
  }

  /** kubectl as `user` (a static-token user, or a kubeconfig file). */
  kubectl(args: readonly string[], opts: { user?: UserKey; kubeconfig?: string; input?: string } = {}): Promise<RunResult> {
    const kubeconfig = opts.kubeconfig ?? this.kubeconfigPath(opts.user ?? 'admin');
    return run(this.bin.kubectl, [`--kubeconfig=${kubeconfig}`, ...args], { env: childEnv(), ...(opts.input !== undefined ? { input: opts.input } : {}) });
  }

  /** kubectl that must succeed; returns stdout. */
  async kubectlOk(args: readonly string[], opts: { user?: UserKey; kubeconfig?: string; input?: string } = {}): Promise<string> {
    const r = await this.kubectl(args, opts);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.err}${r.out}`);
    return r.out;
  }

  /**
   * The controller manager, started once when a test first needs it. The node-lifecycle
   * controller stays off: with no kubelet it would mark every node NotReady and taint it.
   * `--use-service-account-credentials` as kubeadm and AKS run it, so each controller acts as
   * its own ServiceAccount (kube-system:job-controller, ...), the identity webhooks see.
   */
  controllerManager(): Promise<void> {
    this.controllerManagerStarted ??= (async () => {
      const kubeconfig = this.kubeconfigPath('controllerManager');
      const proc = await Proc.start({
        name: 'kube-controller-manager',
        command: this.bin['kube-controller-manager'],
        logFile: join(this.dir, 'kube-controller-manager.log'),
        env: childEnv(),
        args: [
          `--kubeconfig=${kubeconfig}`,
          `--authentication-kubeconfig=${kubeconfig}`,
          `--authorization-kubeconfig=${kubeconfig}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${await freePort()}`,
          '--leader-elect=false',
          '--use-service-account-credentials=true',
          `--service-account-private-key-file=${join(this.dir, 'pki', 'sa.key')}`,
          `--root-ca-file=${join(this.dir, 'pki', 'ca.crt')}`,
          '--controllers=*,-node-lifecycle-controller,-node-ipam-controller,-service-lb-controller,-node-route-controller,-cloud-node-lifecycle-controller',
          '--v=1',
        ],
      });
      this.procs.push(proc);
      // Ready when the ServiceAccount controller gives a new namespace its `default` account.
      const core = this.kubeConfig().makeApiClient(CoreV1Api);
      const ns = `cm-probe-${randomBytes(3).toString('hex')}`;
      await core.createNamespace({ body: { metadata: { name: ns } } });
      await waitFor(
        'the controller manager to create a default ServiceAccount',
        async () => Boolean(await core.readNamespacedServiceAccount({ name: 'default', namespace: ns })),
        { proc, timeoutMs: 60_000 },
      );
      await core.deleteNamespace({ name: ns });
    })();
    return this.controllerManagerStarted;
  }

  /** kube-scheduler with a KubeSchedulerConfiguration file; stopped with the control plane unless stopped earlier. */
  async startScheduler(configFile: string, kubeconfig: string, name = 'kube-scheduler'): Promise<Proc> {
    const proc = await Proc.start({
      name,
      command: this.bin['kube-scheduler'],
      logFile: join(this.dir, `${name}.log`),
      env: childEnv(),
      args: [
        `--config=${configFile}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${await freePort()}`,
        '--v=2',
      ],
    });
    this.procs.push(proc);
    return proc;
  }

  /** Starts a process that the control plane stops at teardown (the aml-admission server, ...). */
  async startProcess(opts: { name: string; command: string; args: readonly string[]; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<Proc> {
    const proc = await Proc.start({ ...opts, logFile: join(this.dir, `${opts.name}.log`), env: { ...childEnv(), ...opts.env } });
    this.procs.push(proc);
    return proc;
  }

  /** Stops everything by PID, newest first (the API server before etcd). */
  async stop(): Promise<void> {
    for (const proc of [...this.procs].reverse()) await proc.stop();
  }
}
