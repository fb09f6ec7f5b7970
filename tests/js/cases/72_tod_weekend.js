// call: call-weekend.json call.json call-night.json
// Weekend schedule with minutes: "10-14" on Saturday, minutes-of-day arithmetic, zero-padded HH:MM strings and string comparison.
function toMinutes(hhmm) {
  const [h, m = '0'] = String(hhmm).split(':');
  return parseInt(h, 10) * 60 + parseInt(m, 10);
}
function main(data) {
  const t = new Date(data.routing.time);
  const hhmm = String(t.getUTCHours()).padStart(2, '0') + ':' + String(t.getUTCMinutes()).padStart(2, '0');
  const isWeekend = t.getUTCDay() === 0 || t.getUTCDay() === 6;
  const [open, close] = (isWeekend ? data.schedule.sat : data.schedule.week).split('-').map((h) => toMinutes(h));
  const mins = toMinutes(hhmm);
  data.out = [hhmm, isWeekend, open, close, mins, hhmm >= '08:00', hhmm < '10:00', mins >= open && mins < close];
  if (mins < open || mins >= close) {
    data.egress_routing = data.egress_routing.filter((e) => e.carrier === 'carrier-c');
    data.headers.push({ key: 'X-After-Hours', value: hhmm });
  }
  return data;
}
