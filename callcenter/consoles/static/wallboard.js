// The supervisor wallboard: queue tiles, the day's intervals, the agent grid, actions.
import {
  api, applyI18n, connectLive, duration, frame, h, icon, liveBadge, loc, onLang,
  serverNow, setServerTime, t, toast,
} from "./common.js";
import { mountWallboardChat, onLive as chatLive } from "./chat.js";
import { mountWallboardSpeech, renderSpeechFigures } from "./speech.js";

const STATES = ["ready", "busy", "reserved", "wrap_up", "not_ready", "logged_out"];
const REASONS = ["break", "lunch", "training", "meeting", "other"];
const board = { data: null, rows: new Map(), chartKey: "" };
window.__cc = { snapshots: 0 };
const $ = (id) => document.getElementById(id);

const pct = (v) => (v == null ? "—" : `${Math.round(v * 100)}%`);
const secs = (v) => (v == null ? "—" : duration(v));

// ------------------------------------------------------------------ queue tiles

function metric(label, value, quality) {
  return h("div", { class: `metric ${quality || ""}` },
    h("div", { class: "value" }, value), h("div", { class: "label" }, label));
}

function tile(q) {
  const breach = q.waiting > 0 && q.longest_wait > q.service_level_seconds;
  const slQuality = q.service_level == null ? "" : q.service_level >= 0.8 ? "good" : "poor";
  const abQuality = q.abandon_rate == null ? "" : q.abandon_rate <= 0.05 ? "good" : "poor";
  const counts = h("div", { class: "channel-counts" },
    h("span"), h("span", { class: "head" }, t("wb.offered")),
    h("span", { class: "head" }, t("wb.answered")));
  for (const channel of q.channels) {
    const c = q.by_channel[channel] || { offered: 0, answered: 0 };
    counts.append(
      h("span", { class: `chip ${channel}` }, icon(channel === "voice" ? "phone" : "chat"),
        t(`channel.${channel}`)),
      h("span", { class: "num", dataset: { k: `${channel}-offered` } }, String(c.offered)),
      h("span", { class: "num", dataset: { k: `${channel}-answered` } }, String(c.answered)));
  }
  return h("section", { class: "card tile", dataset: { queue: q.id } },
    h("div", { class: "tile-head" }, h("h2", {}, loc(q.name)), h("span", { class: "spacer" }),
      q.channels.map((c) => h("span", { class: `chip ${c}` }, t(`channel.${c}`)))),
    h("div", { class: "tile-main" },
      h("div", {}, h("div", { class: `big${breach ? " alert" : ""}`, dataset: { k: "waiting" } },
        String(q.waiting)), h("div", { class: "big-label" }, t("wb.waiting"))),
      h("div", {}, h("div", { class: "value big-2" }, h("strong", {
        class: "longest", dataset: { k: "longest", since: q.waiting ? String(dataNow() -
          q.longest_wait) : "" } }, secs(q.longest_wait))),
      h("div", { class: "big-label" }, t("wb.longest"))),
      h("div", {}, h("div", { class: `big ok-ink${q.ready_agents ? "" : " alert"}`,
        dataset: { k: "ready" } }, String(q.ready_agents)),
      h("div", { class: "big-label" }, t("wb.ready_here")))),
    q.no_eligible ? h("div", { class: "no-eligible alert", dataset: { k: "no-eligible" } },
      t("wb.no_eligible", { n: q.no_eligible })) : null,
    h("div", { class: "metrics" },
      metric(`${t("wb.sl")} · ${t("wb.sl.within", { s: q.service_level_seconds })}`,
        pct(q.service_level), slQuality),
      metric(t("wb.asa"), secs(q.asa)),
      metric(t("wb.abandon"), pct(q.abandon_rate), abQuality)),
    counts);
}

function overview(data) {
  const waiting = data.queues.reduce((n, q) => n + q.waiting, 0);
  const offered = data.queues.reduce((n, q) => n + q.entered, 0);
  const answered = data.queues.reduce((n, q) => n + q.answered, 0);
  const inSl = data.queues.reduce((n, q) => n + (q.service_level || 0) * q.answered, 0);
  const abandoned = data.queues.reduce((n, q) => n + q.abandoned, 0);
  const ready = data.agents.filter((a) => a.state === "ready").length;
  const signedIn = data.agents.filter((a) => a.state !== "logged_out").length;
  const sl = answered ? inSl / answered : null;
  return h("section", { class: "card tile overview", dataset: { queue: "_all" } },
    h("div", { class: "tile-head" }, h("h2", {}, t("wb.overview"))),
    h("div", { class: "tile-main" },
      h("div", {}, h("div", { class: `big${waiting ? " alert" : ""}`, dataset: { k: "waiting" } },
        String(waiting)), h("div", { class: "big-label" }, t("wb.waiting"))),
      h("div", {}, h("div", { class: "big ok-ink", dataset: { k: "ready" } }, String(ready)),
        h("div", { class: "big-label" }, `${t("wb.ready_agents")} · ${t("wb.signed_in",
          { n: signedIn })}`))),
    h("div", { class: "metrics" },
      metric(t("wb.total_offered"), String(offered)),
      metric(t("wb.total_answered"), String(answered)),
      metric(t("wb.sl"), pct(sl), sl == null ? "" : sl >= 0.8 ? "good" : "poor")),
    h("div", { class: "muted small-note" },
      `${t("wb.abandon")} ${pct(offered ? abandoned / offered : null)}`));
}

