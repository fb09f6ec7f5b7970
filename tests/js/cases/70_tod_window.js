// call: call.json call-night.json call-weekend.json
// expect: data sip sip
// ScriptForge-style time-of-day routing: the window comes from vars ("9-21" strings), compared with the call's UTC hour.
function inWindow(spec, hour) {
  if (!spec) return false;
  const [from, to] = spec.split('-');
  // string vs number comparisons on purpose: "9" <= 14 is numeric, "9" <= "14" would not be
  return hour >= from && hour < to;
}
function main(data) {
  const now = new Date(data.routing.time);
  const day = now.getUTCDay();
  const hour = now.getUTCHours();
  const spec = day === 0 ? data.schedule.sun : day === 6 ? data.schedule.sat : data.schedule.week;
  const open = inWindow(spec, hour);
  data.headers.push({ key: 'X-Window', value: `${spec ?? 'closed'} ${hour}h ${open ? 'open' : 'closed'}` });
  data.out = [day, hour, spec, open, '9' <= hour, '9' <= String(hour), hour < '21', inWindow('9-21', 8), inWindow('9-21', 9), inWindow('9-21', 21),
    inWindow('22-6', 23)];
  if (!open) throw new Error('480 Temporarily Unavailable');
  return data;
}
