/**
 * The UI's one page: HTML with its stylesheet and script inline, both under a nonce made for each
 * response, so the Content-Security-Policy allows nothing else (no other script, no style
 * attribute, no request beyond the gateway's own API, frames from this origin only).
 *
 * The script is client/ bundled by `npm run build` into dist/gateway/ui/client.js. This module
 * lies three folders below the package root both as src/gateway/ui/page.ts (tests) and as
 * dist/gateway/ui/page.js (built), so one relative path finds the bundle from either.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { TokenForgeError } from "../../errors.js";
import { UI_CSS } from "./styles.js";

const UI_SCRIPT_FILE = new URL("../../../dist/gateway/ui/client.js", import.meta.url);

/** The bundled client script, read on each call so that a rebuild shows without a restart. */
export async function readUiScript(file: URL = UI_SCRIPT_FILE): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    throw new TokenForgeError(
      "io_error",
      `the web UI's script is not built (no ${fileURLToPath(file)}): run npm run build`,
      { cause: err },
    );
  }
}

/** The policy sent with the page (as a header, so it covers the page from its first byte). */
export function uiContentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    // blob: frames the report fetched with the tab's API key (run.ts); it stays sandboxed.
    "frame-src 'self' blob:",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export function renderUiPage(nonce: string, version: string, script: string): string {
  const n = nonce.replace(/[^A-Za-z0-9+/=]/g, "");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>TokenForge</title>
<link rel="icon" href="data:,">
<style nonce="${n}">${UI_CSS}</style>
</head>
<body>
<header class="top">
<h1>TokenForge</h1>
<nav>
<a href="#/deployments" data-view="deployments">Deployments</a>
<a href="#/runs" data-view="runs">Runs</a>
<a href="#/compare" data-view="compare">Compare</a>
<a href="#/new" data-view="new">New run</a>
<a href="/docs">API</a>
</nav>
<span class="dim">gateway ${version.replace(/[^A-Za-z0-9.+-]/g, "")}</span>
</header>
<main id="view"><noscript>This page needs JavaScript; the same data is at /deployments and /benchmarks.</noscript></main>
<script nonce="${n}">${script}</script>
</body>
</html>
`;
}
