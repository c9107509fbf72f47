// The screen-pop cards: an offer (accept / reject a chat; answer a call in the browser
// phone), and the connected contact's card (a call's controls: callcontrols.js; a voice
// message's player and call-back). agent.js mounts the list and hands over the engine's
// offers; each card is keyed by its offer.
import { ago, api, duration, h, icon, loc, serverNow, t, toast } from "./common.js";
import { callBar } from "./callcontrols.js";
import { answerCall, phoneState } from "./phone.js";

const offers = new Map(); // offer_id -> {data, node}
const pops = new Map(); // task_id -> pop (the wrap-up form's customer name)
let list = null;
let hooks = { status: () => {}, changed: () => {} };
// For tests and diagnostics: when each offer arrived and when its card was on screen.
window.__cc = { pops: {} };

/** ``onStatus(status)``: an answer changed the agent's status; ``onChange()``: a card
 * came or went. */
export function mountOffers(node, { onStatus, onChange }) {
  list = node;
  hooks = { status: onStatus, changed: onChange };
}

export function offerCount() { return offers.size; }
export function popOf(taskId) { return pops.get(taskId); }

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

export function addOffer(data, { timed } = {}) {
  const received = performance.timeOrigin + performance.now();
  data.receivedAt = data.receivedAt || serverNow();
  if (data.pop) pops.set(data.task_id, data.pop);
  const old = offers.get(data.offer_id);
  const node = offerCard(data);
  if (old) old.node.replaceWith(node); else list.prepend(node);
  offers.set(data.offer_id, { data, node });
  hooks.changed();
  tickOffers();
  if (timed) {
    // Visible = inserted, styled and painted: the frame after this one.
    requestAnimationFrame(() => setTimeout(() => {
      window.__cc.pops[data.offer_id] = {
        received, shown: performance.timeOrigin + performance.now(),
      };
    }, 0));
  }
}

export function removeOffer(offerId) {
  const entry = offers.get(offerId);
  if (!entry) return;
  entry.node.remove();
  offers.delete(offerId);
  hooks.changed();
}

export function offerByTask(taskId) {
  for (const entry of offers.values()) if (entry.data.task_id === taskId) return entry;
  return null;
}

/** The contact connected: its card becomes the connected one. */
export function connectOffer(taskId) {
  const entry = offerByTask(taskId);
  if (entry) addOffer({ ...entry.data, connected: true });
}

/** The engine's open offers (after a reload or a reconnect); ``talking``: the tasks
 * connected now, whose cards stay (one that ended while we were away goes). */
export function syncOffers(open, talking) {
  const live = new Set(open.map((o) => o.offer_id));
  for (const [id, { data }] of [...offers.entries()]) {
    if (!live.has(id) && !(data.connected && talking.has(data.task_id))) removeOffer(id);
  }
  for (const offer of open) if (!offers.has(offer.offer_id)) addOffer(offer);
}

/** Draw the cards again (a language change; ``voiceOnly``: the phone started ringing, so
 * an offered call's card gets its answer button). */
export function redrawOffers({ voiceOnly = false } = {}) {
  for (const { data } of [...offers.values()]) {
    if (!voiceOnly || (data.channel === "voice" && !data.connected)) addOffer(data);
  }
}

export function tickOffers() {
  for (const { data, node } of offers.values()) {
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
}

async function answerOffer(offerId, verb) {
  try {
    hooks.status(await api("POST", `/api/agent/offers/${encodeURIComponent(offerId)}/${verb}`));
    const entry = offers.get(offerId);
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
