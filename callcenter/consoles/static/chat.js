// Chats in the consoles: the agent's chat workspace and the supervisor's chat reader.
//
// The agent's page (agent.js) and the wallboard call mountAgentChat() /
// mountWallboardChat() once, and hand every live message to onLive(msg). A pane per
// conversation: its messages (with sent / delivered / read marks), the customer's card
// beside it, canned replies, typing, images, transfer, end, WeChat's closed window with
// the voice callback, and merging the visitor with a known customer. Messages an agent
// sends carry their own id: one sent again after a network or engine failure is stored
// once, so the composer retries until the engine confirms.
import { STRINGS, api, ago, getLang, h, icon, loc, onLang, t, toast } from "./common.js";

const chat = {
  mode: null, // "agent" | "reader"
  me: null,
  panes: new Map(), // conversation id -> pane
  root: null,
  list: null,
};
window.__ccChat = chat; // for tests and diagnostics

function w(key, vars) {
  return t(`chat.${key}`, vars);  // this module's words (static/i18n/)
}

function newId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)),
    (b) => b.toString(16).padStart(2, "0")).join("");
}

function stylesheet() {
  if (!document.querySelector("link[href='/static/chat.css']")) {
    document.head.append(h("link", { rel: "stylesheet", href: "/static/chat.css" }));
  }
}

// ------------------------------------------------------------------ one pane

function customerName(detail) {
  const customer = detail.pop && detail.pop.customer;
  return (customer && customer.name) || w("unknown");
}

function statusText(c) {
  if (c.wrapping) return w("wrapping");
  const parts = [w(c.status)];
  if (c.medium === "web" && c.status !== "ended") parts.push(w(c.online ? "online" : "offline"));
  return parts.join(" · ");
}

function messageNode(pane, m) {
  const li = h("li", { class: `cmsg ${m.direction}`, dataset: { id: m.id } });
  const bubble = h("div", { class: "cbubble" });
  if (m.file && m.type === "image") {
    bubble.append(h("img", { src: `/api/chat/files/${m.file.id}`, alt: m.file.name,
      loading: "lazy" }));
  } else if (m.file) {
    bubble.append(h("a", { href: `/api/chat/files/${m.file.id}`, download: m.file.name },
      `📎 ${m.file.name}`));
    if (m.body && m.body !== m.file.name) bubble.append(h("div", {}, m.body));
  } else {
    bubble.textContent = m.body;
  }
  const meta = h("div", { class: "cmeta" });
  li.append(bubble, meta);
  pane.nodes.set(m.id, { li, meta, m });
  markNode(pane, pane.nodes.get(m.id));
  return li;
}

function markNode(pane, node) {
  const { m, meta } = node;
  const time = new Date(m.at * 1000).toLocaleTimeString(getLang(), { hour: "2-digit",
    minute: "2-digit" });
  if (m.direction === "in") { meta.textContent = time; return; }
  let mark = m.status === "refused" || m.status === "failed" || m.status === "pending"
    ? w(m.status) : w("sent");
  const c = pane.detail;
  if (m.status === "sent" || (c.medium === "web" && m.status !== "refused")) {
    if (m.id <= (c.visitor_read || 0)) mark = w("read");
    else if (m.id <= (c.visitor_got || 0)) mark = w("delivered");
  }
  const who = m.sender_name && m.sender !== chat.me.agent_id ? `${m.sender_name} · ` : "";
  meta.textContent = `${who}${time} · ${mark}`;
  node.li.classList.toggle("refused", m.status === "refused" || m.status === "failed");
}

function addMessage(pane, m) {
  if (pane.nodes.has(m.id)) {
    const node = pane.nodes.get(m.id);
    // A late answer to the POST must not take back a delivery the socket already told.
    const status = node.m.status && node.m.status !== "pending" ? node.m.status : m.status;
    Object.assign(node.m, m, { status });
    markNode(pane, node);
    return;
  }
  pane.list.append(messageNode(pane, m));
  pane.list.scrollTop = pane.list.scrollHeight;
  if (m.direction === "in") {
    pane.lastIn = Math.max(pane.lastIn || 0, m.id);
    readSoon(pane);
  }
}

function readSoon(pane) {
  if (chat.mode !== "agent" || document.hidden || !pane.lastIn) return;
  if (pane.lastIn <= (pane.detail.agent_read || 0)) return;
  pane.detail.agent_read = pane.lastIn;
  api("POST", `/api/chat/conversations/${pane.id}/read`, { upto: pane.lastIn }).catch(() => {});
}

