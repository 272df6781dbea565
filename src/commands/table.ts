import { whereText, type Inputs } from './inputs.js';
import { columns } from './render.js';

/**
 * `-o table`: one line per object, then a summary line, in the style of `kyverno apply --table`
 * (`pass: 3, fail: 1, warn: 0, error: 0, skip: 1`). Shared by dry-run and audit; each says how
 * its own findings map to a result.
 */

export const TableResult = { Pass: 'pass', Fail: 'fail', Warn: 'warn', Error: 'error', Skip: 'skip' } as const;
export type TableResult = (typeof TableResult)[keyof typeof TableResult];

export interface TableRow {
  readonly result: TableResult;
  /** `Pod ns/name`, or `-` for what is not an object (an unreadable file). */
  readonly object: string;
  /** What the object came from: `Pod`, `Deployment/infer`, `PyTorchJob/bert (Worker)`. */
  readonly origin: string;
  readonly where: string;
  readonly detail: string;
}

/** The rows for what was not judged: bad input (error) and documents that hold no pod (skip). */
export function unjudgedRows(read: Inputs): TableRow[] {
  return [
    ...read.problems.map((p) => ({ result: TableResult.Error, object: '-', origin: '-', where: whereText(p.where), detail: p.message })),
    ...read.skipped.map((s) => ({ result: TableResult.Skip, object: s.what, origin: '-', where: whereText(s.where), detail: 'holds no pod template' })),
  ];
}

/** The table, then a blank line and the summary line (every result counted, zeros included). */
export function renderTable(rows: readonly TableRow[]): string {
  const body = columns([['RESULT', 'OBJECT', 'FROM', 'WHERE', 'DETAIL'], ...rows.map((r) => [r.result, r.object, r.origin, r.where, r.detail])]);
  const count = (result: TableResult) => rows.filter((r) => r.result === result).length;
  const summary = Object.values(TableResult)
    .map((r) => `${r}: ${count(r)}`)
    .join(', ');
  return `${body.join('\n')}\n\n${summary}\n`;
}
