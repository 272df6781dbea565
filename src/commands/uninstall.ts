import type { Command } from 'commander';
import { apiFailure } from '../kube/errors.js';
import { DEFAULT_BACKOFF } from '../kube/retry.js';
import { intArg, namespaceArg, objectNameArg } from './args.js';
import { DEFAULT_WEBHOOK_CONFIG_DIR } from './init.js';
import type { CliIO } from './io.js';

/** `aml-admission uninstall`: what init registered, removed safely (src/kube/uninstall.ts). */
export function registerUninstall(program: Command, io: CliIO): void {
  program
    .command('uninstall')
    .description('in a cluster: delete the webhook configurations init registered (validating first), before the server goes; safe to re-run')
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)')
    .option('--webhook-config <dir>', 'folder of webhook configuration templates naming the configurations (default: the one shipped with aml-admission)')
    .option('--namespace <ns>', 'namespace of the Secrets (with --secrets)', namespaceArg, 'azureml')
    .option('--secrets', 'also delete the certificate Secret and the CA Secret')
    .option('--secret <name>', 'certificate Secret name', objectNameArg('Secret'), 'azureml-connector-admission-tls')
    .option('--ca-secret <name>', 'CA Secret name', objectNameArg('Secret'), 'azureml-connector-admission-ca')
    .option('--attempts <n>', 'tries per API call on transient errors (5xx, 429, network)', intArg('--attempts', 1, 100), 8)
    .action(
      async (o: { kubeconfig?: string; webhookConfig?: string; namespace: string; secrets?: boolean; secret: string; caSecret: string; attempts: number }) => {
        const { kubeClients, loadKubeConfig } = await import('../kube/client.js'); // client-node only when connecting
        const { runUninstall } = await import('../kube/uninstall.js');
        const steps = await runUninstall(kubeClients(loadKubeConfig(o.kubeconfig)), {
          templatesDir: o.webhookConfig ?? DEFAULT_WEBHOOK_CONFIG_DIR,
          namespace: o.namespace,
          ...(o.secrets ? { secrets: [o.secret, o.caSecret] } : {}),
          retry: {
            attempts: o.attempts,
            backoff: DEFAULT_BACKOFF,
            onRetry: (err, attempt, delayMs) => io.err(`attempt ${attempt} failed (${apiFailure(err).message}); retrying in ${delayMs} ms\n`),
          },
        });
        for (const s of steps) io.out(`${s.kind} ${s.name}: ${s.action}\n`);
      },
    );
}
