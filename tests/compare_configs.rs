//! The sipforge side of `benches/compare-kamailio.sh`: both compare configs
//! pass `sipforge serve --check`, `benches/compare/route.js` passes
//! `sipforge check` and adds the matched prefix as `X-Route-Prefix`, and the
//! prefix tables (TOML, JavaScript) match the Kamailio reference scripts in
//! `../shared/anchors/kamailio` (or `$ANCHORS`) so the two sides of the
//! comparison cannot drift apart. Skipped, with a notice, without those.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde_json::{Value, json};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Kamailio reference configs, or `None` (and a notice) when absent.
fn anchors() -> Option<PathBuf> {
    let dir = std::env::var_os("ANCHORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/anchors/kamailio"));
    if dir.join("route.lua").is_file() && dir.join("proxy.lua").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "notice: {} has no route.lua/proxy.lua: Kamailio table check skipped",
            dir.display()
        );
        None
    }
}

/// Runs the sipforge binary from the repository root (the configs' relative
/// paths are resolved against the working directory).
fn sipforge(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sipforge"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run sipforge");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// prefix → gateways of the (only) customer of a compare config.
fn toml_table(name: &str) -> BTreeMap<String, Vec<String>> {
    let path = repo().join("benches/compare").join(name);
    let doc: toml::Table = read(&path).parse().expect("TOML");
    let mut carriers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in doc["carriers"].as_array().expect("carriers") {
        let gws = c["gateways"].as_array().expect("gateways");
        carriers.insert(
            c["id"].as_str().expect("id").to_owned(),
            gws.iter().map(|g| g.as_str().unwrap().to_owned()).collect(),
        );
    }
    let customers = doc["customers"].as_array().expect("customers");
    assert_eq!(customers.len(), 1, "{name}: one customer");
    let customer = &customers[0];
    let sources: Vec<&str> = customer["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(sources, ["127.0.0.1/32"], "{name}");
    assert_eq!(
        customer["script"].as_str(),
        Some("benches/compare/route.js"),
        "{name}"
    );
    let mut table = BTreeMap::new();
    for r in customer["routes"].as_array().expect("routes") {
        let prefix = r["prefix"].as_str().unwrap().to_owned();
        let gws: Vec<String> = r["carriers"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| carriers[c.as_str().unwrap()].clone())
            .collect();
        assert!(
            table.insert(prefix.clone(), gws).is_none(),
            "{name}: {prefix} twice"
        );
    }
    table
}

/// `["prefix"] = "gateway"` rows of route.lua's PREFIX_GW table.
fn lua_route_table(text: &str) -> BTreeMap<String, String> {
    let row = Regex::new(r#"\[\s*"([0-9*#]+)"\s*\]\s*=\s*"([^"]+)""#).unwrap();
    row.captures_iter(text)
        .map(|c| (c[1].to_owned(), c[2].to_owned()))
        .collect()
}

/// proxy.lua: `local UAS = "..."` and the `["prefix"] = UAS` rows.
fn lua_proxy_table(text: &str) -> (String, BTreeSet<String>) {
    let uas = Regex::new(r#"local\s+UAS\s*=\s*"([^"]+)""#).unwrap();
    let uas = uas.captures(text).expect("local UAS in proxy.lua")[1].to_owned();
    let row = Regex::new(r#"\[\s*"([0-9*#]+)"\s*\]\s*=\s*UAS\b"#).unwrap();
    let keys = row.captures_iter(text).map(|c| c[1].to_owned()).collect();
    (uas, keys)
}

/// The prefixes of route.js's PREFIXES object.
fn js_prefixes() -> BTreeSet<String> {
    let text = read(&repo().join("benches/compare/route.js"));
    let row = Regex::new(r"'([0-9*#]+)':\s*true").unwrap();
    row.captures_iter(&text).map(|c| c[1].to_owned()).collect()
}

#[test]
fn compare_configs_pass_serve_check() {
    for name in ["sipforge-redirect.toml", "sipforge-proxy.toml"] {
        let path = format!("benches/compare/{name}");
        let (ok, stdout, stderr) = sipforge(&["serve", "--check", "--config", &path]);
        assert!(ok, "{path}: {stdout}{stderr}");
        assert!(stdout.contains("configuration ok"), "{stdout}");
    }
}

#[test]
fn compare_script_passes_check() {
    let (ok, stdout, stderr) = sipforge(&["check", "benches/compare/route.js"]);
    assert!(ok, "{stdout}{stderr}");
}

/// `sipforge run route.js` on a call to `number` routed by the redirect
/// config's table: the X-Route-Prefix values it adds.
fn route_prefix_header(number: &str, table: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let longest = (1..=number.len())
        .rev()
        .find_map(|l| table.get(&number[..l]));
    let egress: Vec<Value> = longest
        .into_iter()
        .flatten()
        .map(|gw| {
            json!({"carrier": "gw", "gateway": gw, "transport": "udp", "dest_number": number,
                   "cli": "100", "headers": [], "remove_headers": []})
        })
        .collect();
    let data = json!({
        "routing": {"call_id": "c1", "method": "INVITE", "ruri": format!("sip:{number}@127.0.0.1:5070"),
            "dest_number": number, "cli": "100", "from_uri": "sip:100@127.0.0.1",
            "to_uri": format!("sip:{number}@127.0.0.1:5070"), "src_ip": "127.0.0.1", "src_port": 5090,
            "transport": "udp", "account_id": "compare", "server": "sipforge", "headers": {},
            "time": 1},
        "egress_routing": egress, "headers": [], "remove_headers": []
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("call.json");
    std::fs::write(&file, data.to_string()).unwrap();
    let (ok, stdout, stderr) = sipforge(&[
        "run",
        "benches/compare/route.js",
        "--data",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{number}: {stdout}{stderr}");
    let out: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    out["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["key"] == "X-Route-Prefix")
        .map(|h| h["value"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn compare_script_adds_the_longest_matching_prefix() {
    let table = toml_table("sipforge-redirect.toml");
    for (number, want) in [
        ("44201234567", Some("4420")),
        ("44123456789", Some("44")),
        ("12125550100", Some("1212")),
        ("15550100000", Some("1")),
        ("19005550100", Some("1900")),
        ("4", None),
        ("99123456789", None),
    ] {
        let got = route_prefix_header(number, &table);
        assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "{number}");
    }
}

#[test]
fn compare_prefix_tables_match_kamailio() {
    let Some(dir) = anchors() else {
        return;
    };
    let route = lua_route_table(&read(&dir.join("route.lua")));
    assert!(route.len() >= 20, "route.lua parsed to {route:?}");
    let (uas, proxy_keys) = lua_proxy_table(&read(&dir.join("proxy.lua")));
    let route_keys: BTreeSet<String> = route.keys().cloned().collect();
    assert_eq!(proxy_keys, route_keys, "proxy.lua and route.lua prefixes");

    let redirect = toml_table("sipforge-redirect.toml");
    let want: BTreeMap<String, Vec<String>> = route
        .iter()
        .map(|(p, gw)| (p.clone(), vec![gw.clone()]))
        .collect();
    assert_eq!(redirect, want, "sipforge-redirect.toml vs route.lua");

    let proxy = toml_table("sipforge-proxy.toml");
    let want: BTreeMap<String, Vec<String>> = route_keys
        .iter()
        .map(|p| (p.clone(), vec![uas.clone()]))
        .collect();
    assert_eq!(proxy, want, "sipforge-proxy.toml vs proxy.lua");

    assert_eq!(js_prefixes(), route_keys, "route.js PREFIXES vs route.lua");
    let js = read(&repo().join("benches/compare/route.js"));
    let maxlen = route_keys.iter().map(String::len).max().unwrap();
    assert!(
        js.contains(&format!("const MAXLEN = {maxlen};")),
        "route.js MAXLEN must be {maxlen}"
    );
}
