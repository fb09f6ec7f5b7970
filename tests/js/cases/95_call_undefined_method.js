// expect: error
// Calling a method that does not exist (a typo) is a TypeError → failure.
function main(data) {
  data.egress_routing.sortBy((e) => e.carrier);
  return data;
}
