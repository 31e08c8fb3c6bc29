/* Precision-recall curves of a comparison, drawn as inline SVG (no chart library):
   one small plot per class, the candidate's curve solid and the current model's dashed,
   recall on x and precision on y, both 0..1. */
(function () {
  "use strict";
  const { s, h, T } = window.GS;
  const W = 240, H = 200, LEFT = 34, RIGHT = 8, TOP = 8, BOTTOM = 30;
  const MAX_POINTS = 200;  // ultralytics gives 1000 points a curve; 200 draw the same line

  /* Points [[recall, precision], ...] that are pairs of finite numbers, clamped to 0..1, thinned. */
  function cleanPoints(points) {
    if (!Array.isArray(points)) return [];
    const ok = points.filter((p) => Array.isArray(p) && p.length >= 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]))
      .map(([r, p]) => [Math.min(1, Math.max(0, r)), Math.min(1, Math.max(0, p))]);
    if (ok.length <= MAX_POINTS) return ok;
    const step = (ok.length - 1) / (MAX_POINTS - 1);
    return Array.from({ length: MAX_POINTS }, (_, i) => ok[Math.round(i * step)]);
  }

  function x(r) { return LEFT + r * (W - LEFT - RIGHT); }
  function y(p) { return TOP + (1 - p) * (H - TOP - BOTTOM); }

  function axes(svg) {
    for (const v of [0, 0.5, 1]) {
      svg.appendChild(s("line", { x1: x(0), x2: x(1), y1: y(v), y2: y(v), class: "grid" }));
      svg.appendChild(s("line", { x1: x(v), x2: x(v), y1: y(0), y2: y(1), class: "grid" }));
      svg.appendChild(s("text", { x: LEFT - 4, y: y(v) + 4, "text-anchor": "end", class: "axis" }, String(v)));
      svg.appendChild(s("text", { x: x(v), y: H - BOTTOM + 13, "text-anchor": "middle", class: "axis" }, String(v)));
    }
    svg.appendChild(s("text", { x: (x(0) + x(1)) / 2, y: H - 3, "text-anchor": "middle", class: "axis" }, T("models.pr.recall")));
    svg.appendChild(s("text", { x: 10, y: (y(0) + y(1)) / 2, "text-anchor": "middle", class: "axis",
      transform: `rotate(-90 10 ${(y(0) + y(1)) / 2})` }, T("models.pr.precision")));
  }

  /* One plot: <figure data-label> with its SVG, a polyline per model that has points, and a legend. */
  function plot(label, curves) {
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg pr-plot", role: "img" });
    svg.appendChild(s("title", {}, `${T("models.pr_curves")}: ${label}`));
    axes(svg);
    for (const who of ["current", "candidate"]) {  // the candidate drawn last, on top
      const pts = cleanPoints((curves || {})[who]);
      if (!pts.length) continue;
      svg.appendChild(s("polyline", {
        class: "pr-line pr-" + who, "data-who": who, "data-points": pts.length,
        points: pts.map(([r, p]) => `${x(r).toFixed(1)},${y(p).toFixed(1)}`).join(" "),
      }));
    }
    const legend = h("figcaption", {}, h("strong", {}, label), " ",
      h("span", { class: "pr-key pr-candidate" }, T("models.who.candidate")), " ",
      h("span", { class: "pr-key pr-current" }, T("models.who.current")));
    return h("figure", { class: "pr-figure", "data-label": label }, svg, legend);
  }

  /* container gets one plot per class of prCurves ({label: {candidate, current}}), or a note. */
  function draw(container, prCurves) {
    const labels = Object.keys(prCurves || {}).sort();
    if (!labels.length) {
      container.appendChild(h("p", { class: "empty" }, T("models.pr.none")));
      return;
    }
    container.appendChild(h("div", { class: "pr-grid" }, labels.map((label) => plot(label, prCurves[label]))));
  }

  window.GS.prcurves = { draw, cleanPoints };
})();
