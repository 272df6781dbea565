import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { cpus, tmpdir, totalmem } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';
import fastJsonPatch from 'fast-json-patch';
import { createServingCertificate } from '../src/tls/certs.js';
import { writeServing } from '../src/tls/files.js';
import { runExtenderBench, type ExtenderBenchResult } from './extender.js';

/**
 * `npm run bench` — throughput of the admission hot path against a bare node:https handler,
 * in one run on this machine, plus extender latency. Options:
 *   --duration SECONDS  per scenario (default 10)   --connections N (default 32)
 *   --workers N         pass --workers to serve       --out FILE   also write the Markdown report
 */

interface Scenario {
  readonly name: string;
  readonly target: 'baseline' | 'server';
  readonly path: string;
  readonly body: string;
}

interface Row {
  readonly name: string;
  readonly reqPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly peakRssMb: number;
}

const root = new URL('..', import.meta.url).pathname.replace(/dist\/$/, '');
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : args[i + 1]!;
};
const duration = Number(opt('duration', '10'));
const connections = Number(opt('connections', '32'));
const workers = Number(opt('workers', '1'));
const outFile = opt('out', '');

const fixture = (p: string) => JSON.parse(readFileSync(join(root, p), 'utf8')) as Record<string, any>;

function review(pod: object, username: string, groups: string[]): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '8e8bd2c1-7a5b-4f3c-9d2e-0c1b2a3d4e5f',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'azureml',
      operation: 'CREATE',
      userInfo: { username, groups },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(port: number, ca: Buffer, path: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path, method: path === '/readyz' ? 'GET' : 'POST', ca, servername: 'localhost', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode !== undefined);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server on port ${port} did not come up`);
}

/** Peak resident set (VmHWM) of a process, in MB, from /proc. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Peak RSS across a process and its children (the cluster workers). */
function treePeakRssMb(pid: number): number {
  let total = peakRssMb(pid);
  try {
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) total += treePeakRssMb(Number(child));
  } catch {
    /* no children file on this kernel */
  }
  return total;
}

async function load(port: number, ca: Buffer, s: Scenario, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: `https://127.0.0.1:${port}${s.path}`,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: s.body,
    servername: 'localhost',
    tlsOptions: { ca },
  } as autocannon.Options);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'aml-bench-'));
  const cert = createServingCertificate({ service: 'aml-admission', namespace: 'azureml' });
  await writeServing(dir, cert);
  const ca = Buffer.from(cert.caPem);

  const gpuWorker = fixture('test/fixtures/pods/pytorchjob-worker-gpu.json');
  const operator = [
    'system:serviceaccount:kubeflow:training-operator',
    ['system:serviceaccounts', 'system:serviceaccounts:kubeflow', 'system:authenticated'],
  ] as const;
  const mutateBody = review(gpuWorker, operator[0], [...operator[1]]);

  // /validate sees pods after mutation, so the allowed body is the worker as /mutate leaves it.
  const baselinePort = await freePort();
  const serverPort = await freePort();
  const baseline = spawn(process.execPath, [join(root, 'dist/bench/baseline.js'), String(baselinePort), join(dir, 'tls.crt'), join(dir, 'tls.key')], {
    stdio: 'ignore',
  });
  const server = spawn(
    process.execPath,
    // The flags the container image runs with (Dockerfile ENTRYPOINT).
    [
      '--max-semi-space-size=4',
      join(root, 'dist/src/main.js'),
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(serverPort),
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
      '--policy',
      join(root, 'bench/policy.yaml'),
      '--drain-delay',
      '0',
      ...(workers > 1 ? ['--workers', String(workers)] : []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    await waitReady(baselinePort, ca, '/');
    await waitReady(serverPort, ca, '/readyz');
    const mutated = await new Promise<Record<string, any>>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: serverPort, path: '/mutate', method: 'POST', ca, servername: 'localhost', headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            const r = JSON.parse(text).response;
            const ops = r.patch ? JSON.parse(Buffer.from(r.patch, 'base64').toString()) : [];
            resolve(fastJsonPatch.applyPatch(fastJsonPatch.deepClone(gpuWorker), ops).newDocument);
          });
        },
      );
      req.on('error', reject);
      req.end(mutateBody);
    });
    const allowedBody = review(mutated, operator[0], [...operator[1]]);
    // Denied: the same worker sent by someone outside the compute's identity claims, asking for 8 GPUs.
    const greedy = fastJsonPatch.deepClone(mutated);
    greedy.spec.containers[0].resources.limits['nvidia.com/gpu'] = '8';
    greedy.spec.containers[0].resources.requests = { ...greedy.spec.containers[0].resources.requests, 'nvidia.com/gpu': '8' };
    const deniedBody = review(greedy, 'mallory@contoso.com', ['system:authenticated']);
    const plainBody = review(fixture('test/fixtures/pods/deployment-cpu.json'), 'system:serviceaccount:kube-system:replicaset-controller', [
      'system:serviceaccounts',
      'system:authenticated',
    ]);

    const scenarios: Scenario[] = [
      { name: 'baseline: bare node:https (GPU worker review)', target: 'baseline', path: '/', body: mutateBody },
      { name: '/mutate GPU PyTorchJob worker', target: 'server', path: '/mutate?timeout=10s', body: mutateBody },
      { name: '/validate allowed pod', target: 'server', path: '/validate?timeout=10s', body: allowedBody },
      { name: '/validate denied pod', target: 'server', path: '/validate?timeout=10s', body: deniedBody },
      // Most pods a cluster creates are not AML pods; the webhooks see them all.
      { name: '/mutate non-AML pod (Deployment replica)', target: 'server', path: '/mutate?timeout=10s', body: plainBody },
      { name: '/validate non-AML pod (Deployment replica)', target: 'server', path: '/validate?timeout=10s', body: plainBody },
    ];
    const rows: Row[] = [];
    for (const s of scenarios) {
      const port = s.target === 'baseline' ? baselinePort : serverPort;
      await load(port, ca, s, 2); // warm-up: JIT, TLS session setup
      const r = await load(port, ca, s, duration);
      const pid = s.target === 'baseline' ? baseline.pid! : server.pid!;
      rows.push({
        name: s.name,
        reqPerSec: Math.round(r.requests.average),
        p50: r.latency.p50,
        p99: r.latency.p99,
        errors: r.errors + r.timeouts,
        non2xx: r.non2xx,
        peakRssMb: treePeakRssMb(pid),
      });
      process.stderr.write(`${s.name}: ${Math.round(r.requests.average)} req/s\n`);
    }
    const ext = await runExtenderBench();
    const report = markdown(rows, ext);
    process.stdout.write(report);
    if (outFile) writeFileSync(outFile, report + keptAnalysis(outFile));
  } finally {
    await Promise.all([stop(baseline), stop(server)]);
    await rm(dir, { recursive: true, force: true });
  }
}

