// The reports page: pick a period, interval, rows (queue, agent, channel, medium) and filters; the
// server computes everything from the event log and sends the tables ready to show (the
// CSV and Excel downloads hold exactly those cells). Charts are Apache ECharts, served by
// the engine itself from npm (/vendor/echarts.js: no CDN).
import { api, applyI18n, frame, getLang, h, icon, onLang, t } from "./common.js";

const $ = (id) => document.getElementById(id);
const state = { data: null, echarts: null, charts: {}, options: { queues: [], agents: [] } };
window.__cc = { reports: 0, charts: 0 };
const TREND = ["service_level", "service_level_2", "abandon_rate", "asa", "aht", "occupancy",
  "fcr", "csat_avg", "offered", "answered"];

function lang() { return getLang() === "zh-CN" ? "zh" : "en"; }

function params() {
  const form = new FormData($("filters"));
  const out = new URLSearchParams();
  for (const key of ["from", "to", "interval", "by", "channel"]) {
    if (form.get(key)) out.set(key, form.get(key));
  }
  for (const key of ["queues", "agents"]) {
    const picked = [...document.querySelectorAll(`#${key} input:checked`)].map((i) => i.value);
    if (picked.length) out.set(key, picked.join(","));
  }
  out.set("lang", lang());
  return out;
}

function downloads() {
  const p = params();
  $("csv").href = `/api/reports/export.csv?${p}`;
  $("xlsx").href = `/api/reports/export.xlsx?${p}`;
}

// ------------------------------------------------------------------ tables

function renderTable(node, table, columns) {
  const numeric = new Set(columns);
  node.replaceChildren(
    h("thead", {}, h("tr", {}, table.header.map((c) => h("th", {}, c)))),
    h("tbody", {}, table.rows.map((row) => h("tr", {
      class: row.includes(t("rp.total")) || row[0] === t("rp.total") ? "total" : "" },
    row.map((c, i) => h("td", { class: numeric.has(i) ? "num" : "" }, c))))));
}

function renderTables(data) {
  const first = data.columns.length + data.reasons.length;
  const summaryNums = [...Array(first).keys()].map((i) => i + 1);
  renderTable($("summary"), data.tables.summary, summaryNums);
  renderTable($("intervals"), data.tables.intervals, summaryNums.map((i) => i + 1));
  if (!data.tables.intervals.rows.length) {
    $("intervals").append(h("caption", { class: "muted" }, t("rp.empty")));
  }
  const labels = data.buckets.map((b) => b.label);
  $("period").textContent = labels.length ? t("rp.period", {
    from: labels[0], to: labels[labels.length - 1], tz: data.timezone }) : "";
}

// ------------------------------------------------------------------ charts

function column(data, key) { return data.columns.find((c) => c.key === key); }

function value(figures, key, unit) {
  if (!figures || figures[key] == null) return null;
  return unit === "pct" ? Math.round(figures[key] * 1000) / 10 : Math.round(figures[key] * 10) / 10;
}

function chart(id) {
  if (!state.charts[id]) state.charts[id] = state.echarts.init($(id), null, { renderer: "canvas" });
  return state.charts[id];
}

function renderCharts(data) {
  if (!state.echarts) {
    for (const id of ["line-chart", "bar-chart"]) {
      $(id).replaceChildren(h("p", { class: "muted" }, t("rp.nochart")));
    }
    return;
  }
  const labels = data.buckets.map((b) => b.label.length > 10 && data.buckets.length > 1 &&
    data.buckets[0].label.slice(0, 10) === data.buckets.at(-1).label.slice(0, 10)
    ? b.label.slice(11) : b.label);
  const key = $("figure").value || "service_level";
  const col = column(data, key) || { unit: "count", label: key };
  const rows = [...data.rows, data.total];
  chart("line-chart").setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 28 },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value", name: col.unit === "pct" ? "%" : col.unit === "seconds" ? "s" : "" },
    series: rows.map((r) => ({ name: r.label, type: "line", connectNulls: false, showSymbol: true,
      data: r.buckets.map((f) => value(f, key, col.unit)) })),
  }, true);
  const volume = data.by === "agent" ? ["offered", "answered"] : ["offered", "answered", "abandoned"];
  chart("bar-chart").setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 40, right: 16, top: 36, bottom: 28 },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value", minInterval: 1 },
    color: ["#5b8def", "#2eb88a", "#e0674f"],
    series: volume.map((k) => ({ name: column(data, k).label, type: "bar",
      data: data.total.buckets.map((f) => (f ? f[k] : 0)) })),
  }, true);
  window.__cc.charts += 1;
}

function figureChoices(data) {
  const select = $("figure");
  const current = select.value || "service_level";
  select.replaceChildren(...TREND.filter((k) => column(data, k)).map((k) =>
    h("option", { value: k }, column(data, k).label)));
  select.value = column(data, current) ? current : select.options[0].value;
}

// ------------------------------------------------------------------ wiring

async function show() {
  $("error").textContent = "";
  downloads();
  try {
    const data = await api("GET", `/api/reports?${params()}`);
    state.data = data;
    const form = $("filters");
    if (!form.elements.from.value && data.buckets.length) {
      form.elements.from.value = data.buckets[0].label.slice(0, 10);
      form.elements.to.value = data.buckets.at(-1).label.slice(0, 10);
      downloads();
    }
    renderTables(data);
    figureChoices(data);
    renderCharts(data);
    window.__cc.reports += 1;
  } catch (exc) {
    const detail = exc.body && exc.body.details && exc.body.details[0];
    $("error").textContent = detail ? `${detail.loc[0]}: ${detail.msg}` : exc.message;
  }
}

function picks(id, items) {
  $(id).replaceChildren(...items.map((item) => h("label", {},
    h("input", { type: "checkbox", value: item.id }), item.label)));
}

async function options() {
  const board = await api("GET", "/api/supervisor/wallboard");
  const name = (n) => (n && (n[lang()] || n.zh || n.en)) || "";
  picks("queues", board.queues.map((q) => ({ id: q.id, label: name(q.name) || q.id })));
  picks("agents", board.agents.map((a) => ({ id: a.id, label: a.name })));
}

$("brand-mark").append(icon("chart"));
await frame();
try {
  state.echarts = await import("/vendor/echarts.js");
} catch {
  state.echarts = null;  // tables still work; the charts say what is missing
}
$("filters").addEventListener("submit", (event) => { event.preventDefault(); show(); });
$("filters").addEventListener("change", downloads);
$("figure").addEventListener("change", () => state.data && renderCharts(state.data));
window.addEventListener("resize", () => Object.values(state.charts).forEach((c) => c.resize()));
onLang(async () => { applyI18n(document); await options(); await show(); });
await options();
await show();
