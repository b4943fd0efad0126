// evsim Central — the weather view: every city of the network with its last
// temperature and alert state, and the chosen city's temperature history as
// a plot drawn by hand in SVG (no library, no CDN). It polls /api/weather;
// a server without weather answers 404 and the view stays hidden.
(function () {
  'use strict';
  const POLL_MS = 4000;
  const HISTORY = 180;
  const SVG = 'http://www.w3.org/2000/svg';
  const section = document.getElementById('weather');
  if (!section) return;
  let chosen = null;   // the city key shown in the plot
  let last = null;     // the last answer

  const key = (c) => c.toLowerCase().split(/\s+/).filter(Boolean).join(' ');
  const fmt = (c) => {
    const r = Math.round(c * 10) / 10;
    return (r === 0 ? '0' : String(r).replace('-', '\u2212')) + ' °C';
  };
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const svg = (tag, attrs, parent) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  };

  function build() {
    section.replaceChildren();
    const h = el('h2', '', 'Weather');
    h.appendChild(el('span', 'count', ''));
    section.appendChild(h);
    section.appendChild(el('div', 'wx-cities'));
    section.appendChild(el('div', 'wx-detail'));
  }

  // spark draws a small line of the last readings.
  function spark(history) {
    const s = svg('svg', { class: 'spark', viewBox: '0 0 70 28', 'aria-hidden': 'true' });
    const pts = history.slice(-30);
    if (pts.length < 2) return s;
    const ys = pts.map((p) => p.celsius);
    const lo = Math.min(0, ...ys), hi = Math.max(1, ...ys);
    const y = (c) => 26 - ((c - lo) / (hi - lo)) * 24;
    svg('line', { class: 'zero', x1: 0, x2: 70, y1: y(0), y2: y(0) }, s);
    svg('polyline', { class: 'line', points: pts.map((p, i) => `${(i / (pts.length - 1)) * 70},${y(p.celsius)}`).join(' ') }, s);
    return s;
  }

  // plot draws a city's history: time across, °C up, the freezing band
  // shaded and 0 °C marked, readings at or below 0 °C in blue.
  function plot(city, width) {
    const W = Math.max(320, Math.round(width || 900)), H = 220, L = 44, R = 12, T = 10, B = 24;
    const s = svg('svg', { class: 'wx-plot', viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-label': `Temperature of ${city.city} over time` });
    const pts = city.history;
    if (pts.length === 0) return s;
    const t0 = Date.parse(pts[0].at), t1 = Math.max(Date.parse(pts[pts.length - 1].at), t0 + 1000);
    const ys = pts.map((p) => p.celsius);
    let lo = Math.floor(Math.min(-2, ...ys) - 1), hi = Math.ceil(Math.max(4, ...ys) + 1);
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
    const y = (c) => T + ((hi - c) / (hi - lo)) * (H - T - B);
    svg('rect', { class: 'freeze', x: L, y: y(0), width: W - L - R, height: Math.max(0, y(lo) - y(0)) }, s);
    const step = Math.max(1, Math.ceil((hi - lo) / 6));
    for (let c = Math.ceil(lo / step) * step; c <= hi; c += step) {
      svg('line', { class: 'grid', x1: L, x2: W - R, y1: y(c), y2: y(c) }, s);
      svg('text', { x: L - 6, y: y(c) + 4, 'text-anchor': 'end' }, s).textContent = fmt(c);
    }
    svg('line', { class: 'zero', x1: L, x2: W - R, y1: y(0), y2: y(0) }, s);
    svg('text', { class: 'zero-label', x: W - R - 4, y: y(0) - 4, 'text-anchor': 'end' }, s).textContent = '0 °C: weather alert at or below';
    svg('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }, s);
    svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }, s);
    for (const f of [0, 0.5, 1]) {
      const t = t0 + f * (t1 - t0);
      const ago = Math.round((t1 - t) / 1000);
      const label = ago === 0 ? 'now' : ago < 120 ? `${ago} s ago` : `${Math.round(ago / 60)} min ago`;
      svg('text', { x: x(t), y: H - 6, 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle' }, s).textContent = label;
    }
    svg('polyline', { class: 'line', points: pts.map((p) => `${x(Date.parse(p.at)).toFixed(1)},${y(p.celsius).toFixed(1)}`).join(' ') }, s);
    for (const p of pts) {
      const d = svg('circle', { class: p.celsius <= 0 ? 'dot cold' : 'dot', cx: x(Date.parse(p.at)).toFixed(1), cy: y(p.celsius).toFixed(1), r: 2.5 }, s);
      svg('title', {}, d).textContent = `${fmt(p.celsius)} at ${new Date(p.at).toLocaleTimeString()}`;
    }
    return s;
  }

  function render(data) {
    last = data;
    section.hidden = data.cities.length === 0;
    const count = section.querySelector('h2 .count');
    count.textContent = data.alerts === 0 ? `${data.cities.length} cities, no alert`
      : `${data.alerts} ${data.alerts === 1 ? 'city' : 'cities'} under a weather alert`;
    count.classList.toggle('alert', data.alerts > 0);
    if (!chosen || !data.cities.some((c) => key(c.city) === chosen)) {
      const first = data.cities.find((c) => c.alert) || data.cities[0];
      chosen = first ? key(first.city) : null;
    }
    const list = section.querySelector('.wx-cities');
    list.replaceChildren();
    for (const c of data.cities) {
      const b = el('button', c.alert ? 'wx-city alert' : 'wx-city');
      b.type = 'button';
      b.dataset.city = c.city;
      b.setAttribute('aria-pressed', String(key(c.city) === chosen));
      b.appendChild(el('span', 'name', c.city));
      b.appendChild(el('span', 'temp', c.celsius === null ? '–' : fmt(c.celsius)));
      const n = c.chargepoints_total;
      b.appendChild(el('span', 'note', c.alert ? (n ? `alert · ${n} out of service` : 'alert · no charge point') : `${n} charge point${n === 1 ? '' : 's'}`));
      b.appendChild(spark(c.history));
      b.addEventListener('click', () => { chosen = key(c.city); render(last); });
      list.appendChild(b);
    }
    const detail = section.querySelector('.wx-detail');
    detail.replaceChildren();
    const city = data.cities.find((c) => key(c.city) === chosen);
    if (!city) return;
    const head = el('div', 'head');
    head.appendChild(el('b', '', city.city));
    head.appendChild(el('span', '', city.celsius === null ? 'no reading yet' : fmt(city.celsius)));
    if (city.alert) head.appendChild(el('span', 'reason', city.reason));
    const more = city.chargepoints_total - city.chargepoints.length;
    head.appendChild(el('span', 'cps', city.chargepoints.length ? city.chargepoints.join(', ') + (more > 0 ? ` and ${more} more` : '') : 'no charge point'));
    detail.appendChild(head);
    detail.appendChild(city.history.length ? plot(city, detail.clientWidth) : el('p', 'wx-empty', 'No reading yet.'));
  }

  async function poll() {
    try {
      const res = await fetch(`/api/weather?history=${HISTORY}`, { headers: { Accept: 'application/json' } });
      if (res.status === 404) { section.hidden = true; return; } // no weather here: stop asking
      if (res.ok) render(await res.json());
    } catch (e) { /* Central away: the panel's banner says so; try again */ }
    setTimeout(poll, POLL_MS);
  }
  build();
  poll();
})();
