/* Order list: filters (status, category, camera, grid cell, overdue) kept in the
   URL, pagination, overdue rows highlighted, refreshed when the feed says so. */
(function () {
  "use strict";
  const GS = window.GS;
  const { T, h, $, api, query, show, clear, statusBadge, priorityBadge, fmtTime, deadlineText, isOverdue, orderUrl } = GS;
  const PAGE = 20;
  const FILTERS = ["status", "category_code", "camera_id", "grid_cell", "overdue"];
  const form = $("filters");

  function state() {
    const params = new URLSearchParams(location.search);
    const out = { offset: Math.max(0, Number(params.get("offset")) || 0) };
    for (const key of FILTERS) out[key] = params.get(key) || "";
    return out;
  }

  function fillForm(st) {
    for (const key of FILTERS) {
      const field = form.elements.namedItem(key);
      if (field) field.value = st[key];
    }
  }

  async function fillOptions(st) {
    const statusSelect = $("f-status");
    for (const status of GS.STATUSES) statusSelect.appendChild(h("option", { value: status }, T("status." + status)));
    try {
      const [cameras, summary] = await Promise.all([api("cameras"), api("stats/summary")]);
      const cameraSelect = $("f-camera");
      for (const cam of cameras.items) {
        cameraSelect.appendChild(h("option", { value: cam.camera_id }, cam.name ? `${cam.name} (${cam.camera_id})` : cam.camera_id));
      }
      const codes = $("category-codes");
      const names = summary.category_names || {};
      for (const code of Object.keys(summary.by_category).sort()) codes.appendChild(h("option", { value: code }, names[code] || code));
    } catch (err) { /* the table load reports auth problems */ }
    fillForm(st);
  }

  function row(order) {
    const late = isOverdue(order);
    const open = () => { location.href = orderUrl(order); };
    return h("tr", { class: late ? "overdue" : "", "data-order-id": order.id, "data-status": order.status, tabindex: 0,
      onclick: open, onkeydown: (ev) => { if (ev.key === "Enter") open(); } },
    h("td", {}, h("a", { href: orderUrl(order), class: "order-no" }, order.order_no)),
    h("td", {}, order.category_name, " ", h("small", {}, order.category_code)),
    h("td", {}, statusBadge(order.status), late ? h("span", { class: "badge badge-overdue" }, T("overdue.badge")) : null),
    h("td", {}, priorityBadge(order.priority)),
    h("td", {}, order.camera_id, " / ", order.zone_id),
    h("td", {}, order.grid_cell || "–"),
    h("td", {}, fmtTime(order.detected_at)),
    h("td", { class: "deadline" + (late ? " late" : "") }, deadlineText(order)),
    h("td", {}, order.assignee || "–"));
  }

  async function load() {
    const st = state();
    const params = { limit: PAGE, offset: st.offset };
    for (const key of FILTERS) params[key] = st[key];
    try {
      const page = await api("work-orders" + query(params));
      const tbody = clear($("orders-body"));
      for (const order of page.items) tbody.appendChild(row(order));
      show($("orders-empty"), page.items.length === 0);
      const from = page.total ? page.offset + 1 : 0;
      const to = page.offset + page.items.length;
      $("page-range").textContent = T("page.range", { from, to, total: page.total });
      $("page-prev").disabled = page.offset <= 0;
      $("page-next").disabled = to >= page.total;
    } catch (err) { GS.reportError(err); }
  }

  function go(changes) {
    const st = Object.assign(state(), changes);
    const params = {};
    for (const key of FILTERS) params[key] = st[key];
    if (st.offset) params.offset = st.offset;
    const lang = new URLSearchParams(location.search).get("lang");
    if (lang) params.lang = lang;
    history.pushState(null, "", location.pathname + query(params));
    load();
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const changes = { offset: 0 };
    for (const key of FILTERS) changes[key] = (form.elements.namedItem(key).value || "").trim();
    go(changes);
  });
  $("f-reset").addEventListener("click", () => {
    const changes = { offset: 0 };
    for (const key of FILTERS) changes[key] = "";
    fillForm(changes);
    go(changes);
  });
  $("page-prev").addEventListener("click", () => go({ offset: Math.max(0, state().offset - PAGE) }));
  $("page-next").addEventListener("click", () => go({ offset: state().offset + PAGE }));
  window.addEventListener("popstate", () => { fillForm(state()); load(); });

  const reload = GS.debounce(load, 700);
  new GS.LiveFeed({ state: GS.feedStateLabel($("feed-state")), message: reload }).start();
  setInterval(load, 60000);
  fillOptions(state());
  load();
})();
