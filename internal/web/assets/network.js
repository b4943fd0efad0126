// evsim Central — the whole network, when several Centrals share it: a
// "Whole network" box under the share view (cluster.js calls
// evsimNetworkView once the Central is known to be shared). Open, it asks
// /api/cluster/chargepoints every few seconds: this Central merges every
// member's list and says which member did not answer. Closed, it asks
// nothing. Everything reaches the page as text, never as markup.
(function () {
  'use strict';
  const POLL_MS = 5000;
  const MAX_ROWS = 1000;
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };
  const byId = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' }).compare;
  const safeURL = (u) => {
    try {
      const url = new URL(u);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '';
    } catch (e) { return ''; }
  };
  const STATE = /^[A-Z_]{1,24}$/;

  function summary(net) {
    const n = { in: 0, stopped: 0, down: 0 };
    for (const cp of net.charge_points) {
      if (cp.state === 'ACTIVATED' || cp.state === 'SUPPLYING') n.in++;
      else if (cp.state === 'STOPPED') n.stopped++;
      else n.down++;
    }
    const answered = net.members.filter((m) => m.answered).length;
    return net.charge_points.length + ' charge points from ' + answered + ' of ' + net.members.length + ' Centrals: ' +
      n.in + ' in service · ' + n.stopped + ' stopped · ' + n.down + ' down' + (net.complete ? ' (the whole network)' : ' (not the whole network: see below)');
  }

  function render(box, net) {
    const body = box.querySelector('.network-body');
    body.replaceChildren(el('p', 'network-sum', summary(net)));
    for (const m of net.members) {
      if (m.answered) continue;
      const p = el('p', 'network-silent', 'Central ' + m.address + ' did not answer (' + (m.error || 'no reason given') +
        '): its charge points, of partitions ' + m.partitions.join(', ') + ', are missing here.');
      p.dataset.address = m.address;
      body.append(p);
    }
    if (net.unowned_partitions.length > 0) {
      body.append(el('p', 'network-silent', 'Partitions ' + net.unowned_partitions.join(', ') + ' have no Central right now (the group is rebalancing).'));
    }
    const table = el('table', 'network-table');
    const head = el('tr');
    for (const h of ['Charge point', 'State', 'Location', 'Shown by']) head.append(el('th', null, h));
    const thead = el('thead');
    thead.append(head);
    table.append(thead);
    const tbody = el('tbody');
    const rows = net.charge_points.slice().sort((a, b) => byId(a.id, b.id));
    for (const cp of rows.slice(0, MAX_ROWS)) {
      const tr = el('tr');
      tr.dataset.id = cp.id;
      tr.dataset.central = cp.central;
      const state = STATE.test(cp.state || '') ? cp.state : 'UNKNOWN';
      const st = el('td', 'st');
      st.append(el('span', 'sw ' + state), el('span', null, cp.label || state));
      const who = el('td');
      const url = safeURL(cp.panel_url || '');
      if (url) {
        const a = el('a', null, cp.central);
        a.href = url;
        who.append(a);
      } else {
        who.textContent = cp.central;
      }
      tr.append(el('td', 'id', cp.id), st, el('td', null, cp.location || ''), who);
      tbody.append(tr);
    }
    table.append(tbody);
    body.append(table);
    if (rows.length > MAX_ROWS) body.append(el('p', 'network-more', 'and ' + (rows.length - MAX_ROWS) + ' more (the first ' + MAX_ROWS + ' by id are listed)'));
  }

  window.evsimNetworkView = function (section) {
    const box = el('details', 'network');
    box.id = 'network';
    box.append(el('summary', null, "Whole network: every Central's charge points"), el('div', 'network-body'));
    section.append(box);
    let timer = null;
    async function poll() {
      clearTimeout(timer);
      if (!box.open) return;
      let res = null;
      try {
        res = await fetch('/api/cluster/chargepoints', { headers: { Accept: 'application/json' }, cache: 'no-store' });
      } catch (e) { /* the server is away: the panel's banner says so */ }
      try {
        if (res && res.ok) render(box, await res.json());
        else if (res) box.querySelector('.network-body').replaceChildren(el('p', 'network-silent', 'This Central could not list the network (HTTP ' + res.status + ').'));
      } finally {
        if (box.open) timer = setTimeout(poll, POLL_MS);
      }
    }
    box.addEventListener('toggle', poll);
    return box;
  };
})();
