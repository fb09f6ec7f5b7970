//! Integration tests of the JavaScript built-ins (lib_string, lib_array,
//! lib_number, lib_math, lib_date, lib_regexp, lib_collections), run directly
//! on the runtime with `test_state()`. Each case is a Luau expression over the
//! runtime ABI and the value Node 20 gives for the JavaScript it mirrors (the
//! comment above it), both rendered by the same `show` function.

use mlua::Lua;

/// Luau helpers for the cases: `A(...)` array, `O(k, v, ...)` object,
/// `R(src, flags)` regex literal, `I(o, k, ...)` method call, `E(f, ...)` the
/// "Name: message" of the JS error `f(...)` throws, and `show(v)`.
const PRELUDE: &str = r##"
local J = __js
local G = J.G
local M, D = G.Math, G.Date
local function I(o, k, ...) return J.invoke(o, k, ...) end
local function A(...) return J.arr(select("#", ...), ...) end
local function O(...)
  local o = J.obj({})
  local n = select("#", ...)
  for i = 1, n, 2 do J.set(o, (select(i, ...)), (select(i + 1, ...))) end
  return o
end
local function R(src, flags) return J.regex(src, flags) end
local function E(f, ...)
  local ok, e = pcall(f, ...)
  if ok then return "no error" end
  local v = J.catch(e)
  return J.tostr(J.get(v, "name")) .. ": " .. J.tostr(J.get(v, "message"))
end
local function gt1(_, v) return v > 1 end
local function gt5(_, v) return v > 5 end
local show
local function quote(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" elseif c == "\n" then return "\\n"
    elseif c == "\r" then return "\\r" elseif c == "\t" then return "\\t" end
    return string.format("\\u%04x", string.byte(c))
  end)
  -- lone surrogates (3-byte WTF-8) as \uXXXX, like JSON.stringify
  s = string.gsub(s, "\237([\160-\191])(.)", function(b2, b3)
    return string.format("\\u%04x", 0xD000 + (string.byte(b2) - 0x80) * 64 + (string.byte(b3) - 0x80))
  end)
  return '"' .. s .. '"'
