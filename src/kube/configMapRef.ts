import { isDns1123Label, isDns1123Subdomain } from '../k8s/names.js';

/** `--policy-configmap NS/NAME`, parsed without loading any client code (the CLI parses it eagerly). */
export interface ConfigMapRef {
  readonly namespace: string;
  readonly name: string;
  /** The data key holding the policy YAML. */
  readonly key: string;
}

export const DEFAULT_POLICY_KEY = 'policy.yaml';
/** Where deploy/ puts the policy the admission pods enforce (`serve --policy-configmap`). */
export const DEFAULT_POLICY_CONFIGMAP = 'azureml/aml-admission-policy';

/** Parses `NAMESPACE/NAME`; throws a message fit for the command line. */
export function parseConfigMapRef(text: string, key = DEFAULT_POLICY_KEY): ConfigMapRef {
  const [namespace, name, ...rest] = text.split('/');
  if (!namespace || !name || rest.length > 0 || !isDns1123Label(namespace) || !isDns1123Subdomain(name)) {
    throw new Error(`expected NAMESPACE/NAME (e.g. azureml/aml-admission-policy), got "${text}"`);
  }
  return { namespace, name, key };
}
