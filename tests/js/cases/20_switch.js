// switch: fallthrough, default in the middle, strict matching, blocks with let, return inside.
function classify(x) {
  const out = [];
  switch (x) {
    case 1:
      out.push('one');
    case 2:
      out.push('two');
      break;
    case '1':
      out.push('string-one');
      break;
    default:
      out.push('default');
    case 3: {
      let y = 'three';
      out.push(y);
    }
    case 4:
      out.push('four');
      break;
    case null:
      return ['null'];
  }
  return out;
}
function prefixClass(dest) {
  switch (true) {
    case dest.startsWith('1900'): return 'premium';
    case dest.startsWith('1'): return 'nanp';
    case dest.startsWith('44'): return 'uk';
    default: return 'other';
  }
}
function main(data) {
  data.out = [1, 2, '1', 3, 4, 5, null, undefined, 0].map(classify);
  data.out.push(prefixClass(data.routing.dest_number), prefixClass('447700900123'), prefixClass('33123'), prefixClass('19001'));
  let t = '';
  switch (data.routing.transport) {
    case 'tcp': t = 'T'; break;
    case 'udp': t = 'U';
    case 'tls': t += 'S'; break;
  }
  data.out.push(t);
  return data;
}
