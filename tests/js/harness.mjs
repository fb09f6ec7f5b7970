// Node.js reference side of the JavaScript differential tests (issue 4).
//
//   TZ=UTC node tests/js/harness.mjs SCRIPT.js CALL.json [CTX.json]
//
// Runs SCRIPT's main(data, ctx) the way `sipforge run SCRIPT --data CALL.json
// --ctx CTX.json` does (src/script/dry_run.rs) and prints ONE line of JSON on
// stdout in the same shape:
//   * the returned data object                          exit 0
//   * {"sip": "NNN Reason"} for a SIP rejection          exit 0
//   * {"error": "..."} for any other failure             exit 1
//   * {"error": "..."} for unusable inputs / no main     exit 2
// console.log / ctx.log lines go to stderr as `console: LINE`, like sipforge.
//
// The script is loaded as an ES module (strict mode): it is copied to a temp
// .mjs file, with `export { main };` appended when it has no export.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { pathToFileURL } from 'node:url';

const DEFAULT_CTX = { secrets: {}, customer: { id: 'acme' } };

function emit(value, code) {
  let line;
  try {
    line = JSON.stringify(value);
  } catch (e) {
    line = JSON.stringify({ error: `the returned data cannot be printed: ${e.message}` });
    code = 1;
  }
  process.stdout.write(line + '\n');
  process.exitCode = code;
}

// sipforge settles promises synchronously and never aborts on an unobserved
// rejection; Node would kill the process for one.
process.on('unhandledRejection', () => {});

function consoleLine(...args) {
  process.stderr.write('console: ' + util.format(...args) + '\n');
}

// Everything a script may print goes to stderr; stdout carries only the result.
for (const k of ['log', 'info', 'warn', 'error', 'debug']) console[k] = consoleLine;

// src/script/vm.rs parse_status: `NNN Reason`, NNN in 300..699 (first digit
// 3..6), a reason that is non-empty after trimming and has no control chars.
function parseStatus(s) {
  const m = /^([3-6][0-9][0-9]) ([\s\S]*)$/.exec(s);
  if (!m) return null;
  const reason = m[2].trim();
  if (reason === '' || /[\u0000-\u001f\u007f-\u009f]/.test(reason)) return null;
  return m[1] + ' ' + reason;
}

// docs/javascript.md J.main: what a thrown (or rejected) value becomes.
function classify(e) {
  if (e instanceof Error) {
    const s = parseStatus(String(e.message));
    return s ? { sip: s } : { error: `${e.name}: ${e.message}` };
  }
  if (typeof e === 'string') {
    const s = parseStatus(e);
    return s ? { sip: s } : { error: `uncaught ${e}` };
  }
  if (Array.isArray(e) && typeof e[0] === 'number' && Number.isInteger(e[0]) &&
      e[0] >= 300 && e[0] <= 699 && typeof e[1] === 'string') {
    const s = parseStatus(`${e[0]} ${e[1]}`);
    if (s) return { sip: s };
  }
  let shown;
  try { shown = JSON.stringify(e); } catch { shown = String(e); }
  return { error: `uncaught ${shown}` };
}

// src/script/data.rs read_back: the contract checks sipforge applies to the
// returned data before it reports it (a violation is a failure, exit 1).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkHeaders(v, where) {
  if (v === undefined) return;
  if (!Array.isArray(v)) throw `${where} is not an array`;
  v.forEach((h, i) => {
    if (h === null || typeof h !== 'object') throw `${where}[${i}] is not {key, value}`;
    if (typeof h.key !== 'string' || !TOKEN.test(h.key)) throw `${where}[${i}].key is not a header name`;
    const val = h.value;
    if (typeof val === 'number') return;
    if (typeof val !== 'string') throw `${where}[${i}].value is not a string`;
    if (/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/.test(val)) throw `${where}[${i}].value has control characters`;
  });
}

function checkRemoves(v, where) {
  if (v === undefined) return;
  if (!Array.isArray(v)) throw `${where} is not an array`;
  v.forEach((h, i) => {
    const k = typeof h === 'string' ? h : h !== null && typeof h === 'object' ? h.key : undefined;
    if (typeof k !== 'string' || !TOKEN.test(k)) throw `${where}[${i}] is not a header name`;
  });
}

