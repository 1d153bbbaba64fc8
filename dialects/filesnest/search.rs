//! Matching file names against search filters (specs/filesnest.md §5.5): `=` exact and
//! case-sensitive, `like` an SQL LIKE pattern compared ASCII case-insensitively, as MySQL's
//! default collation does for the original.

use super::validate::Filter;

/// Whether `name` passes every filter (filters combine with AND).
pub fn matches_all(filters: &[Filter], name: &str) -> bool {
    filters.iter().all(|f| match f {
        Filter::NameEquals(v) => name == v,
        Filter::NameLike(pattern) => like(pattern, name),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    /// `%`: any run of characters, empty included.
    AnyRun,
    /// `_`: exactly one character.
    One,
    Literal(char),
}

fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '%' => Token::AnyRun,
            '_' => Token::One,
            // `\` escapes the next character; a trailing `\` stands for itself.
            '\\' => Token::Literal(chars.next().unwrap_or('\\')),
            c => Token::Literal(c),
        });
    }
    out
}

/// SQL `text LIKE pattern`, ASCII case-insensitive.
pub fn like(pattern: &str, text: &str) -> bool {
    let pat = tokens(pattern);
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with backtracking to the last `%`: linear in practice, never exponential.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(Token::AnyRun) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Token::One) => {
                p += 1;
                t += 1;
            }
            Some(Token::Literal(c)) if c.eq_ignore_ascii_case(&text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|tok| *tok == Token::AnyRun)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_as_sql_does() {
        let cases = [
            ("%.jpg", "IMG_0001.JPG", true),
            ("%.jpg", "IMG_0001.jpeg", false),
            ("img\\_%", "IMG_0001.jpg", true),
            ("img\\_%", "IMGX0001.jpg", false),
            ("img_0001.jpg", "IMGX0001.JPG", true),
            ("a%b%c", "aXXbYYc", true),
            ("a%b%c", "aXXcYYb", false),
            ("%", "", true),
            ("_", "", false),
            ("_", "é", true),
            ("É", "é", false),
            ("100\\%", "100%", true),
            ("100\\%", "1000", false),
            ("x\\", "x\\", true),
            ("%%a%%", "bab", true),
            ("", "", true),
            ("", "a", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(like(pattern, text), expected, "{text:?} LIKE {pattern:?}");
        }
    }

    #[test]
    fn equality_is_case_sensitive_and_filters_combine_with_and() {
        let f = [
            Filter::NameLike("%.jpg".into()),
            Filter::NameEquals("a.jpg".into()),
        ];
        assert!(matches_all(&f, "a.jpg"));
        assert!(!matches_all(&f, "A.jpg"));
        assert!(!matches_all(&f, "b.jpg"));
        assert!(matches_all(&[], "anything"));
    }
}
