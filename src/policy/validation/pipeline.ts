import type { AdmissionRequest } from '../../admission/request.js';
import { allowed, type ValidationVerdict } from '../../admission/verdict.js';
import type { Policy } from '../types.js';

/**
 * The validating webhook: runs the validating rules on a Pod CREATE/UPDATE. (Placeholder until
 * the validating rules land: allows.)
 */
export function validatePod(_policy: Policy, _request: AdmissionRequest): ValidationVerdict {
  return allowed();
}
