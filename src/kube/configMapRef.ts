/** `--policy-configmap NS/NAME`, parsed without loading any client code (the CLI parses it eagerly). */
export interface ConfigMapRef {
  readonly namespace: string;
  readonly name: string;
  /** The data key holding the policy YAML. */
  readonly key: string;
}

export const DEFAULT_POLICY_KEY = 'policy.yaml';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Parses `NAMESPACE/NAME`; throws a message fit for the command line. */
export function parseConfigMapRef(text: string, key = DEFAULT_POLICY_KEY): ConfigMapRef {
  const [namespace, name, ...rest] = text.split('/');
  if (!namespace || !name || rest.length > 0 || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) {
    throw new Error(`expected NAMESPACE/NAME (e.g. azureml/aml-admission-policy), got "${text}"`);
  }
  return { namespace, name, key };
}
