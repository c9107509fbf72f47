// Speech in the consoles: call search and a call's transcript (agent and wallboard), the
// speech figures on the wallboard's queue tiles, and flagged calls to confirm or dismiss.
// The pages call mountAgentSpeech() / mountWallboardSpeech() and, per wallboard snapshot,
// renderSpeechFigures(snapshot).
import { STRINGS, ago, api, h, loc, t, toast } from "./common.js";

Object.assign(STRINGS["zh-CN"], {
  "speech.search": "通话检索",
  "speech.search.placeholder": "通话中说过的话，如：退款",
  "speech.search.go": "搜索",
  "speech.search.none": "没有找到通话",
  "speech.transcript": "通话转写",
  "speech.no_recording": "没有可播放的录音",
  "speech.summary": "摘要",
  "speech.close": "关闭",
  "speech.caller": "客户",
  "speech.agent": "坐席",
  "speech.mixed": "通话",
  "speech.masked": "号码已隐藏",
  "speech.status.queued": "排队转写中",
  "speech.status.running": "正在转写",
  "speech.status.failed": "转写失败",
  "speech.status.partial": "部分转写",
  "speech.status.none": "无转写",
  "speech.backlog": "待转写",
  "speech.failed": "转写失败",
  "speech.flagged": "今日质检标记",
  "speech.flags": "质检标记",
  "speech.flags.none": "没有待处理的质检标记",
  "speech.confirm": "确认",
  "speech.dismiss": "驳回",
  "speech.confirmed": "已确认",
  "speech.dismissed": "已驳回",
  "speech.score": "得分",
});
Object.assign(STRINGS.en, {
  "speech.search": "Call search",
  "speech.search.placeholder": "Something said in a call, e.g. refund",
  "speech.search.go": "Search",
  "speech.search.none": "No calls found",
  "speech.transcript": "Transcript",
  "speech.no_recording": "No recording to play",
  "speech.summary": "Summary",
  "speech.close": "Close",
  "speech.caller": "Caller",
  "speech.agent": "Agent",
  "speech.mixed": "Call",
  "speech.masked": "numbers hidden",
  "speech.status.queued": "waiting to be transcribed",
  "speech.status.running": "being transcribed",
  "speech.status.failed": "transcription failed",
  "speech.status.partial": "partly transcribed",
  "speech.status.none": "no transcript",
  "speech.backlog": "to transcribe",
  "speech.failed": "failed",
  "speech.flagged": "flagged today",
  "speech.flags": "Flagged calls",
  "speech.flags.none": "No flags to review",
  "speech.confirm": "Confirm",
  "speech.dismiss": "Dismiss",
  "speech.confirmed": "confirmed",
  "speech.dismissed": "dismissed",
  "speech.score": "score",
});

const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
const enc = encodeURIComponent;

function line(l) {
  return h("li", { class: `speech-line ${l.speaker}`,
    dataset: { speaker: l.speaker, start: String(l.start) } },
    h("span", { class: "when mono" }, clock(l.start)),
    h("span", { class: `chip ${l.speaker === "agent" ? "voice" : "chat"}` },
      t(`speech.${l.speaker}`)),
    h("span", { class: "said" }, l.text));
}

// ------------------------------------------------------------------ one call

async function showCall(panel, taskId) {
  panel.replaceChildren(h("p", { class: "muted" }, "…"));
  try {
    const [transcript, summary] = await Promise.all([
      api("GET", `/api/interactions/${enc(taskId)}/transcript`),
      api("GET", `/api/interactions/${enc(taskId)}/summary`)]);
    const head = h("div", { class: "row" }, h("strong", {}, t("speech.transcript")),
      transcript.masked ? h("span", { class: "chip" }, t("speech.masked")) : null,
      transcript.status !== "done" ? h("span", { class: "chip" },
        t(`speech.status.${transcript.status}`)) : null,
      h("span", { class: "spacer" }),
      h("button", { class: "small", onclick: () => panel.replaceChildren() }, t("speech.close")));
    // The recording beside its transcript (the engine checks who may play it, and logs
    // each play); a line clicked plays from there.
    const audio = h("audio", { controls: true, preload: "metadata", class: "speech-audio",
      src: `/api/interactions/${enc(taskId)}/recording` });
    audio.addEventListener("error", () => audio.replaceWith(
      h("p", { class: "muted speech-no-audio" }, t("speech.no_recording"))));
    const lines = h("ol", { class: "speech-lines", dataset: { taskId } },
      transcript.lines.map(line));
    lines.addEventListener("click", (event) => {
      const item = event.target.closest("li");
      if (!item || !audio.isConnected) return;
      audio.currentTime = Number(item.dataset.start) || 0;
      audio.play().catch(() => {});
    });
    panel.replaceChildren(head,
      summary.text ? h("div", { class: "summary-box" }, summary.text) : null, audio, lines);
  } catch (exc) {
    panel.replaceChildren(h("p", { class: "login-error" }, exc.message));
  }
}

