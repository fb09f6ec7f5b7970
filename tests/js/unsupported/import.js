// expect: 3:1 import
// Importing modules is refused at the import declaration.
import { helper } from './helper.js';
export function main(data) {
  return helper(data);
}