end
show = function(v)
  local t = type(v)
  if v == nil then return "undefined" end
  if v == J.null then return "null" end
  if t == "string" then return quote(v) end
  if t == "number" then
    if v == 0 and 1 / v < 0 then return "-0" end
    return J.tostr(v)
  end
  if t == "boolean" then return J.tostr(v) end
  if J.isarray(v) then
    local p = {}
    for i = 1, v[0] do p[i] = show(v[i]) end
    for _, k in ipairs(J.ownkeys(v)) do
      if not string.match(k, "^%d+$") then p[#p + 1] = k .. ":" .. show(J.get(v, k)) end
    end
    return "[" .. table.concat(p, ",") .. "]"
  end
  if J.instanceof(v, G.Date) then return "Date(" .. show(I(v, "getTime")) .. ")" end
  if J.instanceof(v, G.RegExp) then return J.tostr(v) end
  if J.instanceof(v, G.Map) then return "Map" .. show(J.arrextend(A(), v)) end
  if J.instanceof(v, G.Set) then return "Set" .. show(J.arrextend(A(), v)) end
  if J.typeof(v) == "function" then return "function" end
  local p = {}
  for _, k in ipairs(J.ownkeys(v)) do p[#p + 1] = k .. ":" .. show(J.get(v, k)) end
  return "{" .. table.concat(p, ",") .. "}"
end
"##;

fn state() -> Lua {
    sipforge::js::runtime::test_state()
        .expect("runtime loads")
        .0
}

/// Evaluates each Luau expression and compares `show(value)` with Node's.
fn check(cases: &[(&str, &str)]) {
    let lua = state();
    let mut failures = Vec::new();
    for (expr, expected) in cases {
        let src = format!("{PRELUDE}\nreturn show({expr})");
        let got = match lua.load(&src).set_name("=case").eval::<String>() {
            Ok(s) => s,
            Err(e) => format!("ERROR: {e}"),
        };
        if got != *expected {
            failures.push(format!("{expr}\n  expected {expected}\n  got      {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ from Node:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn string() {
    check(&[
        // "a,b,,c".split(",", 2)
        (r#"I("a,b,,c", "split", ",", 2)"#, r#"["a","b"]"#),
        // "a,b,,c".split(",")
        (r#"I("a,b,,c", "split", ",")"#, r#"["a","b","","c"]"#),
        // "abc".split("")
        (r#"I("abc", "split", "")"#, r#"["a","b","c"]"#),
        // "".split(",")
        (r#"I("", "split", ",")"#, r#"[""]"#),
        // "abc".split()
        (r#"I("abc", "split")"#, r#"["abc"]"#),
        // "a1b2c3".split(/\d/)
        (
            r#"I("a1b2c3", "split", R("\\d", ""))"#,
            r#"["a","b","c",""]"#,
        ),
        // "a1b2c3".split(/(\d)/, 4)
        (
            r#"I("a1b2c3", "split", R("(\\d)", ""), 4)"#,
            r#"["a","1","b","2"]"#,
        ),
        // "test".split(/(t)?/)
        (
            r#"I("test", "split", R("(t)?", ""))"#,
            r#"["","t","e",undefined,"s","t",""]"#,
        ),
        // "a, b ,c".split(/\s*,\s*/)
        (
            r#"I("a, b ,c", "split", R("\\s*,\\s*", ""))"#,
            r#"["a","b","c"]"#,
        ),
        // "aXbX".replace("X", "[$&|$`|$'|$$|$1]")
        (
            r#"I("aXbX", "replace", "X", "[$&|$`|$'|$$|$1]")"#,
            r#""a[X|a|bX|$|$1]bX""#,
        ),
        // "2024-01-02".replace(/(\d+)-(\d+)-(\d+)/, "$3/$2/$1")
        (
            r#"I("2024-01-02", "replace", R("(\\d+)-(\\d+)-(\\d+)", ""), "$3/$2/$1")"#,
            r#""02/01/2024""#,
        ),
        // "abc".replace(/(b)/, "[$1|$2|$01|$10]")
        (
            r#"I("abc", "replace", R("(b)", ""), "[$1|$2|$01|$10]")"#,
            r#""a[b|$2|b|b0]c""#,
        ),
        // "abc".replace(/(?<n>b)/, "[$<n>|$<m>]")
        (
            r#"I("abc", "replace", R("(?<n>b)", ""), "[$<n>|$<m>]")"#,
            r#""a[b|]c""#,
        ),
        // "aaa".replace(/a*?/g, "-")
        (r#"I("aaa", "replace", R("a*?", "g"), "-")"#, r#""-a-a-a-""#),
        // "xaxa".replaceAll("", "-")
        (r#"I("xaxa", "replaceAll", "", "-")"#, r#""-x-a-x-a-""#),
        // "a.b.c".replaceAll(".", "/")
        (r#"I("a.b.c", "replaceAll", ".", "/")"#, r#""a/b/c""#),
        // "Hello World".replace(/o/g, (m, off) => "<" + off + ">")
        (
            r#"I("Hello World", "replace", R("o", "g"), function(_, m, off) return "<" .. J.tostr(off) .. ">" end)"#,
            r#""Hell<4> W<7>rld""#,
        ),
        // "héllo".replace(/l/g, (m, i) => i)
        (
            r#"I("héllo", "replace", R("l", "g"), function(_, m, i) return i end)"#,
            r#""hé23o""#,
        ),
        // "abc".replace("b", (...a) => a.length)
        (
            r##"I("abc", "replace", "b", function(_, ...) return select("#", ...) end)"##,
            r#""a3c""#,
        ),
        // "héllo wörld".slice(1, -2)
        (r#"I("héllo wörld", "slice", 1, -2)"#, r#""éllo wör""#),
        // "héllo".substring(4, 1)
        (r#"I("héllo", "substring", 4, 1)"#, r#""éll""#),
        // "héllo".substr(-3, 2)
        (r#"I("héllo", "substr", -3, 2)"#, r#""ll""#),
        // ["héllo".indexOf("l"), "héllo".lastIndexOf("l"), "abcabc".indexOf("c", 3), "abc".indexOf("")]
        (
            r#"A(I("héllo", "indexOf", "l"), I("héllo", "lastIndexOf", "l"), I("abcabc", "indexOf", "c", 3), I("abc", "indexOf", ""))"#,
            r#"[2,3,5,0]"#,
        ),
        // ["abc".includes("bc"), "abc".startsWith("b", 1), "abc".endsWith("b", 2), "abc".endsWith("c")]
        (
            r#"A(I("abc", "includes", "bc"), I("abc", "startsWith", "b", 1), I("abc", "endsWith", "b", 2), I("abc", "endsWith", "c"))"#,
            r#"[true,true,true,true]"#,
        ),
        // ["abc".padStart(6, "12"), "abc".padEnd(6), "abc".padStart(2), "5".padStart(3, "0")]
        (
            r#"A(I("abc", "padStart", 6, "12"), I("abc", "padEnd", 6), I("abc", "padStart", 2), I("5", "padStart", 3, "0"))"#,
            r#"["121abc","abc   ","abc","005"]"#,
        ),
        // [" \u00a0\ufeffx y\u3000\n".trim(), "  a ".trimStart(), "  a ".trimEnd()]
        (
            r#"A(I(" \u{a0}\u{feff}x y\u{3000}\n", "trim"), I("  a ", "trimStart"), I("  a ", "trimEnd"))"#,
            r#"["x y","a ","  a"]"#,
        ),
        // ["ÉCOLE Straße".toLowerCase(), "straße ÿ abc".toUpperCase()]
        (
            r#"A(I("ÉCOLE Straße", "toLowerCase"), I("straße ÿ abc", "toUpperCase"))"#,
            r#"["école straße","STRASSE Ÿ ABC"]"#,
        ),
        // ["ab".repeat(3), "a".concat(1, null), "a".localeCompare("b"), "b".localeCompare("a"), "a".localeCompare("a")]
        (
            r#"A(I("ab", "repeat", 3), I("a", "concat", 1, J.null), I("a", "localeCompare", "b"), I("b", "localeCompare", "a"), I("a", "localeCompare", "a"))"#,
            r#"["ababab","a1null",-1,1,0]"#,
        ),
        // err(() => "ab".repeat(-1))
        (
            r#"E(I, "ab", "repeat", -1)"#,
            r#""RangeError: Invalid count value: -1""#,
        ),
        // ["abc".charAt(1), "abc".charAt(5), "abc".charCodeAt(1), "abc".charCodeAt(9), "😀a".codePointAt(0), "😀a".charCodeAt(1), "abc".at(-1), "abc".at(3)]
        (
            r#"A(I("abc", "charAt", 1), I("abc", "charAt", 5), I("abc", "charCodeAt", 1), I("abc", "charCodeAt", 9), I("😀a", "codePointAt", 0), I("😀a", "charCodeAt", 1), I("abc", "at", -1), I("abc", "at", 3))"#,
            r#"["b","",98,NaN,128512,56832,"c",undefined]"#,
        ),
        // ["aaa".match(/a/g), "aaa".match(/x/g), "abc".search(/c/), "abc".search("x")]
        (
            r#"A(I("aaa", "match", R("a", "g")), I("aaa", "match", R("x", "g")), I("abc", "search", R("c", "")), I("abc", "search", "x"))"#,
            r#"[["a","a","a"],null,2,-1]"#,
        ),
        // "xabcac".match(/a(b)?(?<n>c)/)
        (
            r#"I("xabcac", "match", R("a(b)?(?<n>c)", ""))"#,
            r#"["abc","b","c",index:1,input:"xabcac",groups:{n:"c"}]"#,
        ),
        // [..."a1b22".matchAll(/\d+/g)].map(m => [m[0], m.index])
        (
            r#"I(J.arrextend(A(), I("a1b22", "matchAll", R("\\d+", "g"))), "map", function(_, m) return A(m[1], J.get(m, "index")) end)"#,
            r#"[["1",1],["22",3]]"#,
        ),
        // err(() => "a".matchAll(/a/))
        (
            r#"E(I, "a", "matchAll", R("a", ""))"#,
            r#""TypeError: String.prototype.matchAll called with a non-global RegExp argument""#,
        ),
        // err(() => "a".replaceAll(/a/, ""))
        (
            r#"E(I, "a", "replaceAll", R("a", ""), "")"#,
            r#""TypeError: String.prototype.replaceAll called with a non-global RegExp argument""#,
        ),
        // [String(12), String(), String(null), String([1, [2, 3]]), String.fromCharCode(72, 105, 0xD83D, 0xDE00)]
        (
            r#"A(G.String(nil, 12), G.String(nil), G.String(nil, J.null), G.String(nil, A(1, A(2, 3))), I(G.String, "fromCharCode", 72, 105, 0xD83D, 0xDE00))"#,
            r#"["12","","null","1,2,3","Hi😀"]"#,
        ),
        // "😀é".length
        (r#"J.get("😀é", "length")"#, r#"3"#),
        // "a😀b".split("")
        (
            r#"I("a😀b", "split", "")"#,
            r#"["a","\ud83d","\ude00","b"]"#,
        ),
        // ["ab".at(-3), "abc".slice(-2), "abc".slice(2, 1), "abc".substring(-1, 2), "abc".substring(NaN, 2), "abcdef".substr(1, 3)]
        (
            r#"A(I("ab", "at", -3), I("abc", "slice", -2), I("abc", "slice", 2, 1), I("abc", "substring", -1, 2), I("abc", "substring", 0/0, 2), I("abcdef", "substr", 1, 3))"#,
            r#"[undefined,"bc","","ab","ab","bcd"]"#,
        ),
        // "a-b-c".split("-", 0)
        (r#"I("a-b-c", "split", "-", 0)"#, r#"[]"#),
        // "Via: SIP/2.0/UDP host;branch=z9hG4bK776".replace(/branch=([^;]+)/, (m, b) => "branch=" + b.toUpperCase())
        (
            r#"I("Via: SIP/2.0/UDP host;branch=z9hG4bK776", "replace", R("branch=([^;]+)", ""), function(_, m, b) return "branch=" .. I(b, "toUpperCase") end)"#,
            r#""Via: SIP/2.0/UDP host;branch=Z9HG4BK776""#,
        ),
        // ["x".padEnd(5, "ab"), "abc".lastIndexOf("c", -5), "abc".lastIndexOf(""), "aXbXc".split("X", -1)]
        (
            r#"A(I("x", "padEnd", 5, "ab"), I("abc", "lastIndexOf", "c", -5), I("abc", "lastIndexOf", ""), I("aXbXc", "split", "X", -1))"#,
            r#"["xabab",-1,3,["a","b","c"]]"#,
        ),
    ]);
}

#[test]
fn array() {
    check(&[
        // [10, 9, 1].sort()
        (r#"I(A(10, 9, 1), "sort")"#, r#"[1,10,9]"#),
        // [3, undefined, 1, "b", "a", 20, 100, null].sort()
        (
            r#"I(A(3, nil, 1, "b", "a", 20, 100, J.null), "sort")"#,
            r#"[1,100,20,3,"a","b",null,undefined]"#,
        ),
        // [{n:"x",a:2},{n:"y",a:1},{n:"z",a:2},{n:"w",a:1},{n:"v",a:0}].sort((x, y) => x.a - y.a).map(o => o.n).join("")
        (
            r#"I(I(I(A(O("n","x","a",2),O("n","y","a",1),O("n","z","a",2),O("n","w","a",1),O("n","v","a",0)), "sort", function(_, x, y) return J.get(x, "a") - J.get(y, "a") end), "map", function(_, o) return J.get(o, "n") end), "join", "")"#,
            r#""vywxz""#,
        ),
        // Array.from({length: 40}, (_, i) => ({k: i % 3, i})).sort((a, b) => a.k - b.k).map(o => o.i).join(",")
        (
            r#"I(I(I(I(G.Array, "from", O("length", 40), function(_, _v, i) return O("k", i % 3, "i", i) end), "sort", function(_, a, b) return J.get(a, "k") - J.get(b, "k") end), "map", function(_, o) return J.get(o, "i") end), "join", ",")"#,
            r#""0,3,6,9,12,15,18,21,24,27,30,33,36,39,1,4,7,10,13,16,19,22,25,28,31,34,37,2,5,8,11,14,17,20,23,26,29,32,35,38""#,
        ),
        // [5, 1, 4].sort((a, b) => b - a)
        (
            r#"I(A(5, 1, 4), "sort", function(_, a, b) return b - a end)"#,
            r#"[5,4,1]"#,
        ),
        // (() => { const b = [1, 2, 3, 4, 5]; const r = b.splice(1, 2, "x", "y", "z"); return [r, b]; })()
        (
            r#"(function() local b = A(1, 2, 3, 4, 5); local r = I(b, "splice", 1, 2, "x", "y", "z"); return A(r, b) end)()"#,
            r#"[[2,3],[1,"x","y","z",4,5]]"#,
        ),
        // (() => { const b = [1, 2, 3, 4, 5]; const r = b.splice(-2); return [r, b]; })()
        (
            r#"(function() local b = A(1, 2, 3, 4, 5); local r = I(b, "splice", -2); return A(r, b) end)()"#,
            r#"[[4,5],[1,2,3]]"#,
        ),
        // (() => { const c = [1, 2, 3]; return [c.push(4, 5), c.pop(), c.shift(), c.unshift(0, 1), c]; })()
        (
            r#"(function() local c = A(1, 2, 3); return A(I(c, "push", 4, 5), I(c, "pop"), I(c, "shift"), I(c, "unshift", 0, 1), c) end)()"#,
            r#"[5,5,1,5,[0,1,2,3,4]]"#,
        ),
        // [[1, 2, 3, 4].slice(1, -1), [1].concat([2, 3], 4, [[5]]), [1, undefined, null, "a"].join("-"), [1, 2, 3].reverse()]
        (
            r#"A(I(A(1, 2, 3, 4), "slice", 1, -1), I(A(1), "concat", A(2, 3), 4, A(A(5))), I(A(1, nil, J.null, "a"), "join", "-"), I(A(1, 2, 3), "reverse"))"#,
            r#"[[2,3],[1,2,3,4,[5]],"1---a",[3,2,1]]"#,
        ),
        // [[1, NaN].indexOf(NaN), [1, NaN].includes(NaN), [1, 2, 1].lastIndexOf(1), [1, 2, 1].lastIndexOf(1, -2), [1, 2, 3].indexOf(3, -1)]
        (
            r#"A(I(A(1, 0/0), "indexOf", 0/0), I(A(1, 0/0), "includes", 0/0), I(A(1, 2, 1), "lastIndexOf", 1), I(A(1, 2, 1), "lastIndexOf", 1, -2), I(A(1, 2, 3), "indexOf", 3, -1))"#,
            r#"[-1,true,2,0,2]"#,
        ),
        // [[1, 2, 3].find(v => v > 1), [1, 2, 3].findIndex(v => v > 1), [1, 2, 3].findLast(v => v > 1), [1, 2, 3].findLastIndex(v => v > 5), [1, 2, 3].filter(v => v > 1)]
        (
            r#"A(I(A(1, 2, 3), "find", gt1), I(A(1, 2, 3), "findIndex", gt1), I(A(1, 2, 3), "findLast", gt1), I(A(1, 2, 3), "findLastIndex", gt5), I(A(1, 2, 3), "filter", gt1))"#,
            r#"[2,1,3,-1,[2,3]]"#,
        ),
        // [[1, 2, 3].map((v, i) => v * i), [1, 2, 3].reduce((a, v) => a + v), [1, 2, 3].reduce((a, v) => a + v, ""), ["a", "b"].reduceRight((a, v) => a + v)]
        (
            r#"A(I(A(1, 2, 3), "map", function(_, v, i) return v * i end), I(A(1, 2, 3), "reduce", function(_, a, v) return J.add(a, v) end), I(A(1, 2, 3), "reduce", function(_, a, v) return J.add(a, v) end, ""), I(A("a", "b"), "reduceRight", function(_, a, v) return J.add(a, v) end))"#,
            r#"[[0,2,6],6,"123","ba"]"#,
        ),
        // err(() => [].reduce((a, b) => a))
        (
            r#"E(I, A(), "reduce", function(_, a) return a end)"#,
            r#""TypeError: Reduce of empty array with no initial value""#,
        ),
        // [[1, 2, 3].some(v => v > 1), [1, 2, 3].every(v => v > 1), [1, [2, [3, [4]]]].flat(), [1, [2, [3, [4]]]].flat(Infinity), [1, 2].flatMap(v => [v, v * 2])]
        (
            r#"A(I(A(1, 2, 3), "some", gt1), I(A(1, 2, 3), "every", gt1), I(A(1, A(2, A(3, A(4)))), "flat"), I(A(1, A(2, A(3, A(4)))), "flat", 1/0), I(A(1, 2), "flatMap", function(_, v) return A(v, v * 2) end))"#,
            r#"[true,false,[1,2,[3,[4]]],[1,2,3,4],[1,2,2,4]]"#,
        ),
        // [[1, 2, 3, 4].fill(0, 1, 3), [1, 2, 3].at(-1), [..."ab"].keys ? [...["a", "b"].keys()] : 0, [...["a", "b"].entries()], [1, [2, 3]].toString(), String([null, undefined, 1])]
        (
            r#"A(I(A(1, 2, 3, 4), "fill", 0, 1, 3), I(A(1, 2, 3), "at", -1), I(A("a", "b"), "keys"), I(A("a", "b"), "entries"), I(A(1, A(2, 3)), "toString"), J.tostr(A(J.null, nil, 1)))"#,
            r#"[[1,0,0,4],3,[0,1],[[0,"a"],[1,"b"]],"1,2,3",",,1"]"#,
        ),
        // [Array.isArray([]), Array.isArray({}), Array.from("héy"), Array.from({length: 2}), Array.from([1, 2], (v, i) => v + i), Array.of(7, 8), Array.from(new Set([1, 1, 2])), Array.from(new Map([["a", 1]]))]
        (
            r#"A(I(G.Array, "isArray", A()), I(G.Array, "isArray", O()), I(G.Array, "from", "héy"), I(G.Array, "from", O("length", 2)), I(G.Array, "from", A(1, 2), function(_, v, i) return v + i end), I(G.Array, "of", 7, 8), I(G.Array, "from", J.new(G.Set, A(1, 1, 2))), I(G.Array, "from", J.new(G.Map, A(A("a", 1)))))"#,
            r#"[true,false,["h","é","y"],[undefined,undefined],[1,3],[7,8],[1,2],[["a",1]]]"#,
        ),
        // [Array(3).length, new Array(2).length, new Array("a", "b"), Array(1, 2)]
        (
            r#"A(J.get(G.Array(nil, 3), "length"), J.get(J.new(G.Array, 2), "length"), J.new(G.Array, "a", "b"), G.Array(nil, 1, 2))"#,
            r#"[3,2,["a","b"],[1,2]]"#,
        ),
        // err(() => new Array(-1))
        (
            r#"E(J.new, G.Array, -1)"#,
            r#""RangeError: Invalid array length""#,
        ),
        // (() => { const out = []; [5, 6].forEach(function (v, i, a) { out.push(this.t, v, i, a.length); }, {t: "T"}); return out; })()
        (
            r#"(function() local out = A(); I(A(5, 6), "forEach", function(this, v, i, a) I(out, "push", J.get(this, "t"), v, i, J.get(a, "length")) end, O("t", "T")); return out end)()"#,
            r#"["T",5,0,2,"T",6,1,2]"#,
        ),
        // [[3, 1, 2].toSorted(), [1, 2, 3].toReversed(), [1, 2, 3].with(-1, 9)]
        (
            r#"A(I(A(3, 1, 2), "toSorted"), I(A(1, 2, 3), "toReversed"), I(A(1, 2, 3), "with", -1, 9))"#,
            r#"[[1,2,3],[3,2,1],[1,2,9]]"#,
        ),
        // (() => { const a = [1, 2]; a.push(a); return a.join(); })()
        (
            r#"(function() local a = A(1, 2); I(a, "push", a); return I(a, "join") end)()"#,
            r#""1,2,""#,
        ),
        // (() => { const b = [1, 2, 3]; return [b.splice(), b.splice(1, undefined), b.splice(5, 1, "x"), b]; })()
        (
            r#"(function() local b = A(1, 2, 3); return A(I(b, "splice"), I(b, "splice", 1, nil), I(b, "splice", 5, 1, "x"), b) end)()"#,
            r#"[[],[],[],[1,2,3,"x"]]"#,
        ),
        // [undefined, 3, null, 1].sort((a, b) => a - b)
        (
            r#"I(A(nil, 3, J.null, 1), "sort", function(_, a, b) return J.sub(a, b) end)"#,
            r#"[null,1,3,undefined]"#,
        ),
        // ["b", "é", "a", "B", "😀", "\uffff"].sort()
        (
            r#"I(A("b", "é", "a", "B", "😀", "\u{ffff}"), "sort")"#,
            r#"["B","a","b","é","😀","￿"]"#,
        ),
        // [true, false, -1, 0.5, "10", 9].sort()
        (
            r#"I(A(true, false, -1, 0.5, "10", 9), "sort")"#,
            r#"[-1,0.5,"10",9,false,true]"#,
        ),
    ]);
}

#[test]
fn number() {
    check(&[
        // [parseInt("  0x1F"), parseInt("08"), parseInt("12px"), parseInt("-0"), parseInt("z", 36), parseInt("10", 37), parseInt("10", 0), parseInt(""), parseInt("  +42abc"), parseInt("0x"), parseInt("1e3"), parseInt(null), parseInt("\u00a012"), parseInt("123456789012345678901234567890"), parseInt("ff", 16), parseInt("0xff", 16), parseInt("0xff", 10), parseInt(15.99), parseInt("-12.5")]
        (
            r#"A(G.parseInt(nil, "  0x1F"), G.parseInt(nil, "08"), G.parseInt(nil, "12px"), G.parseInt(nil, "-0"), G.parseInt(nil, "z", 36), G.parseInt(nil, "10", 37), G.parseInt(nil, "10", 0), G.parseInt(nil, ""), G.parseInt(nil, "  +42abc"), G.parseInt(nil, "0x"), G.parseInt(nil, "1e3"), G.parseInt(nil, J.null), G.parseInt(nil, "\u{a0}12"), G.parseInt(nil, "123456789012345678901234567890"), G.parseInt(nil, "ff", 16), G.parseInt(nil, "0xff", 16), G.parseInt(nil, "0xff", 10), G.parseInt(nil, 15.99), G.parseInt(nil, "-12.5"))"#,
            r#"[31,8,12,-0,35,NaN,10,NaN,42,NaN,1,NaN,12,1.2345678901234568e+29,255,255,0,15,-12]"#,
        ),
        // [parseFloat("3.14abc"), parseFloat(".5"), parseFloat("-.5e3x"), parseFloat("Infinityx"), parseFloat("1e"), parseFloat("e1"), parseFloat("0x10"), parseFloat("  -0"), parseFloat("1.e2"), parseFloat("+.e2")]
        (
            r#"A(G.parseFloat(nil, "3.14abc"), G.parseFloat(nil, ".5"), G.parseFloat(nil, "-.5e3x"), G.parseFloat(nil, "Infinityx"), G.parseFloat(nil, "1e"), G.parseFloat(nil, "e1"), G.parseFloat(nil, "0x10"), G.parseFloat(nil, "  -0"), G.parseFloat(nil, "1.e2"), G.parseFloat(nil, "+.e2"))"#,
            r#"[3.14,0.5,-500,Infinity,1,NaN,0,-0,100,NaN]"#,
        ),
        // [(1.005).toFixed(2), (1.45).toFixed(1), (0).toFixed(2), (-1.5).toFixed(0), (1e21).toFixed(2), NaN.toFixed(2), (123.456).toExponential(), (123.456).toExponential(2), (0).toPrecision(3), (123.456).toPrecision(4), (255).toString(16), (-255.5).toString(2), (255).toString()]
        (
            r#"A(I(1.005, "toFixed", 2), I(1.45, "toFixed", 1), I(0, "toFixed", 2), I(-1.5, "toFixed", 0), I(1e21, "toFixed", 2), I(0/0, "toFixed", 2), I(123.456, "toExponential"), I(123.456, "toExponential", 2), I(0, "toPrecision", 3), I(123.456, "toPrecision", 4), I(255, "toString", 16), I(-255.5, "toString", 2), I(255, "toString"))"#,
            r#"["1.00","1.4","0.00","-2","1e+21","NaN","1.23456e+2","1.23e+2","0.00","123.5","ff","-11111111.1","255"]"#,
        ),
        // [err(() => (1).toFixed(101)), err(() => (1).toString(1)), err(() => (1).toPrecision(0)), err(() => Number.prototype.toFixed.call("1", 2))]
        (
            r#"A(E(I, 1, "toFixed", 101), E(I, 1, "toString", 1), E(I, 1, "toPrecision", 0), E(J.NumberProto.toFixed, "1", 2))"#,
            r#"["RangeError: toFixed() digits argument must be between 0 and 100","RangeError: toString() radix argument must be between 2 and 36","RangeError: toPrecision() argument must be between 1 and 100","TypeError: Number.prototype.toFixed requires that 'this' be a Number"]"#,
        ),
        // [Number(""), Number(" 12 "), Number("0x10"), Number(null), Number(), Number("abc"), Number(true), Number.isInteger(5), Number.isInteger(5.5), Number.isSafeInteger(2 ** 53), Number.isNaN("x"), isNaN("x"), isFinite("12"), Number.isFinite("12")]
        (
            r#"A(G.Number(nil, ""), G.Number(nil, " 12 "), G.Number(nil, "0x10"), G.Number(nil, J.null), G.Number(nil), G.Number(nil, "abc"), G.Number(nil, true), I(G.Number, "isInteger", 5), I(G.Number, "isInteger", 5.5), I(G.Number, "isSafeInteger", 2^53), I(G.Number, "isNaN", "x"), G.isNaN(nil, "x"), G.isFinite(nil, "12"), I(G.Number, "isFinite", "12"))"#,
            r#"[0,12,16,0,0,NaN,1,true,false,false,false,true,true,false]"#,
        ),
        // [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.EPSILON, Number.MAX_VALUE, Number.MIN_VALUE, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.parseInt === parseInt]
        (
            r#"A(J.get(G.Number, "MAX_SAFE_INTEGER"), J.get(G.Number, "MIN_SAFE_INTEGER"), J.get(G.Number, "EPSILON"), J.get(G.Number, "MAX_VALUE"), J.get(G.Number, "MIN_VALUE"), J.get(G.Number, "POSITIVE_INFINITY"), J.get(G.Number, "NEGATIVE_INFINITY"), J.get(G.Number, "parseInt") == G.parseInt)"#,
            r#"[9007199254740991,-9007199254740991,2.220446049250313e-16,1.7976931348623157e+308,5e-324,Infinity,-Infinity,true]"#,
        ),
        // [encodeURIComponent("a b&c/é😀~*()!'"), encodeURI("http://x.com/a b?q=1&r=é#h"), decodeURIComponent("%E2%82%AC%20a"), decodeURI("%23%20%3F"), err(() => decodeURIComponent("%E2%82")), err(() => decodeURIComponent("%zz"))]
        (
            r#"A(G.encodeURIComponent(nil, "a b&c/é😀~*()!'"), G.encodeURI(nil, "http://x.com/a b?q=1&r=é#h"), G.decodeURIComponent(nil, "%E2%82%AC%20a"), G.decodeURI(nil, "%23%20%3F"), E(G.decodeURIComponent, nil, "%E2%82"), E(G.decodeURIComponent, nil, "%zz"))"#,
            r#"["a%20b%26c%2F%C3%A9%F0%9F%98%80~*()!'","http://x.com/a%20b?q=1&r=%C3%A9#h","€ a","%23 %3F","URIError: URI malformed","URIError: URI malformed"]"#,
        ),
    ]);
}

#[test]
fn math() {
    check(&[
        // [Math.round(-2.5), Math.round(2.5), Math.round(-0.4), Math.round(0.49999999999999994), Math.round(-3.7), Math.trunc(-4.7), Math.sign(-3), Math.floor(-1.5), Math.ceil(1.2), Math.abs("-3")]
        (
            r#"A(I(M, "round", -2.5), I(M, "round", 2.5), I(M, "round", -0.4), I(M, "round", 0.49999999999999994), I(M, "round", -3.7), I(M, "trunc", -4.7), I(M, "sign", -3), I(M, "floor", -1.5), I(M, "ceil", 1.2), I(M, "abs", "-3"))"#,
            r#"[-2,3,-0,0,-4,-4,-1,-2,2,3]"#,
        ),
        // [Math.max(), Math.min(), Math.max(1, NaN, 3), Math.max(1, "7", 3), Math.min(0, -0), Math.max(-0, 0), Math.min(4, 2, 8)]
        (
            r#"A(I(M, "max"), I(M, "min"), I(M, "max", 1, 0/0, 3), I(M, "max", 1, "7", 3), I(M, "min", 0, -0.0), I(M, "max", -0.0, 0), I(M, "min", 4, 2, 8))"#,
            r#"[-Infinity,Infinity,NaN,7,-0,0,2]"#,
        ),
        // [Math.cbrt(27), Math.cbrt(-8), Math.log2(8), Math.log10(1000), Math.log(Math.E), Math.hypot(3, 4), Math.hypot(), Math.clz32(1), Math.clz32(0), Math.imul(0xffffffff, 5), Math.imul(123456789, 987654321), Math.fround(5.5), Math.fround(5.05), Math.pow(2, 10), Math.pow(1, Infinity), Math.sqrt(2), Math.exp(1)]
        (
            r#"A(I(M, "cbrt", 27), I(M, "cbrt", -8), I(M, "log2", 8), I(M, "log10", 1000), I(M, "log", J.get(M, "E")), I(M, "hypot", 3, 4), I(M, "hypot"), I(M, "clz32", 1), I(M, "clz32", 0), I(M, "imul", 0xffffffff, 5), I(M, "imul", 123456789, 987654321), I(M, "fround", 5.5), I(M, "fround", 5.05), I(M, "pow", 2, 10), I(M, "pow", 1, 1/0), I(M, "sqrt", 2), I(M, "exp", 1))"#,
            r#"[3,-2,3,3,1,5,0,31,32,-5,-67153019,5.5,5.050000190734863,1024,NaN,1.4142135623730951,2.718281828459045]"#,
        ),
        // [Math.PI, Math.E, Math.LN2, Math.LN10, Math.LOG2E, Math.LOG10E, Math.SQRT2, Math.SQRT1_2, Math.atan2(1, 1), Math.sin(0), Math.cos(Math.PI), Math.tan(0), Math.atan(1)]
        (
            r#"A(J.get(M, "PI"), J.get(M, "E"), J.get(M, "LN2"), J.get(M, "LN10"), J.get(M, "LOG2E"), J.get(M, "LOG10E"), J.get(M, "SQRT2"), J.get(M, "SQRT1_2"), I(M, "atan2", 1, 1), I(M, "sin", 0), I(M, "cos", J.get(M, "PI")), I(M, "tan", 0), I(M, "atan", 1))"#,
            r#"[3.141592653589793,2.718281828459045,0.6931471805599453,2.302585092994046,1.4426950408889634,0.4342944819032518,1.4142135623730951,0.7071067811865476,0.7853981633974483,0,-1,0,0.7853981633974483]"#,
        ),
    ]);
}

#[test]
fn date() {
    check(&[
        // Date.parse("2024-01-02")
        (r#"I(D, "parse", "2024-01-02")"#, r#"1704153600000"#),
        // Date.parse("2024-01-02T03:04:05Z")
        (
            r#"I(D, "parse", "2024-01-02T03:04:05Z")"#,
            r#"1704164645000"#,
        ),
        // Date.parse("2024-01-02T03:04:05.123Z")
        (
            r#"I(D, "parse", "2024-01-02T03:04:05.123Z")"#,
            r#"1704164645123"#,
        ),
        // Date.parse("2024-01-02T03:04:05.1Z")
        (
            r#"I(D, "parse", "2024-01-02T03:04:05.1Z")"#,
            r#"1704164645100"#,
        ),
        // Date.parse("2024-01-02T03:04:05+02:00")
        (
            r#"I(D, "parse", "2024-01-02T03:04:05+02:00")"#,
            r#"1704157445000"#,
        ),
        // Date.parse("2024-01-02T03:04:05-05:30")
        (
            r#"I(D, "parse", "2024-01-02T03:04:05-05:30")"#,
            r#"1704184445000"#,
        ),
        // Date.parse("2024-01-02T03:04")
        (r#"I(D, "parse", "2024-01-02T03:04")"#, r#"1704164640000"#),
        // Date.parse("2024-01-02T03:04:05")
        (
            r#"I(D, "parse", "2024-01-02T03:04:05")"#,
            r#"1704164645000"#,
        ),
        // Date.parse("2024-01")
        (r#"I(D, "parse", "2024-01")"#, r#"1704067200000"#),
        // Date.parse("+002024-01-02")
        (r#"I(D, "parse", "+002024-01-02")"#, r#"1704153600000"#),
        // Date.parse("-000001-01-01T00:00:00Z")
        (
            r#"I(D, "parse", "-000001-01-01T00:00:00Z")"#,
            r#"-62198755200000"#,
        ),
        // Date.parse("2024-01-02 03:04:05")
        (
            r#"I(D, "parse", "2024-01-02 03:04:05")"#,
            r#"1704164645000"#,
        ),
        // Date.parse("2024-01-02T24:00:00Z")
        (
            r#"I(D, "parse", "2024-01-02T24:00:00Z")"#,
            r#"1704240000000"#,
        ),
        // Date.parse("2024-01-02T24:00:01Z")
        (r#"I(D, "parse", "2024-01-02T24:00:01Z")"#, r#"NaN"#),
        // Date.parse("2024-13-02")
        (r#"I(D, "parse", "2024-13-02")"#, r#"NaN"#),
        // Date.parse("Tue Jan 02 2024 03:04:05 GMT+0000 (Coordinated Universal Time)")
        (
            r#"I(D, "parse", "Tue Jan 02 2024 03:04:05 GMT+0000 (Coordinated Universal Time)")"#,
            r#"1704164645000"#,
        ),
        // Date.parse("Tue, 02 Jan 2024 03:04:05 GMT")
        (
            r#"I(D, "parse", "Tue, 02 Jan 2024 03:04:05 GMT")"#,
            r#"1704164645000"#,
        ),
        // Date.parse("Jan 2, 2024")
        (r#"I(D, "parse", "Jan 2, 2024")"#, r#"1704153600000"#),
        // Date.parse("2024/01/02")
        (r#"I(D, "parse", "2024/01/02")"#, r#"1704153600000"#),
        // Date.parse("garbage")
        (r#"I(D, "parse", "garbage")"#, r#"NaN"#),
        // Date.parse("")
        (r#"I(D, "parse", "")"#, r#"NaN"#),
        // (() => { const d = new Date("2024-01-02T03:04:05.678Z"); return [d.getFullYear(), d.getMonth(), d.getDate(), d.getDay(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds(), d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCDay(), d.getUTCHours(), d.getTime(), d.valueOf(), d.getTimezoneOffset()]; })()
        (
            r#"(function() local d = J.new(D, "2024-01-02T03:04:05.678Z"); return A(I(d, "getFullYear"), I(d, "getMonth"), I(d, "getDate"), I(d, "getDay"), I(d, "getHours"), I(d, "getMinutes"), I(d, "getSeconds"), I(d, "getMilliseconds"), I(d, "getUTCFullYear"), I(d, "getUTCMonth"), I(d, "getUTCDate"), I(d, "getUTCDay"), I(d, "getUTCHours"), I(d, "getTime"), I(d, "valueOf"), I(d, "getTimezoneOffset")) end)()"#,
            r#"[2024,0,2,2,3,4,5,678,2024,0,2,2,3,1704164645678,1704164645678,0]"#,
        ),
        // (() => { const d = new Date("2024-01-02T03:04:05.678Z"); return [d.toISOString(), d.toString(), d.toUTCString(), d.toDateString(), d.toTimeString(), d.toJSON(), String(d), d + 1, d - 1]; })()
        (
            r#"(function() local d = J.new(D, "2024-01-02T03:04:05.678Z"); return A(I(d, "toISOString"), I(d, "toString"), I(d, "toUTCString"), I(d, "toDateString"), I(d, "toTimeString"), I(d, "toJSON"), J.tostr(d), J.add(d, 1), J.sub(d, 1)) end)()"#,
            r#"["2024-01-02T03:04:05.678Z","Tue Jan 02 2024 03:04:05 GMT+0000 (Coordinated Universal Time)","Tue, 02 Jan 2024 03:04:05 GMT","Tue Jan 02 2024","03:04:05 GMT+0000 (Coordinated Universal Time)","2024-01-02T03:04:05.678Z","Tue Jan 02 2024 03:04:05 GMT+0000 (Coordinated Universal Time)","Tue Jan 02 2024 03:04:05 GMT+0000 (Coordinated Universal Time)1",1704164645677]"#,
        ),
        // [new Date(-62198755200000).toString(), new Date(-62198755200000).toISOString(), new Date(253402300800000).toISOString(), new Date(8.64e15).toUTCString(), String(new Date(NaN)), new Date(8.64e15 + 1).getTime(), new Date(NaN).getFullYear(), new Date(NaN).toJSON()]
        (
            r#"A(I(J.new(D, -62198755200000), "toString"), I(J.new(D, -62198755200000), "toISOString"), I(J.new(D, 253402300800000), "toISOString"), I(J.new(D, 8.64e15), "toUTCString"), J.tostr(J.new(D, 0/0)), I(J.new(D, 8.64e15 + 1), "getTime"), I(J.new(D, 0/0), "getFullYear"), I(J.new(D, 0/0), "toJSON"))"#,
            r#"["Fri Jan 01 -0001 00:00:00 GMT+0000 (Coordinated Universal Time)","-000001-01-01T00:00:00.000Z","+010000-01-01T00:00:00.000Z","Sat, 13 Sep 275760 00:00:00 GMT","Invalid Date",NaN,NaN,null]"#,
        ),
        // err(() => new Date(NaN).toISOString())
        (
            r#"E(I, J.new(D, 0/0), "toISOString")"#,
            r#""RangeError: Invalid time value""#,
        ),
        // [new Date(2024, 0, 31, 10).toISOString(), new Date(99, 11).toISOString(), new Date(2024, 13, 1).toISOString(), new Date(2024, 0, 1, 0, 0, 0, 1500).toISOString(), Date.UTC(2024, 1, 29), Date.UTC(2024), new Date(2024, 0, NaN).getTime(), new Date(new Date(5)).getTime(), new Date(1e12).getDay()]
        (
            r#"A(I(J.new(D, 2024, 0, 31, 10), "toISOString"), I(J.new(D, 99, 11), "toISOString"), I(J.new(D, 2024, 13, 1), "toISOString"), I(J.new(D, 2024, 0, 1, 0, 0, 0, 1500), "toISOString"), I(D, "UTC", 2024, 1, 29), I(D, "UTC", 2024), I(J.new(D, 2024, 0, 0/0), "getTime"), I(J.new(D, J.new(D, 5)), "getTime"), I(J.new(D, 1e12), "getDay"))"#,
            r#"["2024-01-31T10:00:00.000Z","1999-12-01T00:00:00.000Z","2025-02-01T00:00:00.000Z","2024-01-01T00:00:01.500Z",1709164800000,1704067200000,NaN,5,0]"#,
        ),
        // (() => { const e = new Date("2024-01-31T00:00:00Z"); return [e.setMonth(1), e.toISOString(), e.setHours(25, 61), e.toISOString(), e.setDate(0), e.toISOString(), e.setFullYear(2020, 1, 29), e.toISOString(), e.setUTCMinutes(-1), e.toISOString(), e.setUTCSeconds(30, 5), e.setMilliseconds(999), e.setTime(0), e.toISOString()]; })()
        (
            r#"(function() local e = J.new(D, "2024-01-31T00:00:00Z"); return A(I(e, "setMonth", 1), I(e, "toISOString"), I(e, "setHours", 25, 61), I(e, "toISOString"), I(e, "setDate", 0), I(e, "toISOString"), I(e, "setFullYear", 2020, 1, 29), I(e, "toISOString"), I(e, "setUTCMinutes", -1), I(e, "toISOString"), I(e, "setUTCSeconds", 30, 5), I(e, "setMilliseconds", 999), I(e, "setTime", 0), I(e, "toISOString")) end)()"#,
            r#"[1709337600000,"2024-03-02T00:00:00.000Z",1709431260000,"2024-03-03T02:01:00.000Z",1709172060000,"2024-02-29T02:01:00.000Z",1582941660000,"2020-02-29T02:01:00.000Z",1582941540000,"2020-02-29T01:59:00.000Z",1582941570005,1582941570999,0,"1970-01-01T00:00:00.000Z"]"#,
        ),
        // (() => { const x = new Date(NaN); return [x.setHours(1), x.setFullYear(2020), x.toISOString()]; })()
        (
            r#"(function() local x = J.new(D, 0/0); return A(I(x, "setHours", 1), I(x, "setFullYear", 2020), I(x, "toISOString")) end)()"#,
            r#"[NaN,1577836800000,"2020-01-01T00:00:00.000Z"]"#,
        ),
        // [typeof Date(), new Date() instanceof Date, typeof Date.now(), Object.prototype.toString.call(new Date(0))]
        (
            r#"A(J.typeof(D(nil)), J.instanceof(J.new(D), D), J.typeof(I(D, "now")), J.ObjectProto.toString(J.new(D, 0)))"#,
            r#"["string",true,"number","[object Date]"]"#,
        ),
    ]);
}

#[test]
fn regexp() {
    check(&[
        // (() => { const r = /a(b)?(?<n>c)/g; const out = []; for (let i = 0; i < 3; i++) { out.push(r.exec("xabcac"), r.lastIndex); } return out; })()
        (
            r#"(function() local r = R("a(b)?(?<n>c)", "g"); local out = A(); for i = 1, 3 do I(out, "push", I(r, "exec", "xabcac"), J.get(r, "lastIndex")) end return out end)()"#,
            r#"[["abc","b","c",index:1,input:"xabcac",groups:{n:"c"}],4,["ac",undefined,"c",index:4,input:"xabcac",groups:{n:"c"}],6,null,0]"#,
        ),
        // (() => { const r = /o/g; const out = []; for (let i = 0; i < 3; i++) { out.push(r.test("foo"), r.lastIndex); } r.lastIndex = 2; out.push(r.exec("foo")); return out; })()
        (
            r#"(function() local r = R("o", "g"); local out = A(); for i = 1, 3 do I(out, "push", I(r, "test", "foo"), J.get(r, "lastIndex")) end J.set(r, "lastIndex", 2); I(out, "push", I(r, "exec", "foo")); return out end)()"#,
            r#"[true,2,true,3,false,0,["o",index:2,input:"foo",groups:undefined]]"#,
        ),
        // (() => { const y = /a/y; return [y.test("ba"), y.lastIndex, (y.lastIndex = 1, y.test("ba")), y.lastIndex, "aab".replace(/a/gy, "x")]; })()
        (
            r#"(function() local y = R("a", "y"); local a1, a2 = I(y, "test", "ba"), J.get(y, "lastIndex"); J.set(y, "lastIndex", 1); return A(a1, a2, I(y, "test", "ba"), J.get(y, "lastIndex"), I("aab", "replace", R("a", "gy"), "x")) end)()"#,
            r#"[false,0,true,2,"xxb"]"#,
        ),
        // [/^b/m.test("a\nb"), /^b/.test("a\nb"), /HELLO/i.test("hello"), /a.c/s.test("a\nc"), /a.c/.test("a\nc"), /^a=(.*)$/m.exec("v=0\r\na=x y\r\n")[1], /b$/m.test("b\r\nc"), /\bfoo\b/.test("a foo."), /[\w-]+@\w+\.com/.exec("mail: jo-e@x.com!")[0]]
        (
            r#"A(I(R("^b", "m"), "test", "a\nb"), I(R("^b", ""), "test", "a\nb"), I(R("HELLO", "i"), "test", "hello"), I(R("a.c", "s"), "test", "a\nc"), I(R("a.c", ""), "test", "a\nc"), I(R("^a=(.*)$", "m"), "exec", "v=0\r\na=x y\r\n")[2], I(R("b$", "m"), "test", "b\r\nc"), I(R("\\bfoo\\b", ""), "test", "a foo."), I(R("[\\w-]+@\\w+\\.com", ""), "exec", "mail: jo-e@x.com!")[1])"#,
            r#"[true,false,true,true,false,"x y",true,true,"jo-e@x.com"]"#,
        ),
        // [String(/a\/b/gi), new RegExp("a/b").source, new RegExp("").source, /x/ysmig.flags, /x/g.global, /x/g.ignoreCase, /x/m.multiline, /x/y.sticky, String(RegExp(/x/g)), String(new RegExp(/x/g, "i")), String(new RegExp("\\d+", "g"))]
        (
            r#"A(J.tostr(R("a\\/b", "gi")), J.get(J.new(G.RegExp, "a/b"), "source"), J.get(J.new(G.RegExp, ""), "source"), J.get(R("x", "ysmig"), "flags"), J.get(R("x", "g"), "global"), J.get(R("x", "g"), "ignoreCase"), J.get(R("x", "m"), "multiline"), J.get(R("x", "y"), "sticky"), J.tostr(G.RegExp(nil, R("x", "g"))), J.tostr(J.new(G.RegExp, R("x", "g"), "i")), J.tostr(J.new(G.RegExp, "\\d+", "g")))"#,
            r#"["/a\\/b/gi","a\\/b","(?:)","gimsy",true,false,true,true,"/x/g","/x/i","/\\d+/g"]"#,
        ),
        // [err(() => new RegExp("(")), err(() => new RegExp("a", "x")), err(() => new RegExp("[z-a]"))]
        (
            r#"A(E(J.new, G.RegExp, "("), E(J.new, G.RegExp, "a", "x"), E(J.new, G.RegExp, "[z-a]"))"#,
            r#"["SyntaxError: Invalid regular expression: /(/: Unterminated group","SyntaxError: Invalid flags supplied to RegExp constructor 'x'","SyntaxError: Invalid regular expression: /[z-a]/: Range out of order in character class"]"#,
        ),
        // ["héllo wörld".replace(/ö/, "o"), "héllo".search(/l/), /l/g.exec("héllo"), "😀x😀".replace(/x/, "-"), "é-é".split(/-/)]
        (
            r#"A(I("héllo wörld", "replace", R("ö", ""), "o"), I("héllo", "search", R("l", "")), I(R("l", "g"), "exec", "héllo"), I("😀x😀", "replace", R("x", ""), "-"), I("é-é", "split", R("-", "")))"#,
            r#"["héllo world",2,["l",index:2,input:"héllo",groups:undefined],"😀-😀",["é","é"]]"#,
        ),
        // [/(\d{3})-(\d{4})/.exec("call 555-1234 now"), /(?<user>[^@]+)@(?<host>.+)/.exec("bob@example.com").groups, "sip:alice@host;tag=1".match(/^sip:([^@]+)@([^;]+)/).slice(1)]
        (
            r#"A(I(R("(\\d{3})-(\\d{4})", ""), "exec", "call 555-1234 now"), J.get(I(R("(?<user>[^@]+)@(?<host>.+)", ""), "exec", "bob@example.com"), "groups"), I(I("sip:alice@host;tag=1", "match", R("^sip:([^@]+)@([^;]+)", "")), "slice", 1))"#,
            r#"[["555-1234","555","1234",index:5,input:"call 555-1234 now",groups:undefined],{user:"bob",host:"example.com"},["alice","host"]]"#,
        ),
        // [/x/ instanceof RegExp, typeof /x/, typeof RegExp, Object.prototype.toString.call(/x/), /[^]/.test("\n"), /[]/.test("a"), /a{2}/.test("aa"), /a{/.test("a{")]
        (
            r#"A(J.instanceof(R("x", ""), G.RegExp), J.typeof(R("x", "")), J.typeof(G.RegExp), J.ObjectProto.toString(R("x", "")), I(R("[^]", ""), "test", "\n"), I(R("[]", ""), "test", "a"), I(R("a{2}", ""), "test", "aa"), I(R("a{", ""), "test", "a{"))"#,
            r#"[true,"object","function","[object RegExp]",true,false,true,true]"#,
        ),
        // ["é".replace(/\B/g, "-"), "ab".replace(/\B/g, "-"), "a1b2c3".split(/\d/y), "aé".replace(/(?:)/g, "."), "a,b".split(/,/, 1)]
        (
            r#"A(I("é", "replace", R("\\B", "g"), "-"), I("ab", "replace", R("\\B", "g"), "-"), I("a1b2c3", "split", R("\\d", "y")), I("aé", "replace", R("(?:)", "g"), "."), I("a,b", "split", R(",", ""), 1))"#,
            r#"["-é-","a-b",["a","b","c",""],".a.é.",["a"]]"#,
        ),
    ]);
}

#[test]
fn collections() {
    check(&[
        // (() => { const m = new Map(); m.set("b", 1).set("a", 2).set(NaN, "nan").set(-0, "zero").set(undefined, "u"); const o = {}; m.set(o, "obj"); const r = [m.size, m.get(NaN), m.get(0), m.has(-0), m.get(undefined), m.get(o), m.get({}), [...m.keys()], m.delete("b"), m.delete("b"), m.size]; m.set("b", 3); r.push([...m], [...m.values()]); return r; })()
        (
            r#"(function() local m = J.new(G.Map); I(I(I(I(I(m, "set", "b", 1), "set", "a", 2), "set", 0/0, "nan"), "set", -0.0, "zero"), "set", nil, "u"); local o = O(); I(m, "set", o, "obj"); local r = A(J.get(m, "size"), I(m, "get", 0/0), I(m, "get", 0), I(m, "has", -0.0), I(m, "get", nil), I(m, "get", o), I(m, "get", O()), I(m, "keys"), I(m, "delete", "b"), I(m, "delete", "b"), J.get(m, "size")); I(m, "set", "b", 3); I(r, "push", J.arrextend(A(), m), I(m, "values")); return r end)()"#,
            r#"[6,"nan","zero",true,"u","obj",undefined,["b","a",NaN,0,undefined,{}],true,false,5,[["a",2],[NaN,"nan"],[0,"zero"],[undefined,"u"],[{},"obj"],["b",3]],[2,"nan","zero","u","obj",3]]"#,
        ),
        // (() => { const m = new Map([["x", 1], ["y", 2], ["x", 3]]); return [[...m.entries()], m.size]; })()
        (
            r#"(function() local m = J.new(G.Map, A(A("x", 1), A("y", 2), A("x", 3))); return A(I(m, "entries"), J.get(m, "size")) end)()"#,
            r#"[[["x",3],["y",2]],2]"#,
        ),
        // (() => { const s = new Set([3, 1, 3, 2, 1]); const r = [[...s], s.size, s.has(2), s.has("2")]; s.add(9); r.push(Array.from(s), [...s.entries()]); const seen = []; for (const v of s) { seen.push(v); if (v === 3) { s.delete(1); s.add(10); } } r.push(seen); return r; })()
        (
            r#"(function() local s = J.new(G.Set, A(3, 1, 3, 2, 1)); local r = A(J.arrextend(A(), s), J.get(s, "size"), I(s, "has", 2), I(s, "has", "2")); I(s, "add", 9); I(r, "push", I(G.Array, "from", s), I(s, "entries")); local seen = A(); for _, v in J.iter(s) do I(seen, "push", v); if v == 3 then I(s, "delete", 1); I(s, "add", 10) end end; I(r, "push", seen); return r end)()"#,
            r#"[[3,1,2],3,true,false,[3,1,2,9],[[3,3],[1,1],[2,2],[9,9]],[3,2,9,10]]"#,
        ),
        // (() => { const log = []; new Map([["x", 1], ["y", 2]]).forEach(function (v, k, m) { log.push(k, v, this.t, m.size); }, {t: "T"}); new Set(["a"]).forEach((v, k) => log.push(v, k)); return log; })()
        (
            r#"(function() local log = A(); I(J.new(G.Map, A(A("x", 1), A("y", 2))), "forEach", function(this, v, k, m) I(log, "push", k, v, J.get(this, "t"), J.get(m, "size")) end, O("t", "T")); I(J.new(G.Set, A("a")), "forEach", function(_, v, k) I(log, "push", v, k) end); return log end)()"#,
            r#"["x",1,"T",2,"y",2,"T",2,"a","a"]"#,
        ),
        // [err(() => Map()), err(() => new Map([1])), String(new Map()), Object.prototype.toString.call(new Set()), new Set("héllo").size, (() => { const s = new Set([1]); s.clear(); return s.size; })()]
        (
            r#"A(E(G.Map, nil), E(J.new, G.Map, A(1)), J.tostr(J.new(G.Map)), J.ObjectProto.toString(J.new(G.Set)), J.get(J.new(G.Set, "héllo"), "size"), (function() local s = J.new(G.Set, A(1)); I(s, "clear"); return J.get(s, "size") end)())"#,
            r#"["TypeError: Constructor Map requires 'new'","TypeError: Iterator value 1 is not an entry object","[object Map]","[object Set]",4,0]"#,
        ),
        // (() => { const s = new Set(); for (let i = 1; i <= 1000; i++) s.add(i); for (let i = 1; i <= 990; i++) s.delete(i); return [[...s], s.size, s.has(995), s.has(5)]; })()
        (
            r#"(function() local s = J.new(G.Set); for i = 1, 1000 do I(s, "add", i) end for i = 1, 990 do I(s, "delete", i) end return A(J.arrextend(A(), s), J.get(s, "size"), I(s, "has", 995), I(s, "has", 5)) end)()"#,
            r#"[[991,992,993,994,995,996,997,998,999,1000],10,true,false]"#,
        ),
    ]);
}
