// The browser phone: an agent with no softphone answers in the console itself (WebRTC).
// JsSIP (npm, served by the engine as /vendor/jssip.js) registers the agent's browser
// endpoint (<extension>-web) over SIP over WebSocket to Asterisk with their SIP password;
// the engine rings it like a desk phone when the agent signs in with it. The page rings,
// the agent answers from the offer's card, and the call's controls (hold, transfer, hang
// up...) act on the same call through the engine, as for a desk phone.
//
// agent.js starts it (startPhone) when the agent signs in with the browser device, stops
// it on sign-out, and re-renders on the "cc:phone" event; answerCall() answers.
import { h, socketUrl, t } from "./common.js";

const phone = {
  state: "off", // off | connecting | registered | ringing | talking | failed
  why: "",
  device: null, // the device signed in with (<extension>-web)
  mic: "", // chosen microphone (deviceId); "": the system's default
  ua: null,
  session: null,
  audio: null, // plays what the caller says
};
window.__ccPhone = phone; // for tests and diagnostics (phone.ringing(): the ring sounds)

export function phoneState() { return phone; }

function changed(state, why = "") {
  phone.state = state;
  phone.why = why;
  if (state === "ringing") ringer.start(); else ringer.stop();
  document.dispatchEvent(new CustomEvent("cc:phone", { detail: state }));
}

// ------------------------------------------------------------------ ringing sound

// 450 Hz, one second on and four off (the Chinese ring-back cadence), made by Web Audio:
// no sound file to serve. The context is made on the sign-in click (browsers let a page
// play sound only after a gesture).
const ringer = {
  context: null, timer: null, playing: false,
  prepare() {
    if (!this.context && window.AudioContext) this.context = new AudioContext();
    if (this.context && this.context.state === "suspended") this.context.resume();
  },
  beep() {
    const ctx = this.context;
    if (!ctx) return;
    const tone = ctx.createOscillator();
    const gain = ctx.createGain();
    tone.frequency.value = 450;
    gain.gain.value = 0.2;
    tone.connect(gain).connect(ctx.destination);
    tone.start();
    tone.stop(ctx.currentTime + 1);
  },
  start() {
    if (this.playing) return;
    this.playing = true;
    this.beep();
    this.timer = setInterval(() => this.beep(), 5000);
  },
  stop() {
    this.playing = false;
    clearInterval(this.timer);
    this.timer = null;
  },
};

phone.ringing = () => ringer.playing;

// ------------------------------------------------------------------ registration

/** Register the browser phone: ``settings`` is the console's softphone.browser. */
export async function startPhone(settings, password) {
  ringer.prepare();
  // Started already (or starting: a reload and the live link's refresh both ask)?
  if (phone.device === settings.device && !["off", "failed"].includes(phone.state)) return;
  stopPhone();
  if (!window.isSecureContext || !navigator.mediaDevices) {
    changed("failed", t("browser.no_media"));
    return;
  }
  phone.device = settings.device;
  changed("connecting");
  let JsSIP;
  try {
    JsSIP = (await import("/vendor/jssip.js")).default;
  } catch (exc) {
    changed("failed", String(exc.message || exc));
    return;
  }
  if (phone.device !== settings.device || phone.ua) return; // stopped meanwhile
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(socketUrl(settings.websocket))],
    uri: `sip:${settings.username}@${settings.domain}`,
    authorization_user: settings.username,
    password,
    register: true,
    session_timers: false,
    user_agent: "callcenter-console",
  });
  phone.ua = ua;
  ua.on("registered", () => { if (phone.ua === ua && !phone.session) changed("registered"); });
  ua.on("unregistered", () => { if (phone.ua === ua) changed("connecting"); });
  ua.on("registrationFailed", (e) => { if (phone.ua === ua) changed("failed", e.cause); });
  ua.on("newRTCSession", (e) => {
    if (phone.ua === ua) incoming(e.session, e.request);
    else e.session.terminate();
  });
  ua.start();
}

// Leaving the page (reload, close) hangs up and unregisters at once; a page that dies
// without this is cut by Asterisk after 10 s without media (pjsip.conf's cc-webrtc).
window.addEventListener("pagehide", () => stopPhone());

export function stopPhone() {
  const ua = phone.ua;
  phone.ua = null;
  phone.device = null;
  if (phone.session) phone.session.terminate();
  phone.session = null;
  if (ua) ua.stop(); // unregisters
  changed("off");
}

// ------------------------------------------------------------------ calls

