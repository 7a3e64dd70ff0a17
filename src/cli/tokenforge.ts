#!/usr/bin/env node
/** The `tokenforge` executable. */
import { runCli } from "./main.js";

await runCli(process.argv);
