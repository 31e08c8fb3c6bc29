/* Stats and baselines: counters, counts by status / category / priority, new
   orders over time, and each unit's count against its own trailing mean. */
(function () {
  "use strict";
  const GS = window.GS;
  const { T, h, $, api, query, clear, fmtDay } = GS;
  const { bars, columns } = GS.charts;
  let categoryNames = {};  // code -> name, from the summary: a category is never shown by its code alone

  function shorten(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }

  async function loadSummary() {
    try {
      const sum = await api("stats/summary");
      GS.fillKpis(sum);
      // Each bar is its share of all the orders: 2 of 2 fills its track, whatever a "nice" scale would say.
      // The bar shows the count; its tooltip the share.
      const share = { max: Math.max(1, sum.total) };
      const row = (key, label, n, cls, full) => ({
        key, label, value: n, cls,
        title: `${full || label}: ${n} / ${sum.total} (${Math.round((100 * n) / Math.max(1, sum.total))}%)`,
      });
      const statuses = GS.STATUSES.filter((st) => sum.by_status[st]);
      bars($("chart-status"), statuses.map((st) => row(st, T("status." + st), sum.by_status[st], "status-" + st)), share);
      const names = categoryNames = sum.category_names || {};
      const cats = Object.entries(sum.by_category).sort((a, b) => b[1] - a[1]);
      // The code, then as much of the name as the label column holds (the tooltip has all of it).
      bars($("chart-category"), cats.map(([code, n]) => row(code, names[code] ? shorten(`${code} ${names[code]}`, 16) : code, n,
        "", names[code] ? `${code} ${names[code]}` : code)), share);
      const prios = ["emergency", "urgent", "normal"].filter((p) => sum.by_priority[p]);
      bars($("chart-priority"), prios.map((p) => row(p, T("priority." + p), sum.by_priority[p], "prio-" + p)), { ...share, labelWidth: 120 });
    } catch (err) { GS.reportError(err); }
  }

  const PERIOD_BUCKETS = { day: 30, week: 26, month: 24 };

  async function loadSeries() {
    const period = $("ts-period").value;
    try {
      const series = await api("stats/timeseries" + query({ period, buckets: PERIOD_BUCKETS[period] }));
      columns($("chart-timeseries"), series.buckets.map((b) => ({
        label: period === "month" ? GS.fmtMonth(b.start) : fmtDay(b.start), value: b.count,
      })));
    } catch (err) { GS.reportError(err); }
  }

  async function loadBaselines() {
    const unit = $("bl-unit").value, period = $("bl-period").value;
    try {
      const report = await api("stats/baselines" + query({ unit, period, history: 36 }));
      const label = (key) => (unit === "category" && categoryNames[key] ? `${key} ${categoryNames[key]}` : key);
      const withRatio = report.items.filter((i) => i.ratio !== null);
      GS.show($("chart-baselines"), withRatio.length > 0 || report.items.length === 0);
      const maxRatio = Math.max(2, ...withRatio.map((i) => i.ratio));
      bars($("chart-baselines"), withRatio.slice(0, 15).map((i) => ({
        key: i.key, label: label(i.key), value: i.ratio, display: i.ratio.toFixed(2), cls: "level-" + i.level,
        title: `${label(i.key)}: ${i.current} / ${i.mean.toFixed(2)} = ${i.ratio.toFixed(2)} (${T("level." + i.level)})`,
      })), { max: Math.ceil(maxRatio), marker: report.alert_ratio });
      const tbody = clear($("baselines-body"));
      for (const i of report.items) {
        tbody.appendChild(h("tr", { class: "level-" + i.level, "data-key": i.key },
          h("td", {}, label(i.key)), h("td", {}, String(i.current)),
          h("td", {}, i.mean === null ? "–" : i.mean.toFixed(2)),
          h("td", {}, i.ratio === null ? "–" : i.ratio.toFixed(2)),
          h("td", {}, h("span", { class: "badge level-" + i.level }, T("level." + i.level)))));
      }
      if (!report.items.length) tbody.appendChild(h("tr", {}, h("td", { colspan: 5, class: "empty" }, T("stats.no_data"))));
    } catch (err) { GS.reportError(err); }
  }

  $("ts-period").addEventListener("change", loadSeries);
  $("bl-unit").addEventListener("change", loadBaselines);
  $("bl-period").addEventListener("change", loadBaselines);
  const all = () => { loadSummary().then(loadBaselines); loadSeries(); };
  setInterval(all, 60000);
  all();
})();
