// A small synthesizer of our own: MIDI bytes -> a WAV Blob, for outputs that come with a MIDI file
// but no audio (an ABC tune converted to MIDI), so the page can play them in an <audio> element.
// Each note is a few decaying harmonics: enough to hear the tune, not a piano.
"use strict";

const SYNTH_RATE = 22050;
const SYNTH_MAX_SECONDS = 600;

function midiNotes(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const text = (at) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (text(0) !== "MThd") throw new Error("not a MIDI file");
  const tracks = view.getUint16(10);
  const division = view.getUint16(12);
  if (division & 0x8000) throw new Error("SMPTE time is not supported");
  const events = [];  // [tick, order, kind, a, b]
  let at = 8 + view.getUint32(4);
  for (let t = 0; t < tracks && at + 8 <= bytes.length; t++) {
    if (text(at) !== "MTrk") throw new Error("bad MIDI track");
    const end = Math.min(bytes.length, at + 8 + view.getUint32(at + 4));
    at += 8;
    let tick = 0, status = 0;
    const vlq = () => { let v = 0, b; do { b = bytes[at++]; v = (v << 7) | (b & 0x7f); } while (b & 0x80 && at < end); return v; };
    while (at < end) {
      tick += vlq();
      let byte = bytes[at];
      if (byte & 0x80) { status = byte; at++; }
      if (status === 0xff) {
        const type = bytes[at++], length = vlq();
        if (type === 0x51 && length === 3) events.push([tick, events.length, "tempo", (bytes[at] << 16) | (bytes[at + 1] << 8) | bytes[at + 2]]);
        at += length;
      } else if (status === 0xf0 || status === 0xf7) {
        at += vlq();
      } else {
        const kind = status & 0xf0, a = bytes[at++], b = kind === 0xc0 || kind === 0xd0 ? 0 : bytes[at++];
        const channel = status & 0x0f;
        if (kind === 0x90 && b > 0) events.push([tick, events.length, "on", a + 128 * channel, b]);
        else if (kind === 0x80 || kind === 0x90) events.push([tick, events.length, "off", a + 128 * channel]);
      }
    }
    at = end;
  }
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let tempo = 500000, lastTick = 0, seconds = 0;
  const open = new Map(), notes = [];
  for (const [tick, , kind, a, b] of events) {
    seconds += ((tick - lastTick) * tempo) / (division * 1e6);
    lastTick = tick;
    if (kind === "tempo") tempo = a;
    else if (kind === "on") open.set(a, [seconds, b]);
    else if (open.has(a)) {
      const [start, velocity] = open.get(a);
      open.delete(a);
      notes.push({ start, end: Math.max(seconds, start + 0.05), pitch: a % 128, velocity });
    }
  }
  return notes;
}

function renderNotes(notes) {
  const seconds = Math.min(SYNTH_MAX_SECONDS, notes.reduce((most, n) => Math.max(most, n.end + 0.5), 0.5));
  const samples = new Float32Array(Math.ceil(seconds * SYNTH_RATE));
  for (const n of notes) {
    const freq = 440 * 2 ** ((n.pitch - 69) / 12);
    const first = Math.floor(n.start * SYNTH_RATE);
    if (first >= samples.length) continue;
    const length = Math.min(samples.length - first, Math.floor((n.end - n.start + 0.3) * SYNTH_RATE));
    const held = (n.end - n.start) * SYNTH_RATE;
    for (let i = 0; i < length; i++) {
      const t = i / SYNTH_RATE;
      const release = i > held ? Math.exp(-(i - held) / (0.05 * SYNTH_RATE)) : 1;
      const w = 2 * Math.PI * freq * t;
      samples[first + i] += (n.velocity / 127) * Math.exp(-3 * t) * release *
        (Math.sin(w) + 0.4 * Math.sin(2 * w) + 0.2 * Math.sin(3 * w));
    }
  }
  return samples;
}

function wavBlob(samples) {
  let peak = 0;
  for (const v of samples) peak = Math.max(peak, Math.abs(v));
  const scale = peak > 0 ? (0.9 * 32767) / peak : 0;
  const buffer = new ArrayBuffer(44 + 2 * samples.length);
  const view = new DataView(buffer);
  const ascii = (at, s) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, "RIFF"); view.setUint32(4, 36 + 2 * samples.length, true); ascii(8, "WAVEfmt ");
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, SYNTH_RATE, true); view.setUint32(28, 2 * SYNTH_RATE, true);
  view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  ascii(36, "data"); view.setUint32(40, 2 * samples.length, true);
  samples.forEach((v, i) => view.setInt16(44 + 2 * i, Math.round(v * scale), true));
  return new Blob([buffer], { type: "audio/wav" });
}

// A WAV Blob for the MIDI at `url`, or null when it has no notes.
async function midiToWav(url) {
  const notes = midiNotes(await (await fetch(url)).arrayBuffer());
  return notes.length ? wavBlob(renderNotes(notes)) : null;
}
