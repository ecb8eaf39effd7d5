/** The status page's stylesheet (GET /status.css): plain CSS, light and dark, no web fonts. */
export const STATUS_CSS = `:root {
  --bg: #fff; --fg: #1b1f24; --muted: #5f6b7a; --line: #d8dee4; --head: #f3f5f7;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --info: #0969da; --sel: #ddf4ff;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #8d96a0; --line: #30363d; --head: #161b22;
    --ok: #3fb950; --warn: #d29922; --bad: #f85149; --info: #58a6ff; --sel: #1f2d3d; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; gap: 12px; align-items: center; padding: 10px 16px; border-bottom: 1px solid var(--line); background: var(--head); position: sticky; top: 0; z-index: 1; }
header h1 { font-size: 18px; margin: 0; }
main { padding: 8px 16px 24px; }
h2 { font-size: 15px; margin: 18px 0 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--head); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.mono, pre, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); } .info { color: var(--info); }
.live { margin-left: auto; font-size: 12px; }
.live::before { content: "\\25CF  "; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 280px; flex: 1 1 320px; }
.card h3 { font-size: 14px; margin: 0 0 6px; }
.card dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
.card dt { color: var(--muted); }
.card dd { margin: 0; overflow-wrap: anywhere; }
.toolbar { display: flex; gap: 12px; align-items: center; margin-bottom: 6px; }
#search { width: min(480px, 100%); padding: 5px 8px; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); }
.split { display: flex; gap: 12px; align-items: flex-start; }
.split > table { flex: 1 1 60%; }
#services tbody tr { cursor: pointer; }
#services tbody tr:hover, #services tbody tr.selected { background: var(--sel); }
#services td { overflow-wrap: anywhere; }
#services td.host, #services td.ports { white-space: pre; overflow-wrap: normal; }
aside { flex: 1 1 40%; min-width: 320px; border: 1px solid var(--line); border-radius: 6px; padding: 8px; position: sticky; top: 52px; max-height: calc(100vh - 70px); overflow: auto; }
.objects-head { display: flex; justify-content: space-between; align-items: center; gap: 8px; overflow-wrap: anywhere; }
pre { margin: 6px 0 0; white-space: pre; overflow: auto; }
ul { margin: 4px 0; padding-left: 20px; }
.sub { font-size: 12px; }
footer { padding: 8px 16px 16px; font-size: 12px; }
a { color: var(--info); }
`;
