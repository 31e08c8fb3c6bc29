/* Camera wall: each camera's state, its latest frame (uploaded by its worker)
   with the registered zones drawn over it, and a link to the zone editor. */
(function () {
  "use strict";
  const GS = window.GS;
  const { T, h, s, $, api, show, clear, fmtTime } = GS;
  const grid = $("camera-grid");
  const FRAME_REFRESH_MS = 10000;

  function enc(id) { return encodeURIComponent(id); }

  /* Zones are normalised; drawn in a viewBox of the frame's own pixels (or 16:9 without a frame). */
  function drawZones(svg, zones, width, height) {
    clear(svg);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("preserveAspectRatio", "none");
    for (const zone of zones) {
      const pts = zone.polygon.map(([x, y]) => `${(x * width).toFixed(1)},${(y * height).toFixed(1)}`).join(" ");
      const g = s("g", { class: "zone", "data-zone-id": zone.zone_id });
      g.appendChild(s("polygon", { points: pts }));
      const [lx, ly] = zone.polygon[0];
      g.appendChild(s("text", { x: lx * width + 4, y: ly * height + Math.max(14, height / 12), "font-size": Math.max(12, height / 14) }, zone.name || zone.zone_id));
      svg.appendChild(g);
    }
  }

  async function loadFrame(cardEl, cam, zones) {
    const img = cardEl.querySelector("img");
    const svg = cardEl.querySelector("svg");
    const placeholder = cardEl.querySelector(".no-frame");
    try {
      GS.setObjectUrl(img, await GS.authImage(`cameras/${enc(cam.camera_id)}/snapshot`));
      await GS.imageLoaded(img);
      show(img, true);
      show(placeholder, false);
      drawZones(svg, zones, img.naturalWidth, img.naturalHeight);
    } catch (err) {
      show(img, false);
      show(placeholder, true);
      drawZones(svg, zones, 1280, 720);
    }
  }

  function card(cam, zones) {
    const state = cam.state || "unknown";
    const el = h("article", { class: "camera-card state-" + state, "data-camera-id": cam.camera_id },
      h("header", {},
        h("h2", {}, cam.name || cam.camera_id, cam.name ? h("small", {}, " " + cam.camera_id) : null),
        h("span", { class: "badge cam-" + state }, T("camstate." + state))),
      h("div", { class: "camera-frame" },
        h("img", { alt: cam.camera_id, class: "hidden" }),
        h("div", { class: "no-frame" }, T("cameras.no_frame")),
        s("svg", { class: "overlay", "aria-hidden": "true" })),
      h("dl", { class: "fields compact" },
        h("dt", {}, T("detail.grid_cell")), h("dd", {}, cam.grid_cell || "–"),
        h("dt", {}, T("detail.address")), h("dd", {}, cam.address || "–"),
        h("dt", {}, T("cameras.last_online")), h("dd", {}, fmtTime(cam.last_online_at)),
        h("dt", {}, T("cameras.last_seen")), h("dd", {}, fmtTime(cam.last_seen_at)),
        h("dt", {}, T("cameras.last_error")), h("dd", { class: cam.last_error ? "err" : "" }, cam.last_error ? `${fmtTime(cam.last_error_at)} ${cam.last_error}` : "–")),
      h("footer", {},
        h("span", {}, T("cameras.zones", { n: zones.length })),
        h("a", { class: "button", href: `/dashboard/cameras/${enc(cam.camera_id)}/zones` }, T("cameras.edit_zones"))));
    return el;
  }

  let cards = [];

  async function load() {
    try {
      const list = await api("cameras");
      clear(grid);
      cards = [];
      show($("cameras-empty"), list.items.length === 0);
      for (const cam of list.items) {
        let zones = [];
        try { zones = await api(`cameras/${enc(cam.camera_id)}/zones`); } catch (err) { zones = []; }
        const el = card(cam, zones);
        grid.appendChild(el);
        cards.push({ el, cam, zones });
        loadFrame(el, cam, zones);
      }
    } catch (err) { GS.reportError(err); }
  }

  $("cameras-refresh").addEventListener("click", load);
  setInterval(() => { for (const c of cards) loadFrame(c.el, c.cam, c.zones); }, FRAME_REFRESH_MS);
  setInterval(load, 60000);
  load();
})();
