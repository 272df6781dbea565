import type { Command } from 'commander';
import type { CliIO } from './io.js';
import { apiFailure } from '../kube/errors.js';
import { runInit } from '../kube/init.js';
import { DEFAULT_BACKOFF } from '../kube/retry.js';
import { DEFAULT_CERT_DAYS } from '../tls/certs.js';
import { intArg } from './args.js';

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
    .option('--days <n>', 'validity of a newly issued certificate in days', intArg('--days', 1, 3650), DEFAULT_CERT_DAYS)
    .option('--attempts <n>', 'tries per API call on transient errors (5xx, 429, network)', intArg('--attempts', 1, 100), 8)
    .action(async (o: { kubeconfig?: string; namespace: string; service: string; secret: string; webhookConfig: string; days: number; attempts: number }) => {
      const { kubeClients, loadKubeConfig } = await import('../kube/client.js'); // client-node only when connecting
      const clients = kubeClients(loadKubeConfig(o.kubeconfig));
      const report = await runInit(clients, {
        namespace: o.namespace,
        service: o.service,
        secretName: o.secret,
        templatesDir: o.webhookConfig,
        days: o.days,
        retry: {
          attempts: o.attempts,
          backoff: DEFAULT_BACKOFF,
          onRetry: (err, attempt, delayMs) => io.err(`attempt ${attempt} failed (${apiFailure(err).message}); retrying in ${delayMs} ms\n`),
        },
      });
      const s = report.secret;
      io.out(`Secret ${o.namespace}/${o.secret}: ${s.action}${s.reason ? ` (${s.reason})` : ''}\n`);
      for (const w of report.webhooks) io.out(`${w.kind} ${w.name}: ${w.action}\n`);
    });
}
