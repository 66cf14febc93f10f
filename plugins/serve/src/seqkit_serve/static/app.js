// seqkit serve: the page, built from GET /api/generators (each generator's parameter schema) and
// the results of POST /api/run/{name}. Nothing here knows which plugins exist.
"use strict";

const $ = (id) => document.getElementById(id);
const DONE = ["done", "error", "cancelled"];
const UPLOADS = [".mid", ".midi", ".abc"];  // what the server takes: MIDI and ABC only
let generators = [];
let current = null;
let job = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function bytes(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.round(n / 1024)} kB`;
}

async function init() {
  const answer = await (await fetch("/api/generators")).json();
  generators = answer.generators;
  const limits = answer.limits;
  $("limits").textContent = `uploads up to ${bytes(limits.max_upload_bytes)}, ` +
    `${limits.max_tokens.toLocaleString("en")} tokens per request, one run at a time per model`;
  const nav = $("generators");
  for (const g of generators) {
    const button = el("button", { type: "button", "data-name": g.name }, g.name, el("small", {}, g.plugin || g.task));
    button.addEventListener("click", () => { location.hash = encodeURIComponent(g.name); });
    nav.append(button);
  }
  $("form").addEventListener("submit", run);
  $("cancel").addEventListener("click", cancel);
  window.addEventListener("hashchange", select);
  select();
}

function select() {
  if (job) cancel();
  const name = decodeURIComponent(location.hash.slice(1));
  current = generators.find((g) => g.name === name) || generators[0] || null;
  for (const button of $("generators").children) {
    button.setAttribute("aria-current", String(current !== null && button.dataset.name === current.name));
  }
  $("results").replaceChildren();
  showError(null);
  $("status").textContent = "";
  if (!current) {
    $("gen-title").textContent = "No generators registered";
    $("form").hidden = true;
    return;
  }
  $("gen-title").textContent = current.name;
  $("gen-description").textContent = current.description;
  $("gen-meta").textContent = [current.plugin && `plugin ${current.plugin}`, current.task && `task ${current.task}`,
    current.command && `seqkit ${current.command}`].filter(Boolean).join(" · ");
  $("fields").replaceChildren(...current.params.map(field));
}

function rangeText(p) {
  if (p.choices) return "";
  const lo = p.min, hi = p.max;
  if (hi != null && hi > 1e12) return lo != null ? ` [≥ ${lo}]` : "";
  if (lo != null && hi != null) return p.above_min ? ` [${lo} < x ≤ ${hi}]` : ` [${lo} … ${hi}]`;
  if (lo != null) return p.above_min ? ` [> ${lo}]` : ` [≥ ${lo}]`;
  if (hi != null) return ` [≤ ${hi}]`;
  return "";
}

function field(p) {
  const id = `p-${p.name}`;
  let input;
  if (p.type === "bool") {
    input = el("input", { type: "checkbox", id, name: p.name });
    input.checked = Boolean(p.default);
  } else if (p.type === "choice") {
    input = el("select", { id, name: p.name });
    if (p.default == null) input.append(el("option", { value: "" }, "(default)"));
    for (const c of p.choices) input.append(el("option", { value: c }, c));
    if (p.default != null) input.value = p.default;
  } else if (p.type === "file") {
    input = el("input", { type: "file", id, name: p.name });
    const accept = (p.accept || UPLOADS).filter((a) => UPLOADS.includes(a.toLowerCase()));
    input.accept = accept.join(",");
    if (!accept.length) input.disabled = true;  // e.g. a SoundFont: this server takes no such upload
  } else if (p.type === "list") {
    input = el("textarea", { id, name: p.name, rows: "3", placeholder: "one per line" });
    if (Array.isArray(p.default)) input.value = p.default.join("\n");
  } else {  // str, int, float: the server checks them, with the command line's messages
    input = el("input", { type: "text", id, name: p.name, autocomplete: "off" });
    if (p.type !== "str") input.inputMode = p.type === "int" ? "numeric" : "decimal";
    if (p.default != null) input.value = String(p.default);
    else input.placeholder = "(default)";
  }
  const label = el("label", { for: id }, p.name.replace(/_/g, " ") + (p.required ? " *" : ""));
  let helpText = `${p.help}${rangeText(p)} ${p.flags.join(", ")}`;
  if (input.disabled) helpText += " (not on this page: it takes MIDI and ABC uploads only)";
  const help = el("small", { class: "help" }, helpText);
  return el("div", { class: `field type-${p.type}`, "data-param": p.name }, label, input, help);
}

function formData() {
  const data = new FormData();
  for (const p of current.params) {
    const input = $(`p-${p.name}`);
    if (p.type === "bool") data.append(p.name, input.checked ? "true" : "false");
    else if (p.type === "file") { if (input.files.length) data.append(p.name, input.files[0]); }
    else if (p.type === "list") {
      for (const line of input.value.split("\n")) if (line.trim()) data.append(p.name, line.trim());
    } else if (input.value.trim() !== "") data.append(p.name, input.value.trim());
  }
  return data;
}

async function run(event) {
  event.preventDefault();
  showError(null);
  $("results").replaceChildren();
  setBusy(true, "sending…");
  const gen = current;
  try {
    const response = await fetch(`/api/run/${encodeURIComponent(gen.name)}?wait=false`, { method: "POST", body: formData() });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error);
    job = answer;
    await follow(gen);
  } catch (error) {
    showError(error.message);
    setBusy(false, "");
  }
}

async function follow(gen) {
  while (job && job.generator === gen.name) {
    const answer = await (await fetch(`/api/jobs/${job.id}`)).json();
    if (!job || answer.id !== job.id) return;
    if (answer.status === "queued") setBusy(true, `waiting: ${answer.position} ahead in the queue`);
    if (answer.status === "running") progress(answer.progress);
    if (DONE.includes(answer.status)) return finish(gen, answer);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function progress({ done, total, label }) {
  const bar = $("progress");
  if (total > 0) { bar.max = total; bar.value = done; } else bar.removeAttribute("value");
  const what = label ? `${label}: ` : "running: ";
  setBusy(true, total > 0 ? `${what}${done} of ${total}` : done > 0 ? `${what}${done}` : `${label || "running"}…`);
}

function finish(gen, answer) {
  job = null;
  setBusy(false, answer.status === "done" ? "" : answer.status);
  if (answer.status === "error") showError(answer.error);
  if (answer.status === "done") $("results").replaceChildren(...render(gen, answer.result));
}

async function cancel() {
  if (!job) return;
  const id = job.id;
  job = null;
  setBusy(false, "cancelled");
  await fetch(`/api/jobs/${id}/cancel`, { method: "POST" });
}

function setBusy(busy, text) {
  $("run").disabled = busy;
  $("cancel").hidden = !busy;
  $("progress").hidden = !busy;
  if (!busy) $("progress").removeAttribute("value");  // the next run starts indeterminate
  $("status").textContent = text;
}

function showError(message) {
  $("error").hidden = !message;
  $("error").textContent = message ? `Error: ${message}` : "";
}

// ------------------------------------------------------------------ results

function render(gen, result) {
  const parts = [];
  if (result.notes.length) parts.push(el("div", { class: "notes" }, ...result.notes.map((n) => el("p", {}, n))));
  const runMeta = Object.entries(result).filter(([k, v]) => v != null && !["results", "notes", "generator"].includes(k));
  if (runMeta.length) parts.push(el("div", { class: "run-meta" }, ...runMeta.map(([k, v]) => chip(k, v))));
  const list = el("ol", { class: "outputs" });
  result.results.forEach((row, i) => list.append(output(gen, row, i)));
  parts.push(list);
  return parts;
}

function chip(key, value) {
  if (typeof value === "boolean") {
    return el("span", { class: `flag ${value ? "yes" : "no"}`, "data-key": key }, `${key.replace(/_/g, " ")} ${value ? "✓" : "✗"}`);
  }
  let shown = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
  const attrs = { class: "chip", "data-key": key };
  if (typeof value === "string" && /^(\/|[A-Za-z]:\\)/.test(value)) {  // a path on the server: its name, in full on hover
    attrs.title = value;
    shown = value.split(/[\\/]/).pop();
  }
  return el("span", attrs, `${key.replace(/_/g, " ")}: ${shown}`);
}

function isAbc(text) {
  return /^X:\s*\d+/m.test(text) && /^K:/m.test(text);
}

function output(gen, row, i) {
  const item = el("li", { class: "output" });
  const downloads = el("div", { class: "downloads" });
  const base = `${gen.name}-${i + 1}`;
  if (row.text != null) {
    if (row.text.includes("\n")) {
      item.append(el("pre", { class: "text" }, row.text));
      const suffix = isAbc(row.text) ? "abc" : "txt";
      const url = URL.createObjectURL(new Blob([row.text], { type: "text/plain" }));
      downloads.append(el("a", { href: url, download: `${base}.${suffix}`, "data-suffix": suffix }, `${suffix.toUpperCase()} text`));
    } else item.append(el("span", { class: "text" }, row.text));
  }
  const meta = Object.entries(row).filter(([k, v]) => v != null && !["text", "files"].includes(k));
  if (meta.length) item.append(el("div", { class: "flags" }, ...meta.map(([k, v]) => chip(k, v))));
  for (const [suffix, url] of Object.entries(row.files || {})) {
    if (suffix === "png" || suffix === "svg") {
      item.append(el("img", { src: url, alt: `${gen.name} output ${i + 1} (${suffix})`, "data-suffix": suffix }));
    } else if (["wav", "mp3", "ogg"].includes(suffix)) {
      item.append(el("audio", { src: url, controls: "", preload: "auto", "data-suffix": suffix }));
    }
    const label = suffix === "mid" || suffix === "midi" ? "MIDI" : suffix.toUpperCase();
    downloads.append(el("a", { href: url, download: `${base}.${suffix}`, "data-suffix": suffix }, label));
  }
  if (downloads.children.length) item.append(downloads);
  const files = row.files || {};
  const midi = files.mid || files.midi;
  if (midi && !files.wav) playable(item, midi, downloads);
  return item;
}

// MIDI without audio (an ABC tune's conversion): rendered to WAV here, by synth.js.
async function playable(item, url, before) {
  try {
    const wav = await midiToWav(url);
    if (!wav) return;
    const audio = el("audio", { src: URL.createObjectURL(wav), controls: "", preload: "auto",
      "data-suffix": "wav", "data-rendered": "page" });
    item.insertBefore(el("small", { class: "help" }, "MIDI played by this page's simple synthesizer:"), before);
    item.insertBefore(audio, before);
  } catch (error) {
    item.insertBefore(el("small", { class: "help" }, `(cannot play this MIDI here: ${error.message})`), before);
  }
}

init().catch((error) => showError(`could not load the generators (${error.message})`));
