-- Tries the preferred carrier (vars.preferred_carrier) first, keeping the
-- order of the others; drops a carrier the customer has blocked.
function main(data, ctx)
  local preferred, others = {}, {}
  for _, route in ipairs(data.egress_routing) do
    if route.carrier == data.blocked_carrier then
      -- skip
    elseif route.carrier == data.preferred_carrier then
      table.insert(preferred, route)
    else
      table.insert(others, route)
    end
  end
  for _, route in ipairs(others) do
    table.insert(preferred, route)
  end
  data.egress_routing = preferred
  return data
end
