-- Refuses premium-rate destinations (NANP 1900, UK 449) with a SIP error.
local PREMIUM = { "1900", "449" }

function main(data, ctx)
  local number = data.routing.dest_number
  for _, prefix in ipairs(PREMIUM) do
    if string.sub(number, 1, #prefix) == prefix then
      ctx.log("blocked premium destination", number)
      error("403 Premium Destination Blocked")
    end
  end
  return data
end
