// The chat widget's page (framed by the site; see /chat/widget.js).
//
// What survives a network drop or a page reload lives in localStorage: the
// conversation, its token, the last message id seen, and the outbox of messages not
// yet acknowledged. After a reconnect the socket sends everything after that id and
// the outbox is sent again, in order; the server stores a message once per id, so
// each one arrives exactly once, in order.

const STRINGS = {
  zh: {
    title: "在线咨询", subtitle_wait: "正在为您接通客服…", subtitle_agent: "{name} 为您服务",
    subtitle_message: "留言", subtitle_ended: "会话已结束", intro: "您好！请告诉我们您想咨询什么。",
    topic: "咨询类型", later: "（留言）", name: "您的称呼", phone: "手机号码", email: "电子邮箱",
    first: "您的问题（可选）", start: "开始咨询", send: "发送", typing: "客服正在输入…",
    contact: "请留下手机号码或电子邮箱", ended: "本次会话已结束，感谢您的咨询。",
    rate: "请为本次服务评分：", rate_send: "提交评价", rated: "感谢您的评价！",
    transcript: "下载聊天记录", new_chat: "新的咨询", end: "结束会话",
    end_confirm: "确定结束本次会话吗？", delivered: "已送达", read: "已读", sending: "发送中",
    message_mode: "现在没有客服在线，请留言，我们会尽快回复您。",
    joined: "{name} 加入了会话", agent_joined: "客服 {name} 已接入", transferred: "正在为您转接…",
    rate_limited: "您发送得太快了，请稍候再试。", too_long: "消息太长了。",
    too_large: "文件太大了。", bad_type: "不支持这种文件。", offline: "网络已断开，正在重新连接…",
    file: "文件", language: "EN", mail: "发送到邮箱 {to}", mailed: "已发送到 {to}",
  },
  en: {
    title: "Chat with us", subtitle_wait: "Connecting you to an agent…",
    subtitle_agent: "{name} is helping you", subtitle_message: "Leave a message",
    subtitle_ended: "Chat ended", intro: "Hello! What can we help you with?",
    topic: "Topic", later: " (message)", name: "Your name", phone: "Phone number",
    email: "E-mail", first: "Your question (optional)", start: "Start chat", send: "Send",
    typing: "The agent is typing…", contact: "Please give a phone number or an e-mail address",
    ended: "This chat has ended. Thank you!", rate: "How did we do?", rate_send: "Send rating",
    rated: "Thank you for your rating!", transcript: "Download transcript", new_chat: "New chat",
    end: "End chat", end_confirm: "End this chat?", delivered: "Delivered", read: "Read",
    sending: "Sending",
    message_mode: "Nobody is online right now. Leave a message and we will answer soon.",
    joined: "{name} joined the chat", agent_joined: "{name} joined", transferred: "Transferring…",
    rate_limited: "You are sending too fast; please wait a moment.",
    too_long: "That message is too long.", too_large: "That file is too large.",
    bad_type: "That kind of file cannot be sent.", offline: "Offline: reconnecting…",
    file: "File", language: "中文", mail: "E-mail it to {to}", mailed: "Sent to {to}",
  },
};

const KEY = "cc.chat.v1";
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
// Framed by a company's site, this page's own storage is third-party (browsers partition
// or block it), so the site's page keeps the chat's state for it: /chat/widget.js stores
// what this page sends and gives it back when the page loads again.
const embedded = window.parent !== window;
const parentOrigin = (location.ancestorOrigins && location.ancestorOrigins[0]) || "*";

function loadLocal() {
  try { return JSON.parse(localStorage.getItem(KEY)); } catch { return null; }
}

function loadFromParent() {
  return new Promise((resolve) => {
    if (!embedded) { resolve(null); return; }
    const timer = setTimeout(() => resolve(null), 1000);
    window.addEventListener("message", function answer(event) {
      if (event.source !== window.parent || !event.data || event.data.type !== "cc-chat-state") {
        return;
      }
      window.removeEventListener("message", answer);
      clearTimeout(timer);
      resolve(event.data.state || null);
    });
    window.parent.postMessage({ type: "cc-chat", action: "load" }, parentOrigin);
  });
}

