// Speech in the consoles: call search and a call's transcript (agent and wallboard), the
// speech figures on the wallboard's queue tiles, and flagged calls to confirm or dismiss.
// The pages call mountAgentSpeech() / mountWallboardSpeech() and, per wallboard snapshot,
// renderSpeechFigures(snapshot).
import { ago, api, h, loc, t, toast } from "./common.js";

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
