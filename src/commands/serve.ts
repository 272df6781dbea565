import { Option, InvalidArgumentError, type Command } from 'commander';
import type { CliIO } from './io.js';
import type { ConfigMapRef } from '../kube/configMapRef.js';
import { createAuditLog } from '../observability/audit.js';
import { DAY_MS, DEFAULT_MAXSIZE_MB, MEGABYTE } from '../observability/auditFile.js';
import { createLogger, flushLogger, LogLevels, stdoutDestination, type LogLevel } from '../observability/logger.js';
import { builtinPolicy } from '../policy/builtin.js';
import { PolicyStore } from '../policy/store.js';
import { DEFAULT_LIMITS } from '../http/server.js';
import { Component, serve } from '../serve.js';
import { ensureServingCerts } from '../tls/files.js';
import { errorText } from '../util/fileErrors.js';
import { ExitCode, exitCodeOfError } from './exitCodes.js';
import { isClusterWorker, superviseWorkers } from '../workers.js';
import { formatDuration } from '../util/duration.js';
import { formatSize } from '../util/size.js';
import { durationArg, intArg, namespaceArg, serviceNameArg, sizeArg } from './args.js';
import { clusterServeOptions, configMapArg } from './serveCluster.js';

function componentsArg(value: string): Component[] {
  const all = Object.values(Component) as string[];
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((c) => !all.includes(c));
  if (list.length === 0 || bad.length > 0) throw new InvalidArgumentError(`components are ${all.join(', ')} (comma-separated)`);
  return [...new Set(list)] as Component[];
}

/** A duration option: given as `2s` (a bare number is milliseconds), its default shown so too. */
function durationOption(flags: string, description: string, defaultMs: number): Option {
  return new Option(flags, `${description} (e.g. 500ms, 2s, 1m; a bare number is milliseconds)`)
    .argParser(durationArg)
    .default(defaultMs, formatDuration(defaultMs));
}

/** A size option: given as `8MiB` (a bare number is bytes), its default shown so too. */
function sizeOption(flags: string, description: string, parse: (value: string) => number, defaultBytes: number): Option {
  return new Option(flags, `${description} (e.g. 512KiB, 8MiB; a bare number is bytes)`).argParser(parse).default(defaultBytes, formatSize(defaultBytes));
}

