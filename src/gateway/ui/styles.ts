/** The UI's stylesheet (inlined in the page under the response's nonce). */
export const UI_CSS = `
:root { color-scheme: light; --ok: #17612a; --ok-bg: #e3f4e6; --bad: #9b1c1c; --bad-bg: #fde2e1; --wait: #8a5a00; --wait-bg: #fff3cd; --dim: #666; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; background: #fafafa; margin: 0; }
header.top { display: flex; align-items: baseline; gap: 24px; padding: 10px 24px; background: #1f2937; color: #fff; }
header.top h1 { font-size: 18px; margin: 0; }
nav a { color: #d1d5db; text-decoration: none; margin-right: 16px; padding-bottom: 2px; }
nav a.active { color: #fff; border-bottom: 2px solid #60a5fa; }
nav a:hover { color: #fff; }
main { padding: 12px 24px 48px; max-width: 1400px; }
h2 { font-size: 19px; margin: 12px 0 10px; } h3 { font-size: 16px; margin: 22px 0 6px; }
a { color: #1d4ed8; }
.dim { color: var(--dim); font-weight: normal; font-size: 13px; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12.5px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; }
td.last-error { color: var(--bad); max-width: 420px; word-break: break-word; }
.status { display: inline-block; padding: 0 8px; border-radius: 10px; font-weight: 600; font-size: 12.5px; background: #eee; color: #333; }
.status-ready, .status-complete { background: var(--ok-bg); color: var(--ok); }
.status-failed, .status-incomplete { background: var(--bad-bg); color: var(--bad); }
.status-pending, .status-starting, .status-queued, .status-running { background: var(--wait-bg); color: var(--wait); }
.status-stopped, .status-cancelled { background: #e5e7eb; color: #374151; }
.error { background: var(--bad-bg); color: var(--bad); border: 1px solid #f1a7a4; border-radius: 4px; padding: 8px 12px; margin: 8px 0; }
.error p { margin: 0; font-weight: 600; white-space: pre-wrap; } .error ul { margin: 4px 0 0; padding-left: 20px; }
.note { background: #fff8e1; border: 1px solid #f0d98c; padding: 6px 10px; border-radius: 4px; }
.empty { color: var(--dim); font-style: italic; }
button { font: inherit; padding: 3px 12px; border: 1px solid #9ca3af; border-radius: 4px; background: #fff; cursor: pointer; }
button:disabled { cursor: default; opacity: 0.5; }
button.danger { border-color: #e8a3a0; color: var(--bad); }
form.filters, form.compare-form { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin-bottom: 10px; }
.actions { margin-top: 10px; }
form.key-prompt { position: fixed; top: 16px; left: 50%; transform: translateX(-50%); z-index: 10; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; max-width: 560px; background: #fff; border: 1px solid #999; border-radius: 6px; padding: 12px 16px; box-shadow: 0 4px 16px rgba(0,0,0,.2); }
form.key-prompt p { flex-basis: 100%; margin: 0; } form.key-prompt input { flex: 1; }
form.new-run { display: grid; gap: 8px; max-width: 640px; }
form.new-run label { display: grid; grid-template-columns: 200px 1fr; align-items: center; gap: 8px; }
form.new-run fieldset { display: grid; gap: 8px; border: 1px solid #d1d5db; border-radius: 4px; }
form.new-run button { justify-self: start; }
form.new-run .inline { display: flex; gap: 8px; align-items: center; }
details { margin-top: 18px; } textarea { font-family: ui-monospace, Menlo, monospace; font-size: 12.5px; width: 100%; max-width: 760px; }
dl.meta { display: flex; flex-wrap: wrap; gap: 4px 24px; margin: 6px 0; } dl.meta dt { color: var(--dim); font-size: 12px; } dl.meta dd { margin: 0; }
.progress { margin: 8px 0; } .progress progress { width: 360px; }
iframe.report { width: 100%; height: 900px; border: 1px solid #d1d5db; background: #fff; }
.side { margin: 2px 0; }
tr.metric-worse td { background: var(--bad-bg); }
tr.metric-better td { background: var(--ok-bg); }
.verdict-worse { color: var(--bad); font-weight: 700; }
.verdict-better { color: var(--ok); font-weight: 700; }
.verdict-missing { color: var(--dim); }
`;
