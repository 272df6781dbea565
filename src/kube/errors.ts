/**
 * What went wrong in a call to the API server, read from client-node's ApiException (whose body is
 * the Status object's text), a Watch error (`statusCode`), or a network error (no status at all).
 */
export interface ApiFailure {
  /** HTTP status; undefined for network failures (refused, reset, TLS). */
  readonly code: number | undefined;
  /** The Status reason (NotFound, AlreadyExists, Conflict, Forbidden, Expired...), when the server sent one. */
  readonly reason: string | undefined;
  /** The server's message, or the network error's, one line. */
  readonly message: string;
}

function statusBody(body: unknown): { reason?: string; message?: string } {
  if (typeof body === 'object' && body !== null) return body as { reason?: string; message?: string };
  if (typeof body !== 'string') return {};
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as { reason?: string; message?: string }) : {};
  } catch {
    return {};
  }
}

/**
 * client-node's ApiException (code, body, headers), recognised by its shape so that this module,
 * used on paths that never talk to a cluster, does not load client-node (about 90 MB of RSS).
 */
function isApiException(err: unknown): err is Error & { code: number; body: unknown } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'body' in err && 'headers' in err;
}

export function apiFailure(err: unknown): ApiFailure {
  if (isApiException(err)) {
    const s = statusBody(err.body);
    return { code: err.code, reason: s.reason, message: s.message ?? `HTTP ${err.code}` };
  }
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.statusCode === 'number' ? e.statusCode : typeof e?.code === 'number' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message.split('\n')[0]! : String(err);
  return { code, reason: undefined, message };
}

export const isNotFound = (err: unknown): boolean => apiFailure(err).code === 404;
export const isConflict = (err: unknown): boolean => apiFailure(err).code === 409;

/**
 * Worth retrying: the server was busy or briefly unreachable. 4xx answers (except 429) are final:
 * retrying a Forbidden or an Invalid only delays the error the user needs to see.
 */
export function isTransient(err: unknown): boolean {
  const code = apiFailure(err).code;
  if (code === undefined) return true;
  return code === 429 || code >= 500;
}

/** No usable kubeconfig: none found, unreadable, or naming no cluster. */
export class KubeConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KubeConfigError';
  }
}

/** An object that others kept writing while we tried to (every conditional write a 409): the cluster's state, not ours. */
export class KubeConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConflictError';
  }
}

/** A failure of one named step, with the API server's own words and a hint for RBAC denials. */
export class KubeError extends Error {
  readonly failure: ApiFailure;

  constructor(step: string, err: unknown) {
    const failure = apiFailure(err);
    const hint =
      failure.code === 403
        ? ' (RBAC: grant the service account this permission; deploy/ has the Role and ClusterRole init needs)'
        : failure.code === 401
          ? ' (the credentials were rejected; check the kubeconfig or service account token)'
          : '';
    super(`${step}: ${failure.message}${failure.code ? ` [HTTP ${failure.code}]` : ''}${hint}`, { cause: err });
    this.name = 'KubeError';
    this.failure = failure;
  }
}
