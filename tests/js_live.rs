//! JavaScript routing scripts in a live redirect-mode sidecar: the 302 a JS
//! script shapes, its SIP errors, a TypeError → 500, a timeout, and chains that
//! mix Lua and JavaScript scripts (data converted at each boundary).

mod common;

use std::path::{Path, PathBuf};

use common::{Sidecar, call_user, config_with_script, header_values, status, status_line};

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn javascript_script_shapes_the_302() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "acme.js",
        r#"
const premium = ["1900", "1976"];
export function main(data, ctx) {
  const num = data.routing.dest_number;
  if (num === "999") throw new Error("404 Number Not Routable");
  if (premium.some((p) => num.startsWith(p))) return Promise.reject([480, "Disallowed"]);
  if (num === "777") return data.nothing.here; // TypeError → 500
  // carrier-b first, a header for every attempt, and a brand new gateway
  data.egress_routing.sort((a, b) =>
    a.carrier !== b.carrier ? (a.carrier > b.carrier ? -1 : 1) : a.gateway < b.gateway ? -1 : 1);
  data.headers.push({ key: "X-Customer", value: ctx.customer.id });
  data.egress_routing.push({ gateway: "192.0.2.77:5070;transport=tcp", dest_number: `00${num}` });
  return data;
}
"#,
    );
    let sc = Sidecar::start_with(&config_with_script(&script, ""));
    let r = call_user(&sc, "15551234567", "j1");
    assert_eq!(status(&r), 302, "{}", String::from_utf8_lossy(&r));
    assert_eq!(
        header_values(&r, "Contact"),
        vec![
            "<sip:15551234567@[2001:db8::5]:5080?X-Customer=acme>;q=1.0",
            "<sip:15551234567@198.51.100.10:5060?X-Customer=acme>;q=0.9",
            "<sip:15551234567@198.51.100.11:5060;transport=tcp?X-Customer=acme>;q=0.8",
            "<sip:0015551234567@192.0.2.77:5070;transport=tcp?X-Customer=acme>;q=0.7",
        ]
    );
    assert_eq!(
        status_line(&call_user(&sc, "999", "j2")),
        "SIP/2.0 404 Number Not Routable"
    );
    assert_eq!(
        status_line(&call_user(&sc, "19005550000", "j3")),
        "SIP/2.0 480 Disallowed"
    );
    assert_eq!(
        status_line(&call_user(&sc, "777", "j4")),
        "SIP/2.0 500 Server Internal Error"
    );
}

#[test]
fn javascript_timeout_gets_the_timeout_action() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "acme.js",
        "function main(data) {\n  if (data.routing.dest_number === '1') { for (;;) {} }\n  // catching the stop does not help\n  if (data.routing.dest_number === '2') { while (true) { try { for (;;) {} } catch (e) {} finally { data.x = 1; } } }\n  return data;\n}",
    );
    let sc = Sidecar::start_with(&config_with_script(
        &script,
        "timeout_ms = 20\ntimeout_action = \"503 Script Timeout\"",
    ));
    assert_eq!(
        status_line(&call_user(&sc, "1", "t1")),
        "SIP/2.0 503 Script Timeout"
    );
    assert_eq!(
        status_line(&call_user(&sc, "2", "t2")),
        "SIP/2.0 503 Script Timeout"
    );
    // the engine recovered
    assert_eq!(status(&call_user(&sc, "15551234567", "t3")), 302);
}

#[test]
fn chains_mix_lua_and_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(
        dir.path(),
        "first.lua",
        "function main(data) table.insert(data.headers, { key = \"X-Order\", value = \"lua\" }) return data end",
    );
    let own = write(
        dir.path(),
        "acme.js",
        "function main(data) { data.headers.push({ key: 'X-Order', value: data.headers[0].value + '-js' + data.headers.length }); data.egress_routing = data.egress_routing.slice(0, 1); return data; }",
    );
    let last = write(
        dir.path(),
        "last.lua",
        "function main(data) local h = data.headers; h[#h].value = h[#h].value .. '-lua' .. #data.routing.egress_routing return data end",
    );
    let config = format!(
        "{}\n[[global_scripts]]\nname = \"first\"\nfile = {:?}\npriority = \"first\"\n\n[[global_scripts]]\nname = \"last\"\nfile = {:?}\npriority = \"last\"\n",
        config_with_script(&own, ""),
        first.display().to_string(),
        last.display().to_string(),
    );
    let sc = Sidecar::start_with(&config);
    let r = call_user(&sc, "15551234567", "c1");
    assert_eq!(
        header_values(&r, "Contact"),
        vec!["<sip:15551234567@198.51.100.10:5060?X-Order=lua&X-Order=lua-js1-lua1>;q=1.0"]
    );
}
