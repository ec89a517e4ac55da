// nametag's page: tags the text box through POST /tag and shows the names.
// No framework and no build step. User text only ever reaches the page as text
// (textContent, createTextNode), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  table: [],        // /model's operating table: [{threshold: null | number, precision, recall}], default first
  redact: true,     // false once POST /redact answered 404 (a service without redaction)
  restorable: true, // false once /redact refused restorable (no NAMETAG_RESTORE_KEY on the server)
  token: null,      // the restore token of the latest pseudonym preview
  seq: 0,           // the latest request: older answers are dropped
  redactSeq: 0,     // the latest /redact preview (a new operator asks again): older answers are dropped
  text: "",         // the text of the latest answer
  body: null,       // the latest POST /tag body
};

// ---- API key, when the service needs one: kept in this tab's session storage only (never
// local storage or a cookie), sent as "Authorization: Bearer <key>" on the page's requests.

const KEY_ITEM = "nametag.apiKey";
let tabKey = null; // only where session storage is unavailable: this page's memory

function apiKey() {
  try {
    return window.sessionStorage.getItem(KEY_ITEM);
  } catch (e) {
    return tabKey;
  }
}

function setApiKey(key) {
  try {
    if (key === null) window.sessionStorage.removeItem(KEY_ITEM);
    else window.sessionStorage.setItem(KEY_ITEM, key);
  } catch (e) {
    tabKey = key;
  }
}

function headers(extra) {
  const h = Object.assign({Accept: "application/json"}, extra || {});
  const key = apiKey();
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

// The service answered 401: forget a refused key and ask for one.
function askKey() {
  const refused = apiKey() !== null;
  setApiKey(null);
  $("key-error").textContent = refused ? "That key is not accepted: check it, or ask for a new one." : "";
  $("key-error").hidden = !refused;
  $("key-form").hidden = false;
  $("key-status").hidden = true;
  $("submit").disabled = false;
  document.body.dataset.state = "key";
  $("key").focus();
}

async function useKey() {
  const key = $("key").value.trim();
  if (!key) return;
  setApiKey(key);
  $("key").value = "";
  $("key-form").hidden = true;
  $("key-error").hidden = true;
  $("key-status").hidden = false;
  if (await loadModel() !== "key") await tag();
}

function forgetKey() {
  setApiKey(null);
  state.seq++; // drop any answer still on its way
  clearResult();
  askKey();
}

// ---- /model: name, version, headline quality, operating table

function fmt(x) {
  return typeof x === "number" ? x.toFixed(3) : "?";
}

// The rows of /model's operating table ({data, rows: [{threshold, precision, recall}]}, threshold
// null for the default decoding), the default decoding first; [] when the model has none.
function operatingTable(model) {
  const table = model.operating_table;
  if (!table || !Array.isArray(table.rows)) return [];
  const rows = table.rows.filter((r) => typeof r.precision === "number" && typeof r.recall === "number")
    .map((r) => ({threshold: typeof r.threshold === "number" ? r.threshold : null,
                  precision: r.precision, recall: r.recall, data: table.data || "dev"}));
  rows.sort((a, b) => (a.threshold === null ? -1 : b.threshold === null ? 1 : a.threshold - b.threshold));
  return rows;
}

// "key" when the service wants an API key (the page then asks for it)
async function loadModel() {
  let model;
  try {
    const res = await fetch("model", {headers: headers()});
    if (res.status === 401) {
      askKey();
      return "key";
    }
    if (apiKey() !== null) $("key-status").hidden = false;
    model = await res.json();
    if (!res.ok) throw new Error(model.detail || res.statusText);
  } catch (e) {
    $("model-name").textContent = "not available (" + e.message + ")";
    return;
  }
  $("model-name").textContent = model.name;
  $("model-version").textContent = "version " + model.version;
  const dev = (model.metrics && model.metrics.dev) || {};
  $("model-quality").textContent =
    `· ${model.head} head · dev (${(model.training && model.training.dev_file) || "?"}), as trained: F1 ${fmt(dev.f1)}, ` +
    `precision ${fmt(dev.precision)}, recall ${fmt(dev.recall)}`;
  showLegend(Array.isArray(model.types) ? model.types : ["PER"]);
  state.table = operatingTable(model);
  if (state.table.length > 1) {
    const slider = $("threshold");
    slider.max = String(state.table.length - 1);
    slider.value = "0";
    $("threshold-box").hidden = false;
    showThreshold();
  }
}

// ---- threshold slider

function currentRow() {
  return state.table.length ? state.table[Number($("threshold").value)] : null;
}

function showThreshold() {
  const row = currentRow();
  if (!row) return;
  const label = row.threshold === null ? "default decoding" : `score ≥ ${row.threshold}`;
  $("threshold-value").textContent = label;
  $("threshold").setAttribute("aria-valuetext", label);
  $("operating").textContent =
    `At this setting, on ${row.data} with each sentence sent alone: ` +
    `precision ${fmt(row.precision)}, recall ${fmt(row.recall)}.`;
}

// ---- requests

async function post(path, body) {
  const res = await fetch(path, {
    method: "POST", headers: headers({"Content-Type": "application/json"}),
    body: JSON.stringify(body),
  });
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    data = null; // not JSON (a proxy's error page): the status says enough
  }
  return {res, data};
}

