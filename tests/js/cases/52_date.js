// Date: from the call time, UTC getters, local getters (UTC under TZ=UTC), Date.UTC, toISOString, parsing ISO strings, arithmetic.
function main(data) {
  const d = new Date(data.routing.time);
  const g = (x) => [x.getFullYear(), x.getMonth(), x.getDate(), x.getDay(), x.getHours(), x.getMinutes(), x.getSeconds(), x.getMilliseconds()];
  const u = (x) => [x.getUTCFullYear(), x.getUTCMonth(), x.getUTCDate(), x.getUTCDay(), x.getUTCHours(), x.getUTCMinutes(), x.getUTCSeconds(), x.getUTCMilliseconds()];
  const parsed = ['2025-11-18T14:05:00Z', '2025-11-18T14:05:00.5+02:00', '2025-11-18', '2025-11', '2025', '2025-11-18T14:05', '1999-12-31T23:59:59.999Z',
    'not a date', '2025-11-18T25:00:00Z'].map((s) => { const t = new Date(s).getTime(); return Number.isNaN(t) ? 'NaN' : t; });
  const later = new Date(d.getTime() + 36 * 3600 * 1000);
  const bad = new Date('garbage');
  data.out = [d.getTime(), d.valueOf(), d.toISOString(), g(d), u(d), Date.UTC(2025, 10, 18, 14, 5), Date.UTC(2024, 1, 29), Date.UTC(2025, 12, 1),
    Date.UTC(2025, 0, 0, 24, 60, 60, 1000), parsed, later.toISOString(), later.getUTCDay(), new Date(0).toISOString(), new Date(-1).toISOString(),
    new Date(Date.UTC(2025, 0, 31)).getUTCDate(), new Date(2025, 0, 1).getTime(), new Date(2025, 0, 1, 9, 30).toISOString(), d - new Date(Date.UTC(2025, 10, 18)),
    isNaN(bad.getTime()), bad.getUTCHours(), Date.parse('2025-11-18T00:00:00Z'), typeof Date.now(), Date.now() > 1.7e12, new Date(d).getTime() === d.getTime(),
    ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()], new Date('2025-11-18T14:05:00.123Z') < d, +d === d.getTime()];
  return data;
}
