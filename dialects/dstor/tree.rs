//! The folder tree of an upload (specs/dstor.md §5 step 9, §6 `data`, §7 folders): the checks
//! a request must pass before it counts, and the listing of files and folders with their CIDs
//! once every file is known. Pure functions over relative paths (`a/b.txt`, below the upload's
//! `folder_path`).

use std::collections::{HashMap, HashSet};

use super::cid::{folder_node, Cid, DagRoot, CID_BYTES, SHARDING_THRESHOLD};

/// Why the files an upload would hold cannot form a folder tree.
#[derive(Debug, PartialEq, Eq)]
pub enum TreeError {
    /// `path` is a file and also a folder of another file.
    Conflict(String),
    /// The folder at this relative path ("" for the upload's folder) would be sharded by kubo.
    FolderTooBig(String),
    /// More files than `dstor.max_files`.
    TooManyFiles,
}

/// The paths the upload would hold: `held`, then `staged` (a repeated path replaces the one
/// held, keeping its position, as the engine does).
fn merged<'a>(held: &'a [&'a str], staged: &'a [&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::with_capacity(held.len() + staged.len());
    let mut seen: HashSet<&str> = HashSet::with_capacity(out.capacity());
    for p in held.iter().chain(staged) {
        if seen.insert(p) {
            out.push(p);
        }
    }
    out
}

/// Checks the tree the upload would hold after adding `staged` (§5 step 9), in the spec's
/// order: conflicts, folder sizes, file count.
pub fn check(held: &[&str], staged: &[&str], max_files: u64) -> Result<(), TreeError> {
    let files = merged(held, staged);
    let set: HashSet<&str> = files.iter().copied().collect();
    for f in &files {
        for (i, _) in f.match_indices('/') {
            if set.contains(&f[..i]) {
                return Err(TreeError::Conflict(f[..i].to_owned()));
            }
        }
    }
    // Kubo's estimate of a folder's size: Σ over its entries of (name bytes + 34).
    let mut folders: HashMap<&str, (HashSet<&str>, u64)> = HashMap::new();
    for f in &files {
        let mut parent = "";
        let mut start = 0;
        for segment in f.split('/') {
            let end = start + segment.len();
            let (entries, size) = folders.entry(parent).or_default();
            if entries.insert(segment) {
                *size += segment.len() as u64 + CID_BYTES;
                if *size >= SHARDING_THRESHOLD {
                    return Err(TreeError::FolderTooBig(parent.to_owned()));
                }
            }
            parent = &f[..end];
            start = end + 1;
        }
    }
    if files.len() as u64 > max_files {
        return Err(TreeError::TooManyFiles);
    }
    Ok(())
}

/// One line of the `DONE` listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// `folder_path` joined with the relative path (§6 `Name`).
    pub name: String,
    pub root: DagRoot,
    /// A folder's entries (name, CID); `None` for a file.
    pub links: Option<Vec<(String, Cid)>>,
}

#[derive(Default)]
struct Folder {
    /// Entries in order of first appearance: (name, file root or sub-folder index).
    entries: Vec<(String, Entry)>,
}

enum Entry {
    File(DagRoot),
    Folder(usize),
}

