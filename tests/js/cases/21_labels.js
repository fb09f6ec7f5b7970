// Labeled break/continue across nested loops; break in for..of and while.
function main(data) {
  const found = [];
  outer: for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 5; j++) {
      if (j === 3) continue outer;
      if (i === 3) break outer;
      found.push(`${i}${j}`);
    }
  }
  const skipped = [];
  rows: for (const row of [[1, 2], [3, -1, 4], [5]]) {
    for (const v of row) {
      if (v < 0) continue rows;
      skipped.push(v);
    }
  }
  let n = 0;
  loop: while (true) {
    n++;
    do {
      if (n > 4) break loop;
      n += 2;
    } while (n % 2 === 0);
  }
  block: {
    found.push('in-block');
    if (n > 0) break block;
    found.push('never');
  }
  let k = 0;
  for (;;) { if (++k >= 7) break; if (k % 2) continue; found.push('k' + k); }
  data.out = [found, skipped, n, k];
  return data;
}
