// benches/compare/route.js: the sipforge side of route.lua / proxy.lua's
// header add (../shared/anchors/kamailio). sipforge has already done the
// longest-prefix match and put the gateway in data.egress_routing; the
// matched prefix itself is not in `data`, so it is found again here in the
// same 22-prefix table (tests/compare_configs.rs keeps it in sync with
// route.lua) and sent as X-Route-Prefix. No match: sipforge answers 404
// (no routes), as Kamailio does. One difference on the wire: in a 302,
// sipforge carries data.headers as URI headers of the Contact
// (<sip:N@gw?X-Route-Prefix=4420>) where Kamailio adds a reply header; in
// proxy mode both add the header to the forwarded INVITE.
const PREFIXES = {
  '1': true,
  '1212': true,
  '1415': true,
  '1646': true,
  '1900': true,
  '1905': true,
  '20': true,
  '27': true,
  '30': true,
  '31': true,
  '33': true,
  '34': true,
  '39': true,
  '44': true,
  '4420': true,
  '45': true,
  '46': true,
  '49': true,
  '61': true,
  '81': true,
  '86': true,
  '91': true,
};
const MAXLEN = 4;

export function main(data, ctx) {
  const user = data.routing.dest_number;
  for (let l = Math.min(user.length, MAXLEN); l >= 1; l--) {
    const p = user.slice(0, l);
    if (PREFIXES[p] === true) {
      data.headers.push({ key: 'X-Route-Prefix', value: p });
      break;
    }
  }
  return data;
}
