// Tries the preferred carrier (vars.preferred_carrier) first, keeping the
// order of the others; drops a carrier the customer has blocked.
function main(data) {
  const usable = data.egress_routing.filter((r) => r.carrier !== data.blocked_carrier);
  const preferred = usable.filter((r) => r.carrier === data.preferred_carrier);
  const others = usable.filter((r) => r.carrier !== data.preferred_carrier);
  data.egress_routing = [...preferred, ...others];
  return data;
}
