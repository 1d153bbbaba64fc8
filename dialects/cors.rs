//! CORS for browser clients: one mechanism for every dialect, configured by `[cors]` and
//! `[cors.<dialect>]` (docs/configuration.md), with defaults that keep each spec's behaviour.
//!
//! Each dialect declares its [`CorsDefaults`] (its row of `DIALECTS`): the origins its original
//! allowed (any, with `*`, for Spika's Express `cors()` and dStor; any, echoed with credentials,
//! for Dyson's ASP.NET policy; none for FilesNest and audioBoom, whose clients are apps), the
//! methods and request headers its clients use, and the response headers they read. The
//! settings may replace the origins with a list (or `*`), change the preflight's max-age and
//! expose more headers. Every dialect resource is wrapped by [`CorsPolicy::handle`] through
//! `DialectContext`, and the dialects' legacy "no such route" answers get the same headers.
//!
//! A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered here,
//! without authentication (browsers never send credentials on one): 204 with the allowed
//! methods and headers for an allowed origin, 403 without CORS headers otherwise. Other
//! requests go to the route; an allowed origin gets `Access-Control-Allow-Origin` (and the
//! exposed headers) on the answer, success or error. CORS never authorises anything: a request
//! from a refused origin is still served, only the browser withholds the answer from the page.

use crate::config::DialectCors;
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::HttpResponse;
use std::sync::Arc;

/// Response headers every dialect exposes to pages: what clients read after an upload or a
/// download (`Location` of a created resource, the `ETag`, the download's name and ranges).
const COMMON_EXPOSE: &[&str] = &[
    "Location",
    "ETag",
    "Content-Disposition",
    "Content-Length",
    "Content-Range",
    "Accept-Ranges",
    "Content-Type",
];

/// Which origins a dialect's original allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecOrigins {
    /// No CORS: the original served apps, not pages.
    None,
    /// Any origin (with credentials the origin is echoed, as `*` cannot carry credentials).
    Any,
}

