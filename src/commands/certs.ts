import type { Command } from 'commander';
import type { CliIO } from './io.js';
import { caBundle, createServingCertificate, DEFAULT_CERT_DAYS } from '../tls/certs.js';
import { writeServing } from '../tls/files.js';
import { dnsNameOrIpArg, intArg, namespaceArg, serviceNameArg } from './args.js';

/** `aml-admission certs`: a CA and a serving certificate in a folder; the caBundle on stdout. */
export function registerCerts(program: Command, io: CliIO): void {
  program
    .command('certs')
    .description('generate a CA and a serving certificate for the webhook Service; print the base64 caBundle')
    .option('--service <name>', 'Service name', serviceNameArg, 'azureml-connector-admission')
    .option('--namespace <ns>', 'Service namespace', namespaceArg, 'azureml')
    .option('--out <dir>', 'folder for ca.crt, tls.crt, tls.key', 'certs')
    .option('--days <n>', 'validity of the serving certificate in days', intArg('--days', 1, 3650), DEFAULT_CERT_DAYS)
    .option('--extra-name <name...>', 'additional DNS names or IP addresses', dnsNameOrIpArg)
    .action(async (o: { service: string; namespace: string; out: string; days: number; extraName?: string[] }) => {
      const cert = createServingCertificate({ service: o.service, namespace: o.namespace, days: o.days, extraNames: o.extraName ?? [] });
      await writeServing(o.out, cert);
      io.err(`wrote ${o.out}/ca.crt, ${o.out}/tls.crt, ${o.out}/tls.key\n`);
      io.out(`${caBundle(cert.caPem)}\n`);
    });
}
