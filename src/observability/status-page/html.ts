/**
 * The status page's HTML (GET /). A static skeleton: every value is filled in by /status.js
 * from GET /debug/status and the /debug/events stream, with textContent only. No inline script
 * or style (the Content-Security-Policy forbids both), no external resource.
 */
export const STATUS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Meshbridge status</title>
<link rel="stylesheet" href="/status.css">
<script src="/status.js" defer></script>
</head>
<body>
<header>
  <h1>Meshbridge</h1>
  <span id="ready" class="badge">loading</span>
  <span id="snapshot" class="muted"></span>
  <span id="live" class="live" title="live updates (server-sent events from /debug/events)">connecting</span>
</header>
<main>
  <section id="reasons-section" hidden>
    <ul id="reasons"></ul>
  </section>
  <section>
    <h2>Registries</h2>
    <table id="registries">
      <thead><tr><th>Registry</th><th>State</th><th class="num">Services</th><th class="num">Endpoints</th><th>Last change</th><th>Last sync</th><th>Last error</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2>Sinks</h2>
    <div id="sinks" class="cards"></div>
  </section>
  <section>
    <h2>Problems by code</h2>
    <p id="problems-none" class="muted">No problems reported.</p>
    <table id="problems" hidden>
      <thead><tr><th>Code</th><th class="num">Count</th><th>Registries</th><th>Latest</th><th>When</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2>Services</h2>
    <div class="toolbar">
      <input id="search" type="search" placeholder="Search host, service or registry" autocomplete="off" spellcheck="false" aria-label="Search services">
      <span id="services-count" class="muted"></span>
    </div>
    <div class="split">
      <table id="services">
        <thead><tr><th>Host</th><th>Registry</th><th>Service (as registered)</th><th class="num">Endpoints</th><th>Ports</th></tr></thead>
        <tbody></tbody>
      </table>
      <aside id="objects" hidden>
        <div class="objects-head"><strong id="objects-host"></strong> <button id="objects-close" type="button">close</button></div>
        <p id="objects-note" class="muted"></p>
        <pre id="objects-yaml"></pre>
      </aside>
    </div>
  </section>
</main>
<footer class="muted">JSON: <a href="/debug/status">/debug/status</a> · <a href="/debug/services">/debug/services</a> · <a href="/debug">/debug</a> · <a href="/metrics">/metrics</a> · <a href="/readyz?verbose">/readyz?verbose</a></footer>
</body>
</html>
`;
