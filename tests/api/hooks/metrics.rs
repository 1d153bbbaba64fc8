//! `GET /metrics`: a scrape after a test's requests shows exactly the counts they caused. The
//! server runs as its own process, so no other test's requests reach its counters.

use super::process::{write_config, Server};
use super::Receiver;
use crate::dyson::{create_body, form, form_type};
use crate::helpers::USER_TOKEN;
use std::collections::BTreeMap;

/// Samples of a Prometheus text exposition: `(name, sorted labels) -> value`.
type Samples = BTreeMap<(String, Vec<(String, String)>), f64>;

fn parse(text: &str) -> Samples {
    let mut out = Samples::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let mut labels: Vec<(String, String)> = labels
            .split("\",")
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once("=\"").unwrap();
                (k.to_owned(), v.trim_end_matches('"').to_owned())
            })
            .collect();
        labels.sort();
        out.insert((name.to_owned(), labels), value.parse().unwrap());
    }
    out
}

/// Sum of the samples of `name` whose labels include every pair of `with`.
fn sum(s: &Samples, name: &str, with: &[(&str, &str)]) -> f64 {
    s.iter()
        .filter(|((n, labels), _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, v)| v)
        .sum()
}

async fn scrape(client: &reqwest::Client, server: &Server) -> (String, Samples) {
    let res = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = res.text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}

#[tokio::test]
async fn a_scrape_shows_exactly_the_requests_bytes_uploads_and_deliveries_a_test_caused() {
    // Arrange: a server of our own, with one hook.
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let hook = format!(
        "\n[[hooks]]\nname = \"audit\"\nurl = \"{}\"\nevents = [\"upload.created\", \"upload.completed\"]\nbackoff = \"20ms\"\n",
        receiver.url
    );
    let server = Server::start(&write_config(dir.path(), &hook)).await;
    let client = reqwest::Client::new();
    let (_, before) = scrape(&client, &server).await;
    let data = crate::dyson::random(10_000);
    let auth = format!("AtField {USER_TOKEN}");

    // Act: a Dyson upload of 3 chunks, one unknown route, then a scrape.
    let created = client
        .post(server.url("/drive/files/upload/create"))
        .header("Authorization", &auth)
        .json(&create_body(&data, "m.bin", 4096))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let task = created.json::<serde_json::Value>().await.unwrap()["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (i, piece) in data.chunks(4096).enumerate() {
        let res = client
            .post(server.url(&format!("/drive/files/upload/chunk/{task}/{i}")))
            .header("Authorization", &auth)
            .header("content-type", form_type())
            .body(form("chunk", piece))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let done = client
        .post(server.url(&format!("/drive/files/upload/complete/{task}")))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let missing = client
        .get(server.url("/nowhere/at/all"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    receiver
        .wait_until("two deliveries", |l| l.len() >= 2)
        .await;
    // The server counts a delivery once it has read the receiver's answer, just after the
    // receiver logged the request: poll the scrape until both are counted.
    let (text, after) = tokio::time::timeout(super::LIMIT, async {
        loop {
            let (text, after) = scrape(&client, &server).await;
            if sum(
                &after,
                "chunkgate_webhook_deliveries_total",
                &[("hook", "audit")],
            ) >= 2.0
            {
                return (text, after);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("two deliveries counted");

    // Assert: exact increments.
    let delta =
        |name: &str, with: &[(&str, &str)]| sum(&after, name, with) - sum(&before, name, with);
    let dyson = [("dialect", "dyson")];
    assert_eq!(
        delta("chunkgate_http_requests_total", &dyson),
        5.0,
        "{text}"
    );
    assert_eq!(
        delta(
            "chunkgate_http_requests_total",
            &[("dialect", "dyson"), ("status", "200")]
        ),
        5.0
    );
    // Routes are patterns, never raw paths (bounded cardinality).
    let chunk_route = after
        .keys()
        .filter(|(n, _)| n == "chunkgate_http_requests_total")
        .flat_map(|(_, l)| l.iter())
        .filter(|(k, _)| k == "route")
        .map(|(_, v)| v.clone())
        .find(|r| r.contains("/upload/chunk/"))
        .expect("a chunk route series");
    assert!(
        chunk_route.contains('{') && !chunk_route.contains(&task),
        "{chunk_route}"
    );
    assert_eq!(
        delta(
            "chunkgate_http_requests_total",
            &[("dialect", "dyson"), ("route", &chunk_route)]
        ),
        3.0
    );
    assert_eq!(
        delta(
            "chunkgate_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0
    );
    let ns = [("namespace", "dyson")];
    assert_eq!(delta("chunkgate_uploads_created_total", &ns), 1.0);
    assert_eq!(delta("chunkgate_uploads_completed_total", &ns), 1.0);
    assert_eq!(delta("chunkgate_chunks_received_total", &ns), 3.0);
    assert_eq!(delta("chunkgate_received_bytes_total", &ns), 10_000.0);
    assert_eq!(delta("chunkgate_assembly_seconds_count", &[]), 1.0);
    assert_eq!(delta("chunkgate_verification_seconds_count", &[]), 1.0);
    assert!(delta("chunkgate_hashed_bytes_total", &[("algorithm", "sha256")]) >= 10_000.0);
    assert_eq!(
        delta("chunkgate_webhook_deliveries_total", &[("hook", "audit")]),
        2.0
    );
    assert_eq!(sum(&after, "chunkgate_active_uploads", &[]), 0.0);
    assert!(sum(&after, "chunkgate_free_disk_bytes", &[]) > 0.0);
    assert!(text.contains("chunkgate_webhook_queue_depth"), "{text}");
    server.stop().await;
}
