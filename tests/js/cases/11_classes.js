// Classes: constructor, methods, getters/setters, static methods and fields, instance fields.
class Route {
  static count = 0;
  weight = 1;
  constructor(carrier, gateway) {
    this.carrier = carrier;
    this.gateway = gateway;
    Route.count++;
  }
  get host() { return this.gateway.split(':')[0]; }
  get port() { return Number(this.gateway.split(':')[1] || 5060); }
  set port(p) { this.gateway = this.host + ':' + p; }
  describe() { return `${this.carrier}@${this.host}:${this.port} w=${this.weight}`; }
  static from(entry) { return new Route(entry.carrier, entry.gateway); }
  static get label() { return 'Route(' + Route.count + ')'; }
}
function main(data) {
  const routes = data.egress_routing.map((e) => Route.from(e));
  routes[1].port = 5070;
  routes[2].weight = 5;
  const r = routes[0];
  data.out = [routes.map((x) => x.describe()), Route.count, Route.label, r.host, r.port, Object.keys(r),
    typeof Route, typeof r.describe, r instanceof Route, 'host' in r, Object.keys(r).includes('host'),
    JSON.stringify(r), r.constructor === Route];
  return data;
}
