// expect: sip
// A thrown string of the form 'NNN Reason' is a SIP answer too (reason trimmed).
function main(data) {
  if (data.routing.dest_number.length > 10) throw '486 Busy Here ';
  return data;
}
