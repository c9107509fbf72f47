// Customers in the agent console: search (name, phone, WeChat or visitor id, an order
// number) and a customer's profile: identities (masked), VIP, every call and chat on any
// channel, and "Call back" where dialling out is on (the engine dials their number: the
// agent never sees it). The engine decides whom each reader may find.
import { ago, api, h, icon, loc, t, toast } from "./common.js";
import { dialOutOn } from "./callcontrols.js";

function w(key) {
  return t(`customers.${key}`);  // this module's words (static/i18n/)
}

function entry(item) {
  const kind = item.channel === "voice" ? w(item.direction === "outbound" ? "outbound" : "inbound")
    : w("chat");
  return h("li", { class: item.channel === "voice" ? "voice" : "chat",
    dataset: { interactionId: item.interaction_id } },
  h("div", { class: "meta" },
    h("strong", {}, item.arrived_at ? ago(item.arrived_at) : "—"),
    h("span", { class: `chip ${item.channel === "voice" ? "voice" : "chat"}` },
      icon(item.channel === "voice" ? "phone" : "chat"), kind),
    item.queue_name ? h("span", {}, loc(item.queue_name)) : null,
    item.outcome ? h("span", {}, `· ${item.outcome}`) : null,
    item.agent_id ? h("span", {}, `· ${item.agent_id}`) : null),
  item.summary ? h("div", { class: "summary" }, item.summary) : null,
  item.notes ? h("div", { class: "summary muted" }, item.notes) : null);
}

// Tags and the note: whoever may read the customer may change them (each change logged).
function editor(customer) {
  const tags = [...customer.tags];
  const chips = h("span", { class: "customer-tags" });
  const drawTags = () => chips.replaceChildren(...tags.map((tag, i) => h("span",
    { class: "chip", dataset: { tag } }, tag,
    h("button", { class: "link", "aria-label": "×", onclick: () => {
      tags.splice(i, 1);
      drawTags();
    } }, "×"))));
  drawTags();
  const add = h("input", { name: "tag", placeholder: w("add_tag"), maxlength: "20" });
  add.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const tag = add.value.trim();
    if (tag && !tags.includes(tag)) tags.push(tag);
    add.value = "";
    drawTags();
  });
  const note = h("textarea", { name: "note", maxlength: "1000", rows: "2",
    placeholder: w("note") });
  note.value = customer.note || "";
  const save = h("button", { class: "small primary", dataset: { action: "save-profile" },
    onclick: async () => {
      try {
        const change = { tags };  // the note only if changed (a masked one is not resent)
        if (note.value !== (customer.note || "")) change.note = note.value;
        await api("PATCH", `/api/customers/${customer.id}`, change);
        toast(w("saved"), "ok");
      } catch (exc) { toast(exc.message, "error"); }
    } }, w("save"));
  return h("div", { class: "stack customer-edit" },
    h("div", { class: "row" }, h("strong", {}, w("tags")), chips, add), note,
    h("div", { class: "row" }, save));
}

async function profile(panel, customerId) {
  try {
    const { customer, history } = await api("GET", `/api/customers/${customerId}/history`);
    const hasPhone = customer.identities.some((i) => i.kind === "phone");
    const callBack = hasPhone && dialOutOn() ? h("button", { class: "ok small",
      dataset: { action: "call-back" }, onclick: async () => {
        try {
          await api("POST", "/api/agent/call/dial", { customer_id: customer.id });
          toast(w("calling"), "ok");
        } catch (exc) { toast(exc.message, "error"); }
      } }, icon("phone"), w("call_back")) : null;
    panel.replaceChildren(h("div", { class: "customer-profile", dataset: { customerId } },
      h("div", { class: "row" },
        h("strong", { class: "customer-name" }, customer.name || w("unknown")),
        customer.vip ? h("span", { class: "chip vip" }, w("vip")) : null,
        h("span", { class: "spacer" }), callBack,
        h("button", { class: "small", onclick: () => panel.replaceChildren() }, w("close"))),
      h("div", { class: "customer-ids" }, customer.identities.map((i) =>
        h("span", { class: "chip mono", dataset: { kind: i.kind } }, i.masked))),
      editor(customer),
      h("h3", {}, `${w("history")} (${history.length})`),
      history.length ? h("ul", { class: "timeline" }, history.map(entry))
        : h("p", { class: "muted" }, w("no_history"))));
  } catch (exc) {
    panel.replaceChildren(h("p", { class: "login-error" }, exc.message));
  }
}

/** The Customers card in the agent console's side column. */
export function mountCustomers() {
  const input = h("input", { type: "search", name: "customer-q", placeholder: w("search"),
    "aria-label": w("search") });
  const results = h("ul", { class: "customer-results" });
  const panel = h("div", { class: "customer-panel" });
  const form = h("form", { class: "row" }, input,
    h("button", { type: "submit", class: "primary" }, w("go")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const found = await api("GET", `/api/customers?q=${encodeURIComponent(input.value.trim())}`);
      results.replaceChildren(...(found.length ? found.map((c) => h("li", {},
        h("button", { class: "link", dataset: { customerId: c.id },
          onclick: () => profile(panel, c.id) },
        c.name || w("unknown"), c.vip ? ` · ${w("vip")}` : "",
        h("span", { class: "muted" }, ` ${c.identities.map((i) => i.masked).join(" · ")}`))))
        : [h("li", { class: "muted" }, w("none"))]));
    } catch (exc) {
      toast(exc.message, "error");
    }
  });
  const aside = document.querySelector("main aside.stack") || document.querySelector("main");
  aside.append(h("section", { class: "card", id: "customers" },
    h("header", {}, h("h2", {}, w("customers"))),
    h("div", { class: "body stack" }, form, results, panel)));
}
