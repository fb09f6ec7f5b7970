// expect: error
// new Error with a message that is not 'NNN Reason' → script failure.
function main(data) {
  if (data.egress_routing.length < 5) throw new Error('not enough carriers: ' + data.egress_routing.length);
  return data;
}
