// JSON.parse: all value kinds, key order (integer keys first), duplicate keys, unicode escapes, whitespace, errors as SyntaxError.
function main(data) {
  const p = JSON.parse('{"b":1,"a":[1,2.5,-0,1e3,true,false,null,"s"],"2":"x","1":{"n":null},"b":3}');
  const errs = ['{bad}', '', '[1,]', "{'a':1}", '01', 'undefined', '{"a":1}x', 'NaN'].map((s) => {
    try { JSON.parse(s); return 'ok'; } catch (e) { return e.name; }
  });
  data.out = [Object.keys(p), p.b, p.a, 1 / p.a[2] < 0, p['1'].n, JSON.parse('"\\u00e9\\n\\ud83d\\ude00"'), JSON.parse(' \t\n[ 1 , 2 ]\n'),
    JSON.parse('123'), JSON.parse('"str"'), JSON.parse('null'), JSON.parse('true'), JSON.parse('1E-2'), JSON.parse('-12.5e+1'), errs,
    JSON.parse(JSON.stringify(data.egress_routing)).length,
    JSON.parse('12345678901234567890'), JSON.parse('[1e400]')];
  return data;
}
