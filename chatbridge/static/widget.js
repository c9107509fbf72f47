/* The chat widget's one script tag, for any web site:
 *
 *   <script src="https://cc.example.com/chat/widget.js" async
 *           data-lang="zh" data-topic="buy"></script>
 *
 * It adds a chat button and, once clicked, the chat itself: a frame of the engine's own
 * page (/chat/widget), so the site's scripts and styles never touch the chat and the
 * chat's never touch the site. The engine decides which sites may frame it
 * (chat.web.allowed_origins). No build step, no CDN, nothing else to load.
 */
(function () {
  "use strict";
  if (window.__ccChatWidget) return;
  window.__ccChatWidget = true;
  var script = document.currentScript;
  var base = new URL(script ? script.src : "/chat/widget.js", location.href).origin;
  var lang = (script && script.dataset.lang) ||
    ((navigator.language || "").toLowerCase().indexOf("zh") === 0 ? "zh" : "en");
  var params = new URLSearchParams({ lang: lang });
  if (script && script.dataset.topic) params.set("topic", script.dataset.topic);
  var label = lang === "zh" ? "在线咨询" : "Chat with us";

  var host = document.createElement("div");
  host.id = "cc-chat-widget";
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    ".button{position:fixed;right:20px;bottom:20px;z-index:2147483646;border:0;" +
    "border-radius:28px;padding:14px 20px;background:#1f6feb;color:#fff;" +
    "font:600 15px/1 system-ui,sans-serif;box-shadow:0 6px 20px rgba(0,0,0,.25);" +
    "cursor:pointer}" +
    ".button .badge{display:none;margin-left:8px;background:#e5534b;border-radius:10px;" +
    "padding:2px 7px;font-size:12px}" +
    ".button.unread .badge{display:inline-block}" +
    ".frame{position:fixed;right:20px;bottom:84px;z-index:2147483647;width:370px;" +
    "height:560px;max-width:calc(100vw - 40px);max-height:calc(100vh - 110px);border:0;" +
    "border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.3);background:#fff;display:none}" +
    ".frame.open{display:block}" +
    "</style>" +
    "<button class='button' type='button' part='button'><span class='text'></span>" +
    "<span class='badge'></span></button>";
  var button = root.querySelector(".button");
  button.querySelector(".text").textContent = label;
  var frame = null;

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.className = "frame";
      frame.id = "cc-chat-frame";
      frame.title = label;
      frame.allow = "clipboard-write";
      frame.src = base + "/chat/widget?" + params.toString();
      root.appendChild(frame);
    }
    frame.classList.add("open");
    button.classList.remove("unread");
  }

  function toggle() {
    if (frame && frame.classList.contains("open")) frame.classList.remove("open");
    else open();
  }

  button.addEventListener("click", toggle);
  var key = "cc.chat.v1@" + base;
  window.addEventListener("message", function (event) {
    if (event.origin !== base || !event.data || event.data.type !== "cc-chat") return;
    if (!frame || event.source !== frame.contentWindow) return;
    // The chat's own storage is third-party here: this (first-party) page keeps it.
    if (event.data.action === "save") {
      try { localStorage.setItem(key, JSON.stringify(event.data.state)); } catch (e) { /* */ }
    }
    if (event.data.action === "load") {
      var state = null;
      try { state = JSON.parse(localStorage.getItem(key)); } catch (e) { state = null; }
      event.source.postMessage({ type: "cc-chat-state", state: state }, base);
    }
    if (event.data.action === "minimize" && frame) frame.classList.remove("open");
    if (event.data.action === "unread" && !(frame && frame.classList.contains("open"))) {
      button.classList.add("unread");
      button.querySelector(".badge").textContent = String(event.data.count || 1);
    }
  });
  // A chat in progress (this browser) reopens itself after a page reload.
  try {
    if (sessionStorage.getItem("cc.chat.open") === "1") open();
  } catch (e) { /* storage blocked: the button still works */ }
  button.addEventListener("click", function () {
    try {
      sessionStorage.setItem("cc.chat.open", frame && frame.classList.contains("open") ? "1" : "0");
    } catch (e) { /* ignore */ }
  });

  if (document.body) document.body.appendChild(host);
  else document.addEventListener("DOMContentLoaded", function () { document.body.appendChild(host); });
})();
