/**
 * A stand-in for a Kubernetes API server, for tests: a node:http server on 127.0.0.1 that answers
 * just the paths the Kubernetes deployment backend calls, with the API server's semantics for them
 * (201 on create, 409 AlreadyExists and 404 NotFound as `Status` objects, 422 Invalid for objects
 * that fail the Kubernetes schema, equality-based labelSelector filtering, background garbage
 * collection of a deleted Deployment's pods). It runs no controllers and no scheduler: a test sets
 * a Deployment's status and adds or changes pods itself to play a rollout, a crash loop or a
 * progress deadline. It is not Kubernetes, and passing against it is not passing against a cluster.
 *
 * Paths: POST/GET/DELETE /apis/apps/v1/namespaces/:ns/deployments[/:name],
 * POST/GET/DELETE /api/v1/namespaces/:ns/services[/:name], GET /api/v1/namespaces/:ns/pods.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Service } from "kubernetes-models/v1/Service";

export type Resource = "deployments" | "services" | "pods";
// biome-ignore lint/suspicious/noExplicitAny: stored objects are raw Kubernetes JSON.
export type KubeObject = Record<string, any>;

interface ResourceInfo {
  group: string;
  kind: string;
  listKind: string;
  apiVersion: string;
  /** Schema check on create, as the API server does before storing. */
  validate?: (obj: KubeObject) => void;
}

const RESOURCES: Record<Resource, ResourceInfo> = {
  deployments: {
    group: "apps",
    kind: "Deployment",
    listKind: "DeploymentList",
    apiVersion: "apps/v1",
    validate: (o) => new Deployment(o as never).validate(),
  },
  services: {
    group: "",
    kind: "Service",
    listKind: "ServiceList",
    apiVersion: "v1",
    validate: (o) => new Service(o as never).validate(),
  },
  pods: { group: "", kind: "Pod", listKind: "PodList", apiVersion: "v1" },
};

/** Which verbs each resource answers here (pods are made by the test, as a controller would). */
const VERBS: Record<Resource, readonly string[]> = {
  deployments: ["POST", "GET", "DELETE"],
  services: ["POST", "GET", "DELETE"],
  pods: ["GET"],
};

const PATH =
  /^\/(?:apis\/apps\/v1|api\/v1)\/namespaces\/([a-z0-9-]+)\/(deployments|services|pods)(?:\/([^/]+))?$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

export interface InjectedFailure {
  method: string;
  resource: Resource;
  code: number;
  reason: string;
  message: string;
}

export interface FakeKubeApi {
  /** Base URL, e.g. http://127.0.0.1:PORT. */
  url: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** A KubeConfig pointing at this server (plain HTTP, so skipTLSVerify). */
  kubeConfig(namespace?: string): KubeConfig;
  /** Stored objects of one resource in a namespace, sorted by name. */
  list(resource: Resource, namespace: string): KubeObject[];
  find(resource: Resource, namespace: string, name: string): KubeObject | undefined;
  /** Replaces a Deployment's `.status` (a controller's job on a real cluster). */
  setDeploymentStatus(namespace: string, name: string, status: KubeObject): void;
  /** Adds a pod as the Deployment's ReplicaSet would (its template's labels); returns its name. */
  addPod(namespace: string, deploymentName: string, status: KubeObject): string;
  setPodStatus(namespace: string, podName: string, status: KubeObject): void;
  /** The next request matching method and resource fails with this answer instead. */
  failNext(failure: InjectedFailure): void;
  close(): Promise<void>;
}

function statusBody(code: number, reason: string, message: string, details: KubeObject = {}): KubeObject {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: code < 400 ? "Success" : "Failure",
    message,
    reason,
    details,
    code,
  };
}