function windowBanner(pane) {
  const c = pane.detail;
  const box = pane.banner;
  box.replaceChildren();
  box.hidden = !c.window;
  if (!c.window) return;
  // What to do, in the console's language (the server's English advice for a reason
  // this page does not know).
  const key = `chat.advice_${c.window.reason}`;
  const advice = STRINGS[getLang()][key];
  box.append(h("strong", {}, `${w("window")}：${w(c.window.reason)}`),
    h("p", { class: "cadvice" }, advice || c.window.advice || ""));
  if (c.callback_possible && chat.mode === "agent") {
    box.append(h("p", {}, w("advice_call")));
    box.append(h("button", { class: "ok small", dataset: { action: "callback" },
      onclick: () => callback(pane) }, icon("phone"), w("callback")));
  }
}

function suggestions(pane) {
  const box = pane.suggest;
  box.replaceChildren();
  if (pane.merge) {
    box.append(h("span", {}, w("merged")), h("button", { class: "small",
      dataset: { action: "undo" }, onclick: () => undoMerge(pane) }, w("undo")));
  }
  for (const s of pane.detail.suggestions || []) {
    box.append(h("div", { class: "suggestion" }, w("same_person"),
      h("strong", {}, s.customer.name || "—"), h("span", { class: "chip mono" }, s.because.masked),
      h("button", { class: "small", dataset: { action: "merge" },
        onclick: () => merge(pane, s.customer.id) }, w("merge"))));
  }
  box.hidden = !box.childElementCount;
}

function popCard(pane) {
  const pop = pane.detail.pop || {};
  const customer = pop.customer;
  const box = h("aside", { class: "cpop" },
    h("div", { class: "cpop-name" }, customerName(pane.detail),
      customer && customer.vip ? h("span", { class: "chip vip" }, "VIP") : null),
    h("div", { class: "cpop-ids" }, ((customer && customer.identities) || []).map((i) =>
      h("span", { class: "chip mono" }, i.masked))),
    h("h4", {}, w("history")));
  const history = pop.history || [];
  if (!history.length) box.append(h("p", { class: "muted" }, w("no_history")));
  for (const item of history.slice(0, 8)) {
    box.append(h("div", { class: "cpop-item" },
      h("div", {}, h("strong", {}, item.arrived_at ? ago(item.arrived_at) : "—"), " ",
        h("span", { class: `chip ${item.channel}` }, item.medium || item.channel), " ",
        loc(item.queue_name) || ""),
      item.summary ? h("div", { class: "muted" }, item.summary) : null,
      ...(item.last_messages || []).map((m) => h("div", { class: `mini ${m.direction}` }, m.body))));
  }
  return box;
}

function header(pane) {
  const c = pane.detail;
  pane.title.replaceChildren(
    h("span", { class: `chip ${c.medium === "wechat" ? "wechat" : "chat"}` }, icon("chat"),
      w(c.medium)),
    h("strong", {}, customerName(c)),
    h("span", { class: "muted" }, loc(c.queue_name) || c.queue),
    h("span", { class: "cstatus" }, statusText(c)));
  const live = c.status === "active" && !c.wrapping;
  for (const node of pane.actions.querySelectorAll("button, select")) node.disabled = !live;
  pane.composer.hidden = !(live && (chat.mode === "agent" || pane.joined));
}

function transferSelect(pane) {
  const t = pane.detail.transfer || { queues: [], agents: [] };
  const select = h("select", { "aria-label": w("transfer"), dataset: { action: "transfer" } },
    h("option", { value: "" }, w("transfer")),
    h("optgroup", { label: w("to_queue") }, t.queues.map((q) =>
      h("option", { value: `queue:${q.id}` }, loc(q.name) || q.id))),
    h("optgroup", { label: w("to_agent") }, t.agents.map((a) =>
      h("option", { value: `agent:${a.id}` }, typeof a.name === "string" ? a.name : a.id))));
  select.addEventListener("change", async () => {
    const [kind, id] = select.value.split(":");
    select.value = "";
    if (!id) return;
    try {
      await api("POST", `/api/chat/conversations/${pane.id}/transfer`,
        kind === "queue" ? { queue: id } : { agent_id: id });
    } catch (exc) { toast(exc.message, "error"); }
  });
  return select;
}

