import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const LogLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LogLevels)[number];

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to an asynchronous stdout so logging never blocks a request. */
  destination?: DestinationStream;
}

/**
 * Paths pino replaces with "[redacted]" wherever a caller logs them by mistake: tokens, keys,
 * env values and the raw objects under review (which may carry secrets in env).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  '*.token',
  '*.password',
  'key',
  '*.key',
  'object',
  'oldObject',
  '*.env',
];

export function createLogger(opts: LoggerOptions = {}): Logger {
  const destination = opts.destination ?? stdoutDestination();
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'aml-admission', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

/**
 * Stdout written in batches: one write(2) per 8 KiB of lines or per 100 ms, whichever comes
 * first. A write per line cost a third of the webhook's throughput. Lines buffered when the
 * process is killed hard are lost (graceful shutdown flushes them); the --audit-log file is
 * written synchronously for that reason.
 */
export function stdoutDestination(): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: false, minLength: 8 * 1024 });
  setInterval(() => dest.flush(), 100).unref();
  return dest;
}

/** Resolves once every buffered line is written; call before the process exits. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
