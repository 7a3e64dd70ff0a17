/**
 * The Kubernetes deployment backend, without Kubernetes: every object it generates (and every
 * manifest under deploy/k8s) is validated against the Kubernetes schemas (kubernetes-models) and
 * checked for fields the API does not know (@kubernetes/client-node's models); the client flow runs
 * against test/helpers/fake-kube-api.ts, a stand-in for the API server. The contract every backend
 * meets is checked by test/conformance/deployment-backend*.ts; this file holds what is Kubernetes'
 * own. Nothing here has run against a real cluster.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { KubernetesBackend } from "../../src/control/kubernetes/backend.js";
import { type ContainerPlan, containerPlan } from "../../src/control/kubernetes/containers.js";
import {
  deploymentManifest,
  type ManifestOptions,
  serviceManifest,
} from "../../src/control/kubernetes/manifests.js";
import { deploymentLabelValue, objectName } from "../../src/control/kubernetes/names.js";
import { TokenForgeError } from "../../src/errors.js";
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { transformersRuntime } from "../../src/runtimes/transformers/index.js";
import { vllmRuntime } from "../../src/runtimes/vllm/index.js";
import type { DeploymentSpec } from "../../src/spec/deployment.js";
import { type FakeKubeApi, podStatus, startFakeKubeApi } from "../helpers/fake-kube-api.js";

const ROOT = join(import.meta.dirname, "..", "..");
const K8S_DIR = join(ROOT, "deploy", "k8s");
const VERSION = "0.1.0";
// Two runtimes with a container and one without.
const RUNTIMES = new RuntimeRegistry([
  llamaCppRuntime({ command: "tokenforge", args: [] }),
  vllmRuntime(),
  transformersRuntime(),
]);

// ---------------------------------------------------------------- schema checks

type Validatable = { validate(): void };
const MODELS: Record<string, { cls: new (data: never) => Validatable; type: string }> = {
  "apps/v1/Deployment": { cls: Deployment, type: "V1Deployment" },
  "apps/v1/StatefulSet": { cls: StatefulSet, type: "V1StatefulSet" },
  "batch/v1/Job": { cls: Job, type: "V1Job" },
  "v1/Service": { cls: Service, type: "V1Service" },
  "v1/Namespace": { cls: Namespace, type: "V1Namespace" },
  "v1/ServiceAccount": { cls: ServiceAccount, type: "V1ServiceAccount" },
  "v1/PersistentVolumeClaim": { cls: PersistentVolumeClaim, type: "V1PersistentVolumeClaim" },
  "v1/ConfigMap": { cls: ConfigMap, type: "V1ConfigMap" },
  "v1/Secret": { cls: Secret, type: "V1Secret" },
  "rbac.authorization.k8s.io/v1/Role": { cls: Role, type: "V1Role" },
  "rbac.authorization.k8s.io/v1/RoleBinding": { cls: RoleBinding, type: "V1RoleBinding" },
};

type AttributeMap = { baseName: string; type: string }[];
const SCALARS = new Set(["string", "number", "boolean", "Date", "any", "IntOrString"]);

/**
 * Paths of fields no Kubernetes type has. kubernetes-models' schemas allow unknown keys, so a
 * misspelt field would pass them; client-node's models list every field of the API's OpenAPI spec.
 */
