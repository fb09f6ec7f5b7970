// `this`: methods, detached calls (undefined in strict mode), arrow capture, call-site objects.
function whoAmI() { return this === undefined ? 'undefined' : typeof this; }
function main(data) {
  const o = {
    name: 'obj',
    greet() { return 'hi ' + this.name; },
    later() { const f = () => this.name; return f(); },
    nested() { return [1, 2].map(function () { return this === undefined; }); },
    plain: whoAmI,
  };
  const detached = o.plain;
  const other = { name: 'other', greet: o.greet };
  data.out = [o.greet(), o.later(), o.nested(), o.plain(), detached(), whoAmI(), other.greet(), o['greet']()];
  class C {
    constructor() { this.v = 7; }
    get() { return this.v; }
    arrow() { return [1].map(() => this.v)[0]; }
  }
  const c = new C();
  data.out.push(c.get(), c.arrow());
  let caught = 'none';
  const g = c.get;
  try { g(); } catch (e) { caught = e instanceof TypeError ? 'TypeError' : 'other'; }
  data.out.push(caught);
  return data;
}
