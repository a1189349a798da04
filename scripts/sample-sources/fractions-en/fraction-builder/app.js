// Fraction builder: cut a circle or a bar into equal parts, tap parts to shade them, and
// match the fraction asked for. Plain JavaScript, no network, no storage.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const MIN_PARTS = 1;
const MAX_PARTS = 12;

// Plain targets first, then targets to be made with a given number of parts
// (equivalent fractions). After the last one the list starts again.
const CHALLENGES = [
  { top: 1, bottom: 2 }, { top: 1, bottom: 4 }, { top: 3, bottom: 4 }, { top: 1, bottom: 3 },
  { top: 2, bottom: 3 }, { top: 2, bottom: 5 }, { top: 5, bottom: 6 }, { top: 3, bottom: 8 },
  { top: 7, bottom: 10 }, { top: 1, bottom: 2, using: 4 }, { top: 1, bottom: 2, using: 8 },
  { top: 1, bottom: 3, using: 6 }, { top: 3, bottom: 4, using: 8 }, { top: 2, bottom: 5, using: 10 },
  { top: 2, bottom: 3, using: 12 }, { top: 1, bottom: 4, using: 12 }, { top: 5, bottom: 5 },
];

const NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
  "nine", "ten", "eleven", "twelve"];
const PART_NAMES = {
  1: ["whole", "wholes"], 2: ["half", "halves"], 3: ["third", "thirds"],
  4: ["quarter", "quarters"], 5: ["fifth", "fifths"], 6: ["sixth", "sixths"],
  7: ["seventh", "sevenths"], 8: ["eighth", "eighths"], 9: ["ninth", "ninths"],
  10: ["tenth", "tenths"], 11: ["eleventh", "elevenths"], 12: ["twelfth", "twelfths"],
};

const state = { mode: "challenge", parts: 4, shaded: new Set(), shape: "circle", index: 0, stars: 0, solved: false };
const $ = (id) => document.getElementById(id);

function gcd(a, b) { return b === 0 ? a : gcd(b, a % b); }

function inWords(top, bottom) {
  const [one, many] = PART_NAMES[bottom];
  return `${NUMBER_WORDS[top]} ${top === 1 ? one : many}`;
}

function fractionElement(top, bottom) {
  const frac = document.createElement("span");
  frac.className = "frac";
  frac.setAttribute("role", "img");
  frac.setAttribute("aria-label", `${top} over ${bottom}`);
  for (const n of [top, bottom]) {
    const span = document.createElement("span");
    span.textContent = String(n);
    frac.appendChild(span);
  }
  return frac;
}

// Each piece of text gets its own span, so the flex gap separates it from a fraction.
function say(element, ...pieces) {
  element.replaceChildren(...pieces.map((piece) => {
    if (typeof piece !== "string") return piece;
    const span = document.createElement("span");
    span.textContent = piece;
    return span;
  }));
}

function sectorPath(i, parts) {
  const c = 150, r = 135;
  if (parts === 1) return `M${c},${c - r} A${r},${r} 0 1,1 ${c - 0.01},${c - r} Z`;
  const point = (k) => {
    const a = (2 * Math.PI * k) / parts;
    return `${(c + r * Math.sin(a)).toFixed(2)},${(c - r * Math.cos(a)).toFixed(2)}`;
  };
  return `M${c},${c} L${point(i)} A${r},${r} 0 0,1 ${point(i + 1)} Z`;
}

function partElement(i) {
  let el;
  if (state.shape === "circle") {
    el = document.createElementNS(SVG_NS, "path");
    el.setAttribute("d", sectorPath(i, state.parts));
  } else {
    const width = 280 / state.parts;
    el = document.createElementNS(SVG_NS, "rect");
    el.setAttribute("x", (10 + i * width).toFixed(2));
    el.setAttribute("y", "105");
    el.setAttribute("width", width.toFixed(2));
    el.setAttribute("height", "90");
  }
  el.setAttribute("class", state.shaded.has(i) ? "part on" : "part");
  el.setAttribute("tabindex", "0");
  el.setAttribute("role", "button");
  el.setAttribute("aria-pressed", String(state.shaded.has(i)));
  el.setAttribute("aria-label", `Part ${i + 1} of ${state.parts}`);
  el.addEventListener("click", () => toggle(i));
  el.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(i); }
  });
  return el;
}

function drawPicture() {
  const picture = $("picture");
  picture.setAttribute("viewBox", state.shape === "circle" ? "0 0 300 300" : "0 95 300 110");
  picture.replaceChildren();
  for (let i = 0; i < state.parts; i++) picture.appendChild(partElement(i));
}

