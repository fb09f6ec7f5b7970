use super::vm::{classify_error, parse_status};
use super::*;

#[test]
fn status_strings() {
    assert_eq!(
        parse_status("404 Not Found"),
        Some((404, "Not Found".into()))
    );
    assert_eq!(parse_status("699 X"), Some((699, "X".into())));
    assert_eq!(
        parse_status("300 Multiple Choices"),
        Some((300, "Multiple Choices".into()))
    );
    assert_eq!(parse_status("200 OK"), None);
    assert_eq!(parse_status("700 Nope"), None);
    assert_eq!(parse_status("404"), None);
    assert_eq!(parse_status("404 "), None);
    assert_eq!(parse_status("40x Bad"), None);
    assert_eq!(parse_status("404 Bad\r\nX: y"), None);
}

#[test]
fn thrown_strings() {
    let lua = mlua::Lua::new();
    let s = |t: &str| mlua::Value::String(lua.create_string(t).unwrap());
    assert_eq!(
        classify_error("scripts/a.lua", &s("scripts/a.lua:3: 404 Not Found")),
        Outcome::Reject {
            code: 404,
            reason: "Not Found".into()
        }
    );
    assert_eq!(
        classify_error("scripts/a.lua", &s("486 Busy Here")),
        Outcome::Reject {
            code: 486,
            reason: "Busy Here".into()
        }
    );
    assert_eq!(
        classify_error("scripts/a.lua", &s("scripts/a.lua:7: attempt to index nil")),
        Outcome::Failed {
            message: "scripts/a.lua:7: attempt to index nil".into()
        }
    );
    assert_eq!(
        classify_error("scripts/a.lua", &s("boom")),
        Outcome::Failed {
            message: "scripts/a.lua: boom".into()
        }
    );
}

#[test]
fn compile_errors_have_positions() {
    let e = Script::compile_lua(
        "scripts/bad.lua",
        1,
        "function main(d)\n  return d\nend end\n",
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("scripts/bad.lua:3:1: "), "{text}");

    let e = Script::compile_lua("scripts/nomain.lua", 1, "local x = 1\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "scripts/nomain.lua:1:1: script does not define main(data, ctx)"
    );

    let e = Script::compile_lua(
        "scripts/top.lua",
        1,
        "local x = nil\nlocal y = x.z\nfunction main(d) return d end\n",
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("scripts/top.lua:2:1: "), "{e}");

    let e = Script::compile_lua(
        "scripts/loop.lua",
        1,
        "while true do end\nfunction main(d) return d end\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("took longer"), "{e}");
}