/** Equality-based selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`; set-based ones are refused. */
export function parseSelector(selector: string): (labels: Record<string, string>) => boolean {
  const terms = selector
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  const tests = terms.map((term): ((l: Record<string, string>) => boolean) => {
    let m = /^([^!=\s]+)\s*!=\s*(\S*)$/.exec(term);
    if (m) {
      const [, k, v] = m as unknown as [string, string, string];
      return (l) => l[k] !== v;
    }
    m = /^([^!=\s]+)\s*==?\s*(\S*)$/.exec(term);
    if (m) {
      const [, k, v] = m as unknown as [string, string, string];
      return (l) => l[k] === v;
    }
    m = /^(!?)([^!=\s()]+)$/.exec(term);
    if (m) {
      const [, not, k] = m as unknown as [string, string, string];
      return (l) => k in l !== (not === "!");
    }
    throw new Error(`unsupported labelSelector term "${term}"`);
  });
  return (labels) => tests.every((t) => t(labels));
}

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  /** namespace/resource/name → object */
  const store = new Map<string, KubeObject>();
  const requests: RecordedRequest[] = [];
  const failures: InjectedFailure[] = [];
  let resourceVersion = 1;
  const key = (r: Resource, ns: string, name: string) => `${ns}/${r}/${name}`;
  const bump = (obj: KubeObject) => {
    resourceVersion += 1;
    obj.metadata.resourceVersion = String(resourceVersion);
  };

  const list = (r: Resource, ns: string): KubeObject[] =>
    [...store.entries()]
      .filter(([k]) => k.startsWith(`${ns}/${r}/`))
      .map(([, v]) => v)
      .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));

  /** Background deletion: the ReplicaSet's pods go with their Deployment. */
  const collectPods = (ns: string, deployment: KubeObject) => {
    const matchLabels: Record<string, string> = deployment.spec?.selector?.matchLabels ?? {};
    for (const pod of list("pods", ns)) {
      const labels: Record<string, string> = pod.metadata.labels ?? {};
      if (Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) {
        store.delete(key("pods", ns, pod.metadata.name));
      }
    }
  };

  const send = (res: ServerResponse, code: number, body: KubeObject) => {
    const text = JSON.stringify(body);
    res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const method = req.method ?? "GET";
    requests.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams) });
    const m = PATH.exec(url.pathname);
    if (!m)
      return send(res, 404, statusBody(404, "NotFound", "the server could not find the requested resource"));
    const [, ns, resource, name] = m as unknown as [string, string, Resource, string | undefined];
    const info = RESOURCES[resource];
    const qualified = info.group === "" ? resource : `${resource}.${info.group}`;
    if (!VERBS[resource].includes(method) || (method === "POST" && name) || (method === "DELETE" && !name)) {
      return send(
        res,
        405,
        statusBody(405, "MethodNotAllowed", `${method} is not supported on ${url.pathname}`),
      );
    }
    const fi = failures.findIndex((f) => f.method === method && f.resource === resource);
    if (fi >= 0) {
      const [f] = failures.splice(fi, 1) as [InjectedFailure];
      return send(res, f.code, statusBody(f.code, f.reason, f.message));
    }

    if (method === "GET" && name === undefined) {
      let match: (l: Record<string, string>) => boolean = () => true;
      const selector = url.searchParams.get("labelSelector");
      if (selector) {
        try {
          match = parseSelector(selector);
        } catch (err) {
          return send(res, 400, statusBody(400, "BadRequest", (err as Error).message));
        }
      }
      const items = list(resource, ns).filter((o) => match(o.metadata.labels ?? {}));
      return send(res, 200, {
        kind: info.listKind,
        apiVersion: info.apiVersion,
        metadata: { resourceVersion: String(resourceVersion) },
        items,
      });
    }
    if (method === "GET" && name !== undefined) {
      const obj = store.get(key(resource, ns, name));
      if (!obj)
        return send(
          res,
          404,
          statusBody(404, "NotFound", `${qualified} "${name}" not found`, { name, kind: resource }),
        );
      return send(res, 200, obj);
    }
    if (method === "DELETE" && name !== undefined) {
      const obj = store.get(key(resource, ns, name));
      if (!obj)
        return send(
          res,
          404,
          statusBody(404, "NotFound", `${qualified} "${name}" not found`, { name, kind: resource }),
        );
      store.delete(key(resource, ns, name));
      if (resource === "deployments") collectPods(ns, obj);
      return send(
        res,
        200,
        statusBody(200, "", "", { name, group: info.group, kind: resource, uid: obj.metadata.uid }),
      );
    }

    // POST: create.
    let obj: KubeObject;
    try {
      obj = JSON.parse(body) as KubeObject;
    } catch {
      return send(res, 400, statusBody(400, "BadRequest", "request body is not JSON"));
    }
    const objName: unknown = obj.metadata?.name;
    // The API server takes the kind from the path when the body leaves it out.
    obj.kind ??= info.kind;
    obj.apiVersion ??= info.apiVersion;
    if (obj.kind !== info.kind || obj.apiVersion !== info.apiVersion) {
      return send(
        res,
        400,
        statusBody(
          400,
          "BadRequest",
          `expected ${info.apiVersion} ${info.kind}, got ${obj.apiVersion} ${obj.kind}`,
        ),
      );
    }
    if (obj.metadata?.namespace !== undefined && obj.metadata.namespace !== ns) {
      return send(
        res,
        400,
        statusBody(
          400,
          "BadRequest",
          "the namespace of the provided object does not match the namespace sent on the request",
        ),
      );
    }
    if (typeof objName !== "string" || !DNS_1123_LABEL.test(objName) || objName.length > 63) {
      return send(
        res,
        422,
        statusBody(
          422,
          "Invalid",
          `${info.kind} "${String(objName)}" is invalid: metadata.name: Invalid value`,
        ),
      );
    }
    try {
      info.validate?.(obj);
    } catch (err) {
      return send(
        res,
        422,
        statusBody(422, "Invalid", `${info.kind} "${objName}" is invalid: ${(err as Error).message}`),
      );
    }
    if (store.has(key(resource, ns, objName))) {
      return send(
        res,
        409,
        statusBody(409, "AlreadyExists", `${qualified} "${objName}" already exists`, {
          name: objName,
          group: info.group,
          kind: resource,
        }),
      );
    }
    obj.metadata = {
      ...obj.metadata,
      namespace: ns,
      uid: randomUUID(),
      generation: 1,
      creationTimestamp: new Date().toISOString(),
    };
    if (resource === "deployments") obj.status = {};
    bump(obj);
    store.set(key(resource, ns, objName), obj);
    return send(res, 201, obj);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let pods = 0;

  const mustFind = (r: Resource, ns: string, name: string): KubeObject => {
    const obj = store.get(key(r, ns, name));
    if (!obj) throw new Error(`fake-kube-api: no ${r} ${ns}/${name}`);
    return obj;
  };

  return {
    url,
    requests,
    kubeConfig(namespace = "default") {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
        users: [{ name: "fake", token: "fake-token" }],
        contexts: [{ name: "fake", cluster: "fake", user: "fake", namespace }],
        currentContext: "fake",
      });
      return kc;
    },
    list,
    find: (r, ns, name) => store.get(key(r, ns, name)),
    setDeploymentStatus(ns, name, status) {
      const d = mustFind("deployments", ns, name);
      d.status = { observedGeneration: d.metadata.generation, ...status };
      bump(d);
    },
    addPod(ns, deploymentName, status) {
      const d = mustFind("deployments", ns, deploymentName);
      pods += 1;
      const name = `${deploymentName}-5d8f7c9b4-${String(pods).padStart(5, "0")}`;
      const pod: KubeObject = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name,
          namespace: ns,
          uid: randomUUID(),
          labels: { ...d.spec.template.metadata.labels, "pod-template-hash": "5d8f7c9b4" },
          creationTimestamp: new Date(Date.now() + pods).toISOString(),
        },
        spec: d.spec.template.spec,
        status,
      };
      bump(pod);
      store.set(key("pods", ns, name), pod);
      return name;
    },
    setPodStatus(ns, podName, status) {
      const pod = mustFind("pods", ns, podName);
      pod.status = status;
      bump(pod);
    },
    failNext(failure) {
      failures.push(failure);
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** Pod statuses as the kubelet reports them, for tests to hand to addPod/setPodStatus. */
export const podStatus = {
  pending(message = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."): KubeObject {
    return {
      phase: "Pending",
      conditions: [
        {
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message,
          lastTransitionTime: new Date().toISOString(),
        },
      ],
    };
  },
  /** Container running; `ready` once /health answers 200. */
  running(ready: boolean, podIP = "127.0.0.1", restartCount = 0): KubeObject {
    const now = new Date().toISOString();
    return {
      phase: "Running",
      podIP,
      conditions: [
        { type: "PodScheduled", status: "True", lastTransitionTime: now },
        { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: now },
      ],
      containerStatuses: [
        {
          name: "worker",
          image: "img",
          imageID: "",
          ready,
          started: true,
          restartCount,
          state: { running: { startedAt: now } },
        },
      ],
    };
  },
  /** Container waiting, e.g. CrashLoopBackOff or ImagePullBackOff. */
  waiting(
    reason: string,
    message: string,
    restartCount = 0,
    lastExit?: { exitCode: number; message: string },
  ): KubeObject {
    const now = new Date().toISOString();
    return {
      phase: "Running",
      conditions: [
        { type: "PodScheduled", status: "True", lastTransitionTime: now },
        { type: "Ready", status: "False", lastTransitionTime: now },
      ],
      containerStatuses: [
        {
          name: "worker",
          image: "img",
          imageID: "",
          ready: false,
          restartCount,
          state: { waiting: { reason, message } },
          ...(lastExit
            ? {
                lastState: {
                  terminated: {
                    exitCode: lastExit.exitCode,
                    reason: "Error",
                    message: lastExit.message,
                    finishedAt: now,
                  },
                },
              }
            : {}),
        },
      ],
    };
  },
};
