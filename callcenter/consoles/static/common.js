// Shared by every console page: i18n, the API client, the live socket, the login screen.
// No build step, no CDN: plain ES modules served from /static.

export const STRINGS = {
  "zh-CN": {
    brand: "星辰客服中心",
    "console.agent": "坐席工作台",
    "console.wallboard": "实时监控",
    "console.reports": "统计报表",
    "console.admin": "系统管理",
    "console.index": "控制台",
    "login.title": "登录",
    "login.username": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.bad": "用户名或密码错误",
    "login.throttled": "尝试次数过多，请 {s} 秒后再试",
    "login.not_for_role": "您的账号无法使用此控制台。",
    "login.go": "前往：",
    logout: "退出",
    password: "密码",
    "password.title": "设置您自己的密码",
    "password.forced": "您的密码是别人给您的，只能用来设置新密码。",
    "password.current": "当前密码",
    "password.new": "新密码（至少 10 个字符）",
    "password.repeat": "再次输入新密码",
    "password.mismatch": "两次输入的新密码不一致",
    "password.submit": "保存密码",
    "password.cancel": "取消",
    "password.done": "密码已更改，其他设备上的会话已结束",
    language: "English",
    "live.on": "实时连接",
    "live.off": "正在重新连接…",
    "error.generic": "操作失败",
    // agent states and reasons
    "state.logged_out": "未签入",
    "state.ready": "就绪",
    "state.not_ready": "未就绪",
    "state.reserved": "振铃中",
    "state.busy": "通话中",
    "state.wrap_up": "话后处理",
    "reason.break": "休息",
    "reason.lunch": "午餐",
    "reason.training": "培训",
    "reason.meeting": "会议",
    "reason.other": "其他",
    "reason.supervisor": "主管设置",
    "reason.login": "刚签入",
    "reason.missed offers": "未接来电过多",
    "reason.after wrap-up": "话后处理结束",
    "reason.phone_offline": "话机离线",
    "reason.outbound": "外呼中",
    "phone.registered": "话机已注册",
    "phone.offline": "话机未注册",
    // agent console
    "agent.phone": "话机与状态",
    "agent.device": "我的话机",
    "agent.device.none": "不使用话机（仅文字会话）",
    "agent.device.ext": "分机 {ext}",
    "agent.device.browser": "浏览器话机（本页面）",
    "browser.off": "浏览器话机未启动",
    "browser.connecting": "浏览器话机正在注册…",
    "browser.registered": "浏览器话机已就绪",
    "browser.ringing": "来电振铃中",
    "browser.talking": "浏览器话机通话中",
    "browser.failed": "浏览器话机注册失败：{why}",
    "browser.no_media": "此页面不能使用麦克风（需要 https 或本机地址）",
    "browser.mic": "麦克风",
    "browser.mic.default": "系统默认",
    "browser.hangup": "挂断",
    "offer.answer": "接听",
    "agent.signin": "签入",
    "agent.signout": "签出",
    "agent.ready": "就绪",
    "agent.why": "为什么没有来电？",
    "why.logged_out": "您尚未签入。",
    "why.not_ready": "您处于未就绪状态：点“就绪”接听来电。",
    "why.reserved": "一通来电正在振铃。",
    "why.busy": "您正在通话中。",
    "why.wrap_up": "您正在话后处理。",
    "why.no_phone": "您签入时没有选择话机。",
    "why.phone_unreachable": "您的话机未注册或正忙：请检查软电话。",
    "why.no_voice_queue": "您不属于任何语音队列。",
    "why.nobody_waiting": "目前没有来电在排队。",
    "why.repaired": "已修复：引擎与电话系统的状态不一致（例如一通已结束的通话仍占用着您），现已更正。",
    "why.none": "一切正常：有来电时会立即振铃。",
    "agent.not_ready": "未就绪",
    "agent.reason": "原因",
    "agent.softphone": "软电话设置",
    "agent.softphone.hint": "在 Zoiper、Linphone 或 MicroSIP 中新建 SIP 账号，填写以下信息：",
    "agent.softphone.server": "SIP 服务器",
    "agent.softphone.port": "端口",
    "agent.softphone.username": "用户名",
    "agent.softphone.password": "密码",
    "agent.softphone.password_hint": "管理员提供的 SIP 密码",
    "agent.softphone.show": "显示",
    "agent.softphone.linphone": "Linphone 自动配置链接（一次有效，10 分钟）",
    "agent.phone.replaced": "另一台设备（{where}）已登记为您的话机，原来的话机不再接到来电。",
    "agent.softphone.hide": "隐藏",
    "agent.softphone.transport": "传输协议",
    "agent.today": "今日接待",
    "agent.incoming": "来电与会话",
    "agent.idle": "暂无新的来电或会话",
    "agent.idle.hint": "就绪后，新的来电和会话会在这里弹出。",
    "agent.not_signed_in": "请先签入，再设为就绪。",
    "offer.voice": "来电",
    "offer.chat": "文字会话",
    "offer.wechat": "微信会话",
    "offer.web": "网页会话",
    "offer.waited": "已等待",
    "offer.expires": "剩余",
    "offer.accept": "接受",
    "offer.reject": "拒绝",
    "offer.answer_phone": "请接听您的话机",
    "offer.connected": "已接通",
    "offer.unknown_caller": "未知客户",
    "offer.ivr": "语音导航",
    "offer.dialled": "拨入号码",
    "offer.history": "历史记录",
    "offer.no_history": "首次联系，没有历史记录",
    "offer.summary": "摘要",
    "offer.vip": "贵宾",
    "channel.voice": "电话",
    "channel.chat": "会话",
    "channel.voice_message": "留言",
    "medium.voicemail": "语音留言",
    "offer.voice_message": "语音留言",
    "message.callback": "回拨客户",
    "message.callback_done": "已安排回拨",
    "message.done": "处理完毕",
    "outcome.voicemail": "转语音留言",
    "outcome.no_message": "未留言",
    "medium.wechat": "微信",
    "medium.web": "网页",
    "medium.pstn": "电话",
    "outcome.answered": "已接听",
    "outcome.abandoned": "放弃",
    "outcome.timeout": "超时",
    "outcome.transferred": "已转接",
    "outcome.callback": "回拨",
    "outcome.ivr": "语音导航结束",
    "outcome.unreached": "未接通",
    "wrapup.title": "话后处理",
    "wrapup.disposition": "处理结果",
    "wrapup.notes": "备注",
    "wrapup.notes.placeholder": "记录需要跟进的事项…",
    "wrapup.summary": "通话摘要",
    "wrapup.summary.pending": "正在生成摘要…",
    "wrapup.submit": "完成",
    "wrapup.required": "请选择处理结果",
    "wrapup.done": "已保存",
    "wrapup.left": "{t} 后自动结束",
    "wrapup.extend": "延长 30 秒",
    "wrapup.holds": "提交此表单后才会收到新的来电或会话",
    "time.ago": "{t}前",
    "time.min": "{n} 分钟",
    "time.hour": "{n} 小时",
    "time.day": "{n} 天",
    "time.now": "刚刚",
    // wallboard
    "wb.queues": "队列",
    "wb.overview": "今日总览",
    "wb.ready_agents": "可接待坐席",
    "wb.ready_here": "可接此队列",
    "wb.signed_in": "已签入 {n}",
    "wb.total_offered": "进线",
    "wb.total_answered": "接起",
    "wb.waiting": "排队中",
    "wb.longest": "最长等待",
    "wb.no_eligible": "{n} 位在等待，无可接待坐席",
    "wb.sl": "服务水平",
    "wb.sl.within": "{s} 秒内接起",
    "wb.asa": "平均应答",
    "wb.abandon": "放弃率",
    "wb.offered": "进线",
    "wb.answered": "接起",
    "wb.chart": "今日分时段话务",
    "wb.chart.entered": "进线",
    "wb.chart.answered": "接起",
    "wb.chart.abandoned": "放弃",
    "wb.chart.empty": "今天还没有话务",
    "wb.agents": "坐席",
    "wb.agent": "坐席",
    "wb.team": "组",
    "wb.state": "状态",
    "wb.in_state": "持续",
    "wb.current": "当前会话",
    "wb.handled": "已接",
    "wb.actions": "操作",
    "wb.listen": "监听",
    "wb.whisper": "耳语",
    "wb.barge": "强插",
    "wb.force": "设置状态…",
    "wb.force.logged_out": "签出",
    "wb.spy.ok": "正在呼叫您的话机（{mode}）",
    "wb.none": "—",
    "wb.no_agents": "没有可见的坐席",
    // admin
    "admin.files": "配置文件",
    "admin.upload": "上传文件",
    "admin.reload": "重新读取",
    "admin.validate": "校验",
    "admin.apply": "应用",
    "admin.issues": "检查结果",
    "admin.issues.none": "未发现问题，可以应用。",
    "admin.issues.unchecked": "修改后请先校验，再应用。",
    "admin.issues.errors": "{n} 个错误",
    "admin.issues.warnings": "{n} 个警告",
    "admin.applied": "已应用：{s}",
    "admin.refused": "未应用：请先修正错误",
    "admin.modified": "已修改",
    "admin.changes": "变更记录",
    "admin.reset": "重置密码",
    "admin.reset_user": "用户名",
    "admin.reset_submit": "生成一次性密码",
    "admin.reset_result": "{user} 的一次性密码（只显示这一次）：{password}",
    "admin.when": "时间",
    "admin.who": "操作人",
    "admin.file": "文件",
    "admin.what": "变更内容",
    "admin.changes.none": "暂无变更",
    "admin.changed_elsewhere": "{who} 刚刚修改了 {file}",
    "admin.line": "第 {n} 行",
    // index
    "index.tagline": "电话、网页与微信，一个队列引擎。",
    "index.agent": "接听来电和会话，查看客户历史，完成话后处理。",
    "index.wallboard": "实时队列指标、坐席状态、监听与强插。",
    "index.reports": "按时段统计队列、坐席与渠道：服务水平、放弃率、处理时长、满意度；导出 CSV 与 Excel。",
    "index.admin": "查看、校验并应用配置，查看变更记录。",
    "index.api": "REST 接口",
    "index.api.hint": "完整的 OpenAPI 文档：",
    "index.method": "方法",
    "index.path": "路径",
    "index.roles": "角色",
    "index.summary": "说明",
    "role.public": "公开",
    "role.agent": "坐席",
    "role.supervisor": "主管",
    "role.admin": "管理员",
  },
  en: {
    brand: "Xingchen Contact Center",
    "console.agent": "Agent console",
    "console.wallboard": "Wallboard",
    "console.reports": "Reports",
    "console.admin": "Administration",
    "console.index": "Consoles",
    "login.title": "Sign in",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.bad": "Wrong username or password",
    "login.throttled": "Too many attempts; try again in {s} s",
    "login.not_for_role": "Your account cannot use this console.",
    "login.go": "Go to:",
    logout: "Log out",
    password: "Password",
    "password.title": "Choose your own password",
    "password.forced": "Your password was given to you: it only lets you choose your own.",
    "password.current": "Current password",
    "password.new": "New password (at least 10 characters)",
    "password.repeat": "New password again",
    "password.mismatch": "The two new passwords differ",
    "password.submit": "Save password",
    "password.cancel": "Cancel",
    "password.done": "Password changed; your sessions elsewhere have ended",
    language: "中文",
    "live.on": "Live",
    "live.off": "Reconnecting…",
    "error.generic": "That did not work",
    "state.logged_out": "Signed out",
    "state.ready": "Ready",
    "state.not_ready": "Not ready",
    "state.reserved": "Ringing",
    "state.busy": "Busy",
    "state.wrap_up": "Wrap-up",
    "reason.break": "Break",
    "reason.lunch": "Lunch",
    "reason.training": "Training",
    "reason.meeting": "Meeting",
    "reason.other": "Other",
    "reason.supervisor": "Set by supervisor",
    "reason.login": "Just signed in",
    "reason.missed offers": "Missed offers",
    "reason.after wrap-up": "After wrap-up",
    "reason.phone_offline": "Phone offline",
    "reason.outbound": "Dialling out",
    "phone.registered": "Phone registered",
    "phone.offline": "Phone not registered",
    "agent.phone": "Phone & status",
    "agent.device": "My phone",
    "agent.device.none": "No phone (chats only)",
    "agent.device.ext": "Extension {ext}",
    "agent.device.browser": "Browser phone (this page)",
    "browser.off": "Browser phone off",
    "browser.connecting": "Browser phone registering…",
    "browser.registered": "Browser phone ready",
    "browser.ringing": "Ringing",
    "browser.talking": "Browser phone on a call",
    "browser.failed": "Browser phone not registered: {why}",
    "browser.no_media": "This page cannot use a microphone (it needs https or this machine's address)",
    "browser.mic": "Microphone",
    "browser.mic.default": "System default",
    "browser.hangup": "Hang up",
    "offer.answer": "Answer",
    "agent.signin": "Sign in",
    "agent.signout": "Sign out",
    "agent.ready": "Ready",
    "agent.why": "Why am I not getting calls?",
    "why.logged_out": "You are not signed in.",
    "why.not_ready": "You are not ready: press Ready to take calls.",
    "why.reserved": "A call is ringing your phone.",
    "why.busy": "You are on a call.",
    "why.wrap_up": "You are wrapping up your last contact.",
    "why.no_phone": "You signed in without a phone.",
    "why.phone_unreachable": "Your phone is not registered or is busy: check the softphone.",
    "why.no_voice_queue": "You are in no voice queue.",
    "why.nobody_waiting": "Nobody is waiting for a call right now.",
    "why.repaired": "Repaired: the engine and the phone system disagreed (e.g. a call that had ended was still holding you); corrected now.",
    "why.none": "All is well: your phone rings as soon as a call comes.",
    "agent.not_ready": "Not ready",
    "agent.reason": "Reason",
    "agent.softphone": "Softphone settings",
    "agent.softphone.hint": "In Zoiper, Linphone or MicroSIP add a SIP account with:",
    "agent.softphone.server": "SIP server",
    "agent.softphone.port": "Port",
    "agent.softphone.username": "Username",
    "agent.softphone.password": "Password",
    "agent.softphone.password_hint": "the SIP password from your administrator",
    "agent.softphone.show": "Show",
    "agent.softphone.linphone": "Linphone set-up link (once, 10 minutes)",
    "agent.phone.replaced": "Another device ({where}) registered as your phone: the first one gets no more calls.",
    "agent.softphone.hide": "Hide",
    "agent.softphone.transport": "Transport",
    "agent.today": "Handled today",
    "agent.incoming": "Calls & chats",
    "agent.idle": "No calls or chats right now",
    "agent.idle.hint": "When you are ready, new calls and chats pop up here.",
    "agent.not_signed_in": "Sign in first, then go ready.",
    "offer.voice": "Incoming call",
    "offer.chat": "Chat",
    "offer.wechat": "WeChat chat",
    "offer.web": "Web chat",
    "offer.waited": "Waited",
    "offer.expires": "Expires in",
    "offer.accept": "Accept",
    "offer.reject": "Decline",
    "offer.answer_phone": "Answer your phone",
    "offer.connected": "Connected",
    "offer.unknown_caller": "Unknown customer",
    "offer.ivr": "IVR",
    "offer.dialled": "Dialled",
    "offer.history": "History",
    "offer.no_history": "First contact: no history yet",
    "offer.summary": "Summary",
    "offer.vip": "VIP",
    "channel.voice": "Call",
    "channel.chat": "Chat",
    "channel.voice_message": "Message",
    "medium.voicemail": "Voice message",
    "offer.voice_message": "Voice message",
    "message.callback": "Call back",
    "message.callback_done": "Callback queued",
    "message.done": "Done",
    "outcome.voicemail": "Left a message",
    "outcome.no_message": "No message",
    "medium.wechat": "WeChat",
    "medium.web": "Web",
    "medium.pstn": "Phone",
    "outcome.answered": "Answered",
    "outcome.abandoned": "Abandoned",
    "outcome.timeout": "Timed out",
    "outcome.transferred": "Transferred",
    "outcome.callback": "Callback",
    "outcome.ivr": "Ended in IVR",
    "outcome.unreached": "Not reached",
    "wrapup.title": "Wrap-up",
    "wrapup.disposition": "Disposition",
    "wrapup.notes": "Notes",
    "wrapup.notes.placeholder": "Anything to follow up…",
    "wrapup.summary": "Call summary",
    "wrapup.summary.pending": "Summary on its way…",
    "wrapup.submit": "Done",
    "wrapup.required": "Pick a disposition",
    "wrapup.done": "Saved",
    "wrapup.left": "ends in {t}",
    "wrapup.extend": "+30 s",
    "wrapup.holds": "Your next contact waits for this form",
    "time.ago": "{t} ago",
    "time.min": "{n} min",
    "time.hour": "{n} h",
    "time.day": "{n} d",
    "time.now": "just now",
    "wb.queues": "Queues",
    "wb.overview": "Today",
    "wb.ready_agents": "Agents ready",
    "wb.ready_here": "ready for it",
    "wb.signed_in": "{n} signed in",
    "wb.total_offered": "Offered",
    "wb.total_answered": "Answered",
    "wb.waiting": "Waiting",
    "wb.longest": "Longest wait",
    "wb.no_eligible": "{n} waiting, no eligible agent",
    "wb.sl": "Service level",
    "wb.sl.within": "answered in {s} s",
    "wb.asa": "ASA",
    "wb.abandon": "Abandoned",
    "wb.offered": "Offered",
    "wb.answered": "Answered",
    "wb.chart": "Today by interval",
    "wb.chart.entered": "Offered",
    "wb.chart.answered": "Answered",
    "wb.chart.abandoned": "Abandoned",
    "wb.chart.empty": "No contacts yet today",
    "wb.agents": "Agents",
    "wb.agent": "Agent",
    "wb.team": "Team",
    "wb.state": "State",
    "wb.in_state": "For",
    "wb.current": "Current contact",
    "wb.handled": "Handled",
    "wb.actions": "Actions",
    "wb.listen": "Listen",
    "wb.whisper": "Whisper",
    "wb.barge": "Barge",
    "wb.force": "Set state…",
    "wb.force.logged_out": "Sign out",
    "wb.spy.ok": "Calling your phone ({mode})",
    "wb.none": "—",
    "wb.no_agents": "No agents to show",
    "admin.files": "Configuration files",
    "admin.upload": "Upload file",
    "admin.reload": "Reload",
    "admin.validate": "Validate",
    "admin.apply": "Apply",
    "admin.issues": "Check results",
    "admin.issues.none": "No problems found; ready to apply.",
    "admin.issues.unchecked": "Validate your edit, then apply it.",
    "admin.issues.errors": "{n} error(s)",
    "admin.issues.warnings": "{n} warning(s)",
    "admin.applied": "Applied: {s}",
    "admin.refused": "Not applied: fix the errors first",
    "admin.modified": "modified",
    "admin.changes": "Change history",
    "admin.reset": "Reset a password",
    "admin.reset_user": "Username",
    "admin.reset_submit": "Make a one-time password",
    "admin.reset_result": "One-time password for {user} (shown this once): {password}",
    "admin.when": "When",
    "admin.who": "Who",
    "admin.file": "File",
    "admin.what": "What changed",
    "admin.changes.none": "No changes yet",
    "admin.changed_elsewhere": "{who} just changed {file}",
    "admin.line": "line {n}",
    "index.tagline": "Phone, web and WeChat, one queue engine.",
    "index.agent": "Take calls and chats, see the customer's history, wrap up.",
    "index.wallboard": "Live queue figures, agent states, listen and barge.",
    "index.reports": "Interval statistics by queue, agent and channel: service level, abandons, handle time, CSAT; CSV and Excel.",
    "index.admin": "View, validate and apply the configuration; see who changed what.",
    "index.api": "REST API",
    "index.api.hint": "The full OpenAPI document:",
    "index.method": "Method",
    "index.path": "Path",
    "index.roles": "Roles",
    "index.summary": "What it does",
    "role.public": "public",
    "role.agent": "agent",
    "role.supervisor": "supervisor",
    "role.admin": "admin",
  },
};

