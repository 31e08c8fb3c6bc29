/* Hand-drawn SVG charts: horizontal bars (counts by status, category, baseline
   ratio) and columns over time. They scale with their container (viewBox). */
(function () {
  "use strict";
  const { s, h, clear, T } = window.GS;

  /* The top of a scale with four whole-number ticks: 4, 8, 20, 40, 80, 100, 200, ... */
  function niceMax(value) {
    const raw = Math.max(1, value / 4);
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) {
      const step = m * magnitude;
      if (step >= raw && Number.isInteger(step)) return step * 4;
    }
    return 40 * magnitude;
  }

  /* items: [{label, value, cls, title, marker}] -> one bar per row. opts.max fixes the scale;
     opts.marker draws a vertical reference line at that value (e.g. the baseline mean ratio 1.0). */
  function bars(container, items, opts) {
    const o = opts || {};
    clear(container);
    if (!items.length) {
      container.appendChild(h("p", { class: "empty" }, T("stats.no_data")));
      return;
    }
    remember(container, bars, items, opts);
    // Drawn at the container's own width, so text stays at its CSS size in a narrow panel or a wide one.
    const width = chartWidth(container);
    const rowH = 26, labelW = Math.min(o.labelWidth || 190, width * 0.4), valueW = 56;
    const height = items.length * rowH + 8;
    const max = o.max || niceMax(Math.max(...items.map((i) => i.value), 1));
    const plotW = width - labelW - valueW;
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart-svg bars", role: "img" });
    items.forEach((item, i) => {
      const y = 4 + i * rowH;
      const w = Math.max(item.value > 0 ? 2 : 0, (Math.min(item.value, max) / max) * plotW);
      const g = s("g", { class: "bar-row " + (item.cls || ""), "data-key": item.key || item.label });
      g.appendChild(s("title", {}, item.title || `${item.label}: ${item.value}`));
      g.appendChild(s("text", { x: labelW - 8, y: y + rowH / 2 + 5, "text-anchor": "end", class: "label" }, clip(item.label, 26)));
      g.appendChild(s("rect", { x: labelW, y: y + 3, width: plotW, height: rowH - 8, rx: 3, class: "track" }));
      g.appendChild(s("rect", { x: labelW, y: y + 3, width: w, height: rowH - 8, rx: 3, class: "bar" }));
      g.appendChild(s("text", { x: labelW + plotW + 8, y: y + rowH / 2 + 5, class: "value" }, item.display || String(item.value)));
      svg.appendChild(g);
    });
    if (o.marker !== undefined && o.marker <= max) {
      const x = labelW + (o.marker / max) * plotW;
      svg.appendChild(s("line", { x1: x, x2: x, y1: 0, y2: height, class: "marker" }));
    }
    container.appendChild(svg);
  }

  /* buckets: [{label, value, title}] oldest first -> columns with a light grid. */
  function columns(container, buckets, opts) {
    const o = opts || {};
    clear(container);
    if (!buckets.length) {
      container.appendChild(h("p", { class: "empty" }, T("stats.no_data")));
      return;
    }
    remember(container, columns, buckets, opts);
    const width = chartWidth(container), height = o.height || 220, left = 36, bottom = 26, top = 20, right = 8;
    const plotW = width - left - right, plotH = height - top - bottom;
    const max = niceMax(Math.max(...buckets.map((b) => b.value), 1));
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart-svg columns", role: "img" });
    for (let i = 0; i <= 4; i++) {
      const y = top + plotH - (i / 4) * plotH;
      svg.appendChild(s("line", { x1: left, x2: width - right, y1: y, y2: y, class: "grid" }));
      svg.appendChild(s("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, String(Math.round((max * i) / 4))));
    }
    const slot = plotW / buckets.length;
    const labelEvery = Math.ceil(buckets.length / Math.max(2, Math.floor(plotW / 56)));
    buckets.forEach((b, i) => {
      const bh = (b.value / max) * plotH;
      const x = left + i * slot + slot * 0.15;
      const g = s("g", { class: "column" + (b.cls ? " " + b.cls : "") });
      g.appendChild(s("title", {}, b.title || `${b.label}: ${b.value}`));
      g.appendChild(s("rect", { x, y: top + plotH - bh, width: slot * 0.7, height: Math.max(bh, b.value ? 1 : 0), rx: 2, class: "bar" }));
      if (b.value && slot > 18) {
        g.appendChild(s("text", { x: x + slot * 0.35, y: top + plotH - bh - 3, "text-anchor": "middle", class: "value" }, String(b.value)));
      }
      // Every labelEvery-th bucket and always the newest; a regular label too close to the newest is
      // left out rather than printed over it (the 12-01 / 12-02 overlap on a narrow column).
      const last = buckets.length - 1;
      if (i === last || (i % labelEvery === 0 && last - i >= labelEvery)) {
        g.appendChild(s("text", { x: x + slot * 0.35, y: height - 8, "text-anchor": "middle", class: "axis" }, b.label));
      }
      svg.appendChild(g);
    });
    container.appendChild(svg);
  }

  function chartWidth(container) {
    return Math.max(280, Math.round(container.clientWidth || 640));
  }

  const drawn = new Set();
  function remember(container, fn, data, opts) {
    container._chart = { fn, data, opts };
    drawn.add(container);
  }
  let lastWidth = window.innerWidth;
  window.addEventListener("resize", window.GS.debounce(() => {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    for (const el of drawn) {
      if (!el.isConnected) { drawn.delete(el); continue; }
      el._chart.fn(el, el._chart.data, el._chart.opts);
    }
  }, 250));

  function clip(text, n) {
    const str = String(text);
    return str.length > n ? str.slice(0, n - 1) + "…" : str;
  }

  window.GS.charts = { bars, columns, niceMax };
})();
