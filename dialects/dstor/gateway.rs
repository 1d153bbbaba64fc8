//! `GET /ipfs/{cid}` and `GET /ipfs/{cid}/{path...}`: the content of finished uploads by CID
//! (specs/dstor.md §8). Only content uploaded here is served (there is no IPFS network).
//!
//! Each finished upload indexed every file and folder it produced (`ipfs/<cid>/<principal>`),
//! so a path below a folder resolves entry by entry. With `dstor.public_gateway = false` the
//! caller's Bearer token is required and only the caller's own uploads are looked at.

use actix_files::NamedFile;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use percent_encoding::percent_decode_str;

use super::cid::Cid;
use super::error::DstorError;
use super::finalise::content_type;
use super::model::GatewayEntry;
use super::state::{gateway_key, gateway_prefix, Dstor};
use crate::engine::Principal;
use crate::telemetry;

/// Content addressed by CID never changes (§8).
const CACHE_CONTROL: &str = "public, max-age=29030400, immutable";

// GET|HEAD /ipfs/{cid} and /ipfs/{cid}/{path...}
pub async fn handle_ipfs(
    req: HttpRequest,
    dstor: web::Data<Dstor>,
) -> Result<HttpResponse, DstorError> {
    let owner = if dstor.settings.public_gateway {
        None
    } else {
        Some(dstor.bearer_principal(&req).await?)
    };
    // The raw path, decoded segment by segment here: a name may hold any character.
    let rest = req
        .path()
        .strip_prefix(dstor.ipfs_prefix.as_str())
        .ok_or(DstorError::NotFound)?;
    let (cid_text, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let mut cid = Cid::parse(&decode(cid_text)?).ok_or(DstorError::NotFound)?;
    let mut entry = lookup(&dstor, &cid, owner.as_ref()).await?;
    let mut name = None;
    for segment in tail.split('/').filter(|s| !s.is_empty()) {
        let segment = decode(segment)?;
        let GatewayEntry::Folder { links } = entry else {
            return Err(DstorError::NotFound);
        };
        cid = links
            .iter()
            .find(|(n, _)| *n == segment)
            .ok_or(DstorError::NotFound)?
            .1;
        entry = lookup(&dstor, &cid, owner.as_ref()).await?;
        name = Some(segment);
    }
    // A folder without a path is not served (there is no directory listing).
    let GatewayEntry::File {
        file,
        name: uploaded_as,
    } = entry
    else {
        return Err(DstorError::NotFound);
    };
    let file = dstor
        .engine
        .file(&file)
        .await?
        .ok_or(DstorError::NotFound)?;
    telemetry::record_upload_id(&req, &cid);
    let name = name.unwrap_or(uploaded_as);
    serve(&req, &dstor, &file, &cid, &name).await
}

fn decode(segment: &str) -> Result<String, DstorError> {
    percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| DstorError::NotFound)
}

/// The index entry of `cid`: the owner's own, or anyone's when the gateway is public (the
/// same CID is the same content whoever uploaded it).
async fn lookup(
    dstor: &Dstor,
    cid: &Cid,
    owner: Option<&Principal>,
) -> Result<GatewayEntry, DstorError> {
    let text = cid.to_string();
    let found = match owner {
        Some(owner) => dstor.records.get(&gateway_key(&text, owner)).await?,
        None => dstor
            .records
            .scan::<GatewayEntry>(&gateway_prefix(&text))
            .await?
            .into_iter()
            .next()
            .map(|(_, e)| e),
    };
    found.ok_or(DstorError::NotFound)
}

async fn serve(
    req: &HttpRequest,
    dstor: &Dstor,
    file: &crate::engine::FileInfo,
    cid: &Cid,
    name: &str,
) -> Result<HttpResponse, DstorError> {
    let etag = format!("\"{cid}\"");
    let etag_value = HeaderValue::from_str(&etag).expect("base58 is a valid header value");
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if not_modified {
        HttpResponse::NotModified().finish()
    } else {
        let path = dstor.engine.content_path(file);
        let mime: actix_web::mime::Mime = content_type(name)
            .parse()
            .unwrap_or(actix_web::mime::APPLICATION_OCTET_STREAM);
        NamedFile::open_async(&path)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, path = %path.display(), "stored content is missing");
                DstorError::Internal
            })?
            .use_etag(false)
            .use_last_modified(false)
            .disable_content_disposition()
            .set_content_type(mime)
            .into_response(req)
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag_value);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    Ok(response)
}
