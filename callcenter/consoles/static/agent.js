// The agent console: device, ready / not ready, screen-pop cards (a connected call's
// controls in its card: callcontrols.js), wrap-up forms; the browser phone (phone.js).
import {
  ago, api, applyI18n, clockText, connectLive, duration, frame, h, icon, liveBadge, loc, onLang,
  serverNow, setServerTime, t, toast,
} from "./common.js";
import {
  callBar, loadCall, mountDialer, onLive as callLive, tickCall,
} from "./callcontrols.js";
import { mountAgentChat, onLive as chatLive } from "./chat.js";
import { mountCustomers } from "./customers.js";
import { answerCall, mountPhonePanel, phoneState, startPhone, stopPhone } from "./phone.js";
import { mountAgentSpeech } from "./speech.js";

const state = {
  console: null,
  status: null,
  offers: new Map(), // offer_id -> {data, node}
  wrapups: new Map(), // task_id -> {data, node}
  pops: new Map(), // task_id -> pop (for the wrap-up form's customer name)
};
// For tests and diagnostics: when each offer arrived and when its card was on screen.
window.__cc = { pops: {} };

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ status

function renderStatus() {
  const s = state.status;
  if (!s) return;
  const badge = $("state-badge");
  badge.className = `pill state-badge st-${s.state}`;
  let text = t(`state.${s.state}`);
  if (s.state === "not_ready" && s.reason) text += ` · ${t(`reason.${s.reason}`)}`;
  badge.textContent = text;
  const signedIn = s.state !== "logged_out";
  $("signin").disabled = signedIn;
  $("signout").disabled = !signedIn;
  $("device").disabled = signedIn;
  $("go-ready").disabled = !signedIn || s.state === "ready";
  $("go-not-ready").disabled = !signedIn;
  $("go-ready").classList.toggle("active", s.state === "ready");
  $("go-not-ready").classList.toggle("active", s.state === "not_ready");
  $("status-hint").textContent = signedIn ? "" : t("agent.not_signed_in");
  $("answered").textContent = String(s.answered || 0);
  const phone = $("phone-status"); // registered or not, as Asterisk last said
  phone.hidden = !signedIn || !s.device || s.phone_registered == null;
  phone.className = `pill ${s.phone_registered ? "st-ready" : "st-offline"}`;
  phone.textContent = t(s.phone_registered ? "phone.registered" : "phone.offline");
  tick();
}

function renderConsole() {
  const c = state.console;
  if (!c) return;
  const device = $("device");
  const current = state.status && state.status.device;
  const picked = device.value; // what the agent chose before this render (kept)
  device.replaceChildren();
  if (c.profile.extension) {
    device.append(h("option", { value: c.profile.extension },
      t("agent.device.ext", { ext: c.profile.extension })));
  }
  if (c.softphone.browser) {
    device.append(h("option", { value: c.softphone.browser.device }, t("agent.device.browser")));
  }
  device.append(h("option", { value: "" }, t("agent.device.none")));
  if (current !== undefined && current !== null) device.value = current;
  else if (picked && [...device.options].some((o) => o.value === picked)) device.value = picked;
  const reason = $("reason");
  const chosen = reason.value;
  reason.replaceChildren(...c.reasons.map((r) => h("option", { value: r }, t(`reason.${r}`))));
  if (chosen) reason.value = chosen;
  const sp = c.softphone;
  const rows = [
    ["agent.softphone.server", sp.server],
    ["agent.softphone.port", String(sp.port)],
    ["agent.softphone.username", sp.username || "—"],
    ["agent.softphone.password", sp.password ? secretField(sp.password)
      : t("agent.softphone.password_hint")],
    ["agent.softphone.transport", sp.transport],
  ];
  $("softphone").replaceChildren(...rows.flatMap(([k, v]) => [
    h("dt", { i18n: k }), h("dd", { class: "mono" }, v)]));
  if (sp.password) {
    const link = h("dd", { class: "mono provisioning-url" });
    const button = h("button", { type: "button", class: "link provisioning" },
      t("agent.softphone.linphone"));
    button.addEventListener("click", async () => {
      try {
        const made = await api("POST", "/api/agent/softphone/provisioning");
        link.textContent = made.url;
      } catch (exc) {
        toast(exc.message, "error");
      }
    });
    $("softphone").append(h("dt", {}, button), link);
  }
}