const saved = (await loadFromParent()) || loadLocal() || {};
const state = {
  conversation: saved.conversation || null,
  token: saved.token || null,
  visitor: saved.visitor || null,
  since: saved.since || 0,
  outbox: saved.outbox || [],
  lang: saved.lang || params.get("lang") ||
    ((navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en"),
  status: null,
  agent: null,
  agentRead: 0,
  lastAgent: 0,
  shown: new Map(), // mid or cid -> li
  socket: null,
  retry: 500,
  typingSent: 0,
  typingTimer: null,
  agentTyping: null,
  unread: 0,
  config: null,
  score: 0,
  mailTo: null,
};
window.__ccWidget = state; // for tests and diagnostics

function save() {
  const { conversation, token, visitor, since, outbox, lang } = state;
  const data = { conversation, token, visitor, since, outbox, lang };
  if (embedded) window.parent.postMessage({ type: "cc-chat", action: "save", state: data }, parentOrigin);
  try { localStorage.setItem(KEY, JSON.stringify(data)); } catch { /* blocked: the site keeps it */ }
}

function t(key, vars) {
  let text = (STRINGS[state.lang] || STRINGS.zh)[key] || STRINGS.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) text = text.replace(`{${k}}`, v);
  return text;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text != null) node.textContent = text;
  return node;
}

function applyStrings() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  $("lang").textContent = t("language");
  $("text").placeholder = "…";
  renderHeader();
}

function renderHeader() {
  $("title").textContent = t("title");
  let sub = "";
  if (state.status === "active") sub = t("subtitle_agent", { name: state.agent || "" });
  else if (state.status === "queued") sub = t("subtitle_wait");
  else if (state.status === "message") sub = t("subtitle_message");
  else if (state.status === "ended") sub = t("subtitle_ended");
  $("subtitle").textContent = sub;
  const notice = $("notice");
  notice.hidden = state.status !== "message";
  notice.textContent = state.status === "message" ? t("message_mode") : "";
}

function tellParent(action, extra) {
  if (window.parent !== window) window.parent.postMessage({ type: "cc-chat", action, ...extra }, "*");
}

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ------------------------------------------------------------------ pre-chat form

async function showForm() {
  $("prechat").hidden = false;
  $("talk").hidden = true;
  state.status = null;
  renderHeader();
  const response = await fetch("/api/widget/config");
  if (!response.ok) { $("form-error").textContent = "—"; return; }
  state.config = await response.json();
  const box = $("topics");
  for (const old of box.querySelectorAll("label")) old.remove();
  const wanted = params.get("topic");
  state.config.topics.forEach((topic, i) => {
    const label = el("label", topic.live ? "" : "later");
    const input = el("input");
    input.type = "radio"; input.name = "topic"; input.value = topic.id;
    input.checked = wanted ? topic.id === wanted : i === 0;
    label.append(input, (topic.label[state.lang] || topic.label.zh || topic.label.en)
      + (topic.live ? "" : t("later")));
    box.append(label);
  });
}

async function start(event) {
  event.preventDefault();
  const form = $("prechat");
  const data = new FormData(form);
  const body = {
    topic: data.get("topic"), name: (data.get("name") || "").trim(), language: state.lang,
    phone: (data.get("phone") || "").trim() || null, email: (data.get("email") || "").trim() || null,
    message: (data.get("message") || "").trim() || null, visitor: state.visitor,
  };
  if (state.config && state.config.require_contact && !body.phone && !body.email) {
    $("form-error").textContent = t("contact");
    return;
  }
  form.querySelector("button[type=submit]").disabled = true;
  try {
    const response = await fetch("/api/widget/conversations", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) {
      const detail = answer.details && answer.details[0];
      $("form-error").textContent = detail ? `${detail.loc.slice(-1)[0]}: ${detail.msg}` : answer.message;
      return;
    }
    Object.assign(state, { conversation: answer.conversation_id, token: answer.token,
      visitor: answer.visitor, since: 0, outbox: [], status: answer.status });
    save();
    form.reset();
    openTalk();
  } finally {
    form.querySelector("button[type=submit]").disabled = false;
  }
}

