// regole playground: vanilla JavaScript, no build step, no library. Every text a person reads is Italian
// and kept in TESTI; every value from the server is put in the page as text (never as HTML).
"use strict";

const TESTI = {
  esito: { ammesso: "AMMESSA", respinto: "RESPINTA", indeterminato: "INDETERMINATA" },
  esitoRequisito: { soddisfatto: "✓", non_soddisfatto: "✗", indeterminato: "?" },
  esitoRequisitoParole: { soddisfatto: "soddisfatto", non_soddisfatto: "non soddisfatto", indeterminato: "non determinabile" },
  automatica: "automatica (secondo la data del caso)",
  nonNoto: "— non noto —",
  si: "sì",
  no: "no",
  mancanti: "Fatti mancanti per decidere",
  requisiti: "Requisiti",
  spiegazione: "Spiegazione",
  importi: "Importi e periodo",
  note: "Note",
  nessunCaso: "Scrivi i fatti del caso per vederne l'esito.",
  sceltaEsempio: (n) => `— ${n} casi di prova della misura —`,
  esitoAtteso: (d) => (d ? ` (atteso: ${d})` : ""),
  jsonNonValido: "JSON non valido: ",
  jsonNonOggetto: "Il caso deve essere un oggetto JSON { … }.",
  valutazione: "Valutazione in corso…",
  errori: "La richiesta non è andata a buon fine",
  nessunProblema: "Nessun problema trovato.",
  problemi: (e, w) => `${e} ${e === 1 ? "errore" : "errori"}, ${w} ${w === 1 ? "avviso" : "avvisi"}`,
  riga: (l, c) => (l ? `riga ${l}${c ? `, colonna ${c}` : ""}` : "intero testo"),
  suggerimento: "suggerimento: ",
  versioneForzata: "versione applicata per scelta, non per data",
  controllo: "Controllo in corso…",
  editorVuoto: "Carica una versione o scrivine una per controllarla.",
  modificaNonValida: "Correggi gli errori della versione per valutare il caso.",
  stessaDecisione: "Stesso esito con le due versioni.",
  decisioneDiversa: "L'esito cambia tra le due versioni.",
  soloIn: (lato) => `solo in ${lato}`,
  righeSpiegazione: "Righe della spiegazione che cambiano",
  nessunaDifferenza: "Le due versioni sono uguali.",
  sezioni: {
    version: "Versione", parameters: "Parametri", requirements: "Requisiti", derived: "Valori derivati",
    computations: "Calcoli", facts: "Fatti", notes: "Note", outputs: "Risultati", sources: "Fonti",
  },
  stati: { changed: "modificato", renamed: "rinominato", removed: "tolto", added: "aggiunto" },
  aspetti: {
    value: "valore", formula: "formula", condition: "condizione", title: "titolo", text: "testo", citation: "citazione",
    type: "tipo", label: "etichetta", optional: "facoltativo", description: "descrizione", kind: "genere", date: "data",
    confidence: "affidabilità", url: "url", note: "nota", period: "periodo", sources: "fonti",
    unconfirmed: "da verificare", inputs: "dati letti",
  },
  cambianoAnche: "cambiano anche: ",
  caricaPrima: "Scegli una versione di legge (non «automatica») per caricarne il testo.",
  mesi: ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
    "ottobre", "novembre", "dicembre"],
};

const stato = {
  famiglie: [],           // GET /rulesets
  schemi: {},             // family -> its facts JSON Schema
  schema: null,           // the facts JSON Schema of the chosen family
  descrizioni: {},        // version -> GET /rulesets/{family}/{version}: labels and types
  ultimaVersione: "",     // the version the case was last evaluated under
  esempi: [],             // the family's YAML test cases (GET /rulesets/{family}/examples)
  fatti: {},              // the case, as JSON
  richieste: {},          // the latest request of each kind (older answers are dropped)
};

// -- small helpers --------------------------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

async function chiedi(kind, url, options = {}) {
  // The answer of the latest request of this kind; null for an answer overtaken by a newer request.
  const id = (stato.richieste[kind] || 0) + 1;
  stato.richieste[kind] = id;
  const response = await fetch(url, options);
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (stato.richieste[kind] !== id) return null;
  return { ok: response.ok, status: response.status, body };
}

