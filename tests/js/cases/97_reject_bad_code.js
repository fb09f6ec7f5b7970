// expect: error
// Promise.reject with a code outside 300..699 is not a SIP answer → failure.
function main(data) {
  return Promise.reject([200, 'OK']);
}