// ------------------------------------------------------------------ i18n

function initialLang() {
  const saved = localStorage.getItem("cc.lang");
  if (saved && STRINGS[saved]) return saved;
  const langs = navigator.languages && navigator.languages.length ? navigator.languages
    : [navigator.language || "en"];
  return langs.some((l) => l.toLowerCase().startsWith("zh")) ? "zh-CN" : "en";
}

let lang = initialLang();
const listeners = [];

export function getLang() { return lang; }
export function short() { return lang === "zh-CN" ? "zh" : "en"; }

export function t(key, vars) {
  let text = (STRINGS[lang] && STRINGS[lang][key]) ?? STRINGS.en[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) text = text.replace(`{${k}}`, v);
  return text;
}

export function loc(text) {
  // A {zh, en} text from the config in the current language.
  if (text == null) return "";
  if (typeof text === "string") return text;
  return text[short()] || text.zh || text.en || "";
}

export function setLang(next) {
  lang = next;
  localStorage.setItem("cc.lang", next);
  applyI18n(document);
  for (const fn of listeners) fn();
}

export function onLang(fn) { listeners.push(fn); }

export function applyI18n(root) {
  document.documentElement.lang = lang;
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
}

// ------------------------------------------------------------------ DOM

export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "i18n") { node.dataset.i18n = v; node.textContent = t(v); }
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) node.setAttribute(k, v);
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

