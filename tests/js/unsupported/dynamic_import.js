// expect: 4:21 import
// Dynamic import() is refused at the import expression.
async function main(data) {
  const mod = await import('./helper.js');
  return mod.helper(data);
}
