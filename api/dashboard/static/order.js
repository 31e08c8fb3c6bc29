/* Order detail: fields, evidence with the detection boxes drawn over it (scaled
   from the image's natural size), one button per transition the caller may make,
   verdict, comments, the timeline; kept current by the live feed. */
(function () {
  "use strict";
  const GS = window.GS;
  const { T, h, s, $, api, show, clear, statusBadge, priorityBadge, fmtTime, deadlineText, isOverdue } = GS;
  const ORDER_ID = Number(document.body.dataset.orderId);
  const NEEDS_REASON = new Set(["rejected", "returned", "rework", "extension", "suspended", "escalated"]);
  let current = null;
  let shownEvidence = null;
  let busy = false;

  function field(label, value, attrs) {
    return [h("dt", {}, label), h("dd", attrs || {}, value === null || value === undefined || value === "" ? "–" : value)];
  }

  function renderFields(o) {
    const late = isOverdue(o);
    $("d-order-no").textContent = o.order_no;
    const status = $("d-status");
    status.className = "badge status-" + o.status;
    status.dataset.status = o.status;
    status.textContent = T("status." + o.status);
    show($("d-overdue"), late);
    document.body.classList.toggle("is-overdue", late);
    clear($("d-category")).append(o.category_name + " ", h("small", {}, o.category_code), " ", priorityBadge(o.priority));
    const area = [o.admin_area, o.street, o.community].filter(Boolean).join(" / ");
    const counters = `${o.repeat_count} / ${o.rework_count} / ${o.escalation_level}`;
    const verdict = o.verdict ? T("verdict." + o.verdict) + (o.verdict_reason ? " — " + o.verdict_reason : "") : null;
    append($("d-fields"), [
      field(T("detail.deadline"), [fmtTime(o.deadline_at, true), " ", !GS.CLOCK_RUNNING.has(o.status) && !late ? null
        : h("span", { class: "deadline" + (late ? " late" : "") }, "(" + deadlineText(o) + ")")].filter(Boolean), { id: "f-deadline" }),
      field(T("detail.camera"), o.camera_id),
      field(T("detail.zone"), o.zone_id),
      field(T("detail.grid_cell"), o.grid_cell),
      field(T("detail.address"), o.address),
      field(T("detail.area"), area),
      field(T("detail.team"), o.team),
      field(T("detail.department"), o.department),
      field(T("detail.assignee"), o.assignee, { id: "f-assignee" }),
      field(T("detail.detected_at"), fmtTime(o.detected_at, true)),
      field(T("detail.filed_at"), fmtTime(o.filed_at, true)),
      field(T("detail.dispatched_at"), fmtTime(o.dispatched_at, true)),
      field(T("detail.closed_at"), fmtTime(o.closed_at, true)),
      field(T("detail.confidence"), (o.confidence * 100).toFixed(0) + "%"),
      field(T("detail.labels"), o.labels.join(", ")),
      field(T("detail.model"), o.model_name + " " + o.model_version),
      field(T("detail.counters"), counters),
      field(T("detail.verdict"), verdict),
    ]);
  }

  function append(el, items) {
    clear(el);
    for (const item of items.flat()) el.appendChild(item);
  }

  /* ---- evidence ---- */
  function drawBoxes(img, boxes) {
    const svg = clear($("evidence-boxes"));
    const w = img.naturalWidth, hgt = img.naturalHeight;
    if (!w || !hgt) return;
    // viewBox in the image's own pixels: the boxes scale with the image, whatever its shown size.
    svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
    svg.setAttribute("preserveAspectRatio", "none");
    const stroke = Math.max(2, Math.round(w / 400));
    for (const box of boxes) {
      const [x1, y1, x2, y2] = box.xyxy;
      const label = `${box.label}${box.track_id !== null && box.track_id !== undefined ? " #" + box.track_id : ""} ${(box.confidence * 100).toFixed(0)}%`;
      const g = s("g", { class: "det-box", "data-label": box.label });
      g.appendChild(s("rect", { x: x1, y: y1, width: Math.max(1, x2 - x1), height: Math.max(1, y2 - y1), "stroke-width": stroke }));
      const fs = Math.max(12, Math.round(w / 60));
      const ty = y1 - fs * 0.4 > fs ? y1 - fs * 0.4 : y2 + fs;
      g.appendChild(s("text", { x: x1, y: ty, "font-size": fs }, label));
      svg.appendChild(g);
    }
    $("d-boxes").textContent = T("detail.boxes", { n: boxes.length });
  }

  const isImage = (e) => e.content_type.startsWith("image/");
  const isClip = (e) => e.content_type.startsWith("video/");

  async function showEvidence(o, item) {
    shownEvidence = item.id;
    for (const thumb of document.querySelectorAll("#evidence-thumbs button")) {
      thumb.classList.toggle("active", Number(thumb.dataset.evidenceId) === item.id);
    }
    const clip = isClip(item);
    const video = $("evidence-video");
    show($("evidence-frame"), !clip);
    show($("evidence-clip"), clip);
    if (!clip) video.pause();
    try {
      // Evidence needs the bearer token, so media elements get an object URL of the fetched blob.
      if (clip) {
        GS.setObjectUrl(video, await GS.authImage(item.url));
        $("d-boxes").textContent = "";
        return;
      }
      const img = $("evidence-img");
      GS.setObjectUrl(img, await GS.authImage(item.url));
      await GS.imageLoaded(img);
      // Boxes are pixel coordinates in the snapshot the rule fired on.
      drawBoxes(img, item.kind === "snapshot" ? o.boxes : []);
    } catch (err) { GS.reportError(err); }
  }

  function renderEvidence(o) {
    const shown = o.evidence.filter((e) => isImage(e) || isClip(e));
    const images = shown.filter(isImage);
    show($("evidence-empty"), shown.length === 0);
    const thumbs = clear($("evidence-thumbs"));
    if (shown.length > 1) {
      for (const item of shown) {
        thumbs.appendChild(h("button", { type: "button", class: "ghost", "data-evidence-id": item.id, "data-kind": item.kind, onclick: () => showEvidence(o, item) }, T("evidence." + item.kind)));
      }
    }
    const stillThere = shown.find((e) => e.id === shownEvidence);
    if (!stillThere && shown.length) showEvidence(o, images.find((e) => e.kind === "snapshot") || images[0] || shown[0]);
    else if (stillThere && isImage(stillThere)) drawBoxes($("evidence-img"), stillThere.kind === "snapshot" ? o.boxes : []);
    if (!shown.length) { show($("evidence-frame"), false); show($("evidence-clip"), false); }
  }

  /* ---- actions ---- */
  function renderActions(o) {
    const box = clear($("action-buttons"));
    for (const target of o.allowed_transitions) {
      const kind = ["rejected", "returned", "rework", "suspended", "escalated"].includes(target) ? "warn" : "ok";
      box.appendChild(h("button", { type: "button", class: kind, "data-action": target, onclick: () => move(target) }, T("action." + target)));
    }
    show($("no-actions"), o.allowed_transitions.length === 0);
  }

  function actionError(message) {
    const el = $("action-error");
    el.textContent = message || "";
    show(el, !!message);
  }

  async function move(target) {
    if (busy) return;
    const reason = $("a-reason").value.trim();
    if (NEEDS_REASON.has(target) && !reason) {
      actionError(T("detail.reason_required"));
      $("a-reason").focus();
      return;
    }
    const body = { to: target };
    if (reason) body.reason = reason;
    const assignee = $("a-assignee").value.trim();
    if (assignee && (target === "dispatched" || target === "accepted")) body.assignee = assignee;
    const department = $("a-department").value.trim();
    if (department && target === "dispatched") body.department = department;
    const extend = Number($("a-extend").value);
    if (extend > 0 && current.status === "extension" && target === "in_progress") body.extend_minutes = extend;
    const photo = $("a-photo").files[0];
    busy = true;
    try {
      if (photo && target === "feedback") {
        body.evidence = [{ kind: "after", content_type: photo.type === "image/png" ? "image/png" : "image/jpeg", data_b64: await GS.readFileB64(photo) }];
      }
      const order = await api(`work-orders/${ORDER_ID}/transitions`, { method: "POST", json: body });
      actionError("");
      $("a-reason").value = "";
      $("a-photo").value = "";
      GS.toast(T("detail.moved", { status: T("status." + order.status) }), "ok");
      render(order);
      loadTimeline();
    } catch (err) {
      actionError(err.message);
      if (err.body && err.body.current) load();  // someone else moved it meanwhile
    } finally {
      busy = false;
    }
  }

  async function verdict(kind) {
    const reason = $("a-reason").value.trim() || T("verdict.default_" + kind);
    try {
      const order = await api(`work-orders/${ORDER_ID}/verdict`, { method: "POST", json: { verdict: kind, reason } });
      actionError("");
      $("a-reason").value = "";
      render(order);
      loadTimeline();
    } catch (err) { actionError(err.message); }
  }

  /* ---- timeline ---- */
  async function loadTimeline() {
    try {
      const page = await api(`work-orders/${ORDER_ID}/timeline`);
      const list = clear($("timeline"));
      for (const e of page.items.slice().reverse()) {
        const move = e.from_status || e.to_status
          ? h("span", { class: "tl-move" }, e.from_status ? statusBadge(e.from_status) : null, e.to_status ? " → " : null, e.to_status ? statusBadge(e.to_status) : null)
          : null;
        list.appendChild(h("li", { class: "tl-" + e.action, "data-action": e.action },
          h("div", { class: "tl-head" }, h("time", { datetime: e.at }, fmtTime(e.at, true)), " ",
            h("strong", {}, T("timeline." + e.action)), " ", h("span", { class: "tl-actor" }, `${e.actor} (${e.role})`)),
          move,
          e.reason ? h("p", { class: "tl-reason" }, e.reason) : null));
      }
    } catch (err) { /* the order load reports it */ }
  }

  function render(o) {
    current = o;
    renderFields(o);
    renderEvidence(o);
    renderActions(o);
  }

  async function load() {
    try {
      render(await api(`work-orders/${ORDER_ID}`));
      show($("d-missing"), false);
      show($("detail"), true);
      loadTimeline();
    } catch (err) {
      if (err.status === 404) { show($("d-missing"), true); show($("detail"), false); }
      else GS.reportError(err);
    }
  }

  for (const btn of document.querySelectorAll("[data-verdict]")) {
    btn.addEventListener("click", () => verdict(btn.dataset.verdict));
  }
  $("comment-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("comment-text").value.trim();
    if (!text) return;
    try {
      await api(`work-orders/${ORDER_ID}/comments`, { method: "POST", json: { text } });
      $("comment-text").value = "";
      loadTimeline();
    } catch (err) { GS.reportError(err); }
  });
  window.addEventListener("resize", GS.debounce(() => { if (current) renderEvidence(current); }, 200));

  const refresh = GS.debounce(load, 400);
  new GS.LiveFeed({
    state: GS.feedStateLabel($("feed-state")),
    message: (_event, payload) => {
      if (payload && payload.work_order && payload.work_order.id === ORDER_ID && !busy) refresh();
    },
  }).start();
  setInterval(() => { if (current) renderFields(current); }, 30000);
  load();
})();
