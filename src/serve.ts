import { readFile } from 'node:fs/promises';
import { nodeLookup, type NodeCache } from './extender/cache.js';
import { startExtender } from './extender/component.js';
import type { ClaimIndex } from './policy/amlClaims.js';
import type { ClusterOptions } from './kube/cluster.js';
import { createApp } from './http/app.js';
import { DEFAULT_BODY_LIMIT } from './http/body.js';
import { Condition, Readiness } from './http/health.js';
import { HttpsServer, type DrainOptions, type Limits, type Timeouts } from './http/server.js';
import type { RawHandler } from './http/jsonRoute.js';
import { webhookRoute, type ReviewObserver } from './http/webhookRoute.js';
import type { Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { ensureServingCerts, loadKeyMaterial, notAfter, type CertPaths } from './tls/files.js';
import { FilePoller } from './util/watch.js';
import type { PolicyStore } from './policy/store.js';
import { startPolicyFile } from './policy/file.js';
import { admissionWebhooks, VALIDATING_WEBHOOK_CONFIGURATION } from './rules/webhooks.js';

export const Component = { Admission: 'admission', Extender: 'extender' } as const;
export type Component = (typeof Component)[keyof typeof Component];

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  /** Explicit certificate files; when absent, a CA and serving certificate are kept in `certsDir`. */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** The CA bundle clients trust (init's ca.crt): read only for the CA expiry metric. */
  readonly tlsCa?: string;
  readonly clientCa?: string;
  readonly certsDir: string;
  /** Names for a generated certificate. */
  readonly service: string;
  readonly namespace: string;
  readonly components: readonly Component[];
  /** The policy in force; loaders keep it current. */
  readonly policy: PolicyStore;
  /** `--policy FILE`: loaded into `policy` before serving, then reloaded when it changes (src/policy/file.ts). */
  readonly policyFile?: string;
  readonly bodyLimit?: number;
  /** How often certificate (and policy) files are checked for changes. */
  readonly reloadIntervalMs: number;
  readonly drain: DrainOptions;
  readonly timeouts?: Partial<Timeouts>;
  /** Connection limits (src/http/server.ts): total, in TLS handshake, requests per connection. */
  readonly limits?: Partial<Limits>;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly observers?: readonly ReviewObserver[];
  /**
   * A node cache fed by informers (nodes for both components, pods for the extender), or for the
   * extender a Node/Pod list file (see src/extender/stateFile.ts).
   */
  readonly nodeCache?: NodeCache;
  readonly extenderState?: string;
  /** A cluster connection: the policy ConfigMap watch, and informers feeding `nodeCache` and `claims` (src/kube/cluster.ts). */
  readonly cluster?: ClusterOptions;
  /** The cluster's PVCs, fed by an informer, for AML's labelled PVCs (pvc-volumes). */
  readonly claims?: ClaimIndex;
}

export interface Running {
  readonly port: number;
  readonly server: HttpsServer;
  readonly readiness: Readiness;
  readonly metrics: Metrics;
  readonly certPaths: CertPaths;
  /** Checks the certificate and policy files now, instead of at the next poll. */
  reload(): Promise<void>;
  /** Drains and stops everything this call started. */
  stop(): Promise<void>;
}

async function resolveCertPaths(opts: ServeOptions): Promise<CertPaths> {
  if (opts.tlsCert || opts.tlsKey) {
    if (!opts.tlsCert || !opts.tlsKey) throw new Error('--tls-cert and --tls-key must be given together');
    return { cert: opts.tlsCert, key: opts.tlsKey, ...(opts.tlsCa ? { ca: opts.tlsCa } : {}) };
  }
  const ensured = await ensureServingCerts(opts.certsDir, { service: opts.service, namespace: opts.namespace });
  opts.logger.info(
    { dir: opts.certsDir, generated: ensured.generated },
    ensured.generated ? 'generated a self-signed CA and serving certificate' : 'reusing serving certificate',
  );
  return ensured.paths;
}

/** Composes and starts the server: listener, file pollers and (when asked) the cluster sources. */
export async function serve(opts: ServeOptions): Promise<Running> {
  const { logger } = opts;
  const metrics = opts.metrics ?? new Metrics();
  const readiness = new Readiness();
  readiness.set(Condition.Certificates, false);
  readiness.set(Condition.NotDraining, true);
  const policyFile = opts.policyFile
    ? await startPolicyFile({ file: opts.policyFile, store: opts.policy, intervalMs: opts.reloadIntervalMs, logger, metrics })
    : undefined;

  const certPaths = await resolveCertPaths(opts);
  const material = await loadKeyMaterial(certPaths);
  const clientCa = opts.clientCa ? await readFile(opts.clientCa) : undefined;
  const caPath = certPaths.ca;
  /**
   * The ends an alert must precede: the serving certificate's, and the current CA's (the first of
   * the bundle; a previous CA after it is kept only to bridge a rotation, and its end is harmless).
   */
  const recordExpiry = async (cert: Buffer) => {
    metrics.certExpiry.set({ certificate: 'serving' }, notAfter(cert).getTime() / 1000);
    if (caPath) metrics.certExpiry.set({ certificate: 'ca' }, notAfter(await readFile(caPath)).getTime() / 1000);
  };
  await recordExpiry(material.cert);

  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const extender = opts.components.includes(Component.Extender)
    ? await startExtender({
        policy: opts.policy,
        logger,
        metrics,
        bodyLimit,
        reloadIntervalMs: opts.reloadIntervalMs,
        cache: opts.nodeCache,
        stateFile: opts.extenderState,
      })
    : undefined;
  const fastRoutes: Record<string, RawHandler> = { ...extender?.routes };
  if (opts.components.includes(Component.Admission)) {
    // Pods naming their node are judged against the nodes the server knows: the informer's
    // cache, else the extender's state file; with neither, every named node is unknown.
    const known = opts.nodeCache ?? extender;
    const nodes = known ? () => nodeLookup(known.view()) : undefined;
    // Until the ConfigMap's policy is in force there is no policy to judge by: the built-in one
    // describes example computes. Answer 503 and let each webhook's failurePolicy decide.
    const ref = opts.cluster?.policyConfigMap;
    const unavailable = ref
      ? () => (readiness.holds(Condition.PolicyConfigMap) ? undefined : `not ready: the policy in ConfigMap ${ref.namespace}/${ref.name} is not loaded yet`)
      : undefined;
    const claims = opts.claims;
    for (const webhook of admissionWebhooks(() => opts.policy.current(), nodes, claims ? () => claims : undefined)) {
      fastRoutes[`/${webhook.spec.name}`] = webhookRoute(webhook, {
        logger,
        metrics,
        bodyLimit,
        ...(unavailable ? { unavailable } : {}),
        ...(opts.observers ? { observers: opts.observers } : {}),
      });
    }
  }
  const app = createApp({ logger, metrics, readiness });
  const server = new HttpsServer({
    host: opts.host,
    port: opts.port,
    tls: { ...material, ...(clientCa ? { clientCa } : {}) },
    app,
    fastRoutes,
    readiness,
    logger,
    metrics,
    ...(opts.timeouts ? { timeouts: opts.timeouts } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
  });

  // The serving pair and the client CA are polled together, so a rotation that replaces both
  // (e.g. a renewed Secret mounted as one volume) is applied as one new secure context.
  const certPoller = new FilePoller(
    [certPaths.cert, certPaths.key, ...(opts.clientCa ? [opts.clientCa] : []), ...(caPath ? [caPath] : [])],
    opts.reloadIntervalMs,
    async () => {
      const next = await loadKeyMaterial(certPaths);
      const nextCa = opts.clientCa ? await readFile(opts.clientCa) : undefined;
      server.updateTls({ ...next, ...(nextCa ? { clientCa: nextCa } : {}) });
      await recordExpiry(next.cert);
      logger.info({ cert: certPaths.cert, notAfter: notAfter(next.cert).toISOString(), clientCa: opts.clientCa }, 'serving certificate reloaded');
    },
    (err) => logger.error({ err }, 'serving certificate reload failed; keeping the previous one'),
  );
  await certPoller.start();

  const feed = opts.nodeCache;
  // Loaded only when asked for: client-node alone is most of the process's memory.
  const cluster = opts.cluster
    ? (await import('./kube/cluster.js')).startClusterSources({
        ...opts.cluster,
        store: opts.policy,
        feed,
        feedPods: opts.components.includes(Component.Extender),
        ...(opts.claims ? { claims: opts.claims } : {}),
        // Instance types shape mutation and validation; the extender places pods already mutated.
        instanceTypes: opts.components.includes(Component.Admission),
        ...(opts.components.includes(Component.Admission) ? { validatingWebhook: VALIDATING_WEBHOOK_CONFIGURATION } : {}),
        readiness,
        logger,
        metrics,
      })
    : undefined;

  const address = await server.listen();
  readiness.set(Condition.Certificates, true);
  logger.info({ host: opts.host, port: address.port, components: opts.components, mutualTls: clientCa !== undefined }, 'listening');

  let stopping: Promise<void> | undefined;
  return {
    port: address.port,
    server,
    readiness,
    metrics,
    certPaths,
    async reload() {
      await Promise.all([certPoller.poll(), policyFile?.poll()]);
    },
    stop() {
      stopping ??= (async () => {
        logger.info({ delayMs: opts.drain.delayMs }, 'draining');
        certPoller.stop();
        policyFile?.stop();
        extender?.stop();
        await server.drain(opts.drain);
        await cluster?.stop(); // after the drain: the policy and caches stay live while requests finish
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}
