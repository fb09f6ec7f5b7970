-- Adds the customer id as a header on every attempt, and tags each carrier.
function main(data, ctx)
  table.insert(data.headers, { key = "X-Customer-ID", value = ctx.customer.id })
  for _, route in ipairs(data.egress_routing) do
    table.insert(route.headers, { key = "X-Carrier", value = route.carrier })
  end
  return data
end
