// Wrap-up forms: one per contact whose form the agent owes, with the caller, when it
// ended, and how the wrap-up ends (time left and "+30 s", or "your next contact waits
// for this form"). agent.js mounts the list and hands over the engine's forms.
import { api, clockText, duration, h, icon, loc, serverNow, t, toast } from "./common.js";
import { offerByTask, popOf, removeOffer } from "./offers.js";

const wrapups = new Map(); // task_id -> {data, node}
let list = null;
let hooks = { status: () => {}, changed: () => {} };

/** ``onStatus(status)``: a sent form changed the agent's status; ``onChange()``: a form
 * came or went. */
export function mountWrapups(node, { onStatus, onChange }) {
  list = node;
  hooks = { status: onStatus, changed: onChange };
}

export function wrapupCount() { return wrapups.size; }

export function tickWrapups() {
  for (const { data, node } of wrapups.values()) {
    const left = node.querySelector(".wrapup-left");
    if (left && data.ends_at) left.textContent = wrapupLeft(data);
  }
}

/** Draw the forms again in the new language (what the agent typed is lost). */
export function redrawWrapups() {
  for (const entry of wrapups.values()) {
    const node = wrapupForm(entry.data);
    entry.node.replaceWith(node);
    entry.node = node;
  }
}

function wrapupForm(data) {
  const pop = popOf(data.task_id);
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
      hooks.status(await api("POST", `/api/agent/wrapups/${encodeURIComponent(data.task_id)}`, {
        disposition: chosen ? chosen.value : null, notes: form.elements.notes.value || null,
      }));
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

export function addWrapup(data) {
  const old = wrapups.get(data.task_id);
  if (old) {
    // Keep what the agent typed; only fill in what is new.
    old.data = { ...old.data, ...Object.fromEntries(Object.entries(data).filter(([, v]) => v != null)) };
    if (data.summary) setSummary(data.task_id, data.summary);
    const left = old.node.querySelector(".wrapup-left");
    if (left) left.textContent = wrapupLeft(old.data);
    return;
  }
  const node = wrapupForm(data);
  list.append(node);
  wrapups.set(data.task_id, { data, node });
  const offer = offerByTask(data.task_id);
  if (offer) removeOffer(offer.data.offer_id);
  hooks.changed();
}

export function setSummary(taskId, text) {
  const entry = wrapups.get(taskId);
  if (!entry) return;
  entry.data.summary = text;
  entry.node.querySelector(".summary-field").hidden = false;
  const box = entry.node.querySelector(".summary-box");
  box.textContent = text;
  box.classList.remove("pending");
}

function removeWrapup(taskId) {
  const entry = wrapups.get(taskId);
  if (!entry) return;
  entry.node.remove();
  wrapups.delete(taskId);
  hooks.changed();
}

// The forms still open; one no longer open (sent from another tab, or over) goes.
export function syncWrapups(forms) {
  const open = new Set(forms.map((w) => w.task_id));
  for (const taskId of [...wrapups.keys()]) if (!open.has(taskId)) removeWrapup(taskId);
  for (const w of forms) addWrapup(w);
}

export async function loadWrapups(announced) {
  try {
    const forms = await api("GET", "/api/agent/wrapups");
    if (!announced) {
      syncWrapups(forms);
      return;
    }
    for (const w of forms) addWrapup(w);  // an announced form is only ever added
    if (!forms.some((w) => w.task_id === announced.task_id)) addWrapup(announced);
  } catch (exc) {
    if (exc.status !== 401) toast(exc.message, "error");
  }
}
