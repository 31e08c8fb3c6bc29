/* Live page (the big screen, made for a 1920x1080 wall): new orders appear at the top
   of the feed with their evidence thumbnail as they are filed, changed orders update in
   place; the district map in the middle (cells by baseline, cameras, open orders, moved
   by the same live feed); counters, overdue list, camera health and a 14-day trend. */
(function () {
  "use strict";
  const GS = window.GS;
  const { T, h, $, api, query, show, statusBadge, priorityBadge, fmtTime, fmtDay, deadlineText, isOverdue, orderUrl } = GS;
  const MAX_ITEMS = 60;
  const feed = $("feed");
  const orders = new Map(); // id -> {order, kind}
  const thumbs = new Map(); // evidence url -> Promise of an object URL (kept while its order is in the feed)
  const CAMERA_REFRESH_MS = 15000;

  function snapshotUrl(order) {
    const shot = (order.evidence || []).find((e) => e.kind === "snapshot") || (order.evidence || []).find((e) => /^image\//.test(e.content_type));
    return shot ? shot.url : null;
  }

  /* The evidence frame, fetched once per order with the token and shown from an object URL. */
  function thumbnail(order) {
    const url = snapshotUrl(order);
    if (!url) return h("div", { class: "feed-thumb none" });
    const img = h("img", { class: "feed-thumb", alt: "", "data-evidence": url });
    if (!thumbs.has(url)) thumbs.set(url, GS.authImage(url).catch(() => null));
    thumbs.get(url).then((objectUrl) => { if (objectUrl) img.src = objectUrl; });
    return img;
  }

  function dropThumb(order) {
    const url = snapshotUrl(order);
    if (url && thumbs.has(url)) {
      thumbs.get(url).then((objectUrl) => { if (objectUrl) URL.revokeObjectURL(objectUrl); });
      thumbs.delete(url);
    }
  }

  function card(order, kind) {
    const late = isOverdue(order);
    const place = [order.camera_id + " / " + order.zone_id, order.grid_cell, order.address].filter(Boolean).join(" · ");
    return h("li", {
      class: "feed-item prio-" + order.priority + (late ? " overdue" : ""),
      "data-order-id": order.id, "data-status": order.status, "data-overdue": late ? "1" : "0",
    },
    h("a", { href: orderUrl(order), class: "feed-link" },
      thumbnail(order),
      h("div", { class: "feed-body" },
      h("div", { class: "feed-top" },
        h("span", { class: "order-no" }, order.order_no),
        statusBadge(order.status), priorityBadge(order.priority),
        late ? h("span", { class: "badge badge-overdue" }, T("overdue.badge")) : null,
        kind ? h("span", { class: "badge kind-" + kind }, T(kind === "new" ? "feed.new" : "feed.changed")) : null),
      h("div", { class: "feed-cat" }, order.category_name, " ", h("small", {}, order.category_code)),
      h("div", { class: "feed-meta" }, place),
      h("div", { class: "feed-time" }, fmtTime(order.detected_at), " · ",
        h("span", { class: "deadline" + (late ? " late" : "") }, deadlineText(order))))));
  }

  function render(id, flash, atEnd) {
    const entry = orders.get(id);
    const fresh = card(entry.order, entry.kind);
    const old = feed.querySelector(`li[data-order-id="${id}"]`);
    if (old) old.replaceWith(fresh);
    else if (atEnd) feed.appendChild(fresh);
    else feed.insertBefore(fresh, feed.firstChild);
    if (flash) {
      fresh.classList.add("flash");
      setTimeout(() => fresh.classList.remove("flash"), 2500);
    }
  }

  function upsert(order, kind, flash, atEnd) {
    const known = orders.get(order.id);
    if (known && Date.parse(known.order.updated_at) > Date.parse(order.updated_at)) return; // an older copy
    orders.set(order.id, { order, kind: kind || (known && known.kind) || null });
    render(order.id, flash, atEnd);
    while (feed.children.length > MAX_ITEMS) {
      const last = feed.lastElementChild;
      const gone = orders.get(Number(last.dataset.orderId));
      if (gone) dropThumb(gone.order);
      orders.delete(Number(last.dataset.orderId));
      last.remove();
    }
    show($("feed-empty"), feed.children.length === 0);
  }

  async function loadRecent() {
    try {
      const page = await api("work-orders" + query({ limit: 20 }));
      // Below whatever the stream has brought already (that is newer); newest first.
      for (const order of page.items) {
        if (!orders.has(order.id)) upsert(order, null, false, true);
      }
      show($("feed-empty"), feed.children.length === 0);
    } catch (err) { GS.reportError(err); }
  }

  async function loadSummary() {
    try {
      const sum = await api("stats/summary");
      GS.fillKpis(sum);
    } catch (err) { /* counters wait for the next refresh */ }
  }

  async function loadOverdue() {
    try {
      const page = await api("work-orders" + query({ overdue: "true", limit: 10 }));
      const list = GS.clear($("overdue-list"));
      for (const order of page.items) {
        list.appendChild(h("li", { class: "overdue", "data-order-id": order.id },
          h("a", { href: orderUrl(order) }, h("span", { class: "order-no" }, order.order_no), " ",
            order.category_name, " ", h("span", { class: "deadline late" }, deadlineText(order)))));
      }
      show($("overdue-empty"), page.items.length === 0);
    } catch (err) { /* shown by the banner when it is auth */ }
  }

  async function loadTrend() {
    try {
      const series = await api("stats/timeseries" + query({ period: "day", buckets: 14 }));
      GS.charts.columns($("trend-chart"), series.buckets.map((b) => ({ label: fmtDay(b.start), value: b.count })), { height: 180 });
    } catch (err) { /* idem */ }
  }

  /* Camera health: each camera's state and its newest frame's time (states are not on the feed: polled). */
  function showCameras(items) {
    const list = GS.clear($("camera-health"));
    const online = items.filter((c) => c.state === "online").length;
    for (const cam of items) {
      const state = cam.state || "unknown";
      list.appendChild(h("li", { class: "camera-row state-" + state, "data-camera-id": cam.camera_id, "data-state": state },
        h("a", { href: "/dashboard/cameras" }, h("strong", {}, cam.name || cam.camera_id), " ",
          h("span", { class: "badge cam-" + state }, T("camstate." + state)), " ",
          h("small", {}, cam.last_seen_at ? T("live.cameras.seen", { time: fmtTime(cam.last_seen_at) }) : (cam.reason || "")))));
    }
    $("cameras-summary").textContent = items.length ? T("live.cameras.summary", { online, total: items.length }) : "";
    show($("cameras-empty"), items.length === 0);
  }

  async function loadCameras() {
    try { showCameras((await api("cameras")).items); } catch (err) { /* idem */ }
  }

  const periodSelect = $("live-map-period");
  const unitSelect = $("live-map-unit");
  const map = new GS.DistrictMap($("live-map"), { period: periodSelect.value, unit: unitSelect.value });
  periodSelect.addEventListener("change", () => map.setPeriod(periodSelect.value));
  unitSelect.addEventListener("change", () => map.setUnit(unitSelect.value));
  map.start();

  const refreshSide = GS.debounce(() => { loadSummary(); loadOverdue(); loadTrend(); }, 800);

  new GS.LiveFeed({
    state: GS.feedStateLabel($("feed-state")),
    ready: (connection) => {
      if (connection === 1) loadRecent();  // later connections resume with Last-Event-ID
      else map.loadOrders();
      refreshSide();
    },
    message: (event, payload) => {
      if (!payload || !payload.work_order) return;
      upsert(payload.work_order, event === "order.created" ? "new" : "changed", true);
      map.handle(event, payload);
      refreshSide();
    },
  }).start();

  // Deadlines move with the clock: re-draw countdowns and overdue marks every 30 s.
  setInterval(() => { for (const id of orders.keys()) render(id, false); }, 30000);
  setInterval(refreshSide, 60000);
  setInterval(loadCameras, CAMERA_REFRESH_MS);
  loadSummary(); loadOverdue(); loadTrend(); loadCameras();
})();
