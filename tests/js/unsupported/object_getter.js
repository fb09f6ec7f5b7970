// expect: 5:5 getter|get
// Getters in object literals are refused at the property (classes support them).
function main(data) {
  const info = {
    get dest() {
      return data.routing.dest_number;
    },
  };
  data.out = info.dest;
  return data;
}
