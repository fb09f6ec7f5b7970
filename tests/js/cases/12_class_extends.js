// call: call.json call-premium.json
// expect: data sip
// extends / super(): constructor chaining, super.method(), overriding, static inheritance, Error subclasses.
class Base {
  constructor(name) { this.name = name; this.tags = ['base']; }
  hello() { return 'base:' + this.name; }
  kind() { return 'base'; }
  static make(n) { return new this(n); }
  static who() { return 'Base.who'; }
}
class Child extends Base {
  constructor(name, extra) {
    super(name.toUpperCase());
    this.extra = extra;
    this.tags.push('child');
  }
  hello() { return 'child(' + super.hello() + ')'; }
  static who() { return 'Child>' + super.who(); }
}
class GrandChild extends Child {
  kind() { return 'grand/' + super.kind(); }
}
class SipError extends Error {
  constructor(code, reason) {
    super(code + ' ' + reason);
    this.name = 'SipError';
    this.code = code;
  }
}
function main(data) {
  const c = new Child('ann', 42);
  const g = new GrandChild('bob');
  const m = GrandChild.make('cy');
  const e = new SipError(486, 'Busy Here');
  data.out = [c.hello(), c.kind(), c.tags, c.extra, g.hello(), g.kind(), g.extra === undefined, m.name, m instanceof Child,
    Child.who(), GrandChild.who(), e.message, e.name, e.code, e instanceof Error, e instanceof SipError, String(e),
    Object.keys(c)];
  if (data.routing.dest_number === '19005550100') throw new SipError(403, 'Forbidden');
  return data;
}
