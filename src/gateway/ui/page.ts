/**
 * The UI's one page: HTML with its stylesheet and script inline, both under a nonce made for each
 * response, so the Content-Security-Policy allows nothing else (no other script, no style
 * attribute, no request beyond the gateway's own API, frames from this origin only).
 */
import { UI_SCRIPT } from "./client/index.js";
import { UI_CSS } from "./styles.js";

/** The policy sent with the page (as a header, so it covers the page from its first byte). */
export function uiContentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "frame-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export function renderUiPage(nonce: string, version: string): string {
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
<script nonce="${n}">${UI_SCRIPT}</script>
</body>
</html>
`;
}
