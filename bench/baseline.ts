import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

/**
 * The floor for any Node webhook on this machine: a bare node:https handler that reads the
 * body, parses the AdmissionReview and answers "allowed" with its uid. No routing, no logs.
 *
 *   node dist/bench/baseline.js PORT CERT KEY
 */
const [port, cert, key] = process.argv.slice(2);
const server = createServer({ cert: readFileSync(cert!), key: readFileSync(key!), keepAliveTimeout: 120_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let review: { apiVersion: string; request: { uid: string } };
    try {
      review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof review;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const body = JSON.stringify({ apiVersion: review.apiVersion, kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
