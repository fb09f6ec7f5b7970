// expect: sip
// Errors thrown from a catch block replace the original; a rethrown SIP error from a helper class method.
class Router {
  constructor(data) { this.data = data; }
  pick() {
    try {
      return this.data.egress_routing.find((e) => e.carrier === 'carrier-z').gateway;
    } catch (e) {
      if (e instanceof TypeError) throw new Error('404 No Route');
      throw e;
    }
  }
}
function main(data) {
  data.headers.push({ key: 'X-Gw', value: new Router(data).pick() });
  return data;
}
