// seqkit serve: the page, built from GET /api/generators (each generator's parameter schema, its
// menus, ranges, page help and examples) and the results of POST /api/run/{name}. Nothing here
// knows which plugins exist: a third-party generator gets its card, menus and sliders from its schema.
"use strict";

const $ = (id) => document.getElementById(id);
const DONE = ["done", "error", "cancelled"];
const UPLOADS = [".mid", ".midi", ".abc"];  // what the server takes: MIDI and ABC only
const RETRY_SECONDS = 5;  // a full queue (429) without Retry-After: try again after this long
const SLIDER_SPAN = 100_000;  // a wider range gets a text box only
const PIANO_HINT = "For a piano sound instead of sine tones, install FluidSynth and a General MIDI SoundFont " +
  "where the server runs (Debian/Ubuntu: apt-get install fluidsynth fluid-soundfont-gm; macOS: brew install " +
  "fluid-synth), then pip install pyfluidsynth, and restart seqkit serve. seqkit doctor checks it.";
let generators = [];
let current = null;
let job = null;  // the job being followed: {id, generator} (or {retrying: true} while a full queue waits)
const uploaded = {};  // param name -> a File an example put in (a file input cannot be set by script)

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function bytes(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.round(n / 1024)} kB`;
}

function labelOf(p) {
  return p.name.replace(/_/g, " ");
}

async function init() {
  const answer = await (await fetch("/api/generators")).json();
  generators = answer.generators;
  const limits = answer.limits;
  $("limits").textContent = `uploads up to ${bytes(limits.max_upload_bytes)}, ` +
    `${limits.max_tokens.toLocaleString("en")} tokens per request, one run at a time per model`;
  $("runs-link").hidden = !answer.runs;
  const nav = $("generators");
  for (const g of generators) {
    const button = el("button", { type: "button", "data-name": g.name }, g.name, el("small", {}, g.plugin || g.task));
    button.addEventListener("click", () => { location.hash = encodeURIComponent(g.name); closeMenu(); });
    nav.append(button);
  }
  $("start-link").addEventListener("click", closeMenu);
  $("menu-toggle").addEventListener("click", () => {
    const open = !nav.classList.contains("open");
    nav.classList.toggle("open", open);
    $("menu-toggle").setAttribute("aria-expanded", String(open));
  });
  $("cards").replaceChildren(...generators.map(card));
  $("form").addEventListener("submit", (event) => { event.preventDefault(); run(); });
  $("form").addEventListener("input", showCommands);
  $("form").addEventListener("change", showCommands);
  $("cancel").addEventListener("click", cancel);
  window.addEventListener("hashchange", select);
  select();
}

function closeMenu() {
  $("generators").classList.remove("open");
  $("menu-toggle").setAttribute("aria-expanded", "false");
}

// ------------------------------------------------------------------ the start page

function card(g) {
  const item = el("li", { class: "card", "data-name": g.name });
  const example = g.examples[0];
  item.append(el("h3", {}, example ? example.title : g.name));
  item.append(el("p", {}, example && example.description ? example.description : g.description));
  if (example) {
    const button = el("button", { type: "button", class: "try", "data-example": g.name }, `Run: ${example.title}`);
    button.addEventListener("click", () => openExample(g, 0));
    item.append(button);
  }
  const open = el("button", { type: "button", class: "open" }, `Open ${g.name} with all its settings`);
  open.addEventListener("click", () => { location.hash = encodeURIComponent(g.name); select(); });
  item.append(open);
  const model = g.params.find((p) => p.name === "model");
  if (model && model.choices && model.choices.length > 1) {  // a task's other models: one click away
    const also = el("p", { class: "also" }, "Models:");
    for (const name of model.choices) {
      const pick = el("button", { type: "button", "data-model": name }, name);
      pick.addEventListener("click", () => {
        location.hash = encodeURIComponent(g.name);
        select();
        setValue(model, name);
        showCommands();
      });
      also.append(pick);
    }
    item.append(also);
  }
  return item;
}

async function openExample(g, index) {
  location.hash = encodeURIComponent(g.name);
  select();
  const example = g.examples[index];
  for (const [name, value] of Object.entries(example.values)) {
    const p = g.params.find((q) => q.name === name);
    if (p) setValue(p, value);
  }
  try {
    for (const name of example.files) {
      setBusy(true, "fetching the example's file…");
      const response = await fetch(`/api/examples/${encodeURIComponent(g.name)}/${index}/${encodeURIComponent(name)}`);
      if (!response.ok) throw new Error((await response.json()).error);
      const filename = (/filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "") || [])[1] || name;
      uploaded[name] = new File([await response.blob()], filename);
      const note = $(`p-${name}-example`);
      if (note) { note.textContent = `using ${filename} (the example's file)`; note.hidden = false; }
    }
  } catch (error) {
    setBusy(false, "");
    showError(`could not fetch the example's file (${error.message})`);
    return;
  }
  setBusy(false, "");
  showCommands();
  run();
}

