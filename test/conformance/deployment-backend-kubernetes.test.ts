/**
 * The Kubernetes backend against the deployment-backend suite, with the stand-in API server
 * (test/helpers/fake-kube-api.ts) in place of a cluster: the test plays the controllers, adding a
 * ready pod per replica and marking the Deployment available.
 */
import { KubernetesBackend } from "../../src/control/kubernetes/backend.js";
import { objectName } from "../../src/control/kubernetes/names.js";
import { llamaCppRuntime } from "../../src/runtimes/llamacpp/index.js";
import { RuntimeRegistry } from "../../src/runtimes/registry.js";
import { podStatus, type Resource, startFakeKubeApi } from "../helpers/fake-kube-api.js";
import { defineBackendConformance } from "./deployment-backend.js";

const NS = "tokenforge";

defineBackendConformance(
  "kubernetes",
  {
    reachableEndpoints:
      "endpoints are cluster DNS names (tf-<id>.<namespace>.svc) that only resolve inside a cluster",
  },
  async () => {
    const api = await startFakeKubeApi();
    // deleteOnClose: close() stops every deployment, as the contract asks (the default keeps
    // workers running for the next gateway: test/control/kubernetes.test.ts).
    const backend = new KubernetesBackend({
      runtimes: new RuntimeRegistry([llamaCppRuntime({ command: "tokenforge", args: [] })]),
      kubeConfig: api.kubeConfig(NS),
      version: "0.1.0",
      statusCacheMs: 0,
      deleteOnClose: true,
    });
    return {
      backend,
      base: {
        model: "synthetic:tiny",
        runtime: "llamacpp",
        replicas: 1,
        resources: { cpu: "2", memory: "4Gi" },
        target: "kubernetes",
        engineArgs: [],
      },
      makeReady: async (id) => {
        const name = objectName(id);
        const replicas = api.find("deployments", NS, name)?.spec.replicas as number;
        for (let i = 0; i < replicas; i++) api.addPod(NS, name, podStatus.running(true, `10.0.0.${i + 1}`));
        api.setDeploymentStatus(NS, name, {
          replicas,
          readyReplicas: replicas,
          availableReplicas: replicas,
          updatedReplicas: replicas,
          conditions: [{ type: "Available", status: "True", reason: "MinimumReplicasAvailable" }],
        });
        const status = await backend.get(id);
        if (!status) throw new Error(`no deployment "${id}" to make ready`);
        return status;
      },
      actions: () => api.requests.map((r) => `${r.method} ${r.path}`),
      remains: async () =>
        (["deployments", "services", "pods"] as Resource[])
          .flatMap((kind) => api.list(kind, NS).map((o) => `${kind}/${o.metadata.name}`))
          .sort(),
      close: () => api.close(),
    };
  },
);
