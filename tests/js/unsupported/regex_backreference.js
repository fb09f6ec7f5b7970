// expect: 4:7|4:12 backreference|back-reference|\1
// Regex backreferences are refused (the literal or the `\1`).
function main(data) {
  if (/(\d)\1\1/.test(data.routing.dest_number)) throw new Error('403 Forbidden');
  return data;
}
