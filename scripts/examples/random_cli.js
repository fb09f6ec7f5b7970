// Presents a random CLI from the customer's number block
// (vars: cli_block = { prefix = "1555010", digits = 4 } → 15550100000..15550109999).
function main(data) {
  const { prefix, digits } = data.cli_block;
  const suffix = Math.floor(Math.random() * 10 ** digits);
  const cli = prefix + String(suffix).padStart(digits, '0');
  data.egress_routing.forEach((route) => {
    route.cli = cli;
  });
  return data;
}