/// The `data` listing (§6): the files in upload order, then every folder holding a file in
/// post-order (children before their parent, siblings in order of first appearance), including
/// `folder` and each of its ancestors, but not the root. `files` must have passed [`check`].
pub fn listing(folder: &str, files: &[(String, DagRoot)]) -> Vec<Listed> {
    let join = |parent: &str, name: &str| {
        if parent.is_empty() {
            name.to_owned()
        } else {
            format!("{parent}/{name}")
        }
    };
    let mut out: Vec<Listed> = files
        .iter()
        .map(|(rel, root)| Listed {
            name: join(folder, rel),
            root: *root,
            links: None,
        })
        .collect();

    // Arena of folders; 0 is the root.
    let mut arena: Vec<Folder> = vec![Folder::default()];
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut child_folder = |arena: &mut Vec<Folder>, parent: usize, path: String, name: &str| {
        if let Some(&i) = index.get(&path) {
            return i;
        }
        arena.push(Folder::default());
        let i = arena.len() - 1;
        arena[parent]
            .entries
            .push((name.to_owned(), Entry::Folder(i)));
        index.insert(path, i);
        i
    };
    let full_paths = files.iter().map(|(rel, root)| (join(folder, rel), *root));
    for (path, root) in full_paths {
        let (dirs, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        let mut at = 0;
        let mut so_far = String::new();
        for segment in dirs.split('/').filter(|s| !s.is_empty()) {
            so_far = join(&so_far, segment);
            at = child_folder(&mut arena, at, so_far.clone(), segment);
        }
        arena[at].entries.push((name.to_owned(), Entry::File(root)));
    }

    // Post-order walk from the root, computing each folder's node from its entries.
    fn walk(arena: &[Folder], at: usize, path: &str, out: &mut Vec<Listed>) -> DagRoot {
        let mut links: Vec<(String, DagRoot)> = Vec::new();
        for (name, entry) in &arena[at].entries {
            let root = match entry {
                Entry::File(root) => *root,
                Entry::Folder(i) => {
                    let child_path = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}/{name}")
                    };
                    walk(arena, *i, &child_path, out)
                }
            };
            links.push((name.clone(), root));
        }
        let root = folder_node(links.iter().map(|(n, r)| (n.as_str(), *r)));
        if at != 0 {
            out.push(Listed {
                name: path.to_owned(),
                root,
                links: Some(links.into_iter().map(|(n, r)| (n, r.cid)).collect()),
            });
        }
        root
    }
    walk(&arena, 0, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialects::dstor::cid::file_cid;

    #[test]
    fn tree_checks_refuse_conflicts_big_folders_and_too_many_files() {
        let wide: Vec<String> = (0..3000).map(|i| format!("dir/{i:0>60}")).collect();
        let wide: Vec<&str> = wide.iter().map(String::as_str).collect();
        type Case<'a> = (&'a [&'a str], &'a [&'a str], u64, Result<(), TreeError>);
        let cases: Vec<Case> = vec![
            (&[], &["a.txt", "img/c.txt"], 10, Ok(())),
            (&["a.txt"], &["a.txt"], 1, Ok(())),
            (&["a"], &["a/b"], 10, Err(TreeError::Conflict("a".into()))),
            (
                &["x/a/b"],
                &["x/a"],
                10,
                Err(TreeError::Conflict("x/a".into())),
            ),
            (
                &[],
                &["a/b/c", "a/b"],
                10,
                Err(TreeError::Conflict("a/b".into())),
            ),
            (&["ab"], &["a/b", "abc/d"], 10, Ok(())),
            (
                &[],
                &wide,
                10_000,
                Err(TreeError::FolderTooBig("dir".into())),
            ),
            (&[], &wide[..2000], 10_000, Ok(())),
            (&["a", "b"], &["c"], 2, Err(TreeError::TooManyFiles)),
            (&["a", "b"], &["b"], 2, Ok(())),
        ];
        for (held, staged, max, want) in cases {
            assert_eq!(check(held, staged, max), want, "{held:?} + {staged:?}");
        }
    }

    #[test]
    fn a_folder_is_too_big_exactly_at_kubos_sharding_threshold() {
        // 4096 names of 30 bytes: 4096 × (30 + 34) = 262144, the threshold itself.
        let names: Vec<String> = (0..4096).map(|i| format!("{i:0>30}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            check(&[], &names, 100_000),
            Err(TreeError::FolderTooBig(String::new()))
        );
        assert_eq!(check(&[], &names[..4095], 100_000), Ok(()));
    }

    #[test]
    fn the_listing_of_the_worked_example_gives_its_cids_and_sizes() {
        // Arrange: spec §13.
        let files = vec![
            ("a.txt".to_owned(), file_cid(b"first file\n")),
            ("b.txt".to_owned(), file_cid(b"second file\n")),
            ("img/c.txt".to_owned(), file_cid(b"third file\n")),
        ];

        // Act
        let listed = listing("evidence", &files);

        // Assert
        let got: Vec<(String, String, u64)> = listed
            .iter()
            .map(|l| (l.name.clone(), l.root.cid.to_string(), l.root.cumulative))
            .collect();
        let want = [
            (
                "evidence/a.txt",
                "QmQL22PPqPRaRL4Tko2SsbbZrQHq4FWrESRgfXnqBSudYF",
                19,
            ),
            (
                "evidence/b.txt",
                "QmNVsGmgYmQRHfR3zCimpDZzzz1v5YKoCTBBvchcGYo8jL",
                20,
            ),
            (
                "evidence/img/c.txt",
                "QmXG3wc2J8DqN6peBgBrAfadg59pHUwsAEX3sMYKJv6Tx7",
                19,
            ),
            (
                "evidence/img",
                "QmQj4ZTtrfrH37aq884oQL2VZSwcF1RFybTc8Eq8TegDQP",
                70,
            ),
            (
                "evidence",
                "QmXfU6KcQK8sWkaeJj4A1V7TkxWrsWkmACbyf1e1HJCEwQ",
                252,
            ),
        ];
        let want: Vec<(String, String, u64)> = want
            .iter()
            .map(|(n, c, s)| (n.to_string(), c.to_string(), *s))
            .collect();
        assert_eq!(got, want);
        assert_eq!(
            listed[4]
                .links
                .as_ref()
                .unwrap()
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["a.txt", "b.txt", "img"]
        );
    }

    #[test]
    fn folders_come_in_post_order_with_every_ancestor_and_no_root() {
        let r = file_cid(b"x");
        let files: Vec<(String, DagRoot)> = ["b/x", "a/y", "b/c/z", "top"]
            .iter()
            .map(|p| (p.to_string(), r))
            .collect();
        let names: Vec<String> = listing("p/q", &files).into_iter().map(|l| l.name).collect();
        assert_eq!(
            names,
            [
                "p/q/b/x",
                "p/q/a/y",
                "p/q/b/c/z",
                "p/q/top", // files in upload order
                "p/q/b/c",
                "p/q/b",
                "p/q/a",
                "p/q",
                "p",
            ]
        );
        let at_root: Vec<String> = listing("", &files[..1])
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(at_root, ["b/x", "b"]);
    }
}
