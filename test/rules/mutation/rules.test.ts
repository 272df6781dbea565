import assert from 'node:assert/strict';
import type { Pod } from '../../../src/k8s/pod.js';
import type { Policy, Toleration } from '../../../src/policy/types.js';
import { assertValidPod, fixture, mutate, policyWith, testPolicy } from './helpers.js';

const GPU: Toleration[] = [
  { key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
  { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
];
const [SKU_GPU] = GPU;
// No effect: AML taints come as NoSchedule, NoExecute and PreferNoSchedule, and each is tolerated.
const STATIC: Toleration[] = [
  { key: 'ml.azure.com/amlarc', operator: 'Equal', value: 'true' },
  { key: 'ml.azure.com/amlarc-workload', operator: 'Equal', value: 'true' },
];
const own = (compute: string): Toleration[] => [
  { key: 'ml.azure.com/resource-group', operator: 'Equal', value: 'rg-ml-prod' },
  { key: 'ml.azure.com/workspace', operator: 'Equal', value: 'ws-vision' },
  { key: 'ml.azure.com/compute', operator: 'Equal', value: compute },
];
const TEAM: Toleration = { key: 'ml.azure.com/team', operator: 'Equal', value: 'vision', effect: 'NoSchedule' };
/** Every toleration an AML pod of gpu-cluster gets, in the order the rule adds them. */
const AML_GPU_CLUSTER = [...STATIC, ...own('gpu-cluster'), TEAM];
const CPU_SMALL = { requests: { cpu: '2', memory: '8Gi' }, limits: { cpu: '4', memory: '16Gi' } };

/** A copy of `pod` with the edits a test expects. */
function edited(pod: Pod, edit: (p: any) => void): Pod {
  const copy = structuredClone(pod) as any;
  edit(copy);
  return copy as Pod;
}

function withEdit(name: string, edit: (p: any) => void): Pod {
  return edited(fixture(name), edit);
}

interface Case {
  name: string;
  given: { pod: Pod; policy?: Policy };
  /** `edit` turns the given pod into the expected one (no edit: left as it is). */
  want: { edit?: (p: any) => void; mutatedBy?: string; warnings?: string[] };
}

/** Required affinity naming a pool, and a preference beside it. */
const affinity = {
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.azure.com/agentpool', operator: 'In', values: ['gpupool'] }] }],
    },
    preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['1'] }] } }],
  },
};