function checkNumberField(v, where) {
  if (v === undefined) return;
  let s;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw `${where} is not an integral number`;
    s = String(v);
  } else if (typeof v === 'string') {
    s = v;
  } else {
    throw `${where} is not a string`;
  }
  if (s === '' || /[\s@<>"]/.test(s) || CONTROL.test(s)) throw `${where} is not a usable number`;
}

function checkData(d) {
  if (d === null || typeof d !== 'object' || Array.isArray(d)) {
    throw `main returned ${d === null ? 'null' : Array.isArray(d) ? 'an array' : typeof d}; it must return the data object`;
  }
  let egress = d.egress_routing;
  if (egress === undefined && d.routing !== null && typeof d.routing === 'object') egress = d.routing.egress_routing;
  if (egress !== undefined) {
    if (!Array.isArray(egress)) throw 'egress_routing is not an array';
    egress.forEach((e, i) => {
      const w = `egress_routing[${i}]`;
      if (e === null || typeof e !== 'object') throw `${w} is not an object`;
      if (typeof e.gateway !== 'string' || !/^[^\s;:]+(:[0-9]{1,5})?(;.*)?$|^\[[0-9a-fA-F:.]+\](:[0-9]{1,5})?(;.*)?$/.test(e.gateway)) {
        throw `${w}.gateway is not host:port`;
      }
      if (e.transport !== undefined && !e.gateway.includes(';') &&
          !(typeof e.transport === 'string' && /^(udp|tcp)$/i.test(e.transport))) {
        throw `${w}.transport is not udp/tcp`;
      }
      if (e.carrier !== undefined && typeof e.carrier !== 'string') throw `${w}.carrier is not a string`;
      checkNumberField(e.dest_number, `${w}.dest_number`);
      checkNumberField(e.cli, `${w}.cli`);
      checkHeaders(e.headers, `${w}.headers`);
      checkRemoves(e.remove_headers, `${w}.remove_headers`);
    });
  }
  checkHeaders(d.headers, 'headers');
  checkRemoves(d.remove_headers, 'remove_headers');
}

async function main() {
  const [scriptPath, callPath, ctxPath] = process.argv.slice(2);
  if (!scriptPath || !callPath) {
    emit({ error: 'usage: node harness.mjs SCRIPT.js CALL.json [CTX.json]' }, 2);
    return;
  }
  let source, data, ctxJson;
  try {
    source = fs.readFileSync(scriptPath, 'utf8');
    data = JSON.parse(fs.readFileSync(callPath, 'utf8'));
    ctxJson = ctxPath ? JSON.parse(fs.readFileSync(ctxPath, 'utf8')) : DEFAULT_CTX;
  } catch (e) {
    emit({ error: String(e && e.message || e) }, 2);
    return;
  }
  // One shared array, as sipforge builds it.
  if (data.routing && typeof data.routing === 'object') data.routing.egress_routing = data.egress_routing;
  const ctx = {
    secrets: ctxJson.secrets ?? {},
    customer: { id: ctxJson.customer?.id ?? 'dry-run' },
    log: (...a) => consoleLine(...a),
  };

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipforge-js-'));
  let mod;
  try {
    const file = path.join(dir, path.basename(scriptPath).replace(/\.[^.]*$/, '') + '.mjs');
    const hasExport = /^\s*export\s/m.test(source);
    fs.writeFileSync(file, hasExport ? source : source + '\nexport { main };\n');
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    emit({ error: `${scriptPath}: ${e && e.message || e}` }, 2);
    return;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (typeof mod.main !== 'function') {
    emit({ error: `${scriptPath}: the script does not define main` }, 2);
    return;
  }

  let out;
  const orig = data.egress_routing;
  try {
    out = await mod.main(data, ctx);
  } catch (e) {
    const r = classify(e);
    emit(r, r.sip ? 0 : 1);
    return;
  }
  // sipforge's contract (docs/scripting.md): data.egress_routing and
  // data.routing.egress_routing are one array; if main replaced only one of
  // them, the replaced one wins and both point at it again.
  if (out !== null && typeof out === 'object' && out.routing !== null && typeof out.routing === 'object') {
    const top = out.egress_routing, nested = out.routing.egress_routing;
    const isObj = (v) => v !== null && typeof v === 'object';
    if (top !== nested) {
      if ((top === undefined || top === orig) && isObj(nested) && nested !== orig) out.egress_routing = nested;
      else if (top !== undefined) out.routing.egress_routing = top;
    }
  }
  try {
    checkData(out);
  } catch (msg) {
    emit({ error: String(msg) }, 1);
    return;
  }
  emit(out, 0);
}

await main();
