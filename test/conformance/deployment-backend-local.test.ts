/** The local backend against the deployment-backend suite, its workers the stand-in worker process. */
import { defineBackendConformance } from "./deployment-backend.js";
import { localTarget } from "./deployment-backend-local.js";

defineBackendConformance("local", { reachableEndpoints: true }, localTarget);
