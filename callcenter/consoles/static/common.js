// Shared by every console page: i18n, the API client, the live socket, the login screen.
// No build step, no CDN: plain ES modules served from /static.

// The words of every console, one JSON file per language (static/i18n/), read once before
// any page module runs (a module's top-level await holds its importers).
export const STRINGS = Object.fromEntries(await Promise.all(["zh-CN", "en"].map(async (lang) => {
  const reply = await fetch(`/static/i18n/${lang}.json`, { credentials: "same-origin" });
  return [lang, reply.ok ? await reply.json() : {}];
})));
// ------------------------------------------------------------------ i18n

function initialLang() {
  const saved = localStorage.getItem("cc.lang");
  if (saved && STRINGS[saved]) return saved;
  const langs = navigator.languages && navigator.languages.length ? navigator.languages
    : [navigator.language || "en"];
  return langs.some((l) => l.toLowerCase().startsWith("zh")) ? "zh-CN" : "en";
}

let lang = initialLang();
const listeners = [];

export function getLang() { return lang; }
export function short() { return lang === "zh-CN" ? "zh" : "en"; }

export function t(key, vars) {
  let text = (STRINGS[lang] && STRINGS[lang][key]) ?? STRINGS.en[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) text = text.replace(`{${k}}`, v);
  return text;
}

export function loc(text) {
  // A {zh, en} text from the config in the current language.
  if (text == null) return "";
  if (typeof text === "string") return text;
  return text[short()] || text.zh || text.en || "";
}

export function setLang(next) {
  lang = next;
  localStorage.setItem("cc.lang", next);
  applyI18n(document);
  for (const fn of listeners) fn();
}

export function onLang(fn) { listeners.push(fn); }

export function applyI18n(root) {
  document.documentElement.lang = lang;
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
}

// ------------------------------------------------------------------ DOM

export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "i18n") { node.dataset.i18n = v; node.textContent = t(v); }
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) node.setAttribute(k, v);
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

const ICONS = {
  phone: "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.46.57 3.6a1 1 0 0 1-.25 1z",
  chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
  user: "M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zm0 2c-4.4 0-8 2.2-8 5v2h16v-2c0-2.8-3.6-5-8-5z",
  clock: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 10.4 3.5 2.1-.8 1.3L11 13V7h2z",
  check: "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z",
  alert: "M1 21h22L12 2zm12-3h-2v-2h2zm0-4h-2v-4h2z",
  headset: "M12 2a9 9 0 0 0-9 9v7a3 3 0 0 0 3 3h2v-8H5v-2a7 7 0 0 1 14 0v2h-3v8h3v1h-6v2h6a2 2 0 0 0 2-2v-10a9 9 0 0 0-9-9z",
  upload: "M5 20h14v-2H5zm7-16-5 5h3v6h4V9h3z",
  chart: "M3 3h2v16h16v2H3zm4 10h3v5H7zm5-6h3v11h-3zm5 3h3v8h-3z",
};

export function icon(name, cls = "icon") {
  return svg("svg", { viewBox: "0 0 24 24", class: cls, "aria-hidden": "true" },
    svg("path", { d: ICONS[name] || ICONS.chat }));
}

// ------------------------------------------------------------------ time

let clockOffset = 0; // server time - browser time, seconds
export function setServerTime(serverTime) { clockOffset = serverTime - Date.now() / 1000; }
export function serverNow() { return Date.now() / 1000 + clockOffset; }

export function duration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "—";
  seconds = Math.max(0, Math.floor(seconds));
  const h_ = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const mm = h_ ? String(m).padStart(2, "0") : String(m);
  return (h_ ? `${h_}:` : "") + `${mm}:${String(s).padStart(2, "0")}`;
}

export function ago(epoch) {
  const s = serverNow() - epoch;
  if (s < 60) return t("time.now");
  if (s < 3600) return t("time.ago", { t: t("time.min", { n: Math.floor(s / 60) }) });
  if (s < 86400) return t("time.ago", { t: t("time.hour", { n: Math.floor(s / 3600) }) });
  return t("time.ago", { t: t("time.day", { n: Math.floor(s / 86400) }) });
}