// ------------------------------------------------------------------ the conversation

function openTalk() {
  state.since = 0; // a page (re)load shows the whole conversation; reconnects resume
  $("prechat").hidden = true;
  $("talk").hidden = false;
  $("messages").replaceChildren();
  state.shown.clear();
  $("done").hidden = true;
  for (const item of state.outbox) addMessage({ from: "visitor", text: item.text, cid: item.id,
    pending: true, at: item.at });
  connect();
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/api/widget/ws");
  state.socket = socket;
  socket.onopen = () => {
    socket.send(JSON.stringify({ t: "auth", conversation: state.conversation,
      token: state.token, since: state.since }));
  };
  socket.onmessage = (event) => onFrame(JSON.parse(event.data));
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (event.code === 4004 || event.code === 4001) { forget(); return; }
    if (event.code === 1000 && state.status === "ended") return;
    $("notice").hidden = false;
    $("notice").textContent = t("offline");
    setTimeout(() => { if (!state.socket && state.conversation) connect(); }, state.retry);
    state.retry = Math.min(state.retry * 2, 8000);
  };
}

function forget() {
  Object.assign(state, { conversation: null, token: null, since: 0, outbox: [], status: null });
  save();
  showForm();
}

function onFrame(frame) {
  switch (frame.t) {
    case "hello": {
      state.retry = 500;
      const c = frame.conversation;
      setStatus(c.status, c.agent);
      state.agentRead = c.agent_read || 0;
      $("attach-label").hidden = !c.uploads;
      state.mailTo = c.mail_to || null; // where the transcript may be e-mailed (masked)
      $("mail").hidden = !state.mailTo;
      $("mail").textContent = state.mailTo ? t("mail", { to: state.mailTo }) : "";
      $("text").maxLength = c.max_message_chars || 2000;
      for (const m of frame.messages) receive(m, false);
      if (c.rated) $("rating").replaceChildren(el("p", "", t("rated")));
      flushOutbox();
      markRead();
      break;
    }
    case "msg": receive(frame, true); break;
    case "ack": acked(frame); break;
    case "typing":
      $("typing").hidden = !frame.on;
      clearTimeout(state.agentTyping);
      if (frame.on) state.agentTyping = setTimeout(() => { $("typing").hidden = true; }, 6000);
      break;
    case "read":
      state.agentRead = Math.max(state.agentRead, frame.upto);
      refreshMarks();
      break;
    case "status":
      if (frame.joined) note(t("joined", { name: frame.joined }));
      else if (frame.status === "active" && frame.agent) note(t("agent_joined", { name: frame.agent }));
      else if (frame.reason === "transferred") note(t("transferred"));
      setStatus(frame.status, frame.agent || state.agent);
      break;
    case "error": failed(frame); break;
    default: break;
  }
}

function setStatus(status, agent) {
  state.status = status;
  if (agent) state.agent = agent;
  renderHeader();
  const ended = status === "ended";
  $("done").hidden = !ended;
  $("composer").hidden = ended;
  $("end").hidden = ended;
  if (ended) { state.outbox = []; save(); }
}

function note(text) {
  $("messages").append(el("li", "note", text));
  scrollDown();
}

