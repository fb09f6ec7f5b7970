// Carrier filtering and appending: drop TCP gateways, rewrite numbers to E.164 with +, append a fallback entry with only a gateway.
function main(data) {
  const kept = data.egress_routing.filter((e) => e.transport !== 'tcp');
  for (const e of kept) {
    e.dest_number = '+' + e.dest_number;
    if (e.gateway.endsWith(':5080')) e.gateway = e.gateway.replace(/:5080$/, ':5060');
  }
  kept.push({ gateway: '203.0.113.250:5060' });
  kept.push({ carrier: 'backup', gateway: 'sbc.backup.example:5061;transport=tcp', cli: 15550001111 });
  data.egress_routing = kept;
  data.out = kept.map((e) => `${e.carrier ?? '-'}:${e.gateway}:${e.dest_number ?? 'default'}`);
  return data;
}
