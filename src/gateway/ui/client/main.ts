/**
 * The UI script's entry: every view under the name its hash starts with, and the router started
 * on the page's main element. The build bundles this file and what it imports into one script.
 */
import { compareView } from "./compare.js";
import { deploymentsView } from "./deployments.js";
import { newRunView } from "./new-run.js";
import { startRouter, type View } from "./router.js";
import { runView } from "./run.js";
import { runsView } from "./runs.js";

const views = new Map<string, View>([
  ["deployments", deploymentsView],
  ["runs", runsView],
  ["run", runView],
  ["compare", compareView],
  ["new", newRunView],
]);

startRouter(document.getElementById("view")!, views);