function renderTiles(data) {
  board.queueNames = Object.fromEntries(data.queues.map((q) => [q.id, loc(q.name)]));
  $("tiles").replaceChildren(overview(data), ...data.queues.map(tile));
}

// ------------------------------------------------------------------ interval chart
// Apache ECharts, served by the engine (/vendor/echarts.js, from npm: no CDN), as the
// reports page. Hours are counted from the snapshot's day_start, the contact center's
// midnight, so the axis is in its time zone whatever the browser's.

let echarts = null;
let chartView = null;

async function loadCharts() {
  try {
    echarts = await import("/vendor/echarts.js");
  } catch {
    echarts = null;  // the tiles and agents work without it; the chart says why
  }
}

function hourLabel(start, dayStart) {
  const minutes = Math.round((start - dayStart) / 60);
  return `${String(Math.floor(minutes / 60) % 24).padStart(2, "0")}:${
    String(minutes % 60).padStart(2, "0")}`;
}

function renderChart(data, force) {
  const sums = new Map();
  for (const r of data.intervals) {
    const s = sums.get(r.start) || { entered: 0, answered: 0, abandoned: 0 };
    s.entered += r.entered; s.answered += r.answered; s.abandoned += r.abandoned;
    sums.set(r.start, s);
  }
  const key = JSON.stringify([...sums]) + document.documentElement.lang;
  if (!force && key === board.chartKey) return;
  board.chartKey = key;
  const box = $("chart");
  if (!echarts) {
    box.replaceChildren(h("p", { class: "muted" }, t("wb.chart.nolib")));
    return;
  }
  const step = data.interval_seconds;
  const nowBucket = Math.floor(data.now / step) * step;
  let first = data.day_start + 8 * 3600; // the working day starts at 8:00 unless earlier work
  for (const start of sums.keys()) first = Math.min(first, start);
  const last = Math.max(nowBucket, first + 4 * 3600);
  const buckets = [];
  for (let b = first; b <= last; b += step) buckets.push(b);
  const series = ["entered", "answered", "abandoned"];
  if (!chartView) {
    box.replaceChildren();
    box.classList.add("chart");
    chartView = echarts.init(box, null, { renderer: "canvas" });
  }
  chartView.setOption({
    animation: false,
    grid: { left: 36, right: 8, top: 10, bottom: 26 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: buckets.map((b) => hourLabel(b, data.day_start)) },
    yAxis: { type: "value", minInterval: 1 },
    color: ["#93c5fd", "#2563eb", "#f87171"],
    series: series.map((k) => ({ name: t(`wb.chart.${k}`), type: "bar", barGap: 0,
      data: buckets.map((b) => (sums.get(b) || {})[k] || 0) })),
  }, true);
  window.__cc.chart = { buckets: buckets.length, labels: buckets.map((b) => [b, hourLabel(b, data.day_start)]),
    bars: [...sums.values()].reduce((n, s) => n + series.filter((k) => s[k]).length, 0) };
  let empty = box.querySelector(".chart-empty");
  if (!sums.size && !empty) {
    empty = h("p", { class: "muted chart-empty" }, t("wb.chart.empty"));
    box.append(empty);
  } else if (sums.size && empty) empty.remove();
}

// ------------------------------------------------------------------ agents

async function spy(agentId, mode) {
  try {
    await api("POST", `/api/supervisor/agents/${encodeURIComponent(agentId)}/spy`, { mode });
    toast(t("wb.spy.ok", { mode: t(`wb.${mode}`) }), "ok");
  } catch (exc) {
    toast(exc.message, "error");
  }
}

async function force(agentId, value, select) {
  const [state, reason] = value.split(":");
  select.value = "";
  try {
    await api("POST", `/api/supervisor/agents/${encodeURIComponent(agentId)}/state`,
      reason ? { state, reason } : { state });
  } catch (exc) {
    toast(exc.message, "error");
  }
}

function forceSelect(agentId) {
  const select = h("select", { "aria-label": t("wb.force") },
    h("option", { value: "" }, t("wb.force")),
    h("option", { value: "ready" }, t("state.ready")),
    REASONS.map((r) => h("option", { value: `not_ready:${r}` },
      `${t("state.not_ready")} · ${t(`reason.${r}`)}`)),
    h("option", { value: "logged_out" }, t("wb.force.logged_out")));
  select.addEventListener("change", () => select.value && force(agentId, select.value, select));
  return select;
}

