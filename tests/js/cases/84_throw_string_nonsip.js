// expect: error
// A thrown string that is not 'NNN Reason' (code out of 300..699) is a script failure.
function main(data) {
  if (data.routing.cli) throw '200 OK';
  return data;
}
