import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { fixturePath, runCli, spawnCli } from './helpers.js';

const policyFile = new URL('../fixtures/validation/policy.yaml', import.meta.url).pathname;

interface Want {
  code: number;
  /** Per evaluated pod: [pod name, origin, allowed]. */
  pods?: [string, string, boolean][];
  requester?: string;
  /** For a workload's pods: the controller that creates them. */
  createdBy?: string;
  skipped?: string[];
  problem?: RegExp;
  check?: (report: any) => void;
}

const sa = (ns: string, name: string) => `system:serviceaccount:${ns}:${name}`;

const cases: { name: string; given: string[]; want: Want }[] = [
  {
    name: 'A Pod the policy accepts is allowed with exit 0, its patch and every verdict.',
    given: ['-f', fixturePath('pod-allowed.yaml')],
    want: {
      code: 0,
      pods: [['aml-training/train-0', 'Pod', true]],
      requester: 'dry-run-user',
      check: (r) => {
        const e = r.results[0];
        assert.equal(e.mutation.decision, 'patched');
        assert.ok(
          e.mutation.patch.some((op: any) => op.path === '/spec/nodeSelector'),
          'the instance type selector is in the patch',
        );
        assert.deepEqual(e.mutated.spec.nodeSelector, { agentpool: 'gpupool' });
        assert.deepEqual(
          e.validation.outcomes.map((o: any) => o.ruleId),
          ['node-pool-targeting', 'reserved-pools', 'identity-claims', 'resource-claims', 'policy-input'],
        );
      },
    },
  },
  {
    name: 'A Pod the policy refuses is denied with exit 1 and the 403 reason.',
    given: ['-f', fixturePath('pod-denied.yaml')],
    want: {
      code: 1,
      pods: [['aml-training/gpu-on-cpu', 'Pod', false]],
      check: (r) => {
        assert.equal(r.results[0].validation.code, 403);
        assert.match(r.results[0].validation.message, /^\[node-pool-targeting\] pod requests 1 GPU but can be placed on CPU pool cpupool/);
      },
    },
  },
  {
    name: 'An AdmissionReview is judged as sent, with its own requester.',
    given: ['-f', fixturePath('review.json')],
    want: { code: 0, pods: [['aml-training/bert-worker-0', 'AdmissionReview', true]], requester: sa('kubeflow', 'training-operator') },
  },
  {
    name: 'A multi-document file judges each pod, lists the documents that hold none, and exits 1 for the denied one.',
    given: ['-f', fixturePath('multi.yaml')],
    want: {
      code: 1,
      pods: [
        ['default/cpu-job', 'Pod', true],
        ['default/lost', 'Pod', false],
      ],
      skipped: ['Service/web'],
      check: (r) => assert.equal(r.results[1].validation.code, 422),
    },
  },
  {
    name: 'A List (kubectl get -o yaml) judges every item.',
    given: ['-f', fixturePath('list.yaml')],
    want: {
      code: 0,
      pods: [
        ['default/web-1', 'Pod', true],
        ['default/web-2', 'Pod', true],
      ],
    },
  },
  {
    name: 'A Deployment’s pod template is judged as the ReplicaSet controller would create it.',
    given: ['-f', fixturePath('deployment.yaml')],
    want: {
      code: 0,
      pods: [['aml-training/infer-…', 'Deployment/infer', true]],
      requester: 'dry-run-user',
      createdBy: sa('kube-system', 'replicaset-controller'),
    },
  },
  {
    name: 'A StatefulSet’s pod template is judged as its first ordinal pod.',
    given: ['-f', fixturePath('statefulset.yaml')],
    want: {
      code: 0,
      pods: [['aml-training/store-0', 'StatefulSet/store', true]],
      requester: 'dry-run-user',
      createdBy: sa('kube-system', 'statefulset-controller'),
    },
  },
  {
    name: 'A Job’s pod template is judged.',
    given: ['-f', fixturePath('job.yaml')],
    want: { code: 0, pods: [['aml-training/prep-…', 'Job/prep', true]], requester: 'dry-run-user', createdBy: sa('kube-system', 'job-controller') },
  },
  {
    name: 'A CronJob’s job template’s pod template is judged.',
    given: ['-f', fixturePath('cronjob.yaml')],
    want: { code: 0, pods: [['aml-training/nightly-…', 'CronJob/nightly', true]] },
  },
  {
    name: 'A PyTorchJob yields one pod per replica type, labelled as the training operator labels them.',
    given: ['-f', fixturePath('pytorchjob.yaml')],
    want: {
      code: 0,
      pods: [
        ['aml-training/bert-master-0', 'PyTorchJob/bert (Master)', true],
        ['aml-training/bert-worker-0', 'PyTorchJob/bert (Worker)', true],
      ],
      requester: 'dry-run-user',
      createdBy: sa('kubeflow', 'training-operator'),
      check: (r) => {
        assert.equal(r.results[1].mutated.metadata.labels['training.kubeflow.org/job-name'], 'bert');
        assert.equal(r.results[1].mutated.spec.schedulerName, 'volcano', 'gang pods get the Volcano scheduler');
      },
    },
  },
  {
    name: 'A TFJob yields one pod per replica type.',
    given: ['-f', fixturePath('tfjob.yaml')],
    want: {
      code: 0,
      pods: [
        ['aml-training/mnist-ps-0', 'TFJob/mnist (PS)', true],
        ['aml-training/mnist-worker-0', 'TFJob/mnist (Worker)', true],
      ],
    },
  },
  {
    name: 'An mpi-operator MPIJob (v2beta1) yields a worker created by mpi-operator and a launcher created by the Job controller from its launcher Job.',
    given: ['-f', fixturePath('mpijob.yaml')],
    want: {
      code: 0,
      pods: [
        ['aml-training/horovod-launcher-…', 'MPIJob/horovod (Launcher)', true],
        ['aml-training/horovod-worker-0', 'MPIJob/horovod (Worker)', true],
      ],
      check: (r) => {
        assert.deepEqual(
          r.results.map((e: any) => [e.request.userInfo.username, e.createdBy]),
          [
            ['dry-run-user', sa('kube-system', 'job-controller')],
            ['dry-run-user', sa('mpi-operator', 'mpi-operator')],
          ],
        );
        assert.deepEqual(r.results[1].mutated.metadata.labels['training.kubeflow.org/job-role'], 'worker');
        assert.equal(r.results[1].mutated.metadata.labels['training.kubeflow.org/operator-name'], 'mpi-operator');
      },
    },
  },
  {
    name: 'A Volcano Job is read as Volcano’s, not as a batch/v1 Job: one pod per task, created by Volcano’s job controller in the job’s PodGroup.',
    given: ['-f', fixturePath('volcano-job.yaml')],
    want: {
      code: 0,
      pods: [
        ['aml-training/dist-master-0', 'Job/dist (master)', true],
        ['aml-training/dist-worker-0', 'Job/dist (worker)', true],
      ],
      requester: 'dry-run-user',
      createdBy: sa('volcano-system', 'volcano-controllers'),
      check: (r) => {
        const worker = r.results[1].mutated;
        assert.equal(worker.metadata.annotations['scheduling.k8s.io/group-name'], 'dist');
        assert.equal(worker.metadata.annotations['scheduling.volcano.sh/queue-name'], undefined, 'its PodGroup holds the queue');
        assert.equal(worker.spec.schedulerName, 'volcano');
      },
    },
  },
  {
    name: 'A Job of a group we do not know is skipped, not misread as a batch/v1 Job.',
    given: ['-f', fixturePath('volcano-job.yaml'), '-f', fixturePath('other-job.yaml')],
    want: { code: 0, skipped: ['Job/other'] },
  },
  {
    name: 'Several -f files are judged together.',
    given: ['-f', fixturePath('pod-allowed.yaml'), '-f', fixturePath('job.yaml')],
    want: {
      code: 0,
      pods: [
        ['aml-training/train-0', 'Pod', true],
        ['aml-training/prep-…', 'Job/prep', true],
      ],
    },
  },
  {
    name: 'Node documents tell dry-run where pods that name their node run: reserved and unknown nodes are denied.',
    given: ['-f', fixturePath('nodename.yaml'), '--policy', policyFile],
    want: {
      code: 1,
      pods: [
        ['default/squatter', 'Pod', false],
        ['default/on-cpu-node', 'Pod', true],
        ['default/on-unknown-node', 'Pod', false],
      ],
      check: (r) => {
        assert.match(r.results[0].validation.message, /may not run on node aks-a100-0 \(spec\.nodeName\) of reserved pool a100/);
        assert.match(r.results[2].validation.message, /spec\.nodeName aks-new-0 is a node the webhook does not know/);
      },
    },
  },
  {
    name: 'A mutated pod the API server’s Pod validation would refuse is denied, with the field and the reason.',
    given: ['-f', fixturePath('pod-schema.yaml'), '--policy', policyFile],
    want: {
      code: 1,
      pods: [['default/bad-toleration', 'Pod', false]],
      check: (r) => {
        assert.equal(r.results[0].validation.decision, 'allowed');
        assert.deepEqual(r.results[0].schemaErrors, ['spec.tolerations[0].operator must be equal to one of the allowed values']);
      },
    },
  },
  {
    name: 'Invalid YAML is bad input: exit 3.',
    given: ['-f', fixturePath('invalid.yaml')],
    want: { code: 3, pods: [], problem: /^not valid YAML or JSON at line 4, column 1: Flow map/ },
  },
  {
    name: 'A malformed AdmissionReview is bad input: exit 3.',
    given: ['-f', fixturePath('bad-review.json')],
    want: { code: 3, pods: [], problem: /invalid AdmissionReview: request\.uid is missing/ },
  },
  {
    name: 'A missing file is bad input: exit 3.',
    given: ['-f', fixturePath('does-not-exist.yaml')],
    want: { code: 3, pods: [], problem: /^cannot read: no such file or directory$/ },
  },
  {
    name: 'A file with nothing to judge is bad input: exit 3.',
    given: ['-f', fixturePath('service-only.yaml')],
    want: { code: 3, pods: [], skipped: ['ConfigMap/settings'], problem: /no Pods, pod templates or AdmissionReviews found/ },
  },
  {
    name: 'Bad input in one file does not hide a denial in another: exit 1, the bad file reported, the others judged.',
    given: ['-f', fixturePath('invalid.yaml'), '-f', fixturePath('pod-denied.yaml')],
    want: { code: 1, pods: [['aml-training/gpu-on-cpu', 'Pod', false]], problem: /not valid YAML/ },
  },
  {
    name: 'Bad input beside allowed files is never 0: exit 3, the good files still judged.',
    given: ['-f', fixturePath('pod-allowed.yaml'), '-f', fixturePath('invalid.yaml')],
    want: { code: 3, pods: [['aml-training/train-0', 'Pod', true]], problem: /not valid YAML/ },
  },
  {
    name: '--as judges the pods as that user: outside the identity claims they are denied.',
    given: ['-f', fixturePath('review-gpu-compute.json'), '--policy', policyFile, '--as', 'mallory@contoso.com'],
    want: {
      code: 1,
      requester: 'mallory@contoso.com',
      check: (r) => assert.match(r.results[0].validation.message, /\[identity-claims\] mallory@contoso\.com is not allowed/),
    },
  },
  {
    name: '--as-group judges the pods as a member of that group: inside the identity claims they are allowed.',
    given: [
      '-f',
      fixturePath('review-gpu-compute.json'),
      '--policy',
      policyFile,
      '--as',
      'bob',
      '--as-group',
      'ml-engineers',
      '--as-group',
      'system:authenticated',
    ],
    want: {
      code: 0,
      requester: 'bob',
      check: (r) => {
        assert.deepEqual(r.results[0].request.userInfo.groups, ['ml-engineers', 'system:authenticated']);
        const identity = r.results[0].validation.outcomes.find((o: any) => o.ruleId === 'identity-claims');
        assert.equal(identity.result, 'pass');
      },
    },
  },
  {
    name: '--as-group adds system:authenticated, as the API server does for an impersonated user.',
    given: ['-f', fixturePath('pod-allowed.yaml'), '--as', 'bob', '--as-group', 'ml-engineers'],
    want: { code: 0, requester: 'bob', check: (r) => assert.deepEqual(r.results[0].request.userInfo.groups, ['ml-engineers', 'system:authenticated']) },
  },
  {
    name: "InstanceType documents among the inputs are the cluster's instance types: a pod naming one gets its selector and resources.",
    given: ['-f', fixturePath('instancetypes.yaml'), '-f', fixturePath('pod-cluster-type.yaml')],
    want: {
      code: 0,
      pods: [['aml-training/train-2x', 'Pod', true]],
      check: (r) => {
        assert.deepEqual(r.results[0].mutated.spec.nodeSelector, { agentpool: 'gpupool' });
        assert.deepEqual(r.results[0].mutated.spec.containers[0].resources, {
          requests: { cpu: '6', memory: '48Gi' },
          limits: { cpu: '8', 'nvidia.com/gpu': '2', memory: '64Gi' },
        });
      },
    },
  },
  {
    name: 'Without the InstanceType documents the same pod names an unknown type: denied by policy-input.',
    given: ['-f', fixturePath('pod-cluster-type.yaml')],
    want: { code: 1, check: (r) => assert.match(r.results[0].mutation.message ?? r.results[0].validation.message, /instance type gpu-2x is not defined/) },
  },
  {
    name: 'An InstanceType the API server would refuse (a GPU only in requests) is bad input: exit 3, with the reason.',
    given: ['-f', fixturePath('instancetype-invalid.yaml'), '-f', fixturePath('pod-allowed.yaml')],
    want: {
      code: 3,
      pods: [['aml-training/train-0', 'Pod', true]],
      problem: /InstanceType\/gpu-requests is invalid: spec\.resources\.requests\[nvidia\.com\/gpu\]: nvidia\.com\/gpu goes in limits only/,
    },
  },
  {
    name: "PersistentVolumeClaim documents among the inputs are the cluster's PVCs: AML's labelled one is mounted into the AML pod of its namespace.",
    given: ['-f', fixturePath('pvc.yaml'), '-f', fixturePath('pod-allowed.yaml')],
    want: {
      code: 0,
      pods: [['aml-training/train-0', 'Pod', true]],
      skipped: [],
      check: (r) => {
        const spec = r.results[0].mutated.spec;
        assert.deepEqual(spec.volumes, [{ name: 'pvc-nfs-pvc', persistentVolumeClaim: { claimName: 'nfs-pvc' } }]);
        assert.deepEqual(spec.containers[0].volumeMounts, [{ name: 'pvc-nfs-pvc', mountPath: '/mnt/nfs' }]);
        assert.deepEqual(spec.securityContext, { supplementalGroups: [3000] });
      },
    },
  },
];