// The agent's own SIP password: hidden until they ask to see it (someone may look on).
function secretField(value) {
  const text = h("span", { class: "secret" }, "••••••••");
  const button = h("button", { type: "button", class: "link show-secret" },
    t("agent.softphone.show"));
  button.addEventListener("click", () => {
    const shown = text.textContent === value;
    text.textContent = shown ? "••••••••" : value;
    button.textContent = t(shown ? "agent.softphone.show" : "agent.softphone.hide");
  });
  return h("span", {}, text, " ", button);
}

function tick() {
  tickCall();
  const s = state.status;
  $("state-timer").textContent = s && s.since && s.state !== "logged_out"
    ? duration(serverNow() - s.since) : "";
  for (const { data, node } of state.offers.values()) {
    const interaction = (data.pop && data.pop.interaction) || {};
    const waited = node.querySelector(".waited");
    if (waited && interaction.arrived_at) waited.textContent = duration(serverNow() - interaction.arrived_at);
    const bar = node.querySelector(".offer-countdown > div");
    if (bar && data.deadline && !data.connected) {
      const left = Math.max(0, data.deadline - serverNow());
      const total = Math.max(1, data.deadline - data.receivedAt);
      bar.style.width = `${Math.min(100, (left / total) * 100)}%`;
    }
  }
  for (const { data, node } of state.wrapups.values()) {
    const left = node.querySelector(".wrapup-left");
    if (left && data.ends_at) left.textContent = wrapupLeft(data);
  }
}

function renderIdle() {
  $("idle").hidden = state.offers.size > 0 || state.wrapups.size > 0;
}

async function act(fn) {
  try {
    state.status = await fn();
    renderStatus();
  } catch (exc) {
    toast(exc.message || t("error.generic"), "error");
  }
}

// The browser phone runs while the agent is signed in with it: started by signing in
// with it (or a reload that finds them so), stopped by signing out (here or elsewhere:
// the agent.state event). A status read that crossed the sign-in never stops it.
function browserPhone() {
  const c = state.console;
  const browser = c && c.softphone.browser;
  const s = state.status;
  if (browser && s && s.state !== "logged_out" && s.device === browser.device) {
    startPhone(browser, c.softphone.password);
  }
}

function bindControls() {
  $("signin").addEventListener("click", async () => {
    await act(() => api("POST", "/api/agent/login",
      { device: $("device").value || null, ready: false }));
    browserPhone();
  });
  $("signout").addEventListener("click", async () => {
    await act(() => api("POST", "/api/agent/logout"));
    if (state.status && state.status.state === "logged_out") stopPhone();
  });
  $("go-ready").addEventListener("click", () => act(() => api("POST", "/api/agent/state",
    { state: "ready" })));
  $("go-not-ready").addEventListener("click", () => act(() => api("POST", "/api/agent/state",
    { state: "not_ready", reason: $("reason").value })));
  $("why-no-calls").addEventListener("click", whyNoCalls);
  $("brand-mark").append(icon("headset"));
  $("idle").append(icon("headset"), h("strong", { i18n: "agent.idle" }),
    h("span", { i18n: "agent.idle.hint" }));
}

