// expect: error
// Forgetting `return data` is a failure (main returned undefined), not a silent pass-through.
function main(data) {
  data.headers.push({ key: 'X-Forgot', value: 'return' });
}
