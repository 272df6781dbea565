import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { createServingCertificate } from '../../src/tls/certs.js';

/**
 * A small Kubernetes API server for tests: real HTTPS on loopback, real REST paths and JSON,
 * resourceVersions, list paging (limit/continue), newline-delimited watch streams with history
 * replay, and the Status errors client code has to handle (401, 403, 404, 409, 410, 5xx).
 * Only the resources this project touches are served.
 */

interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

const RESOURCES: Record<string, ResourceType> = {
  secrets: { group: '', version: 'v1', kind: 'Secret', namespaced: true },
  configmaps: { group: '', version: 'v1', kind: 'ConfigMap', namespaced: true },
  events: { group: '', version: 'v1', kind: 'Event', namespaced: true },
  pods: { group: '', version: 'v1', kind: 'Pod', namespaced: true },
  nodes: { group: '', version: 'v1', kind: 'Node', namespaced: false },
  mutatingwebhookconfigurations: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration', namespaced: false },
  validatingwebhookconfigurations: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingWebhookConfiguration', namespaced: false },
};

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'delete';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly verb: Verb;
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
}

/** A stored object (plain JSON). */
export type KubeObject = { apiVersion?: string; kind?: string; metadata: Record<string, any>; [k: string]: any };

interface HistoryEntry {
  readonly rv: number;
  readonly resource: string;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
  /** The object before this change (undefined for ADDED), to translate changes through field selectors. */
  readonly previous: KubeObject | undefined;
}

interface OpenWatch {
  readonly resource: string;
  readonly namespace: string;
  readonly selector: FieldSelector;
  readonly res: ServerResponse;
}

interface Fault {
  readonly verb?: Verb;
  readonly resource?: string;
  readonly status: number;
  remaining: number;
}

type FieldSelector = readonly { path: string; op: '=' | '!='; value: string }[];

function parseFieldSelector(text: string | null): FieldSelector {
  if (!text) return [];
  return text.split(',').map((part) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(part.trim());
    if (!m) throw new Error(`unsupported field selector "${part}"`);
    return { path: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]! };
  });
}

function fieldValue(obj: KubeObject, path: string): string {
  let v: any = obj;
  for (const k of path.split('.')) v = v?.[k];
  return typeof v === 'string' ? v : '';
}

function matches(obj: KubeObject | undefined, namespace: string, selector: FieldSelector): boolean {
  if (!obj) return false;
  if (namespace && obj.metadata.namespace !== namespace) return false;
  return selector.every((s) => (fieldValue(obj, s.path) === s.value) === (s.op === '='));
}

function status(code: number, reason: string, message: string, details?: object): KubeObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

/** One certificate for every fake server of a test run: key generation is the slow part of starting one. */
let serverCert: ReturnType<typeof createServingCertificate> | undefined;

