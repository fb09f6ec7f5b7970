// expect: error
// Reading a property of undefined is a TypeError: the call fails ({"error": ...}, 500 to the caller), never a silent nil.
function main(data) {
  const missing = data.routing.nonexistent;
  data.headers.push({ key: 'X-Value', value: missing.value });
  return data;
}