// "Why am I not getting calls?": the engine reconciles with Asterisk at once (an agent
// left busy by a lost hang-up is freed), then says what stands between me and a call.
async function whyNoCalls() {
  const button = $("why-no-calls");
  button.disabled = true;
  try {
    const why = await api("POST", "/api/agent/why-no-calls");
    const lines = why.reasons.map((r) => t(`why.${r}`, {
      waiting: Object.values(why.waiting).reduce((n, w) => n + w, 0) }));
    const answer = $("why-answer");
    answer.textContent = lines.join(" ");
    answer.dataset.reasons = why.reasons.join(" ");
    answer.hidden = false;
    await refresh();
  } catch (exc) {
    toast(exc.message || t("error.generic"), "error");
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ the screen-pop card

function channelTitle(data) {
  const medium = data.pop && data.pop.interaction && data.pop.interaction.medium;
  if (data.channel === "voice") return t("offer.voice");
  if (data.channel === "voice_message") return t("offer.voice_message");
  if (medium === "wechat") return t("offer.wechat");
  if (medium === "web") return t("offer.web");
  return t("offer.chat");
}

function mediumChip(channel, medium) {
  const key = medium && t(`medium.${medium}`) !== `medium.${medium}` ? `medium.${medium}`
    : `channel.${channel}`;
  const cls = medium === "wechat" ? "wechat" : channel === "voice" ? "voice" : "chat";
  return h("span", { class: `chip ${cls}` }, icon(channel === "voice" ? "phone" : "chat"), t(key));
}

function identityChip(identity) {
  const kind = { phone: "medium.pstn", wechat_openid: "medium.wechat", web_visitor: "medium.web" }[
    identity.kind];
  return h("span", { class: "chip" }, kind ? `${t(kind)} ` : "",
    h("span", { class: "mono" }, identity.masked));
}

function historyItem(item) {
  const meta = h("div", { class: "meta" },
    h("strong", {}, item.arrived_at ? ago(item.arrived_at) : "—"),
    mediumChip(item.channel, item.medium),
    item.queue_name ? h("span", {}, loc(item.queue_name)) : null,
    item.outcome ? h("span", {}, "· " + t(`outcome.${item.outcome}`)) : null,
    item.disposition ? h("span", { class: "chip" },
      item.disposition_label ? loc(item.disposition_label) : item.disposition) : null,
    item.agent_id ? h("span", {}, "· " + item.agent_id) : null);
  const li = h("li", { class: item.channel === "voice" ? "voice" : "chat" }, meta);
  if (item.summary) {
    li.append(h("div", { class: "summary" }, h("strong", {}, t("offer.summary") + "："),
      item.summary));
  }
  if (item.notes) li.append(h("div", { class: "summary muted" }, item.notes));
  if (item.last_messages && item.last_messages.length) {
    li.append(h("div", { class: "messages" }, item.last_messages.map((m) =>
      h("div", { class: `bubble ${m.direction}` }, m.body))));
  }
  return li;
}

function offerCard(data) {
  const pop = data.pop || {};
  const customer = pop.customer;
  const interaction = pop.interaction || {};
  const history = pop.history || [];
  const name = (customer && customer.name) || t("offer.unknown_caller");
  const card = h("article", {
    class: `offer ${data.channel === "voice" ? "voice" : "chat"}${data.connected ? " connected" : ""}`,
    dataset: { offerId: data.offer_id, taskId: data.task_id },
  });
  const head = h("div", { class: "offer-head" },
    icon(data.channel === "voice" ? "phone" : "chat"),
    h("span", { class: "title" }, data.connected ? t("offer.connected") : channelTitle(data)),
    h("span", { class: "queue" }, loc(interaction.queue_name) || data.queue),
    h("span", { class: "spacer" }),
    h("span", { class: "timer" }, t("offer.waited") + " ", h("span", { class: "waited" }, "0:00")));
  card.append(head);
  if (data.deadline && !data.connected) card.append(h("div", { class: "offer-countdown" }, h("div")));
  const ids = (customer && customer.identities) || [];
  const who = h("div", { class: "customer" },
    h("div", { class: "avatar" }, name.slice(0, 1)),
    h("div", {},
      h("div", { class: "customer-name" }, name,
        customer && customer.vip ? h("span", { class: "chip vip" }, t("offer.vip")) : null),
      h("div", { class: "customer-ids" },
        ids.length ? ids.map(identityChip)
          : interaction.caller_masked ? h("span", { class: "chip mono" }, interaction.caller_masked)
            : null)));
  const body = h("div", { class: "offer-body" }, who);
  if (interaction.dialled) {  // which 400 line the caller dialled, and where it led
    const line = typeof interaction.label === "string" ? interaction.label
      : loc(interaction.label);
    body.append(h("div", { class: "ivr dialled" }, h("span", { class: "label" },
      t("offer.dialled")), h("span", { class: "step mono", dataset: { k: "dialled" } },
      interaction.dialled), line ? h("span", { class: "step" }, line) : null));
  }
  const choices = (interaction.ivr_choices || [])
    .map((c) => loc(c.display) || c.label || c.value || c.pressed).filter(Boolean);
  if (choices.length) {
    body.append(h("div", { class: "ivr" }, h("span", { class: "label" }, t("offer.ivr")),
      choices.flatMap((c, i) => [i ? h("span", { class: "sep" }, "›") : null,
        h("span", { class: "step" }, c)])));
  }
  if ((interaction.last_messages || []).length) {
    body.append(h("div", { class: "conversation" }, interaction.last_messages.map((m) =>
      h("div", { class: `bubble ${m.direction}` }, m.body))));
  }
  const actions = h("div", { class: "offer-actions" });
  if (data.connected && data.channel === "voice_message") {
    body.append(messagePlayer(data.task_id));
    actions.append(
      h("button", { class: "ok message-callback", onclick: (e) => callBack(data, e.currentTarget) },
        icon("phone"), t("message.callback")),
      h("button", { class: "message-done", onclick: () => messageDone(data) },
        icon("check"), t("message.done")));
  } else if (data.connected) {
    actions.append(h("span", { class: "answer" }, icon("check"), t("offer.connected")));
    if (data.channel === "voice") actions.append(callBar(data.task_id));
  } else if (data.channel === "voice" && phoneState().state === "ringing") {
    actions.append(h("button", { class: "ok", dataset: { action: "answer-call" },
      onclick: answerCall }, icon("phone"), t("offer.answer")));
  } else if (data.channel === "voice") {
    actions.append(h("span", { class: "answer" }, icon("phone"), t("offer.answer_phone")));
  } else {
    actions.append(
      h("button", { class: "ok", onclick: () => answerOffer(data.offer_id, "accept") },
        icon("check"), t("offer.accept")),
      h("button", { class: "danger", onclick: () => answerOffer(data.offer_id, "reject") },
        t("offer.reject")));
  }
  body.append(actions);
  const historyBox = h("section", { class: "history" },
    h("h3", {}, `${t("offer.history")} (${history.length})`));
  historyBox.append(history.length ? h("ul", { class: "timeline" }, history.map(historyItem))
    : h("p", { class: "muted" }, t("offer.no_history")));
  body.append(historyBox);
  card.append(body);
  return card;
}

function addOffer(data, { timed } = {}) {
  const received = performance.timeOrigin + performance.now();
  data.receivedAt = data.receivedAt || serverNow();
  if (data.pop) state.pops.set(data.task_id, data.pop);
  const old = state.offers.get(data.offer_id);
  const node = offerCard(data);
  if (old) old.node.replaceWith(node); else $("offers").prepend(node);
  state.offers.set(data.offer_id, { data, node });
  renderIdle();
  tick();
  if (timed) {
    // Visible = inserted, styled and painted: the frame after this one.
    requestAnimationFrame(() => setTimeout(() => {
      window.__cc.pops[data.offer_id] = {
        received, shown: performance.timeOrigin + performance.now(),
      };
    }, 0));
  }
}

function removeOffer(offerId) {
  const entry = state.offers.get(offerId);
  if (!entry) return;
  entry.node.remove();
  state.offers.delete(offerId);
  renderIdle();
}

function offerByTask(taskId) {
  for (const entry of state.offers.values()) if (entry.data.task_id === taskId) return entry;
  return null;
}

async function answerOffer(offerId, verb) {
  try {
    state.status = await api("POST", `/api/agent/offers/${encodeURIComponent(offerId)}/${verb}`);
    renderStatus();
    const entry = state.offers.get(offerId);
    if (verb === "reject") removeOffer(offerId);
    else if (entry) addOffer({ ...entry.data, connected: true });
  } catch (exc) {
    toast(exc.message, "error");
    if (exc.status === 409) removeOffer(offerId);
  }
}

// ------------------------------------------------------------------ voice messages

function messagePlayer(taskId) {
  return h("audio", { class: "message-audio", controls: true, preload: "none",
    src: `/api/agent/messages/${encodeURIComponent(taskId)}/audio` });
}

async function callBack(data, button) {
  try {
    const result = await api("POST",
      `/api/agent/messages/${encodeURIComponent(data.task_id)}/callback`);
    button.disabled = true;
    toast(`${t("message.callback_done")} ${result.number}`);
  } catch (exc) {
    toast(exc.message, "error");
  }
}

async function messageDone(data) {
  try {
    await api("POST", `/api/agent/messages/${encodeURIComponent(data.task_id)}/done`);
    removeOffer(data.offer_id);
  } catch (exc) {
    toast(exc.message, "error");
  }
}

// ------------------------------------------------------------------ wrap-up

function wrapupForm(data) {
  const pop = state.pops.get(data.task_id);
  const customerName = data.customer_name || (pop && pop.customer && pop.customer.name);
  const queueName = loc(data.queue_name || (pop && pop.interaction && pop.interaction.queue_name))
    || data.queue || "";
  const form = h("form", { class: "wrapup", dataset: { taskId: data.task_id } });
  const who = customerName || data.caller;
  form.append(h("div", { class: "wrapup-head" }, icon("check"),
    h("span", {}, t("wrapup.title")), h("span", {}, `· ${queueName}`),
    who ? h("span", { class: "wrapup-who" }, `· ${who}`) : null,
    data.ended_at ? h("span", { class: "wrapup-ended" }, `· ${clockText(data.ended_at)}`) : null));
  const body = h("div", { class: "wrapup-body" });
  // How the wrap-up ends: on its timer (time left, more on request) or with this form.
  if (data.ends_at) {
    const more = h("button", { type: "button", class: "wrapup-extend" }, t("wrapup.extend"));
    more.addEventListener("click", async () => {
      try {
        addWrapup(await api("POST",
          `/api/agent/wrapups/${encodeURIComponent(data.task_id)}/extend`, { seconds: 30 }));
      } catch (exc) {
        toast(exc.message, "error");
      }
    });
    body.append(h("div", { class: "row wrapup-timer" },
      h("span", { class: "wrapup-left" }, wrapupLeft(data)), more));
  } else if (data.require_disposition) {
    body.append(h("div", { class: "wrapup-holds" }, t("wrapup.holds")));
  }
  if ((data.dispositions || []).length) {
    body.append(h("div", { class: "field" }, h("strong", {}, t("wrapup.disposition")),
      h("div", { class: "dispositions" }, data.dispositions.map((d) =>
        h("label", {}, h("input", { type: "radio", name: "disposition", value: d.code }),
          loc(d.label))))));
  }
  body.append(h("label", { class: "field" }, h("span", {}, t("wrapup.notes")),
    h("textarea", { name: "notes", placeholder: t("wrapup.notes.placeholder") })));
  // A summary box only where one comes (a recorded call, transcription on).
  const summary = h("div", { class: `summary-box${data.summary ? "" : " pending"}` },
    data.summary || t("wrapup.summary.pending"));
  const expected = Boolean(data.summary || data.summary_expected);
  body.append(h("div", { class: "field summary-field", hidden: !expected },
    h("strong", {}, t("wrapup.summary")), summary));
  const error = h("span", { class: "login-error" });
  body.append(h("div", { class: "row" },
    h("button", { type: "submit", class: "primary" }, icon("check"), t("wrapup.submit")), error));
  form.append(body);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector("input[name=disposition]:checked");
    if (!chosen && data.require_disposition) { error.textContent = t("wrapup.required"); return; }
    try {
      state.status = await api("POST", `/api/agent/wrapups/${encodeURIComponent(data.task_id)}`, {
        disposition: chosen ? chosen.value : null, notes: form.elements.notes.value || null,
      });
      renderStatus();
      removeWrapup(data.task_id);
      toast(t("wrapup.done"), "ok");
    } catch (exc) {
      error.textContent = exc.message;
    }
  });
  return form;
}

