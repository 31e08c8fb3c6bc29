/* Zone editor: draw or change a camera zone's polygon on its latest frame and
   save it to the API in normalised coordinates (0..1, origin top-left). The
   API validates the polygon like the worker config does; its error is shown
   as is, and the edges it names are marked on the frame. Workers pick the
   change up by themselves (streams/zone_sync.py). */
(function () {
  "use strict";
  const GS = window.GS;
  const { T, h, s, $, api, show, clear } = GS;
  const CAMERA = document.body.dataset.cameraId;
  const CAM = encodeURIComponent(CAMERA);
  const svg = $("editor-svg");
  const img = $("editor-img");
  const frame = $("editor-frame");
  const EDGE_SNAP_PX = 8;

  let W = 1280, H = 720;
  let zones = [];
  let edit = null;      // {zone_id, name, polygon: [[x, y], ...], isNew}
  let point = null;     // index of the selected vertex
  let dragging = false;
  let badEdges = [];    // [[i, j], ...] named by the API's self-intersection error

  function round(v) { return Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000; }

  function toNorm(ev) {
    const r = svg.getBoundingClientRect();
    return [round((ev.clientX - r.left) / r.width), round((ev.clientY - r.top) / r.height)];
  }

  function message(kind, text) {
    const err = $("z-error"), ok = $("z-ok");
    err.textContent = kind === "error" ? text : "";
    ok.textContent = kind === "ok" ? text : "";
    show(err, kind === "error");
    show(ok, kind === "ok");
  }

  /* ---- drawing ---- */
  function draw() {
    clear(svg);
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const r = Math.max(5, W / 140);
    for (const zone of zones) {
      if (edit && !edit.isNew && zone.zone_id === edit.zone_id) continue;
      const pts = zone.polygon.map(([x, y]) => `${x * W},${y * H}`).join(" ");
      const g = s("g", { class: "zone other", "data-zone-id": zone.zone_id });
      g.appendChild(s("polygon", { points: pts }));
      g.appendChild(s("text", { x: zone.polygon[0][0] * W + 6, y: zone.polygon[0][1] * H + Math.max(16, H / 28), "font-size": Math.max(14, H / 30) }, zone.zone_id));
      svg.appendChild(g);
    }
    if (!edit) return;
    const poly = edit.polygon;
    const pts = poly.map(([x, y]) => `${x * W},${y * H}`).join(" ");
    const g = s("g", { class: "zone editing", "data-zone-id": edit.zone_id || "" });
    g.appendChild(s(poly.length >= 3 ? "polygon" : "polyline", { points: pts }));
    for (const [i, j] of badEdges) {
      const a = poly[i], b = poly[j];
      if (a && b) g.appendChild(s("line", { x1: a[0] * W, y1: a[1] * H, x2: b[0] * W, y2: b[1] * H, class: "bad-edge" }));
    }
    poly.forEach(([x, y], i) => {
      g.appendChild(s("circle", { cx: x * W, cy: y * H, r, class: "vertex" + (i === point ? " selected" : ""), "data-index": i }));
    });
    svg.appendChild(g);
    $("z-points").textContent = T("zones.points", { n: poly.length });
  }

  /* Where the zone comes from (the worker's config, or edited here: issue 17), its kind and its rules. */
  function zoneFacts(zone) {
    const origin = zone.origin === "config" ? "config" : "dashboard";
    const rules = zone.rules === null || zone.rules === undefined ? null
      : zone.rules.length ? T("zones.rules", { rules: zone.rules.join(", ") }) : T("zones.no_rules");
    return h("span", { class: "zone-facts", "data-origin": origin }, " ",
      h("span", { class: "badge zone-origin-" + origin }, T("zones.origin." + origin)),
      zone.kind ? " " + T("zones.kind", { kind: zone.kind }) : "", rules ? " · " + rules : "");
  }

  function renderList() {
    const list = clear($("zone-list"));
    for (const zone of zones) {
      const active = edit && !edit.isNew && edit.zone_id === zone.zone_id;
      list.appendChild(h("li", {},
        h("button", { type: "button", class: "zone-item" + (active ? " active" : ""), "data-zone-id": zone.zone_id, onclick: () => select(zone) },
          h("strong", {}, zone.zone_id), zone.name ? " " + zone.name : "", " ", h("small", {}, T("zones.points", { n: zone.polygon.length })),
          zoneFacts(zone))));
    }
  }

  function renderForm() {
    const has = !!edit;
    show($("z-select-hint"), !has);
    $("z-id").value = has ? edit.zone_id : "";
    $("z-id").readOnly = has && !edit.isNew;
    $("z-name").value = has ? edit.name || "" : "";
    for (const id of ["z-save", "z-del-point", "z-clear", "z-id", "z-name"]) $(id).disabled = !has;
    $("z-delete").disabled = !has || edit.isNew;
    if (!has) $("z-points").textContent = "";
  }

  function select(zone) {
    edit = { zone_id: zone.zone_id, name: zone.name || "", polygon: zone.polygon.map((p) => p.slice()), isNew: false };
    point = null;
    badEdges = [];
    message(null);
    renderForm(); renderList(); draw();
  }

  function startNew() {
    edit = { zone_id: "", name: "", polygon: [], isNew: true };
    point = null;
    badEdges = [];
    message(null);
    renderForm(); renderList(); draw();
    $("z-id").focus();
  }

  /* ---- editing ---- */
  function segmentDistancePx(p, a, b, rect) {
    const px = p[0] * rect.width, py = p[1] * rect.height;
    const ax = a[0] * rect.width, ay = a[1] * rect.height, bx = b[0] * rect.width, by = b[1] * rect.height;
    const dx = bx - ax, dy = by - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2)) : 0;
    return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
  }

  function addPoint(p) {
    const poly = edit.polygon;
    let at = poly.length;
    if (poly.length >= 3) {
      const rect = svg.getBoundingClientRect();
      let best = EDGE_SNAP_PX;
      for (let i = 0; i < poly.length; i++) {
        const d = segmentDistancePx(p, poly[i], poly[(i + 1) % poly.length], rect);
        if (d < best) { best = d; at = i + 1; }
      }
    }
    poly.splice(at, 0, p);
    return at;
  }

  function deletePoint() {
    if (!edit || point === null) return;
    edit.polygon.splice(point, 1);
    point = edit.polygon.length ? Math.min(point, edit.polygon.length - 1) : null;
    badEdges = [];
    draw();
  }

  svg.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    ev.preventDefault();
    frame.focus({ preventScroll: true });
    if (!edit) startNew();
    const target = ev.target;
    if (target.classList && target.classList.contains("vertex")) {
      point = Number(target.getAttribute("data-index"));
    } else {
      point = addPoint(toNorm(ev));
    }
    badEdges = [];
    dragging = true;
    svg.setPointerCapture(ev.pointerId);
    draw();
  });
  svg.addEventListener("pointermove", (ev) => {
    if (!dragging || !edit || point === null) return;
    edit.polygon[point] = toNorm(ev);
    draw();
  });
  const stop = (ev) => {
    dragging = false;
    if (svg.hasPointerCapture && svg.hasPointerCapture(ev.pointerId)) svg.releasePointerCapture(ev.pointerId);
  };
  svg.addEventListener("pointerup", stop);
  svg.addEventListener("pointercancel", stop);
  svg.addEventListener("dblclick", (ev) => {
    if (ev.target.classList && ev.target.classList.contains("vertex")) {
      point = Number(ev.target.getAttribute("data-index"));
      deletePoint();
    }
  });
  frame.addEventListener("keydown", (ev) => {
    if (ev.key === "Delete" || ev.key === "Backspace") { ev.preventDefault(); deletePoint(); }
    if (ev.key === "Escape") { point = null; draw(); }
  });

  /* ---- API ---- */
  function unregistered(visible) { show($("z-unregistered"), visible); }

  async function save() {
    if (!edit) return;
    const zoneId = $("z-id").value.trim();
    const name = $("z-name").value.trim();
    if (!/^[0-9A-Za-z_.\-]{1,64}$/.test(zoneId)) { message("error", T("zones.need_id")); return; }
    const polygon = edit.polygon.map(([x, y]) => [x, y]);
    try {
      let saved;
      if (edit.isNew) {
        const body = { zone_id: zoneId, polygon };
        if (name) body.name = name;
        saved = await api(`cameras/${CAM}/zones`, { method: "POST", json: body });
      } else {
        const body = { polygon };
        if (name) body.name = name;
        saved = await api(`cameras/${CAM}/zones/${encodeURIComponent(zoneId)}`, { method: "PATCH", json: body });
      }
      badEdges = [];
      message("ok", T("zones.saved", { zone: saved.zone_id }));
      await loadZones();
      select(zones.find((z) => z.zone_id === saved.zone_id) || saved);
      message("ok", T("zones.saved", { zone: saved.zone_id }));
    } catch (err) {
      const text = err.message || String(err);
      const m = /edge (\d+)-(\d+) crosses edge (\d+)-(\d+)/.exec(text);
      badEdges = m ? [[Number(m[1]), Number(m[2])], [Number(m[3]), Number(m[4])]] : [];
      if (err.status === 404 && /camera/.test(text)) unregistered(true);
      message("error", T("zones.error", { detail: text }));
      draw();
    }
  }

  async function removeZone() {
    if (!edit || edit.isNew) return;
    const known = zones.find((z) => z.zone_id === edit.zone_id);
    const ask = known && known.rules && known.rules.length ? "zones.confirm_delete_config" : "zones.confirm_delete";
    if (!window.confirm(T(ask, { zone: edit.zone_id }))) return;
    try {
      await api(`cameras/${CAM}/zones/${encodeURIComponent(edit.zone_id)}`, { method: "DELETE" });
      const gone = edit.zone_id;
      edit = null;
      await loadZones();
      renderForm(); draw();
      message("ok", T("zones.deleted", { zone: gone }));
    } catch (err) { message("error", T("zones.error", { detail: err.message })); }
  }

  async function loadZones() {
    try {
      zones = await api(`cameras/${CAM}/zones`);
      unregistered(false);
    } catch (err) {
      zones = [];
      if (err.status === 404) unregistered(true);
      else GS.reportError(err);
    }
    renderList();
    draw();
  }

  async function loadFrame() {
    try {
      GS.setObjectUrl(img, await GS.authImage(`cameras/${CAM}/snapshot`));
      await GS.imageLoaded(img);
      W = img.naturalWidth; H = img.naturalHeight;
      frame.classList.remove("blank");
      show($("z-no-frame"), false);
    } catch (err) {
      frame.classList.add("blank");
      show(img, false);
      show($("z-no-frame"), true);
    }
    draw();
  }

  $("z-new").addEventListener("click", startNew);
  $("z-save").addEventListener("click", save);
  $("z-del-point").addEventListener("click", deletePoint);
  $("z-clear").addEventListener("click", () => { if (edit) { edit.polygon = []; point = null; badEdges = []; draw(); } });
  $("z-delete").addEventListener("click", removeZone);
  $("z-register").addEventListener("click", async () => {
    try {
      await api("cameras", { method: "POST", json: { camera_id: CAMERA } });
      unregistered(false);
      message(null);
      loadZones();
    } catch (err) { message("error", T("zones.error", { detail: err.message })); }
  });

  renderForm();
  loadFrame();
  loadZones();
})();