const ICONS = {
  phone: "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.46.57 3.6a1 1 0 0 1-.25 1z",
  chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
  user: "M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zm0 2c-4.4 0-8 2.2-8 5v2h16v-2c0-2.8-3.6-5-8-5z",
  clock: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 10.4 3.5 2.1-.8 1.3L11 13V7h2z",
  check: "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z",
  alert: "M1 21h22L12 2zm12-3h-2v-2h2zm0-4h-2v-4h2z",
  headset: "M12 2a9 9 0 0 0-9 9v7a3 3 0 0 0 3 3h2v-8H5v-2a7 7 0 0 1 14 0v2h-3v8h3v1h-6v2h6a2 2 0 0 0 2-2v-10a9 9 0 0 0-9-9z",
  upload: "M5 20h14v-2H5zm7-16-5 5h3v6h4V9h3z",
  chart: "M3 3h2v16h16v2H3zm4 10h3v5H7zm5-6h3v11h-3zm5 3h3v8h-3z",
};

export function icon(name, cls = "icon") {
  return svg("svg", { viewBox: "0 0 24 24", class: cls, "aria-hidden": "true" },
    svg("path", { d: ICONS[name] || ICONS.chat }));
}

// ------------------------------------------------------------------ time

let clockOffset = 0; // server time - browser time, seconds
export function setServerTime(serverTime) { clockOffset = serverTime - Date.now() / 1000; }
export function serverNow() { return Date.now() / 1000 + clockOffset; }