function euro(text) {
  // "1234.5" -> "1.234,50 €", as the engine writes money (Italian separators, a plain space).
  const value = String(text);
  const negative = value.startsWith("-");
  const [whole, cents = ""] = value.replace("-", "").split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  return `${negative ? "-" : ""}${grouped},${(cents + "00").slice(0, 2)} €`;
}

function dataItaliana(iso) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso));
  if (!match) return String(iso);
  return `${Number(match[3])} ${TESTI.mesi[Number(match[2]) - 1]} ${match[1]}`;
}

function tipi(version) {
  // name -> {label, type} of the facts, parameters, derived values and computations: those of ``version``
  // first, then those of the family's other versions (a fact may have a label in one version only).
  const out = {};
  const order = Object.keys(stato.descrizioni).filter((v) => v !== version);
  if (version && stato.descrizioni[version]) order.push(version);
  for (const v of order) {
    const d = stato.descrizioni[v];
    for (const group of [d.facts, d.derived, d.computations, d.parameters]) {
      for (const item of group || []) out[item.name] = { label: item.label, type: item.type };
    }
  }
  return out;
}

function maiuscola(text) { return text ? text[0].toUpperCase() + text.slice(1) : text; }

function mostra(value, type) {
  if (value === null || value === undefined) return "non noto";
  if (type === "money") return euro(value);
  if (type === "date") return dataItaliana(value);
  if (typeof value === "boolean") return value ? TESTI.si : TESTI.no;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function mostraProblema(body) {
  // An RFC 9457 problem: its Italian title, then each problem with its field path or line.
  const box = el("div", { class: "problem", role: "alert" }, el("strong", { text: body.title || TESTI.errori }));
  const list = el("ul");
  for (const p of body.problems || []) {
    const where = p.path || (p.line ? TESTI.riga(p.line, p.column) : "");
    list.append(el("li", {}, el("code", { text: p.code }), ` ${where ? where + ": " : ""}${p.message}`,
      p.hint ? el("span", { class: "hint", text: ` (${TESTI.suggerimento}${p.hint})` }) : null));
  }
  if (!(body.problems || []).length && body.detail) list.append(el("li", { text: body.detail }));
  box.append(list);
  return box;
}

// -- the result of one case ------------------------------------------------------------------------------------

function mostraRisultato(target, result) {
  target.replaceChildren();
  const names = tipi(result.version);
  const label = (name) => (names[name] && names[name].label) || "";
  const decision = el("div", { class: `decision ${result.decision}`, "data-decision": result.decision },
    el("span", { class: "decision-word", id: target.id + "-decision", text: TESTI.esito[result.decision] || result.decision }),
    el("span", { class: "decision-version", text: `${result.title} (versione ${result.version})` }));
  target.append(decision);
  if (result.provenance && result.provenance.forced_version) {
    target.append(el("p", { class: "hint", text: TESTI.versioneForzata }));
  }
  const outputs = result.outputs || {};
  const moneyNames = Object.keys(outputs).filter((n) => names[n] && names[n].type === "money");
  if (moneyNames.length) {
    target.append(el("div", { class: "amount", id: target.id + "-amount" }, el("span", { text: maiuscola(label(moneyNames[0]) || moneyNames[0]) + ": " }),
      el("strong", { text: mostra(outputs[moneyNames[0]], "money") })));
  }
  if (Object.keys(outputs).length) {
    const table = el("table", { class: "outputs" }, el("caption", { text: TESTI.importi }));
    for (const [name, value] of Object.entries(outputs)) {
      table.append(el("tr", {}, el("th", { text: maiuscola(label(name) || name) }), el("td", { text: mostra(value, names[name] && names[name].type) })));
    }
    target.append(table);
  }
  if ((result.missing_facts || []).length) {
    const missing = el("div", { class: "missing", id: target.id + "-missing" }, el("h3", { text: TESTI.mancanti }));
    const list = el("ul");
    for (const name of result.missing_facts) list.append(el("li", {}, el("code", { text: name }), label(name.split(".")[0]) ? ` ${label(name.split(".")[0])}` : ""));
    missing.append(list);
    target.append(missing);
  }
  const requirements = el("ul", { class: "requirements", id: target.id + "-requirements" });
  for (const r of result.requirements || []) {
    requirements.append(el("li", { class: r.outcome, title: TESTI.esitoRequisitoParole[r.outcome] || r.outcome, "data-id": r.id },
      el("span", { class: "mark", text: TESTI.esitoRequisito[r.outcome] || "?" }),
      el("span", { class: "title", text: r.title }),
      el("span", { class: "sources", text: (r.sources || []).join("; ") })));
  }
  target.append(el("h3", { text: TESTI.requisiti }), requirements);
  if ((result.notes || []).length) {
    const notes = el("ul", { class: "notes" });
    for (const n of result.notes) notes.append(el("li", { text: `${n.text} [${(n.sources || []).join("; ")}]` }));
    target.append(el("h3", { text: TESTI.note }), notes);
  }
  if (result.explanation_note) target.append(el("p", { class: "hint explanation-note", text: result.explanation_note }));
  if (result.explanation) {
    target.append(el("h3", { text: TESTI.spiegazione }), el("pre", { class: "explanation", id: target.id + "-explanation", text: result.explanation }));
  }
}

// -- the case: form and JSON -----------------------------------------------------------------------------------

function proprieta() {
  const schema = stato.schema || {};
  return Object.entries(schema.properties || {});
}

function tipoCampo(spec) {
  const ref = spec.$ref || "";
  if (spec.type === "boolean") return "boolean";
  if (ref.endsWith("/date") || spec.format === "date") return "date";
  if (Array.isArray(spec.enum)) return "enum";
  if (ref.endsWith("/money")) return "money";
  if (spec.type === "number" || spec.type === "integer") return "number";
  if (spec.type === "string") return "string";
  return "json";
}

function costruisciForm() {
  const form = document.getElementById("facts-form");
  form.replaceChildren();
  const names = tipi(versione() || stato.ultimaVersione);
  const required = new Set((stato.schema && stato.schema.required) || []);
  for (const [name, spec] of proprieta()) {
    const kind = tipoCampo(spec);
    const id = `fatto-${name}`;
    let control;
    if (kind === "boolean" || kind === "enum") {
      control = el("select", { id, name });
      control.append(el("option", { value: "", text: TESTI.nonNoto }));
      const choices = kind === "boolean" ? [["true", TESTI.si], ["false", TESTI.no]] : spec.enum.map((v) => [JSON.stringify(v), String(v)]);
      for (const [value, text] of choices) control.append(el("option", { value, text }));
    } else if (kind === "date") {
      // Text, not type=date: a browser shows a date field in its own locale (09/10/2024 may read as 9 October).
      control = el("input", { id, name, type: "text", placeholder: "AAAA-MM-GG", pattern: "\\d{4}-\\d{2}-\\d{2}", inputmode: "numeric" });
    } else if (kind === "json") {
      control = el("textarea", { id, name, rows: "2", spellcheck: "false", placeholder: spec.type === "array" ? "[ … ]" : "{ … }" });
    } else {
      control = el("input", { id, name, type: "text", inputmode: kind === "string" ? "text" : "decimal" });
    }
    control.dataset.kind = kind;
    control.addEventListener("input", () => daForm(control));
    control.addEventListener("change", () => daForm(control));
    const text = maiuscola((names[name] && names[name].label) || name);
    form.append(el("div", { class: "field" + (kind === "json" ? " json" : "") },
      el("label", { for: id, title: spec.description || "" }, text + (required.has(name) ? " *" : ""), el("code", { text: name })),
      control));
  }
  aggiornaForm();
}

function daForm(control) {
  const name = control.name;
  const raw = control.value.trim();
  control.classList.remove("invalid");
  if (raw === "") {
    delete stato.fatti[name];
  } else if (control.dataset.kind === "boolean" || control.dataset.kind === "enum") {
    stato.fatti[name] = JSON.parse(raw);
  } else if (control.dataset.kind === "json") {
    try { stato.fatti[name] = JSON.parse(raw); } catch (e) { control.classList.add("invalid"); return; }
  } else if (control.dataset.kind === "number") {
    stato.fatti[name] = Number(raw.replace(",", "."));
  } else {
    stato.fatti[name] = control.dataset.kind === "money" ? raw.replace(",", ".") : raw;
  }
  document.getElementById("facts-json").value = JSON.stringify(stato.fatti, null, 2);
  document.getElementById("facts-status").textContent = "";
  valutaPresto();
}

function aggiornaForm() {
  for (const [name] of proprieta()) {
    const control = document.getElementById(`fatto-${name}`);
    if (!control || control === document.activeElement) continue;
    const value = stato.fatti[name];
    const kind = control.dataset.kind;
    if (value === undefined) control.value = "";
    else if (kind === "boolean" || kind === "enum") control.value = JSON.stringify(value);
    else if (kind === "json") control.value = JSON.stringify(value);
    else control.value = String(value);
    control.classList.remove("invalid");
  }
}

function daJson() {
  const status = document.getElementById("facts-status");
  const text = document.getElementById("facts-json").value;
  let parsed;
  try {
    parsed = text.trim() === "" ? {} : JSON.parse(text);
  } catch (e) {
    status.textContent = TESTI.jsonNonValido + e.message;
    status.className = "status error";
    return;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    status.textContent = TESTI.jsonNonOggetto;
    status.className = "status error";
    return;
  }
  status.textContent = "";
  status.className = "status";
  stato.fatti = parsed;
  const other = famigliaDeiFatti(parsed);
  if (other && other !== famiglia()) {
    document.getElementById("family").value = other;  // the case is of another family: follow it
    scegliFamiglia();
    return;
  }
  aggiornaForm();
  valutaPresto();
}

function famigliaDeiFatti(facts) {
  // The only family whose facts schema names every field of the case, when the current one does not.
  const names = Object.keys(facts);
  const fits = (fam) => names.every((n) => n in ((stato.schemi[fam] || {}).properties || {}));
  if (!names.length || fits(famiglia())) return null;
  const found = stato.famiglie.map((f) => f.family).filter(fits);
  return found.length === 1 ? found[0] : null;
}

function famiglia() { return document.getElementById("family").value; }
function versione() { return document.getElementById("version").value; }
function corpoFatti() { return document.getElementById("facts-json").value.trim() ? JSON.stringify(stato.fatti) : "{}"; }

async function valuta() {
  const target = document.getElementById("case-result");
  if (!Object.keys(stato.fatti).length) {
    target.replaceChildren(el("p", { class: "hint", text: TESTI.nessunCaso }));
    return;
  }
  const params = new URLSearchParams({ family: famiglia(), explain: "true" });
  if (versione()) params.set("version", versione());
  target.classList.add("busy");
  const answer = await chiedi("valuta", `/evaluate?${params}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: corpoFatti() });
  if (answer === null) return;
  target.classList.remove("busy");
  if (answer.ok) {
    stato.ultimaVersione = answer.body.version;
    mostraRisultato(target, answer.body);
  } else {
    target.replaceChildren(mostraProblema(answer.body));
  }
  if (document.getElementById("tab-confronto").classList.contains("active")) confronta();
  if (editorValido) valutaModificata();
}

const valutaPresto = debounce(() => { valuta(); }, 200);

// -- the ruleset editor ----------------------------------------------------------------------------------------

let editorValido = false;
let testoValido = "";  // the last text check found no error in: the one an edited evaluation sends

function numeraRighe(problems = []) {
  const editor = document.getElementById("ruleset-editor");
  const gutter = document.getElementById("gutter");
  const count = editor.value.split("\n").length;
  const byLine = new Map();
  for (const p of problems) {
    if (!p.line) continue;
    const list = byLine.get(p.line) || [];
    list.push(p);
    byLine.set(p.line, list);
  }
  gutter.replaceChildren();
  for (let line = 1; line <= count; line += 1) {
    const found = byLine.get(line);
    const severity = found ? (found.some((p) => p.severity === "error") ? "error" : "warning") : "";
    const row = el("span", { class: `line ${severity}`, "data-line": String(line), text: String(line) });
    if (found) row.title = found.map((p) => `[${p.code}] ${p.message}`).join("\n");
    gutter.append(row, "\n");
  }
  gutter.scrollTop = editor.scrollTop;
}

function vaiA(line, column) {
  const editor = document.getElementById("ruleset-editor");
  const lines = editor.value.split("\n");
  let offset = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i += 1) offset += lines[i].length + 1;
  offset += Math.max(0, (column || 1) - 1);
  editor.focus();
  editor.setSelectionRange(offset, offset);
  const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 18;
  editor.scrollTop = Math.max(0, (line - 5) * lineHeight);
}

async function controlla() {
  const editor = document.getElementById("ruleset-editor");
  const status = document.getElementById("check-status");
  const list = document.getElementById("check-problems");
  if (!editor.value.trim()) {
    status.textContent = TESTI.editorVuoto;
    list.replaceChildren();
    numeraRighe();
    editorValido = false;
    return;
  }
  status.textContent = TESTI.controllo;
  const text = editor.value;
  const answer = await chiedi("controlla", "/check", { method: "POST", headers: { "Content-Type": "application/yaml" }, body: text });
  if (answer === null) return;
  list.replaceChildren();
  if (!answer.ok) {
    status.textContent = answer.body.title || TESTI.errori;
    status.className = "status error";
    for (const p of answer.body.problems || []) list.append(rigaProblema(p));
    numeraRighe(answer.body.problems || []);
    editorValido = false;
    return;
  }
  const report = answer.body;
  for (const p of report.problems) list.append(rigaProblema(p));
  numeraRighe(report.problems);
  status.textContent = report.problems.length ? TESTI.problemi(report.errors, report.warnings) : TESTI.nessunProblema;
  status.className = report.errors ? "status error" : "status ok";
  editorValido = report.errors === 0;
  testoValido = editorValido ? text : "";
  if (editorValido) valutaModificataPresto();
  else document.getElementById("edited-result").replaceChildren(el("p", { class: "hint", text: TESTI.modificaNonValida }));
}

function rigaProblema(p) {
  const item = el("li", { class: p.severity || "error", "data-line": String(p.line || ""), "data-code": p.code },
    el("button", { type: "button", class: "where", text: TESTI.riga(p.line, p.column) }),
    el("code", { text: p.code }), ` ${p.path ? p.path + ": " : ""}${p.message}`,
    p.hint ? el("span", { class: "hint", text: ` — ${TESTI.suggerimento}${p.hint}` }) : null);
  item.querySelector("button").addEventListener("click", () => vaiA(p.line || 1, p.column || 1));
  return item;
}

async function valutaModificata() {
  const target = document.getElementById("edited-result");
  if (!editorValido) return;  // the text changed since the check that allowed this evaluation
  if (!Object.keys(stato.fatti).length) {
    target.replaceChildren(el("p", { class: "hint", text: TESTI.nessunCaso }));
    return;
  }
  const body = JSON.stringify({ ruleset: testoValido, facts: stato.fatti, explain: true });
  const answer = await chiedi("modificata", "/evaluate/edited", { method: "POST", headers: { "Content-Type": "application/json" }, body });
  if (answer === null) return;
  if (answer.ok) mostraRisultato(target, answer.body);
  else target.replaceChildren(mostraProblema(answer.body));
}

// Each distinct edited text costs the server a rule network: evaluate it after a pause in typing only.
const valutaModificataPresto = debounce(() => { valutaModificata(); }, 700);

async function caricaRegole() {
  const status = document.getElementById("check-status");
  const versions = versioniDi(famiglia());
  const chosen = versione() || stato.ultimaVersione || (versions.length ? versions[versions.length - 1].version : "");
  if (!chosen) { status.textContent = TESTI.caricaPrima; return; }
  const answer = await chiedi("sorgente", `/rulesets/${encodeURIComponent(famiglia())}/${encodeURIComponent(chosen)}/source`);
  if (answer === null) return;
  if (!answer.ok) { status.textContent = answer.body.title || TESTI.errori; return; }
  document.getElementById("ruleset-editor").value = answer.body;
  numeraRighe();
  controlla();
}

// -- two versions ----------------------------------------------------------------------------------------------

async function confronta() {
  const a = document.getElementById("version-a").value;
  const b = document.getElementById("version-b").value;
  const fam = famiglia();
  if (!a || !b) return;
  const [diffAnswer] = await Promise.all([
    chiedi("diff", `/diff/${encodeURIComponent(`${fam}@${a}`)}/${encodeURIComponent(`${fam}@${b}`)}`),
    confrontaCaso(fam, a, b),
  ]);
  if (diffAnswer === null) return;
  const target = document.getElementById("diff-result");
  if (!diffAnswer.ok) { target.replaceChildren(mostraProblema(diffAnswer.body)); return; }
  mostraDiff(target, diffAnswer.body);
}

async function confrontaCaso(fam, a, b) {
  const target = document.getElementById("compare-result");
  if (!Object.keys(stato.fatti).length) {
    target.replaceChildren(el("p", { class: "hint", text: TESTI.nessunCaso }));
    return;
  }
  const params = new URLSearchParams({ a: `${fam}@${a}`, b: `${fam}@${b}` });
  const answer = await chiedi("confronta", `/compare?${params}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: corpoFatti() });
  if (answer === null) return;
  if (!answer.ok) { target.replaceChildren(mostraProblema(answer.body)); return; }
  const c = answer.body;
  const left = el("div", { class: "result", id: "compare-a" });
  const right = el("div", { class: "result", id: "compare-b" });
  mostraRisultato(left, c.results.a);
  mostraRisultato(right, c.results.b);
  const head = el("p", { class: c.same_decision ? "esito-uguale" : "esito-diverso", text: c.same_decision ? TESTI.stessaDecisione : TESTI.decisioneDiversa });
  const changes = el("ul", { class: "explanation-changes" });
  for (const change of c.explanation.changes) {
    changes.append(el("li", { class: change.side, text: `${change.side === "a" ? "−" : "+"} ${change.line}` }));
  }
  const parts = [head, el("div", { class: "columns" }, left, right)];
  if (c.explanation.changes.length) parts.push(el("h3", { text: TESTI.righeSpiegazione }), changes);
  target.replaceChildren(...parts);
}