function wrapupLeft(data) {
  return t("wrapup.left", { t: duration(Math.max(0, data.ends_at - serverNow())) });
}

function addWrapup(data) {
  const old = state.wrapups.get(data.task_id);
  if (old) {
    // Keep what the agent typed; only fill in what is new.
    old.data = { ...old.data, ...Object.fromEntries(Object.entries(data).filter(([, v]) => v != null)) };
    if (data.summary) setSummary(data.task_id, data.summary);
    const left = old.node.querySelector(".wrapup-left");
    if (left) left.textContent = wrapupLeft(old.data);
    return;
  }
  const node = wrapupForm(data);
  $("wrapups").append(node);
  state.wrapups.set(data.task_id, { data, node });
  const offer = offerByTask(data.task_id);
  if (offer) removeOffer(offer.data.offer_id);
  renderIdle();
}

function setSummary(taskId, text) {
  const entry = state.wrapups.get(taskId);
  if (!entry) return;
  entry.data.summary = text;
  entry.node.querySelector(".summary-field").hidden = false;
  const box = entry.node.querySelector(".summary-box");
  box.textContent = text;
  box.classList.remove("pending");
}

function removeWrapup(taskId) {
  const entry = state.wrapups.get(taskId);
  if (!entry) return;
  entry.node.remove();
  state.wrapups.delete(taskId);
  renderIdle();
}

