//! `fixtures/selftest/` replayed against the stub: all pass against the right one, and each
//! difference of the wrong one is reported with its case, step and JSON path.

use std::collections::BTreeMap;

use crate::helpers::{lines, replay};
use crate::stub::{spawn, Mode};

fn report_of<'a>(
    reports: &'a [chunkgate::contract::CaseReport],
    name: &str,
) -> &'a chunkgate::contract::CaseReport {
    reports
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

#[actix_web::test]
async fn every_selftest_case_passes_against_the_stub() {
    // Arrange
    let base_url = spawn(Mode::Right);

    // Act
    let reports = replay("selftest", &base_url, &BTreeMap::new()).await;

    // Assert
    assert!(reports.len() >= 8, "{}", lines(&reports));
    assert!(reports.iter().all(|r| r.ok), "{}", lines(&reports));
}

#[actix_web::test]
async fn a_wrong_server_is_reported_by_case_step_and_json_path() {
    // Arrange
    let base_url = spawn(Mode::Wrong);

    // Act
    let reports = replay("selftest", &base_url, &BTreeMap::new()).await;

    // Assert
    let all = lines(&reports);
    let raw = report_of(&reports, "selftest/raw-upload").to_string();
    assert!(
        raw.starts_with(
            "FAIL selftest/raw-upload create: $.data.id: expected integer, got string \""
        ),
        "{all}"
    );
    assert_eq!(
        report_of(&reports, "selftest/envelope").to_string(),
        "FAIL selftest/envelope missing chunk: header X-Audioboo-Error_description: missing"
    );
    assert!(
        report_of(&reports, "selftest/base64-json")
            .to_string()
            .starts_with(
                "FAIL selftest/base64-json verify: status: expected 200, got 201 (body: \"{"
            ),
        "{all}"
    );
    let form = report_of(&reports, "selftest/form");
    assert_eq!(form.failures[0].step, "repeated keys");
    assert_eq!(
        form.failures[0].reason,
        "$.pairs[0][0]: expected string \"z\", got string \"note\""
    );
    assert_eq!(
        report_of(&reports, "selftest/headers").to_string(),
        "FAIL selftest/headers custom headers: $.headers[\"content-type\"]: expected no such key, got string \"application/json\""
    );
    for name in ["selftest/multipart", "selftest/poll", "selftest/vectors"] {
        assert!(report_of(&reports, name).ok, "{all}");
    }
}

#[actix_web::test]
async fn a_var_override_replaces_the_case_default() {
    // Arrange
    let base_url = spawn(Mode::Right);
    let overrides = BTreeMap::from([("token".to_owned(), "a-real-legacy-token".to_owned())]);

    // Act
    let reports = replay("selftest", &base_url, &overrides).await;

    // Assert
    assert_eq!(
        report_of(&reports, "selftest/base64-json").to_string(),
        "FAIL selftest/base64-json chunk 0: status: expected 200, got 401 (body: \"Invalid access token\")\n    \
         chunk 0: header Content-Type: expected \"application/json; charset=utf-8\", got \"text/plain; charset=utf-8\"\n    \
         chunk 0: body: expected JSON, got \"Invalid access token\" (expected value at line 1 column 1)"
    );
}
