/** Where the CLI writes; injected so tests can run commands in-process. */
export interface CliIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Reads all of stdin (`-f -`); absent where the CLI has none. */
  readonly stdin?: () => Promise<string>;
  /** Registers a shutdown hook for SIGTERM/SIGINT (the process entry point wires real signals). */
  readonly onSignal: (handler: (signal: string) => Promise<void>) => void;
  /** Sets the exit code the process ends with once the command returns (e.g. dry-run: 1 denied, 2 bad input). */
  readonly setExitCode?: (code: number) => void;
}