describe('dry-run command', () => {
  for (const t of cases) {
    it(t.name, async () => {
      const run = await runCli(['dry-run', ...t.given, '-o', 'json']);
      assert.equal(run.code, t.want.code, run.err || run.out.slice(0, 2000));
      const report = JSON.parse(run.out);
      if (t.want.pods)
        assert.deepEqual(
          report.results.map((r: any) => [r.pod, r.origin, r.allowed]),
          t.want.pods,
        );
      if (t.want.requester) for (const r of report.results) assert.equal(r.request.userInfo.username, t.want.requester);
      if (t.want.createdBy) for (const r of report.results) assert.equal(r.createdBy, t.want.createdBy);
      if (t.want.skipped)
        assert.deepEqual(
          report.skipped.map((s: any) => s.what),
          t.want.skipped,
        );
      if (t.want.problem) assert.match(report.problems.map((p: any) => p.message).join('\n'), t.want.problem);
      else assert.deepEqual(report.problems, []);
      t.want.check?.(report);
    });
  }

  it('Locates every item of a List by its index, with its name on the same line (nested Lists too; a bad item among good ones).', async () => {
    const list = `apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: Pod, metadata: { name: web-1, namespace: default }, spec: { containers: [{ name: c, image: nginx }] } }
  - { apiVersion: v1, kind: Pod, metadata: { name: broken, namespace: default } }
  - { apiVersion: v1, kind: Service, metadata: { name: web } }
  - apiVersion: v1
    kind: PodList
    items:
      - { apiVersion: v1, kind: Pod, metadata: { name: web-2, namespace: default }, spec: { containers: [{ name: c, image: nginx }] } }
`;
    const json = await runCli(['dry-run', '-f', '-', '-o', 'json'], list);
    const report = JSON.parse(json.out);
    assert.deepEqual(
      report.results.map((r: any) => [r.where, r.pod]),
      [
        ['stdin#1 items[0]', 'default/web-1'],
        ['stdin#1 items[3].items[0]', 'default/web-2'],
      ],
    );
    assert.deepEqual(report.problems, [{ where: { file: 'stdin', doc: 1, item: 'items[1]' }, message: 'Pod/broken has no spec' }]);
    assert.deepEqual(report.skipped, [{ where: { file: 'stdin', doc: 1, item: 'items[2]' }, what: 'Service/web' }]);
    assert.equal(new Set(report.results.map((r: any) => r.request.uid)).size, 2, 'each item its own request uid');

    const text = await runCli(['dry-run', '-f', '-'], list);
    assert.match(text.out, /^ALLOWED {2}Pod default\/web-1 {2}\(Pod, stdin#1 items\[0\]\)$/m);
    assert.match(text.out, /^ALLOWED {2}Pod default\/web-2 {2}\(Pod, stdin#1 items\[3\]\.items\[0\]\)$/m);
    assert.match(text.err, /^error: stdin#1 items\[1\]: Pod\/broken has no spec$/m);
    assert.match(text.out, /^skipped Service\/web \(stdin#1 items\[2\]\): holds no pod template$/m);
  });

  it('-o table prints one line per object (judged, bad input, skipped) and a kyverno-style summary, with the same exit code.', async () => {
    const run = await runCli([
      'dry-run',
      '-f',
      fixturePath('pod-allowed.yaml'),
      '-f',
      fixturePath('multi.yaml'),
      '-f',
      fixturePath('invalid.yaml'),
      '-o',
      'table',
    ]);
    assert.equal(run.code, 1, run.err);
    assert.equal(run.err, '', 'bad input is a row of the table');
    const lines = run.out.trimEnd().split('\n');
    assert.match(lines[0]!, /^RESULT +OBJECT +FROM +WHERE +DETAIL$/);
    const rows = lines.slice(1, -2).map((l) => l.split(/ {2,}/));
    assert.deepEqual(
      rows.map((r) => [r[0], r[1]]),
      [
        ['pass', 'Pod aml-training/train-0'],
        ['pass', 'Pod default/cpu-job'],
        ['fail', 'Pod default/lost'],
        ['error', '-'],
        ['skip', 'Service/web'],
      ],
    );
    assert.match(rows[2]!.at(-1)!, /^\[policy-input\] compute no-such-compute is not defined/);
    assert.match(rows[3]!.at(-1)!, /^not valid YAML or JSON at line 4/);
    assert.equal(lines.at(-2), '');
    assert.equal(lines.at(-1), 'pass: 2, fail: 1, warn: 0, error: 1, skip: 1');
  });

  it('--mutated-only -o yaml prints the allowed pods after mutation as a YAML stream for kubectl apply -f -, and says what it left out.', async () => {
    const run = await runCli([
      'dry-run',
      '-f',
      fixturePath('pod-allowed.yaml'),
      '-f',
      fixturePath('pod-denied.yaml'),
      '-f',
      fixturePath('deployment.yaml'),
      '-f',
      fixturePath('review.json'),
      '--mutated-only',
      '-o',
      'yaml',
    ]);
    assert.equal(run.code, 1, 'the exit code still tells of the denial');
    const docs = parseAllDocuments(run.out).map((d) => d.toJS());
    assert.deepEqual(
      docs.map((d) => [d.kind, d.metadata.name]),
      [
        ['Pod', 'train-0'],
        ['Pod', 'bert-worker-0'],
      ],
    );
    assert.deepEqual(docs[0].spec.nodeSelector, { agentpool: 'gpupool' }, 'the object after the patch');
    assert.equal(docs[0].spec.containers[0].env[0].value, 'not-a-real-key-0123456789', 'nothing hidden: these are the objects');
    assert.match(run.err, /^not printed: Pod aml-training\/gpu-on-cpu \(.*pod-denied\.yaml#1\) is denied$/m);
    assert.match(run.err, /^not printed: Pod aml-training\/infer-… \(.*deployment\.yaml#1\): a pod of Deployment\/infer, which its controller creates/m);
  });

  it('--mutated-only -o json prints a v1 List of the objects; with -o text it is a usage error.', async () => {
    const json = await runCli(['dry-run', '-f', fixturePath('pod-allowed.yaml'), '--mutated-only', '-o', 'json']);
    assert.equal(json.code, 0, json.err);
    const list = JSON.parse(json.out);
    assert.equal(list.apiVersion, 'v1');
    assert.equal(list.kind, 'List');
    assert.deepEqual(
      list.items.map((i: any) => i.metadata.name),
      ['train-0'],
    );
    const text = await runCli(['dry-run', '-f', fixturePath('pod-allowed.yaml'), '--mutated-only']);
    assert.equal(text.code, 2);
    assert.match(text.err, /--mutated-only prints objects: use it with -o yaml or -o json/);
    assert.equal(text.out, '');
  });

  it('--as a service account gets its groups, as the API server gives them: a group claim on its namespace lets it in.', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dry-run-'));
    try {
      const policy = join(dir, 'policy.yaml');
      await writeFile(policy, (await readFile(policyFile, 'utf8')).replace('groups: [ml-engineers]', 'groups: [system:serviceaccounts:team-a]'));
      const run = await runCli(['dry-run', '-f', fixturePath('review-gpu-compute.json'), '--policy', policy, '--as', sa('team-a', 'runner'), '-o', 'json']);
      assert.equal(run.code, 0, run.out);
      const request = JSON.parse(run.out).results[0].request;
      assert.deepEqual(request.userInfo, {
        username: sa('team-a', 'runner'),
        groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'],
        extra: {},
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('Refuses an invalid policy with its errors and paths: exit 4.', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dry-run-'));
    try {
      const bad = join(dir, 'policy.yaml');
      await writeFile(
        bad,
        'apiVersion: aml-admission.azure.com/v1alpha1\nkind: AdmissionPolicy\ncomputes:\n  c: { nodePools: {}, instanceTypes: {}, defaultInstanceType: x }\n',
      );
      const run = await runCli(['dry-run', '-f', fixturePath('pod-allowed.yaml'), '--policy', bad]);
      assert.equal(run.code, 4);
      assert.match(run.err, /policy .* is invalid:\n\/computes\/c\/nodePools: /);
      assert.equal(run.out, '');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('Says in text which cluster objects the inputs held (InstanceTypes, PVCs), so a reader sees them honoured.', async () => {
    const run = await runCli(['dry-run', '-f', fixturePath('instancetypes.yaml'), '-f', fixturePath('pvc.yaml'), '-f', fixturePath('pod-cluster-type.yaml')]);
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /\ncluster objects read: 2 InstanceTypes, 1 PersistentVolumeClaim\n1 allowed, 0 denied\n$/);
  });

  it('Requires -f: a usage error exits 2.', async () => {
    const run = await runCli(['dry-run']);
    assert.equal(run.code, 2);
    assert.match(run.err, /required option '-f, --filename <file\.\.\.>' not specified/);
  });

  it('Prints the same report as YAML with -o yaml.', async () => {
    const json = JSON.parse((await runCli(['dry-run', '-f', fixturePath('multi.yaml'), '-o', 'json'])).out);
    const yaml = parse((await runCli(['dry-run', '-f', fixturePath('multi.yaml'), '-o', 'yaml'])).out);
    assert.deepEqual(yaml, json);
  });

  it('Prints text a person can read at a glance: the answer first, then patch, verdicts and the mutated object without env values.', async () => {
    const run = await runCli(['dry-run', '-f', fixturePath('pod-allowed.yaml'), '-f', fixturePath('pod-denied.yaml')]);
    assert.equal(run.code, 1);
    const lines = run.out.split('\n');
    assert.match(lines[0]!, /^ALLOWED  Pod aml-training\/train-0  \(Pod, .*pod-allowed\.yaml#1\)$/);
    assert.match(run.out, /^DENIED  Pod aml-training\/gpu-on-cpu/m);
    assert.match(run.out, /^ {2}patch +\d+ operations$/m);
    assert.match(run.out, /^ {4}add +\/spec\/nodeSelector +\{"agentpool":"gpupool"\}$/m);
    assert.match(run.out, /^ {4}node-pool-targeting +deny +fail +pod requests 1 GPU/m);
    assert.match(run.out, /^ {2}denied \(403\): \[node-pool-targeting\] /m);
    assert.match(run.out, /^ {2}mutated object/m);
    assert.doesNotMatch(run.out, /not-a-real-key-0123456789/, 'env values are hidden in text output');
    assert.equal(lines.at(-2), '1 allowed, 1 denied');
  });

  it('Exits 0, 1 and 3 from the real entry point (spawned).', async () => {
    const [ok, denied, bad] = await Promise.all([
      spawnCli(['dry-run', '-f', fixturePath('pod-allowed.yaml')]),
      spawnCli(['dry-run', '-f', fixturePath('pod-denied.yaml')]),
      spawnCli(['dry-run', '-f', fixturePath('invalid.yaml')]),
    ]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /^ALLOWED/);
    assert.equal(denied.code, 1, denied.err);
    assert.match(denied.out, /^DENIED/);
    assert.equal(bad.code, 3, bad.err);
    assert.match(bad.err, /^error: .*invalid\.yaml#1: not valid YAML or JSON/);
    assert.match(bad.out, /^0 allowed, 0 denied, 1 with bad input$/m);
  });
});
