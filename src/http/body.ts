import type { IncomingMessage } from 'node:http';
import { ErrorCode, HttpError } from '../admission/errors.js';

/**
 * The API server sends at most 3 MiB (etcd's object limit plus envelope); 8 MiB leaves room
 * for large pods without letting one request hold unbounded memory.
 */
export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

/** application/json, with or without parameters such as `; charset=utf-8`. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const semi = header.indexOf(';');
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Reads a JSON request body, refusing it before buffering when the declared length is over
 * the limit and as soon as the received bytes pass it (chunked bodies declare no length).
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (!isJsonContentType(req.headers['content-type'])) {
      reject(new HttpError(ErrorCode.UnsupportedMediaType, 'content-type must be application/json'));
      req.resume();
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(tooLarge(limit));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.off('data', onData);
        req.resume(); // drain the rest without keeping it
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      if (body.length === 0) reject(new HttpError(ErrorCode.EmptyBody, 'request body is empty'));
      else resolve(body);
    });
    req.once('error', (err) => {
      if (done) return;
      done = true;
      reject(new HttpError(ErrorCode.InvalidJSON, 'request body could not be read', { cause: err }));
    });
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError(ErrorCode.BodyTooLarge, `request body exceeds the limit of ${limit} bytes`);
}

/** JSON.parse that answers a 400 with the parser's position message (never the input itself). */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    const msg = err instanceof Error ? err.message.replace(/".*"/s, 'the body') : 'invalid JSON';
    throw new HttpError(ErrorCode.InvalidJSON, `body is not valid JSON: ${msg}`, { cause: err });
  }
}
