#!/usr/bin/env node
/**
 * The `tokenforge` executable. It checks the Node version before importing anything: the CLI's
 * dependencies fail to load on older Node with a stack trace that says nothing of the cause.
 */
const MIN_NODE_MAJOR = 22;
const major = Number(process.versions.node.split(".")[0]);
if (!(major >= MIN_NODE_MAJOR)) {
  process.stderr.write(
    `TokenForge needs Node ${MIN_NODE_MAJOR} or newer; this is Node ${process.versions.node} (${process.execPath}).\n` +
      "Install Node 22 or newer (https://nodejs.org, or `nvm install 22`); inside a TokenForge checkout, `npx tokenforge …` runs the Node 22 that npm install put in node_modules.\n",
  );
  process.exit(1);
}
const { runCli } = await import("./main.js");
await runCli(process.argv);