// ------------------------------------------------------------------ live events

function onMessage(msg) {
  chatLive(msg);
  callLive(msg);
  const data = msg.data || {};
  switch (msg.topic) {
    case "hello":
      setServerTime(data.server_time);
      break;
    case "agent.offer":
      addOffer({ ...data }, { timed: true });
      break;
    case "agent.offer_withdrawn":
      removeOffer(data.offer_id);
      break;
    case "agent.connected": {
      const entry = offerByTask(data.task_id);
      if (entry) addOffer({ ...entry.data, connected: true });
      if (data.channel === "voice") showCall();
      loadStatus();  // "Handled today" counts it now, as the wallboard does
      break;
    }
    case "agent.state":
      if (data.state === "logged_out") stopPhone();
      if (state.status) {
        state.status.state = data.state;
        state.status.reason = data.reason;
        state.status.since = msg.at;
        renderStatus();
      }
      if (state.wrapups.size) loadWrapups();
      break;
    case "agent.phone":
      if (state.status) {
        state.status.phone_registered = data.registered;
        renderStatus();
      }
      if (data.replaced_by) toast(t("agent.phone.replaced", { where: data.replaced_by }), "error");
      break;
    case "agent.wrapup":
      loadWrapups(data);  // the form with the caller, the time and when it ends
      break;
    case "interaction.summary":
      setSummary(data.task_id, data.text);
      break;
    default:
      break;
  }
}

