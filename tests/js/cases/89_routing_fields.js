// call: call.json call-pai.json
// Every routing field as the script sees it: types, null for absent display/PAI, numbers for port/time, header map.
function main(data) {
  const r = data.routing;
  data.out = Object.keys(r).map((k) => `${k}:${r[k] === null ? 'null' : Array.isArray(r[k]) ? 'array' : typeof r[k]}`);
  data.out.push(r.from_display === null, r.pai === null, r.src_port + 1, r.time % 1000, r.egress_routing === data.egress_routing,
    Object.keys(data.egress_routing[0]), Object.keys(r.headers).length, typeof data.max_attempts, typeof data.rate, Array.isArray(data.dnc),
    data.cli_ranges[0].from.length, data.headers.map((h) => Object.keys(h).join('+')), data.remove_headers.map((h) => Object.keys(h).join('+')));
  return data;
}
