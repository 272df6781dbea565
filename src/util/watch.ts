import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * Polls files and calls `onChange` with their contents when any of them changes.
 *
 * Polling by content hash rather than fs.watch: Kubernetes updates mounted Secrets and
 * ConfigMaps by swapping a `..data` symlink, which inotify watches on the file do not follow.
 * Reading a few small files every couple of seconds costs nothing measurable.
 */
export class FilePoller {
  private timer: NodeJS.Timeout | undefined;
  private lastDigest = '';
  private running = false;

  constructor(
    private readonly paths: readonly string[],
    private readonly intervalMs: number,
    private readonly onChange: (contents: Buffer[]) => void | Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Records the current contents as the baseline (so start() does not fire for them) and starts polling. */
  async start(): Promise<void> {
    this.lastDigest = digest(await this.readAll().catch(() => []));
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One poll; exposed so tests and callers can force a check. */
  async poll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const contents = await this.readAll();
      const d = digest(contents);
      if (d === this.lastDigest) return;
      this.lastDigest = d;
      await this.onChange(contents);
    } catch (err) {
      this.onError(err);
    } finally {
      this.running = false;
    }
  }

  private readAll(): Promise<Buffer[]> {
    return Promise.all(this.paths.map((p) => readFile(p)));
  }
}

function digest(contents: Buffer[]): string {
  const h = createHash('sha256');
  for (const c of contents) h.update(c).update('\0');
  return h.digest('hex');
}