function requestBody(text) {
  const body = {text};
  const row = currentRow();
  if (row && row.threshold !== null) body.threshold = row.threshold;
  return body;
}

async function tag() {
  const text = $("text").value;
  const body = requestBody(text);
  const seq = ++state.seq;
  state.body = body;
  showApi(text, body);
  document.body.dataset.state = "busy";
  $("submit").disabled = true;
  let answer;
  try {
    answer = await post("tag", body);
  } catch (e) {
    answer = {res: null, error: e};
  }
  if (seq !== state.seq) return; // a newer request is under way
  $("submit").disabled = false;
  if (answer.res && answer.res.status === 401) {
    clearResult();
    askKey();
    return;
  }
  if (!answer.res || !answer.res.ok) {
    showError(answer);
    clearResult();
    document.body.dataset.state = "error";
    return;
  }
  hideError();
  state.text = text;
  showResult(text, body, answer.data);
  document.body.dataset.state = "done";
  if (state.redact) await redact(seq);
}

async function redact(seq) {
  if (!state.body) return;
  const operator = $("operator").value;
  const body = Object.assign({}, state.body, {operator});
  if (operator === "pseudonym" && state.restorable) body.restorable = true;
  const box = $("redact-box");
  const mine = ++state.redactSeq;
  box.dataset.state = "busy";
  box.dataset.operator = body.operator;
  let answer;
  try {
    answer = await post("redact", body);
    if (body.restorable && answer.res.status === 422 && answer.data && answer.data.errors &&
        answer.data.errors.restorable) { // no restore key on this server: preview without restoring
      state.restorable = false;
      delete body.restorable;
      answer = await post("redact", body);
    }
  } catch (e) {
    answer = {res: null, error: e};
  }
  if (seq !== state.seq || mine !== state.redactSeq) return;
  if (answer.res && answer.res.status === 404) { // this service has no /redact: no preview
    state.redact = false;
    box.hidden = true;
    return;
  }
  if (answer.res && answer.res.status === 401) {
    box.hidden = true;
    askKey();
    return;
  }
  box.hidden = false;
  state.token = (answer.res && answer.res.ok && answer.data.restore_token) || null;
  showRestoreBox(operator);
  if (!answer.res || !answer.res.ok) {
    $("redacted").replaceChildren(document.createTextNode(problemText(answer)));
    box.dataset.state = "error";
    return;
  }
  const items = answer.data.items || [];
  highlight($("original"), body.text, items.map((it) => ({start: it.start, end: it.end, score: it.score})), "name");
  highlight($("redacted"), answer.data.text,
    items.map((it) => ({start: it.out_start, end: it.out_end, score: it.score})), "replacement");
  box.dataset.state = "done";
}

// ---- the restore box: an LLM's answer with the pseudonyms, back to the names

function showRestoreBox(operator) {
  const on = operator === "pseudonym" && state.token !== null;
  $("restore-box").hidden = !on;
  $("restore-off").hidden = !(operator === "pseudonym" && !state.restorable);
  if (!on) {
    $("restored").replaceChildren();
    $("restore-summary").textContent = "";
    delete $("restore-box").dataset.state;
  }
}

function restoreSummary(data) {
  const restored = (data.restored || []).map((r) => `${r.pseudonym} ×${r.count}`);
  const unknown = (data.unknown || []).map((r) => r.pseudonym);
  let text = restored.length ? `Restored ${restored.join(", ")}.` : "No pseudonym of this text found.";
  if (unknown.length) text += ` Not in this text, left as they are: ${unknown.join(", ")}.`;
  return text;
}

async function restoreAnswer() {
  const token = state.token;
  if (!token) return;
  const text = $("llm-answer").value;
  const box = $("restore-box");
  box.dataset.state = "busy";
  let answer;
  try {
    answer = await post("restore", {text, restore_token: token});
  } catch (e) {
    answer = {res: null, error: e};
  }
  if (token !== state.token) return; // the text was redacted again meanwhile: that answer is stale
  if (answer.res && answer.res.status === 401) {
    box.dataset.state = "error";
    askKey();
    return;
  }
  if (!answer.res || !answer.res.ok) {
    $("restored").replaceChildren(document.createTextNode(problemText(answer)));
    $("restore-summary").textContent = "";
    box.dataset.state = "error";
    return;
  }
  const items = answer.data.items || [];
  highlight($("restored"), answer.data.text,
    items.map((it) => ({start: it.out_start, end: it.out_end})), "restored");
  $("restore-summary").textContent = restoreSummary(answer.data);
  box.dataset.state = "done";
}

// ---- showing the answer

// Code-point offsets (the API's default) to indices into a JavaScript (UTF-16) string.
function utf16Index(text) {
  const index = [0];
  let i = 0;
  for (const ch of text) {
    i += ch.length;
    index.push(i);
  }
  return (cp) => index[Math.min(cp, index.length - 1)];
}