export function duration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "—";
  seconds = Math.max(0, Math.floor(seconds));
  const h_ = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const mm = h_ ? String(m).padStart(2, "0") : String(m);
  return (h_ ? `${h_}:` : "") + `${mm}:${String(s).padStart(2, "0")}`;
}

export function ago(epoch) {
  const s = serverNow() - epoch;
  if (s < 60) return t("time.now");
  if (s < 3600) return t("time.ago", { t: t("time.min", { n: Math.floor(s / 60) }) });
  if (s < 86400) return t("time.ago", { t: t("time.hour", { n: Math.floor(s / 3600) }) });
  return t("time.ago", { t: t("time.day", { n: Math.floor(s / 86400) }) });
}

export function clockText(epoch) {
  return new Date(epoch * 1000).toLocaleString(lang, {
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

// ------------------------------------------------------------------ API

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  const text = await response.text();
  if (text) { try { data = JSON.parse(text); } catch { data = { message: text }; } }
  if (response.status === 401 && path !== "/api/auth/login") {
    showLogin();
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    error.retryAfter = response.headers.get("Retry-After");
    throw error;
  }
  return data;
}

// ------------------------------------------------------------------ toasts

export function toast(message, kind = "info") {
  let box = document.querySelector(".toasts");
  if (!box) { box = h("div", { class: "toasts", role: "status" }); document.body.append(box); }
  const item = h("div", { class: `toast toast-${kind}` }, message);
  box.append(item);
  setTimeout(() => item.classList.add("toast-out"), 3500);
  setTimeout(() => item.remove(), 4000);
}

// ------------------------------------------------------------------ live socket

/** A WebSocket URL on this page's own origin: wss:// when the page is https. */
export function socketUrl(path) {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}

export function connectLive(onMessage, onStatus) {
  let socket = null;
  let retry = 500;
  let stopped = false;
  function open() {
    socket = new WebSocket(socketUrl("/api/ws"));
    socket.onopen = () => { retry = 500; onStatus && onStatus(true); };
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.topic === "hello") setServerTime(msg.data.server_time);
      onMessage(msg);
    };
    socket.onclose = (event) => {
      onStatus && onStatus(false);
      if (stopped) return;
      if (event.code === 4001) { showLogin(); return; }
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }
  open();
  const ping = setInterval(() => {
    if (socket && socket.readyState === 1) socket.send('{"topic":"ping"}');
  }, 25000);
  return { close() { stopped = true; clearInterval(ping); if (socket) socket.close(); } };
}

// ------------------------------------------------------------------ page frame

let loginResolve = null;
let started = false;
let givenPassword = "";  // typed at login, so a forced change need not ask for it again

function loginView() {
  let view = document.getElementById("login");
  if (view && view.firstChild) return view;
  if (!view) { view = h("section", { id: "login" }); document.body.prepend(view); }
  const consoleKey = `console.${document.body.dataset.console}`;
  view.append(h("div", { class: "login-card" },
    h("div", { class: "brand" }, h("span", { class: "brand-mark" }, icon("headset")),
      h("span", { i18n: "brand" }), h("small", { i18n: consoleKey })),
    h("h1", { i18n: "login.title" }),
    h("form", { class: "stack", autocomplete: "on" },
      h("label", { class: "field" }, h("span", { i18n: "login.username" }),
        h("input", { name: "username", autocomplete: "username", required: true })),
      h("label", { class: "field" }, h("span", { i18n: "login.password" }),
        h("input", { name: "password", type: "password", autocomplete: "current-password",
          required: true })),
      h("div", { class: "login-error", role: "alert" }),
      h("button", { type: "submit", class: "primary", i18n: "login.submit" })),
    h("div", { class: "login-links" }),
    h("div", { class: "login-foot" }, h("span", { class: "muted", i18n: "console.index" }),
      h("button", { type: "button", dataset: { action: "lang" }, i18n: "language" }))));
  view.querySelector(".login-foot .muted").replaceWith(
    h("a", { href: "/", i18n: "console.index" }));
  return view;
}

export function showLogin(message) {
  document.body.classList.add("logged-out");
  const view = loginView();
  view.hidden = false;
  document.getElementById("app").hidden = true;
  const error = view.querySelector(".login-error");
  error.textContent = message || "";
  view.querySelector("input[name=username]").focus();
}

function bindLogin() {
  const view = loginView();
  const form = view.querySelector("form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const error = view.querySelector(".login-error");
    error.textContent = "";
    try {
      const me = await api("POST", "/api/auth/login", {
        username: data.get("username"), password: data.get("password"),
      });
      givenPassword = me.must_change_password ? data.get("password") : "";
      form.reset();
      enter(me);
    } catch (exc) {
      if (exc.status === 429) error.textContent = t("login.throttled", { s: exc.retryAfter || 60 });
      else if (exc.status === 401) error.textContent = t("login.bad");
      else error.textContent = exc.message;
    }
  });
}