function unknownFields(value: unknown, type: string, path = ""): string[] {
  if (value === null || value === undefined || SCALARS.has(type)) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return (value as unknown[]).flatMap((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`));
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map)
    return Object.entries(value as object).flatMap(([k, v]) => unknownFields(v, map[1]!, `${path}.${k}`));
  const cls = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => AttributeMap }>)[type];
  if (!cls?.getAttributeTypeMap) return [`${path}: no model for type ${type}`];
  const attrs = cls.getAttributeTypeMap();
  return Object.entries(value as object).flatMap(([k, v]) => {
    const attr = attrs.find((a) => a.baseName === k);
    return attr ? unknownFields(v, attr.type, `${path}.${k}`) : [`${path}.${k}`];
  });
}

/** Validates one object against its Kubernetes schema; throws with the kind and name on failure. */
function validateObject(obj: { apiVersion?: string; kind?: string; metadata?: { name?: string } }): void {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const model = MODELS[key];
  if (!model) throw new Error(`no schema registered for ${key} (${obj.metadata?.name})`);
  new model.cls(obj as never).validate();
  expect(unknownFields(obj, model.type), `${key} ${obj.metadata?.name}`).toEqual([]);
}

// ---------------------------------------------------------------- specs

function spec(overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return {
    id: "dep-1",
    model: "synthetic:tiny",
    runtime: "llamacpp",
    replicas: 1,
    resources: { cpu: "4", memory: "8Gi" },
    target: "kubernetes",
    engineArgs: [],
    ...overrides,
  };
}

const VLLM_MODEL = "meta-llama/Llama-3.1-8B-Instruct";
const OPTS: ManifestOptions = { namespace: "tokenforge" };

function build(s: DeploymentSpec, opts: ManifestOptions = OPTS) {
  const plan = containerPlan(s, RUNTIMES, { version: VERSION });
  return { plan, deployment: deploymentManifest(s, plan, opts), service: serviceManifest(s, opts) };
}

function container(d: k8s.V1Deployment): k8s.V1Container {
  return d.spec!.template.spec!.containers[0]!;
}

function tfError(fn: () => unknown): TokenForgeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TokenForgeError);
    return err as TokenForgeError;
  }
  throw new Error("expected a TokenForgeError");
}

async function tfRejection(p: Promise<unknown>): Promise<TokenForgeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenForgeError);
  return err as TokenForgeError;
}

// ---------------------------------------------------------------- manifests

describe("manifests", () => {
  const cases = [
    { runtime: "llamacpp", model: "synthetic:tiny", gpus: 0 },
    { runtime: "llamacpp", model: "synthetic:tiny", gpus: 1 },
    { runtime: "vllm", model: VLLM_MODEL, gpus: 0 },
    { runtime: "vllm", model: VLLM_MODEL, gpus: 2 },
  ];

  for (const c of cases) {
    it(`${c.runtime} with ${c.gpus} GPU(s): valid Deployment and Service, GPU resources exactly when asked`, () => {
      const s = spec({
        runtime: c.runtime,
        model: c.model,
        resources: { cpu: "8", memory: "32Gi", gpus: c.gpus },
      });
      const { plan, deployment, service } = build(s);
      validateObject(deployment);
      validateObject(service);

      const ctr = container(deployment);
      const pod = deployment.spec!.template.spec!;
      if (c.gpus > 0) {
        expect(ctr.resources?.limits?.["nvidia.com/gpu"]).toBe(String(c.gpus));
        expect(ctr.resources?.requests?.["nvidia.com/gpu"]).toBe(String(c.gpus));
        expect(pod.tolerations).toEqual([
          { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" },
        ]);
        expect(deployment.spec!.strategy?.type).toBe("Recreate");
      } else {
        expect(ctr.resources?.limits).not.toHaveProperty("nvidia.com/gpu");
        expect(ctr.resources?.requests).not.toHaveProperty("nvidia.com/gpu");
        expect(pod.tolerations).toBeUndefined();
      }
      expect(ctr.resources?.limits).toMatchObject({ cpu: "8", memory: "32Gi" });
      expect(ctr.resources?.requests).toMatchObject({ cpu: "8", memory: "32Gi" });

      // Probes on /health, the startup one long enough for a model load (30 min by default).
      for (const probe of [ctr.startupProbe, ctr.readinessProbe, ctr.livenessProbe]) {
        expect(probe?.httpGet).toEqual({ path: "/health", port: "http" });
      }
      expect(ctr.startupProbe!.periodSeconds! * ctr.startupProbe!.failureThreshold!).toBe(1800);
      expect(deployment.spec!.progressDeadlineSeconds).toBeGreaterThan(1800);

      // Memory-backed /dev/shm and the model cache at the runtime's cache path.
      expect(pod.volumes).toContainEqual({ name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "2Gi" } });
      expect(pod.volumes).toContainEqual({ name: "model-cache", emptyDir: {} });
      expect(ctr.volumeMounts).toContainEqual({ name: "dshm", mountPath: "/dev/shm" });
      expect(ctr.volumeMounts).toContainEqual({ name: "model-cache", mountPath: plan.cachePath });

      expect(ctr.ports).toEqual([{ name: "http", containerPort: 8000, protocol: "TCP" }]);
      expect(ctr.image).toBe(
        c.runtime === "vllm" ? "vllm/vllm-openai:v0.11.0" : `ghcr.io/tokenforge/worker:${VERSION}`,
      );

      // Labels find everything again; the selector picks exactly this deployment's pods.
      const labels = {
        "app.kubernetes.io/name": "tokenforge-worker",
        "app.kubernetes.io/managed-by": "tokenforge",
        "tokenforge.dev/deployment": "dep-1",
        "tokenforge.dev/runtime": c.runtime,
      };
      for (const meta of [deployment.metadata, deployment.spec!.template.metadata, service.metadata]) {
        expect(meta?.labels).toEqual(labels);
      }
      const selector = deployment.spec!.selector.matchLabels!;
      expect(service.spec?.selector).toEqual(selector);
      expect(Object.entries(selector).every(([k, v]) => labels[k as keyof typeof labels] === v)).toBe(true);
      expect(deployment.metadata?.name).toBe("tf-dep-1");
      expect(deployment.metadata?.namespace).toBe("tokenforge");
      expect(service.spec?.ports).toEqual([
        { name: "http", port: 8000, targetPort: "http", protocol: "TCP" },
      ]);
    });
  }

  it("the unknown-field check catches a misspelt field that the schema lets through", () => {
    const { deployment } = build(spec());
    const typo = structuredClone(deployment) as k8s.V1Deployment & { spec: { template: { spec: object } } };
    Object.assign(container(typo), { livenesProbe: {} });
    Object.assign(typo.spec.template.spec, { tolerationz: [] });
    new Deployment(typo as never).validate();
    expect(unknownFields(typo, "V1Deployment")).toEqual([
      ".spec.template.spec.containers[0].livenesProbe",
      ".spec.template.spec.tolerationz",
    ]);
  });

  it("takes a PVC for the model cache, a /dev/shm size, a startup budget and a GPU resource name", () => {
    const s = spec({ resources: { gpus: 1 } });
    const { deployment } = build(s, {
      namespace: "ml",
      modelCachePvc: "model-cache",
      shmSizeLimit: "16Gi",
      startupBudgetSeconds: 3600,
      gpuResource: "amd.com/gpu",
    });
    validateObject(deployment);
    const pod = deployment.spec!.template.spec!;
    expect(pod.volumes).toContainEqual({
      name: "model-cache",
      persistentVolumeClaim: { claimName: "model-cache" },
    });
    expect(pod.volumes).toContainEqual({ name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "16Gi" } });
    expect(container(deployment).startupProbe?.failureThreshold).toBe(360);
    expect(container(deployment).resources?.limits).toEqual({ "amd.com/gpu": "1" });
    expect(pod.tolerations?.[0]?.key).toBe("amd.com/gpu");
  });

  it("no resources at all: no resources block, still valid", () => {
    const { deployment } = build(spec({ resources: {} }));
    validateObject(deployment);
    expect(container(deployment).resources).toBeUndefined();
  });

  it("sanitizes names to DNS-1123 and keeps long ids apart", () => {
    expect(objectName("dep-1")).toBe("tf-dep-1");
    expect(objectName("My_Model.v2/Test")).toBe("tf-my-model-v2-test");
    const a = objectName(`run-${"x".repeat(80)}-a`);
    const b = objectName(`run-${"x".repeat(80)}-b`);
    expect(a).not.toBe(b);
    for (const n of [a, b]) expect(n).toMatch(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(tfError(() => objectName("___")).field).toBe("id");

    // An id that cannot be a label value is labelled by its object name; the id is annotated.
    const s = spec({ id: "Team A/llama 8b" });
    const { deployment, service } = build(s);
    validateObject(deployment);
    validateObject(service);
    expect(deployment.metadata?.name).toBe("tf-team-a-llama-8b");
    expect(deployment.metadata?.labels?.["tokenforge.dev/deployment"]).toBe(deploymentLabelValue(s.id));
    expect(deployment.metadata?.annotations?.["tokenforge.dev/id"]).toBe("Team A/llama 8b");
  });

  it("reports every bad field at once, naming the first", () => {
    const err = tfError(() =>
      build(spec({ replicas: -1, resources: { cpu: "four", memory: "16 GB", gpus: 1.5 } }), {
        namespace: "Bad_NS",
      }),
    );
    expect(err.code).toBe("invalid_request");
    expect(err.field).toBe("replicas");
    for (const f of ["replicas", "resources.gpus", "resources.cpu", "resources.memory", "namespace"]) {
      expect(err.message).toContain(f);
    }
  });
});

describe("container plans", () => {
  const plan = (s: Partial<DeploymentSpec>, opts = {}): ContainerPlan =>
    containerPlan(spec(s), RUNTIMES, { version: VERSION, ...opts });

  it("an unknown runtime lists the runtimes that have a plan", () => {
    const err = tfError(() => plan({ runtime: "transformers" }));
    expect(err.field).toBe("runtime");
    expect(err.message).toContain("llamacpp, vllm");
  });

  it("llamacpp: tokenforge worker on 0.0.0.0:8000, quant into the synthetic reference, threads from the CPU limit", () => {
    const p = plan({ quant: "q4_0", resources: { cpu: "2500m" }, engineArgs: ["--parallel", "4"] });
    expect(p.command).toEqual(["tokenforge"]);
    expect(p.args).toEqual([
      "worker",
      "--runtime",
      "llamacpp",
      "--model",
      "synthetic:tiny?quant=q4_0",
      "--host",
      "0.0.0.0",
      "--port",
      "8000",
      "--threads",
      "2",
      "--parallel",
      "4",
    ]);
    expect(p.cachePath).toBe("/var/cache/tokenforge");
    expect(plan({}, { workerImage: "registry.local/worker:dev" }).image).toBe("registry.local/worker:dev");
    expect(tfError(() => plan({ model: "synthetic:tiny?quant=f16", quant: "q8_0" })).field).toBe("quant");
    expect(tfError(() => plan({ quant: "awq" })).field).toBe("quant");
    expect(tfError(() => plan({ model: "models/x.gguf" })).field).toBe("model");
    expect(plan({ model: "/models/x.gguf", quant: "q8_0" }).warnings[0]?.message).toContain("ignored");
    expect(tfError(() => plan({ engineArgs: ["--port=9000"] })).field).toBe("engine_args");
  });

  it("vllm: the OpenAI server's arguments, dtype or quantization from quant, tensor parallel over the GPUs", () => {
    const p = plan({ runtime: "vllm", model: VLLM_MODEL, quant: "bf16", resources: { gpus: 4 } });
    expect(p.image).toBe("vllm/vllm-openai:v0.11.0");
    expect(p.command).toBeUndefined();
    expect(p.args).toEqual([
      "--model",
      VLLM_MODEL,
      "--host",
      "0.0.0.0",
      "--port",
      "8000",
      "--served-model-name",
      VLLM_MODEL,
      "--dtype",
      "bfloat16",
      "--tensor-parallel-size",
      "4",
    ]);
    expect(p.cachePath).toBe("/root/.cache/huggingface");
    expect(p.warnings).toEqual([]);
    expect(plan({ runtime: "vllm", model: VLLM_MODEL, quant: "awq", resources: { gpus: 1 } }).args).toContain(
      "--quantization",
    );
    expect(tfError(() => plan({ runtime: "vllm", model: VLLM_MODEL, quant: "q4_0" })).field).toBe("quant");
    expect(tfError(() => plan({ runtime: "vllm", model: "synthetic:tiny" })).field).toBe("model");
    expect(
      tfError(() => plan({ runtime: "vllm", model: VLLM_MODEL, engineArgs: ["--host", "::"] })).field,
    ).toBe("engine_args");
    expect(plan({ runtime: "vllm", model: VLLM_MODEL }).warnings[0]?.message).toContain("no GPU");
    const tp = plan({ runtime: "vllm", model: VLLM_MODEL, resources: { gpus: 2 }, engineArgs: ["-tp", "1"] });
    expect(tp.args).not.toContain("--tensor-parallel-size");
  });

  it("vllm reads the Hugging Face token from an optional Secret", () => {
    const p = plan({ runtime: "vllm", model: VLLM_MODEL });
    expect(p.env).toContainEqual({
      name: "HUGGING_FACE_HUB_TOKEN",
      valueFrom: { secretKeyRef: { name: "hf-token", key: "token", optional: true } },
    });
    const custom = plan({ runtime: "vllm", model: VLLM_MODEL }, { hfTokenSecret: { name: "hf", key: "t" } });
    expect(custom.env[0]?.valueFrom?.secretKeyRef).toEqual({ name: "hf", key: "t", optional: true });
    expect(plan({ runtime: "vllm", model: VLLM_MODEL }, { hfTokenSecret: null }).env).toEqual([]);
  });
});

// ---------------------------------------------------------------- client flow

describe("KubernetesBackend against the stand-in API server", () => {
  const NS = "tokenforge";
  let api: FakeKubeApi;
  let backend: KubernetesBackend;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    // No status cache: each step below changes the cluster and reads it back at once.
    backend = new KubernetesBackend({
      runtimes: RUNTIMES,
      kubeConfig: api.kubeConfig(NS),
      version: VERSION,
      statusCacheMs: 0,
    });
  });
  afterAll(async () => {
    await api.close();
  });
  afterEach(async () => {
    for (const s of await backend.list()) await backend.delete(s.id);
    api.requests.length = 0;
  });

  it("takes its namespace from the kubeconfig context", () => {
    expect(backend.namespace).toBe(NS);
    expect(backend.target).toBe("kubernetes");
  });

  it("create → pending → starting → ready, with the Service's cluster DNS as endpoint", async () => {
    const created = await backend.create(
      spec({ id: "llama", resources: { gpus: 1, cpu: "4", memory: "16Gi" } }),
    );
    expect(created).toMatchObject({ id: "llama", state: "pending", replicas: [], endpoints: [] });
    expect(created.events[0]?.kind).toBe("created");
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /apis/apps/v1/namespaces/${NS}/deployments`,
      `POST /api/v1/namespaces/${NS}/services`,
    ]);
    const stored = api.find("deployments", NS, "tf-llama")!;
    expect(stored.spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"]).toBe("1");
    expect(api.find("services", NS, "tf-llama")).toBeDefined();

    // The kubelet starts the container: the engine is loading (startup probe not yet passed).
    const pod = api.addPod(NS, "tf-llama", podStatus.running(false, "127.0.0.1"));
    api.setDeploymentStatus(NS, "tf-llama", { replicas: 1, unavailableReplicas: 1 });
    const starting = await backend.get("llama");
    expect(starting?.state).toBe("starting");
    expect(starting?.replicas).toEqual([
      { index: 0, state: "starting", restarts: 0, endpoint: "http://127.0.0.1:8000" },
    ]);
    expect(starting?.endpoints).toEqual([]);

    api.setPodStatus(NS, pod, podStatus.running(true, "127.0.0.1"));
    api.setDeploymentStatus(NS, "tf-llama", {
      replicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      updatedReplicas: 1,
      conditions: [
        { type: "Available", status: "True", reason: "MinimumReplicasAvailable" },
        { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" },
      ],
    });
    const ready = await backend.get("llama");
    expect(ready?.state).toBe("ready");
    expect(ready?.endpoints).toEqual([`http://tf-llama.${NS}.svc:8000`]);
    expect(ready?.events.map((e) => e.kind)).toEqual(
      expect.arrayContaining(["created", "starting", "ready"]),
    );
    expect(ready?.lastError).toBeUndefined();

    const all = await backend.list();
    expect(all.map((s) => [s.id, s.state])).toEqual([["llama", "ready"]]);
  });

  it("a failed Service create removes the Deployment: nothing half-created", async () => {
    api.failNext({
      method: "POST",
      resource: "services",
      code: 403,
      reason: "Forbidden",
      message:
        'services is forbidden: User "system:serviceaccount:tokenforge:gw" cannot create resource "services"',
    });
    const err = await tfRejection(backend.create(spec({ id: "half" })));
    expect(err.code).toBe("io_error");
    expect(err.message).toContain("cannot create resource");
    expect(api.list("deployments", NS)).toEqual([]);
    expect(api.list("services", NS)).toEqual([]);
    expect(await backend.get("half")).toBeUndefined();
  });

  it("a Service left over under the same name is a conflict, and the new Deployment is removed", async () => {
    const core = api.kubeConfig(NS).makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name: "tf-orphan" }, spec: { ports: [{ port: 80 }] } },
    });
    const err = await tfRejection(backend.create(spec({ id: "orphan" })));
    expect(err.field).toBe("id");
    expect(api.list("deployments", NS)).toEqual([]);
    await core.deleteNamespacedService({ name: "tf-orphan", namespace: NS });
  });

  it("CrashLoopBackOff → failed, with the container's message as lastError", async () => {
    await backend.create(spec({ id: "crashy" }));
    api.addPod(
      NS,
      "tf-crashy",
      podStatus.waiting("CrashLoopBackOff", "back-off 40s restarting failed container=worker", 3, {
        exitCode: 1,
        message: "out of memory loading model",
      }),
    );
    api.setDeploymentStatus(NS, "tf-crashy", { replicas: 1, unavailableReplicas: 1 });
    const s = await backend.get("crashy");
    expect(s?.state).toBe("failed");
    expect(s?.lastError).toContain("CrashLoopBackOff: back-off 40s restarting failed container=worker");
    expect(s?.replicas[0]).toMatchObject({ state: "failed", restarts: 3 });
    const crashed = s?.events.find((e) => e.kind === "crashed");
    expect(crashed?.message).toContain("exited 1");
    expect(crashed?.message).toContain("out of memory loading model");
  });

  it("ImagePullBackOff → failed", async () => {
    await backend.create(spec({ id: "nopull", runtime: "vllm", model: VLLM_MODEL, resources: { gpus: 1 } }));
    api.addPod(
      NS,
      "tf-nopull",
      podStatus.waiting("ImagePullBackOff", 'Back-off pulling image "vllm/vllm-openai:v0.11.0"'),
    );
    const s = await backend.get("nopull");
    expect(s?.state).toBe("failed");
    expect(s?.lastError).toContain("ImagePullBackOff");
  });

  it("a Progressing condition with ProgressDeadlineExceeded → failed", async () => {
    await backend.create(spec({ id: "stuck" }));
    api.setDeploymentStatus(NS, "tf-stuck", {
      replicas: 1,
      unavailableReplicas: 1,
      conditions: [
        {
          type: "Progressing",
          status: "False",
          reason: "ProgressDeadlineExceeded",
          message: 'ReplicaSet "tf-stuck-5d8f7c9b4" has timed out progressing.',
          lastTransitionTime: new Date().toISOString(),
        },
      ],
    });
    const s = await backend.get("stuck");
    expect(s?.state).toBe("failed");
    expect(s?.lastError).toContain("ProgressDeadlineExceeded");
    expect(s?.lastError).toContain("has timed out progressing");
  });

  it("an unschedulable pod stays pending, and says why in its events", async () => {
    await backend.create(spec({ id: "nogpu", resources: { gpus: 8 } }));
    api.addPod(NS, "tf-nogpu", podStatus.pending());
    const s = await backend.get("nogpu");
    expect(s?.state).toBe("pending");
    expect(s?.events.some((e) => e.message.includes("Insufficient nvidia.com/gpu"))).toBe(true);
  });

  it("deletes with background propagation, so the Deployment's pods are collected after it", async () => {
    await backend.create(spec({ id: "gone" }));
    api.addPod(NS, "tf-gone", podStatus.running(true));
    await backend.delete("gone");
    const deletes = api.requests.filter((r) => r.method === "DELETE");
    expect(deletes.map((r) => r.path)).toEqual([
      `/api/v1/namespaces/${NS}/services/tf-gone`,
      `/apis/apps/v1/namespaces/${NS}/deployments/tf-gone`,
    ]);
    expect(deletes.every((r) => r.query.propagationPolicy === "Background")).toBe(true);
    expect(api.list("pods", NS)).toEqual([]);
  });

  it("close() leaves the workers running by default, for the next gateway to find", async () => {
    const kept = new KubernetesBackend({
      runtimes: RUNTIMES,
      kubeConfig: api.kubeConfig(NS),
      version: VERSION,
    });
    await kept.create(spec({ id: "kept" }));
    await kept.close();
    expect(api.find("deployments", NS, "tf-kept")).toBeDefined();
    expect((await backend.list()).map((s) => s.id)).toEqual(["kept"]);
  });

  it("ignores objects it did not create", async () => {
    const apps = api.kubeConfig(NS).makeApiClient(k8s.AppsV1Api);
    const labels = { app: "someone-else" };
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: "tf-foreign", labels },
        spec: {
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: "c", image: "busybox" }] } },
        },
      },
    });
    expect(await backend.get("foreign")).toBeUndefined();
    expect(await backend.list()).toEqual([]);
    expect((await tfRejection(backend.delete("foreign"))).code).toBe("not_found");
    expect(api.find("deployments", NS, "tf-foreign")).toBeDefined();
    await apps.deleteNamespacedDeployment({ name: "tf-foreign", namespace: NS });
  });

  it("reuses a status for statusCacheMs, and forgets it on create and delete", async () => {
    const cached = new KubernetesBackend({
      runtimes: RUNTIMES,
      kubeConfig: api.kubeConfig(NS),
      version: VERSION,
      statusCacheMs: 60_000,
    });
    expect(await cached.get("cached")).toBeUndefined();
    await cached.create(spec({ id: "cached" }));
    expect((await cached.get("cached"))?.state).toBe("pending");
    const before = api.requests.length;
    api.addPod(NS, "tf-cached", podStatus.running(false));
    expect((await cached.get("cached"))?.state).toBe("pending");
    expect(api.requests.length).toBe(before);
    await cached.delete("cached");
    expect(await cached.get("cached")).toBeUndefined();
  });

  it("two ids that share a Kubernetes name do not see each other's deployment", async () => {
    await backend.create(spec({ id: "Mixed" }));
    expect(await backend.get("mixed")).toBeUndefined();
    expect((await tfRejection(backend.delete("mixed"))).code).toBe("not_found");
    expect((await tfRejection(backend.create(spec({ id: "mixed" })))).field).toBe("id");
    expect((await backend.get("Mixed"))?.id).toBe("Mixed");
  });

  it("the stand-in refuses objects that fail the Kubernetes schema, as the API server does", async () => {
    const apps = api.kubeConfig(NS).makeApiClient(k8s.AppsV1Api);
    const err = await apps
      .createNamespacedDeployment({
        namespace: NS,
        body: {
          metadata: { name: "tf-invalid" },
          spec: {
            selector: {},
            template: { spec: { containers: [{ name: "c", resources: { limits: { cpu: "lots" } } }] } },
          },
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(k8s.ApiException);
    expect((err as k8s.ApiException<string>).code).toBe(422);
    expect(api.find("deployments", NS, "tf-invalid")).toBeUndefined();
  });

  it("an unreachable API server is an io_error naming it", async () => {
    const gone = await startFakeKubeApi();
    const kc = gone.kubeConfig(NS);
    await gone.close();
    const b = new KubernetesBackend({ runtimes: RUNTIMES, kubeConfig: kc, version: VERSION });
    const err = await tfRejection(b.list());
    expect(err.code).toBe("io_error");
    expect(err.message).toContain(gone.url);
  });
});

// ---------------------------------------------------------------- deploy/k8s

interface Kustomization {
  namespace?: string;
  resources?: string[];
  configMapGenerator?: { name: string; files?: string[] }[];
  secretGenerator?: { name: string; literals?: string[] }[];
}

describe("deploy/k8s (kustomize manifests for TokenForge itself)", () => {
  const kustomization = parseYaml(readFileSync(join(K8S_DIR, "kustomization.yaml"), "utf8")) as Kustomization;
  // biome-ignore lint/suspicious/noExplicitAny: raw Kubernetes objects from YAML.
  type Obj = Record<string, any>;

  const objectFiles = readdirSync(K8S_DIR).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml");
  const objects: { file: string; obj: Obj }[] = objectFiles.flatMap((file) =>
    parseAllDocuments(readFileSync(join(K8S_DIR, file), "utf8"))
      .map((doc) => {
        expect(doc.errors, file).toEqual([]);
        return { file, obj: doc.toJS() as Obj };
      })
      .filter(({ obj }) => obj !== null),
  );

  it("every resources entry exists, and every manifest file is listed", () => {
    const resources = kustomization.resources ?? [];
    for (const r of resources) expect(existsSync(join(K8S_DIR, r)), r).toBe(true);
    expect([...objectFiles].sort()).toEqual([...resources].sort());
    for (const gen of kustomization.configMapGenerator ?? []) {
      for (const f of gen.files ?? []) {
        const path = f.includes("=") ? f.split("=")[1]! : f;
        expect(existsSync(join(K8S_DIR, path)), path).toBe(true);
      }
    }
    expect(kustomization.namespace).toBe("tokenforge");
  });

  it("every object validates against the Kubernetes schemas", () => {
    const kinds = new Set(objects.map(({ obj }) => obj.kind));
    for (const k of [
      "Namespace",
      "Deployment",
      "Service",
      "StatefulSet",
      "PersistentVolumeClaim",
      "Role",
      "RoleBinding",
      "ServiceAccount",
    ]) {
      expect(kinds, k).toContain(k);
    }
    for (const { file, obj } of objects) {
      expect(() => validateObject(obj), `${file}: ${obj.kind} ${obj.metadata?.name}`).not.toThrow();
    }
  });

  it("the stack is all there: gateway, PostgreSQL, MinIO, Prometheus, Grafana", () => {
    const names = (kind: string) =>
      objects.filter(({ obj }) => obj.kind === kind).map(({ obj }) => obj.metadata.name);
    expect(names("Deployment")).toEqual(
      expect.arrayContaining(["gateway", "minio", "prometheus", "grafana"]),
    );
    expect(names("StatefulSet")).toEqual(["postgres"]);
    expect(names("Service")).toEqual(
      expect.arrayContaining(["gateway", "postgres", "minio", "prometheus", "grafana"]),
    );
    const gateway = objects.find(
      ({ obj }) => obj.kind === "Deployment" && obj.metadata.name === "gateway",
    )!.obj;
    const ctr = gateway.spec.template.spec.containers[0];
    expect(ctr.image).toBe("ghcr.io/tokenforge/gateway");
    expect(ctr.args[0]).toBe("serve");
    expect(ctr.env.find((e: Obj) => e.name === "DATABASE_URL").valueFrom.secretKeyRef.name).toBe(
      "tokenforge-secrets",
    );
    expect(gateway.spec.template.spec.serviceAccountName).toBe("tokenforge-gateway");
  });

  it("the gateway's Role lets it manage exactly what the backend touches", () => {
    const role = objects.find(
      ({ obj }) => obj.kind === "Role" && obj.metadata.name === "tokenforge-gateway",
    )!.obj;
    const verbsFor = (group: string, resource: string): string[] =>
      role.rules
        .filter((r: Obj) => r.apiGroups.includes(group) && r.resources.includes(resource))
        .flatMap((r: Obj) => r.verbs);
    expect(verbsFor("apps", "deployments")).toEqual(
      expect.arrayContaining(["create", "get", "list", "delete"]),
    );
    expect(verbsFor("", "services")).toEqual(expect.arrayContaining(["create", "get", "list", "delete"]));
    expect(verbsFor("", "pods")).toEqual(expect.arrayContaining(["get", "list"]));
    const binding = objects.find(
      ({ obj }) => obj.kind === "RoleBinding" && obj.metadata.name === "tokenforge-gateway",
    )!.obj;
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: "tokenforge-gateway", namespace: "tokenforge" },
    ]);
  });

  it("every Secret key and ConfigMap a pod reads is generated", () => {
    const secretKeys = new Map(
      (kustomization.secretGenerator ?? []).map((g) => [
        g.name,
        new Set((g.literals ?? []).map((l) => l.split("=")[0])),
      ]),
    );
    const configMaps = new Set((kustomization.configMapGenerator ?? []).map((g) => g.name));
    const refs = JSON.stringify(objects.map(({ obj }) => obj));
    for (const m of refs.matchAll(/"secretKeyRef":\{"name":"([^"]+)","key":"([^"]+)"/g)) {
      expect(secretKeys.get(m[1]!)?.has(m[2]!), `${m[1]}/${m[2]}`).toBe(true);
    }
    for (const m of refs.matchAll(/"configMap":\{"name":"([^"]+)"/g))
      expect(configMaps.has(m[1]!), m[1]).toBe(true);
  });

  it("Grafana's dashboards and provider are the ones in deploy/grafana", () => {
    const src = join(ROOT, "deploy", "grafana", "dashboards");
    const copies = join(K8S_DIR, "config", "dashboards");
    const hint = "copy deploy/grafana/dashboards/*.json to deploy/k8s/config/dashboards/";
    expect(readdirSync(copies).sort(), hint).toEqual(
      readdirSync(src)
        .filter((f) => f.endsWith(".json"))
        .sort(),
    );
    for (const f of readdirSync(copies)) {
      expect(readFileSync(join(copies, f), "utf8"), `${f}: ${hint}`).toBe(readFileSync(join(src, f), "utf8"));
    }
    expect(readFileSync(join(K8S_DIR, "config", "grafana-dashboards.yml"), "utf8")).toBe(
      readFileSync(join(ROOT, "deploy", "grafana", "provisioning", "dashboards", "tokenforge.yml"), "utf8"),
    );
    const generated =
      kustomization.configMapGenerator?.find((g) => g.name === "grafana-dashboards")?.files ?? [];
    expect(generated.map((f) => f.split("/").pop()).sort()).toEqual(readdirSync(copies).sort());
  });

  it("Prometheus discovers the workers' pods by their annotations", () => {
    const config = parseYaml(readFileSync(join(K8S_DIR, "config", "prometheus.yml"), "utf8")) as Obj;
    const job = config.scrape_configs[0];
    expect(job.kubernetes_sd_configs[0].role).toBe("pod");
    const keep = job.relabel_configs.find(
      (r: Obj) =>
        r.action === "keep" && r.source_labels[0] === "__meta_kubernetes_pod_annotation_prometheus_io_scrape",
    );
    expect(keep.regex).toBe("true");
    // The worker pods carry the annotations this job keys on.
    const { deployment } = build(spec());
    expect(deployment.spec!.template.metadata?.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "8000",
    });
  });

  const kubectl = (() => {
    try {
      execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!kubectl)(
    "kubectl kustomize renders it, and every rendered object validates (skipped without kubectl)",
    () => {
      const out = execFileSync("kubectl", ["kustomize", K8S_DIR], { encoding: "utf8" });
      const rendered = parseAllDocuments(out).map((d) => d.toJS() as Obj);
      expect(rendered.length).toBeGreaterThan(objects.length);
      for (const obj of rendered) {
        // kustomize wraps long base64 values; the API server's decoder skips the newlines, the
        // schema's "byte" format does not.
        if (obj.kind === "Secret") {
          for (const k of Object.keys(obj.data ?? {})) obj.data[k] = String(obj.data[k]).replace(/\s+/g, "");
        }
        validateObject(obj);
        if (obj.kind !== "Namespace")
          expect(obj.metadata.namespace, `${obj.kind} ${obj.metadata.name}`).toBe("tokenforge");
      }
      const secret = rendered.find((o) => o.kind === "Secret")!;
      expect(out).toContain(`name: ${secret.metadata.name}`);
      expect(secret.metadata.name).toMatch(/^tokenforge-secrets-/);
    },
  );
});
