// seqkit serve --runs DIR: every run folder's metrics.jsonl as loss curves (SVG), its best and last
// step, and the command that resumes it. Read only; polls GET /api/runs while the page is open.
"use strict";

const $ = (id) => document.getElementById(id);
const SERIES = [["train_loss", "training loss", "#245fc4", ""], ["val_loss", "validation loss", "#b3261e", "6 4"]];
let refresh = 2;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function num(x) {
  return x == null ? "–" : Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(4);
}

function chart(run, rows) {
  const W = 600, H = 240, L = 52, R = 12, T = 12, B = 30;
  const points = rows.flatMap((r) => SERIES.filter(([k]) => r[k] != null).map(([k]) => [r.step, r[k]]));
  const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "curve", "data-run": run.name,
    "aria-label": `loss curves of ${run.name}: ${rows.length} evaluations, last at step ${run.last_step}` });
  if (!points.length) {
    box.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#545e6e" }, "no evaluations yet"));
    return box;
  }
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.min(...ys), y1 = Math.max(...ys, y0 + 1e-9);
  const X = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const Y = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  box.append(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#8a94a3" }),
             svg("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#8a94a3" }));
  for (const [y, anchor] of [[y1, T + 4], [y0, H - B]]) {
    box.append(svg("text", { x: L - 4, y: anchor, "text-anchor": "end", "font-size": 11, fill: "#1d2430" }, num(y)));
  }
  box.append(svg("text", { x: L, y: H - 8, "font-size": 11, fill: "#1d2430" }, `step ${x0}`),
             svg("text", { x: W - R, y: H - 8, "text-anchor": "end", "font-size": 11, fill: "#1d2430" }, `step ${x1}`));
  for (const [key, name, colour, dash] of SERIES) {
    const mine = rows.filter((r) => r[key] != null);
    if (!mine.length) continue;
    const d = mine.map((r, i) => `${i ? "L" : "M"}${X(r.step).toFixed(1)},${Y(r[key]).toFixed(1)}`).join(" ");
    box.append(svg("path", { d, fill: "none", stroke: colour, "stroke-width": 2, "stroke-dasharray": dash,
      "data-series": key, "data-points": mine.length }, svg("title", {}, name)));
  }
  if (run.best_step != null) {
    const best = rows.find((r) => r.step === run.best_step);
    const y = best && (best.val_loss != null ? best.val_loss : best.train_loss);
    if (y != null) box.append(svg("circle", { cx: X(run.best_step), cy: Y(y), r: 4, fill: "#1b6e2c" }, svg("title", {}, "best")));
  }
  return box;
}

function legend() {
  return el("p", { class: "legend" }, ...SERIES.map(([key, name]) => el("span", { class: `key-${key}` }, name)),
    el("span", { class: "best" }, "● best"));
}

async function item(run) {
  const detail = await (await fetch(`/api/runs/${run.name.split("/").map(encodeURIComponent).join("/")}`)).json();
  const rows = detail.rows || [];
  const facts = [
    run.task && `task ${run.task}`, run.arch && `arch ${run.arch}`,
    `last step ${run.last_step ?? "–"} (loss ${num(run.last_loss)})`,
    `best step ${run.best_step ?? "–"} (${run.best_on || "val"} loss ${num(run.best_loss)})`,
    run.going ? `training: updated ${Math.round(run.updated_seconds_ago)} s ago` : "not training now",
  ].filter(Boolean);
  return el("li", { class: "run card", "data-run": run.name },
    el("h3", {}, run.name === "." ? "this folder" : run.name),
    el("p", { class: "facts" }, facts.join(" · ")),
    chart(run, rows), legend(),
    el("p", { class: "help" }, "Resume it (after it stopped) with:"),
    el("pre", { class: "resume" }, run.resume));
}

async function update() {
  try {
    const answer = await (await fetch("/api/runs")).json();
    refresh = answer.refresh_seconds || refresh;
    const going = answer.runs.filter((r) => r.going).length;
    $("runs").replaceChildren(...await Promise.all(answer.runs.map(item)));
    $("runs-status").textContent = answer.runs.length ? `${answer.runs.length} run(s), ${going} training now` :
      "No run folders here yet (a folder with a metrics.jsonl, as seqkit TASK train --out writes).";
  } catch (error) {
    $("runs-status").textContent = `could not read the runs (${error.message}); trying again`;
  }
  setTimeout(update, refresh * 1000);
}

update();
