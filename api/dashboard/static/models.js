/* The engineers' model page (issue 18): harvest counts, dataset versions, model versions with
   their comparison (per-class and per-rule tables, PR curves) and the registry's audit timeline.
   Promote and roll back are drawn only for an admin token (GET /whoami); the API checks the role
   on every call anyway. Every value goes into the page as text, never as HTML. */
(function () {
  "use strict";
  const GS = window.GS;
  const { T, h, $, api, clear, show, fmtTime } = GS;
  const state = { admin: false, groups: [], models: [] };

  function enc(v) { return encodeURIComponent(v); }
  function byKey(a, b) { return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0; }
  function num(v, digits) { return Number.isFinite(v) ? v.toFixed(digits === undefined ? 3 : digits) : "–"; }

  function fmtBytes(n) {
    if (!Number.isFinite(n)) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0, v = n;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return (i ? v.toFixed(1) : String(v)) + " " + units[i];
  }

  function scopeLabel(scope) {
    if (scope === "all") return T("models.scope.all");
    if (scope.startsWith("group:")) return T("models.scope.group", { name: scope.slice(6) });
    if (scope.startsWith("camera:")) return T("models.scope.camera", { id: scope.slice(7) });
    return scope;
  }

  /* A section's own message: empty, or why it could not be read (a 403 is not a page error). */
  function sectionMessage(id, text) {
    const el = $(id);
    el.textContent = text || "";
    show(el, !!text);
  }

  async function section(msgId, load) {
    try {
      sectionMessage(msgId, "");
      await load();
    } catch (err) {
      if (err instanceof GS.ApiError && err.status === 403) sectionMessage(msgId, T("models.unreadable", { detail: err.message }));
      else if (err instanceof GS.ApiError && err.status === 401) sectionMessage(msgId, T("common.unauthorized"));
      else { sectionMessage(msgId, T("common.error")); GS.reportError(err); }
    }
  }

  /* ---- who: admin controls only for an admin token ---- */
  async function loadRole() {
    try {
      const me = await api("whoami");
      state.admin = me.role === "admin" && !me.read_only;
    } catch (err) {
      state.admin = false;
    }
    document.body.dataset.admin = state.admin ? "1" : "0";
    for (const el of document.querySelectorAll("[data-admin-only]")) show(el, state.admin);
    show($("admin-note"), !state.admin);
  }

  /* ---- harvest ---- */
  function renderHarvest(sum) {
    show($("harvest-body"), true);
    if (!sum.frames && !sum.evicted) sectionMessage("harvest-msg", T("models.harvest.none"));
    $("h-frames").textContent = sum.frames;
    $("h-disk").textContent = T("models.harvest.disk_of", { used: fmtBytes(sum.bytes), max: fmtBytes(sum.max_bytes) });
    const bar = $("h-disk-bar");
    bar.max = Math.max(1, sum.max_bytes);
    bar.value = Math.min(sum.bytes, bar.max);
    $("h-evicted").textContent = sum.evicted;
    $("h-duplicates").textContent = sum.duplicates;
    const tbody = clear($("harvest-cameras"));
    for (const [cam, counts] of Object.entries(sum.by_camera || {}).sort(byKey)) {
      tbody.appendChild(h("tr", { "data-camera-id": cam }, h("td", {}, cam),
        h("td", { class: "num" }, String(counts.today)), h("td", { class: "num" }, String(counts.total))));
    }
    const bars = (obj, prefix) => Object.entries(obj || {}).sort((a, b) => b[1] - a[1])
      .map(([key, n]) => ({ key, label: T(prefix + key), value: n }));
    GS.charts.bars($("harvest-reasons"), bars(sum.by_reason, "models.reason."), { labelWidth: 150 });
    GS.charts.bars($("harvest-statuses"), bars(sum.by_status, "models.hstatus."), { labelWidth: 150 });
  }

  /* ---- datasets ---- */
  function chips(obj) {
    return h("span", { class: "chips" }, Object.entries(obj || {}).sort((a, b) => b[1] - a[1])
      .map(([k, n]) => h("span", { class: "chip", "data-key": k }, `${k}: ${n}`)));
  }

  function renderDatasets(items) {
    show($("datasets-table"), items.length > 0);
    if (!items.length) sectionMessage("datasets-msg", T("models.datasets.none"));
    const tbody = clear($("datasets-body"));
    for (const d of items) {
      const sp = d.splits || {};
      tbody.appendChild(h("tr", { "data-dataset": `${d.name}/${d.version}` },
        h("td", {}, d.name), h("td", {}, d.version), h("td", {}, d.source),
        h("td", { class: "num" }, String(d.images)), h("td", { class: "num" }, String(d.instances)),
        h("td", {}, chips(d.classes)),
        h("td", {}, T("models.splits", { train: sp.train || 0, val: sp.val || 0, test: sp.test || 0 })),
        h("td", { class: "mono", title: d.fingerprint }, String(d.fingerprint).slice(0, 12)),
        h("td", { title: d.created_by }, fmtTime(d.created_at))));
    }
  }

  /* ---- comparison ---- */
  function better(cand, cur) {
    if (!Number.isFinite(cand) || !Number.isFinite(cur) || cand === cur) return "";
    return cand > cur ? "up" : "down";
  }

  function metricCells(cand, cur, metrics) {
    const cells = [];
    for (const m of metrics) {
      const a = (cand || {})[m], b = (cur || {})[m];
      cells.push(h("td", { class: "num cand " + better(a, b), "data-metric": m, "data-who": "candidate" }, num(a)));
      cells.push(h("td", { class: "num cur", "data-metric": m, "data-who": "current" }, num(b)));
    }
    return cells;
  }

  function metricTable(kind, firstCol, rows, metrics, extra) {
    const head1 = [h("th", { rowspan: 2 }, firstCol)].concat(extra ? [h("th", { rowspan: 2, class: "num" }, extra.title)] : [])
      .concat(metrics.map((m) => h("th", { colspan: 2, class: "num" }, T("models.m." + m))));
    const head2 = metrics.flatMap(() => [h("th", { class: "num" }, T("models.who.candidate")), h("th", { class: "num" }, T("models.who.current"))]);
    const body = rows.map(([key, label, pair]) => h("tr", { "data-key": key, class: key === "__overall" ? "overall" : "" },
      h("td", {}, label), extra ? h("td", { class: "num" }, extra.cell(pair)) : null,
      metricCells(pair.candidate, pair.current, metrics)));
    return h("table", { class: "compact metric-table", "data-table": kind },
      h("thead", {}, h("tr", {}, head1), h("tr", {}, head2)), h("tbody", {}, body));
  }

  function counts(pair) {
    const c = pair.candidate || {}, k = pair.current || {};
    return `${c.tp ?? "–"}/${c.fp ?? "–"}/${c.fn ?? "–"} · ${k.tp ?? "–"}/${k.fp ?? "–"}/${k.fn ?? "–"}`;
  }

  function renderComparison(cmp) {
    if (!cmp) return h("p", { class: "empty" }, T("models.comparison.none"));
    const verdict = cmp.verdict || {};
    const name = (m) => (m ? `${m.name} ${m.version}` : "–");
    const det = cmp.detection || {}, ev = cmp.events || {};
    const detRows = [["__overall", T("models.overall"), det.overall || {}]]
      .concat(Object.entries(det.per_class || {}).sort(byKey).map(([label, pair]) => [label, label, pair]));
    const evRows = [["__overall", T("models.overall"), ev.overall || {}]]
      .concat(Object.entries(ev.per_rule || {}).sort(byKey).map(([rule, pair]) => [rule, rule, pair]));
    const curves = h("div", { class: "pr-curves" });
    GS.prcurves.draw(curves, det.pr_curves);
    return h("div", { class: "comparison" },
      h("div", { class: "verdict " + (verdict.better ? "better" : "worse"), "data-better": verdict.better ? "1" : "0" },
        h("strong", {}, T(verdict.better ? "models.verdict.better" : "models.verdict.worse")),
        h("span", { class: "hint" }, " " + T("models.comparison.vs", { candidate: name(cmp.candidate), current: name(cmp.current) })),
        h("ul", { class: "reasons" }, (verdict.reasons || []).map((r) => h("li", {}, r)))),
      h("h4", {}, T("models.detection", { images: (det.data || {}).images ?? "–" })),
      metricTable("per_class", T("models.col.class"), detRows, ["precision", "recall", "map50"]),
      h("h4", {}, T("models.pr_curves")), curves,
      h("h4", {}, T("models.events"), ev.scenarios ? h("small", {}, " " + ev.scenarios) : null),
      metricTable("per_rule", T("models.col.rule"), evRows, ["precision", "recall"], { title: T("models.col.counts"), cell: counts }),
      cmp.shadow ? h("details", { class: "shadow" }, h("summary", {}, T("models.shadow")),
        h("pre", {}, JSON.stringify(cmp.shadow, null, 2))) : null);
  }

  /* ---- model versions ---- */
  function scopeOptions(select, extra) {
    clear(select);
    const scopes = ["all"].concat(state.groups.map((g) => "group:" + g.name), extra || []);
    for (const sc of [...new Set(scopes)]) select.appendChild(h("option", { value: sc }, scopeLabel(sc)));
    select.appendChild(h("option", { value: "camera" }, T("models.promote.camera")));
  }

  /* The scope a select (plus its camera field) names, or null when the camera is left empty. */
  function chosenScope(select, cameraInput) {
    if (select.value !== "camera") return select.value;
    const cam = cameraInput.value.trim();
    return cam ? "camera:" + cam : null;
  }

  function promoteForm(m) {
    const select = h("select", { class: "promote-scope", "aria-label": T("models.promote.to") });
    scopeOptions(select);
    const camera = h("input", { class: "promote-camera", maxlength: 64, spellcheck: "false", placeholder: T("models.promote.camera_id") });
    const cameraLabel = h("label", { class: "hidden" }, T("models.promote.camera_id"), camera);
    const reason = h("input", { class: "promote-reason", maxlength: 500 });
    select.addEventListener("change", () => show(cameraLabel, select.value === "camera"));
    const form = h("form", { class: "scope-form promote-form", autocomplete: "off" },
      h("label", {}, T("models.promote.to"), select), cameraLabel,
      h("label", { class: "grow" }, T("models.reason"), reason),
      h("button", { type: "submit", class: "ok promote-button" }, T("models.promote")));
    form.addEventListener("submit", (ev) => { ev.preventDefault(); promote(m, chosenScope(select, camera), reason.value.trim()); });
    return form;
  }

  function modelCard(m) {
    const failed = m.failed_on || [];
    return h("article", { class: "model-card mstatus-" + m.status, "data-model": `${m.name}/${m.version}`, "data-status": m.status },
      h("header", {},
        h("h3", {}, m.name, " ", h("span", { class: "mono" }, m.version)),
        h("span", { class: "badge model-" + m.status, "data-status": m.status }, T("models.status." + m.status)),
        h("small", {}, T("models.uploaded", { time: fmtTime(m.uploaded_at), who: m.uploaded_by }))),
      h("dl", { class: "model-facts" },
        h("dt", {}, T("models.scopes")),
        h("dd", { class: "scopes" }, m.scopes.length ? m.scopes.map((sc) => h("span", { class: "chip", "data-scope": sc }, scopeLabel(sc))) : T("models.scopes.none")),
        h("dt", {}, T("models.running_on")),
        h("dd", { class: "running-on" }, m.running_on.length ? m.running_on.map((c) => h("span", { class: "chip ok" }, c)) : T("models.nobody")),
        failed.length ? h("dt", {}, T("models.failed_on")) : null,
        failed.length ? h("dd", { class: "failed-on" }, h("ul", {}, failed.map((f) => h("li", { "data-camera-id": f.camera_id },
          h("strong", {}, f.camera_id), ": ", f.reason, " ", h("small", {}, fmtTime(f.at)))))) : null),
      state.admin ? promoteForm(m) : null,
      h("h4", {}, T("models.comparison")),
      renderComparison(m.comparison));
  }

  function renderModels(items) {
    state.models = items;
    if (!items.length) sectionMessage("versions-msg", T("models.versions.none"));
    const list = clear($("model-list"));
    for (const m of items) list.appendChild(modelCard(m));
    const inForce = items.flatMap((m) => m.scopes);
    scopeOptions($("rollback-scope"), inForce);
  }

  /* ---- audit timeline ---- */
  function auditDetail(e) {
    const d = e.detail || {};
    if (d.reason) return d.reason;
    const rest = Object.entries(d).filter(([, v]) => v !== null && v !== undefined && v !== "");
    return rest.map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" · ");
  }

  function renderTimeline(items) {
    if (!items.length) sectionMessage("audit-msg", T("models.timeline.none"));
    const list = clear($("audit-list"));
    for (const e of items) {
      list.appendChild(h("li", { class: "tl-" + e.action, "data-action": e.action },
        h("div", { class: "tl-head" }, h("time", { datetime: e.at }, fmtTime(e.at, true)), " ",
          h("strong", {}, T("models.audit." + e.action)), " ",
          e.model_name ? h("span", { class: "mono" }, `${e.model_name} ${e.model_version || ""}`) : null, " ",
          e.scope ? h("span", { class: "chip" }, scopeLabel(e.scope)) : null, " ",
          h("span", { class: "tl-actor" }, e.actor)),
        auditDetail(e) ? h("p", { class: "tl-reason" }, auditDetail(e)) : null));
    }
  }

  /* ---- actions (admin) ---- */
  async function promote(m, scope, reason) {
    if (!scope) { GS.toast(T("models.needs_camera"), "error"); return; }
    const model = `${m.name} ${m.version}`;
    if (!window.confirm(T("models.confirm.promote", { model, scope: scopeLabel(scope) }))) return;
    try {
      await api(`models/${enc(m.name)}/${enc(m.version)}/promote`, { method: "POST", json: { scope, reason: reason || null } });
      GS.toast(T("models.promoted", { model, scope: scopeLabel(scope) }), "ok");
      await refresh();
    } catch (err) { GS.reportError(err); }
  }

  async function rollback(ev) {
    ev.preventDefault();
    const scope = chosenScope($("rollback-scope"), $("rollback-camera"));
    if (!scope) { GS.toast(T("models.needs_camera"), "error"); return; }
    if (!window.confirm(T("models.confirm.rollback", { scope: scopeLabel(scope) }))) return;
    try {
      const reason = $("rollback-reason").value.trim();
      const result = await api("models/rollback", { method: "POST", json: { scope, reason: reason || null } });
      GS.toast(T("models.rolled_back", { detail: result.detail || `${result.model_name} ${result.model_version}` }), "ok");
      $("rollback-reason").value = "";
      await refresh();
    } catch (err) { GS.reportError(err); }
  }

  async function refresh() {
    const groups = api("camera-groups").then((g) => { state.groups = g.items || []; }).catch(() => { state.groups = []; });
    await Promise.all([
      section("harvest-msg", async () => renderHarvest(await api("harvest/summary"))),
      section("datasets-msg", async () => renderDatasets((await api("datasets")).items)),
      section("versions-msg", async () => { const models = await api("models"); await groups; renderModels(models.items); }),
      section("audit-msg", async () => renderTimeline((await api("models/timeline" + GS.query({ limit: 100 }))).items)),
    ]);
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
  }

  $("models-refresh").addEventListener("click", refresh);
  $("rollback-form").addEventListener("submit", rollback);
  $("rollback-scope").addEventListener("change", () => show($("rollback-camera-label"), $("rollback-scope").value === "camera"));
  loadRole().then(refresh);
})();