function incoming(session, request) {
  if (session.direction !== "incoming") return;
  if (phone.session) { // one call at a time: the engine never offers a second
    session.terminate({ status_code: 486 });
    return;
  }
  phone.session = session;
  const attach = (pc) => pc.addEventListener("track", (event) => {
    if (!phone.audio) {
      phone.audio = h("audio", { autoplay: true, hidden: true });
      document.body.append(phone.audio);
    }
    phone.audio.srcObject = event.streams[0];
  });
  if (session.connection) attach(session.connection);
  else session.on("peerconnection", (e) => attach(e.peerconnection));
  const over = () => {
    if (phone.session !== session) return;
    phone.session = null;
    changed(phone.ua ? "registered" : "off");
  };
  session.on("accepted", () => changed("talking"));
  session.on("ended", over);
  session.on("failed", over);
  changed("ringing");
  // An agent who answers hands free (agents.yaml auto_answer): the ring says so.
  if (/answer-after=0/.test(request.getHeader("Call-Info") || "")) answerCall();
}

/** Answer the ringing call with the chosen microphone. */
export function answerCall() {
  const session = phone.session;
  if (!session || phone.state !== "ringing") return;
  ringer.stop();
  session.answer({
    mediaConstraints: { audio: phone.mic ? { deviceId: { exact: phone.mic } } : true,
      video: false },
    pcConfig: { iceServers: [] }, // Asterisk's own address: no STUN or TURN
  });
}

/** Hang up the browser phone's call (the call's card hangs up through the engine). */
export function hangUpCall() {
  if (phone.session) phone.session.terminate();
}

/** What the browser receives and sends on the call (WebRTC statistics), for tests. */
phone.stats = async () => {
  const pc = phone.session && phone.session.connection;
  if (!pc) return null;
  const out = {};
  const report = await pc.getStats();
  report.forEach((r) => {
    if (r.type === "transport" && r.selectedCandidatePairId) { // where the media flows
      const pair = report.get(r.selectedCandidatePairId);
      const local = pair && report.get(pair.localCandidateId);
      const remote = pair && report.get(pair.remoteCandidateId);
      out.path = local && remote ? `${local.address}:${local.port} -> ${remote.address}:${remote.port}` : "";
      out.dtls = r.dtlsState;
    }
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      Object.assign(out, { packetsReceived: r.packetsReceived, bytesReceived: r.bytesReceived,
        totalAudioEnergy: r.totalAudioEnergy || 0 });
    }
    if (r.type === "outbound-rtp" && r.kind === "audio") {
      Object.assign(out, { packetsSent: r.packetsSent, bytesSent: r.bytesSent });
    }
  });
  return out;
};

// ------------------------------------------------------------------ the panel

/** The browser phone's line in the phone card: its state, answer and hang-up (for calls
 * without an offer's card too: dialling out and calling back ring this phone first), and
 * the microphone. */
export function mountPhonePanel(node) {
  const status = h("span", { class: "pill browser-phone-state" });
  const answer = h("button", { class: "ok small", dataset: { action: "phone-answer" },
    onclick: answerCall }, t("offer.answer"));
  const hangup = h("button", { class: "danger small", dataset: { action: "phone-hangup" },
    onclick: hangUpCall }, t("browser.hangup"));
  const mic = h("select", { "aria-label": t("browser.mic"), class: "browser-mic" });
  mic.addEventListener("change", () => { phone.mic = mic.value; });
  const render = async () => {
    node.hidden = phone.state === "off";
    answer.hidden = phone.state !== "ringing";
    hangup.hidden = !["ringing", "talking"].includes(phone.state);
    answer.textContent = t("offer.answer");
    hangup.textContent = t("browser.hangup");
    status.className = `pill browser-phone-state st-${{ registered: "ready", talking: "busy",
      ringing: "reserved", failed: "offline" }[phone.state] || "not_ready"}`;
    status.dataset.state = phone.state;
    status.textContent = t(`browser.${phone.state}`, { why: phone.why });
    if (phone.state === "off" || !navigator.mediaDevices) return;
    const inputs = (await navigator.mediaDevices.enumerateDevices())
      .filter((d) => d.kind === "audioinput" && d.deviceId && d.deviceId !== "default");
    mic.replaceChildren(h("option", { value: "" }, t("browser.mic.default")),
      ...inputs.map((d, i) => h("option", { value: d.deviceId }, d.label || `#${i + 1}`)));
    mic.value = phone.mic;
  };
  node.replaceChildren(h("div", { class: "row" }, status, answer, hangup),
    h("label", { class: "field" }, h("span", { i18n: "browser.mic" }), mic));
  document.addEventListener("cc:phone", render);
  render();
  return render;
}