function agentRow(a) {
  const cells = {
    name: h("td", {}, h("div", { class: "agent-name" }, a.name),
      h("div", { class: "agent-sub" }, a.id + (a.extension ? ` · ${a.extension}` : ""))),
    team: h("td", {}, a.team_name || a.team || "—"),
    state: h("td"),
    since: h("td", { class: "mono" }),
    current: h("td"),
    answered: h("td", { class: "num" }),
    actions: h("td"),
  };
  const buttons = ["listen", "whisper", "barge"].map((mode) => h("button", {
    class: "small", dataset: { mode }, onclick: () => spy(a.id, mode) }, t(`wb.${mode}`)));
  cells.actions.append(h("div", { class: "actions" }, buttons, forceSelect(a.id)));
  const tr = h("tr", { dataset: { agent: a.id } }, Object.values(cells));
  return { tr, cells, buttons, data: a };
}

function updateRow(row, a) {
  row.data = a;
  let text = t(`state.${a.state}`);
  if (a.state === "not_ready" && a.reason) text += ` · ${t(`reason.${a.reason}`)}`;
  row.cells.state.replaceChildren(h("span", { class: `pill st-${a.state}` }, text));
  if (a.phone_registered === false) {
    row.cells.state.append(h("span", { class: "chip phone-offline" }, icon("phone"),
      t("phone.offline")));
  }
  row.cells.current.replaceChildren(...(a.tasks.length ? a.tasks.map((task) =>
    h("span", { class: `chip ${task.channel || ""}`,
      dataset: { taskId: task.task_id, channel: task.channel || "" } },
      icon(task.channel === "voice" ? "phone" : "chat"),
      `${(board.queueNames || {})[task.queue] || task.queue || ""} · ${t(`state.${
        task.status === "connected" ? "busy"
        : task.status === "offered" ? "reserved" : "wrap_up"}`)}`))
    : [h("span", { class: "muted" }, t("wb.none"))]));
  row.cells.answered.textContent = String(a.answered);
  const onCall = a.tasks.some((task) => task.status === "connected" && task.channel === "voice");
  for (const b of row.buttons) b.disabled = !onCall;
}

function renderAgents(data) {
  const body = $("agents");
  const seen = new Set();
  for (const a of data.agents) {
    seen.add(a.id);
    let row = board.rows.get(a.id);
    if (!row) { row = agentRow(a); board.rows.set(a.id, row); }
    updateRow(row, a);
    body.append(row.tr); // keeps order, moves nothing that is in place
  }
  for (const [id, row] of board.rows) if (!seen.has(id)) { row.tr.remove(); board.rows.delete(id); }
  if (!data.agents.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: "7", class: "muted" }, t("wb.no_agents"))));
  }
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const a of data.agents) counts[a.state] = (counts[a.state] || 0) + 1;
  $("state-summary").replaceChildren(...STATES.filter((s) => counts[s]).map((s) =>
    h("span", { class: `pill st-${s}`, dataset: { state: s } }, `${t(`state.${s}`)} ${counts[s]}`)));
  tick();
}

function dataNow() { return board.data ? board.data.now : serverNow(); }

function tick() {
  for (const node of document.querySelectorAll(".longest")) {
    if (node.dataset.since) node.textContent = duration(serverNow() - Number(node.dataset.since));
  }
  for (const row of board.rows.values()) {
    const a = row.data;
    row.cells.since.textContent = a.since && a.state !== "logged_out"
      ? duration(serverNow() - a.since) : "—";
  }
  // The contact center's time, as the chart's hours, whatever the browser's zone.
  $("clock").textContent = new Date(serverNow() * 1000).toLocaleTimeString(
    document.documentElement.lang, { hour: "2-digit", minute: "2-digit", second: "2-digit",
      hourCycle: "h23", timeZone: board.data ? board.data.timezone : undefined });
}

// ------------------------------------------------------------------ wiring

function render(data, forceChart) {
  board.data = data;
  setServerTime(data.now);
  renderTiles(data);
  renderSpeechFigures(data);
  renderChart(data, forceChart);
  renderAgents(data);
}

function onMessage(msg) {
  chatLive(msg);
  if (msg.topic === "wallboard.snapshot") {
    window.__cc.snapshots += 1;
    render(msg.data);
  }
}

async function refresh() {
  try { render(await api("GET", "/api/supervisor/wallboard")); } catch { /* relogin */ }
}

$("brand-mark").append(icon("headset"));
await frame();
await loadCharts();
mountWallboardChat();
await refresh();
mountWallboardSpeech();  // speech: flagged calls, call search
connectLive(onMessage, liveBadge);
document.addEventListener("cc:relogin", () => location.reload());  // maybe another user
onLang(() => {
  for (const row of board.rows.values()) row.tr.remove();
  board.rows.clear();
  if (board.data) render(board.data, true);
  applyI18n(document);
});
window.addEventListener("resize", () => chartView && chartView.resize());
setInterval(tick, 1000);
