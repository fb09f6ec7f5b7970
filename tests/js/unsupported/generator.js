// expect: 3:1 generator|yield|function*
// Generator functions are refused at the `function` keyword.
function* carriers(list) {
  for (const e of list) yield e.carrier;
}
function main(data) {
  data.out = [...carriers(data.egress_routing)];
  return data;
}
