/**
 * Object names and labels: how a TokenForge deployment id becomes Kubernetes names (DNS-1123,
 * `tf-<id>`) and the labels that find every object of a deployment again.
 */
import { createHash } from "node:crypto";
import { TokenForgeError } from "../../errors.js";

/** Label keys on every object the backend creates (and on its pods). */
export const LABEL = {
  name: "app.kubernetes.io/name",
  managedBy: "app.kubernetes.io/managed-by",
  deployment: "tokenforge.dev/deployment",
  runtime: "tokenforge.dev/runtime",
} as const;

/** Annotation keys: values that need not fit a label's charset. */
export const ANNOTATION = {
  id: "tokenforge.dev/id",
  model: "tokenforge.dev/model",
} as const;

export const WORKER_APP = "tokenforge-worker";
export const MANAGER = "tokenforge";
export const NAME_PREFIX = "tf-";

/** A Service name is a DNS-1035 label: at most 63 characters. */
const MAX_NAME = 63;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function isDns1123Label(value: string): boolean {
  return value.length <= MAX_NAME && DNS_1123_LABEL.test(value);
}

/** A DNS-1123 subdomain (names of PVCs, Secrets): dot-separated labels, at most 253 characters. */
export function isDns1123Subdomain(value: string): boolean {
  return value.length > 0 && value.length <= 253 && value.split(".").every((p) => DNS_1123_LABEL.test(p));
}

export function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

/**
 * `tf-<id>` made DNS-1123: lower case, every run of other characters turned into one `-`. An id
 * too long for 63 characters is cut and given 8 hex digits of its hash, so two long ids that share
 * a prefix still get different names. Throws `invalid_request` on field "id" when nothing is left.
 */
export function objectName(id: string): string {
  const stem = id
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (stem === "") {
    throw new TokenForgeError(
      "invalid_request",
      `deployment id "${id}" has no letters or digits to build a Kubernetes name from`,
      { field: "id" },
    );
  }
  const full = NAME_PREFIX + stem;
  if (full.length <= MAX_NAME) return full;
  const hash = createHash("sha256").update(id).digest("hex").slice(0, 8);
  const cut = full.slice(0, MAX_NAME - hash.length - 1).replace(/-+$/, "");
  return `${cut}-${hash}`;
}

/**
 * The `tokenforge.dev/deployment` label's value: the id itself when it fits a label value (the
 * usual case), else its object name. The raw id is always in the `tokenforge.dev/id` annotation.
 */
export function deploymentLabelValue(id: string): string {
  return isLabelValue(id) && id !== "" ? id : objectName(id);
}

/** The selector of one deployment's pods (immutable once the Deployment exists). */
export function podSelector(id: string): Record<string, string> {
  return { [LABEL.name]: WORKER_APP, [LABEL.deployment]: deploymentLabelValue(id) };
}

/** Labels on the Deployment, its pod template and its Service. */
export function objectLabels(id: string, runtime: string): Record<string, string> {
  return {
    ...podSelector(id),
    [LABEL.managedBy]: MANAGER,
    [LABEL.runtime]: isLabelValue(runtime) ? runtime : "other",
  };
}

/** `key=value,…` for a list call's labelSelector. */
export function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** Every worker object this backend manages, in any deployment. */
export const MANAGED_SELECTOR: string = selectorString({
  [LABEL.name]: WORKER_APP,
  [LABEL.managedBy]: MANAGER,
});
