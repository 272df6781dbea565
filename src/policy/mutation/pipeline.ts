import type { AdmissionRequest } from '../../admission/request.js';
import { allowed, type Verdict } from '../../admission/verdict.js';
import type { Policy } from '../types.js';

/**
 * The mutating webhook: runs the mutating rules on a Pod CREATE/UPDATE and answers with a
 * patch. (Placeholder until the mutating rules land: allows untouched.)
 */
export function mutatePod(_policy: Policy, _request: AdmissionRequest): Verdict {
  return allowed();
}
