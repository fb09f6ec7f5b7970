// expect: error
// Returned data that breaks the contract (an egress entry without a gateway) fails the call.
function main(data) {
  data.egress_routing.push({ carrier: 'no-gateway' });
  return data;
}