function receive(m, live) {
  const key = m.from === "visitor" && m.cid ? `c:${m.cid}` : `m:${m.mid}`;
  const existing = state.shown.get(key) || state.shown.get(`m:${m.mid}`);
  if (m.from === "visitor" && m.cid) {
    state.outbox = state.outbox.filter((o) => o.id !== m.cid); // stored: no need to resend
  }
  if (existing) { existing.classList.remove("pending"); existing.dataset.mid = m.mid; }
  else addMessage(m);
  state.since = Math.max(state.since, m.mid);
  if (m.from === "agent") {
    state.lastAgent = Math.max(state.lastAgent, m.mid);
    $("typing").hidden = true;
    send({ t: "got", upto: m.mid });
    if (live && document.hidden) { state.unread += 1; tellParent("unread", { count: state.unread }); }
  }
  save();
  if (live) markRead();
  refreshMarks();
}

function addMessage(m) {
  const li = el("li", `msg ${m.from}${m.pending ? " pending" : ""}`);
  if (m.mid) li.dataset.mid = m.mid;
  if (m.cid) li.dataset.cid = m.cid;
  const bubble = el("div", "bubble");
  if (m.file) bubble.append(fileView(m.file, m.type === "image"));
  else bubble.textContent = m.text;
  li.append(bubble, el("div", "meta", m.from === "agent" && m.name ? m.name : ""));
  $("messages").append(li);
  if (m.cid) state.shown.set(`c:${m.cid}`, li);
  if (m.mid) state.shown.set(`m:${m.mid}`, li);
  scrollDown();
  return li;
}

function fileView(file, image) {
  const link = el("a", "file", image ? "" : `${t("file")}: ${file.name}`);
  link.href = "#";
  const url = `/api/widget/conversations/${state.conversation}/files/${file.id}`;
  fetch(url, { headers: { Authorization: `Bearer ${state.token}` } })
    .then((r) => (r.ok ? r.blob() : null))
    .then((blob) => {
      if (!blob) return;
      const objectUrl = URL.createObjectURL(blob);
      link.href = objectUrl;
      link.download = file.name;
      if (image) {
        const img = el("img");
        img.alt = file.name;
        img.src = objectUrl;
        link.append(img);
        scrollDown();
      }
    });
  return link;
}

function refreshMarks() {
  for (const li of $("messages").querySelectorAll(".msg.visitor")) {
    const meta = li.querySelector(".meta");
    const mid = Number(li.dataset.mid || 0);
    meta.textContent = !mid ? t("sending") : mid <= state.agentRead ? t("read") : t("delivered");
  }
}

function scrollDown() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