function lato(side, aspect) {
  if (!side) return "";
  const value = side[aspect] !== undefined ? side[aspect] : side[aspect + "s"];
  if (value === undefined) return "";
  if (Array.isArray(value)) {
    return value.map((v) => (typeof v === "object" && v !== null
      ? `${v.from || ""}${v.to ? " – " + v.to : ""} ${v.value !== undefined ? v.value : JSON.stringify(v)}` : String(v))).join("; ");
  }
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

function mostraDiff(target, diff) {
  target.replaceChildren();
  if (diff.same) { target.append(el("p", { text: TESTI.nessunaDifferenza })); return; }
  for (const [section, changes] of Object.entries(diff.changes)) {
    if (!changes.length) continue;
    const box = el("details", { open: "" }, el("summary", { text: `${TESTI.sezioni[section] || section} (${changes.length})` }));
    const table = el("table", { class: "diff-table" });
    for (const change of changes) {
      const row = el("tr", { class: change.status },
        el("td", { class: "status", text: TESTI.stati[change.status] || change.status }),
        el("td", {}, el("strong", { text: change.label || change.id }), " ", el("code", { text: change.id })));
      const details = el("td");
      const others = [];
      for (const aspect of change.aspects || []) {
        const before = lato(change.old, aspect);
        const after = lato(change.new, aspect);
        const name = TESTI.aspetti[aspect] || aspect;
        if (!before && !after) { others.push(name); continue; }  // told inside the dated values, say
        details.append(el("div", { class: "aspect" }, el("em", { text: name + ": " }),
          el("span", { class: "old", text: before || "—" }), " → ", el("span", { class: "new", text: after || "—" })));
      }
      if (others.length) details.append(el("div", { class: "hint", text: TESTI.cambianoAnche + others.join(", ") }));
      if (change.note) details.append(el("div", { class: "hint", text: change.note }));
      row.append(details);
      table.append(row);
    }
    box.append(table);
    target.append(box);
  }
}

// -- choosing the family and the version -----------------------------------------------------------------------

function versioniDi(fam) {
  const found = stato.famiglie.find((f) => f.family === fam);
  return found ? found.versions : [];
}

async function scegliFamiglia() {
  const fam = famiglia();
  const versions = versioniDi(fam);
  const select = document.getElementById("version");
  select.replaceChildren(el("option", { value: "", text: TESTI.automatica }));
  for (const v of versions) {
    select.append(el("option", { value: v.version, text: `${v.version} · ${v.title} (${dataItaliana(v.valid_from)} – ${v.valid_to ? dataItaliana(v.valid_to) : "…"})` }));
  }
  for (const [id, index] of [["version-a", 0], ["version-b", versions.length - 1]]) {
    const other = document.getElementById(id);
    other.replaceChildren(...versions.map((v) => el("option", { value: v.version, text: `${v.version} · ${v.title}` })));
    if (versions.length) other.value = versions[Math.max(0, index)].version;
  }
  stato.schema = stato.schemi[fam] || null;
  await descrivi();
  await caricaEsempi(fam);
  const known = new Set(proprieta().map(([name]) => name));
  if (Object.keys(stato.fatti).some((name) => !known.has(name))) {
    stato.fatti = {};
    document.getElementById("facts-json").value = "";
  }
  costruisciForm();
  valuta();
}

async function descrivi() {
  const fam = famiglia();
  stato.descrizioni = {};
  for (const v of versioniDi(fam)) {
    const answer = await chiedi(`descrivi-${v.version}`, `/rulesets/${encodeURIComponent(fam)}/${encodeURIComponent(v.version)}`);
    if (answer !== null && answer.ok && fam === famiglia()) stato.descrizioni[v.version] = answer.body;
  }
}

async function caricaEsempi(fam) {
  // The family's own YAML test cases, to start a case from.
  const select = document.getElementById("examples");
  const answer = await chiedi("esempi", `/rulesets/${encodeURIComponent(fam)}/examples`);
  stato.esempi = answer !== null && answer.ok ? answer.body.examples : [];
  select.replaceChildren(el("option", { value: "", text: TESTI.sceltaEsempio(stato.esempi.length) }),
    ...stato.esempi.map((e, i) => el("option", { value: String(i), text: `${e.name}${TESTI.esitoAtteso(e.expected_decision)}` })));
}

function scegliEsempio() {
  const chosen = stato.esempi[Number(document.getElementById("examples").value)];
  if (!chosen) return;
  document.getElementById("version").value = chosen.law_version || "";
  document.getElementById("facts-json").value = JSON.stringify(chosen.facts, null, 2);
  costruisciForm();
  daJson();
}

function mostraScheda(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
  for (const panel of document.querySelectorAll(".panel")) panel.classList.toggle("active", panel.id === `tab-${name}`);
  if (name === "confronto") confronta();
  if (name === "regole" && !document.getElementById("ruleset-editor").value) caricaRegole();
}

async function avvia() {
  const answer = await chiedi("famiglie", "/rulesets");
  stato.famiglie = answer && answer.ok ? answer.body.families : [];
  const family = document.getElementById("family");
  family.replaceChildren(...stato.famiglie.map((f) => el("option", { value: f.family, text: f.family })));
  for (const f of stato.famiglie) {
    const schema = await chiedi(`schema-${f.family}`, `/rulesets/${encodeURIComponent(f.family)}/facts-schema`);
    if (schema !== null && schema.ok) stato.schemi[f.family] = schema.body;
  }
  family.addEventListener("change", scegliFamiglia);
  document.getElementById("version").addEventListener("change", () => { costruisciForm(); valuta(); });
  document.getElementById("facts-json").addEventListener("input", daJson);
  document.getElementById("examples").addEventListener("change", scegliEsempio);
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => mostraScheda(tab.dataset.tab));
  const editor = document.getElementById("ruleset-editor");
  const check = debounce(controlla, 250);
  editor.addEventListener("input", () => { editorValido = false; numeraRighe(); check(); });  // unchecked until check answers
  editor.addEventListener("scroll", () => { document.getElementById("gutter").scrollTop = editor.scrollTop; });
  document.getElementById("load-ruleset").addEventListener("click", caricaRegole);
  for (const id of ["version-a", "version-b"]) document.getElementById(id).addEventListener("change", confronta);
  await scegliFamiglia();
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", avvia);
