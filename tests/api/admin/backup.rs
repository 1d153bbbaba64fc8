//! `export` then `import` into a fresh data dir: a server there serves every file byte-identical
//! through each dialect's download route and the operator API, and keeps the legacy ids.

use super::admin;
use crate::helpers::{TestApp, ADMIN_TOKEN};
use crate::{audioboom, dstor, dyson, filesnest, spika};

/// Distinct content per dialect (so no two files share a blob).
fn content(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(u32::from(seed)) as u8
                ^ seed
        })
        .collect()
}

/// What one dialect stored and how to read it back.
struct Stored {
    filesnest: (u64, Vec<u8>),
    dyson: (String, Vec<u8>),
    audioboom: (u64, Vec<u8>),
    spika: (u64, String, Vec<u8>),
    dstor: (String, Vec<u8>),
}

async fn upload_through_every_dialect(app: &TestApp) -> Stored {
    // FilesNest: declare, two chunks, assembled in the background.
    let fnest = content(1, 70_000);
    let created = filesnest::create(app, "a.jpg", Some(&filesnest::sha256(&fnest)), 2).await;
    for (i, piece) in fnest.chunks(40_000).enumerate() {
        let r = filesnest::put_chunk(app, created.id, created.uploads[i], piece.to_vec()).await;
        assert!(
            r.status().is_success(),
            "filesnest chunk {i}: {}",
            r.status()
        );
    }
    filesnest::wait_for_status(app, created.id, "completed").await;
    let filesnest_id = created.id;
    // Dyson: create, chunks, complete.
    let dys = content(2, 50_000);
    let cloud = dyson::Client::new(app).upload(&dys, 20_000).await;
    // audioBoom: a ranged attachment, then a clip that uses it.
    let boo_data = content(3, 30_000);
    let boo = audioboom::Boo::new(app);
    let created = boo.create(boo_data.len(), 0, &boo_data[..10_000]).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let attachment = created.attachment()["id"].as_u64().unwrap();
    for o in [10_000, 20_000] {
        assert_eq!(
            boo.put(attachment, o, &boo_data[o..o + 10_000])
                .await
                .status,
            200
        );
    }
    let clip = boo.clip(attachment).await;
    // Spika: base64 chunks, then verify.
    let sp = content(4, 25_000);
    let spk = spika::Spika::new(app);
    for (i, piece) in sp.chunks(10_000).enumerate() {
        assert_eq!(spk.chunk("backup-1", i as u64, piece).await.status, 200);
    }
    let verified = spk.verify("backup-1", 3, &sp).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    let spika_id = spika::file_id(&verified);
    // dStor: one request with one file, then its CID.
    let ds = content(5, 40_000);
    let client = dstor::Client::new(app);
    let token = client.open(1, "backup").await;
    assert_eq!(
        client
            .send(&token, &[dstor::file("one.bin", &ds)])
            .await
            .status(),
        200
    );
    let done: serde_json::Value = serde_json::from_str(&client.wait_done(&token).await).unwrap();
    let cid = done["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["Name"] == "backup/one.bin")
        .expect("the file is listed")["Hash"]
        .as_str()
        .unwrap()
        .to_owned();
    Stored {
        filesnest: (filesnest_id, fnest),
        dyson: (cloud["id"].as_str().unwrap().to_owned(), dys),
        audioboom: (clip, boo_data),
        spika: (spika_id, "backup-1".into(), sp),
        dstor: (cid, ds),
    }
}

/// Reads every stored file back through its dialect and the operator API.
async fn assert_served(app: &TestApp, stored: &Stored) {
    let (id, bytes) = &stored.filesnest;
    assert!(filesnest::download(app, *id).await == *bytes, "filesnest");
    let (id, bytes) = &stored.dyson;
    let got = dyson::Client::new(app).download(id).await;
    assert_eq!(got.status, 200, "dyson");
    assert!(got.body == *bytes, "dyson bytes");
    let (clip, bytes) = &stored.audioboom;
    assert!(
        audioboom::Boo::new(app).download(*clip).await == *bytes,
        "audioboom"
    );
    let (id, client_id, bytes) = &stored.spika;
    let spk = spika::Spika::new(app);
    for path in [
        format!("/api/upload/files/{id}"),
        format!("/uploads/files/{client_id}"),
    ] {
        let (status, _, body) = spk.download(&path).await;
        assert_eq!(status, 200, "{path}");
        assert!(body == *bytes, "{path}");
    }
    let (cid, bytes) = &stored.dstor;
    let r = dstor::Client::new(app).ipfs(cid).await;
    assert_eq!(r.status(), 200, "dstor");
    assert!(
        r.bytes().await.unwrap().as_ref() == bytes.as_slice(),
        "dstor bytes"
    );
    for (alias, bytes) in [
        (
            format!("filesnest:{}", stored.filesnest.0),
            &stored.filesnest.1,
        ),
        (format!("spika:{}", stored.spika.0), &stored.spika.2),
    ] {
        let r = app
            .client
            .get(app.url(&format!("/gateway/v1/files/{alias}/content")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{alias}");
        assert!(
            r.bytes().await.unwrap().as_ref() == bytes.as_slice(),
            "{alias}"
        );
    }
}

#[tokio::test]
async fn an_export_imported_into_a_fresh_dir_serves_every_file_through_every_dialect() {
    // Arrange: files through all five dialects, plus an upload still in progress.
    let app = TestApp::spawn().await;
    let stored = upload_through_every_dialect(&app).await;
    assert_eq!(
        spika::Spika::new(&app)
            .chunk("in-flight", 0, b"half")
            .await
            .status,
        200
    );
    assert_served(&app, &stored).await;
    let source = app.stop().await;
    let tmp = tempfile::tempdir().unwrap();
    let backup = tmp.path().join("backup");
    let target = tmp.path().join("restored");

    // Act
    let exported = admin(
        source.path(),
        &["export", backup.to_str().unwrap(), "--json"],
    )
    .await
    .ok_json();
    let imported = admin(&target, &["import", backup.to_str().unwrap(), "--json"])
        .await
        .ok_json();
    let twice = admin(&target, &["import", backup.to_str().unwrap()]).await;
    let source_files = admin(source.path(), &["files", "list", "--json"])
        .await
        .ok_json();
    let target_files = admin(&target, &["files", "list", "--json"]).await.ok_json();
    let target_uploads = admin(&target, &["uploads", "list", "--json"])
        .await
        .ok_json();
    // The same export as one .tar file, into another fresh dir.
    let archive = tmp.path().join("backup.tar");
    let from_tar = tmp.path().join("from-tar");
    let archived = admin(
        source.path(),
        &["export", archive.to_str().unwrap(), "--json"],
    )
    .await
    .ok_json();
    let untarred = admin(&from_tar, &["import", archive.to_str().unwrap(), "--json"])
        .await
        .ok_json();
    let tar_files = admin(&from_tar, &["files", "list", "--json"])
        .await
        .ok_json();
    let tar_verify = admin(&from_tar, &["verify", "--json"]).await.ok_json();
    let restored = TestApp::spawn_with(|s| s.data_dir = target.clone()).await;

    // Assert
    assert_eq!(exported["blobs"], 5, "{exported}");
    assert_eq!(exported["blobs"], imported["blobs"]);
    assert_eq!(exported["entries"], imported["entries"]);
    assert_eq!(exported["spool_files"], imported["spool_files"]);
    assert!(!tmp.path().join("backup.partial").exists());
    assert_eq!(twice.code, 1);
    assert!(twice.stderr.contains("is not empty"), "{}", twice.stderr);
    assert_eq!(
        source_files, target_files,
        "the same files, ids and legacy aliases"
    );
    assert_eq!(target_uploads["uploads"].as_array().unwrap().len(), 1);
    assert_served(&restored, &stored).await;
    assert!(archive.is_file());
    assert_eq!(archived["entries"], exported["entries"]);
    assert_eq!(untarred["blobs"], 5);
    assert_eq!(tar_files, source_files);
    assert_eq!(
        (tar_verify["checked"].as_u64(), tar_verify["ok"].as_bool()),
        (Some(5), Some(true))
    );
    assert!(!from_tar.join(".import-staging").exists());
}
