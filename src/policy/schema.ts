import { QUANTITY_PATTERN } from '../k8s/quantity.js';
import { TEMPLATE_PATH_PATTERN } from '../k8s/workloads.js';
import { DEFAULT_INSTANCE_TYPE } from './instanceTypeObjects.js';
import { MutatingRuleId, POLICY_API_VERSION, POLICY_KIND, RULE_IDS, type RuleId } from './types.js';

/**
 * The published JSON Schema (draft-07) of the policy document. ajv fills in every `default`
 * at load, so code past the loader sees a complete `Policy` (types.ts).
 * `aml-admission policy schema` prints it.
 */

const stringList = { type: 'array', items: { type: 'string', minLength: 1 }, default: [] } as const;
const stringMap = { type: 'object', additionalProperties: { type: 'string' }, default: {} } as const;

/**
 * Every pattern of the schema with what it means in words. The words are the schema's own
 * `description` of the field (in `policy schema`), and what the loader says when a value does
 * not match (loader.ts): one place for both, so a pattern never reaches a user as a regex.
 */
export const SCHEMA_PATTERNS = {
  /** A Kubernetes resource quantity (e.g. 500m, 4Gi, 1), in apimachinery's grammar (quantity.ts). */
  quantity: {
    pattern: QUANTITY_PATTERN,
    words: 'a resource quantity the API server accepts (e.g. 500m, 4Gi, 2; suffixes Ki Mi Gi Ti Pi Ei, m k M G T P E)',
  },
  /** `namespace/name` of a service account. */
  serviceAccount: {
    pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
    words:
      "a service account as namespace/name (e.g. kube-system/job-controller): lowercase letters, digits and '-' ('.' too in the name), not the system:serviceaccount:NS:NAME username",
  },
  /** In claims `namespace/*` stands for every service account of a namespace. */
  serviceAccountClaim: {
    pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?/([a-z0-9]([-a-z0-9.]*[a-z0-9])?|\\*)$',
    words:
      "a service account as namespace/name, or namespace/* for every one of a namespace (e.g. team-a/runner, team-a/*): lowercase letters, digits and '-' ('.' too in the name), not the system:serviceaccount:NS:NAME username",
  },
  /** Where a policy workload kind holds its pod templates (k8s/workloads.ts valuesAt). */
  templatePath: {
    pattern: TEMPLATE_PATH_PATTERN,
    words:
      "a path from spec to a pod template: field names joined by '.', name[*] for every item of a list, * for every key of a map (e.g. spec.workerGroupSpecs[*].template)",
  },
  /** A kind as the API names it. */
  kind: { pattern: '^[A-Z][A-Za-z0-9]*$', words: 'a kind as its API names it (e.g. RayCluster): letters and digits, starting with a capital' },
  /** A plural resource (and an API group's DNS subdomain): lowercase, as webhook rules name them. */
  resource: {
    pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
    words: "lowercase letters, digits, '-' and '.' (e.g. rayclusters, ray.io)",
  },
  /** Names that appear as label values (computes, pools, instance types). */
  name: {
    pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$',
    words: "a name usable as a label value: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
  },
} as const;

/** A string (or property name) schema for one of SCHEMA_PATTERNS, described in its words. */
function matching(p: { readonly pattern: string; readonly words: string }) {
  return { type: 'string', pattern: p.pattern, description: p.words } as const;
}
/**
 * A quantity; a whole number and null are taken too, as AML's InstanceType examples write GPUs
 * (`nvidia.com/gpu: 1`, `0`, `null`); the loader turns numbers into strings and drops nulls.
 */
const quantity = { ...matching(SCHEMA_PATTERNS.quantity), type: ['string', 'integer', 'null'] } as const;
const quantityMap = { type: 'object', additionalProperties: quantity, default: {} } as const;
const name = matching(SCHEMA_PATTERNS.name);
const effect = { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] } as const;

