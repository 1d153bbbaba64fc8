//! Every fixture file is well formed, and so is the documented example.

use chunkgate::contract::{fixture_files, load_case, load_dir};

use crate::helpers::fixtures;

#[test]
fn every_fixture_under_fixtures_loads_and_is_named_after_its_file() {
    // Arrange
    let files = fixture_files(&fixtures("")).unwrap();

    // Act
    let cases = load_dir(fixtures("")).unwrap_or_else(|e| panic!("{e}"));

    // Assert: the naming convention `<dialect>/<file stem>` keeps report lines unambiguous.
    assert_eq!(cases.len(), files.len());
    for case in &cases {
        let dialect = case
            .path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let stem = case.path.file_stem().unwrap().to_string_lossy();
        assert_eq!(
            case.name,
            format!("{dialect}/{stem}"),
            "{}",
            case.path.display()
        );
    }
}

#[test]
fn the_example_in_docs_fixtures_md_is_a_valid_fixture() {
    // Arrange
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fixtures.md"),
    )
    .unwrap();
    let start = doc.find("```json\n").expect("a json example") + "```json\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example.json");
    std::fs::write(&path, &doc[start..end]).unwrap();

    // Act
    let case = load_case(&path);

    // Assert
    let case = case.unwrap();
    assert_eq!(case.name, "filesnest/upload-two-chunks");
    assert_eq!(case.steps.len(), 4);
}
