#!/usr/bin/env node
import { text } from 'node:stream/consumers';
import { buildCli } from './cli.js';
import { reportError } from './commands/exitCodes.js';

// The process entry point: the only place that touches argv, real signals and the exit code.
const handlers: ((signal: string) => Promise<void>)[] = [];
let shuttingDown = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    Promise.all(handlers.map((h) => h(signal))).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  });
}

// A reader that stops early (`dry-run ... | head`) closes the pipe: stop writing quietly and
// keep the command's own exit code, instead of dying on an unhandled EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
});

const program = buildCli({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  stdin: () => text(process.stdin),
  onSignal: (h) => handlers.push(h),
  setExitCode: (code) => {
    process.exitCode = code;
  },
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exit(reportError(err, (t) => process.stderr.write(t)));
}
