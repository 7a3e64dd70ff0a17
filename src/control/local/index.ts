/** The local deployment backend: worker processes on this machine. */
export { LocalBackend, type LocalBackendOptions } from "./backend.js";
export { DEFAULT_RESTART_POLICY, type RestartPolicy } from "./restart-policy.js";
