-- Presents a random CLI from the customer's number block
-- (vars: cli_block = { prefix = "1555010", digits = 4 } → 15550100000..15550109999).
-- Luau's math.random works on 32-bit integers, so the random part is the suffix.
function main(data, ctx)
  local block = data.cli_block
  local cli = block.prefix .. string.format("%0" .. block.digits .. "d", math.random(0, 10 ^ block.digits - 1))
  for _, route in ipairs(data.egress_routing) do
    route.cli = cli
  end
  return data
end
