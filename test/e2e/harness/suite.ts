import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from './controlPlane.js';
import { livePids } from './processes.js';

/**
 * One control plane for the whole run (mocha root hooks, see test/e2e/.mocharc.json): tests
 * isolate themselves by namespace, and a test file that registers webhooks removes them after.
 * AML_E2E_KEEP=1 keeps the folder with every component's log.
 */
let plane: ControlPlane | undefined;

export function cluster(): ControlPlane {
  if (!plane) throw new Error('the control plane is not running (the root hook in test/e2e/harness/suite.ts starts it)');
  return plane;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(120_000);
    const dir = await mkdtemp(join(tmpdir(), 'aml-e2e-'));
    const started = Date.now();
    // An interrupted run (Ctrl-C: processes.ts kills the children, then exits) leaves no folder either.
    if (!process.env.AML_E2E_KEEP) process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    plane = await ControlPlane.start(dir);
    process.stderr.write(`  control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${plane.url} (logs in ${dir})\n`);
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    if (!plane) return;
    await plane.stop();
    const left = livePids();
    if (process.env.AML_E2E_KEEP) process.stderr.write(`  kept ${plane.dir}\n`);
    else await rm(plane.dir, { recursive: true, force: true });
    plane = undefined;
    if (left.length > 0) throw new Error(`processes left running after teardown: ${left.join(', ')}`);
  },
};
