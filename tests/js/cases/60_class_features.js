// More class features: setters with validation, static counters shared through inheritance, arrow-function fields capturing this,
// methods returning this for chaining, toString override used by String() and template literals, computed method names.
class Builder {
  static created = 0;
  parts = [];
  add = (p) => { this.parts.push(p); return this; };
  constructor(name) { this._name = name; Builder.created += 1; }
  get name() { return this._name.toUpperCase(); }
  set name(v) {
    if (typeof v !== 'string' || v === '') throw new TypeError('bad name');
    this._name = v;
  }
  sep(s) { this._sep = s; return this; }
  ['build' + 'It']() { return this.parts.join(this._sep ?? ','); }
  toString() { return `Builder(${this._name})`; }
}
class Special extends Builder {
  constructor() { super('special'); this.add('s0'); }
  get name() { return 'special:' + super.name; }
}
function main(data) {
  const b = new Builder('hdr');
  b.add('a').add('b').sep(';');
  const chained = b.add('c').buildIt();
  let err = 'none';
  try { b.name = ''; } catch (e) { err = e.name + ':' + e.message; }
  b.name = 'renamed';
  const s = new Special();
  const add = s.add;
  add('detached');
  data.out = [chained, b.name, err, String(b), `${b}`, 'x' + b, s.name, s.buildIt(), Builder.created, Special.created, Object.keys(b),
    typeof b.add, s instanceof Builder];
  return data;
}
