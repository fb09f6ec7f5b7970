-- Only routes calls inside the customer's window, given in vars as
-- schedule = { week = "9-21" } (hours, UTC). Outside it: 480.
function main(data, ctx)
  local from, to = string.match(data.schedule.week, "^(%d+)-(%d+)$")
  if from == nil then
    error("schedule.week must look like \"9-21\"")
  end
  local hour = math.floor(data.routing.time / 3600000) % 24
  if hour < tonumber(from) or hour >= tonumber(to) then
    error({ code = 480, reason = "Outside Business Hours" })
  end
  return data
end