/// Which request headers a preflight may be answered with.
#[derive(Clone, Copy, Debug)]
pub enum AllowHeaders {
    /// Exactly these (the headers the dialect's clients send).
    Listed(&'static str),
    /// Whatever the preflight asks for (ASP.NET's `AllowAnyHeader`); this list when it asks
    /// for none.
    Mirror(&'static str),
}

/// A dialect's CORS behaviour as its spec names it.
#[derive(Clone, Copy, Debug)]
pub struct CorsDefaults {
    pub origins: SpecOrigins,
    /// Whether answers allow credentials (cookies, `Authorization`) cross-origin.
    pub credentials: bool,
    pub allow_methods: &'static str,
    pub allow_headers: AllowHeaders,
    /// Response headers beyond [`COMMON_EXPOSE`] that the dialect's clients read.
    pub expose_headers: &'static [&'static str],
}

#[derive(Debug)]
enum Origins {
    Any,
    List(Vec<String>),
}

/// The CORS policy in force for one dialect.
#[derive(Debug)]
pub struct CorsPolicy {
    origins: Origins,
    credentials: bool,
    allow_methods: HeaderValue,
    allow_headers: AllowHeaders,
    expose: HeaderValue,
    max_age: HeaderValue,
}

impl CorsPolicy {
    /// The policy from the dialect's defaults and its settings; `None` when no origin is
    /// allowed (no CORS headers at all, preflights reach the routes like any `OPTIONS`).
    pub fn new(defaults: &CorsDefaults, settings: &DialectCors) -> Option<Arc<CorsPolicy>> {
        let origins = match (&settings.allowed_origins, defaults.origins) {
            (Some(list), _) if list.iter().any(|o| o == "*") => Origins::Any,
            (Some(list), _) if list.is_empty() => return None,
            (Some(list), _) => Origins::List(list.clone()),
            (None, SpecOrigins::None) => return None,
            (None, SpecOrigins::Any) => Origins::Any,
        };
        let mut expose: Vec<&str> = COMMON_EXPOSE.to_vec();
        expose.extend(defaults.expose_headers);
        expose.extend(settings.expose_headers.iter().map(String::as_str));
        let value = |s: &str| HeaderValue::from_str(s).expect("configured header names are ASCII");
        Some(Arc::new(CorsPolicy {
            origins,
            credentials: defaults.credentials,
            allow_methods: HeaderValue::from_static(defaults.allow_methods),
            allow_headers: defaults.allow_headers,
            expose: value(&expose.join(", ")),
            max_age: value(&settings.max_age.as_secs().to_string()),
        }))
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`; `None` if refused.
    fn allowed(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match (&self.origins, origin) {
            (Origins::Any, _) if !self.credentials => Some(HeaderValue::from_static("*")),
            (Origins::Any, Some(o)) => Some(o.clone()),
            (Origins::List(list), Some(o)) => list
                .iter()
                .any(|allowed| o.as_bytes() == allowed.as_bytes())
                .then(|| o.clone()),
            _ => None,
        }
    }

    /// Whether the answer depends on the request's `Origin` (then caches must key on it).
    fn varies(&self) -> bool {
        self.credentials || matches!(self.origins, Origins::List(_))
    }

    /// Adds the CORS headers of an actual (not preflight) answer to a request from `origin`.
    pub fn decorate(&self, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
        if self.varies() {
            headers.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        let Some(allow) = self.allowed(origin) else {
            return;
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, self.expose.clone());
    }

    /// The answer to a preflight from `origin` asking for `requested` headers.
    fn preflight(&self, origin: &HeaderValue, requested: Option<&HeaderValue>) -> HttpResponse {
        let Some(allow) = self.allowed(Some(origin)) else {
            return HttpResponse::Forbidden()
                .insert_header((header::VARY, "Origin"))
                .finish();
        };
        let allow_headers = match (self.allow_headers, requested) {
            (AllowHeaders::Mirror(_), Some(asked)) => asked.clone(),
            (AllowHeaders::Mirror(list) | AllowHeaders::Listed(list), _) => {
                HeaderValue::from_static(list)
            }
        };
        let mut response = HttpResponse::NoContent().finish();
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            self.allow_methods.clone(),
        );
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
        h.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        if self.varies() {
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
        response
    }

    /// Middleware of every dialect resource: answers preflights, decorates other answers.
    pub async fn handle(
        self: Arc<Self>,
        req: ServiceRequest,
        next: Next<BoxBody>,
    ) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
        let origin = req.headers().get(header::ORIGIN).cloned();
        if let Some(origin) = origin.as_ref().filter(|_| is_preflight(&req)) {
            let requested = req
                .headers()
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .cloned();
            let response = self.preflight(origin, requested.as_ref());
            return Ok(req.into_response(response));
        }
        let mut response = next.call(req).await?;
        self.decorate(origin.as_ref(), response.headers_mut());
        Ok(response)
    }
}

fn is_preflight(req: &ServiceRequest) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const OPEN: CorsDefaults = CorsDefaults {
        origins: SpecOrigins::Any,
        credentials: false,
        allow_methods: "GET, POST",
        allow_headers: AllowHeaders::Listed("content-type"),
        expose_headers: &["X-Own"],
    };

    fn settings(origins: Option<&[&str]>) -> DialectCors {
        DialectCors {
            allowed_origins: origins.map(|o| o.iter().map(|s| s.to_string()).collect()),
            max_age: Duration::from_secs(60),
            expose_headers: vec!["X-Extra".into()],
        }
    }

    fn origin(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    #[test]
    fn the_spec_default_allows_any_origin_with_a_star_and_exposes_what_clients_read() {
        let p = CorsPolicy::new(&OPEN, &settings(None)).unwrap();
        let mut h = HeaderMap::new();
        p.decorate(None, &mut h);
        assert_eq!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(), "*");
        let exposed = h
            .get(header::ACCESS_CONTROL_EXPOSE_HEADERS)
            .unwrap()
            .to_str()
            .unwrap();
        for name in [
            "Location",
            "ETag",
            "Content-Disposition",
            "X-Own",
            "X-Extra",
        ] {
            assert!(exposed.contains(name), "{exposed}");
        }
        assert!(h.get(header::VARY).is_none());
    }

    #[test]
    fn a_configured_list_echoes_listed_origins_only_and_varies_on_origin() {
        let p = CorsPolicy::new(&OPEN, &settings(Some(&["https://a.example"]))).unwrap();
        let (mut yes, mut no) = (HeaderMap::new(), HeaderMap::new());
        p.decorate(Some(&origin("https://a.example")), &mut yes);
        p.decorate(Some(&origin("https://evil.example")), &mut no);
        assert_eq!(
            yes.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
            "https://a.example"
        );
        assert!(no.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert_eq!(no.get(header::VARY).unwrap(), "Origin");
    }

    #[test]
    fn no_origin_at_all_means_no_policy() {
        let none = CorsDefaults {
            origins: SpecOrigins::None,
            ..OPEN
        };
        assert!(CorsPolicy::new(&none, &settings(None)).is_none());
        assert!(CorsPolicy::new(&OPEN, &settings(Some(&[]))).is_none());
        assert!(CorsPolicy::new(&none, &settings(Some(&["*"]))).is_some());
    }
}
