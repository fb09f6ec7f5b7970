// expect: 5:5 setter|set
// Setters in object literals are refused at the property.
function main(data) {
  const info = {
    set dest(v) {
      data.routing.dest_number = v;
    },
  };
  info.dest = '1555';
  return data;
}
