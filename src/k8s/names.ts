/**
 * The name grammars of Kubernetes (apimachinery's validation), one place for each: which names
 * the API server accepts for namespaces, Services and DNS names in general.
 */

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** RFC 1123 label: namespace names (lowercase letters, digits, '-'; at most 63 characters). */
export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && LABEL.test(s);
}

/** RFC 1035 label: Service names (an RFC 1123 label that starts with a letter). */
export function isDns1035Label(s: string): boolean {
  return s.length <= 63 && LABEL_1035.test(s);
}

/** RFC 1123 subdomain: DNS names, most object names (labels joined by '.', at most 253 characters). */
export function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && SUBDOMAIN.test(s);
}
