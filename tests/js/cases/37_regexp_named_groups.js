// Named capture groups: match().groups and $<name> in replacements.
function main(data) {
  const m = '2025-11-18'.match(/(?<y>\d{4})-(?<mo>\d{2})-(?<d>\d{2})/);
  data.out = [m.groups.y, m.groups.mo, m.groups.d, Object.keys(m.groups), 'A-B'.replace(/(?<first>\w)-(?<second>\w)/, '$<second>-$<first>'),
    /^sip:(?<user>[^@]+)@(?<host>.+)$/.exec(data.routing.from_uri).groups.host];
  return data;
}
