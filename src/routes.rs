//! The routes the server mounts, recorded as they are mounted (every dialect route goes through
//! `DialectContext::endpoint`, the server's own through [`MountedRoutes::resource`]), so that
//! `docs/openapi.yaml` can be checked against what is really served, both ways.

use actix_web::http::Method;
use actix_web::{web, Resource, Route};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// One mounted operation: the path as OpenAPI writes it (`/api/files/{file_id}`, regexes
/// dropped) and the method.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MountedRoute {
    pub path: String,
    pub method: Method,
}

/// A shared, deduplicated record of mounted routes (an app is built once per worker).
#[derive(Clone, Debug, Default)]
pub struct MountedRoutes(Arc<Mutex<BTreeSet<(String, String)>>>);

impl MountedRoutes {
    /// Records `method` on the actix path pattern `pattern`.
    pub fn record(&self, method: &Method, pattern: &str) {
        self.0
            .lock()
            .expect("routes lock")
            .insert((openapi_path(pattern), method.as_str().to_owned()));
    }

    /// Everything recorded, sorted by path then method.
    pub fn list(&self) -> Vec<MountedRoute> {
        self.0
            .lock()
            .expect("routes lock")
            .iter()
            .map(|(path, method)| MountedRoute {
                path: path.clone(),
                method: Method::from_bytes(method.as_bytes()).expect("recorded from a Method"),
            })
            .collect()
    }

    /// A resource at `path` named `name` serving `routes`, each recorded with its method (the
    /// method guard is set here, so what is recorded is what is served).
    pub fn resource(
        &self,
        name: &str,
        path: &str,
        routes: impl IntoIterator<Item = (Method, Route)>,
    ) -> Resource {
        let mut resource = web::resource(path).name(name);
        for (method, route) in routes {
            self.record(&method, path);
            resource = resource.route(route.method(method));
        }
        resource
    }
}

/// `/x/{id:[0-9]+}.mp3` → `/x/{id}.mp3`: actix's regex constraints dropped.
pub fn openapi_path(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '{' {
            let mut depth = 1;
            let mut in_regex = false;
            for c in chars.by_ref() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ':' if depth == 1 => in_regex = true,
                    _ => {}
                }
                if depth == 0 {
                    out.push('}');
                    break;
                }
                if !in_regex {
                    out.push(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_constraints_are_dropped_from_paths() {
        assert_eq!(openapi_path("/a/{id:[0-9]+}.mp3"), "/a/{id}.mp3");
        assert_eq!(openapi_path("/ipfs/{cid}/{path:.*}"), "/ipfs/{cid}/{path}");
        assert_eq!(openapi_path("/x/{n:[0-9]{2,3}}/y"), "/x/{n}/y");
        assert_eq!(openapi_path("/plain"), "/plain");
    }
}