export function clockText(epoch) {
  return new Date(epoch * 1000).toLocaleString(lang, {
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

// ------------------------------------------------------------------ API

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  const text = await response.text();
  if (text) { try { data = JSON.parse(text); } catch { data = { message: text }; } }
  if (response.status === 401 && path !== "/api/auth/login") {
    showLogin();
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    error.retryAfter = response.headers.get("Retry-After");
    throw error;
  }
  return data;
}

// ------------------------------------------------------------------ toasts

export function toast(message, kind = "info") {
  let box = document.querySelector(".toasts");
  if (!box) { box = h("div", { class: "toasts", role: "status" }); document.body.append(box); }
  const item = h("div", { class: `toast toast-${kind}` }, message);
  box.append(item);
  setTimeout(() => item.classList.add("toast-out"), 3500);
  setTimeout(() => item.remove(), 4000);
}

// ------------------------------------------------------------------ live socket

/** A WebSocket URL on this page's own origin: wss:// when the page is https. */
export function socketUrl(path) {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}

export function connectLive(onMessage, onStatus) {
  let socket = null;
  let retry = 500;
  let stopped = false;
  function open() {
    socket = new WebSocket(socketUrl("/api/ws"));
    socket.onopen = () => { retry = 500; onStatus && onStatus(true); };
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.topic === "hello") setServerTime(msg.data.server_time);
      onMessage(msg);
    };
    socket.onclose = (event) => {
      onStatus && onStatus(false);
      if (stopped) return;
      if (event.code === 4001) { showLogin(); return; }
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }
  open();
  const ping = setInterval(() => {
    if (socket && socket.readyState === 1) socket.send('{"topic":"ping"}');
  }, 25000);
  return { close() { stopped = true; clearInterval(ping); if (socket) socket.close(); } };
}

// ------------------------------------------------------------------ page frame

let loginResolve = null;
let started = false;
let givenPassword = "";  // typed at login, so a forced change need not ask for it again

function loginView() {
  let view = document.getElementById("login");
  if (view && view.firstChild) return view;
  if (!view) { view = h("section", { id: "login" }); document.body.prepend(view); }
  const consoleKey = `console.${document.body.dataset.console}`;
  view.append(h("div", { class: "login-card" },
    h("div", { class: "brand" }, h("span", { class: "brand-mark" }, icon("headset")),
      h("span", { i18n: "brand" }), h("small", { i18n: consoleKey })),
    h("h1", { i18n: "login.title" }),
    h("form", { class: "stack", autocomplete: "on" },
      h("label", { class: "field" }, h("span", { i18n: "login.username" }),
        h("input", { name: "username", autocomplete: "username", required: true })),
      h("label", { class: "field" }, h("span", { i18n: "login.password" }),
        h("input", { name: "password", type: "password", autocomplete: "current-password",
          required: true })),
      h("div", { class: "login-error", role: "alert" }),
      h("button", { type: "submit", class: "primary", i18n: "login.submit" })),
    h("div", { class: "login-links" }),
    h("div", { class: "login-foot" }, h("span", { class: "muted", i18n: "console.index" }),
      h("button", { type: "button", dataset: { action: "lang" }, i18n: "language" }))));
  view.querySelector(".login-foot .muted").replaceWith(
    h("a", { href: "/", i18n: "console.index" }));
  return view;
}

export function showLogin(message) {
  document.body.classList.add("logged-out");
  const view = loginView();
  view.hidden = false;
  document.getElementById("app").hidden = true;
  const error = view.querySelector(".login-error");
  error.textContent = message || "";
  view.querySelector("input[name=username]").focus();
}

function bindLogin() {
  const view = loginView();
  const form = view.querySelector("form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const error = view.querySelector(".login-error");
    error.textContent = "";
    try {
      const me = await api("POST", "/api/auth/login", {
        username: data.get("username"), password: data.get("password"),
      });
      givenPassword = me.must_change_password ? data.get("password") : "";
      form.reset();
      enter(me);
    } catch (exc) {
      if (exc.status === 429) error.textContent = t("login.throttled", { s: exc.retryAfter || 60 });
      else if (exc.status === 401) error.textContent = t("login.bad");
      else error.textContent = exc.message;
    }
  });
}