function passwordView(forced) {
  // The password card, in the login section: forced after a login with a password that
  // was given (agents.yaml, an admin's reset), or opened from the top bar.
  const view = loginView();
  view.querySelector("#password-card")?.remove();
  const card = h("div", { class: "login-card", id: "password-card" },
    h("h1", { i18n: "password.title" }),
    forced ? h("p", { class: "muted", i18n: "password.forced" }) : "",
    h("form", { class: "stack" },
      h("label", { class: "field", hidden: forced && givenPassword ? true : undefined },
        h("span", { i18n: "password.current" }),
        h("input", { name: "current", type: "password", autocomplete: "current-password",
          required: true })),
      h("label", { class: "field" }, h("span", { i18n: "password.new" }),
        h("input", { name: "new", type: "password", autocomplete: "new-password",
          minlength: 10, required: true })),
      h("label", { class: "field" }, h("span", { i18n: "password.repeat" }),
        h("input", { name: "repeat", type: "password", autocomplete: "new-password",
          minlength: 10, required: true })),
      h("div", { class: "login-error", role: "alert" }),
      h("button", { type: "submit", class: "primary", i18n: "password.submit" }),
      forced ? "" : h("button", { type: "button", class: "ghost", dataset: { action: "cancel" },
        i18n: "password.cancel" })));
  if (forced && givenPassword) card.querySelector("input[name=current]").value = givenPassword;
  view.querySelector(".login-card").hidden = true;
  view.append(card);
  applyI18n(card);
  view.hidden = false;
  document.body.classList.add("logged-out");
  document.getElementById("app").hidden = true;
  const form = card.querySelector("form");
  const close = () => {
    card.remove();
    view.querySelector(".login-card").hidden = false;
  };
  card.querySelector("[data-action=cancel]")?.addEventListener("click", () => {
    close();
    view.hidden = true;
    document.body.classList.remove("logged-out");
    document.getElementById("app").hidden = false;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const error = card.querySelector(".login-error");
    if (data.get("new") !== data.get("repeat")) { error.textContent = t("password.mismatch"); return; }
    try {
      const me = await api("POST", "/api/me/password", {
        current_password: data.get("current"), new_password: data.get("new") });
      givenPassword = "";
      close();
      toast(t("password.done"));
      enter(me);
    } catch (exc) {
      const detail = exc.body && exc.body.details && exc.body.details[0];
      error.textContent = detail ? detail.msg : exc.message;
    }
  });
  card.querySelector(forced && givenPassword ? "input[name=new]" : "input").focus();
}

