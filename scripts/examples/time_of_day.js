// Only routes calls inside the customer's window, given in vars as
// schedule = { week = "9-21" } (hours, UTC). Outside it: 480, in the
// ScriptForge legacy form Promise.reject([code, reason]).
async function main(data) {
  const m = /^(\d+)-(\d+)$/.exec(data.schedule.week);
  if (!m) throw new Error('schedule.week must look like "9-21"');
  const [from, to] = [Number(m[1]), Number(m[2])];
  const hour = new Date(data.routing.time).getUTCHours();
  if (hour < from || hour >= to) return Promise.reject([480, 'Outside Business Hours']);
  return data;
}
