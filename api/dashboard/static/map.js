/* The district map (/dashboard/map and the big screen's main panel), drawn with the
   vendored Leaflet and no tiles by default: grid cells as polygons coloured by their
   baseline (this period against their own mean), community and street borders
   traced from the cells' shared edges, cameras as points with their state, and the
   open orders as markers that appear, change and leave with the live feed.
   Nothing here writes HTML from data: popups and labels are built as DOM nodes. */
(function () {
  "use strict";
  const GS = window.GS;
  const L = window.L;
  const { T, h, $, api, query, fmtTime, deadlineText, isOverdue, orderUrl, statusBadge, priorityBadge } = GS;
  const LEVEL_COLOURS = { alert: "#ff4d5e", warning: "#f0a52b", normal: "#2fbf71", no_history: "#5d6f8c" };
  const CAMERA_COLOURS = { online: "#2fbf71", connecting: "#4fb3ff", reconnecting: "#f0a52b", offline: "#ff4d5e",
    error: "#ff4d5e", stopped: "#93a7c6", unknown: "#93a7c6" };
  const PRIORITY_COLOURS = { normal: "#4fb3ff", urgent: "#f0a52b", emergency: "#ff4d5e" };
  const HISTORY = { day: 28, week: 26, month: 36 };  // the seeds' rule: a month against the previous 36
  const CAMERA_REFRESH_MS = 15000;

  function key(p) { return p[0].toFixed(7) + "," + p[1].toFixed(7); }
  function latLng(p) { return [p[1], p[0]]; }

  /* Edges used once within a group of cells are the group's border: exact when neighbouring
     cells share their corner positions, as a grid map's cells do. */
  function borders(features, groupOf) {
    const groups = new Map();
    for (const f of features) {
      const group = groupOf(f.properties);
      if (!group || !f.geometry) continue;
      if (!groups.has(group)) groups.set(group, new Map());
      const edges = groups.get(group);
      for (const ring of f.geometry.coordinates) {
        for (let i = 0; i + 1 < ring.length; i++) {
          const a = key(ring[i]), b = key(ring[i + 1]);
          const k = a < b ? a + "|" + b : b + "|" + a;
          const e = edges.get(k);
          if (e) e.n += 1; else edges.set(k, { n: 1, line: [latLng(ring[i]), latLng(ring[i + 1])] });
        }
      }
    }
    const out = new Map();
    for (const [group, edges] of groups) out.set(group, [...edges.values()].filter((e) => e.n === 1).map((e) => e.line));
    return out;
  }

  function centre(geometry) {
    const ring = geometry.coordinates[0].slice(0, -1);
    const sum = ring.reduce((acc, p) => [acc[0] + p[0], acc[1] + p[1]], [0, 0]);
    return [sum[1] / ring.length, sum[0] / ring.length];
  }

  function fact(label, value) { return h("div", { class: "fact" }, h("span", {}, label), h("strong", {}, value)); }

  class DistrictMap {
    /* el: the map's box; opts.period: "month" | "week" | "day"; opts.unit: "community" | "grid_cell" (whose
       baseline colours a cell); opts.onCells(features, report). */
    constructor(el, opts) {
      this.el = el;
      this.opts = opts || {};
      this.period = this.opts.period || "month";
      this.unit = this.opts.unit || "community";
      // Without tiles Leaflet knows no zoom limits: a view fitted to one point would zoom without end.
      this.map = L.map(el, { zoomSnap: 0.25, minZoom: 3, maxZoom: 19, attributionControl: false, preferCanvas: false });
      this.map.setView([31.3, 120.6], 13);
      const tiles = document.body.dataset.mapTiles;
      if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(this.map);
      this.layers = {};
      for (const name of ["cells", "borders", "labels", "cameras", "orders"]) this.layers[name] = L.layerGroup().addTo(this.map);
      this.cells = new Map();    // code -> {feature, layer}
      this.cameras = new Map();  // camera_id -> camera
      this.orders = new Map();   // order id -> {order, marker}
      this.fitted = false;
      this.reloadCells = GS.debounce(() => this.loadCells(), 800);
      el.dataset.ready = "0";
    }

    async start() {
      await Promise.all([this.loadCells(), this.loadCameras()]);
      await this.loadOrders();
      this.el.dataset.ready = "1";
      setInterval(() => this.loadCameras(), CAMERA_REFRESH_MS);
      // Deadlines move with the clock: an order turns overdue without any message.
      setInterval(() => { for (const entry of this.orders.values()) this.styleOrder(entry); }, 30000);
      return this;
    }

    setPeriod(period) { this.period = period; return this.loadCells(); }
    setUnit(unit) { this.unit = unit; return this.loadCells(); }

    /* ---- cells ---- */
    async loadCells() {
      let report;
      try {
        report = await api("map/cells" + query({ unit: this.unit, period: this.period, history: HISTORY[this.period] }));
      } catch (err) { GS.reportError(err); return; }
      this.layers.cells.clearLayers();
      this.layers.borders.clearLayers();
      this.layers.labels.clearLayers();
      this.cells.clear();
      const drawn = report.features.filter((f) => f.geometry);
      for (const feature of drawn) this.drawCell(feature);
      this.drawBorders(drawn);
      this.el.dataset.period = report.period;
      this.el.dataset.unit = report.unit;
      this.el.dataset.cells = String(drawn.length);
      if (this.opts.onCells) this.opts.onCells(report.features, report);
      this.fit();
      for (const entry of this.orders.values()) if (!entry.marker) this.placeOrder(entry);
      this.ordersOnTop();
    }

    /* Cells and cameras are redrawn now and then; order markers stay above them, clickable. */
    ordersOnTop() {
      this.layers.cameras.eachLayer((m) => m.bringToFront());
      for (const entry of this.orders.values()) if (entry.marker) entry.marker.bringToFront();
    }

    drawCell(feature) {
      const p = feature.properties;
      const level = p.baseline.level;
      const layer = L.geoJSON(feature, { style: () => ({
        color: "#0a1628", weight: 1, fillColor: LEVEL_COLOURS[level], fillOpacity: level === "no_history" ? 0.35 : 0.55,
        className: "map-cell level-" + level,
      }) });
      layer.on("click", (ev) => this.openCell(p.code, ev.latlng));
      layer.addTo(this.layers.cells);
      layer.eachLayer((poly) => {
        const path = poly.getElement();
        if (path) Object.assign(path.dataset, { cell: p.code, level, fill: LEVEL_COLOURS[level] });
      });
      this.cells.set(p.code, { feature, layer });
    }

    drawBorders(features) {
      for (const [, lines] of borders(features, (p) => p.street)) {
        L.polyline(lines, { color: "#e6eefb", weight: 4, opacity: 0.9, interactive: false, className: "map-street" }).addTo(this.layers.borders);
      }
      const communities = borders(features, (p) => p.community && (p.street || "") + "/" + p.community);
      for (const [group, lines] of communities) {
        L.polyline(lines, { color: "#e6eefb", weight: 2, opacity: 0.8, dashArray: "6 4", interactive: false, className: "map-community" }).addTo(this.layers.borders);
        const members = features.filter((f) => f.properties.community && (f.properties.street || "") + "/" + f.properties.community === group);
        const centres = members.map((f) => centre(f.geometry));
        const at = [centres.reduce((a, c) => a + c[0], 0) / centres.length, centres.reduce((a, c) => a + c[1], 0) / centres.length];
        L.marker(at, { interactive: false, keyboard: false, icon: L.divIcon({
          className: "map-label", iconSize: null, html: h("span", { "data-community": members[0].properties.community }, members[0].properties.community),
        }) }).addTo(this.layers.labels);
      }
    }

    async openCell(code, at) {
      const cell = this.cells.get(code);
      if (!cell) return;
      const p = cell.feature.properties, b = p.baseline;
      const list = h("ol", { class: "mini-list cell-orders" }, h("li", { class: "empty" }, T("common.loading")));
      const box = h("div", { class: "cell-popup", "data-cell": code, "data-level": b.level },
        h("h3", {}, T("map.cell.title", { code }), p.name ? h("small", {}, " " + p.name) : null),
        h("div", { class: "cell-where" }, [p.street, p.community].filter(Boolean).join(" · ")),
        h("div", { class: "facts" },
          fact(T(this.unit === "community" ? "map.cell.level_community" : "map.cell.level"), h("span", { class: "badge level-" + b.level }, T("level." + b.level))),
          fact(T("map.cell.current", { period: T("period." + this.period).toLowerCase() }), String(b.current)),
          fact(T("map.cell.mean"), b.mean === null ? "–" : b.mean.toFixed(2)),
          fact(T("map.cell.open"), String(p.open)),
          fact(T("map.cell.overdue"), String(p.overdue)),
          p.manager ? fact(T("map.cell.manager"), p.manager) : null),
        h("h4", {}, T("map.cell.orders")), list);
      const where = at && isFinite(at.lat) && isFinite(at.lng) ? at : centre(cell.feature.geometry);
      L.popup({ maxWidth: 380, className: "map-popup" }).setLatLng(where).setContent(box).openOn(this.map);
      try {
        const page = await api("work-orders" + query({ grid_cell: code, limit: 8 }));
        GS.clear(list);
        for (const order of page.items) {
          list.appendChild(h("li", { "data-order-id": order.id, class: isOverdue(order) ? "overdue" : "" },
            h("a", { href: orderUrl(order) }, h("span", { class: "order-no" }, order.order_no), " ", order.category_name, " "),
            statusBadge(order.status)));
        }
        if (!page.items.length) list.appendChild(h("li", { class: "empty" }, T("map.cell.no_orders")));
      } catch (err) { GS.clear(list); GS.reportError(err); }
    }

    fit() {
      if (this.fitted) return;
      const points = [];
      for (const { feature } of this.cells.values()) for (const p of feature.geometry.coordinates[0]) points.push(latLng(p));
      for (const cam of this.cameras.values()) points.push([cam.latitude, cam.longitude]);
      if (!points.length) return;
      this.map.fitBounds(L.latLngBounds(points), { padding: [24, 24], maxZoom: 17, animate: false });
      this.fitted = this.cells.size > 0;
    }

    /* ---- cameras ---- */
    async loadCameras() {
      let list;
      try { list = await api("cameras"); } catch (err) { return; }
      this.layers.cameras.clearLayers();
      this.cameras.clear();
      for (const cam of list.items) {
        if (cam.latitude === null || cam.longitude === null) continue;
        this.cameras.set(cam.camera_id, cam);
        const state = cam.state || "unknown";
        const marker = L.circleMarker([cam.latitude, cam.longitude], {
          radius: 7, weight: 3, color: "#081224", fillColor: CAMERA_COLOURS[state] || "#93a7c6", fillOpacity: 1,
          className: "map-camera cam-" + state,
        }).bindTooltip(h("span", {}, (cam.name || cam.camera_id) + " · " + T("camstate." + state)), { direction: "top" });
        marker.addTo(this.layers.cameras);
        const el = marker.getElement();
        if (el) Object.assign(el.dataset, { camera: cam.camera_id, state });
      }
      this.ordersOnTop();
      if (this.opts.onCameras) this.opts.onCameras(list.items);
      this.fit();
      for (const entry of this.orders.values()) if (!entry.marker) this.placeOrder(entry);
    }

    /* ---- orders ---- */
    async loadOrders() {
      try {
        const page = await api("map/orders" + query({ limit: 500 }));
        for (const order of page.items) this.upsertOrder(order);
        this.el.dataset.openTotal = String(page.total);
      } catch (err) { GS.reportError(err); }
    }

    /* The order's own position (its camera's, stored with it), else its camera's now, else its cell's centre;
       several at one point fan out on a small spiral so each stays clickable. */
    position(order) {
      let at = null;
      if (order.latitude !== null && order.longitude !== null) at = [order.latitude, order.longitude];
      else if (this.cameras.has(order.camera_id)) at = [this.cameras.get(order.camera_id).latitude, this.cameras.get(order.camera_id).longitude];
      else if (order.grid_cell && this.cells.has(order.grid_cell)) at = centre(this.cells.get(order.grid_cell).feature.geometry);
      if (!at) return null;
      // At a camera the first ring is already off-centre, so the camera's own point stays visible.
      const onCamera = [...this.cameras.values()].some((c) => c.latitude === at[0] && c.longitude === at[1]);
      const k = [...this.orders.values()].filter((e) => e.base && e.base[0] === at[0] && e.base[1] === at[1] && e.order.id < order.id).length
        + (onCamera ? 1 : 0);
      const angle = k * 2.39996, r = k ? 0.00016 * Math.sqrt(k) : 0;
      return { base: at, at: [at[0] + r * Math.sin(angle), at[1] + r * Math.cos(angle) * 1.17] };
    }

    upsertOrder(order) {
      const entry = this.orders.get(order.id);
      if (entry && Date.parse(entry.order.updated_at) > Date.parse(order.updated_at)) return;  // an older copy
      if (GS.TERMINAL.has(order.status)) { this.removeOrder(order.id); return; }
      if (entry) { entry.order = order; this.styleOrder(entry); return; }
      const fresh = { order, marker: null, base: null };
      this.orders.set(order.id, fresh);
      this.placeOrder(fresh);
    }

    removeOrder(id) {
      const entry = this.orders.get(id);
      if (!entry) return;
      if (entry.marker) entry.marker.remove();
      this.orders.delete(id);
    }

    placeOrder(entry) {
      if (entry.marker) { entry.marker.remove(); entry.marker = null; }
      entry.base = null;
      const where = this.position(entry.order);
      if (!where) return;
      entry.base = where.base;
      entry.marker = L.circleMarker(where.at, { radius: 9, weight: 2, fillOpacity: 0.95, className: "map-order" })
        .bindPopup(() => this.orderPopup(entry.order), { maxWidth: 360, className: "map-popup" });
      entry.marker.addTo(this.layers.orders);
      this.styleOrder(entry);
    }

    styleOrder(entry) {
      if (!entry.marker) return;
      const order = entry.order, late = isOverdue(order);
      entry.marker.setStyle({ color: late ? "#ffffff" : "#081224", fillColor: late ? "#ff2238" : PRIORITY_COLOURS[order.priority] || "#4fb3ff",
        radius: late ? 11 : 9 });
      const el = entry.marker.getElement();
      if (!el) return;
      el.classList.toggle("overdue", late);
      Object.assign(el.dataset, { orderId: String(order.id), status: order.status, overdue: late ? "1" : "0", priority: order.priority });
    }

    orderPopup(order) {
      const late = isOverdue(order);
      return h("div", { class: "order-popup", "data-order-id": order.id },
        h("h3", {}, h("span", { class: "order-no" }, order.order_no), " ", statusBadge(order.status), " ", priorityBadge(order.priority),
          late ? h("span", { class: "badge badge-overdue" }, T("overdue.badge")) : null),
        h("div", { class: "feed-cat" }, order.category_name, " ", h("small", {}, order.category_code)),
        h("div", { class: "feed-meta" }, [order.camera_id + " / " + order.zone_id, order.grid_cell, order.address].filter(Boolean).join(" · ")),
        h("div", { class: "feed-time" }, fmtTime(order.detected_at), " · ", h("span", { class: "deadline" + (late ? " late" : "") }, deadlineText(order))),
        order.assignee ? h("div", {}, T("map.order.assignee"), ": ", order.assignee) : null,
        h("a", { class: "button", href: orderUrl(order) }, T("map.order.open")));
    }

    /* ---- the live feed's messages ---- */
    handle(event, payload) {
      if (!payload || !payload.work_order) return;
      this.upsertOrder(payload.work_order);
      this.reloadCells();  // counts and levels move with new and closed orders
    }
  }

  GS.DistrictMap = DistrictMap;
  GS.mapColours = { level: LEVEL_COLOURS, camera: CAMERA_COLOURS };

  /* ---- /dashboard/map: the map with its own live feed, a period switch and a legend ---- */
  if (document.body.dataset.page !== "map") return;
  const select = $("map-period");
  const unitSelect = $("map-unit");
  const note = $("map-note");
  const map = new DistrictMap($("district-map"), {
    period: select.value, unit: unitSelect.value,
    onCells: (features, report) => {
      const missing = features.filter((f) => !f.geometry).length;
      note.textContent = features.length === 0 ? T("map.empty") : (missing ? T("map.unmapped", { n: missing }) : "");
      $("map-period-start").textContent = T("map.since", { start: fmtTime(report.period_start) });
    },
  });
  select.addEventListener("change", () => map.setPeriod(select.value));
  unitSelect.addEventListener("change", () => map.setUnit(unitSelect.value));
  map.start();
  new GS.LiveFeed({
    state: GS.feedStateLabel($("map-feed-state")),
    ready: (connection) => { if (connection > 1) map.loadOrders(); },
    message: (event, payload) => map.handle(event, payload),
  }).start();
})();
