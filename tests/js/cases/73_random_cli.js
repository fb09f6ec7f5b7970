// Random CLI from vars ranges (ScriptForge style): Math.random picks, output only records properties that do not depend on it,
// plus a deterministic pick hashed from the Call-ID.
function pickRandom(range) {
  const from = Number(range.from);
  const to = Number(range.to);
  return String(from + Math.floor(Math.random() * (to - from + 1)));
}
function hash(s) {
  let h = 7;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) % 1000003;
  return h;
}
function main(data) {
  const checks = [];
  for (let i = 0; i < 50; i++) {
    const r = data.cli_ranges[i % data.cli_ranges.length];
    const cli = pickRandom(r);
    checks.push(cli.length === r.from.length && cli >= r.from && cli <= r.to && isDigits(cli));
  }
  const h = hash(data.routing.call_id);
  const range = data.cli_ranges[h % data.cli_ranges.length];
  const span = Number(range.to) - Number(range.from) + 1;
  const cli = String(Number(range.from) + (h % span));
  for (const e of data.egress_routing) e.cli = cli;
  data.out = [checks.every(Boolean), checks.length, h, cli];
  return data;
}
function isDigits(s) { return /^\d+$/.test(s); }