function passwordView(forced) {
  // The password card, in the login section: forced after a login with a password that
  // was given (agents.yaml, an admin's reset), or opened from the top bar.
  const view = loginView();
  view.querySelector("#password-card")?.remove();
  const card = h("div", { class: "login-card", id: "password-card" },
    h("h1", { i18n: "password.title" }),
    forced ? h("p", { class: "muted", i18n: "password.forced" }) : "",
    h("form", { class: "stack" },
      h("label", { class: "field", hidden: forced && givenPassword ? true : undefined },
        h("span", { i18n: "password.current" }),
        h("input", { name: "current", type: "password", autocomplete: "current-password",
          required: true })),
      h("label", { class: "field" }, h("span", { i18n: "password.new" }),
        h("input", { name: "new", type: "password", autocomplete: "new-password",
          minlength: 10, required: true })),
      h("label", { class: "field" }, h("span", { i18n: "password.repeat" }),
        h("input", { name: "repeat", type: "password", autocomplete: "new-password",
          minlength: 10, required: true })),
      h("div", { class: "login-error", role: "alert" }),
      h("button", { type: "submit", class: "primary", i18n: "password.submit" }),
      forced ? "" : h("button", { type: "button", class: "ghost", dataset: { action: "cancel" },
        i18n: "password.cancel" })));
  if (forced && givenPassword) card.querySelector("input[name=current]").value = givenPassword;
  view.querySelector(".login-card").hidden = true;
  view.append(card);
  applyI18n(card);
  view.hidden = false;
  document.body.classList.add("logged-out");
  document.getElementById("app").hidden = true;
  const form = card.querySelector("form");
  const close = () => {
    card.remove();
    view.querySelector(".login-card").hidden = false;
  };
  card.querySelector("[data-action=cancel]")?.addEventListener("click", () => {
    close();
    view.hidden = true;
    document.body.classList.remove("logged-out");
    document.getElementById("app").hidden = false;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const error = card.querySelector(".login-error");
    if (data.get("new") !== data.get("repeat")) { error.textContent = t("password.mismatch"); return; }
    try {
      const me = await api("POST", "/api/me/password", {
        current_password: data.get("current"), new_password: data.get("new") });
      givenPassword = "";
      close();
      toast(t("password.done"));
      enter(me);
    } catch (exc) {
      const detail = exc.body && exc.body.details && exc.body.details[0];
      error.textContent = detail ? detail.msg : exc.message;
    }
  });
  card.querySelector(forced && givenPassword ? "input[name=new]" : "input").focus();
}

function enter(me) {
  const allowed = document.body.dataset.roles.split(",");
  const view = document.getElementById("login");
  if (me.must_change_password) { passwordView(true); return; }
  if (!allowed.includes(me.role)) {
    showLogin(t("login.not_for_role"));
    const links = view.querySelector(".login-links");
    links.replaceChildren(h("span", { i18n: "login.go" }),
      ...me.consoles.map((c) => h("a", { href: `/${c}` }, t(`console.${c}`))));
    return;
  }
  view.hidden = true;
  document.body.classList.remove("logged-out");
  document.getElementById("app").hidden = false;
  for (const node of document.querySelectorAll("[data-me=name]")) {
    node.textContent = me.display_name || me.username;
  }
  for (const node of document.querySelectorAll("[data-me=role]")) node.textContent = t(`role.${me.role}`);
  if (loginResolve) loginResolve(me);
}

export function frame() {
  // Wire the top bar (language, logout) and the login view; resolves with the user
  // once they are logged in with a role this page serves (again after a relogin:
  // the callback passed to onRelogin runs).
  loginView().hidden = true;
  applyI18n(document);
  for (const button of document.querySelectorAll("[data-action=lang]")) {
    button.addEventListener("click", () => setLang(lang === "zh-CN" ? "en" : "zh-CN"));
  }
  for (const button of document.querySelectorAll("[data-action=password]")) {
    button.addEventListener("click", () => passwordView(false));
  }
  for (const button of document.querySelectorAll("[data-action=logout]")) {
    button.addEventListener("click", async () => {
      try { await api("POST", "/api/auth/logout"); } catch { /* already out */ }
      showLogin();
    });
  }
  bindLogin();
  return new Promise((resolve) => {
    loginResolve = (me) => {
      if (!started) { started = true; resolve(me); } else document.dispatchEvent(
        new CustomEvent("cc:relogin", { detail: me }));
    };
    api("GET", "/api/me").then(enter).catch(() => showLogin());
  });
}

export function liveBadge(connected) {
  for (const node of document.querySelectorAll(".live")) {
    node.classList.toggle("live-off", !connected);
    node.querySelector(".live-text").textContent = t(connected ? "live.on" : "live.off");
  }
}
