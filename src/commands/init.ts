import { InvalidArgumentError, type Command } from 'commander';
import type { CliIO } from './io.js';
import { apiFailure } from '../kube/errors.js';
import { runInit } from '../kube/init.js';
import { parseWebhookUrl } from '../kube/webhookConfigs.js';
import { DEFAULT_BACKOFF } from '../kube/retry.js';
import { DEFAULT_CERT_DAYS } from '../tls/certs.js';
import { intArg } from './args.js';

function webhookUrlArg(value: string): URL {
  try {
    return parseWebhookUrl(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `--exclude-namespace a,b --exclude-namespace c`: every namespace name, checked. */
function namespacesArg(value: string, previous: readonly string[] = []): string[] {
  const names = value.split(',').map((n) => n.trim());
  const bad = names.find((n) => !NAMESPACE_NAME.test(n));
  if (bad !== undefined) throw new InvalidArgumentError(`"${bad}" is not a namespace name (lowercase letters, digits and '-', at most 63 characters)`);
  return [...previous, ...names];
}

/** `aml-admission init`: the certificate Secret and the webhook configurations, idempotently. */
export function registerInit(program: Command, io: CliIO): void {
  program
    .command('init')
    .description('in a cluster: ensure the serving certificate Secret and apply webhook-config/ with its caBundle (safe to re-run)')
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)')
    .option('--namespace <ns>', 'namespace of the webhook Service and the Secret', 'azureml')
    .option('--service <name>', 'webhook Service name', 'azureml-connector-admission')
    .option('--secret <name>', 'certificate Secret name (tls.crt, tls.key, ca.crt)', 'azureml-connector-admission-tls')
    .option('--webhook-config <dir>', 'folder of webhook configuration templates', 'webhook-config')
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
    .option('--days <n>', 'validity of a newly issued certificate in days', intArg('--days', 1, 3650), DEFAULT_CERT_DAYS)
    .option('--attempts <n>', 'tries per API call on transient errors (5xx, 429, network)', intArg('--attempts', 1, 100), 8)
    .action(
      async (o: {
        kubeconfig?: string;
        namespace: string;
        service: string;
        secret: string;
        webhookConfig: string;
        webhookUrl?: URL;
        certsDir?: string;
        excludeNamespace?: string[];
        days: number;
        attempts: number;
      }) => {
        const { kubeClients, loadKubeConfig } = await import('../kube/client.js'); // client-node only when connecting
        const clients = kubeClients(loadKubeConfig(o.kubeconfig));
        const report = await runInit(clients, {
          namespace: o.namespace,
          service: o.service,
          secretName: o.secret,
          templatesDir: o.webhookConfig,
          ...(o.webhookUrl ? { url: o.webhookUrl } : {}),
          ...(o.certsDir ? { certsDir: o.certsDir } : {}),
          ...(o.excludeNamespace ? { excludeNamespaces: o.excludeNamespace } : {}),
          days: o.days,
          retry: {
            attempts: o.attempts,
            backoff: DEFAULT_BACKOFF,
            onRetry: (err, attempt, delayMs) => io.err(`attempt ${attempt} failed (${apiFailure(err).message}); retrying in ${delayMs} ms\n`),
          },
        });
        const s = report.secret;
        io.out(`Secret ${o.namespace}/${o.secret}: ${s.action}${s.reason ? ` (${s.reason})` : ''}\n`);
        if (o.certsDir) io.out(`certificates written to ${o.certsDir} (ca.crt, tls.crt, tls.key)\n`);
        for (const w of report.webhooks) io.out(`${w.kind} ${w.name}: ${w.action}${o.webhookUrl ? ` (${w.url})` : ''}\n`);
      },
    );
}