// Entity types: each its own colour (page.css, mark[data-type]), named in words for screen readers.
const TYPE_NAMES = {PER: "person", LOC: "location", ORG: "organisation", MISC: "other name"};

function typeName(type) {
  return TYPE_NAMES[type] || type;
}

// The legend: one swatch per type the model finds, in the colour its names get.
function showLegend(types) {
  const items = types.map((type) => {
    const li = document.createElement("li");
    const mark = document.createElement("mark");
    mark.dataset.type = type;
    mark.dataset.label = type;
    mark.textContent = typeName(type);
    li.append(mark);
    return li;
  });
  $("legend").replaceChildren(...items);
  $("legend").hidden = types.length < 2;
}

// Fill container with text, each span (code-point offsets) in a <mark>, all as text nodes.
function highlight(container, text, spans, kind) {
  const at = utf16Index(text);
  const parts = [];
  let pos = 0;
  for (const span of spans) {
    const start = at(span.start), end = at(span.end);
    if (start < pos) continue; // overlapping spans never come from the API; be safe anyway
    if (start > pos) parts.push(document.createTextNode(text.slice(pos, start)));
    const mark = document.createElement("mark");
    mark.className = kind;
    mark.textContent = text.slice(start, end);
    const type = span.label || "PER";
    mark.dataset.label = type;
    mark.dataset.type = type;
    if (typeof span.score === "number") mark.dataset.score = span.score.toFixed(2);
    mark.tabIndex = 0;
    mark.setAttribute("aria-label", `${text.slice(start, end)}: ${typeName(type)}` +
      (typeof span.score === "number" ? `, score ${span.score.toFixed(2)}` : ""));
    parts.push(mark);
    pos = end;
  }
  if (pos < text.length) parts.push(document.createTextNode(text.slice(pos)));
  container.replaceChildren(...parts);
}

function showResult(text, body, data) {
  const entities = data.entities || [];
  highlight($("result"), text, entities, "name");
  $("result").dataset.text = text;
  $("result").dataset.threshold = body.threshold === undefined ? "default" : String(body.threshold);
  const n = entities.length;
  $("summary").textContent = n === 0 ? "No names found."
    : `${n} name${n === 1 ? "" : "s"} found. Hover over or focus a name (Tab) to see its score.`;
  $("raw").textContent = JSON.stringify(data, null, 2);
}

function clearResult() {
  $("result").replaceChildren();
  delete $("result").dataset.text;
  $("summary").textContent = "";
  $("raw").textContent = "";
  $("original").replaceChildren();
  $("redacted").replaceChildren();
}

function problemText(answer) {
  if (!answer.res) return "The service did not answer: " + answer.error.message;
  const p = answer.data || {};
  let text = `${answer.res.status} ${p.title || answer.res.statusText}: ${p.detail || "no details"}`;
  for (const [field, messages] of Object.entries(p.errors || {})) {
    text += ` ${field}: ${[].concat(messages).join(" ")}`;
  }
  return text;
}

function showError(answer) {
  const box = $("error");
  box.textContent = problemText(answer);
  box.hidden = false;
}

function hideError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

// ---- curl, share link, copy

function shellQuote(s) {
  return "'" + s.replace(/'/g, `'"'"'`) + "'";
}

function showApi(text, body) {
  const url = new URL("tag", document.baseURI).href;
  // the key itself never goes into the page's text: the command names a variable holding it
  const auth = apiKey() ? ` -H "Authorization: Bearer $NAMETAG_API_KEY"` : "";
  $("curl").textContent = `curl -s ${url} -H 'Content-Type: application/json'${auth} \\\n  -d ${shellQuote(JSON.stringify(body))}`;
  const share = new URL(document.baseURI);
  share.search = "?text=" + encodeURIComponent(text);
  $("share").href = share.href;
}

async function copy(id) {
  const text = $(id).textContent;
  try {
    await navigator.clipboard.writeText(text);
    $("copied").textContent = "Copied.";
  } catch (e) { // no clipboard permission: select it for Ctrl+C
    const range = document.createRange();
    range.selectNodeContents($(id));
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    $("copied").textContent = "Selected: press Ctrl+C to copy.";
  }
}

// ---- wiring

let debounce = null;

// Ctrl+Enter (Cmd+Enter on a Mac) in a text area runs `action`, as its button does.
function onCtrlEnter(element, action) {
  element.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      action();
    }
  });
}

async function start() {
  $("form").addEventListener("submit", (e) => {
    e.preventDefault();
    tag();
  });
  onCtrlEnter($("text"), tag);
  $("threshold").addEventListener("input", () => {
    showThreshold();
    clearTimeout(debounce);
    debounce = setTimeout(tag, 150);
  });
  $("operator").addEventListener("change", () => redact(state.seq));
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    useKey();
  });
  $("key-forget").addEventListener("click", forgetKey);
  $("restore-button").addEventListener("click", restoreAnswer);
  onCtrlEnter($("llm-answer"), restoreAnswer);
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", () => copy(button.dataset.copy));
  }
  const shared = new URLSearchParams(window.location.search).get("text");
  if (shared !== null) $("text").value = shared;
  if (await loadModel() !== "key") await tag();
}

start();