const REASONS: Record<number, string> = { 429: 'TooManyRequests', 500: 'InternalError', 502: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' };

export class FakeApiServer {
  /** Every request in arrival order. */
  readonly requests: RecordedRequest[] = [];
  readonly token = `fake-token-${randomUUID()}`;
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: HistoryEntry[] = [];
  private readonly watches = new Set<OpenWatch>();
  private readonly forbidden = new Set<string>();
  private readonly faults: Fault[] = [];
  private readonly hooks: ((r: RecordedRequest) => void)[] = [];
  /** Called whenever a watch ends (see whenNoWatches). */
  private readonly watchClosed: (() => void)[] = [];
  private rv = 100;
  private compactedRv = 0;

  private constructor(
    private readonly server: Server,
    readonly caPem: string,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeApiServer> {
    const cert = (serverCert ??= createServingCertificate({ service: 'kubernetes', namespace: 'default' }));
    let self: FakeApiServer | undefined;
    const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    self = new FakeApiServer(server, cert.caPem, address.port);
    return self;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** A KubeConfig trusting this server's CA and carrying its bearer token. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, caData: Buffer.from(this.caPem).toString('base64'), skipTLSVerify: false }],
      users: [{ name: 'tester', token: this.token }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'tester' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** The same, as a kubeconfig file's text (for CLI tests). */
  kubeconfigYaml(): string {
    return stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'certificate-authority-data': Buffer.from(this.caPem).toString('base64') } }],
      users: [{ name: 'tester', user: { token: this.token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'tester' } }],
      'current-context': 'fake',
    });
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- state, as a controller or kubectl would change it -------------------------------------

  get(resource: string, namespace: string, name: string): KubeObject | undefined {
    const o = this.objects.get(key(resource, namespace, name));
    return o && structuredClone(o);
  }

  list(resource: string): KubeObject[] {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`${resource}/`)).map(([, o]) => structuredClone(o));
  }

  /** Creates or replaces an object out of band (bumping its resourceVersion and notifying watches). */
  apply(resource: string, obj: KubeObject): KubeObject {
    const type = this.type(resource);
    const ns = type.namespaced ? (obj.metadata.namespace ?? 'default') : '';
    const k = key(resource, ns, obj.metadata.name);
    const previous = this.objects.get(k);
    const stored = this.stamp(resource, obj, ns, previous);
    this.commit(resource, k, stored, previous);
    return structuredClone(stored);
  }

  remove(resource: string, namespace: string, name: string): void {
    const k = key(resource, namespace, name);
    const previous = this.objects.get(k);
    if (!previous) return;
    this.objects.delete(k);
    const deleted = { ...structuredClone(previous), metadata: { ...previous.metadata, resourceVersion: String(++this.rv) } };
    this.record({ rv: this.rv, resource, type: 'DELETED', object: deleted, previous });
  }

  // --- failure injection -------------------------------------------------------------------

  /** RBAC: every `verb` on `resource` answers 403 from now on. */
  forbid(verb: Verb, resource: string): void {
    this.forbidden.add(`${verb}/${resource}`);
  }

  /** Undoes `forbid` (an admin fixed the RBAC). */
  allow(verb: Verb, resource: string): void {
    this.forbidden.delete(`${verb}/${resource}`);
  }

  /** The next `times` matching requests answer `status` (a transient server error by default). */
  failNext(match: { verb?: Verb; resource?: string }, status = 503, times = 1): void {
    this.faults.push({ ...match, status, remaining: times });
  }

  /**
   * Runs once, just before the next request matching `match` is handled (to race a client);
   * `withQuery` also requires that query parameter (e.g. `continue` for a later page).
   */
  before(match: { verb: Verb; resource: string; withQuery?: string }, hook: () => void): void {
    const h = (r: RecordedRequest): void => {
      if (r.verb !== match.verb || r.resource !== match.resource) return;
      if (match.withQuery !== undefined && !r.query.has(match.withQuery)) return;
      this.hooks.splice(this.hooks.indexOf(h), 1);
      hook();
    };
    this.hooks.push(h);
  }

  /** Ends every open watch: cleanly (the server's watch timeout) or by destroying the socket. */
  dropWatches(opts: { abrupt?: boolean } = {}): void {
    for (const w of this.watches) {
      if (opts.abrupt) w.res.destroy();
      else w.res.end();
    }
    this.watches.clear();
  }

  /** Forgets the watch history, as etcd compaction does: resuming from an older version gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
  }

  openWatches(resource: string): number {
    return [...this.watches].filter((w) => w.resource === resource).length;
  }

  /** Resolves once no watch of `resources` is open: checked as each watch ends, never against a clock. */
  whenNoWatches(...resources: string[]): Promise<void> {
    const none = () => resources.every((r) => this.openWatches(r) === 0);
    return new Promise((resolve) => {
      const check = () => {
        if (!none()) return;
        this.watchClosed.splice(this.watchClosed.indexOf(check), 1);
        resolve();
      };
      this.watchClosed.push(check);
      check();
    });
  }

  requestsFor(verb: Verb, resource: string): RecordedRequest[] {
    return this.requests.filter((r) => r.verb === verb && r.resource === resource);
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        this.route(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        send(res, 500, status(500, 'InternalError', (err as Error).message));
      }
    });
  }

  private route(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', this.url);
    if (url.pathname === '/apis') {
      // Discovery: the groups this fake serves, as an APIGroupList.
      const groups = [
        ...new Set(
          Object.values(RESOURCES)
            .filter((t) => t.group !== '')
            .map((t) => apiVersion(t)),
        ),
      ].map((gv) => {
        const [name, version] = gv.split('/') as [string, string];
        return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      });
      send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
      return;
    }
    const parsed = parsePath(url.pathname);
    if (!parsed) {
      send(res, 404, status(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`));
      return;
    }
    const { resource, namespace, name } = parsed;
    const watching = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const verb = verbOf(req.method ?? 'GET', name, watching);
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, verb, resource, namespace, name };
    this.requests.push(recorded);
    for (const h of [...this.hooks]) h(recorded);

    if (req.headers.authorization !== `Bearer ${this.token}`) {
      send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (this.forbidden.has(`${verb}/${resource}`)) {
      const group = RESOURCES[resource]!.group;
      const what = name ? `${resource} "${name}"` : resource;
      const where = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
      send(
        res,
        403,
        status(
          403,
          'Forbidden',
          `${what} is forbidden: User "system:serviceaccount:azureml:tester" cannot ${verb} resource "${resource}" in API group "${group}"${where}`,
          { name, kind: resource },
        ),
      );
      return;
    }
    const fault = this.faults.find((f) => f.remaining > 0 && (!f.verb || f.verb === verb) && (!f.resource || f.resource === resource));
    if (fault) {
      fault.remaining -= 1;
      send(res, fault.status, status(fault.status, REASONS[fault.status] ?? 'InternalError', 'injected failure'));
      return;
    }

    switch (verb) {
      case 'get':
        return this.doGet(res, resource, namespace, name);
      case 'list':
        return this.doList(res, resource, namespace, url.searchParams);
      case 'watch':
        return this.doWatch(res, resource, namespace, url.searchParams);
      case 'create':
        return this.doCreate(res, resource, namespace, body);
      case 'update':
        return this.doUpdate(res, resource, namespace, name, body);
      case 'delete':
        this.remove(resource, namespace, name);
        send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 });
        return;
    }
  }

  private doGet(res: ServerResponse, resource: string, namespace: string, name: string): void {
    const obj = this.objects.get(key(resource, namespace, name));
    if (!obj) send(res, 404, notFound(resource, name));
    else send(res, 200, obj);
  }

  private doList(res: ServerResponse, resource: string, namespace: string, query: URLSearchParams): void {
    const selector = parseFieldSelector(query.get('fieldSelector'));
    const all = [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(`${resource}/`) && matches(o, namespace, selector))
      .sort(([a], [b]) => a.localeCompare(b));
    let start = 0;
    let listRv = this.rv;
    const token = query.get('continue');
    if (token) {
      const { after, rv } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after: string; rv: number };
      if (rv < this.compactedRv) {
        send(
          res,
          410,
          status(
            410,
            'Expired',
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          ),
        );
        return;
      }
      listRv = rv;
      start = all.findIndex(([k]) => k > after);
      if (start < 0) start = all.length;
    }
    const limit = Number(query.get('limit') ?? 0);
    const page = limit > 0 ? all.slice(start, start + limit) : all.slice(start);
    const more = start + page.length < all.length;
    const last = page.at(-1)?.[0];
    const type = this.type(resource);
    send(res, 200, {
      kind: `${type.kind}List`,
      apiVersion: apiVersion(type),
      metadata: {
        resourceVersion: String(listRv),
        ...(more && last
          ? { continue: Buffer.from(JSON.stringify({ after: last, rv: listRv })).toString('base64url'), remainingItemCount: all.length - start - page.length }
          : {}),
      },
      items: page.map(([, o]) => o),
    });
  }

  private doWatch(res: ServerResponse, resource: string, namespace: string, query: URLSearchParams): void {
    const selector = parseFieldSelector(query.get('fieldSelector'));
    const from = query.get('resourceVersion') ?? '';
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const line = (type: string, object: KubeObject): void => void res.write(`${JSON.stringify({ type, object })}\n`);
    if (from === '' || from === '0') {
      // "Start at most recent": synthetic ADDED events for the current state, then changes.
      for (const [k, o] of this.objects) if (k.startsWith(`${resource}/`) && matches(o, namespace, selector)) line('ADDED', o);
    } else {
      const since = Number(from);
      if (!Number.isFinite(since) || since < this.compactedRv) {
        line('ERROR', status(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`));
        res.end();
        return;
      }
      for (const e of this.history) {
        if (e.rv <= since || e.resource !== resource) continue;
        const translated = translate(e, namespace, selector);
        if (translated) line(translated, e.object);
      }
    }
    const w: OpenWatch = { resource, namespace, selector, res };
    this.watches.add(w);
    res.on('close', () => {
      this.watches.delete(w);
      for (const notify of [...this.watchClosed]) notify();
    });
  }

  private doCreate(res: ServerResponse, resource: string, namespace: string, body: string): void {
    const obj = JSON.parse(body) as KubeObject;
    obj.metadata ??= {};
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomUUID().slice(0, 5)}`;
    if (!obj.metadata.name) {
      send(res, 422, status(422, 'Invalid', `${resource} is invalid: metadata.name: Required value: name or generateName is required`));
      return;
    }
    const k = key(resource, namespace, obj.metadata.name);
    if (this.objects.has(k)) {
      send(res, 409, status(409, 'AlreadyExists', `${resource} "${obj.metadata.name}" already exists`, { name: obj.metadata.name, kind: resource }));
      return;
    }
    const stored = this.stamp(resource, obj, namespace, undefined);
    this.commit(resource, k, stored, undefined);
    send(res, 201, stored);
  }

  private doUpdate(res: ServerResponse, resource: string, namespace: string, name: string, body: string): void {
    const obj = JSON.parse(body) as KubeObject;
    const k = key(resource, namespace, name);
    const previous = this.objects.get(k);
    if (!previous) {
      send(res, 404, notFound(resource, name));
      return;
    }
    if (obj.metadata?.name !== name) {
      send(res, 400, status(400, 'BadRequest', 'the name of the object does not match the name on the URL'));
      return;
    }
    const sent = obj.metadata.resourceVersion;
    if (sent !== undefined && sent !== previous.metadata.resourceVersion) {
      send(
        res,
        409,
        status(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          { name, kind: resource },
        ),
      );
      return;
    }
    const stored = this.stamp(resource, obj, namespace, previous);
    this.commit(resource, k, stored, previous);
    send(res, 200, stored);
  }

  // --- storage -------------------------------------------------------------------------------

  private type(resource: string): ResourceType {
    const t = RESOURCES[resource];
    if (!t) throw new Error(`resource ${resource} is not served`);
    return t;
  }

  /** Server-owned metadata: uid and creation time kept across updates, a fresh resourceVersion. */
  private stamp(resource: string, obj: KubeObject, namespace: string, previous: KubeObject | undefined): KubeObject {
    const type = this.type(resource);
    const stored = structuredClone(obj);
    stored.apiVersion = apiVersion(type);
    stored.kind = type.kind;
    stored.metadata = {
      ...stored.metadata,
      ...(type.namespaced ? { namespace } : {}),
      uid: previous?.metadata.uid ?? randomUUID(),
      creationTimestamp: previous?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      resourceVersion: String(++this.rv),
    };
    return stored;
  }

  private commit(resource: string, k: string, stored: KubeObject, previous: KubeObject | undefined): void {
    this.objects.set(k, stored);
    this.record({ rv: Number(stored.metadata.resourceVersion), resource, type: previous ? 'MODIFIED' : 'ADDED', object: stored, previous });
  }

  private record(e: HistoryEntry): void {
    this.history.push(e);
    for (const w of this.watches) {
      if (w.resource !== e.resource) continue;
      const type = translate(e, w.namespace, w.selector);
      if (type) w.res.write(`${JSON.stringify({ type, object: e.object })}\n`);
    }
  }
}

/** What a watch with this namespace and field selector sees of a change (objects move in and out of a selection). */
function translate(e: HistoryEntry, namespace: string, selector: FieldSelector): HistoryEntry['type'] | undefined {
  const now = e.type !== 'DELETED' && matches(e.object, namespace, selector);
  const before = matches(e.previous, namespace, selector);
  if (now && before) return 'MODIFIED';
  if (now) return 'ADDED';
  if (before) return 'DELETED';
  return undefined;
}

function key(resource: string, namespace: string, name: string): string {
  return `${resource}/${namespace}/${name}`;
}

function apiVersion(t: ResourceType): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

function notFound(resource: string, name: string): KubeObject {
  return status(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
}

function send(res: ServerResponse, code: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** `/api/v1/[namespaces/NS/]RESOURCE[/NAME]` or `/apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME]`. */
function parsePath(pathname: string): { resource: string; namespace: string; name: string } | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let rest: string[];
  let groupVersion: string;
  if (parts[0] === 'api' && parts[1] === 'v1') {
    groupVersion = 'v1';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    groupVersion = `${parts[1]}/${parts[2]}`;
    rest = parts.slice(3);
  } else return undefined;
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  if (rest.length < 1 || rest.length > 2) return undefined;
  const type = RESOURCES[rest[0]!];
  if (!type || apiVersion(type) !== groupVersion) return undefined;
  return { resource: rest[0]!, namespace, name: rest[1] ?? '' };
}

function verbOf(method: string, name: string, watching: boolean): Verb {
  switch (method) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'DELETE':
      return 'delete';
    default:
      return name ? 'get' : watching ? 'watch' : 'list';
  }
}

/** Waits until `check` returns a value (polling; the deadline only bounds a broken test). */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, deadlineMs = 15_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