// ------------------------------------------------------------------ a generator's form

function select() {
  const name = decodeURIComponent(location.hash.slice(1));
  const chosen = generators.find((g) => g.name === name) || null;
  if (chosen !== null && chosen === current && !$("panel").hidden) return;  // already open (an example set it)
  if (job) cancel();
  current = chosen;
  for (const button of $("generators").querySelectorAll("button")) {
    button.setAttribute("aria-current", String(current !== null && button.dataset.name === current.name));
  }
  if (current) $("start-link").removeAttribute("aria-current");
  else $("start-link").setAttribute("aria-current", "page");
  $("start").hidden = current !== null;
  $("panel").hidden = current === null;
  $("results").replaceChildren();
  showError(null);
  $("status").textContent = "";
  for (const key of Object.keys(uploaded)) delete uploaded[key];
  if (!current) {
    document.title = "seqkit";
    if (!generators.length) $("start-title").textContent = "No generators registered";
    return;
  }
  document.title = `${current.name} · seqkit`;
  $("gen-title").textContent = current.name;
  $("gen-description").textContent = current.description;
  $("gen-meta").textContent = [current.plugin && `plugin ${current.plugin}`, current.task && `task ${current.task}`]
    .filter(Boolean).join(" · ");
  $("fields").replaceChildren(...current.params.map(field));
  showCommands();
}

function rangeText(p) {
  if (p.choices && p.choices.length) return "";
  const lo = p.min, hi = p.max;
  if (hi != null && hi > 1e12) return lo != null ? ` (at least ${lo})` : "";
  if (lo != null && hi != null) return p.above_min ? ` (above ${lo}, at most ${hi})` : ` (${lo} to ${hi})`;
  if (lo != null) return p.above_min ? ` (above ${lo})` : ` (at least ${lo})`;
  if (hi != null) return ` (at most ${hi})`;
  return "";
}

function sliderRange(p) {
  if (p.type !== "int" && p.type !== "float") return null;
  const hi = p.max != null && p.max <= 1e12 ? p.max : p.soft_max;
  if (p.min == null || hi == null || hi - p.min > SLIDER_SPAN || hi <= p.min) return null;
  const span = hi - p.min;
  const step = p.type === "int" ? 1 : span <= 2 ? 0.05 : span <= 20 ? 0.1 : Math.pow(10, Math.floor(Math.log10(span)) - 2);
  return { min: p.min, max: hi, step };
}

