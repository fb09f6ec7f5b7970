// data.routing.egress_routing and data.egress_routing are one array until one of them is replaced.
function main(data) {
  const same1 = data.routing.egress_routing === data.egress_routing;
  data.routing.egress_routing.push({ carrier: 'pushed', gateway: '203.0.113.5:5060' });
  const len1 = data.egress_routing.length;
  data.egress_routing[0].cli = '15550003333';
  const seen = data.routing.egress_routing[0].cli;
  data.egress_routing = data.egress_routing.filter((e) => e.carrier !== 'carrier-b');
  const same2 = data.routing.egress_routing === data.egress_routing;
  data.out = [same1, len1, seen, same2, data.routing.egress_routing.length, data.egress_routing.length];
  return data;
}