function challenge() { return CHALLENGES[state.index % CHALLENGES.length]; }

function showTask() {
  const task = $("task");
  if (state.mode === "free") {
    say(task, "Choose the number of parts, then tap parts to shade them.");
    return;
  }
  const c = challenge();
  if (c.using) {
    say(task, "Make a fraction equal to", fractionElement(c.top, c.bottom), `using ${NUMBER_WORDS[c.using]} parts.`);
  } else {
    say(task, "Shade", fractionElement(c.top, c.bottom), `(${inWords(c.top, c.bottom)}).`);
  }
}

function showMade() {
  const made = $("made");
  const top = state.shaded.size, bottom = state.parts;
  if (top === 0) { say(made, "Tap a part to shade it."); return; }
  const pieces = ["You made", fractionElement(top, bottom), `${inWords(top, bottom)}`];
  const g = gcd(top, bottom);
  if (top === bottom) pieces.push("= one whole");
  else if (state.mode === "free" && g > 1) pieces.push("=", fractionElement(top / g, bottom / g));
  say(made, ...pieces);
}

function refresh() {
  $("parts").textContent = String(state.parts);
  $("fewer").disabled = state.parts <= MIN_PARTS;
  $("more").disabled = state.parts >= MAX_PARTS;
  const other = state.shape === "circle" ? "bar" : "circle";
  $("shape").textContent = other === "bar" ? "Bar" : "Circle";
  $("shape").setAttribute("aria-label", `Show a ${other}`);
  const challengeMode = state.mode === "challenge";
  $("mode-challenge").setAttribute("aria-pressed", String(challengeMode));
  $("mode-free").setAttribute("aria-pressed", String(!challengeMode));
  $("check").hidden = !challengeMode;
  $("next").hidden = !challengeMode;
  $("stars").textContent = challengeMode ? `Stars: ${state.stars} ${"\u2605".repeat(Math.min(state.stars, 10))}` : "";
  drawPicture();
  showTask();
  showMade();
}

function feedback(text, kind) {
  const el = $("feedback");
  el.textContent = text;
  el.className = "feedback" + (kind ? " " + kind : "");
}

function toggle(i) {
  if (state.shaded.has(i)) state.shaded.delete(i); else state.shaded.add(i);
  feedback("");
  refresh();
  const part = $("picture").children[i];
  if (part) part.focus();
}

function setParts(n) {
  state.parts = Math.min(MAX_PARTS, Math.max(MIN_PARTS, n));
  state.shaded.clear();
  feedback("");
  refresh();
}

function check() {
  const c = challenge();
  const top = state.shaded.size, bottom = state.parts;
  if (c.using && bottom !== c.using) {
    feedback(`Cut the whole into ${c.using} equal parts first: press + or \u2212 until Parts shows ${c.using}.`, "try");
    return;
  }
  if (top === 0) { feedback("Tap the parts to shade them first.", "try"); return; }
  const left = top * c.bottom, right = c.top * bottom;
  if (left === right) {
    const same = bottom === c.bottom ? `Yes! That is ${c.top}/${c.bottom}.` : `Yes! ${top}/${bottom} is the same amount as ${c.top}/${c.bottom}.`;
    if (!state.solved) state.stars += 1;
    state.solved = true;
    feedback(`${same} Press "Next challenge".`, "good");
    refresh();
  } else if (left < right) {
    feedback(`Not yet: ${top}/${bottom} is less than ${c.top}/${c.bottom}. Shade more.`, "try");
  } else {
    feedback(`Not yet: ${top}/${bottom} is more than ${c.top}/${c.bottom}. Shade fewer parts.`, "try");
  }
}

function nextChallenge() {
  state.index += 1;
  state.solved = false;
  state.shaded.clear();
  feedback("");
  refresh();
}

function setMode(mode) {
  state.mode = mode;
  state.shaded.clear();
  feedback("");
  refresh();
}

$("fewer").addEventListener("click", () => setParts(state.parts - 1));
$("more").addEventListener("click", () => setParts(state.parts + 1));
$("shape").addEventListener("click", () => { state.shape = state.shape === "circle" ? "bar" : "circle"; refresh(); });
$("clear").addEventListener("click", () => { state.shaded.clear(); feedback(""); refresh(); });
$("check").addEventListener("click", check);
$("next").addEventListener("click", nextChallenge);
$("mode-challenge").addEventListener("click", () => setMode("challenge"));
$("mode-free").addEventListener("click", () => setMode("free"));
refresh();