function field(p) {
  const id = `p-${p.name}`;
  const helpId = `${id}-help`;
  let input;
  let control;
  const choices = p.choices && p.choices.length ? p.choices : null;
  if (p.type === "bool") {
    input = el("input", { type: "checkbox", id, name: p.name });
    input.checked = Boolean(p.default);
  } else if (choices) {  // a closed choice, or a menu of the known values (countries, installed models, devices)
    input = el("select", { id, name: p.name });
    if (p.default == null) {  // no value sent: the generator's default where its help names one, else a choice to make
      const named = p.type === "choice" || /default/i.test(`${p.help} ${p.page_help}`);
      input.append(el("option", { value: "" }, named ? "(default)" : "(choose)"));
    }
    for (const c of choices) input.append(el("option", { value: c }, c));
    if (p.default != null && !choices.includes(String(p.default))) input.append(el("option", { value: p.default }, p.default));
    if (p.default != null) input.value = String(p.default);
  } else if (p.type === "file") {
    input = el("input", { type: "file", id, name: p.name });
    const accept = (p.accept || UPLOADS).filter((a) => UPLOADS.includes(a.toLowerCase()));
    input.accept = accept.join(",");
    if (!accept.length) input.disabled = true;  // e.g. a SoundFont: this server takes no such upload
    input.addEventListener("change", () => {
      delete uploaded[p.name];
      $(`${id}-example`).hidden = true;
    });
  } else if (p.type === "list") {
    input = el("textarea", { id, name: p.name, rows: "3", placeholder: "one per line" });
    if (Array.isArray(p.default)) input.value = p.default.join("\n");
  } else {  // str, int, float: the server checks them, with the command line's messages
    input = el("input", { type: "text", id, name: p.name, autocomplete: "off" });
    if (p.type !== "str") input.inputMode = p.type === "int" ? "numeric" : "decimal";
    if (p.default != null) input.value = String(p.default);
    else input.placeholder = "(default)";
    const range = sliderRange(p);
    if (range) {  // a slider, its value shown (and editable) in the box beside it
      const slider = el("input", { type: "range", id: `${id}-slider`, min: range.min, max: range.max, step: range.step,
        "aria-label": `${labelOf(p)} (slider)`, "aria-describedby": helpId });
      slider.value = p.default != null ? p.default : range.min;
      slider.addEventListener("input", () => { input.value = slider.value; showCommands(); });
      input.addEventListener("input", () => { if (input.value.trim() !== "" && isFinite(input.value)) slider.value = input.value; });
      control = el("div", { class: "slider" }, slider, input);
    }
  }
  input.setAttribute("aria-describedby", helpId);
  const label = el("label", { for: id }, labelOf(p) + (p.required ? " *" : ""));
  let helpText = `${p.page_help || p.help}${rangeText(p)}`;
  if (input.disabled) helpText += " (not on this page: it takes MIDI and ABC uploads only)";
  const help = el("small", { class: "help", id: helpId }, helpText);
  const parts = [label, control || input, help];
  if (p.type === "file") parts.push(el("small", { class: "help", id: `${id}-example`, hidden: "" }));
  return el("div", { class: `field type-${p.type}`, "data-param": p.name }, ...parts);
}

function setValue(p, value) {
  const input = $(`p-${p.name}`);
  if (!input) return;
  if (p.type === "bool") input.checked = Boolean(value);
  else if (p.type === "list") input.value = (Array.isArray(value) ? value : [value]).join("\n");
  else if (p.type !== "file") {
    if (input.tagName === "SELECT" && ![...input.options].some((o) => o.value === String(value))) {
      input.append(el("option", { value: String(value) }, String(value)));
    }
    input.value = String(value);
    const slider = $(`p-${p.name}-slider`);
    if (slider) slider.value = value;
  }
}

// The form's values: [name, value] pairs (a list gives several; a file gives a File).
function values(gen) {
  const out = [];
  for (const p of gen.params) {
    const input = $(`p-${p.name}`);
    if (p.type === "bool") out.push([p.name, input.checked]);
    else if (p.type === "file") {
      const file = input.files.length ? input.files[0] : uploaded[p.name];
      if (file) out.push([p.name, file]);
    } else if (p.type === "list") {
      for (const line of input.value.split("\n")) if (line.trim()) out.push([p.name, line.trim()]);
    } else if (input.value.trim() !== "") out.push([p.name, input.value.trim()]);
  }
  return out;
}

function formData(gen) {
  const data = new FormData();
  for (const [name, value] of values(gen)) data.append(name, typeof value === "boolean" ? String(value) : value);
  return data;
}

// ------------------------------------------------------------------ same from the terminal

