// evsim Central — the panel's plots: energy delivered and supplies over
// time, drawn by hand in SVG from GET /api/series (no library). The page
// asks for the samples newer than the last it has, once per sample interval.
'use strict';

(function () {
  const NS = 'http://www.w3.org/2000/svg';
  const W = 560, H = 170, PAD = { l: 44, r: 12, t: 12, b: 24 };
  const $ = (id) => document.getElementById(id);
  if (!$('plots')) return;

  const st = { points: [], last: 0, interval: 5 };

  function svgEl(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  const hhmm = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  // niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  // chart draws series (each {values, kind: 'line'|'area'|'bars', cls}) over
  // the sample times into the svg with the given id.
  function chart(id, times, series, unit) {
    const svg = $(id);
    svg.replaceChildren();
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    const n = times.length;
    svg.dataset.points = String(n);
    if (n === 0) return;
    const t0 = times[0], t1 = Math.max(times[n - 1], t0 + 1);
    const top = niceMax(Math.max(...series.flatMap((s) => s.values)));
    const x = (t) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
    const y = (v) => H - PAD.b - (v / top) * (H - PAD.t - PAD.b);

    for (const f of [0, 0.5, 1]) { // grid lines and y labels
      const v = top * f;
      svg.appendChild(svgEl('line', { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), class: 'grid' }));
      if (!Number.isInteger(v) && unit === '') continue; // counts: whole numbers only
      svg.appendChild(svgEl('text', { x: PAD.l - 6, y: y(v) + 4, class: 'ylab' }, String(Number(v.toPrecision(3))) + (f === 1 && unit ? ' ' + unit : '')));
    }
    for (const [t, anchor] of [[t0, 'start'], [(t0 + t1) / 2, 'middle'], [t1, 'end']]) {
      svg.appendChild(svgEl('text', { x: x(t), y: H - 6, class: 'xlab', 'text-anchor': anchor }, hhmm(t)));
    }
    const barW = Math.max(1, (W - PAD.l - PAD.r) / Math.max(n, 1) * 0.7);
    for (const s of series) {
      if (s.kind === 'bars') {
        s.values.forEach((v, i) => {
          if (v > 0) svg.appendChild(svgEl('rect', { x: x(times[i]) - barW / 2, y: y(v), width: barW, height: y(0) - y(v), class: s.cls }));
        });
        continue;
      }
      const d = s.values.map((v, i) => (i ? 'L' : 'M') + x(times[i]).toFixed(1) + ' ' + y(v).toFixed(1)).join(' ');
      if (s.kind === 'area') {
        svg.appendChild(svgEl('path', { d: d + ` L${x(times[n - 1]).toFixed(1)} ${y(0)} L${x(times[0]).toFixed(1)} ${y(0)} Z`, class: s.cls + ' fill' }));
      }
      const line = svgEl('path', { d, class: s.cls + ' stroke' });
      line.appendChild(svgEl('title', {}, s.name + ': ' + s.values[n - 1]));
      svg.appendChild(line);
    }
  }

  function draw() {
    const pts = st.points;
    const times = pts.map((p) => Date.parse(p.at));
    const kwh = pts.map((p) => p.kwh);
    const running = pts.map((p) => p.active_supplies);
    const started = pts.map((p, i) => (i ? Math.max(0, p.supplies_started - pts[i - 1].supplies_started) : 0));
    chart('plot-energy', times, [{ name: 'kWh delivered', values: kwh, kind: 'area', cls: 'energy' }], 'kWh');
    chart('plot-supplies', times, [
      { name: 'started', values: started, kind: 'bars', cls: 'started' },
      { name: 'running', values: running, kind: 'line', cls: 'running' },
    ], '');
    const last = pts[pts.length - 1];
    $('plot-energy').dataset.last = last ? String(last.kwh) : '0';
    $('plot-supplies').dataset.last = last ? String(last.active_supplies) : '0';
    $('plot-energy-now').textContent = last ? last.kwh.toFixed(2) + ' kWh' : '';
    $('plot-supplies-now').textContent = last ? last.active_supplies + ' running, ' + last.supplies_started + ' started' : '';
  }

  async function poll() {
    try {
      const res = await fetch('/api/series?after=' + st.last);
      if (res.ok) {
        const s = await res.json();
        st.interval = Math.max(1, s.interval_s || 5);
        if (s.points.length && s.points[0].seq <= st.last) { // the server restarted: start again
          st.points = [];
          st.last = 0;
        }
        const fresh = s.points.filter((p) => p.seq > st.last);
        st.points = st.points.concat(fresh).slice(-100000); // the server keeps the bound (--http-series-points)
        if (fresh.length) st.last = fresh[fresh.length - 1].seq;
        draw();
      }
    } catch (err) {
      // the panel's own connection indicator says when the server is away
    }
    setTimeout(poll, st.interval * 1000);
  }
  poll();
})();
