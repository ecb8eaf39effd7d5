/**
 * The status page's script (GET /status.js): plain browser JavaScript, no build step, no
 * dependency. It renders GET /debug/status and then every `status` event of /debug/events
 * (EventSource reconnects by itself; while the stream is down the page says so and reads
 * /debug/status every 5 s). The service list and a host's YAML are fetched on demand.
 *
 * Everything shown comes from registries and is untrusted: the DOM is built with
 * createElement and textContent only, never innerHTML, and links are built from fixed paths.
 * (A string in a TS module because tsc copies no other file and the image holds only dist/.)
 */
export const STATUS_JS = `'use strict';
(function () {
  var summary = null;
  var listKey = '';
  var selectedHost = null;
  var live = false;
  var pollTimer = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function td(text, cls) { return el('td', cls, text); }
  function badge(text, cls) { return el('span', 'badge ' + cls, text); }

  function ago(ms) {
    if (ms === undefined || ms === null) return 'never';
    var t = typeof ms === 'number' ? ms : Date.parse(ms);
    if (!isFinite(t)) return String(ms);
    var s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min ago';
    return Math.floor(s / 86400) + ' d ago';
  }
  function when(ms) {
    if (ms === undefined || ms === null) return null;
    var d = new Date(typeof ms === 'number' ? ms : Date.parse(ms));
    return isNaN(d.getTime()) ? null : d.toISOString();
  }
  function timeCell(ms) {
    var c = td(ago(ms));
    var iso = when(ms);
    if (iso) c.title = iso;
    return c;
  }

  function getJson(path) {
    return fetch(path, { cache: 'no-store', headers: { Accept: 'application/json' } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error((body && body.error && body.error.message) || ('HTTP ' + r.status));
        return body;
      });
    });
  }

  var PUBLISHED = { ServiceEntry: true, WorkloadEntry: true };
  var STATE_CLASS = { ok: 'ok', syncing: 'info', stale: 'warn', held: 'warn', unreachable: 'bad' };

  function renderHeader(s) {
    var ready = $('ready');
    ready.textContent = s.ready ? 'ready' : 'not ready';
    ready.className = 'badge ' + (s.ready ? 'ok' : 'bad');
    $('snapshot').textContent = s.snapshot
      ? 'snapshot ' + s.snapshot.version + ' #' + s.snapshot.sequence + ', ' + Object.keys(s.snapshot.resources).map(function (k) { return s.snapshot.resources[k] + ' ' + k; }).join(', ') + ', published ' + ago(s.snapshot.createdAt)
      : 'nothing published yet';
    var lines = (s.reasons || []).concat((s.notes || []).map(function (n) { return 'note: ' + n; }));
    var ul = $('reasons');
    clear(ul);
    lines.forEach(function (l) { ul.appendChild(el('li', null, l)); });
    $('reasons-section').hidden = lines.length === 0;
  }

  function registryState(r) {
    var cell = td(null);
    cell.appendChild(badge(r.state, STATE_CLASS[r.state] || 'info'));
    if (r.state !== 'stale' && r.stale) cell.appendChild(document.createTextNode(' ')), cell.appendChild(badge('stale', 'warn'));
    if (!r.connected && r.state !== 'unreachable' && r.state !== 'syncing') cell.appendChild(document.createTextNode(' ')), cell.appendChild(badge('disconnected', 'bad'));
    if (r.progress) {
      var p = r.progress;
      cell.appendChild(el('div', 'sub muted', 'listing: ' + p.listed + ' ' + p.unit + (p.pending !== undefined ? ', ' + p.pending + ' reads queued' : '')));
    }
    if (r.held) {
      cell.appendChild(el('div', 'sub', 'deletions held since ' + ago(r.held.since) + ' (' + r.held.reasons.join(', ') + '; ' + r.held.services + ' services)' + (r.held.releaseAt ? ', released by time ' + r.held.releaseAt : '')));
      var cmd = 'curl -X POST "' + location.origin + '/debug/release?registry=' + encodeURIComponent(r.name) + '"';
      cell.appendChild(el('code', 'sub', cmd));
    }
    return cell;
  }

  function renderRegistries(list) {
    var body = $('registries').tBodies[0];
    clear(body);
    list.forEach(function (r) {
      var tr = el('tr');
      tr.dataset.registry = r.name;
      tr.dataset.state = r.state;
      var name = td(null);
      name.appendChild(el('strong', null, r.name));
      name.appendChild(el('div', 'sub muted', r.kind));
      tr.appendChild(name);
      tr.appendChild(registryState(r));
      tr.appendChild(td(r.services, 'num'));
      tr.appendChild(td(r.endpoints, 'num'));
      tr.appendChild(timeCell(r.lastChangeTime));
      tr.appendChild(timeCell(r.lastSyncTime));
      var err = td(null);
      if (r.lastError) {
        err.appendChild(el('span', 'mono bad', r.lastError.code));
        err.appendChild(el('div', 'sub', r.lastError.message));
      } else err.appendChild(el('span', 'muted', 'none'));
      tr.appendChild(err);
      body.appendChild(tr);
    });
  }

  function card(title, rows) {
    var c = el('div', 'card');
    c.appendChild(el('h3', null, title));
    var dl = el('dl');
    rows.forEach(function (row) {
      if (!row) return;
      dl.appendChild(el('dt', null, row[0]));
      var dd = el('dd', row[2] || null);
      if (row[1] instanceof Node) dd.appendChild(row[1]);
      else dd.textContent = String(row[1]);
      dl.appendChild(dd);
    });
    c.appendChild(dl);
    return c;
  }

  function xdsClients(server) {
    if (server.clients.length === 0) return el('span', 'muted', 'no client connected');
    var t = el('table');
    var head = el('tr');
    ['client', 'type', 'sent', 'ACKed', 'NACKs'].forEach(function (h) { head.appendChild(el('th', null, h)); });
    t.appendChild(head);
    server.clients.forEach(function (c) {
      // The published kinds and any type that is not settled get a row; the other (empty) types one line.
      var shown = c.types.filter(function (ty) { return PUBLISHED[ty.type] || ty.nacks > 0 || ty.acked !== ty.sent; });
      var rest = c.types.length - shown.length;
      if (rest > 0) shown.push({ type: rest + ' other types', sent: 'empty', acked: 'empty', nacks: 0, settled: true });
      shown.forEach(function (ty, i) {
        var tr = el('tr');
        var who = td(i === 0 ? (c.nodeId || ('stream ' + c.id)) : '');
        if (i === 0) who.title = c.peer + ', connected ' + c.connectedAt;
        tr.appendChild(who);
        tr.appendChild(td(ty.type, 'mono'));
        tr.appendChild(td(ty.sent || '-', 'mono'));
        tr.appendChild(td(ty.acked || '-', 'mono' + (ty.settled || (ty.acked && ty.acked === ty.sent) ? ' ok' : ' warn')));
        var n = td(ty.nacks, 'num' + (ty.nacks > 0 ? ' bad' : ''));
        if (ty.lastNack) n.title = ty.lastNack;
        tr.appendChild(n);
        t.appendChild(tr);
      });
    });
    return t;
  }

  function renderSinks(sinks) {
    var box = $('sinks');
    clear(box);
    var k = sinks.kubernetes;
    if (k) {
      box.appendChild(card('Kubernetes', [
        ['leader', k.leader ? 'yes' : 'no (standby)', k.leader ? 'ok' : 'warn'],
        ['caches synced', k.cachesSynced ? 'yes' : 'no', k.cachesSynced ? 'ok' : 'warn'],
        ['last write', ago(k.lastWriteTime)],
        ['last pass', ago(k.lastReconcile)],
        ['pending writes', k.pendingWrites + (k.pendingWrites > 0 ? ' (oldest ' + Math.round(k.oldestPendingMs / 1000) + ' s)' : ''), k.pendingWrites > 0 ? 'warn' : null],
        ['writes', k.writes.apply + ' applied, ' + k.writes.delete + ' deleted, ' + k.writes.failed + ' failed', k.writes.failed > 0 ? 'bad' : null],
        ['clashes', k.clashes === 0 ? 'none' : k.clashes + ': ' + k.clashList.map(function (c) { return c.host + ' (' + c.claimedBy + ')'; }).join(', '), k.clashes > 0 ? 'bad' : null],
        k.heldDeletions.length > 0 ? ['held deletions', k.heldDeletions.map(function (h) { return h.registry + ' ' + h.kind + ': ' + h.wouldDelete + ' of ' + h.owned; }).join(', '), 'warn'] : null,
      ]));
    }
    if (sinks.xds) {
      sinks.xds.servers.forEach(function (s) {
        box.appendChild(card('xDS' + (s.shard !== undefined && s.shard !== null ? ' shard ' + s.shard : '') + (s.port ? ' :' + s.port : ''), [
          ['serving', s.serving ? 'yes' : 'no (waiting for the first sync)', s.serving ? 'ok' : 'warn'],
          ['clients', xdsClients(s)],
        ]));
      });
    }
    var r = sinks.render;
    if (r) {
      box.appendChild(card('Render (' + r.mode + ')', [
        ['last write', ago(r.lastWriteTime)],
        ['version', r.lastVersion || '-'],
        r.files !== undefined ? ['files', r.files] : null,
        ['failures', r.failures, r.failures > 0 ? 'bad' : null],
        r.lastError ? ['last error', (r.lastError.code || '') + ' ' + (r.lastError.message || ''), 'bad'] : null,
      ]));
    }
    if (!box.firstChild) box.appendChild(el('p', 'muted', 'No sink configured.'));
  }

  function renderProblems(list) {
    var t = $('problems');
    var body = t.tBodies[0];
    clear(body);
    t.hidden = list.length === 0;
    $('problems-none').hidden = list.length > 0;
    list.forEach(function (p) {
      var tr = el('tr');
      tr.appendChild(td(p.code, 'mono'));
      tr.appendChild(td(p.count, 'num'));
      tr.appendChild(td(p.registries.join(', ')));
      var msg = td(p.last.message);
      if (p.last.path) msg.title = p.last.path;
      tr.appendChild(msg);
      tr.appendChild(timeCell(p.last.time));
      body.appendChild(tr);
    });
  }

  function render(s) {
    summary = s;
    renderHeader(s);
    renderRegistries(s.registries);
    renderSinks(s.sinks);
    renderProblems(s.problems);
    var key = (s.snapshot ? s.snapshot.sequence : 0) + '|' + s.registries.map(function (r) { return r.name + ':' + r.services + ':' + r.endpoints + ':' + r.lastChangeTime; }).join(',');
    if (key !== listKey) {
      listKey = key;
      loadServices();
      if (selectedHost !== null) loadObjects(selectedHost);
    }
  }

  var servicesSeq = 0;
  function loadServices() {
    var q = $('search').value.trim();
    var seq = ++servicesSeq;
    getJson('/debug/services?limit=200&q=' + encodeURIComponent(q)).then(function (list) {
      if (seq !== servicesSeq) return;
      renderServices(list);
    }, function (e) {
      if (seq === servicesSeq) $('services-count').textContent = 'cannot list services: ' + e.message;
    });
  }

  function renderServices(list) {
    var body = $('services').tBodies[0];
    clear(body);
    $('services-count').textContent = list.matched + ' of ' + list.total + ' services' + (list.matched > list.services.length ? ' (first ' + list.services.length + ' shown)' : '');
    list.services.forEach(function (s) {
      var tr = el('tr');
      tr.tabIndex = 0;
      if (s.host) tr.dataset.host = s.host;
      if (s.host !== undefined && s.host === selectedHost) tr.className = 'selected';
      tr.appendChild(td(s.host || '(no valid host)', s.host ? 'mono host' : 'muted'));
      tr.appendChild(td(s.registry));
      tr.appendChild(td(s.name, 'mono service-name'));
      tr.appendChild(td(s.healthy === s.endpoints ? s.endpoints : s.healthy + ' / ' + s.endpoints, 'num'));
      tr.appendChild(td(s.ports.join('\\n'), 'mono ports'));
      var open = function () {
        if (!s.host) return;
        Array.prototype.forEach.call(body.rows, function (row) { row.className = ''; });
        tr.className = 'selected';
        loadObjects(s.host);
      };
      tr.addEventListener('click', open);
      tr.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') open(); });
      body.appendChild(tr);
    });
  }

  function loadObjects(host) {
    selectedHost = host;
    $('objects').hidden = false;
    $('objects-host').textContent = host;
    getJson('/debug/objects?host=' + encodeURIComponent(host)).then(function (o) {
      if (selectedHost !== host) return;
      $('objects-note').textContent = !o.published ? 'Nothing published yet.' : o.resources.length === 0 ? 'No published object for this host (skipped or hidden: see Problems).' : o.resources.length + ' object(s)' + (o.truncated ? ', the first shown' : '');
      $('objects-yaml').textContent = o.yaml;
    }, function (e) {
      if (selectedHost === host) $('objects-note').textContent = 'cannot read the objects: ' + e.message;
    });
  }

  function setLive(on, text) {
    live = on;
    var l = $('live');
    l.textContent = text;
    l.className = 'live ' + (on ? 'ok' : 'warn');
  }

  function refresh() { return getJson('/debug/status').then(render, function (e) { setLive(false, 'admin server unreachable: ' + e.message); }); }

  function startPolling() {
    if (pollTimer === null) pollTimer = setInterval(function () { if (!live) refresh(); }, 5000);
  }

  function connect() {
    if (!window.EventSource) {
      setLive(false, 'no EventSource: refreshing every 5 s');
      startPolling();
      return;
    }
    var es = new EventSource('/debug/events');
    es.addEventListener('status', function (ev) {
      setLive(true, 'live');
      render(JSON.parse(ev.data));
    });
    es.onopen = function () { setLive(true, 'live'); };
    es.onerror = function () {
      setLive(false, 'reconnecting...');
      startPolling();
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
  }

  document.addEventListener('DOMContentLoaded', function () {
    var t = null;
    $('search').addEventListener('input', function () {
      clearTimeout(t);
      t = setTimeout(loadServices, 200);
    });
    $('objects-close').addEventListener('click', function () {
      selectedHost = null;
      $('objects').hidden = true;
      Array.prototype.forEach.call($('services').tBodies[0].rows, function (row) { row.className = ''; });
    });
    setInterval(function () { if (summary) render(summary); }, 5000);
    refresh().then(connect);
  });
})();
`;
