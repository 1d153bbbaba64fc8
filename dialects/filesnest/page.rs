//! Laravel's length-aware pagination (specs/filesnest.md §3 "Paginated list"), as the list,
//! search and uploads routes answer it.

use serde::Serialize;

/// `{"data":[...],"links":{...},"meta":{...}}`.
#[derive(Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub links: Links,
    pub meta: Meta,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Links {
    pub first: String,
    pub last: String,
    pub prev: Option<String>,
    pub next: Option<String>,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Meta {
    pub current_page: u64,
    pub from: Option<u64>,
    pub last_page: u64,
    pub path: String,
    pub per_page: u64,
    pub to: Option<u64>,
    pub total: u64,
}

/// Which items of `total` page `page` holds (0-based, end exclusive; empty past the end).
pub fn window(total: usize, page: u64, per_page: u64) -> std::ops::Range<usize> {
    let start = page
        .saturating_sub(1)
        .saturating_mul(per_page)
        .min(total as u64) as usize;
    let end = (start as u64).saturating_add(per_page).min(total as u64) as usize;
    start..end
}

/// Page `page` of `items` (all of them, in order), with links built on `base`: the absolute
/// URL of the route without its query; other query parameters are not carried over.
pub fn paginate<T>(items: Vec<T>, page: u64, per_page: u64, base: &str) -> Page<T> {
    let total = items.len();
    let range = window(total, page, per_page);
    let (from, to) = if range.is_empty() {
        (None, None)
    } else {
        (Some(range.start as u64 + 1), Some(range.end as u64))
    };
    let data: Vec<T> = items
        .into_iter()
        .skip(range.start)
        .take(range.len())
        .collect();
    let last_page = (total as u64).div_ceil(per_page).max(1);
    let url = |p: u64| format!("{base}?page={p}");
    Page {
        data,
        links: Links {
            first: url(1),
            last: url(last_page),
            prev: (page > 1).then(|| url(page - 1)),
            next: (page < last_page).then(|| url(page + 1)),
        },
        meta: Meta {
            current_page: page,
            from,
            last_page,
            path: base.to_owned(),
            per_page,
            to,
            total: total as u64,
        },
    }
}

/// The absolute URL of the request's route: the configured public base URL, or the request's
/// scheme and `Host`, followed by the path without its trailing `/` (Laravel's `url()`).
pub fn base_url(public_base: Option<&str>, scheme: &str, host: &str, path: &str) -> String {
    let path = path.trim_end_matches('/');
    match public_base {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => format!("{scheme}://{host}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://h/api/files";

    #[test]
    fn a_middle_page_links_both_ways_and_counts_from_one() {
        let p = paginate((1..=40).collect(), 2, 15, BASE);
        assert_eq!(p.data, (16..=30).collect::<Vec<_>>());
        assert_eq!(
            p.links,
            Links {
                first: "http://h/api/files?page=1".into(),
                last: "http://h/api/files?page=3".into(),
                prev: Some("http://h/api/files?page=1".into()),
                next: Some("http://h/api/files?page=3".into()),
            }
        );
        assert_eq!(
            p.meta,
            Meta {
                current_page: 2,
                from: Some(16),
                last_page: 3,
                path: BASE.into(),
                per_page: 15,
                to: Some(30),
                total: 40,
            }
        );
    }

    #[test]
    fn an_empty_list_has_one_page_and_null_positions() {
        let p = paginate(Vec::<u8>::new(), 1, 15, BASE);
        assert!(p.data.is_empty());
        assert_eq!((p.meta.from, p.meta.to, p.meta.last_page), (None, None, 1));
        assert_eq!((&p.links.prev, &p.links.next), (&None, &None));
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"data":[],"links":{"first":"http://h/api/files?page=1","last":"http://h/api/files?page=1","prev":null,"next":null},"meta":{"current_page":1,"from":null,"last_page":1,"path":"http://h/api/files","per_page":15,"to":null,"total":0}}"#
        );
    }

    #[test]
    fn a_page_past_the_end_is_empty_and_links_back() {
        let p = paginate(vec![1, 2, 3], 5, 2, BASE);
        assert!(p.data.is_empty());
        assert_eq!((p.meta.from, p.meta.to, p.meta.last_page), (None, None, 2));
        assert_eq!(p.links.prev.as_deref(), Some("http://h/api/files?page=4"));
        assert_eq!(p.links.next, None);
    }

    #[test]
    fn huge_pages_do_not_overflow() {
        let p = paginate(vec![1, 2, 3], u64::MAX, 100, BASE);
        assert!(p.data.is_empty());
    }

    #[test]
    fn the_base_url_prefers_the_configured_one_and_drops_a_trailing_slash() {
        assert_eq!(
            base_url(None, "http", "127.0.0.1:80", "/api/files/"),
            "http://127.0.0.1:80/api/files"
        );
        assert_eq!(
            base_url(Some("https://f.example/"), "http", "x", "/api/files/search"),
            "https://f.example/api/files/search"
        );
    }
}