// ------------------------------------------------------------------ search

function searchCard() {
  const input = h("input", { type: "search", name: "q", "aria-label": t("speech.search"),
    placeholder: t("speech.search.placeholder"), "data-i18n-placeholder": "speech.search.placeholder" });
  const results = h("ul", { class: "speech-results" });
  const panel = h("div", { class: "speech-call" });
  const form = h("form", { class: "row speech-search" }, input,
    h("button", { type: "submit", class: "primary", i18n: "speech.search.go" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const hits = await api("GET", `/api/speech/search?q=${enc(input.value.trim())}`);
      results.replaceChildren(...(hits.length ? hits.map((hit) => h("li", {},
        h("button", { class: "link", dataset: { taskId: hit.task_id },
          onclick: () => showCall(panel, hit.task_id) },
        h("span", { class: "muted" }, `${ago(hit.at)} · ${hit.queue || ""} `),
        hit.snippet || hit.task_id))) : [h("li", { class: "muted" }, t("speech.search.none"))]));
    } catch (exc) {
      toast(exc.message, "error");
    }
  });
  return h("section", { class: "card speech-card", id: "speech-search" },
    h("header", {}, h("h2", { i18n: "speech.search" })),
    h("div", { class: "body stack" }, form, results, panel));
}

export function mountAgentSpeech() {
  const aside = document.querySelector("main aside.stack") || document.querySelector("main");
  aside.append(searchCard());
}

// ------------------------------------------------------------------ wallboard

const board = { flagged: null, card: null };

export function renderSpeechFigures(snapshot) {
  board.queueNames = Object.fromEntries(snapshot.queues.map((q) => [q.id, q.name]));
  let flagged = 0;
  for (const q of snapshot.queues) {
    const figures = (q.extras || {}).speech;
    const tile = document.querySelector(`section.tile[data-queue="${CSS.escape(q.id)}"]`);
    if (!figures || !tile) continue;
    flagged += figures.flagged || 0;
    tile.append(h("div", { class: "speech-figures row", dataset: { k: "speech" } },
      ["backlog", "failed", "flagged"].map((k) => h("span", {
        class: `chip${k !== "backlog" && figures[k] ? " alert" : ""}`, dataset: { k: `speech-${k}` } },
      `${t(`speech.${k}`)} `, h("strong", {}, String(figures[k] ?? 0))))));
  }
  if (board.card && flagged !== board.flagged) {
    board.flagged = flagged;
    loadFlags();
  }
}

function flagItem(flag, queueName) {
  const decided = flag.status !== "open";
  const review = async (verdict) => {
    try {
      await api("POST", `/api/supervisor/flags/${flag.id}/review`, { verdict });
      loadFlags();
    } catch (exc) {
      toast(exc.message, "error");
    }
  };
  return h("li", { class: "speech-flag", dataset: { flagId: String(flag.id), taskId: flag.task_id } },
    h("div", { class: "row" }, h("strong", {}, flag.message),
      h("span", { class: "chip" }, `−${flag.deduction}`),
      h("span", { class: "muted" }, `${flag.agent_id || ""} · ${queueName(flag.queue)} · ${ago(flag.created_at)}`),
      h("span", { class: "spacer" }),
      decided ? h("span", { class: "chip" }, t(`speech.${flag.status}`)) : [
        h("button", { class: "small ok", dataset: { verdict: "confirm" },
          onclick: () => review("confirm") }, t("speech.confirm")),
        h("button", { class: "small", dataset: { verdict: "dismiss" },
          onclick: () => review("dismiss") }, t("speech.dismiss"))],
      h("button", { class: "small link", onclick: (event) => showCall(
        event.target.closest("li").querySelector(".speech-call"), flag.task_id) },
      t("speech.transcript"))),
    flag.lines.length ? h("ol", { class: "speech-lines" }, flag.lines.map(line)) : null,
    h("div", { class: "speech-call" }));
}

async function loadFlags() {
  const list = board.card.querySelector("ul");
  try {
    const flags = await api("GET", "/api/supervisor/flags?status=open&limit=100");
    const names = board.queueNames || {};
    list.replaceChildren(...(flags.length ? flags.map((f) => flagItem(f, (q) => loc(names[q]) || q || ""))
      : [h("li", { class: "muted" }, t("speech.flags.none"))]));
  } catch (exc) {
    if (exc.status !== 401) toast(exc.message, "error");
  }
}

export function mountWallboardSpeech() {
  board.card = h("section", { class: "card speech-card", id: "speech-flags" },
    h("header", {}, h("h2", { i18n: "speech.flags" })),
    h("div", { class: "body" }, h("ul", { class: "speech-flag-list" })));
  (document.querySelector(".wb-lower") || document.querySelector("main")).append(board.card,
    searchCard());
  loadFlags();
}

const style = h("link", { rel: "stylesheet", href: "/static/speech.css" });
document.head.append(style);
