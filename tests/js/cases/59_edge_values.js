// Edge values through the returned data: undefined props dropped, undefined/NaN/Infinity in arrays become null, -0 prints 0,
// nested empty arrays and objects keep their kind, big and tiny numbers, unicode strings, deep nesting.
function main(data) {
  data.out = {
    undef: undefined,
    nul: null,
    arr: [undefined, null, NaN, Infinity, -Infinity, -0, 0, 1e21, 1e-7, 2 ** 53, 0.1 + 0.2, -1.5],
    emptyArr: [],
    emptyObj: {},
    nestedEmpty: [[], {}, [[]], { a: [] }],
    strings: ['', ' ', 'é', '😀', '\u0000', 'line\nbreak', '"quoted"', '\\'],
    deep: { a: { b: { c: { d: { e: 'deep' } } } } },
    bools: [true, false],
    ints: [0, 1, -1, 2147483647, -2147483648, 4294967295, 9007199254740991],
  };
  data.routing.cli = data.routing.cli;
  data.extra_undefined = undefined;
  data.egress_routing[0].headers.push({ key: 'X-Num', value: '5' });
  return data;
}
