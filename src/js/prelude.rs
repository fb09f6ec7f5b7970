//! The Luau runtime prelude carrying JavaScript semantics.
//!
//! Each helper is a separate snippet; [`prelude`] emits only the ones a
//! translated script uses (plus their dependencies), in [`HELPERS`] order, as
//! `local` definitions at the top of the chunk. Every helper name starts with
//! `__js_`; user identifiers with that prefix are renamed by the translator, so
//! a script can never shadow or reach them.

/// One runtime helper.
pub struct Helper {
    /// The Luau local it defines.
    pub name: &'static str,
    /// Helpers it calls (each appears earlier in [`HELPERS`]).
    pub deps: &'static [&'static str],
    /// Its Luau definition.
    pub code: &'static str,
}

/// `null`: a unique frozen table, distinct from `nil` (= `undefined`).
pub const NULL: &str = r#"local __js_null = table.freeze(setmetatable({}, { __tostring = function() return "null" end }))
"#;

/// JavaScript `Number::toString(n)` (radix 10): the shortest round-trip digits,
/// fixed notation for exponents in [-7, 21), `NaN`, `Infinity`, `-0` → `"0"`.
pub const NUMSTR: &str = r#"local function __js_numstr(n)
  if n ~= n then return "NaN" end
  if n == 0 then return "0" end
  if n == math.huge then return "Infinity" end
  if n == -math.huge then return "-Infinity" end
  local sign = ""
  if n < 0 then sign = "-"; n = -n end
  if n < 9007199254740992 and n == math.floor(n) then
    return sign .. string.format("%.0f", n)
  end
  local s
  for p = 0, 16 do
    s = string.format("%." .. p .. "e", n)
    if tonumber(s) == n then break end
  end
  local mant, ex = string.match(s, "^([%d%.]+)e([-+]%d+)$")
  local digits = string.gsub(mant, "%.", "")
  local k = #digits
  local e = tonumber(ex) + 1
  if k <= e and e <= 21 then return sign .. digits .. string.rep("0", e - k) end
  if 0 < e and e <= 21 then return sign .. string.sub(digits, 1, e) .. "." .. string.sub(digits, e + 1) end
  if -6 < e and e <= 0 then return sign .. "0." .. string.rep("0", -e) .. digits end
  local d = e - 1
  local es = if d < 0 then "-" .. tostring(-d) else "+" .. tostring(d)
  if k == 1 then return sign .. digits .. "e" .. es end
  return sign .. string.sub(digits, 1, 1) .. "." .. string.sub(digits, 2) .. "e" .. es
end
"#;

/// JavaScript `ToString` for primitives; objects are not supported yet (runtime error).
pub const TOSTRING: &str = r#"local function __js_tostring(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return __js_numstr(v) end
  if t == "boolean" then return if v then "true" else "false" end
  if v == nil then return "undefined" end
  if v == __js_null then return "null" end
  error("TypeError: converting an object to a string is not supported yet", 0)
end
"#;

/// JavaScript `ToNumber` for primitives other than strings (which `+` never
/// converts); objects are not supported yet (runtime error).
pub const TONUMBER: &str = r#"local function __js_tonumber(v)
  local t = type(v)
  if t == "number" then return v end
  if t == "boolean" then return if v then 1 else 0 end
  if v == nil then return 0 / 0 end
  if v == __js_null then return 0 end
  error("TypeError: converting an object to a number is not supported yet", 0)
end
"#;

/// JavaScript binary `+`: string concatenation if either side is a string,
/// numeric addition otherwise.
pub const ADD: &str = r#"local function __js_add(a, b)
  if type(a) == "number" and type(b) == "number" then return a + b end
  if type(a) == "string" or type(b) == "string" then
    return __js_tostring(a) .. __js_tostring(b)
  end
  return __js_tonumber(a) + __js_tonumber(b)
end
"#;

/// JavaScript truthiness: `false`, `0`, `-0`, `NaN`, `""`, `null`, `undefined` are falsy.
pub const TRUTHY: &str = r#"local function __js_truthy(v)
  return v ~= nil and v ~= false and v ~= 0 and v ~= "" and v == v and v ~= __js_null
end
"#;

/// Property read `o[k]`. Reading from `undefined`/`null` is a TypeError. Only
/// string keys on plain objects and `length` of strings are supported so far;
/// arrays (0-based, `length`), numeric keys, prototype members and methods of
/// primitives fail loudly instead of behaving unlike JavaScript.
pub const GET: &str = r#"local __js_proto_names = {
  constructor = true, hasOwnProperty = true, isPrototypeOf = true,
  propertyIsEnumerable = true, toLocaleString = true, toString = true,
  valueOf = true, __proto__ = true, __defineGetter__ = true,
  __defineSetter__ = true, __lookupGetter__ = true, __lookupSetter__ = true,
}
local function __js_get(o, k)
  if o == nil or o == __js_null then
    error("TypeError: Cannot read properties of " .. (if o == nil then "undefined" else "null")
      .. " (reading '" .. __js_tostring(k) .. "')", 0)
  end
  local t = type(o)
  if t == "string" and k == "length" then
    local n = 0
    for _, c in utf8.codes(o) do
      n += if c >= 0x10000 then 2 else 1
    end
    return n
  end
  if t == "table" and type(k) == "string" and k ~= "length" then
    local v = o[k]
    if v == nil and __js_proto_names[k] then
      error("reading '" .. k .. "' of an object is not supported yet", 0)
    end
    return v
  end
  error("reading property '" .. __js_tostring(k) .. "' of a " .. t .. " is not supported yet", 0)
end
"#;

/// Every helper, in dependency order.
pub const HELPERS: &[Helper] = &[
    Helper {
        name: "__js_null",
        deps: &[],
        code: NULL,
    },
    Helper {
        name: "__js_numstr",
        deps: &[],
        code: NUMSTR,
    },
    Helper {
        name: "__js_tostring",
        deps: &["__js_numstr", "__js_null"],
        code: TOSTRING,
    },
    Helper {
        name: "__js_tonumber",
        deps: &["__js_null"],
        code: TONUMBER,
    },
    Helper {
        name: "__js_add",
        deps: &["__js_tostring", "__js_tonumber"],
        code: ADD,
    },
    Helper {
        name: "__js_truthy",
        deps: &["__js_null"],
        code: TRUTHY,
    },
    Helper {
        name: "__js_get",
        deps: &["__js_null", "__js_tostring"],
        code: GET,
    },
];

/// The prelude defining `used` helpers and their dependencies, in [`HELPERS`] order.
pub fn prelude(used: &[&str]) -> String {
    let mut need: Vec<&str> = used.to_vec();
    // HELPERS is in dependency order, so one backwards pass closes the set.
    for h in HELPERS.iter().rev() {
        if need.contains(&h.name) {
            need.extend_from_slice(h.deps);
        }
    }
    HELPERS
        .iter()
        .filter(|h| need.contains(&h.name))
        .map(|h| h.code)
        .collect()
}
