// evsim Central — its share of a shared network. A Central of a shared
// group (evnode central --shared-group) shows only the charge points of the
// partitions it owns: this view says so, and links to every other member's
// panel, from /api/cluster, polled so that it follows rebalances. A Central
// that does not share its network (or a panel without /api/cluster) shows
// nothing here and stops asking.
(function () {
  'use strict';
  const POLL_MS = 3000;
  const section = document.getElementById('share');
  if (!section) return;

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const list = (ps) => (ps || []).slice().sort((a, b) => a - b).join(', ');
  const plural = (n, one, many) => n + ' ' + (n === 1 ? one : many);
  // Only http(s) links: a member's address comes from Kafka records.
  const safeURL = (u) => {
    try {
      const url = new URL(u);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '';
    } catch (e) { return ''; }
  };

  // current are the members of the group's latest assignment: a claim of an
  // older generation is a member that has gone (killed) or not yet caught up.
  function current(members) {
    const live = members.filter((m) => !m.left);
    const top = Math.max(-1, ...live.map((m) => m.generation));
    return live.filter((m) => m.generation === top);
  }

  // ownBox holds what this Central owns; the whole-network view (network.js)
  // sits below it and keeps its state across renders.
  let network = null;
  function ownBox() {
    let box = section.querySelector('.share-own');
    if (!box) {
      box = el('div', 'share-own');
      section.prepend(box);
    }
    return box;
  }

  function render(c) {
    const me = c.central;
    const members = current(c.members || []);
    const self = (c.members || []).find((m) => m.self) || { partitions: [] };
    const others = members.filter((m) => !m.self && m.partitions.length > 0);
    const n = me.partition_count;
    const owned = new Set();
    for (const m of members) for (const p of m.partitions) owned.add(p);
    const unowned = [];
    for (let p = 0; p < n; p++) if (!owned.has(p)) unowned.push(p);

    const text = el('p', 'share-text');
    text.append(el('b', null, 'Shared network (group ' + me.group + '): '));
    if (self.partitions.length === 0) {
      text.append('this Central owns no partition yet, so it shows no charge point.');
    } else if (self.partitions.length === n) {
      text.append('this Central owns all ' + n + ' partitions: all ' + plural(me.charge_points, 'charge point', 'charge points') + ' of the network are shown here.');
    } else {
      text.append('this Central owns partitions ' + list(self.partitions) + ' of ' + n + ': ' +
        plural(me.charge_points, 'charge point of the network is', 'charge points of the network are') + ' shown here.');
    }
    if (others.length > 0) text.append(' The rest are on the panels of the other Centrals:');
    const links = el('ul', 'share-members');
    for (const m of others) {
      const li = el('li', 'share-member');
      li.dataset.address = m.address;
      const url = safeURL(m.panel_url || '');
      const name = 'Central ' + m.address;
      if (url) {
        const a = el('a', null, name);
        a.href = url;
        a.title = 'Its panel: ' + url;
        li.append(a);
      } else {
        li.append(el('span', 'no-panel', name + ' (serves no panel)'));
      }
      li.append(el('span', 'parts', ' partitions ' + list(m.partitions)));
      links.append(li);
    }
    const own = ownBox();
    own.replaceChildren(text);
    if (others.length > 0) own.append(links);
    if (unowned.length > 0 && self.partitions.length > 0) {
      own.append(el('p', 'share-gap', 'Partitions ' + list(unowned) + ': no Central owns them right now (the group is rebalancing); their charge points are not shown anywhere.'));
    }
    if (!network) network = window.evsimNetworkView && window.evsimNetworkView(section);
    section.hidden = false;
    section.dataset.share = 'shared';
  }

  // stop hides the view for good (data-share says why, for tests and tools).
  function stop() {
    section.hidden = true;
    section.dataset.share = 'none';
  }

  async function poll() {
    let res;
    try {
      res = await fetch('/api/cluster', { headers: { Accept: 'application/json' }, cache: 'no-store' });
    } catch (e) { setTimeout(poll, POLL_MS); return; } // server away: the panel's banner says so
    if (res.status === 404 || res.status === 501) { stop(); return; } // no cluster here
    if (res.ok) {
      let c = null;
      try { c = await res.json(); } catch (e) { c = null; }
      if (c && c.central && !c.central.shared) { stop(); return; } // one Central, the whole network
      if (c && c.central) render(c);
    }
    setTimeout(poll, POLL_MS);
  }
  poll();
})();
