/**
 * File system errors in plain words ("no such file or directory"), not Node's codes and syscalls
 * (`ENOENT: no such file or directory, open 'x'`): what the CLI prints about a path it could not use.
 */

const PLAIN: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
};

export function isFileError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/** What went wrong with the path, without the path (callers name it): e.g. "no such file or directory". */
export function fileErrorText(err: unknown): string {
  if (!isFileError(err)) return (err as Error).message;
  const plain = PLAIN[err.code!];
  if (plain) return plain;
  // Node's message is "CODE: description, syscall 'path'": keep the description.
  const m = /^[A-Z]+: ([^,]+)/.exec(err.message);
  return m ? m[1]! : err.message;
}

/** `path: what went wrong`, for errors that reach the top of the CLI. */
export function errorText(err: unknown): string {
  if (isFileError(err)) return err.path ? `${err.path}: ${fileErrorText(err)}` : fileErrorText(err);
  return err instanceof Error ? err.message : String(err);
}
