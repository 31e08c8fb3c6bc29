/* Order detail: fields, evidence, one button per transition the caller may make
   (with only the inputs those moves need), verdict, comments, the timeline; kept
   current by the live feed.

   Which side draws the boxes (issue 17): the worker's "snapshot" JPEG carries its
   own (inference/evidence.py burns them in), so the page never draws over it. The
   page draws its boxes on the unannotated "frame" (the same key frame, in the
   boxes' pixels): when an order has one, the snapshot tab shows that frame with
   the page's boxes, which scale and stay readable. Both number the event's tracks
   1, 2, 3 in the order the order lists its boxes; the tracker's raw id is kept in
   the box's data-track-id and tooltip only. */
(function () {
  "use strict";
  const GS = window.GS;
  const { T, h, s, $, api, show, clear, statusBadge, priorityBadge, fmtTime, deadlineText, isOverdue } = GS;
  const ORDER_ID = Number(document.body.dataset.orderId);
  const NEEDS_REASON = new Set(["rejected", "returned", "rework", "extension", "suspended", "escalated"]);
  let current = null;
  let shownEvidence = null;
  let busy = false;
  let operatorEvidence = new Set();  // evidence ids people added (after-photos), from the timeline

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
  function drawBoxes(img, boxes, count) {
    const svg = clear($("evidence-boxes"));
    const w = img.naturalWidth, hgt = img.naturalHeight;
    if (!w || !hgt) return;
    // viewBox in the image's own pixels: the boxes scale with the image, whatever its shown size.
    svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
    svg.setAttribute("preserveAspectRatio", "none");
    const stroke = Math.max(2, Math.round(w / 400));
    const numbers = trackNumbers(boxes);
    boxes.forEach((box, i) => {
      const [x1, y1, x2, y2] = box.xyxy;
      const tracked = box.track_id !== null && box.track_id !== undefined;
      const label = `${box.label}${numbers[i] ? " #" + numbers[i] : ""} ${(box.confidence * 100).toFixed(0)}%`;
      const g = s("g", { class: "det-box", "data-label": box.label, "data-track-id": tracked ? String(box.track_id) : "" });
      if (tracked) g.appendChild(s("title", {}, T("detail.track_id", { id: box.track_id })));
      g.appendChild(s("rect", { x: x1, y: y1, width: Math.max(1, x2 - x1), height: Math.max(1, y2 - y1), "stroke-width": stroke }));
      const fs = Math.max(12, Math.round(w / 60));
      const ty = y1 - fs * 0.4 > fs ? y1 - fs * 0.4 : y2 + fs;
      g.appendChild(s("text", { x: x1, y: ty, "font-size": fs }, label));
      svg.appendChild(g);
    });
    $("d-boxes").textContent = T("detail.boxes", { n: count === undefined ? boxes.length : count });
  }

  /* 1, 2, 3 ... per track in the order's own order (as inference/evidence.py numbers the snapshot); null untracked. */
  function trackNumbers(boxes) {
    const seen = new Map();
    return boxes.map((b) => {
      if (b.track_id === null || b.track_id === undefined || b.track_id < 0) return null;
      if (!seen.has(b.track_id)) seen.set(b.track_id, seen.size + 1);
      return seen.get(b.track_id);
    });
  }

  const isImage = (e) => e.content_type.startsWith("image/");
  const isClip = (e) => e.content_type.startsWith("video/");

  const rawFrame = (o) => o.evidence.find((e) => e.kind === "frame" && isImage(e));

  /* What a tab shows: the snapshot tab shows the raw frame (the page draws its boxes) when there is one. */
  function picture(o, item) {
    const frame = item.kind === "snapshot" ? rawFrame(o) : null;
    if (frame) return { url: frame.url, boxes: o.boxes };
    // A snapshot without its raw frame carries its boxes (counted, not drawn again); other pictures have none of the order's.
    return { url: item.url, boxes: item.kind === "frame" ? o.boxes : [], count: item.kind === "snapshot" ? o.boxes.length : undefined };
  }

  function evidenceLabel(item) {
    if (operatorEvidence.has(item.id)) return T("evidence.by_person." + (item.kind === "after" ? "after" : "other"));
    return T("evidence." + item.kind);
  }

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
      const shown = picture(o, item);
      GS.setObjectUrl(img, await GS.authImage(shown.url));
      await GS.imageLoaded(img);
      // Boxes are pixel coordinates in the key frame the rule fired on; never drawn over a burnt-in snapshot.
      drawBoxes(img, shown.boxes, shown.count);
    } catch (err) { GS.reportError(err); }
  }

  function renderEvidence(o) {
    const hasSnapshot = o.evidence.some((e) => e.kind === "snapshot");
    // The raw frame is shown in the snapshot's tab (with the page's boxes), not as a tab of its own.
    const shown = o.evidence.filter((e) => (isImage(e) || isClip(e)) && !(e.kind === "frame" && hasSnapshot));
    const images = shown.filter(isImage);
    show($("evidence-empty"), shown.length === 0);
    const thumbs = clear($("evidence-thumbs"));
    if (shown.length > 1) {
      for (const item of shown) {
        thumbs.appendChild(h("button", { type: "button", class: "ghost" + (item.id === shownEvidence ? " active" : ""), "data-evidence-id": item.id, "data-kind": item.kind, onclick: () => showEvidence(o, item),
          "data-by": operatorEvidence.has(item.id) ? "person" : "camera" }, evidenceLabel(item)));
      }
    }
    const stillThere = shown.find((e) => e.id === shownEvidence);
    if (!stillThere && shown.length) showEvidence(o, images.find((e) => e.kind === "snapshot") || images[0] || shown[0]);
    else if (stillThere && isImage(stillThere)) {
      const shownNow = picture(o, stillThere);
      drawBoxes($("evidence-img"), shownNow.boxes, shownNow.count);
    }
    if (!shown.length) { show($("evidence-frame"), false); show($("evidence-clip"), false); }
  }

  /* ---- actions ---- */
  /* Only the inputs the allowed moves use: the reason always (every move and the verdict take one). */
  function inputsFor(o) {
    const can = new Set(o.allowed_transitions);
    return {
      assignee: can.has("dispatched") || can.has("accepted"),
      department: can.has("dispatched"),
      extend: o.status === "extension" && can.has("in_progress"),
      photo: can.has("feedback"),
    };
  }

  function clearInputs() {
    for (const id of ["a-reason", "a-assignee", "a-department", "a-extend", "a-photo"]) $(id).value = "";
  }

  function renderActions(o) {
    for (const [name, needed] of Object.entries(inputsFor(o))) show($("in-" + name), needed);
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
    const needs = inputsFor(current);
    const assignee = needs.assignee ? $("a-assignee").value.trim() : "";
    if (assignee && (target === "dispatched" || target === "accepted")) body.assignee = assignee;
    const department = needs.department ? $("a-department").value.trim() : "";
    if (department && target === "dispatched") body.department = department;
    const extend = needs.extend ? Number($("a-extend").value) : 0;
    if (extend > 0 && target === "in_progress") body.extend_minutes = extend;
    const photo = needs.photo ? $("a-photo").files[0] : null;
    busy = true;
    try {
      if (photo && target === "feedback") {
        body.evidence = [{ kind: "after", content_type: photo.type === "image/png" ? "image/png" : "image/jpeg", data_b64: await GS.readFileB64(photo) }];
      }
      const order = await api(`work-orders/${ORDER_ID}/transitions`, { method: "POST", json: body });
      actionError("");
      clearInputs();  // a value typed for this move never rides along with the next one
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
  /* Reasons the server writes itself (system jobs, cameras), in the page's language; a person's own
     words, and any phrase not known here, are shown as written. */
  const SERVER_REASONS = [
    [/^ignored in state '([a-z_]+)'$/, (m) => T("reason.ignored_in_state", { status: T("status." + m[1]) })],
    [/^repeat sighting #(\d+)$/, (m) => T("reason.repeat_sighting", { n: m[1] })],
    [/^the problem came back after closure$/, () => T("reason.came_back")],
    [/^recurred as (\S+)$/, (m) => T("reason.recurred_as", { order: m[1] })],
    [/^the camera sees the zone empty$/, () => T("reason.zone_empty")],
    [/^deadline passed (\d+) min ago$/, (m) => T("reason.deadline_passed", { n: m[1] })],
    [/^still unfinished (.+) after the deadline$/, (m) => T("reason.still_unfinished", { time: m[1] })],
  ];

  function reasonText(e) {
    if (e.role !== "system" && e.role !== "worker") return e.reason;
    for (const [pattern, say] of SERVER_REASONS) {
      const m = pattern.exec(e.reason);
      if (m) return say(m);
    }
    return e.reason;
  }

  function peoplesEvidence(items) {
    const ids = new Set();
    for (const e of items) {
      if (e.role === "worker" || e.role === "system") continue;
      for (const id of (e.data && e.data.evidence_ids) || []) ids.add(id);
    }
    return ids;
  }

  async function loadTimeline() {
    try {
      const page = await api(`work-orders/${ORDER_ID}/timeline`);
      const people = peoplesEvidence(page.items);
      if ([...people].some((id) => !operatorEvidence.has(id)) || people.size !== operatorEvidence.size) {
        operatorEvidence = people;
        if (current) renderEvidence(current);  // relabel the tabs: the camera's later frame vs a person's photo
      }
      const list = clear($("timeline"));
      for (const e of page.items.slice().reverse()) {
        const move = e.from_status || e.to_status
          ? h("span", { class: "tl-move" }, e.from_status ? statusBadge(e.from_status) : null, e.to_status ? " → " : null, e.to_status ? statusBadge(e.to_status) : null)
          : null;
        list.appendChild(h("li", { class: "tl-" + e.action, "data-action": e.action },
          h("div", { class: "tl-head" }, h("time", { datetime: e.at }, fmtTime(e.at, true)), " ",
            h("strong", {}, T("timeline." + e.action)), " ", h("span", { class: "tl-actor" }, `${e.actor} (${e.role})`)),
          move,
          e.reason ? h("p", { class: "tl-reason" }, reasonText(e)) : null));
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
