/**
 * The one catalogue of errors the HTTP edge answers with. Every error body has the
 * shape `{ "error": { "code", "message" } }`; codes are stable and documented in README.
 */
export const ErrorCode = {
  InvalidJSON: 'InvalidJSON',
  EmptyBody: 'EmptyBody',
  UnsupportedMediaType: 'UnsupportedMediaType',
  InvalidReview: 'InvalidReview',
  UnsupportedVersion: 'UnsupportedVersion',
  BodyTooLarge: 'BodyTooLarge',
  NotFound: 'NotFound',
  MethodNotAllowed: 'MethodNotAllowed',
  Unavailable: 'Unavailable',
  Internal: 'Internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const statusOf: Record<ErrorCode, number> = {
  InvalidJSON: 400,
  EmptyBody: 400,
  UnsupportedMediaType: 400,
  InvalidReview: 400,
  UnsupportedVersion: 400,
  BodyTooLarge: 413,
  NotFound: 404,
  MethodNotAllowed: 405,
  Unavailable: 503,
  Internal: 500,
};

/** An error meant for the caller: its message is safe to send (no stack, no input echo beyond paths). */
export class HttpError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpError';
    this.code = code;
    this.status = statusOf[code];
  }

  toBody(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Anything thrown that is not an HttpError becomes a generic 500 whose message reveals nothing. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  return new HttpError(ErrorCode.Internal, 'internal error; see the server log', { cause: err });
}
