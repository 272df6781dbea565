import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

/**
 * kube-apiserver's `--audit-log-maxsize`, `--audit-log-maxbackup` and `--audit-log-maxage`,
 * with the semantics of the library behind them (lumberjack): the file is renamed to
 * `<name>-<UTC time>.<ext>` (`audit-2026-11-21T05-00-27.728.log`) before a line would take it
 * past `maxBytes`, and rotated files beyond `maxBackups` or older than `maxAgeMs` (by the time in
 * their name) are removed.
 */
export interface Rotation {
  readonly maxBytes: number;
  /** Rotated files kept, newest first; 0 keeps them all. */
  readonly maxBackups: number;
  /** 0 never removes a rotated file for its age. */
  readonly maxAgeMs: number;
}

export const MEGABYTE = 1024 * 1024;
/** kube-apiserver's (lumberjack's) size when `--audit-log-maxsize` is 0 or not given. */
export const DEFAULT_MAXSIZE_MB = 100;
export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A rotated file younger than this is never removed: with `--workers`, a sibling process keeps
 * writing to the file it has open until its next check notices the rotation.
 */
const PRUNE_GRACE_MS = 60_000;
/** New files: owner read-write, group read (a log shipper sharing the pod's fsGroup). */
const FILE_MODE = 0o640;
/** Write failures (a full disk) are reported at most this often. */
const ERROR_REPORT_MS = 60_000;

export interface AuditFileOptions {
  readonly rotation?: Rotation;
  /**
   * How often the path is checked (0: never): when something else renamed or removed it (an
   * external logrotate, a sibling worker's rotation) the path is reopened, and the size is re-read.
   */
  readonly checkMs?: number;
  readonly now?: () => number;
  /** Told about failed writes or rotations, at most once a minute, with the number of lines lost since the last report. */
  readonly onError?: (err: Error, linesLost: number) => void;
}

const BACKUP_TIME = /^(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d\.\d{3})$/;

/**
 * An append-only audit file, a pino destination. Each line is one synchronous write(2), done
 * before the answer is sent (see jsonRoute), so no answered decision is missing after a crash.
 * Rotation never loses a line either: a line goes to the file before or after the rename, and
 * the renamed file is kept (`link` then `unlink`, which never replaces an existing backup, even
 * when two workers rotate at once).
 */
export class AuditFile {
  private fd: number;
  private size: number;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly stem: string;
  private readonly ext: string;
  private lost = 0;
  private lastReport = -Infinity;
  /** Set when a rotation failed: writes go on to the open file and the next check tries again, not every line. */
  private rotationFailed = false;

  constructor(
    readonly path: string,
    private readonly opts: AuditFileOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.ext = extname(path);
    this.stem = basename(path, this.ext);
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a', FILE_MODE);
    this.size = fstatSync(this.fd).size;
    const every = opts.checkMs ?? 1000;
    if (every > 0) {
      this.timer = setInterval(() => this.checkRotation(), every);
      this.timer.unref();
    }
  }

  /** Appends one line (pino hands over whole lines), rotating first when it would pass the size limit. */
  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    const rotation = this.opts.rotation;
    if (rotation !== undefined && !this.rotationFailed && this.size > 0 && this.size + bytes > rotation.maxBytes) this.rotate();
    try {
      let done = writeSync(this.fd, line);
      if (done < bytes) {
        const buf = Buffer.from(line);
        while (done < buf.length) done += writeSync(this.fd, buf, done);
      }
      this.size += bytes;
    } catch (err) {
      this.failed(err, 1);
    }
  }

  /** Moves the file aside (unless someone else already did) and starts a new one; removes what the limits no longer keep. */
  rotate(): void {
    try {
      if (this.pathIsOurs()) this.moveAside();
      this.reopen();
      this.prune();
    } catch (err) {
      this.rotationFailed = true;
      this.failed(err, 0); // lines keep going to the file still open
    }
  }

  /** Reopens the path when it no longer names the file being written (renamed or removed); otherwise re-reads its size. */
  checkRotation(): boolean {
    this.rotationFailed = false;
    try {
      if (this.pathIsOurs()) {
        this.size = fstatSync(this.fd).size; // other workers append to it too
        return false;
      }
      this.reopen();
      return true;
    } catch (err) {
      this.failed(err, 0);
      return false;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    closeSync(this.fd);
  }

  private pathIsOurs(): boolean {
    let current;
    try {
      current = statSync(this.path);
    } catch {
      return false;
    }
    const open = fstatSync(this.fd);
    return current.ino === open.ino && current.dev === open.dev;
  }

  private moveAside(): void {
    for (let t = this.now(); ; t++) {
      const target = join(dirname(this.path), `${this.stem}-${new Date(t).toISOString().slice(0, 23).replaceAll(':', '-')}${this.ext}`);
      try {
        linkSync(this.path, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') continue; // a backup of that millisecond exists: take the next one
        if (code === 'ENOENT') return; // someone else moved it
        if (statExists(target)) continue;
        return renameSync(this.path, target); // no hard links on this file system
      }
      try {
        unlinkSync(this.path);
      } catch (err) {
        unlinkSync(target); // leave one name, not two, for the file still being written
        throw err;
      }
      return;
    }
  }

  private reopen(): void {
    const fd = openSync(this.path, 'a', FILE_MODE);
    closeSync(this.fd);
    this.fd = fd;
    this.size = fstatSync(fd).size;
  }

  private prune(): void {
    const { maxBackups = 0, maxAgeMs = 0 } = this.opts.rotation ?? {};
    if (maxBackups === 0 && maxAgeMs === 0) return;
    const dir = dirname(this.path);
    const now = this.now();
    const backups = readdirSync(dir)
      .map((name) => ({ name, time: this.backupTime(name) }))
      .filter((b): b is { name: string; time: number } => b.time !== undefined)
      .sort((a, b) => b.time - a.time);
    backups.forEach((b, i) => {
      if (now - b.time < PRUNE_GRACE_MS) return;
      if ((maxBackups > 0 && i >= maxBackups) || (maxAgeMs > 0 && now - b.time > maxAgeMs)) {
        try {
          unlinkSync(join(dir, b.name));
        } catch {
          /* another worker removed it first */
        }
      }
    });
  }

  /** The rotation time encoded in a backup's name, or undefined for any other file. */
  private backupTime(name: string): number | undefined {
    if (!name.startsWith(`${this.stem}-`) || !name.endsWith(this.ext)) return undefined;
    const m = BACKUP_TIME.exec(name.slice(this.stem.length + 1, name.length - this.ext.length));
    if (m === null) return undefined;
    const t = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
    return Number.isNaN(t) ? undefined : t;
  }

  private failed(err: unknown, lines: number): void {
    this.lost += lines;
    const now = this.now();
    if (now - this.lastReport < ERROR_REPORT_MS) return;
    this.lastReport = now;
    this.opts.onError?.(err instanceof Error ? err : new Error(String(err)), this.lost);
    this.lost = 0;
  }
}

function statExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