function send(frame) {
  if (state.socket && state.socket.readyState === 1) {
    state.socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

function flushOutbox() {
  for (const item of state.outbox) send({ t: "msg", id: item.id, text: item.text });
}

function acked(frame) {
  state.outbox = state.outbox.filter((o) => o.id !== frame.id);
  const li = state.shown.get(`c:${frame.id}`);
  if (li) {
    li.classList.remove("pending", "failed");
    li.dataset.mid = frame.mid;
    state.shown.set(`m:${frame.mid}`, li);
  }
  state.since = Math.max(state.since, frame.mid);
  save();
  refreshMarks();
}

function failed(frame) {
  const li = frame.id && state.shown.get(`c:${frame.id}`);
  if (frame.code === "rate_limited" && frame.id) {
    setTimeout(() => {
      const item = state.outbox.find((o) => o.id === frame.id);
      if (item) send({ t: "msg", id: item.id, text: item.text });
    }, 3000);
    note(t("rate_limited"));
    return;
  }
  if (li) li.classList.add("failed");
  state.outbox = state.outbox.filter((o) => o.id !== frame.id);
  save();
  if (frame.code === "too_long") note(t("too_long"));
}

function submitText(event) {
  event.preventDefault();
  const box = $("text");
  const text = box.value.trim();
  if (!text) return;
  const item = { id: newId(), text, at: Date.now() / 1000 };
  state.outbox.push(item);
  save(); // before sending: a reload now still delivers it
  addMessage({ from: "visitor", text, cid: item.id, pending: true });
  send({ t: "msg", id: item.id, text });
  box.value = "";
  stopTyping();
  refreshMarks();
}

function typing() {
  const now = Date.now();
  if (now - state.typingSent > 2000) { state.typingSent = now; send({ t: "typing", on: true }); }
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(stopTyping, 4000);
}

function stopTyping() {
  clearTimeout(state.typingTimer);
  if (state.typingSent) { state.typingSent = 0; send({ t: "typing", on: false }); }
}

function markRead() {
  if (document.hidden || !state.lastAgent) return;
  send({ t: "read", upto: state.lastAgent });
  state.unread = 0;
}

async function upload() {
  const input = $("attach");
  const file = input.files && input.files[0];
  input.value = "";
  if (!file) return;
  const response = await fetch(`/api/widget/conversations/${state.conversation}/files`, {
    method: "POST", body: file,
    headers: { Authorization: `Bearer ${state.token}`, "Content-Type": file.type || "application/octet-stream",
      "X-File-Name": encodeURIComponent(file.name), "X-Client-Id": newId() },
  });
  if (response.ok) { receive({ ...(await response.json()), from: "visitor" }, false); return; }
  note(response.status === 413 ? t("too_large") : response.status === 415 ? t("bad_type")
    : (await response.json()).message);
}

async function transcript() {
  const response = await fetch(`/api/widget/conversations/${state.conversation}/transcript`,
    { headers: { Authorization: `Bearer ${state.token}` } });
  if (!response.ok) return;
  const url = URL.createObjectURL(await response.blob());
  const a = el("a");
  a.href = url;
  a.download = "chat-transcript.txt";
  document.body.append(a);
  a.click();
  a.remove();
}

async function mailTranscript() {
  const button = $("mail");
  button.disabled = true;
  const response = await fetch(
    `/api/widget/conversations/${state.conversation}/transcript/email`,
    { method: "POST", headers: { Authorization: `Bearer ${state.token}` } });
  const answer = await response.json().catch(() => ({}));
  if (response.ok) { button.textContent = t("mailed", { to: answer.to }); return; }
  button.disabled = false;
  note(answer.message || String(response.status));
}

async function endChat() {
  if (!window.confirm(t("end_confirm"))) return;
  await fetch(`/api/widget/conversations/${state.conversation}/end`,
    { method: "POST", headers: { Authorization: `Bearer ${state.token}` } });
}

function stars() {
  const box = $("stars");
  for (let i = 1; i <= 5; i += 1) {
    const star = el("button", "", "★");
    star.type = "button";
    star.dataset.score = i;
    star.addEventListener("click", () => {
      state.score = i;
      for (const s of box.children) s.classList.toggle("on", Number(s.dataset.score) <= i);
    });
    box.append(star);
  }
}

async function rate() {
  if (!state.score) return;
  const response = await fetch(`/api/widget/conversations/${state.conversation}/rating`, {
    method: "POST",
    headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ score: state.score, comment: $("rating-comment").value.trim() || null }),
  });
  if (response.ok || response.status === 409) $("rating").replaceChildren(el("p", "", t("rated")));
}

// ------------------------------------------------------------------ wiring

$("prechat").addEventListener("submit", start);
$("composer").addEventListener("submit", submitText);
$("text").addEventListener("input", typing);
$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submitText(event);
});
$("attach").addEventListener("change", upload);
$("transcript").addEventListener("click", transcript);
$("transcript2").addEventListener("click", transcript);
$("mail").addEventListener("click", mailTranscript);
$("end").addEventListener("click", endChat);
$("rate-send").addEventListener("click", rate);
$("new-chat").addEventListener("click", () => { if (state.socket) state.socket.close(); forget(); });
$("minimize").addEventListener("click", () => tellParent("minimize"));
$("lang").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  save();
  applyStrings();
  if (!$("prechat").hidden) showForm();
  refreshMarks();
});
document.addEventListener("visibilitychange", markRead);
setInterval(() => send({ t: "ping" }), 25000);
stars();
applyStrings();
if (state.conversation && state.token) openTalk(); else showForm();