const cases: Case[] = [
  {
    name: 'A PyTorchJob master asking for a GPU gets its instance type pool, GPU and AML tolerations, Volcano and its PodGroup.',
    given: { pod: fixture('pytorchjob-master-gpu') },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { agentpool: 'gpupool' };
        p.spec.tolerations.push(...GPU, ...AML_GPU_CLUSTER);
        p.spec.schedulerName = 'volcano';
        p.metadata.annotations = { 'scheduling.volcano.sh/queue-name': 'vision' };
      },
      mutatedBy: 'instance-type,gpu-tolerations,aml-tolerations,volcano-scheduler',
    },
  },
  {
    name: 'A PyTorchJob worker on a VM-size instance type gets its GPU limit, hence the GPU pool and the GPU tolerations; the init container is untouched.',
    given: { pod: fixture('pytorchjob-worker-gpu') },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { 'node.kubernetes.io/instance-type': 'Standard_NC6s_v3', agentpool: 'gpupool' };
        p.spec.containers[0].resources = { limits: { 'nvidia.com/gpu': '1' } };
        p.spec.tolerations.push(...GPU, ...AML_GPU_CLUSTER);
        p.spec.schedulerName = 'volcano';
        p.metadata.annotations = { 'scheduling.volcano.sh/queue-name': 'vision' };
      },
      mutatedBy: 'instance-type,gpu-tolerations,aml-tolerations,node-pool,volcano-scheduler',
    },
  },
  {
    name: 'A TFJob CPU worker without resources gets the default instance type selector and resources and no GPU tolerations.',
    given: { pod: fixture('tfjob-worker-cpu') },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { agentpool: 'cpupool' };
        p.spec.containers[0].resources = CPU_SMALL;
        p.spec.tolerations.push(...AML_GPU_CLUSTER);
        p.spec.schedulerName = 'volcano';
        p.metadata.annotations = { 'scheduling.volcano.sh/queue-name': 'vision' };
      },
      mutatedBy: 'instance-type,aml-tolerations,volcano-scheduler',
    },
  },
  {
    name: 'An MPIJob launcher keeps the resources it set and joins the gang of its job.',
    given: { pod: fixture('mpijob-launcher') },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { agentpool: 'cpupool' };
        p.spec.tolerations.push(...AML_GPU_CLUSTER);
        p.spec.schedulerName = 'volcano';
        p.metadata.annotations = { 'scheduling.volcano.sh/queue-name': 'vision' };
      },
      mutatedBy: 'instance-type,aml-tolerations,volcano-scheduler',
    },
  },
  {
    name: 'An MPIJob GPU worker of the operator’s gang mode keeps its own GPU toleration and PodGroup, gets only what is missing, and no queue annotation (its PodGroup holds the queue).',
    given: { pod: fixture('mpijob-worker-gpu') },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { agentpool: 'gpupool' };
        p.spec.tolerations.push(SKU_GPU, ...AML_GPU_CLUSTER);
        p.spec.schedulerName = 'volcano';
      },
      mutatedBy: 'instance-type,gpu-tolerations,aml-tolerations,volcano-scheduler',
    },
  },
  {
    name: 'An AML command job gets blobfuse FlexVolumes mounted in the named containers, resources only where none were set, and no gang scheduling.',
    given: { pod: fixture('aml-command-job') },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { agentpool: 'cpupool' };
        p.spec.containers[0].resources = CPU_SMALL;
        p.spec.tolerations.push(...AML_GPU_CLUSTER);
        p.spec.volumes.push(
          {
            name: 'training-data',
            flexVolume: {
              driver: 'azure/blobfuse',
              secretRef: { name: 'blob-datasets' },
              readOnly: true,
              options: { container: 'datasets', tmppath: '/tmp/blobfuse', mountoptions: '-o attr_timeout=240 -o entry_timeout=240 -o negative_timeout=120' },
            },
          },
          {
            name: 'outputs',
            flexVolume: {
              driver: 'azure/blobfuse',
              secretRef: { name: 'blob-outputs' },
              options: { container: 'outputs', tmppath: '/tmp/blobfuse', mountoptions: '-o allow_other' },
            },
          },
        );
        p.spec.containers[0].volumeMounts.push(
          { name: 'training-data', mountPath: '/mnt/azureml/data', readOnly: true },
          { name: 'outputs', mountPath: '/mnt/azureml/outputs' },
        );
        p.spec.containers[1].volumeMounts.push({ name: 'training-data', mountPath: '/mnt/azureml/data', readOnly: true });
      },
      mutatedBy: 'instance-type,aml-tolerations,blobfuse-volumes',
    },
  },
  {
    name: 'A GPU pod that is not an AML pod gets the GPU tolerations and nothing else.',
    given: { pod: fixture('deployment-gpu') },
    want: { edit: (p) => p.spec.tolerations.push(...GPU), mutatedBy: 'gpu-tolerations' },
  },
  {
    name: 'A pod whose only GPU is in an init container, with no tolerations at all, gets the GPU tolerations as a new list.',
    given: {
      pod: withEdit('deployment-gpu', (p) => {
        delete p.spec.tolerations;
        p.spec.initContainers = [{ name: 'warmup', image: 'nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04', resources: { limits: { 'amd.com/gpu': '1' } } }];
        p.spec.containers[0].resources = {};
      }),
    },
    want: { edit: (p) => (p.spec.tolerations = GPU), mutatedBy: 'gpu-tolerations' },
  },
  { name: 'A CPU pod that is not an AML pod is left exactly as it is.', given: { pod: fixture('deployment-cpu') }, want: {} },
  {
    name: 'A pod that already tolerates every taint gets no toleration added.',
    given: { pod: withEdit('pytorchjob-master-gpu', (p) => (p.spec.tolerations = [{ operator: 'Exists' }])) },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { agentpool: 'gpupool' };
        p.spec.schedulerName = 'volcano';
        p.metadata.annotations = { 'scheduling.volcano.sh/queue-name': 'vision' };
      },
      mutatedBy: 'instance-type,volcano-scheduler',
    },
  },
  {
    name: 'A gang pod that chose its own scheduler keeps it, gets the PodGroup and queue, and a warning names volcano-scheduler.',
    given: { pod: withEdit('tfjob-worker-cpu', (p) => (p.spec.schedulerName = 'kai-scheduler')) },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { agentpool: 'cpupool' };
        p.spec.containers[0].resources = CPU_SMALL;
        p.spec.tolerations.push(...AML_GPU_CLUSTER);
        p.metadata.annotations = { 'scheduling.volcano.sh/queue-name': 'vision' };
      },
      mutatedBy: 'instance-type,aml-tolerations,volcano-scheduler',
      warnings: ['[volcano-scheduler] schedulerName "kai-scheduler" kept; gang scheduling needs "volcano"'],
    },
  },
  {
    name: 'A pod whose required node affinity names a pool keeps its affinity and gets no default pool.',
    given: { pod: withEdit('pytorchjob-worker-gpu', (p) => (p.spec.affinity = affinity)) },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { 'node.kubernetes.io/instance-type': 'Standard_NC6s_v3' };
        p.spec.containers[0].resources = { limits: { 'nvidia.com/gpu': '1' } };
        p.spec.tolerations.push(...GPU, ...AML_GPU_CLUSTER);
        p.spec.schedulerName = 'volcano';
        p.metadata.annotations = { 'scheduling.volcano.sh/queue-name': 'vision' };
      },
      mutatedBy: 'instance-type,gpu-tolerations,aml-tolerations,volcano-scheduler',
    },
  },
  {
    name: 'A pod that set its own pool keeps it with a warning, and keeps its other nodeSelector keys and annotations.',
    given: {
      pod: withEdit('tfjob-worker-cpu', (p) => {
        p.spec.nodeSelector = { agentpool: 'gpupool', 'kubernetes.io/os': 'linux' };
        p.metadata.annotations = { 'sidecar.istio.io/inject': 'false' };
      }),
    },
    want: {
      edit: (p) => {
        p.spec.containers[0].resources = CPU_SMALL;
        p.spec.tolerations.push(...AML_GPU_CLUSTER);
        p.spec.schedulerName = 'volcano';
        p.metadata.annotations['scheduling.volcano.sh/queue-name'] = 'vision';
      },
      mutatedBy: 'instance-type,aml-tolerations,volcano-scheduler',
      warnings: ['[instance-type] nodeSelector agentpool=gpupool kept; instance type wants cpupool'],
    },
  },
  {
    name: 'On a compute with gang scheduling off and custom pool labels, a job pod gets the pool labels and the compute blobfuse settings but no scheduler.',
    given: {
      pod: withEdit('aml-command-job', (p) => {
        p.metadata.labels['ml.azure.com/compute'] = 'arc-compute';
        delete p.metadata.labels['ml.azure.com/instance-type'];
        p.metadata.labels['volcano.sh/job-name'] = 'sweet-mango';
      }),
    },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { 'kubernetes.azure.com/agentpool': 'pool-a', tier: 'batch' };
        p.spec.tolerations.push(...STATIC, ...own('arc-compute'));
        p.spec.volumes.push(
          {
            name: 'training-data',
            flexVolume: {
              driver: 'azure/blobfuse-arc',
              secretRef: { name: 'blob-datasets' },
              readOnly: true,
              options: { container: 'datasets', tmppath: '/mnt/blobfuse' },
            },
          },
          {
            name: 'outputs',
            flexVolume: {
              driver: 'azure/blobfuse-arc',
              secretRef: { name: 'blob-outputs' },
              options: { container: 'outputs', tmppath: '/mnt/blobfuse', mountoptions: '-o allow_other' },
            },
          },
        );
        p.spec.containers[0].volumeMounts.push(
          { name: 'training-data', mountPath: '/mnt/azureml/data', readOnly: true },
          { name: 'outputs', mountPath: '/mnt/azureml/outputs' },
        );
        p.spec.containers[1].volumeMounts.push({ name: 'training-data', mountPath: '/mnt/azureml/data', readOnly: true });
      },
      mutatedBy: 'aml-tolerations,node-pool,blobfuse-volumes',
    },
  },
  {
    name: 'A mount naming a missing container or a taken mount path is skipped for that container with a warning, and the rest is applied.',
    given: {
      pod: withEdit('aml-command-job', (p) => {
        p.metadata.annotations['ml.azure.com/blobfuse-mounts'] = JSON.stringify([
          { name: 'training-data', container: 'datasets', mountPath: '/mnt/azureml/data', secretName: 'blob-datasets', containers: ['main', 'trainer'] },
          { name: 'checkpoints', container: 'ckpt', mountPath: '/mnt/azureml/cr/j/code', secretName: 'blob-ckpt', containers: ['main'] },
        ]);
        p.spec.containers[0].volumeMounts.push({ name: 'code', mountPath: '/mnt/azureml/cr/j/code' });
        p.spec.volumes.push({ name: 'code', emptyDir: {} });
      }),
    },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { agentpool: 'cpupool' };
        p.spec.containers[0].resources = CPU_SMALL;
        p.spec.tolerations.push(...AML_GPU_CLUSTER);
        const options = { tmppath: '/tmp/blobfuse', mountoptions: '-o attr_timeout=240 -o entry_timeout=240 -o negative_timeout=120' };
        p.spec.volumes.push(
          {
            name: 'training-data',
            flexVolume: { driver: 'azure/blobfuse', secretRef: { name: 'blob-datasets' }, options: { container: 'datasets', ...options } },
          },
          { name: 'checkpoints', flexVolume: { driver: 'azure/blobfuse', secretRef: { name: 'blob-ckpt' }, options: { container: 'ckpt', ...options } } },
        );
        p.spec.containers[0].volumeMounts.push({ name: 'training-data', mountPath: '/mnt/azureml/data' });
      },
      mutatedBy: 'instance-type,aml-tolerations,blobfuse-volumes',
      warnings: [
        '[blobfuse-volumes] mount "training-data" names no container "trainer"',
        '[blobfuse-volumes] container "main" already mounts /mnt/azureml/cr/j/code; "checkpoints" not mounted',
      ],
    },
  },
  {
    name: 'A blobfuse mount whose name a non-blobfuse volume already has is skipped with a warning, and that volume is kept.',
    given: { pod: withEdit('aml-command-job', (p) => p.spec.volumes.push({ name: 'outputs', persistentVolumeClaim: { claimName: 'outputs' } })) },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { agentpool: 'cpupool' };
        p.spec.containers[0].resources = CPU_SMALL;
        p.spec.tolerations.push(...AML_GPU_CLUSTER);
        p.spec.volumes.push({
          name: 'training-data',
          flexVolume: {
            driver: 'azure/blobfuse',
            secretRef: { name: 'blob-datasets' },
            readOnly: true,
            options: { container: 'datasets', tmppath: '/tmp/blobfuse', mountoptions: '-o attr_timeout=240 -o entry_timeout=240 -o negative_timeout=120' },
          },
        });
        p.spec.containers[0].volumeMounts.push({ name: 'training-data', mountPath: '/mnt/azureml/data', readOnly: true });
        p.spec.containers[1].volumeMounts.push({ name: 'training-data', mountPath: '/mnt/azureml/data', readOnly: true });
      },
      mutatedBy: 'instance-type,aml-tolerations,blobfuse-volumes',
      warnings: ['[blobfuse-volumes] volume "outputs" already exists and is not blobfuse; mount skipped'],
    },
  },
  {
    name: 'On a compute with blobfuse.volume: csi, the mounts become inline Azure Blob CSI volumes (containerName, secretName, mountOptions).',
    given: { pod: fixture('aml-command-job'), policy: policyWith((d) => (d.computes['gpu-cluster'].blobfuse = { volume: 'csi' })) },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { agentpool: 'cpupool' };
        p.spec.containers[0].resources = CPU_SMALL;
        p.spec.tolerations.push(...AML_GPU_CLUSTER);
        p.spec.volumes.push(
          {
            name: 'training-data',
            csi: {
              driver: 'blob.csi.azure.com',
              readOnly: true,
              volumeAttributes: {
                containerName: 'datasets',
                secretName: 'blob-datasets',
                mountOptions: '-o attr_timeout=240 -o entry_timeout=240 -o negative_timeout=120',
              },
            },
          },
          {
            name: 'outputs',
            csi: { driver: 'blob.csi.azure.com', volumeAttributes: { containerName: 'outputs', secretName: 'blob-outputs', mountOptions: '-o allow_other' } },
          },
        );
        p.spec.containers[0].volumeMounts.push(
          { name: 'training-data', mountPath: '/mnt/azureml/data', readOnly: true },
          { name: 'outputs', mountPath: '/mnt/azureml/outputs' },
        );
        p.spec.containers[1].volumeMounts.push({ name: 'training-data', mountPath: '/mnt/azureml/data', readOnly: true });
      },
      mutatedBy: 'instance-type,aml-tolerations,blobfuse-volumes',
    },
  },
  {
    name: 'A GPU pod with no pool targeting goes to a GPU pool even when the default pool is a CPU pool.',
    given: {
      pod: fixture('mpijob-worker-gpu'),
      policy: policyWith((d) => {
        d.computes['gpu-cluster'].instanceTypes['gpu-4x'].nodeSelector = { 'node.kubernetes.io/instance-type': 'Standard_ND96asr_v4' };
        d.computes['gpu-cluster'].defaultNodePool = 'cpupool';
      }),
    },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { 'node.kubernetes.io/instance-type': 'Standard_ND96asr_v4', agentpool: 'gpupool' };
        p.spec.tolerations.push(SKU_GPU, ...AML_GPU_CLUSTER);
        p.spec.schedulerName = 'volcano';
      },
      mutatedBy: 'instance-type,gpu-tolerations,aml-tolerations,node-pool,volcano-scheduler',
    },
  },
  {
    name: 'A pod that asks for a GPU itself but names no instance type does not get the CPU default type’s pool; node-pool sends it to the GPU pool.',
    given: { pod: withEdit('pytorchjob-master-gpu', (p) => delete p.metadata.labels['ml.azure.com/instance-type']) },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { agentpool: 'gpupool' };
        p.spec.tolerations.push(...GPU, ...AML_GPU_CLUSTER);
        p.spec.schedulerName = 'volcano';
        p.metadata.annotations = { 'scheduling.volcano.sh/queue-name': 'vision' };
      },
      mutatedBy: 'gpu-tolerations,aml-tolerations,node-pool,volcano-scheduler',
    },
  },
  {
    name: 'A pod that names its node (spec.nodeName) gets no default pool: a pool selector could only contradict the node.',
    given: {
      pod: withEdit('pytorchjob-master-gpu', (p) => {
        delete p.metadata.labels['ml.azure.com/instance-type'];
        p.spec.nodeName = 'aks-gpupool-23456789-vmss000000';
      }),
    },
    want: {
      edit: (p) => {
        p.spec.tolerations.push(...GPU, ...AML_GPU_CLUSTER);
        p.spec.schedulerName = 'volcano';
        p.metadata.annotations = { 'scheduling.volcano.sh/queue-name': 'vision' };
      },
      mutatedBy: 'gpu-tolerations,aml-tolerations,volcano-scheduler',
    },
  },
  {
    name: 'With two containers that set no resources, the main (first) one gets all of the instance type’s resources: the pod asks for one type, not two.',
    given: {
      pod: withEdit('pytorchjob-master-gpu', (p) => {
        p.metadata.labels['ml.azure.com/instance-type'] = 'gpu-4x';
        delete p.spec.containers[0].resources;
        p.spec.containers.push({ name: 'log-shipper', image: 'fluent/fluent-bit:3.1' });
      }),
    },
    want: {
      edit: (p) => {
        p.spec.nodeSelector = { agentpool: 'gpupool' };
        p.spec.containers[0].resources = { requests: { cpu: '24', memory: '220Gi' }, limits: { cpu: '24', memory: '220Gi', 'nvidia.com/gpu': '4' } };
        p.spec.tolerations.push(...GPU, ...AML_GPU_CLUSTER);
        p.spec.schedulerName = 'volcano';
        p.metadata.annotations = { 'scheduling.volcano.sh/queue-name': 'vision' };
      },
      mutatedBy: 'instance-type,gpu-tolerations,aml-tolerations,volcano-scheduler',
    },
  },
];

describe('mutating rules on realistic pods', () => {
  for (const t of cases) {
    it(t.name, () => {
      const policy = t.given.policy ?? testPolicy();
      const got = mutate(policy, t.given.pod);
      assert.deepEqual(got.pod, edited(t.given.pod, t.want.edit ?? (() => undefined)));
      assertValidPod(got.pod);
      assert.deepEqual(got.verdict.warnings, t.want.warnings ?? []);
      assert.deepEqual(got.verdict.auditAnnotations, t.want.mutatedBy ? { 'mutated-by': t.want.mutatedBy } : {});
      assert.equal(got.verdict.kind, t.want.mutatedBy ? 'patched' : 'allowed', 'a pod with nothing to change gets no patch at all');
      const again = mutate(policy, got.pod);
      assert.equal(again.verdict.kind, 'allowed', `reinvocation gives no patch, got ${JSON.stringify(again.ops)}`);
    });
  }
});
