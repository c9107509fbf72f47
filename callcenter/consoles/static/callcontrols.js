// The agent's own call, from the connected voice card: hang up, hold / resume (the caller
// hears music), mute, and blind transfer to a queue, an agent or a number through the trunk;
// and the phone card's dialer (mountDialer): a call to a number with our caller ID.
//
// agent.js puts callBar(taskId) in the card of the connected call, calls loadCall() when a
// call connects (and after a reload), and hands every live message to onLive(msg). The
// engine's answer to each button, and its `call.control` event, are the state the bar
// shows: a click that fails leaves the bar as the engine has it.
import { api, duration, h, icon, loc, serverNow, t, toast } from "./common.js";

const call = { state: null, targets: { queues: [], agents: [] } };
window.__ccCall = call; // for tests and diagnostics

function w(key, vars) {
  return t(`call.${key}`, vars);  // this module's words (static/i18n/)
}

/** The engine's view of my connected call (and where I may transfer it), or null. */
export async function loadCall() {
  try {
    const mine = await api("GET", "/api/agent/call");
    call.targets = mine.transfer;
    for (const select of document.querySelectorAll(".call-bar select[data-action=transfer]")) {
      fillTargets(select);
    }
    for (const select of document.querySelectorAll(".call-bar select[data-action=consult]")) {
      select.fill();
    }
    update(mine);
    return mine;
  } catch (exc) {
    if (exc.status !== 503) toast(exc.message, "error");
    return null;
  }
}

export function onLive(msg) {
  if (msg.topic === "call.control") update(msg.data || {});
  if (msg.topic === "call.outbound") outbound(msg.data || {});
}

// ------------------------------------------------------------------ dial-out

const dialer = { node: null, status: null, on: false };

/** Whether this engine lets agents dial out (a telephone, an outbound caller ID). */
export function dialOutOn() { return dialer.on; }

function outbound(data) {
  dialer.status = data;
  renderDialer();
}

function renderDialer() {
  const node = dialer.node;
  if (!node) return;
  const s = dialer.status;
  const live = s && s.status !== "ended";
  node.querySelector("[data-action=dial]").hidden = live;
  node.querySelector("[data-action=dial-hangup]").hidden = !live;
  node.querySelector("input").disabled = live;
  const line = node.querySelector(".dial-status");
  line.dataset.status = s ? s.status : "";
  line.textContent = !s ? "" : s.status === "ended" && s.reason
    ? w("unreached", { r: s.reason }) : w(s.status, { n: s.number, r: s.reason || "" });
}

/** The phone card's dialer: call a number through the trunk (my phone rings first);
 * shown only where dialling out is on (a telephone system, an outbound caller ID). */
export async function mountDialer(node) {
  dialer.node = node;
  node.hidden = true;
  const input = h("input", { type: "tel", name: "dial", placeholder: w("dial_number"),
    inputmode: "tel", autocomplete: "off" });
  const call = async () => {
    const number = input.value.replace(/[\s-]/g, "");
    if (!number) return;
    try {
      await api("POST", "/api/agent/call/dial", { number });
    } catch (exc) { toast(exc.message, "error"); }
  };
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") call(); });
  node.replaceChildren(h("div", { class: "row" }, input,
    h("button", { class: "ok small", dataset: { action: "dial" }, onclick: call },
      icon("phone"), w("dial")),
    h("button", { class: "danger small", dataset: { action: "dial-hangup" }, hidden: true,
      onclick: () => api("POST", "/api/agent/call/hangup").catch((e) => toast(e.message, "error")) },
    icon("phone"), w("hangup"))),
  h("div", { class: "hint dial-status" }));
  renderDialer();
  try {
    dialer.on = Boolean((await api("GET", "/api/agent/call")).dial_out);
    node.hidden = !dialer.on;
  } catch { /* no telephone system: no dialer */ }
}

function update(view) {
  if (!view.task_id) return;
  call.state = { ...view };
  for (const bar of document.querySelectorAll(".call-bar")) render(bar);
}

async function press(bar, path, body) {
  for (const node of bar.querySelectorAll("button, select, input")) node.disabled = true;
  try {
    const view = await api("POST", path, body);
    if (view && "held" in view) update(view);
    return view;
  } catch (exc) {
    toast(exc.message, "error");
    return null;
  } finally {
    for (const node of bar.querySelectorAll("button, select, input")) node.disabled = false;
    render(bar);
  }
}

function mine(bar) {
  const s = call.state;
  return s && s.task_id === bar.dataset.callTask ? s : { held: false, muted: false };
}

