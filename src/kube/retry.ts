import { isTransient } from './errors.js';

export interface BackoffOptions {
  /** First delay; doubles per failure. */
  readonly initialMs: number;
  readonly maxMs: number;
  /** Random value in [0, 1); injected so tests are deterministic. */
  readonly random?: () => number;
}

/** The client-go defaults, roughly: start small, cap at 30 s so a long outage is still retried often. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/**
 * Capped exponential backoff with "equal jitter" (half fixed, half random), so replicas that failed
 * together do not retry in lockstep against a recovering API server.
 */
export class Backoff {
  private failures = 0;
  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {}

  next(): number {
    const ceiling = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** this.failures);
    this.failures += 1;
    const r = (this.opts.random ?? Math.random)();
    return Math.round(ceiling / 2 + (ceiling / 2) * r);
  }

  reset(): void {
    this.failures = 0;
  }
}

export type Sleep = (ms: number) => Promise<void>;
export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RetryOptions {
  readonly attempts: number;
  readonly backoff?: BackoffOptions;
  readonly sleep?: Sleep;
  /** Which errors are worth another attempt; default: transient API errors. */
  readonly retryable?: (err: unknown) => boolean;
  /** Told about each failed attempt that will be retried. */
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Calls `fn` until it succeeds, a non-retryable error occurs, or `attempts` are used up. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF);
  const retryable = opts.retryable ?? isTransient;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= opts.attempts || !retryable(err)) throw err;
      const delay = backoff.next();
      opts.onRetry?.(err, attempt, delay);
      await (opts.sleep ?? sleep)(delay);
    }
  }
}