const toleration = {
  type: 'object',
  additionalProperties: false,
  properties: {
    key: { type: 'string' },
    operator: { enum: ['Exists', 'Equal'] },
    value: { type: 'string' },
    effect,
    tolerationSeconds: { type: 'integer' },
  },
} as const;

const taint = {
  type: 'object',
  additionalProperties: false,
  required: ['key', 'effect'],
  properties: { key: { type: 'string', minLength: 1 }, value: { type: 'string' }, effect },
} as const;

function ruleSettings(id: RuleId) {
  const mutating = (Object.values(MutatingRuleId) as string[]).includes(id);
  return {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      enabled: { type: 'boolean', default: true },
      enforcementAction: { enum: ['deny', 'warn', 'audit'], default: 'deny' },
      // A broken mutation should not block pods (validation still judges them); a broken check should.
      failureMode: { enum: ['closed', 'open'], default: mutating ? 'open' : 'closed' },
    },
  };
}

const nodePool = {
  type: 'object',
  additionalProperties: false,
  properties: {
    gpu: { type: 'boolean', default: false },
    labels: stringMap,
    taints: { type: 'array', items: taint, default: [] },
    reserved: { type: 'boolean', default: false },
  },
} as const;

const instanceType = {
  type: 'object',
  additionalProperties: false,
  properties: {
    nodeSelector: stringMap,
    resources: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { requests: quantityMap, limits: quantityMap },
    },
  },
} as const;

const compute = {
  type: 'object',
  additionalProperties: false,
  required: ['nodePools'],
  properties: {
    namespaces: stringList,
    nodePools: { type: 'object', minProperties: 1, propertyNames: name, additionalProperties: nodePool },
    defaultNodePool: name,
    instanceTypes: { type: 'object', propertyNames: name, additionalProperties: instanceType, default: {} },
    defaultInstanceType: { ...name, default: DEFAULT_INSTANCE_TYPE },
    tolerations: { type: 'array', items: toleration, default: [] },
    scheduler: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        name: { type: 'string', minLength: 1, default: 'volcano' },
        queue: { type: 'string', minLength: 1, default: 'default' },
        gang: { type: 'boolean', default: true },
      },
    },
    blobfuse: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        volume: { enum: ['flexVolume', 'csi'], default: 'flexVolume' },
        driver: { type: 'string', minLength: 1, default: 'azure/blobfuse' },
        csiDriver: { type: 'string', minLength: 1, default: 'blob.csi.azure.com' },
        tmpPath: { type: 'string', minLength: 1, default: '/tmp/blobfuse' },
        mountOptions: { type: 'string', default: '-o attr_timeout=240 -o entry_timeout=240 -o negative_timeout=120' },
        allowedSecrets: stringList,
      },
    },
    claims: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        identity: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            users: stringList,
            groups: stringList,
            serviceAccounts: {
              type: 'array',
              items: matching(SCHEMA_PATTERNS.serviceAccountClaim),
              default: [],
            },
            extra: { type: 'object', additionalProperties: stringList, default: {} },
          },
        },
        resources: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            maxGpusPerPod: { type: 'integer', minimum: 0 },
            instanceTypes: stringList,
            persistentVolumeClaims: stringList,
            blobfuseSecrets: stringList,
            allowNodeSelector: { type: 'boolean', default: true },
            allowAffinity: { type: 'boolean', default: true },
            allowTolerations: { type: 'boolean', default: true },
          },
        },
      },
    },
  },
} as const;

