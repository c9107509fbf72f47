// The admin console: edit / upload a YAML file, validate it, apply it, see the audit trail.
import {
  api, applyI18n, clockText, connectLive, frame, h, icon, liveBadge, onLang, t, toast,
} from "./common.js";

const $ = (id) => document.getElementById(id);
const files = { names: [], current: null, saved: {}, drafts: {}, issues: {} };
window.__cc = {};

// ------------------------------------------------------------------ editor

function renderGutter() {
  const text = $("text").value;
  const lines = text.split("\n").length;
  const marks = new Map();
  for (const issue of files.issues[files.current] || []) {
    if (issue.file !== files.current || !issue.line) continue;
    if (issue.severity === "error" || !marks.has(issue.line)) marks.set(issue.line, issue.severity);
  }
  const rows = [];
  for (let n = 1; n <= lines; n++) {
    const mark = marks.get(n);
    rows.push(h("div", { class: mark === "error" ? "err" : mark ? "warnline" : "",
      title: mark ? t("admin.line", { n }) : null }, String(n)));
  }
  $("gutter").replaceChildren(...rows);
  $("gutter").scrollTop = $("text").scrollTop;
}

function goToLine(line, column) {
  const area = $("text");
  const lines = area.value.split("\n");
  let start = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
  const end = start + (lines[line - 1] || "").length;
  area.focus();
  area.setSelectionRange(start + Math.max(0, (column || 1) - 1), end);
  area.scrollTop = Math.max(0, (line - 5) * 20);
  renderGutter();
}

function renderTabs() {
  $("tabs").replaceChildren(...files.names.map((name) => {
    const modified = files.drafts[name] !== undefined && files.drafts[name] !== files.saved[name];
    return h("button", { class: name === files.current ? "active" : "", dataset: { file: name },
      onclick: () => openFile(name) }, name,
      modified ? h("span", { class: "dot", title: t("admin.modified") }) : null);
  }));
}

function renderIssues() {
  const issues = files.issues[files.current];
  const verdict = $("verdict");
  const list = $("issues");
  if (issues === undefined) {
    verdict.className = "verdict neutral";
    verdict.replaceChildren(icon("alert"), h("span", {}, t("admin.issues.unchecked")));
    list.replaceChildren();
    return;
  }
  const errors = issues.filter((i) => i.severity === "error");
  const warnings = issues.filter((i) => i.severity !== "error");
  if (!errors.length) {
    verdict.className = "verdict ok";
    verdict.replaceChildren(icon("check"), h("span", {}, t("admin.issues.none") +
      (warnings.length ? ` · ${t("admin.issues.warnings", { n: warnings.length })}` : "")));
  } else {
    verdict.className = "verdict bad";
    verdict.replaceChildren(icon("alert"), h("span", {},
      [t("admin.issues.errors", { n: errors.length }),
        warnings.length ? t("admin.issues.warnings", { n: warnings.length }) : ""]
        .filter(Boolean).join(" · ")));
  }
  list.replaceChildren(...issues.map((issue) => {
    const where = issue.line ? `${issue.file}:${issue.line}${issue.column ? `:${issue.column}` : ""}`
      : issue.file;
    return h("li", { class: `issue ${issue.severity}`, dataset: { line: issue.line || "" },
      onclick: () => issue.line && issue.file === files.current && goToLine(issue.line, issue.column) },
      h("span", { class: "where" }, where),
      issue.path ? h("span", { class: "path mono" }, issue.path) : null,
      h("span", { class: "msg" }, issue.message));
  }));
}

async function openFile(name) {
  if (files.current) files.drafts[files.current] = $("text").value;
  files.current = name;
  if (files.saved[name] === undefined) {
    const data = await api("GET", `/api/admin/config/${name}`);
    files.saved[name] = data.text;
  }
  $("text").value = files.drafts[name] ?? files.saved[name];
  renderTabs();
  renderIssues();
  renderGutter();
}

