// Template literals: interpolation of every kind of value, nesting, multi-line, escapes.
function main(data) {
  const r = data.routing;
  const n = null;
  let u;
  const arr = [1, [2, 3]];
  const obj = { a: 1 };
  data.out = [`${r.cli}->${r.dest_number}`, `${1 + 1}${'x'}${true}`, `${n}|${u}|${NaN}|${-0}|${1e21}|${0.1 + 0.2}`,
    `${arr}|${obj}|${[]}|${{}.x}`, `outer ${`inner ${r.transport.toUpperCase()}`} end`, `line1
line2	tab`, `\${not} \`tick\` \\ \u0041\x42`, `${data.egress_routing.map((e) => `<${e.carrier}>`).join('')}`,
    `sip:${r.dest_number}@${data.egress_routing[0].gateway};user=phone`, ``, `${''}`, `a${1}b${2}c`.length];
  return data;
}
