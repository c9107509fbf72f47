// The agent console: device, ready / not ready, and the live events that drive its parts,
// each a module by job: the screen-pop cards (offers.js; a connected call's controls:
// callcontrols.js), wrap-up forms (wrapup.js), the browser phone (phone.js), chats
// (chat.js), customers (customers.js), call search (speech.js).
import {
  api, applyI18n, connectLive, duration, frame, h, icon, liveBadge, onLang, serverNow,
  setServerTime, t, toast,
} from "./common.js";
import { loadCall, mountDialer, onLive as callLive, tickCall } from "./callcontrols.js";
import { mountAgentChat, onLive as chatLive } from "./chat.js";
import { mountCustomers } from "./customers.js";
import {
  addOffer, connectOffer, mountOffers, offerByTask, offerCount, redrawOffers, removeOffer,
  syncOffers, tickOffers,
} from "./offers.js";
import { mountPhonePanel, startPhone, stopPhone } from "./phone.js";
import { mountAgentSpeech } from "./speech.js";
import {
  loadWrapups, mountWrapups, redrawWrapups, setSummary, syncWrapups, tickWrapups, wrapupCount,
} from "./wrapup.js";

const state = { console: null, status: null };

// Status reads and live events can cross on a busy machine or network: a read the server
// answered before a sign-in can reach the page after the sign-in's own answer. Each read
// carries `as_of`, its date on the scale of the live events' seq (later reads and events
// sent after it are higher): a read older than one already shown is dropped, and what
// live events newer than a read set is kept.
const seen = { read: 0, state: 0, phone: 0 };

function takeStatus(status) {
  if (status.as_of < seen.read) return;
  seen.read = status.as_of;
  const old = state.status;
  if (old && status.as_of < seen.state) {
    Object.assign(status, { state: old.state, reason: old.reason, since: old.since });
  }
  if (old && status.as_of < seen.phone) status.phone_registered = old.phone_registered;
  state.status = status;
}

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
  tickOffers();
  tickWrapups();
}

function renderIdle() {
  $("idle").hidden = offerCount() > 0 || wrapupCount() > 0;
}

function setStatus(status) {
  takeStatus(status);
  renderStatus();
}

async function act(fn) {
  try {
    takeStatus(await fn());
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
      connectOffer(data.task_id);
      if (data.channel === "voice") showCall();
      loadStatus();  // "Handled today" counts it now, as the wallboard does
      break;
    }
    case "agent.state":
      if (state.status && msg.seq > seen.read) {  // else a newer read says it already
        seen.state = msg.seq;
        state.status.state = data.state;
        state.status.reason = data.reason;
        state.status.since = msg.at;
        renderStatus();
      }
      if ((state.status ? state.status.state : data.state) === "logged_out") stopPhone();
      if (wrapupCount()) loadWrapups();
      break;
    case "agent.phone":
      if (state.status && msg.seq > seen.read) {
        seen.phone = msg.seq;
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

async function loadStatus() {
  try {
    takeStatus((await api("GET", "/api/agent/console")).status);
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
    takeStatus(consoleData.status);
    renderConsole();
    renderStatus();
    syncOffers(offers, new Set(state.status.connected || []));
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
  redrawOffers();
  redrawWrapups();
  applyI18n(document);
}

bindControls();
mountOffers($("offers"), { onStatus: setStatus, onChange: renderIdle });
mountWrapups($("wrapups"), { onStatus: setStatus, onChange: renderIdle });
await frame();
mountDialer($("dialer"));
onLang(mountPhonePanel($("browser-phone")));
// ringing: the offered call's card gets its answer button
document.addEventListener("cc:phone", () => redrawOffers({ voiceOnly: true }));
await refresh();
// Chats for an agent who takes them. Call search always: `callcenter transcribe` fills it
// even where the engine does not transcribe as calls end.
if (state.console && state.console.profile.takes_chat) mountAgentChat();
mountAgentSpeech();
mountCustomers();  // customer search and profiles
connectLive(onMessage, (up) => {
  liveBadge(up);
  if (up) {
    Object.assign(seen, { read: 0, state: 0, phone: 0 });  // a restarted engine counts anew
    refresh();
  }
});
document.addEventListener("cc:relogin", () => location.reload());  // maybe another user
onLang(rerender);
setInterval(tick, 1000);