function makePane(detail) {
  const pane = { id: detail.id, detail, nodes: new Map(), outbox: [], joined: false };
  pane.title = h("div", { class: "ctitle" });
  pane.actions = h("div", { class: "cactions" });
  if (chat.mode === "agent") {
    pane.actions.append(transferSelect(pane),
      h("button", { class: "danger small", dataset: { action: "end" },
        onclick: () => endChat(pane) }, w("end")));
  } else {
    pane.actions.append(
      h("button", { class: "small", dataset: { action: "join" }, onclick: () => join(pane) },
        w("join")),
      h("button", { class: "small", dataset: { action: "close" },
        onclick: () => removePane(pane.id) }, w("close")));
  }
  pane.banner = h("div", { class: "cwindow", hidden: true });
  pane.suggest = h("div", { class: "csuggest", hidden: true });
  pane.list = h("ol", { class: "cmessages" });
  pane.typing = h("div", { class: "ctyping", hidden: true });
  pane.text = h("textarea", { rows: "2", placeholder: "…", maxlength: "2000" });
  pane.text.addEventListener("input", () => typing(pane));
  pane.text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(pane);
    }
  });
  const file = h("input", { type: "file", accept: "image/*", hidden: true });
  file.addEventListener("change", () => sendImage(pane, file));
  pane.canned = h("div", { class: "ccanned" }, (detail.canned || []).map((r) =>
    h("button", { type: "button", class: "small", onclick: () => {
      pane.text.value = loc(r);
      pane.text.focus();
    } }, loc(r))));
  pane.composer = h("div", { class: "ccomposer" }, pane.canned,
    h("div", { class: "row" }, pane.text,
      h("label", { class: "small cattach", title: w("image") }, icon("upload"), file),
      h("button", { class: "primary", dataset: { action: "send" }, onclick: () => send(pane) },
        w("send"))));
  pane.pop = popCard(pane);
  pane.node = h("article", { class: "cpane", dataset: { conversation: detail.id,
    taskId: detail.task_id || "" } },
  h("header", {}, pane.title, h("span", { class: "spacer" }), pane.actions),
  pane.banner, pane.suggest,
  h("div", { class: "cbody" }, h("div", { class: "cmain" }, pane.list, pane.typing,
    pane.composer), pane.pop));
  for (const m of detail.messages) addMessage(pane, m);
  header(pane);
  windowBanner(pane);
  suggestions(pane);
  return pane;
}

function showPane(detail) {
  const old = chat.panes.get(detail.id);
  if (old) {
    old.detail = { ...old.detail, ...detail };
    for (const m of detail.messages || []) addMessage(old, m);
    if (detail.pop) { // the customer may have changed (a merge, its undo)
      const pop = popCard(old);
      old.pop.replaceWith(pop);
      old.pop = pop;
    }
    header(old);
    windowBanner(old);
    suggestions(old);
    return old;
  }
  const pane = makePane(detail);
  chat.panes.set(detail.id, pane);
  chat.list.append(pane.node);
  renderCount();
  return pane;
}

function removePane(id) {
  const pane = chat.panes.get(id);
  if (!pane) return;
  pane.node.remove();
  chat.panes.delete(id);
  renderCount();
}

function renderCount() {
  if (!chat.root) return;
  chat.root.querySelector(".ccount").textContent = String(chat.panes.size);
  chat.empty.hidden = chat.panes.size > 0;
  if (chat.mode === "reader") chat.root.hidden = chat.panes.size === 0;
}

// ------------------------------------------------------------------ actions

async function send(pane) {
  const text = pane.text.value.trim();
  if (!text) return;
  pane.text.value = "";
  const item = { text, client_id: newId() };
  pane.outbox.push(item);
  await flush(pane);
}

async function flush(pane) {
  while (pane.outbox.length) {
    const item = pane.outbox[0];
    try {
      const m = await api("POST", `/api/chat/conversations/${pane.id}/messages`, item);
      pane.outbox.shift();
      addMessage(pane, m);
    } catch (exc) {
      if (exc.status && exc.status < 500) { pane.outbox.shift(); toast(exc.message, "error"); }
      else return; // the engine is away: sent again (same id) once the socket is back
    }
  }
}

