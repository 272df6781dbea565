import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { CliIO } from './io.js';
import { DEFAULT_POLICY_KEY, type ConfigMapRef } from '../kube/configMapRef.js';
import { apiFailure } from '../kube/errors.js';
import { runInit } from '../kube/init.js';
import { parseWebhookUrl } from '../kube/webhookConfigs.js';
import { DEFAULT_BACKOFF } from '../kube/retry.js';
import { DEFAULT_CA_DAYS, DEFAULT_CERT_DAYS } from '../tls/certs.js';
import { PACKAGE_ROOT } from '../util/packageInfo.js';
import { intArg, namespaceArg, objectNameArg, serviceNameArg } from './args.js';
import { clusterPolicy } from './auditCluster.js';
import { ExitCode } from './exitCodes.js';
import { configMapArg } from './serveCluster.js';

function webhookUrlArg(value: string): URL {
  try {
    return parseWebhookUrl(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** `--exclude-namespace a,b --exclude-namespace c`: every namespace name, checked. */
function namespacesArg(value: string, previous: readonly string[] = []): string[] {
  return [...previous, ...value.split(',').map((n) => namespaceArg(n.trim()))];
}

/** The templates shipped with the package (package.json "files", the image), wherever the CLI runs from. */
export const DEFAULT_WEBHOOK_CONFIG_DIR = join(PACKAGE_ROOT, 'webhook-config');

/** `aml-admission init`: the certificate Secret and the webhook configurations, idempotently. */
export function registerInit(program: Command, io: CliIO): void {
  program
    .command('init')
    .description('in a cluster: ensure the serving certificate Secret and apply webhook-config/ with its caBundle (safe to re-run)')
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)')
    .option('--namespace <ns>', 'namespace of the webhook Service and the Secret', namespaceArg, 'azureml')
    .option('--service <name>', 'webhook Service name', serviceNameArg, 'azureml-connector-admission')
    .option('--secret <name>', 'certificate Secret name (tls.crt, tls.key, ca.crt)', objectNameArg('Secret'), 'azureml-connector-admission-tls')
    .option(
      '--ca-secret <name>',
      "the CA's own Secret (its certificate and key; kept for years, so renewals keep one trust anchor)",
      objectNameArg('Secret'),
      'azureml-connector-admission-ca',
    )
    .option(
      '--owner-clusterrole <name>',
      'ClusterRole of the install that owns the webhook configurations: deleting it (kubectl delete -k deploy/) deletes them',
      objectNameArg('ClusterRole'),
      'azureml-connector-admission-init',
    )
    .option('--no-owner-clusterrole', 'register the webhook configurations without an owner (remove them with aml-admission uninstall)')
    .option(
      '--scheduler-deployment <name>',
      'kube-scheduler Deployment (in --namespace) to roll when the CA bundle changes: it reads the extender CA only at start',
      objectNameArg('Deployment'),
      'azureml-connector-scheduler',
    )
    .option('--no-scheduler-deployment', 'roll no scheduler')
    .option('--webhook-config <dir>', 'folder of webhook configuration templates (default: the webhook-config/ shipped with aml-admission)')
    .option(
      '--webhook-url <url>',
      'out-of-cluster runs: register the webhooks at https://HOST[:PORT] (+ /mutate, /validate) instead of the Service; the certificate also names HOST',
      webhookUrlArg,
    )
    .option(
      '--certs-dir <dir>',
      "also write the Secret's ca.crt, tls.crt and tls.key to this folder, for a serve outside the cluster (--tls-cert DIR/tls.crt --tls-key DIR/tls.key)",
    )
    .option(
      '--exclude-namespace <ns>',
      'a namespace neither webhook is called for, beside kube-system and --namespace (repeatable, or comma-separated); the only opt-out from validation',
      namespacesArg,
    )
    .option(
      '--policy-configmap <ns/name>',
      'the policy ConfigMap serve enforces: its workloads (policy `workloads`) are registered with the validating webhook; none when it does not exist',
      configMapArg,
    )
    .option('--policy-key <key>', 'data key of the policy in --policy-configmap', DEFAULT_POLICY_KEY)
    .option('--days <n>', 'validity of a newly issued serving certificate in days', intArg('--days', 1, 3650), DEFAULT_CERT_DAYS)
    .option(
      '--ca-days <n>',
      'validity of a newly issued CA in days (renewed when it would expire before a new serving certificate)',
      intArg('--ca-days', 2, 36500),
      DEFAULT_CA_DAYS,
    )
    .option('--attempts <n>', 'tries per API call on transient errors (5xx, 429, network)', intArg('--attempts', 1, 100), 8)
    .action(
      async (o: {
        kubeconfig?: string;
        namespace: string;
        service: string;
        secret: string;
        caSecret: string;
        ownerClusterrole: string | false;
        schedulerDeployment: string | false;
        webhookConfig?: string;
        webhookUrl?: URL;
        certsDir?: string;
        excludeNamespace?: string[];
        policyConfigmap?: ConfigMapRef;
        policyKey: string;
        days: number;
        caDays: number;
        attempts: number;
      }) => {
        const { kubeClients, loadKubeConfig } = await import('../kube/client.js'); // client-node only when connecting
        const clients = kubeClients(loadKubeConfig(o.kubeconfig));
        const report = await runInit(clients, {
          namespace: o.namespace,
          service: o.service,
          secretName: o.secret,
          caSecretName: o.caSecret,
          ...(o.ownerClusterrole ? { ownerClusterRole: o.ownerClusterrole } : {}),
          ...(o.schedulerDeployment ? { schedulerDeployment: o.schedulerDeployment } : {}),
          templatesDir: o.webhookConfig ?? DEFAULT_WEBHOOK_CONFIG_DIR,
          ...(o.webhookUrl ? { url: o.webhookUrl } : {}),
          ...(o.certsDir ? { certsDir: o.certsDir } : {}),
          ...(o.excludeNamespace ? { excludeNamespaces: o.excludeNamespace } : {}),
          workloads: () => policyWorkloads(o, io),
          days: o.days,
          caDays: o.caDays,
          retry: {
            attempts: o.attempts,
            backoff: DEFAULT_BACKOFF,
            onRetry: (err, attempt, delayMs) => io.err(`attempt ${attempt} failed (${apiFailure(err).message}); retrying in ${delayMs} ms\n`),
          },
        });
        const because = (r: { action: string; reason?: string }) => `${r.action}${r.reason ? ` (${r.reason})` : ''}`;
        io.out(`Secret ${o.namespace}/${o.caSecret} (CA): ${because(report.ca)}\n`);
        io.out(`Secret ${o.namespace}/${o.secret}: ${because(report.secret)}\n`);
        if (o.certsDir) io.out(`certificates written to ${o.certsDir} (ca.crt, tls.crt, tls.key)\n`);
        for (const w of report.webhooks) io.out(`${w.kind} ${w.name}: ${w.action}${o.webhookUrl ? ` (${w.url})` : ''}\n`);
        if (report.owner && !report.owner.found)
          io.err(
            `warning: ClusterRole ${report.owner.name} not found, so the webhook configurations have no owner and outlive the install; remove them with \`aml-admission uninstall\`\n`,
          );
        const sched = report.scheduler;
        if (sched) io.out(`Deployment ${o.namespace}/${sched.name}: ${sched.action}${sched.action === 'rolled' ? ' (the CA bundle changed)' : ''}\n`);
      },
    );
}

/**
 * The workload kinds of the policy serve enforces, to register with the validating webhook. No
 * ConfigMap (a fresh install): none. One that cannot be read is a cluster error, and an invalid
 * one registers none with a warning: serve refuses it too, and a kind left unregistered is only
 * less trusted (its controller's pods are judged on the controller's identity), never unjudged.
 */
async function policyWorkloads(
  o: { kubeconfig?: string; policyConfigmap?: ConfigMapRef; policyKey: string },
  io: CliIO,
): Promise<readonly { group: string; resource: string }[]> {
  const live = await clusterPolicy(o);
  if (live.ok) return live.policy.workloads.map(({ group, resource }) => ({ group, resource }));
  if (live.code === ExitCode.InvalidPolicy) {
    io.err(`warning: ${live.message}\nregistering no policy workloads\n`);
    return [];
  }
  if (live.notFound) return [];
  throw live.error ?? new Error(live.message);
}
