/* GridSight dashboard: shared helpers (strings, API calls with the bearer
   token, DOM building, formatting, the live feed over fetch streaming).
   Plain ES2020, no build step, no dependencies. Nothing here writes HTML
   from data: every value goes in through textContent or an attribute. */
(function () {
  "use strict";

  const body = document.body;
  const API = body.dataset.api || "/api/v1";
  const LANG = body.dataset.lang || "zh";
  const LOCALE = LANG === "zh" ? "zh-CN" : "en-GB";
  const STR = JSON.parse(document.getElementById("gs-strings").textContent);
  const TOKEN_KEY = "gridsight.token";
  // States in which the deadline clock runs (api/workflow.py CLOCK_RUNNING).
  const CLOCK_RUNNING = new Set(["dispatched", "accepted", "in_progress", "rework", "extension"]);
  const TERMINAL = new Set(["closed", "rejected"]);
  const STATUSES = ["detected", "filed", "rejected", "dispatched", "accepted", "in_progress", "feedback",
    "verifying", "closed", "rework", "returned", "extension", "suspended", "overdue", "escalated"];

  /* ---- strings ------------------------------------------------------ */
  function T(key, vars) {
    let text = Object.prototype.hasOwnProperty.call(STR, key) ? STR[key] : key;
    if (vars) {
      text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
    }
    return text;
  }

  /* ---- DOM ---------------------------------------------------------- */
  const SVG_NS = "http://www.w3.org/2000/svg";

  function append(el, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(el, child);
      else el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") el.setAttribute("class", value);
      else if (name === "dataset") Object.assign(el.dataset, value);
      else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? "" : String(value));
    }
    return el;
  }

  function h(tag, attrs, ...children) {
    return append(setAttrs(document.createElement(tag), attrs), children);
  }

  function s(tag, attrs, ...children) {
    return append(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  function $(id) { return document.getElementById(id); }
  function show(el, visible) { el.classList.toggle("hidden", !visible); }

  /* ---- token and API ------------------------------------------------ */
  function getToken() {
    try { return localStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }

  function setToken(value) {
    try {
      if (value) localStorage.setItem(TOKEN_KEY, value);
      else localStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* private mode: the token lasts for this page only */ }
  }

  function authHeaders(extra) {
    const headers = Object.assign({}, extra || {});
    const token = getToken();
    if (token) headers.Authorization = "Bearer " + token;
    return headers;
  }

  class ApiError extends Error {
    constructor(status, detail, body) {
      super(detailText(detail) || ("HTTP " + status));
      this.status = status;
      this.detail = detail;
      this.body = body;
    }
  }

  /* FastAPI's detail is a sentence or a list of {loc, msg}; make it one readable line. */
  function detailText(detail) {
    if (detail === null || detail === undefined) return "";
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((e) => {
        const loc = (e.loc || []).filter((p) => p !== "body").join(".");
        const msg = String(e.msg || "").replace(/^Value error, /, "");
        const last = String((e.loc || []).slice(-1)[0] || "");
        return loc && !msg.startsWith(last + " ") ? loc + ": " + msg : msg;
      }).join("; ");
    }
    return JSON.stringify(detail);
  }

  async function api(path, options) {
    const opts = options || {};
    const headers = authHeaders(opts.headers);
    let payload = opts.body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(opts.json);
    }
    const url = path.startsWith("/") ? path : API + "/" + path;
    const response = await fetch(url, { method: opts.method || "GET", headers, body: payload, cache: "no-store" });
    if (response.status === 401) authProblem("unauthorized");
    else if (response.ok) authProblem(null);
    if (opts.raw) {
      if (!response.ok) throw new ApiError(response.status, await errorDetail(response));
      return response;
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
    if (!response.ok) throw new ApiError(response.status, data && data.detail !== undefined ? data.detail : text, data);
    return data;
  }

  async function errorDetail(response) {
    try { const data = await response.json(); return data.detail; } catch (e) { return ""; }
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== "" && v !== null && v !== undefined) q.set(k, v);
    }
    const text = q.toString();
    return text ? "?" + text : "";
  }

  /* An image the API serves behind the token: fetched as a blob, shown from an object URL. */
  async function authImage(url) {
    const response = await api(url, { raw: true });
    const blob = await response.blob();
    return URL.createObjectURL(blob);
  }

  // For <img> and <video> alike; the element's previous object URL is released once replaced.
  function setObjectUrl(media, objectUrl) {
    const old = media.dataset.objectUrl;
    media.dataset.objectUrl = objectUrl || "";
    if (objectUrl) media.src = objectUrl;
    else media.removeAttribute("src");
    if (old) setTimeout(() => URL.revokeObjectURL(old), 1000);
  }

  function imageLoaded(img) {
    if (img.complete && img.naturalWidth) return Promise.resolve(img);
    return new Promise((resolve, reject) => {
      img.addEventListener("load", () => resolve(img), { once: true });
      img.addEventListener("error", reject, { once: true });
    });
  }

  /* ---- feedback to the user ----------------------------------------- */
  let authState = null;
  function authProblem(kind, detail) {
    const banner = $("auth-banner");
    if (!banner || kind === authState) return;
    authState = kind;
    if (!kind) { show(banner, false); return; }
    banner.textContent = kind === "unauthorized" ? T("common.unauthorized") : T("common.forbidden", { detail });
    show(banner, true);
  }

  function toast(message, kind) {
    const box = $("toasts");
    if (!box) return;
    const item = h("div", { class: "toast " + (kind || "info"), role: kind === "error" ? "alert" : "status" }, message);
    box.appendChild(item);
    while (box.children.length > 3) box.firstElementChild.remove();
    setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
  }

  function reportError(err) {
    if (err instanceof ApiError) {
      if (err.status === 401) return;  // the banner says it
      if (err.status === 403) { toast(T("common.forbidden", { detail: err.message }), "error"); return; }
      toast(err.message, "error");
    } else {
      toast(T("common.error") + ": " + (err && err.message ? err.message : err), "error");
    }
    if (window.console) console.error(err);
  }

  /* ---- formatting ---------------------------------------------------- */
  // Every time shows on the site's clock (the API's GRIDSIGHT_SITE_TIMEZONE, an IANA name; docs/time.md),
  // whatever the screen's own zone: the clock of the evidence stamps, the log lines, the order numbers and
  // the per-day charts. Intl converts each timestamp with its own offset (daylight saving included). Dates
  // by language and never the ambiguous 02/12: zh 2026/12/02 08:52, en ISO 2026-12-02 08:52.
  function zoneOrUtc(name) {
    try { new Intl.DateTimeFormat("en-US", { timeZone: name }); return name; } catch (e) { return "UTC"; }
  }
  const SITE_TZ = zoneOrUtc(body.dataset.siteTz || "Asia/Shanghai");
  const DATE_SEP = LANG === "zh" ? "/" : "-";
  const partsFmt = new Intl.DateTimeFormat("en-US", {
    timeZone: SITE_TZ, hourCycle: "h23", numberingSystem: "latn",
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });

  /* The site's wall-clock fields of a timestamp ({year, month, day, hour, minute, second}), or null. */
  function siteParts(value) {
    const d = value instanceof Date ? value : new Date(value);
    if (value === null || value === undefined || value === "" || isNaN(d)) return null;
    const p = {};
    for (const part of partsFmt.formatToParts(d)) p[part.type] = part.value;
    if (p.hour === "24") p.hour = "00";
    return p;
  }

  function fmtTime(iso, full) {
    if (!iso) return "–";
    const p = siteParts(iso);
    if (!p) return String(iso);
    return [p.year, p.month, p.day].join(DATE_SEP) + " " + p.hour + ":" + p.minute + (full ? ":" + p.second : "");
  }

  function fmtDay(iso) { const p = siteParts(iso); return p ? p.month + DATE_SEP + p.day : "–"; }
  function fmtMonth(iso) { const p = siteParts(iso); return p ? p.year + DATE_SEP + p.month : "–"; }

  function fmtDuration(ms) {
    const minutes = Math.max(0, Math.round(ms / 60000));
    if (minutes < 60) return T("common.minutes", { n: minutes });
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return T("common.hours", { h: hours, m: minutes % 60 });
    return T("common.days", { d: Math.floor(hours / 24), h: hours % 24 });
  }

  function isOverdue(order, now) {
    if (TERMINAL.has(order.status)) return false;
    if (order.overdue || order.status === "overdue" || order.status === "escalated") return true;
    const t = now || Date.now();
    return CLOCK_RUNNING.has(order.status) && Date.parse(order.deadline_at) < t;
  }

  /* A countdown while the deadline clock runs (from dispatch), "overdue by" once late, else the
     (provisional) deadline itself. */
  function deadlineText(order) {
    const left = Date.parse(order.deadline_at) - Date.now();
    if (isOverdue(order)) return T("time.overdue_by", { d: fmtDuration(Math.max(0, -left)) });
    if (CLOCK_RUNNING.has(order.status)) return T("time.left", { d: fmtDuration(left) });
    return fmtTime(order.deadline_at);
  }

  function statusBadge(status) {
    return h("span", { class: "badge status-" + status, "data-status": status }, T("status." + status));
  }

  function priorityBadge(priority) {
    return h("span", { class: "badge prio-" + priority }, T("priority." + priority));
  }

  function orderUrl(order) { return "/dashboard/orders/" + order.id; }

  /* ---- live feed: SSE over fetch, so the token can go in a header ---- */
  class LiveFeed {
    constructor(handlers) {
      this.handlers = handlers || {};
      this.lastId = null;
      this.retryMs = 3000;
      this.stopped = false;
      this.controller = null;
      this.connections = 0;
    }

    start() { this.loop(); return this; }

    stop() {
      this.stopped = true;
      if (this.controller) this.controller.abort();
    }

    state(name) {
      if (this.handlers.state) this.handlers.state(name);
    }

    async loop() {
      while (!this.stopped) {
        this.state(this.connections ? "reconnecting" : "connecting");
        let unauthorized = false;
        try {
          this.controller = new AbortController();
          const headers = authHeaders({ Accept: "text/event-stream" });
          if (this.lastId !== null) headers["Last-Event-ID"] = String(this.lastId);
          const response = await fetch(API + "/events/stream", { headers, signal: this.controller.signal, cache: "no-store" });
          if (response.status === 401 || response.status === 403) {
            unauthorized = true;
            this.state("unauthorized");
            authProblem(response.status === 401 ? "unauthorized" : "forbidden", await errorDetail(response));
          } else if (response.ok && response.body) {
            this.connections += 1;
            await this.read(response.body.getReader());
          }
        } catch (err) {
          if (this.stopped) return;
        }
        if (this.stopped) return;
        if (!unauthorized) this.state("reconnecting");
        await new Promise((r) => setTimeout(r, unauthorized ? Math.max(this.retryMs, 10000) : this.retryMs));
      }
    }

    async read(reader) {
      const decoder = new TextDecoder();
      let buffer = "";
      let first = true;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (first) {
            // The server's first message comes once it knows where the feed starts:
            // anything made after this point will arrive on the stream.
            first = false;
            this.state("open");
            if (this.handlers.ready) this.handlers.ready(this.connections);
          }
          this.dispatch(block);
        }
      }
    }

    dispatch(block) {
      let event = "message";
      const data = [];
      let id = null;
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
        else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
      }
      if (id !== null && /^\d+$/.test(id)) this.lastId = Number(id);
      if (!data.length) return;
      let payload;
      try { payload = JSON.parse(data.join("\n")); } catch (e) { return; }
      if (this.handlers.message) this.handlers.message(event, payload);
    }
  }

  function feedStateLabel(el) {
    return (state) => {
      if (!el) return;
      el.dataset.state = state;
      el.textContent = T("feed.state." + state);
    };
  }

  /* ---- page chrome: clock, token form, language link ----------------- */
  function tickClock() {
    const el = $("clock");
    if (el) el.textContent = fmtTime(Date.now(), true);  // the site's clock, dated by language like every time shown
  }

  function initChrome() {
    const clock = $("clock");
    if (clock) clock.title = SITE_TZ;  // which zone the site's clock is in (docs/time.md)
    tickClock();
    setInterval(tickClock, 1000);
    const form = $("token-form");
    const input = $("token-input");
    const state = $("token-state");
    const refreshState = () => {
      const set = !!getToken();
      state.textContent = set ? T("token.set") : T("token.none");
      state.dataset.set = set ? "1" : "0";
      input.value = "";
    };
    refreshState();
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      setToken(input.value.trim());
      refreshState();
      location.reload();
    });
    $("token-clear").addEventListener("click", () => { setToken(""); refreshState(); location.reload(); });
    // The language link keeps the page's other query parameters (filters, page).
    const link = $("lang-switch");
    if (link) {
      const params = new URLSearchParams(location.search);
      params.set("lang", link.getAttribute("hreflang"));
      link.setAttribute("href", location.pathname + "?" + params.toString());
    }
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  function readFileB64(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  // The four headline counters, shared by the live page and the stats page.
  function fillKpis(sum) {
    $("kpi-open").textContent = sum.open;
    $("kpi-overdue").textContent = sum.overdue;
    $("kpi-closed").textContent = sum.by_status.closed || 0;
    $("kpi-total").textContent = sum.total;
  }

  initChrome();

  window.GS = {
    API, LANG, LOCALE, STATUSES, CLOCK_RUNNING, TERMINAL, T, h, s, clear, $, show, api, query, ApiError,
    detailText, authImage, setObjectUrl, imageLoaded, toast, reportError, SITE_TZ, fmtTime, fmtDay, fmtMonth, fmtDuration, isOverdue,
    deadlineText, statusBadge, priorityBadge, orderUrl, LiveFeed, feedStateLabel, debounce, readFileB64,
    getToken, fillKpis,
  };
})();