async function sendImage(pane, input) {
  const file = input.files && input.files[0];
  input.value = "";
  if (!file) return;
  const response = await fetch(`/api/chat/conversations/${pane.id}/files`, {
    method: "POST", body: file, credentials: "same-origin",
    headers: { "Content-Type": file.type || "application/octet-stream",
      "X-File-Name": encodeURIComponent(file.name) },
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) toast(data.message || String(response.status), "error");
  else addMessage(pane, data);
}

function typing(pane) {
  const now = Date.now();
  if (now - (pane.typingSent || 0) < 2500) return;
  pane.typingSent = now;
  api("POST", `/api/chat/conversations/${pane.id}/typing`, { on: true }).catch(() => {});
}

async function endChat(pane) {
  if (!window.confirm(w("end_confirm"))) return;
  try { await api("POST", `/api/chat/conversations/${pane.id}/end`); } catch (exc) {
    toast(exc.message, "error");
  }
}

async function callback(pane) {
  try {
    const queued = await api("POST", `/api/chat/conversations/${pane.id}/callback`);
    toast(w("callback_ok", { n: queued.number }), "ok");
  } catch (exc) { toast(exc.message, "error"); }
}

async function merge(pane, customerId) {
  try {
    pane.merge = await api("POST", `/api/chat/conversations/${pane.id}/merge`,
      { customer_id: customerId });
    showPane(await api("GET", `/api/chat/conversations/${pane.id}`));
  } catch (exc) { toast(exc.message, "error"); }
}

async function undoMerge(pane) {
  try {
    await api("POST", `/api/chat/merges/${pane.merge.merge_id}/undo`);
    pane.merge = null;
    showPane(await api("GET", `/api/chat/conversations/${pane.id}`));
  } catch (exc) { toast(exc.message, "error"); }
}

async function join(pane) {
  try {
    await api("POST", `/api/chat/conversations/${pane.id}/join`);
    pane.joined = true;
    header(pane);
  } catch (exc) { toast(exc.message, "error"); }
}

// ------------------------------------------------------------------ live

async function refresh() {
  if (chat.mode !== "agent") return;
  try {
    const mine = await api("GET", "/api/chat/conversations");
    const live = new Set(mine.map((c) => c.id));
    for (const id of [...chat.panes.keys()]) if (!live.has(id)) removePane(id);
    for (const detail of mine) flush(showPane(detail));
  } catch { /* logged out: the page shows the login */ }
}

async function openConversation(id) {
  try { showPane(await api("GET", `/api/chat/conversations/${id}`)); } catch (exc) {
    toast(exc.message, "error");
  }
}

export function onLive(msg) {
  if (!chat.mode || !chat.me) return; // before mounting ends: its refresh() catches up
  const data = msg.data || {};
  if (msg.topic === "hello") { refresh(); return; }
  const pane = chat.panes.get(data.conversation_id);
  switch (msg.topic) {
    case "chat.conversation": {
      const c = data.conversation;
      if (c.released || (chat.mode === "agent" && c.agent_id !== chat.me.agent_id)) {
        if (chat.mode === "agent") removePane(c.id);
        else if (pane) { pane.detail = { ...pane.detail, ...c }; header(pane); }
      } else if (pane) {
        pane.detail = { ...pane.detail, ...c };
        header(pane);
        windowBanner(pane);
      } else if (chat.mode === "agent" && c.status === "active") {
        openConversation(c.id);
      }
      break;
    }
    case "chat.message":
      if (pane) addMessage(pane, data.message);
      break;
    case "chat.typing":
      if (data.who === chat.me.agent_id || data.who === chat.me.username) break; // my own
      if (pane && data.on) {
        pane.typing.hidden = false;
        pane.typing.textContent = data.who === "visitor" ? w("typing")
          : w("typing_staff", { who: data.name || data.who });
        clearTimeout(pane.typingTimer);
        pane.typingTimer = setTimeout(() => { pane.typing.hidden = true; }, 5000);
      } else if (pane) pane.typing.hidden = true;
      break;
    case "chat.read":
      if (pane) {
        if (data.kind === "read") pane.detail.visitor_read = Math.max(pane.detail.visitor_read, data.upto);
        pane.detail.visitor_got = Math.max(pane.detail.visitor_got, data.upto);
        for (const node of pane.nodes.values()) markNode(pane, node);
      }
      break;
    case "chat.delivery": {
      const node = pane && pane.nodes.get(data.message_id);
      if (node) { node.m.status = data.status; node.m.error = data.error; markNode(pane, node); }
      break;
    }
    default:
      break;
  }
}

function frameBox(title) {
  stylesheet();
  chat.root = h("section", { class: "card chats", id: "chats" },
    h("header", {}, h("h2", {}, title, " ", h("span", { class: "chip ccount" }, "0"))));
  chat.empty = h("div", { class: "empty cempty" }, icon("chat"), h("span", {}, w("none")));
  chat.list = h("div", { class: "cpanes" });
  chat.root.append(h("div", { class: "body" }, chat.empty, chat.list));
  return chat.root;
}

export async function mountAgentChat() {
  chat.mode = "agent";
  chat.me = await api("GET", "/api/me");
  const box = frameBox(w("chats"));
  const column = document.querySelector(".agent-grid > section.stack");
  column.prepend(box);
  document.addEventListener("visibilitychange", () => {
    for (const pane of chat.panes.values()) readSoon(pane);
  });
  onLang(() => { for (const pane of chat.panes.values()) header(pane); });
  await refresh();
}

export async function mountWallboardChat() {
  chat.mode = "reader";
  chat.me = await api("GET", "/api/me");
  const box = frameBox(w("reader"));
  box.classList.add("reader");
  box.hidden = true;
  document.querySelector("main").append(box);
  document.addEventListener("click", (event) => {
    const chip = event.target.closest(".chip[data-task-id]");
    if (chip && chip.dataset.channel === "chat") openConversation(chip.dataset.taskId);
  });
}