function enter(me) {
  const allowed = document.body.dataset.roles.split(",");
  const view = document.getElementById("login");
  if (me.must_change_password) { passwordView(true); return; }
  if (!allowed.includes(me.role)) {
    showLogin(t("login.not_for_role"));
    const links = view.querySelector(".login-links");
    links.replaceChildren(h("span", { i18n: "login.go" }),
      ...me.consoles.map((c) => h("a", { href: `/${c}` }, t(`console.${c}`))));
    return;
  }
  view.hidden = true;
  document.body.classList.remove("logged-out");
  document.getElementById("app").hidden = false;
  for (const node of document.querySelectorAll("[data-me=name]")) {
    node.textContent = me.display_name || me.username;
  }
  for (const node of document.querySelectorAll("[data-me=role]")) node.textContent = t(`role.${me.role}`);
  if (loginResolve) loginResolve(me);
}

export function frame() {
  // Wire the top bar (language, logout) and the login view; resolves with the user
  // once they are logged in with a role this page serves (again after a relogin:
  // the callback passed to onRelogin runs).
  loginView().hidden = true;
  applyI18n(document);
  for (const button of document.querySelectorAll("[data-action=lang]")) {
    button.addEventListener("click", () => setLang(lang === "zh-CN" ? "en" : "zh-CN"));
  }
  for (const button of document.querySelectorAll("[data-action=password]")) {
    button.addEventListener("click", () => passwordView(false));
  }
  for (const button of document.querySelectorAll("[data-action=logout]")) {
    button.addEventListener("click", async () => {
      try { await api("POST", "/api/auth/logout"); } catch { /* already out */ }
      showLogin();
    });
  }
  bindLogin();
  return new Promise((resolve) => {
    loginResolve = (me) => {
      if (!started) { started = true; resolve(me); } else document.dispatchEvent(
        new CustomEvent("cc:relogin", { detail: me }));
    };
    api("GET", "/api/me").then(enter).catch(() => showLogin());
  });
}

export function liveBadge(connected) {
  for (const node of document.querySelectorAll(".live")) {
    node.classList.toggle("live-off", !connected);
    node.querySelector(".live-text").textContent = t(connected ? "live.on" : "live.off");
  }
}
