/** The UI's whole script: the shared part, every view, then the router's start. */
import { COMPARE_VIEW } from "./compare.js";
import { CORE_SCRIPT, START_SCRIPT } from "./core.js";
import { DEPLOYMENTS_VIEW } from "./deployments.js";
import { NEW_RUN_VIEW } from "./new-run.js";
import { RUN_VIEW } from "./run.js";
import { RUNS_VIEW } from "./runs.js";

export const UI_SCRIPT = `(() => {
"use strict";
${[CORE_SCRIPT, DEPLOYMENTS_VIEW, RUNS_VIEW, RUN_VIEW, COMPARE_VIEW, NEW_RUN_VIEW, START_SCRIPT].join("\n")}
})();
`;
