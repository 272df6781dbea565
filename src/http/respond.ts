import type { ServerResponse } from 'node:http';
import type { HttpError } from '../admission/errors.js';

/** Writes a JSON string with an exact length (no chunked encoding on the hot path). */
export function sendJson(res: ServerResponse, status: number, payload: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // After a refused oversize body, close the connection rather than read the rest of it.
  if (err.status === 413) res.setHeader('connection', 'close');
  sendJson(res, err.status, JSON.stringify(err.toBody()));
}