/** `aml-admission serve` (also `npm start`): flags → ServeOptions, signals → graceful stop. */
export function registerServe(program: Command, io: CliIO): void {
  const serveCommand = program.command('serve');
  serveCommand
    .description('run the HTTPS server (webhooks, scheduler extender, health, metrics)')
    .option('--host <addr>', 'address to listen on', '0.0.0.0')
    .option('--port <n>', 'port to listen on', intArg('--port', 0, 65535), 8443)
    .option('--tls-cert <file>', 'serving certificate (PEM); default: generated into --certs-dir')
    .option('--tls-key <file>', 'serving key (PEM)')
    .option('--tls-ca <file>', "the CA bundle clients trust (init's ca.crt), for the CA expiry metric; default with --certs-dir: its ca.crt")
    .option('--client-ca <file>', 'require client certificates signed by this CA (mutual TLS)')
    .option('--certs-dir <dir>', 'where a generated CA and serving certificate are kept', 'certs')
    .option('--service <name>', 'Service name for a generated certificate', serviceNameArg, 'azureml-connector-admission')
    .option('--namespace <ns>', 'namespace for a generated certificate', namespaceArg, 'azureml')
    .option('--components <list>', 'what to serve: admission,extender', componentsArg, [Component.Admission, Component.Extender])
    .option('--extender-state <file>', 'extender: Nodes and Pods (YAML/JSON list) to schedule against, reloaded on change')
    .option(
      '--kubeconfig <file>',
      'connect to a cluster with this kubeconfig (default with --policy-configmap: $KUBECONFIG, ~/.kube/config, in-cluster); feeds the extender cache from node and pod informers',
    )
    .addOption(
      new Option(
        '--policy <file>',
        'policy file (YAML); reloaded when it changes, the last good policy kept on a bad edit (default: built-in policy)',
      ).conflicts('policyConfigmap'),
    )
    .option('--policy-configmap <ns/name>', 'watch this ConfigMap for the policy and apply valid changes live', configMapArg)
    .option('--policy-key <key>', 'data key of the policy in --policy-configmap', 'policy.yaml')
    .addOption(sizeOption('--body-limit <size>', 'largest accepted request body', sizeArg('--body-limit', 1024, 64 * 1024 * 1024), 8 * 1024 * 1024))
    .addOption(durationOption('--reload-interval <duration>', 'how often certificate and policy files are checked', 2000))
    .addOption(
      durationOption(
        '--drain-delay <duration>',
        'on SIGTERM, keep serving (not ready, answering with connection: close) this long before closing the listener',
        5000,
      ),
    )
    .addOption(durationOption('--drain-timeout <duration>', 'then wait at most this long for in-flight requests', 25000))
    .option(
      '--max-connections <n>',
      'open connections per process at most (each is a file descriptor: keep it below ulimit -n); more are closed on accept',
      intArg('--max-connections', 1, 1_000_000),
      DEFAULT_LIMITS.maxConnections,
    )
    .option(
      '--max-handshakes <n>',
      'connections in their TLS handshake at most; beyond it the longest-waiting one is closed',
      intArg('--max-handshakes', 1, 1_000_000),
      DEFAULT_LIMITS.maxHandshakes,
    )
    .option(
      '--max-requests-per-connection <n>',
      'answer with connection: close after this many requests on one connection, so keep-alive clients spread over workers and replicas again (0: no limit)',
      intArg('--max-requests-per-connection', 0, 1_000_000_000),
      DEFAULT_LIMITS.maxRequestsPerConnection,
    )
    .option('--workers <n>', "server processes sharing the port (node:cluster); use up to the pod's CPU count", intArg('--workers', 1, 64), 1)
    .addOption(new Option('--log-level <level>', 'log level').choices(LogLevels).default('info'))
    .option('--audit-log <file>', 'also append the audit log (one JSON line per admission decision) to this file')
    .option(
      '--audit-log-maxsize <MB>',
      'rotate the audit file before it grows past this many megabytes (0: the default, as in kube-apiserver)',
      intArg('--audit-log-maxsize', 0, 1024 * 1024),
      DEFAULT_MAXSIZE_MB,
    )
    .option('--audit-log-maxbackup <n>', 'rotated audit files to keep (0: all)', intArg('--audit-log-maxbackup', 0, 1_000_000), 0)
    .option(
      '--audit-log-maxage <days>',
      'remove rotated audit files older than this many days, by the time in their name (0: never)',
      intArg('--audit-log-maxage', 0, 1_000_000),
      0,
    )
    .action(
      async (o: {
        host: string;
        port: number;
        tlsCert?: string;
        tlsKey?: string;
        tlsCa?: string;
        clientCa?: string;
        certsDir: string;
        service: string;
        namespace: string;
        components: Component[];
        bodyLimit: number;
        reloadInterval: number;
        drainDelay: number;
        drainTimeout: number;
        logLevel: LogLevel;
        workers: number;
        extenderState?: string;
        maxConnections: number;
        maxHandshakes: number;
        maxRequestsPerConnection: number;
        kubeconfig?: string;
        policy?: string;
        policyConfigmap?: ConfigMapRef;
        policyKey: string;
        auditLog?: string;
        auditLogMaxsize: number;
        auditLogMaxbackup: number;
        auditLogMaxage: number;
      }) => {
        // Checked before anything starts: a usage error, said as one (exit 2, no log, no stack).
        if ((o.tlsCert === undefined) !== (o.tlsKey === undefined))
          serveCommand.error('error: --tls-cert and --tls-key must be given together', { exitCode: ExitCode.Usage });
        const stdout = stdoutDestination();
        const logger = createLogger({ level: o.logLevel, destination: stdout });
        if (o.workers > 1 && !isClusterWorker()) {
          // Generate the certificate once, before the workers start and look for it.
          if (!o.tlsCert) await ensureServingCerts(o.certsDir, { service: o.service, namespace: o.namespace });
          superviseWorkers({
            count: o.workers,
            logger,
            onSignal: (h) =>
              io.onSignal(async (signal) => {
                await h(signal);
                await flushLogger(logger);
              }),
          });
          return;
        }
        try {
          const policy = new PolicyStore(builtinPolicy(), 'builtin');
          const audit = createAuditLog({
            destination: stdout,
            level: o.logLevel,
            ...(o.auditLog ? { file: o.auditLog } : {}),
            rotation: { maxBytes: (o.auditLogMaxsize || DEFAULT_MAXSIZE_MB) * MEGABYTE, maxBackups: o.auditLogMaxbackup, maxAgeMs: o.auditLogMaxage * DAY_MS },
            onError: (err, linesLost) => logger.error({ err, linesLost, file: o.auditLog }, 'audit file write failed'),
          });
          const running = await serve({
            host: o.host,
            port: o.port,
            ...(o.tlsCert ? { tlsCert: o.tlsCert } : {}),
            ...(o.tlsKey ? { tlsKey: o.tlsKey } : {}),
            ...(o.tlsCa ? { tlsCa: o.tlsCa } : {}),
            ...(o.clientCa ? { clientCa: o.clientCa } : {}),
            certsDir: o.certsDir,
            service: o.service,
            namespace: o.namespace,
            components: o.components,
            ...(o.extenderState ? { extenderState: o.extenderState } : {}),
            ...(await clusterServeOptions(o, io.env)),
            policy,
            ...(o.policy ? { policyFile: o.policy } : {}),
            observers: [audit.observer],
            bodyLimit: o.bodyLimit,
            reloadIntervalMs: o.reloadInterval,
            drain: { delayMs: o.drainDelay, timeoutMs: o.drainTimeout },
            limits: { maxConnections: o.maxConnections, maxHandshakes: o.maxHandshakes, maxRequestsPerConnection: o.maxRequestsPerConnection },
            logger,
          });
          io.onSignal(async (signal) => {
            logger.info({ signal }, 'shutting down');
            await running.stop();
            audit.close();
            await flushLogger(logger);
          });
        } catch (err) {
          // What the operator can fix (a path, a policy, the cluster) is said in words, without a
          // stack; only the unexpected keeps its stack for the bug report.
          logger.fatal(exitCodeOfError(err) === ExitCode.Failed ? { err } : { error: errorText(err) }, 'could not start');
          await flushLogger(logger);
          throw err;
        }
      },
    );
}
