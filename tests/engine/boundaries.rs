//! The engine stays free of HTTP and dialect words (DESIGN.md): front ends translate, the engine
//! only speaks its own language.

#[test]
fn nothing_under_src_engine_names_a_dialect_or_http() {
    let forbidden = [
        "filesnest",
        "dyson",
        "audioboom",
        "spika",
        "dstor",
        "actix",
        "http",
        "reqwest",
    ];
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine")];
    let mut checked = 0;
    // Submodule folders (e.g. `meta/`) are checked too.
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap().to_lowercase();
            for word in forbidden {
                assert!(!text.contains(word), "{} mentions {word:?}", path.display());
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "expected the engine's modules, found {checked}"
    );
}
