// evsim Driver — the driver app.
//
// The charge points come from the panel's public live stream (/api/stream).
// The driver's own requests go to POST /api/drivers/{id}/requests and their
// steps come back on /api/drivers/{id}/stream, read with fetch so that the
// driver's token travels in the Authorization header (EventSource cannot
// send one). Every piece of data reaches the page through textContent,
// never as markup.
'use strict';

(function () {
  const STATES = ['ACTIVATED', 'SUPPLYING', 'STOPPED', 'FAULT', 'DISCONNECTED', 'WAITING', 'REJECTED', 'REVOKED', 'UNREGISTERED', 'ENCRYPTION_ERROR'];
  const LABELS = {
    ACTIVATED: 'Available', SUPPLYING: 'Supplying', STOPPED: 'Out of order', FAULT: 'Fault',
    DISCONNECTED: 'Disconnected', WAITING: 'Not yet available', REJECTED: 'Registration rejected',
    REVOKED: 'Revoked', UNREGISTERED: 'Not registered', ENCRYPTION_ERROR: 'Encryption error', UNKNOWN: 'Unknown',
  };
  const STATUS_TEXT = {
    requested: 'Asking Central…', accepted: 'Accepted: plug in', denied: 'Denied', supplying: 'Charging',
    ended: 'Ended: ticket on its way', ticketed: 'Done', unanswered: 'No answer',
  };
  const DRIVER_KEY = 'evsim.driver';
  const MAX_ROWS = 300; // rows drawn at most
  const TOKEN_KEY = 'evsim.driverToken.';

  const $ = (id) => document.getElementById(id);
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  const nf = (d) => new Intl.NumberFormat(undefined, { minimumFractionDigits: d, maximumFractionDigits: d });
  const fmt1 = nf(1), fmt2 = nf(2), fmt3 = nf(3);
  const num = (x) => (typeof x === 'number' && isFinite(x) ? x : 0);
  const clock = (iso) => {
    const d = iso ? new Date(iso) : null;
    return !d || isNaN(d) ? '' : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  };
  const safeState = (s) => (STATES.includes(s) ? s : 'UNKNOWN');
  // The city of a location: "Madrid · Gran Vía 30" and "Madrid, Centro" are in Madrid.
  const cityOf = (loc) => String(loc || '').split(/ · |,/)[0].trim() || '—';

  const st = {
    cps: new Map(),
    city: '',
    state: '',
    auth: 'open',
    driver: '',
    token: '',
    requests: [],   // newest first
    tickets: [],
    driverAbort: null,
    panelLive: false,
    driverLive: false,
  };

  // ---- toasts and connection ----------------------------------------------

  function toast(text, error) {
    const t = el('div', 'toast' + (error ? ' error' : ''), text);
    $('toasts').appendChild(t);
    setTimeout(() => t.remove(), 5000);
  }

  function showConn() {
    const c = $('conn');
    let state = 'connecting', text = 'Connecting…';
    if (st.panelLive && (!st.driver || st.driverLive)) {
      state = 'live'; text = 'Live';
    } else if (st.panelLive) {
      state = 'reconnecting'; text = 'Reaching your supplies…';
    }
    c.dataset.state = state;
    $('conn-text').textContent = text;
  }

  // ---- charge points -------------------------------------------------------

  function refreshFilters() {
    const cities = [...new Set([...st.cps.values()].map((cp) => cityOf(cp.location)))].sort();
    const sel = $('city-filter');
    const keep = st.city;
    while (sel.options.length > 1) sel.remove(1);
    for (const c of cities) sel.add(new Option(c, c, false, c === keep));
    const ss = $('state-filter');
    if (ss.options.length === 1) {
      for (const s of STATES) ss.add(new Option(LABELS[s], s));
    }
  }

  // scheduleCPs redraws the list at most once a frame, however many
  // updates come.
  let cpFrame = 0;
  function scheduleCPs() {
    if (!cpFrame) cpFrame = requestAnimationFrame(() => { cpFrame = 0; renderCPs(); });
  }

  function renderCPs() {
    const body = $('cp-list');
    body.replaceChildren();
    const all = [...st.cps.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let shown = 0;
    for (const cp of all) {
      const state = safeState(cp.state);
      if (st.city && cityOf(cp.location) !== st.city) continue;
      if (st.state && state !== st.state) continue;
      shown++;
      if (shown > MAX_ROWS) continue; // counted, not drawn: the filters narrow a large network
      const tr = el('tr');
      tr.dataset.cp = cp.id;
      tr.dataset.state = state;
      tr.appendChild(el('td', 'id', cp.id));
      const loc = el('td', 'loc', cityOf(cp.location));
      loc.title = cp.location || '';
      tr.appendChild(loc);
      const stc = el('td');
      const badge = el('span', 'state');
      badge.appendChild(el('span', 'sw ' + state));
      badge.appendChild(el('span', 'label', LABELS[state]));
      if (cp.reason) badge.appendChild(el('span', 'why', cp.reason));
      stc.appendChild(badge);
      tr.appendChild(stc);
      tr.appendChild(el('td', 'num price', fmt2.format(num(cp.price_eur_per_kwh)) + ' €/kWh'));
      tr.appendChild(el('td', 'num', fmt1.format(num(cp.rated_kw)) + ' kW'));
      const act = el('td', 'num');
      const b = el('button', 'btn primary req', 'Charge here');
      b.type = 'button';
      b.dataset.cp = cp.id;
      b.disabled = !st.driver;
      b.title = st.driver ? 'Ask Central for a supply at ' + cp.id : 'Choose your driver id first';
      act.appendChild(b);
      tr.appendChild(act);
      body.appendChild(tr);
    }
    $('cp-empty').hidden = shown > 0;
    $('cp-count').textContent = shown === all.length ? String(all.length) : shown + ' of ' + all.length;
    $('cp-more').hidden = shown <= MAX_ROWS;
    $('cp-more').textContent = 'The first ' + MAX_ROWS + ' of ' + shown + ' are listed: choose a city or a state to see the others.';
  }

  function openPanelStream() {
    const es = new EventSource('/api/stream');
    es.addEventListener('snapshot', (e) => {
      const snap = JSON.parse(e.data);
      st.cps = new Map((snap.charge_points || []).map((cp) => [cp.id, cp]));
      st.panelLive = true;
      refreshFilters();
      renderCPs();
      showConn();
    });
    es.addEventListener('update', (e) => {
      const up = JSON.parse(e.data);
      let newCP = false;
      for (const cp of up.charge_points || []) {
        if (!st.cps.has(cp.id)) newCP = true;
        st.cps.set(cp.id, cp);
      }
      if (newCP) refreshFilters();
      scheduleCPs();
    });
    es.addEventListener('unavailable', (e) => {
      const banner = $('banner');
      banner.textContent = 'Central does not answer: ' + (JSON.parse(e.data).error || '') + '. Retrying…';
      banner.hidden = false;
    });
    es.onopen = () => { $('banner').hidden = true; };
    es.onerror = () => { st.panelLive = false; showConn(); };
  }

  // ---- the driver -----------------------------------------------------------

  function authHeaders() {
    const h = {};
    if (st.token) h.Authorization = 'Bearer ' + st.token;
    return h;
  }

  async function loadDirectory() {
    try {
      const res = await fetch('/api/drivers');
      const dir = await res.json();
      st.auth = dir.auth === 'token' ? 'token' : 'open';
      const list = $('known-drivers');
      list.replaceChildren();
      for (const id of dir.drivers || []) {
        const o = document.createElement('option');
        o.value = id;
        list.appendChild(o);
      }
    } catch (err) {
      st.auth = 'open';
    }
    $('driver-token').hidden = st.auth !== 'token';
  }

  function useDriver(id, token) {
    if (st.driverAbort) st.driverAbort.abort();
    st.driver = id;
    st.token = token || '';
    st.requests = [];
    st.tickets = [];
    sessionStorage.setItem(DRIVER_KEY, id);
    if (st.token) sessionStorage.setItem(TOKEN_KEY + id, st.token);
    $('who').textContent = id;
    $('who-form').hidden = true;
    $('who-on').hidden = false;
    renderCurrent();
    renderTickets();
    renderCPs();
    loadTickets();
    streamDriver(id);
  }

  function signOut() {
    if (st.driverAbort) st.driverAbort.abort();
    st.driverAbort = null;
    sessionStorage.removeItem(TOKEN_KEY + st.driver);
    sessionStorage.removeItem(DRIVER_KEY);
    st.driver = '';
    st.token = '';
    st.requests = [];
    st.tickets = [];
    st.driverLive = false;
    $('who-form').hidden = false;
    $('who-on').hidden = true;
    renderCurrent();
    renderTickets();
    renderCPs();
    showConn();
  }

  // checkDriver asks the server whether the token acts for the driver
  // before the page switches to it.
  async function checkDriver(id, token) {
    try {
      const res = await fetch('/api/drivers/' + encodeURIComponent(id) + '/requests',
        { headers: token ? { Authorization: 'Bearer ' + token } : {} });
      if (res.status === 401) {
        toast('This token does not act for ' + id + '. Ask the operator for your driver token.', true);
        return false;
      }
      return true; // a desk not ready yet (503) is said by the stream's reconnects
    } catch (err) {
      toast('Cannot reach Central: ' + err.message, true);
      return false;
    }
  }

  async function loadTickets() {
    const id = st.driver;
    if (!id) return;
    try {
      const res = await fetch('/api/drivers/' + encodeURIComponent(id) + '/tickets?limit=50', { headers: authHeaders() });
      if (res.status === 404) { st.tickets = []; renderTickets(); return; }
      if (!res.ok) throw new Error((await res.json()).error || res.statusText);
      if (id === st.driver) {
        st.tickets = await res.json();
        renderTickets();
      }
    } catch (err) {
      toast('Cannot load your tickets: ' + err.message, true);
    }
  }

  // streamDriver reads the driver's server-sent events with fetch, and
  // connects again when the stream ends, until another driver is chosen.
  async function streamDriver(id) {
    const abort = new AbortController();
    st.driverAbort = abort;
    let delay = 1000;
    while (!abort.signal.aborted) {
      try {
        const res = await fetch('/api/drivers/' + encodeURIComponent(id) + '/stream', { headers: authHeaders(), signal: abort.signal });
        if (res.status === 401) {
          toast('This token does not act for ' + id + '. Ask the operator for your driver token.', true);
          signOut();
          return;
        }
        if (!res.ok) throw new Error((await res.json()).error || res.statusText);
        delay = 1000;
        await readEvents(res.body, (event, data) => onDriverEvent(event, data));
      } catch (err) {
        if (abort.signal.aborted) return;
      }
      st.driverLive = false;
      showConn();
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10000);
    }
  }

  async function readEvents(body, onEvent) {
    const reader = body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let event = 'message', data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data) onEvent(event, JSON.parse(data));
      }
    }
  }

  function onDriverEvent(event, data) {
    if (event === 'requests') {
      st.requests = Array.isArray(data) ? data : [];
      st.driverLive = true;
      showConn();
    } else if (event === 'request') {
      const i = st.requests.findIndex((r) => r.request_id === data.request_id);
      if (i >= 0) st.requests[i] = data; else st.requests.unshift(data);
      st.requests.sort((a, b) => (a.requested_at < b.requested_at ? 1 : -1));
    } else if (event === 'ticket') {
      loadTickets();
      return;
    } else {
      return;
    }
    renderCurrent();
  }

  async function requestSupply(cp) {
    if (!st.driver) return;
    try {
      const res = await fetch('/api/drivers/' + encodeURIComponent(st.driver) + '/requests', {
        method: 'POST',
        headers: Object.assign({ 'Content-Type': 'application/json' }, authHeaders()),
        body: JSON.stringify({ cp_id: cp }),
      });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error || res.statusText);
      if (!st.requests.some((r) => r.request_id === body.request_id)) st.requests.unshift(body);
      renderCurrent();
    } catch (err) {
      toast('Cannot ask for a supply at ' + cp + ': ' + err.message, true);
    }
  }

  // ---- rendering the driver's side -----------------------------------------

  const STEP_ORDER = ['requested', 'accepted', 'supplying', 'ticketed'];
  const REACHED = { requested: 0, accepted: 1, supplying: 2, ended: 2, ticketed: 3, denied: 0, unanswered: 0 };

  function renderCurrent() {
    const box = $('current');
    const r = st.requests[0];
    $('cur-hint').hidden = !!r;
    $('cur-body').hidden = !r;
    box.dataset.status = r ? r.status : 'none';
    if (!r) {
      $('cur-hint').textContent = st.driver ? 'Choose a charge point and press “Charge here”.' : 'Choose your driver id, then ask for a supply at a charge point.';
      renderRequests();
      return;
    }
    $('cur-cp').textContent = r.cp_id;
    $('cur-status').textContent = STATUS_TEXT[r.status] || r.status;
    $('cur-reason').textContent = r.reason ? (r.status === 'denied' ? 'Reason: ' + r.reason : r.reason) : '';
    $('cur-kw').textContent = fmt1.format(num(r.kw));
    $('cur-kwh').textContent = fmt3.format(num(r.kwh));
    $('cur-eur').textContent = fmt2.format(num(r.eur));
    const reached = REACHED[r.status] !== undefined ? REACHED[r.status] : 0;
    const failed = r.status === 'denied' || r.status === 'unanswered';
    for (const li of $('steps').children) {
      const i = STEP_ORDER.indexOf(li.dataset.step);
      li.className = i <= reached ? 'done' : '';
      if (failed && i === 1) {
        li.className = 'failed';
        li.textContent = r.status === 'denied' ? 'Denied' : 'No answer';
      } else if (i === 1) {
        li.textContent = 'Accepted';
      }
    }
    const tk = $('cur-ticket');
    tk.replaceChildren();
    tk.hidden = !r.ticket;
    if (r.ticket) {
      const t = r.ticket;
      const rows = [['Ticket', t.ticket_id], ['Charge point', t.cp_id], ['Energy', fmt3.format(num(t.kwh)) + ' kWh'],
        ['Cost', fmt2.format(num(t.eur)) + ' EUR'], ['Price', fmt2.format(num(t.price_eur_per_kwh)) + ' €/kWh'],
        ['Started', clock(t.started_at)], ['Ended', clock(t.ended_at)], ['How', t.reason]];
      for (const [k, v] of rows) {
        tk.appendChild(el('span', 'k', k));
        tk.appendChild(el('span', 'v', v));
      }
    }
    renderRequests();
  }

  function renderRequests() {
    const list = $('requests');
    list.replaceChildren();
    for (const r of st.requests) {
      const li = el('li');
      li.dataset.request = r.request_id;
      li.dataset.status = r.status;
      li.appendChild(el('span', '', clock(r.requested_at) + ' · ' + r.cp_id));
      li.appendChild(el('span', 'r', (STATUS_TEXT[r.status] || r.status) + (r.reason ? ': ' + r.reason : '')));
      list.appendChild(li);
    }
  }

  function renderTickets() {
    const body = $('tickets');
    body.replaceChildren();
    for (const t of st.tickets) {
      const tr = el('tr');
      tr.dataset.session = t.session_id;
      tr.appendChild(el('td', '', clock(t.ended_at)));
      tr.appendChild(el('td', '', t.cp_id));
      tr.appendChild(el('td', 'num', fmt3.format(num(t.kwh))));
      tr.appendChild(el('td', 'num', fmt2.format(num(t.eur))));
      tr.appendChild(el('td', '', t.reason));
      body.appendChild(tr);
    }
    $('tickets-empty').hidden = st.tickets.length > 0;
    $('tickets-count').textContent = st.tickets.length ? String(st.tickets.length) : '';
  }

  // ---- wiring ---------------------------------------------------------------

  $('city-filter').addEventListener('change', (e) => { st.city = e.target.value; renderCPs(); });
  $('state-filter').addEventListener('change', (e) => { st.state = e.target.value; renderCPs(); });
  $('cp-list').addEventListener('click', (e) => {
    const b = e.target.closest('button.req');
    if (b && !b.disabled) requestSupply(b.dataset.cp);
  });
  $('who-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const id = $('driver-id').value.trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id)) {
      toast('A driver id is 1 to 64 letters, digits, dots, dashes or underscores.', true);
      return;
    }
    const token = $('driver-token').value.trim();
    if (st.auth === 'token' && !token) {
      toast('This Central needs your driver token (the operator issues it).', true);
      return;
    }
    checkDriver(id, token).then((ok) => {
      if (!ok) return;
      $('driver-token').value = '';
      useDriver(id, token);
    });
  });
  $('change-driver').addEventListener('click', signOut);

  showConn();
  openPanelStream();
  loadDirectory().then(() => {
    const saved = sessionStorage.getItem(DRIVER_KEY);
    if (saved) {
      const token = sessionStorage.getItem(TOKEN_KEY + saved) || '';
      if (st.auth === 'open' || token) useDriver(saved, token);
      else $('driver-id').value = saved;
    }
  });
})();