export const policySchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://aml-admission.azure.com/schemas/policy-v1alpha1.json',
  title: 'aml-admission policy',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'computes'],
  properties: {
    apiVersion: { const: POLICY_API_VERSION },
    kind: { const: POLICY_KIND },
    keys: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        computeLabel: { type: 'string', minLength: 1, default: 'ml.azure.com/compute' },
        workspaceLabel: { type: 'string', minLength: 1, default: 'ml.azure.com/workspace' },
        resourceGroupLabel: { type: 'string', minLength: 1, default: 'ml.azure.com/resource-group' },
        instanceTypeLabel: { type: 'string', minLength: 1, default: 'ml.azure.com/instance-type' },
        jobNameLabels: { ...stringList, minItems: 1, default: ['training.kubeflow.org/job-name', 'volcano.sh/job-name'] },
        blobfuseAnnotation: { type: 'string', minLength: 1, default: 'ml.azure.com/blobfuse-mounts' },
        pvcLabel: { type: 'string', minLength: 1, default: 'ml.azure.com/pvc' },
        pvcMountPathAnnotation: { type: 'string', minLength: 1, default: 'ml.azure.com/mountpath' },
        pvcGidAnnotation: { type: 'string', minLength: 1, default: 'ml.azure.com/gid' },
        podGroupAnnotation: { type: 'string', minLength: 1, default: 'scheduling.k8s.io/group-name' },
        queueAnnotation: { type: 'string', minLength: 1, default: 'scheduling.volcano.sh/queue-name' },
        nodePoolLabels: { ...stringList, minItems: 1, default: ['agentpool', 'kubernetes.azure.com/agentpool'] },
      },
    },
    trustedControllers: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        serviceAccounts: {
          type: 'array',
          items: matching(SCHEMA_PATTERNS.serviceAccount),
          default: [
            'kube-system/replicaset-controller',
            'kube-system/deployment-controller',
            'kube-system/statefulset-controller',
            'kube-system/daemon-set-controller',
            'kube-system/job-controller',
            'kube-system/cronjob-controller',
            'kubeflow/training-operator',
            'mpi-operator/mpi-operator',
            'volcano-system/volcano-controllers',
          ],
        },
        users: { ...stringList, default: ['system:kube-controller-manager'] },
      },
    },
    workloads: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['group', 'kind', 'resource', 'templates', 'creator'],
        properties: {
          group: matching(SCHEMA_PATTERNS.resource),
          kind: matching(SCHEMA_PATTERNS.kind),
          resource: matching(SCHEMA_PATTERNS.resource),
          templates: { type: 'array', minItems: 1, items: matching(SCHEMA_PATTERNS.templatePath) },
          creator: matching(SCHEMA_PATTERNS.serviceAccount),
        },
      },
    },
    gpu: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        resourceNames: { ...stringList, minItems: 1, default: ['nvidia.com/gpu', 'amd.com/gpu'] },
        tolerations: {
          type: 'array',
          items: toleration,
          default: [
            { key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
            { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
          ],
        },
      },
    },
    amlTaints: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        static: {
          type: 'array',
          items: toleration,
          default: [
            // No effect: AML documents NoSchedule, NoExecute and PreferNoSchedule for its taints.
            { key: 'ml.azure.com/amlarc', operator: 'Equal', value: 'true' },
            { key: 'ml.azure.com/amlarc-workload', operator: 'Equal', value: 'true' },
          ],
        },
        resourceGroupKey: { type: 'string', minLength: 1, default: 'ml.azure.com/resource-group' },
        workspaceKey: { type: 'string', minLength: 1, default: 'ml.azure.com/workspace' },
        computeKey: { type: 'string', minLength: 1, default: 'ml.azure.com/compute' },
        effects: { type: 'array', items: effect, minItems: 1, uniqueItems: true, default: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] },
        /** Deprecated: one effect; `effects: [E]` says the same. */
        effect,
      },
    },
    amlExtension: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        instanceTypes: { type: 'boolean', default: true },
        nodeSelector: stringMap,
      },
    },
    rules: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: Object.fromEntries(RULE_IDS.map((id) => [id, ruleSettings(id)])),
    },
    computes: { type: 'object', minProperties: 1, propertyNames: name, additionalProperties: compute },
  },
} as const;