function quote(text) {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${String(text).replace(/'/g, "'\\''")}'`;
}

function cliCommand(gen) {
  const words = ["seqkit", ...(gen.command || gen.name).split(" ")];
  const given = values(gen);
  for (const p of gen.params) {
    const mine = given.filter(([name]) => name === p.name).map(([, v]) => v);
    const flag = (p.flags.find((f) => f.startsWith("--")) || p.flags[0]).split("/");
    if (p.type === "bool") {
      const on = mine[0] === true;
      if (on === Boolean(p.default)) continue;
      words.push(on ? flag[0] : flag[1] || `--no-${flag[0].replace(/^--/, "")}`);
      continue;
    }
    if (!mine.length) continue;
    if (p.type !== "list" && p.type !== "file" && String(mine[0]) === String(p.default)) continue;
    for (const v of mine) {
      const text = v instanceof File ? v.name : String(v);
      if (p.argument) words.push(quote(text));
      else words.push(flag[0], quote(text));
    }
  }
  return words.join(" ");
}

function curlCommand(gen) {
  const url = `${location.origin}/api/run/${encodeURIComponent(gen.name)}`;
  const given = values(gen).filter(([name, v]) => {
    const p = gen.params.find((q) => q.name === name);
    return p.type === "list" || p.type === "file" || String(v) !== String(p.default);
  });
  if (given.some(([, v]) => v instanceof File)) {  // an upload: multipart/form-data
    const parts = given.map(([name, v]) => `-F ${quote(`${name}=${v instanceof File ? "@" + v.name : v}`)}`);
    return `curl ${parts.join(" ")} ${url}`;
  }
  const body = {};
  for (const [name, v] of given) {
    const p = gen.params.find((q) => q.name === name);
    if (p.type === "list") (body[name] = body[name] || []).push(v);
    else if (p.type === "int" || p.type === "float") body[name] = isFinite(v) ? Number(v) : v;
    else body[name] = v;
  }
  return `curl -H 'content-type: application/json' -d ${quote(JSON.stringify(body))} ${url}`;
}

function showCommands() {
  if (!current) return;
  $("cli-command").textContent = cliCommand(current);
  $("curl-command").textContent = curlCommand(current);
}

// ------------------------------------------------------------------ running, waiting, retrying

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function run() {
  showError(null);
  $("results").replaceChildren();
  setBusy(true, "sending…");
  const gen = current;
  const mine = { retrying: true, generator: gen.name };
  job = mine;
  try {
    for (;;) {
      const response = await fetch(`/api/run/${encodeURIComponent(gen.name)}?wait=false`, { method: "POST", body: formData(gen) });
      const answer = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
      if (job !== mine) return;  // cancelled, or another generator chosen, meanwhile
      if (response.status === 429) {  // a full queue: try again by itself, as the server says when
        const wait = Math.max(1, Math.ceil(Number(response.headers.get("retry-after")) || RETRY_SECONDS));
        for (let left = wait; left > 0; left--) {
          setBusy(true, `the queue is full (${answer.error}); trying again in ${left} s`);
          await sleep(1000);
          if (job !== mine) return;
        }
        continue;
      }
      if (!response.ok) throw new Error(answer.error);
      job = answer;
      await follow(gen);
      return;
    }
  } catch (error) {
    if (job !== mine && job !== null && job.id) return;
    job = null;
    showError(error.message);
    setBusy(false, "");
  }
}

function seconds(s) {
  if (s < 60) return `${Math.max(1, Math.round(s))} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

async function follow(gen) {
  while (job && job.id && job.generator === gen.name) {
    const answer = await (await fetch(`/api/jobs/${job.id}`)).json();
    if (!job || answer.id !== job.id) return;
    if (answer.status === "queued") {
      setBusy(true, answer.position > 0 ? `waiting in the queue: position ${answer.position + 1}, ` +
        `${answer.position} ahead of you` : "waiting in the queue: next");
    }
    if (answer.status === "running") progress(answer.progress, answer.timing || {});
    if (DONE.includes(answer.status)) return finish(gen, answer);
    await sleep(300);
  }
}

function progress({ done, total, label }, timing) {
  const bar = $("progress");
  if (total > 0) { bar.max = total; bar.value = done; } else bar.removeAttribute("value");
  const what = label ? `${label}: ` : "running: ";
  let text = total > 0 ? `${what}${done} of ${total}` : done > 0 ? `${what}${done}` : `${label || "running"}…`;
  if (timing.per_second) {
    const unit = /token/i.test(label || "") ? "tokens" : "steps";
    text += ` · ${timing.per_second.toLocaleString("en")} ${unit}/s`;
    if (timing.eta != null) text += ` · about ${seconds(timing.eta)} left`;
  }
  setBusy(true, text);
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
  if (id) await fetch(`/api/jobs/${id}/cancel`, { method: "POST" });
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
  if (!result.results.length) parts.push(el("p", { class: "notes" }, "Nothing was made this time."));
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
  const files = row.files || {};
  const midi = files.mid || files.midi;
  if (row.text != null) {
    if (row.text.includes("\n")) {
      item.append(el("pre", { class: "text" }, row.text));
      // a generator that saves .abc files, or text that reads as ABC: an .abc download, headers or not
      const suffix = isAbc(row.text) || (gen.files || []).includes("abc") ? "abc" : "txt";
      const url = URL.createObjectURL(new Blob([row.text], { type: "text/plain" }));
      downloads.append(el("a", { href: url, download: `${base}.${suffix}`, "data-suffix": suffix }, `${suffix.toUpperCase()} text`));
    } else item.append(el("span", { class: "text" }, row.text));
  }
  const meta = Object.entries(row).filter(([k, v]) => v != null && !["text", "files"].includes(k));
  if (meta.length) item.append(el("div", { class: "flags" }, ...meta.map(([k, v]) => chip(k, v))));
  const silent = row.notes === 0;  // a piece without notes: nothing to hear, and the page says so
  if (silent) {
    item.append(el("p", { class: "hint", "data-hint": "empty" }, "This piece has no notes, so there is nothing to " +
      "play (the notes above say why). Run again with another seed, or a higher temperature."));
  }
  for (const [suffix, url] of Object.entries(files)) {
    if (suffix === "png" || suffix === "svg") {
      item.append(el("img", { src: url, alt: `${gen.name} output ${i + 1} (${suffix})`, "data-suffix": suffix }));
    } else if (["wav", "mp3", "ogg"].includes(suffix) && !silent) {
      item.append(el("audio", { src: url, controls: "", preload: "auto", "data-suffix": suffix,
        "aria-label": `${gen.name} output ${i + 1} audio` }));
    }
    const label = suffix === "mid" || suffix === "midi" ? "MIDI" : suffix.toUpperCase();
    downloads.append(el("a", { href: url, download: `${base}.${suffix}`, "data-suffix": suffix }, label));
  }
  if (typeof row.synth === "string" && /no fluidsynth/i.test(row.synth) && !silent) {
    item.append(el("p", { class: "hint", "data-hint": "piano" }, PIANO_HINT));
  }
  if (downloads.children.length) item.append(downloads);
  if (midi && !files.wav && !silent) playable(item, midi, downloads);
  return item;
}

// MIDI without audio (an ABC tune's conversion): rendered to WAV here, by synth.js.
async function playable(item, url, before) {
  try {
    const wav = await midiToWav(url);
    if (!wav) {
      item.insertBefore(el("p", { class: "hint", "data-hint": "empty" }, "This MIDI has no notes to play."), before);
      return;
    }
    const audio = el("audio", { src: URL.createObjectURL(wav), controls: "", preload: "auto",
      "data-suffix": "wav", "data-rendered": "page", "aria-label": "the MIDI, played by this page" });
    item.insertBefore(el("small", { class: "help" }, "MIDI played by this page's simple synthesizer (sine tones; " +
      "the MIDI download sounds like a piano in any music player)."), before);
    item.insertBefore(audio, before);
  } catch (error) {
    item.insertBefore(el("small", { class: "help" }, `(cannot play this MIDI here: ${error.message})`), before);
  }
}

init().catch((error) => showError(`could not load the generators (${error.message})`));
