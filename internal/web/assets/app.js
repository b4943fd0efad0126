// evsim Central — live panel.
//
// Every piece of data reaches the page through textContent or a property,
// never as markup, so a charge point named "<script>" stays text. The page
// keeps one EventSource on /api/stream; the first message of each connection
// is a full snapshot, so a reconnect (server or Central restarted) resyncs
// everything. A watchdog reopens the stream when pings stop arriving.
'use strict';

(function () {
  const STATES = ['ACTIVATED', 'SUPPLYING', 'STOPPED', 'FAULT', 'DISCONNECTED', 'WAITING', 'REJECTED', 'REVOKED', 'UNREGISTERED', 'ENCRYPTION_ERROR'];
  const LABELS = {
    ALL: 'All', ACTIVATED: 'Activated', SUPPLYING: 'Supplying', STOPPED: 'Out of order',
    FAULT: 'Fault', DISCONNECTED: 'Disconnected', WAITING: 'Not yet available',
    REJECTED: 'Registration rejected', REVOKED: 'Revoked', UNREGISTERED: 'Not registered', UNKNOWN: 'Unknown',
    ENCRYPTION_ERROR: 'Encryption error',
  };
  const FEED_MAX = 200;
  const STALE_MS = 25000; // no message for this long: the stream is dead
  const TOKEN_KEY = 'evsim.operatorToken';

  const $ = (id) => document.getElementById(id);
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  const nf = (digits) => new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const fmt0 = nf(0), fmt1 = nf(1), fmt2 = nf(2), fmt3 = nf(3);
  const num = (x) => (typeof x === 'number' && isFinite(x) ? x : 0);
  const clock = (iso) => {
    const d = iso ? new Date(iso) : new Date();
    return isNaN(d) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  };
  const safeState = (s) => (STATES.includes(s) ? s : 'UNKNOWN');
  const safeKind = (k) => (/^[a-z_]{1,24}$/.test(k || '') ? k : 'other');

  const st = {
    cps: new Map(),   // id -> charge point JSON
    tiles: new Map(), // id -> tile element
    filter: 'ALL',
    query: '',
    density: 'auto',  // auto | compact | comfortable
    totals: null,
    operatorEnabled: false,
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    lastMessage: 0,
    connected: false,
  };

  // ---- tiles ------------------------------------------------------------

  function actionButton(act, label, cls) {
    const b = el('button', 'btn ' + (cls || ''), label);
    b.type = 'button';
    b.dataset.act = act;
    b.disabled = !document.body.classList.contains('unlocked');
    return b;
  }

  function makeTile(id) {
    const t = el('article', 'tile');
    t.dataset.id = id;
    const head = el('div', 'tile-head');
    const idEl = el('span', 'cp-id', id);
    const badge = el('span', 'badge');
    head.append(idEl, badge);
    const loc = el('div', 'loc');
    const meta = el('div', 'meta');
    const price = el('span', 'price');
    const rated = el('span', 'rated');
    meta.append(price, rated);
    const live = el('div', 'live');
    const fig = (cls, unit) => {
      const f = el('div', 'fig ' + cls);
      const b = el('b');
      f.append(b, el('span', null, unit));
      live.append(f);
      return b;
    };
    const kw = fig('kw', 'kW'), kwh = fig('kwh', 'kWh'), eur = fig('eur', 'EUR');
    const driver = el('div', 'driver');
    live.append(driver);
    const reason = el('div', 'reason');
    const actions = el('div', 'actions op-only');
    const stop = actionButton('stop', 'Stop', 'warn');
    const resume = actionButton('resume', 'Resume', 'primary');
    const ko = actionButton('ko', 'KO engine');
    const unko = actionButton('unko', 'Repair');
    const revokeKey = actionButton('revoke-key', 'Revoke key', 'warn');
    const rotateKey = actionButton('rotate-key', 'New key');
    actions.append(stop, resume, ko, unko, revokeKey, rotateKey);
    t.append(head, loc, meta, live, reason, actions);
    t.parts = { badge, loc, price, rated, live, kw, kwh, eur, driver, reason, stop, resume, ko, unko, revokeKey, rotateKey };
    return t;
  }

  function renderTile(t, cp) {
    const p = t.parts;
    const state = safeState(cp.state);
    const prev = t.dataset.state;
    t.className = 'tile s-' + state;
    t.dataset.state = state;
    if (prev && prev !== state) {
      void t.offsetWidth; // restart the animation
      t.classList.add('flash');
    }
    p.badge.textContent = cp.label || LABELS[state];
    p.loc.textContent = cp.location || '—';
    p.price.textContent = fmt2.format(num(cp.price_eur_per_kwh)) + ' €/kWh';
    p.rated.textContent = cp.rated_kw ? fmt0.format(cp.rated_kw) + ' kW' : '';
    const s = cp.session;
    p.live.hidden = !s;
    if (s) {
      p.kw.textContent = fmt1.format(num(s.kw));
      p.kwh.textContent = fmt2.format(num(s.kwh));
      p.eur.textContent = fmt2.format(num(s.eur));
      p.driver.textContent = 'Driver ' + (s.driver_id || '?');
    }
    // Why a charge point is out of service, and since when.
    const showReason = state !== 'ACTIVATED' && state !== 'SUPPLYING' && (cp.reason || cp.since);
    p.reason.textContent = showReason ? [cp.reason, cp.since && 'since ' + clock(cp.since)].filter(Boolean).join(' · ') : '';
    p.reason.hidden = !showReason;
    p.stop.hidden = state === 'STOPPED';
    p.resume.hidden = state !== 'STOPPED';
    p.ko.hidden = state === 'FAULT';
    p.unko.hidden = state !== 'FAULT';
    p.revokeKey.hidden = state === 'REVOKED';
    let title = cp.id + ' · ' + (cp.label || LABELS[state]);
    if (cp.reason) title += ' — ' + cp.reason;
    if (cp.since) title += ' (since ' + clock(cp.since) + ')';
    if (cp.location) title += '\n' + cp.location;
    t.title = title;
    t.hidden = !matches(cp);
  }

  // CP-2 before CP-10: ids sort the way people read them.
  const byId = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' }).compare;

  // upsert shows cp; a new tile goes to its place unless the caller
  // re-sorts the whole grid afterwards (a snapshot).
  function upsert(cp, sortLater) {
    if (!cp || typeof cp.id !== 'string') return;
    st.cps.set(cp.id, cp);
    let t = st.tiles.get(cp.id);
    if (!t) {
      t = makeTile(cp.id);
      st.tiles.set(cp.id, t);
      if (sortLater) $('grid').append(t); else insertSorted(t, cp.id);
    }
    renderTile(t, cp);
  }

  function insertSorted(t, id) {
    const grid = $('grid');
    for (const other of grid.children) {
      if (other !== t && byId(other.dataset.id, id) > 0) {
        grid.insertBefore(t, other);
        return;
      }
    }
    grid.append(t);
  }

  // ---- filter, search, density -----------------------------------------

  function matches(cp) {
    const state = safeState(cp.state);
    if (st.filter !== 'ALL' && state !== st.filter) return false;
    if (!st.query) return true;
    const hay = (cp.id + ' ' + (cp.location || '') + ' ' + ((cp.session && cp.session.driver_id) || '')).toLowerCase();
    return hay.includes(st.query);
  }

  function applyFilter() {
    let shown = 0;
    for (const [id, t] of st.tiles) {
      const ok = matches(st.cps.get(id));
      t.hidden = !ok;
      if (ok) shown++;
    }
    $('empty').hidden = shown > 0 || st.tiles.size === 0;
    applyDensity(shown);
  }

  function applyDensity(shown) {
    if (shown === undefined) shown = [...st.tiles.values()].filter((t) => !t.hidden).length;
    const compact = st.density === 'compact' || (st.density === 'auto' && shown > 120);
    $('grid').classList.toggle('compact', compact);
  }

  function buildChips() {
    const chips = $('chips');
    for (const key of ['ALL', ...STATES]) {
      const c = el('button', 'chip');
      c.type = 'button';
      c.dataset.filter = key;
      c.setAttribute('role', 'tab');
      c.setAttribute('aria-selected', String(key === st.filter));
      if (key !== 'ALL') c.append(el('span', 'sw ' + key));
      c.append(el('span', null, LABELS[key]), el('span', 'n', '0'));
      chips.append(c);
    }
    chips.addEventListener('click', (e) => {
      const c = e.target.closest('.chip');
      if (!c) return;
      st.filter = c.dataset.filter;
      for (const x of chips.children) x.setAttribute('aria-selected', String(x === c));
      applyFilter();
    });
  }

  // ---- totals --------------------------------------------------------------

  function renderTotals() {
    const counts = { ALL: st.cps.size };
    for (const s of STATES) counts[s] = 0;
    let active = 0, power = 0;
    for (const cp of st.cps.values()) {
      counts[safeState(cp.state)] = (counts[safeState(cp.state)] || 0) + 1;
      if (cp.session) { active++; power += num(cp.session.kw); }
    }
    for (const c of $('chips').children) c.querySelector('.n').textContent = fmt0.format(counts[c.dataset.filter] || 0);
    $('t-cps').textContent = fmt0.format(st.cps.size);
    const broken = counts.FAULT + counts.DISCONNECTED + counts.REJECTED + counts.REVOKED + counts.UNREGISTERED + counts.ENCRYPTION_ERROR;
    $('t-cps-sub').textContent = fmt0.format(counts.ACTIVATED + counts.SUPPLYING) + ' in service · ' +
      fmt0.format(counts.STOPPED) + ' stopped · ' + fmt0.format(broken) + ' down';
    $('t-active').textContent = fmt0.format(active);
    $('t-power').textContent = fmt1.format(power) + ' kW being delivered';
    if (st.totals) {
      // The big figures are this run's; Central's database also holds
      // earlier runs, shown below them as all-time figures.
      const run = st.totals.this_run || {};
      $('t-kwh').textContent = fmt3.format(num(run.kwh));
      $('t-eur').textContent = fmt2.format(num(run.eur));
      $('t-tickets').textContent = fmt0.format(num(run.tickets));
      $('t-kwh-all').textContent = 'all runs in the database: ' + fmt3.format(num(st.totals.kwh)) + ' kWh';
      $('t-eur-all').textContent = 'all runs in the database: ' + fmt2.format(num(st.totals.eur)) + ' EUR';
      $('t-tickets-all').textContent = 'all runs: ' + fmt0.format(num(st.totals.tickets)) + ' · updated ' + clock();
    }
  }

  let totalsQueued = false;
  function queueTotals() {
    if (totalsQueued) return;
    totalsQueued = true;
    requestAnimationFrame(() => { totalsQueued = false; renderTotals(); });
  }

  // ---- feed ----------------------------------------------------------------

  function feedItem(ev) {
    const li = el('li');
    li.append(el('time', null, clock(ev.at)));
    const line = el('div', 'line');
    line.append(el('span', 'kind k-' + safeKind(ev.kind), ev.kind || 'event'));
    line.append(el('span', 'text', ev.text || [ev.cp_id, ev.driver_id].filter(Boolean).join(' ')));
    li.append(line);
    if (ev.cp_id) li.title = ev.cp_id + (ev.driver_id ? ' · ' + ev.driver_id : '');
    return li;
  }

  function addEvents(events, fresh) {
    const feed = $('feed');
    for (const ev of events || []) {
      const li = feedItem(ev);
      if (fresh) li.classList.add('new');
      feed.prepend(li);
    }
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
    $('feed-count').textContent = feed.children.length ? 'last ' + feed.children.length : '';
  }

  // ---- the live stream -----------------------------------------------------

  function setConn(state, text) {
    const c = $('conn');
    c.dataset.state = state;
    $('conn-text').textContent = text;
    const banner = $('banner');
    const stale = state !== 'live' && st.cps.size > 0;
    document.body.classList.toggle('stale', stale);
    if (state === 'live') {
      banner.hidden = true;
    } else if (st.cps.size > 0) {
      banner.hidden = false;
      banner.className = 'banner' + (state === 'down' ? ' down' : '');
      banner.textContent = (state === 'down' ? 'Cannot reach Central. ' : 'Connection to Central lost. ') +
        'Reconnecting by itself; the figures below may be out of date.';
    }
  }

  function onSnapshot(snap) {
    const ids = new Set();
    for (const cp of snap.charge_points || []) { ids.add(cp.id); upsert(cp, true); }
    for (const [id, t] of st.tiles) {
      if (!ids.has(id)) { t.remove(); st.tiles.delete(id); st.cps.delete(id); }
    }
    $('grid').append(...[...ids].sort(byId).map((id) => st.tiles.get(id)));
    st.totals = snap.totals || null;
    $('feed').replaceChildren();
    addEvents(snap.events, false);
    setOperatorEnabled(!!snap.operator_enabled);
    applyFilter();
    renderTotals();
    let text = 'Live';
    if (snap.bridge && !snap.bridge.ready) text = 'Live · Kafka ' + snap.bridge.state;
    setConn('live', text);
  }

  function onUpdate(up) {
    for (const cp of up.charge_points || []) upsert(cp);
    addEvents(up.events, true);
    queueTotals();
    if (st.density === 'auto') applyDensity();
  }

  let es = null, retryTimer = null, backoff = 1000;

  function connect() {
    clearTimeout(retryTimer);
    if (es) es.close();
    st.lastMessage = Date.now();
    es = new EventSource('/api/stream');
    const on = (name, fn) => es.addEventListener(name, (e) => {
      st.lastMessage = Date.now();
      let data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      fn(data);
    });
    on('snapshot', (d) => { backoff = 1000; st.connected = true; onSnapshot(d); });
    on('update', onUpdate);
    on('totals', (t) => { st.totals = t; queueTotals(); });
    on('ping', () => {});
    on('unavailable', (d) => { st.connected = false; setConn('down', 'Central unreachable'); if (d.error) console.warn(d.error); });
    es.onerror = () => {
      st.connected = false;
      if ($('conn').dataset.state !== 'down') setConn('reconnecting', 'Reconnecting…');
      // EventSource retries by itself after a dropped stream, but gives up
      // after an HTTP error (a proxy's 502 while Central restarts): then we
      // open a new one, backing off to at most 15 s.
      if (es.readyState === EventSource.CLOSED) {
        retryTimer = setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 15000);
      }
    };
  }

  setInterval(() => {
    if (Date.now() - st.lastMessage > STALE_MS) {
      setConn('reconnecting', 'Reconnecting…');
      connect();
    }
  }, 5000);

  // ---- operator actions ------------------------------------------------------

  function toast(text, kind) {
    const t = el('div', 'toast' + (kind ? ' ' + kind : ''), text);
    $('toasts').append(t);
    setTimeout(() => t.remove(), kind === 'error' ? 6000 : 3500);
  }

  function setOperatorEnabled(enabled) {
    st.operatorEnabled = enabled;
    $('unlock-form').hidden = !enabled;
    $('ro-badge').textContent = enabled ? 'Read-only' : 'Read-only panel';
    $('ro-badge').title = enabled ? 'Enter the operator token to stop, resume or KO charge points'
      : 'Central runs without an operator token: no actions from the web';
    if (!enabled) setOperator(false);
  }

  function setOperator(on) {
    document.body.classList.toggle('unlocked', on);
    for (const b of document.querySelectorAll('.op-only button')) b.disabled = !on;
    if (!on) { st.token = ''; sessionStorage.removeItem(TOKEN_KEY); }
  }

  async function post(path) {
    let r;
    try {
      r = await fetch(path, { method: 'POST', headers: { Authorization: 'Bearer ' + st.token }, cache: 'no-store' });
    } catch (err) {
      return { ok: false, status: 0, body: { error: 'cannot reach the server' } };
    }
    let body = {};
    if (r.status !== 204) { try { body = await r.json(); } catch (err) { body = {}; } }
    return { ok: r.ok, status: r.status, body };
  }

  async function unlock(token) {
    st.token = token;
    const r = await post('/api/auth/check');
    if (r.ok) {
      sessionStorage.setItem(TOKEN_KEY, token);
      setOperator(true);
      return true;
    }
    setOperator(false);
    toast(r.status === 401 ? 'Wrong operator token' : (r.body.error || 'Could not check the token'), 'error');
    return false;
  }

  async function act(path, what) {
    const r = await post(path);
    if (r.ok) {
      const n = num(r.body.affected);
      // In a shared group: the owner that carried it out, the members that did not answer.
      const at = r.body.owner ? ' at Central ' + r.body.owner : '';
      const silent = (r.body.members || []).filter((m) => m.error).map((m) => m.error);
      toast(what + ' — ' + n + ' charge point' + (n === 1 ? '' : 's') + ' affected' + at +
        (silent.length ? '; ' + silent.join('; ') : ''), silent.length ? 'error' : undefined);
    } else if (r.status === 401) {
      setOperator(false);
      toast('The operator token was refused; unlock again', 'error');
    } else {
      toast(what + ' failed: ' + (r.body.error || 'HTTP ' + r.status), 'error');
    }
  }

  // The audit log (operator token): the newest records, text only.
  async function toggleAudit() {
    const box = $('audit');
    if (!box.hidden) { box.hidden = true; return; }
    let r;
    try {
      r = await fetch('/api/audit?tail=200', { headers: { Authorization: 'Bearer ' + st.token }, cache: 'no-store' });
    } catch (err) {
      toast('Cannot reach the server', 'error');
      return;
    }
    if (r.status === 401) { setOperator(false); toast('The operator token was refused; unlock again', 'error'); return; }
    if (!r.ok) { toast(r.status === 404 ? 'This Central keeps no audit log' : 'Audit log: HTTP ' + r.status, 'error'); return; }
    let page = {};
    try { page = await r.json(); } catch (err) { page = {}; }
    const list = $('audit-list');
    list.textContent = '';
    for (const rec of (page.records || []).slice().reverse()) {
      const outcome = /^(ok|denied|failed)$/.test(rec.outcome) ? rec.outcome : 'other';
      const li = el('li', outcome);
      const what = [rec.who, rec.action, rec.target].filter(Boolean).join(' ') + ' — ' + outcome + (rec.detail ? ' (' + rec.detail + ')' : '');
      li.append(el('span', 'time', clock(rec.time)), el('span', 'what', what), el('span', 'src', rec.source || ''));
      list.append(li);
    }
    const verdict = $('audit-verdict');
    verdict.textContent = page.intact ? 'chain intact' : 'chain broken: ' + (page.broken || 'unknown');
    verdict.classList.toggle('broken', !page.intact);
    box.hidden = false;
  }

  const ACTION_NAMES = { stop: 'Stop', resume: 'Resume', ko: 'KO engine', unko: 'Repair engine', 'revoke-key': 'Revoke the key of', 'rotate-key': 'New key for' };

  function armed(button, label, run) {
    // A second click within 4 s confirms a network-wide action.
    const idle = button.textContent;
    button.addEventListener('click', () => {
      if (button.classList.contains('armed')) {
        button.classList.remove('armed');
        button.textContent = idle;
        run();
        return;
      }
      button.classList.add('armed');
      button.textContent = label;
      setTimeout(() => { button.classList.remove('armed'); button.textContent = idle; }, 4000);
    });
  }

  function wire() {
    buildChips();
    $('search').addEventListener('input', (e) => { st.query = e.target.value.trim().toLowerCase(); applyFilter(); });
    document.addEventListener('keydown', (e) => { // "/" jumps to the search box
      if (e.key === '/' && !/^(INPUT|TEXTAREA)$/.test(document.activeElement.tagName)) {
        e.preventDefault();
        $('search').focus();
      }
    });
    const densities = { auto: 'Auto size', compact: 'Compact', comfortable: 'Comfortable' };
    $('density').addEventListener('click', () => {
      st.density = { auto: 'compact', compact: 'comfortable', comfortable: 'auto' }[st.density];
      $('density').textContent = densities[st.density];
      applyDensity();
    });
    $('unlock-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const input = $('token');
      const token = input.value.trim();
      if (!token) return;
      if (await unlock(token)) { input.value = ''; toast('Operator actions unlocked'); }
    });
    $('lock').addEventListener('click', () => { setOperator(false); $('audit').hidden = true; toast('Operator actions locked'); });
    $('audit-btn').addEventListener('click', toggleAudit);
    armed($('stop-all'), 'Confirm stop all?', () => act('/api/stop-all', 'Stop all'));
    $('resume-all').addEventListener('click', () => act('/api/resume-all', 'Resume all'));
    $('grid').addEventListener('click', (e) => {
      const b = e.target.closest('button[data-act]');
      if (!b || b.disabled) return;
      const id = b.closest('.tile').dataset.id;
      act('/api/chargepoints/' + encodeURIComponent(id) + '/' + b.dataset.act, ACTION_NAMES[b.dataset.act] + ' ' + id);
    });
    const saved = st.token; // kept for this tab only (sessionStorage)
    setOperator(false);
    if (saved) unlock(saved);
    connect();
  }

  wire();
})();
