// Number normalisation with regexes and string functions: E.164, national formats, extensions, validation.
function e164(raw, country = '1') {
  let n = String(raw).trim();
  const ext = n.match(/(?:;ext=|x)(\d+)$/);
  if (ext) n = n.slice(0, ext.index);
  n = n.replace(/[^\d+]/g, '');
  if (n.startsWith('+')) return { n: n.slice(1), ext: ext ? ext[1] : null };
  if (n.startsWith('00')) return { n: n.slice(2), ext: ext ? ext[1] : null };
  if (n.startsWith('0')) return { n: '44' + n.slice(1), ext: null };
  if (n.length === 10) return { n: country + n, ext: ext ? ext[1] : null };
  return { n, ext: ext ? ext[1] : null };
}
function main(data) {
  const inputs = ['+1 (555) 123-4567', '001 555 123 4567', '020 7900 0012', '5551234567', '15551234567x89', 'sip:+447700900123',
    '  +44 20 7900 0000;ext=12 ', '12', '', data.routing.dest_number];
  data.out = inputs.map((i) => {
    const { n, ext } = e164(i);
    return `${n}|${ext}|${/^[1-9]\d{7,14}$/.test(n)}`;
  });
  const uriUser = data.routing.to_uri.replace(/^sips?:/, '').split('@')[0];
  data.routing.dest_number = e164(uriUser).n;
  data.egress_routing.forEach((e) => { e.dest_number = data.routing.dest_number; });
  data.out.push(uriUser);
  return data;
}