// The forms still open; one no longer open (sent from another tab, or over) goes.
function syncWrapups(wrapups) {
  const open = new Set(wrapups.map((w) => w.task_id));
  for (const taskId of [...state.wrapups.keys()]) if (!open.has(taskId)) removeWrapup(taskId);
  for (const w of wrapups) addWrapup(w);
}

async function loadWrapups(announced) {
  try {
    const wrapups = await api("GET", "/api/agent/wrapups");
    if (!announced) {
      syncWrapups(wrapups);
      return;
    }
    for (const w of wrapups) addWrapup(w);  // an announced form is only ever added
    if (!wrapups.some((w) => w.task_id === announced.task_id)) addWrapup(announced);
  } catch (exc) {
    if (exc.status !== 401) toast(exc.message, "error");
  }
}

async function loadStatus() {
  try {
    state.status = (await api("GET", "/api/agent/console")).status;
    renderStatus();
  } catch (exc) {
    if (exc.status !== 401) toast(exc.message, "error");
  }
}

// My connected call's controls; after a reload the call's card (without its pop) comes back.
async function showCall() {
  const mine = await loadCall();
  if (mine && mine.task_id && !offerByTask(mine.task_id)) {
    addOffer({ offer_id: `call-${mine.task_id}`, task_id: mine.task_id, channel: "voice",
      connected: true });
  }
}

async function refresh() {
  try {
    const [consoleData, offers, wrapups] = await Promise.all([
      api("GET", "/api/agent/console"), api("GET", "/api/agent/offers"),
      api("GET", "/api/agent/wrapups")]);
    setServerTime(consoleData.server_time);
    state.console = consoleData;
    state.status = consoleData.status;
    renderConsole();
    renderStatus();
    const live = new Set(offers.map((o) => o.offer_id));
    const talking = new Set(state.status.connected || []);
    for (const [id, { data }] of [...state.offers.entries()]) {
      // A connected card stays while its contact does (ended while we were away: gone).
      if (!live.has(id) && !(data.connected && talking.has(data.task_id))) removeOffer(id);
    }
    for (const offer of offers) if (!state.offers.has(offer.offer_id)) addOffer(offer);
    syncWrapups(wrapups);
    browserPhone();
    if ((state.status.connected || []).length) showCall();
    renderIdle();
  } catch (exc) {
    if (exc.status !== 401) toast(exc.message, "error");
  }
}

function rerender() {
  renderConsole();
  renderStatus();
  for (const { data } of [...state.offers.values()]) addOffer(data);
  for (const entry of state.wrapups.values()) {
    const node = wrapupForm(entry.data);
    entry.node.replaceWith(node);
    entry.node = node;
  }
  applyI18n(document);
}

bindControls();
await frame();
mountDialer($("dialer"));
onLang(mountPhonePanel($("browser-phone")));
document.addEventListener("cc:phone", () => { // ringing: the offer's card gets its button
  for (const { data } of [...state.offers.values()]) {
    if (data.channel === "voice" && !data.connected) addOffer(data);
  }
});
await refresh();
// Chats for an agent who takes them. Call search always: `callcenter transcribe` fills it
// even where the engine does not transcribe as calls end.
if (state.console && state.console.profile.takes_chat) mountAgentChat();
mountAgentSpeech();
mountCustomers();  // customer search and profiles
connectLive(onMessage, (up) => {
  liveBadge(up);
  if (up) refresh();
});
document.addEventListener("cc:relogin", () => location.reload());  // maybe another user
onLang(rerender);
setInterval(tick, 1000);
