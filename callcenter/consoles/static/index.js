// The index page: the four consoles and the REST API table from /api/openapi.json.
import { applyI18n, getLang, h, icon, onLang, setLang, t } from "./common.js";

const CONSOLES = [["agent", "headset"], ["wallboard", "clock"], ["reports", "chart"],
  ["admin", "user"]];
let operations = [];

function render() {
  document.getElementById("consoles").replaceChildren(...CONSOLES.map(([name, glyph]) =>
    h("a", { class: "card console-card", href: `/${name}` }, icon(glyph),
      h("h2", {}, t(`console.${name}`)), h("p", {}, t(`index.${name}`)))));
  document.getElementById("api").replaceChildren(...operations.map(([method, path, op]) =>
    h("tr", {}, h("td", { class: `method ${method}` }, method.toUpperCase()),
      h("td", { class: "mono" }, path),
      h("td", {}, op["x-roles"].map((r) => t(`role.${r}`)).join(", ") +
        (op["x-scope"] ? ` (${op["x-scope"]})` : "")),
      h("td", {}, op.summary || ""))));
  applyI18n(document);
}

document.getElementById("brand-mark").append(icon("headset"));
document.querySelector("[data-action=lang]").addEventListener("click",
  () => setLang(getLang() === "zh-CN" ? "en" : "zh-CN"));
onLang(render);
render();
const doc = await (await fetch("/api/openapi.json")).json();
operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => [method, path, op]));
render();