async function validate() {
  const name = files.current;
  const text = $("text").value;
  files.drafts[name] = text;
  const result = await api("POST", `/api/admin/config/${name}/validate`, { text });
  files.issues[name] = result.issues;
  renderIssues();
  renderGutter();
  return result.ok;
}

async function apply() {
  const name = files.current;
  const text = $("text").value;
  try {
    const result = await api("PUT", `/api/admin/config/${name}`, { text });
    files.saved[name] = text;
    files.drafts[name] = text;
    files.issues[name] = result.issues;
    toast(t("admin.applied", { s: result.summary }), "ok");
    loadChanges();
  } catch (exc) {
    if (exc.status === 422 && exc.body && exc.body.issues) {
      files.issues[name] = exc.body.issues;
      toast(t("admin.refused"), "error");
    } else {
      toast(exc.message, "error");
    }
  }
  renderTabs();
  renderIssues();
  renderGutter();
}

async function loadChanges() {
  const changes = await api("GET", "/api/admin/changes?limit=20");
  $("changes").replaceChildren(...(changes.length ? changes.map((c) => h("tr", {},
    h("td", { class: "mono" }, clockText(c.at)), h("td", {}, c.actor),
    h("td", { class: "mono" }, c.filename), h("td", {}, c.summary || "—")))
    : [h("tr", {}, h("td", { colspan: "4", class: "muted" }, t("admin.changes.none")))]));
}

function bind() {
  $("brand-mark").append(icon("headset"));
  $("upload-label").prepend(icon("upload"));
  const area = $("text");
  area.addEventListener("input", () => {
    delete files.issues[files.current];
    files.drafts[files.current] = area.value;
    renderGutter();
    renderIssues();
    renderTabs();
  });
  area.addEventListener("scroll", () => { $("gutter").scrollTop = area.scrollTop; });
  area.addEventListener("keydown", (event) => {
    if (event.key === "Tab") {
      event.preventDefault();
      const { selectionStart: s, selectionEnd: e } = area;
      area.setRangeText("  ", s, e, "end");
      area.dispatchEvent(new Event("input"));
    }
  });
  $("validate").addEventListener("click", () => validate().catch((e) => toast(e.message, "error")));
  $("apply").addEventListener("click", apply);
  $("reload").addEventListener("click", async () => {
    delete files.saved[files.current];
    delete files.drafts[files.current];
    delete files.issues[files.current];
    const name = files.current;
    files.current = null;
    await openFile(name);
  });
  $("upload").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const target = files.names.includes(file.name) ? file.name : files.current;
    await openFile(target);
    $("text").value = await file.text();
    $("text").dispatchEvent(new Event("input"));
    event.target.value = "";
    await validate();
  });
}

function bindReset() {
  // A forgotten password: the admin hands over a one-time one, which only lets its user
  // choose their own. It is shown once and kept nowhere.
  $("reset-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const user = $("reset-user").value.trim();
    try {
      const reply = await api("POST", `/api/auth/users/${encodeURIComponent(user)}/password-reset`);
      $("reset-result").textContent = t("admin.reset_result",
        { user: reply.username, password: reply.temporary_password });
    } catch (exc) {
      $("reset-result").textContent = "";
      toast(exc.message, "error");
    }
  });
}

function onMessage(msg) {
  if (msg.topic === "config.changed") {
    loadChanges();
    const data = msg.data;
    delete files.saved[data.file];
    if (data.file === files.current && files.drafts[data.file] === undefined) openFile(data.file);
  }
}

bind();
bindReset();
await frame();
files.names = (await api("GET", "/api/admin/config")).files;
await openFile(new URLSearchParams(location.search).get("file") || files.names[0]);
await loadChanges();
connectLive(onMessage, liveBadge);
onLang(() => { renderTabs(); renderIssues(); loadChanges(); applyI18n(document); });