/** The hand-written part of the report (from ANALYSIS_MARKER on) survives a re-run with --out. */
const ANALYSIS_MARKER = '<!-- analysis: kept by npm run bench -->';
function keptAnalysis(file: string): string {
  try {
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf(ANALYSIS_MARKER);
    return at === -1 ? '' : `\n${text.slice(at)}`;
  } catch {
    return '';
  }
}

function markdown(rows: Row[], ext: ExtenderBenchResult): string {
  const base = rows[0]!.reqPerSec;
  const lines = [
    '# Benchmarks',
    '',
    `Produced by \`npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}\` on ${new Date().toISOString().slice(0, 10)}.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}/${process.arch}.`,
    `Load: autocannon in the benchmark process, ${connections} HTTPS keep-alive connections, ${duration} s per scenario after a 2 s warm-up; server${workers > 1 ? ` with --workers ${workers}` : ' as one process'} started as the image starts it (\`node --max-semi-space-size=4\`), default logging (info) to /dev/null; baseline with Node defaults.`,
    '',
    '| scenario | req/s | vs baseline | p50 ms | p99 ms | errors | non-2xx | peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) => `| ${r.name} | ${r.reqPerSec} | ${Math.round((r.reqPerSec / base) * 100)}% | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} | ${r.peakRssMb} |`,
    ),
    '',
    'Targets: /mutate and /validate ≥ 75% of the baseline, p99 ≤ 10 ms at 32 connections, RSS ≤ 150 MB.',
    'Denied reviews answer HTTP 200 with `allowed: false`, so non-2xx must be 0 everywhere.',
    '',
    '## Scheduler extender (in process, NodeNames mode)',
    '',
    '| nodes | filter p50 ms | prioritize p50 ms | filter+prioritize p50 ms | p99 ms |',
    '|---:|---:|---:|---:|---:|',
    ...ext.sizes.map(
      (s) =>
        `| ${s.nodes} | ${s.filter.medianMs.toFixed(3)} | ${s.prioritize.medianMs.toFixed(3)} | ${s.both.medianMs.toFixed(3)} | ${s.both.p99Ms.toFixed(3)} |`,
    ),
    '',
    `Target: median ≤ ${ext.targetMedianMs} ms per call at 5,000 nodes: ${ext.pass ? 'met' : 'MISSED'}.`,
    '',
  ];
  return lines.join('\n');
}

await main();