function render(bar) {
  const s = mine(bar);
  const hold = bar.querySelector("[data-action=hold]");
  hold.lastChild.textContent = s.held ? w("resume") : w("hold");
  hold.classList.toggle("active", s.held);
  const mute = bar.querySelector("[data-action=mute]");
  mute.lastChild.textContent = s.muted ? w("unmute") : w("mute");
  mute.classList.toggle("active", s.muted);
  bar.querySelector(".call-muted").hidden = !s.muted;
  // A consult (attended transfer): its three endings replace the other buttons.
  const consulting = Boolean(s.consult) && !s.conference;
  for (const node of bar.querySelectorAll(".call-normal")) {
    // Consulting: only the consult's endings. A three-way call is not held or consulted.
    node.hidden = consulting
      || (s.conference && ["hold", "consult"].includes(node.dataset.action));
  }
  const steps = bar.querySelector(".consult-steps");
  steps.hidden = !consulting;
  for (const b of steps.querySelectorAll("button[data-then=transfer], button[data-then=conference]")) {
    b.disabled = !s.consult_answered;
  }
  const line = bar.querySelector(".call-consult");
  line.hidden = !s.consult;
  line.textContent = s.conference ? `${w("in_conference")} · ${s.consult}`
    : s.consult ? w(s.consult_answered ? "consulting" : "consult_ringing", { n: s.consult }) : "";
  tickBar(bar);
}

function tickBar(bar) {
  const s = mine(bar);
  const held = bar.querySelector(".call-held");
  held.hidden = !s.held;
  if (s.held && s.held_since) held.textContent = `${w("on_hold")} ${duration(serverNow() - s.held_since)}`;
}

/** Once a second: the time on hold. */
export function tickCall() {
  for (const bar of document.querySelectorAll(".call-bar")) tickBar(bar);
}

function fillTargets(select) {
  const { queues, agents } = call.targets;
  select.replaceChildren(h("option", { value: "" }, w("transfer")),
    h("optgroup", { label: w("to_queue") }, queues.map((q) =>
      h("option", { value: `queue:${q.id}` }, loc(q.name) || q.id))),
    h("optgroup", { label: w("to_agent") }, agents.map((a) =>
      h("option", { value: `agent:${a.id}` }, loc(a.name) || a.id))),
    h("option", { value: "number:" }, w("to_number")));
}

function transferPicker(bar) {
  const select = h("select", { "aria-label": w("transfer"), dataset: { action: "transfer" } });
  fillTargets(select);
  const number = h("input", { type: "tel", name: "number", placeholder: w("number"),
    inputmode: "tel", pattern: "\\+?[0-9]{3,20}", hidden: true });
  const go = h("button", { class: "small", dataset: { action: "transfer-number" }, hidden: true },
    w("go"));
  const send = async (body) => {
    if (await press(bar, "/api/agent/call/transfer", body)) toast(w("transferred"), "ok");
  };
  select.addEventListener("change", () => {
    const [kind, id] = select.value.split(":");
    number.hidden = go.hidden = kind !== "number";
    if (kind === "number") { number.focus(); return; }
    select.value = "";
    if (id) send(kind === "queue" ? { queue: id } : { agent: id });
  });
  go.addEventListener("click", () => {
    const digits = number.value.replace(/[\s-]/g, "");
    if (digits) send({ number: digits });
  });
  return [select, number, go];
}

function consultPicker(bar) {
  const select = h("select", { "aria-label": w("consult"), class: "call-normal",
    dataset: { action: "consult" } });
  const fill = () => select.replaceChildren(h("option", { value: "" }, w("consult")),
    ...call.targets.agents.map((a) => h("option", { value: `agent:${a.id}` }, loc(a.name) || a.id)),
    h("option", { value: "number:" }, w("to_number")));
  fill();
  select.fill = fill;
  select.addEventListener("change", () => {
    const [kind, id] = select.value.split(":");
    select.value = "";
    if (kind === "agent") press(bar, "/api/agent/call/consult", { agent: id });
    if (kind === "number") {
      const number = (bar.querySelector("input[name=number]").value || "").replace(/[\s-]/g, "");
      if (number) press(bar, "/api/agent/call/consult", { number });
      else bar.querySelector("input[name=number]").hidden = false;
    }
  });
  return select;
}

/** The controls for the connected call ``taskId``, for its card. */
export function callBar(taskId) {
  const bar = h("div", { class: "call-bar", dataset: { callTask: taskId } });
  const toggle = (action, onclick) => h("button", { class: "small call-normal",
    dataset: { action }, onclick }, h("span"));
  const end = (then) => h("button", { class: "small", dataset: { then },
    onclick: () => press(bar, "/api/agent/call/consult/end", { then }) }, w(
    { transfer: "complete", conference: "conference", return: "back" }[then]));
  const [transfer, number, go] = transferPicker(bar);
  transfer.classList.add("call-normal");
  bar.append(
    toggle("hold", () => press(bar, "/api/agent/call/hold", { on: !mine(bar).held })),
    toggle("mute", () => press(bar, "/api/agent/call/mute", { on: !mine(bar).muted })),
    transfer, number, go, consultPicker(bar),
    h("span", { class: "consult-steps", hidden: true }, end("transfer"), end("conference"),
      end("return")),
    h("span", { class: "pill call-consult", hidden: true }),
    h("button", { class: "small danger call-normal", dataset: { action: "hangup" },
      onclick: () => press(bar, "/api/agent/call/hangup") }, icon("phone"), w("hangup")),
    h("span", { class: "pill call-held", hidden: true }),
    h("span", { class: "pill call-muted", hidden: true }, w("muted")));
  render(bar);
  return bar;
}
