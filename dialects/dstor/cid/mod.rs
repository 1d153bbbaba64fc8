//! Content identifiers exactly as `ipfs add` computes them with kubo's defaults (CIDv0, the
//! "unixfs-v0-2015" profile): specs/dstor.md §7.
//!
//! [`FileCidBuilder`] is fed a file's bytes in order while they stream in (it is the engine's
//! [`ContentObserver`] of a batch file), cuts them into 262144-byte chunks and hashes each leaf
//! as soon as it is full, folding full nodes of 174 links into the balanced tree on the way; so
//! when the body ends only the right-hand spine remains to close. [`folder_node`] builds a
//! folder's block from its entries.

mod pb;

use std::fmt;

use prost::Message;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::ContentObserver;
use pb::{encode_node, PbLink, UnixFsData, TYPE_DIRECTORY, TYPE_FILE};

/// Kubo's fixed chunk size.
pub const CHUNK_SIZE: usize = 262_144;
/// Kubo's most links per node of the balanced layout.
pub const MAX_LINKS: usize = 174;
/// Bytes of a CIDv0 in a link: kubo's estimate of a folder's size adds this per entry.
pub const CID_BYTES: u64 = 34;
/// Kubo shards (HAMT) a folder once Σ (name bytes + [`CID_BYTES`]) reaches this.
pub const SHARDING_THRESHOLD: u64 = 262_144;

/// A CIDv0: the multihash `0x12 0x20 ‖ SHA-256(block)`, shown in base58btc (`Qm…`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid([u8; 34]);

impl Cid {
    /// The CID of a block.
    pub fn of_block(block: &[u8]) -> Cid {
        Self::from_digest(Sha256::digest(block).into())
    }

    fn from_digest(digest: [u8; 32]) -> Cid {
        let mut mh = [0u8; 34];
        mh[0] = 0x12;
        mh[1] = 0x20;
        mh[2..].copy_from_slice(&digest);
        Cid(mh)
    }

    /// The multihash bytes (what a link's `Hash` holds).
    pub fn multihash(&self) -> &[u8; 34] {
        &self.0
    }

    /// Parses the base58btc text form; `None` unless it is a sha2-256 CIDv0.
    pub fn parse(text: &str) -> Option<Cid> {
        let bytes = bs58::decode(text).into_vec().ok()?;
        let mh: [u8; 34] = bytes.try_into().ok()?;
        (mh[0] == 0x12 && mh[1] == 0x20).then_some(Cid(mh))
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).into_string())
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cid({self})")
    }
}

impl Serialize for Cid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Cid::parse(&text).ok_or_else(|| serde::de::Error::custom("not a CIDv0"))
    }
}

/// The root of a DAG and what `ipfs add` reports for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DagRoot {
    pub cid: Cid,
    /// `ipfs add`'s `Size`: the root block's length plus the `Tsize` of each of its links,
    /// i.e. the bytes of every block of the DAG. Also the `Tsize` of a link to it.
    pub cumulative: u64,
}

/// A finished node of a file's tree, as its parent links to it.
#[derive(Clone, Copy, Debug)]
struct Child {
    root: DagRoot,
    /// File bytes below the node (its parent's `blocksizes` entry).
    filesize: u64,
}

/// Builds a file's CID while its bytes stream in (kubo's balanced layout, File leaves).
pub struct FileCidBuilder {
    chunk: Vec<u8>,
    /// `levels[0]` holds finished leaves, `levels[k]` nodes of depth `k`, each fewer than
    /// [`MAX_LINKS`]: a level that fills up is closed into one node of the level above.
    levels: Vec<Vec<Child>>,
    leaves: u64,
}

impl Default for FileCidBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl FileCidBuilder {
    pub fn new() -> Self {
        FileCidBuilder {
            chunk: Vec::with_capacity(CHUNK_SIZE),
            levels: Vec::new(),
            leaves: 0,
        }
    }

    /// Feeds the next bytes of the file.
    pub fn write(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = (CHUNK_SIZE - self.chunk.len()).min(data.len());
            self.chunk.extend_from_slice(&data[..take]);
            data = &data[take..];
            // A full chunk is a leaf whatever follows: a file of an exact multiple of the
            // chunk size has no empty trailing leaf.
            if self.chunk.len() == CHUNK_SIZE {
                self.close_leaf();
            }
        }
    }

    /// The file's root, once every byte has been written.
    pub fn finish(mut self) -> DagRoot {
        // An empty file is one empty leaf.
        if !self.chunk.is_empty() || self.leaves == 0 {
            self.close_leaf();
        }
        // Close the right-hand spine bottom-up. As in boxo's balanced builder, a trailing
        // partial subtree keeps its depth (a node with a single link is not collapsed); only
        // a top level holding exactly one node makes that node the root.
        let mut k = 0;
        loop {
            let top = k + 1 == self.levels.len();
            if top && self.levels[k].len() == 1 {
                return self.levels[k][0].root;
            }
            if !self.levels[k].is_empty() {
                let children = std::mem::take(&mut self.levels[k]);
                let node = internal_node(&children);
                if top {
                    self.levels.push(Vec::new());
                }
                self.levels[k + 1].push(node);
            }
            k += 1;
        }
    }

    fn close_leaf(&mut self) {
        let len = self.chunk.len() as u64;
        let data = UnixFsData {
            r#type: TYPE_FILE,
            // The Data field is omitted for an empty chunk (kubo's empty file).
            data: (!self.chunk.is_empty()).then(|| std::mem::take(&mut self.chunk)),
            filesize: Some(len),
            blocksizes: vec![],
        };
        let block = encode_node(&[], &data.encode_to_vec());
        if let Some(mut buf) = data.data {
            // Reuse the chunk buffer.
            buf.clear();
            self.chunk = buf;
        }
        self.leaves += 1;
        let leaf = Child {
            root: DagRoot {
                cid: Cid::of_block(&block),
                cumulative: block.len() as u64,
            },
            filesize: len,
        };
        self.push(0, leaf);
    }

    fn push(&mut self, level: usize, child: Child) {
        if self.levels.len() <= level {
            self.levels.push(Vec::new());
        }
        self.levels[level].push(child);
        if self.levels[level].len() == MAX_LINKS {
            let children = std::mem::take(&mut self.levels[level]);
            let node = internal_node(&children);
            self.push(level + 1, node);
        }
    }
}

impl ContentObserver for FileCidBuilder {
    fn update(&mut self, data: &[u8]) {
        self.write(data);
    }
}

/// An internal node of a file: UnixFS File with `filesize` and `blocksizes`, no data bytes,
/// one unnamed link per child.
fn internal_node(children: &[Child]) -> Child {
    let filesize = children.iter().map(|c| c.filesize).sum();
    let data = UnixFsData {
        r#type: TYPE_FILE,
        data: None,
        filesize: Some(filesize),
        blocksizes: children.iter().map(|c| c.filesize).collect(),
    };
    let links: Vec<PbLink> = children
        .iter()
        .map(|c| link(String::new(), &c.root))
        .collect();
    Child {
        root: root_of(&links, &data, children.iter().map(|c| c.root.cumulative)),
        filesize,
    }
}

fn link(name: String, to: &DagRoot) -> PbLink {
    PbLink {
        hash: Some(to.cid.multihash().to_vec()),
        name: Some(name),
        tsize: Some(to.cumulative),
    }
}

fn root_of(links: &[PbLink], data: &UnixFsData, tsizes: impl Iterator<Item = u64>) -> DagRoot {
    let block = encode_node(links, &data.encode_to_vec());
    DagRoot {
        cid: Cid::of_block(&block),
        cumulative: block.len() as u64 + tsizes.sum::<u64>(),
    }
}

/// A folder's node: UnixFS Directory, one link per entry named after it, sorted by the bytes
/// of the names (kubo sorts; `"Z…"` comes before `"a…"`).
pub fn folder_node<'a>(entries: impl IntoIterator<Item = (&'a str, DagRoot)>) -> DagRoot {
    let mut entries: Vec<(&str, DagRoot)> = entries.into_iter().collect();
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let links: Vec<PbLink> = entries
        .iter()
        .map(|(name, root)| link((*name).to_owned(), root))
        .collect();
    let data = UnixFsData {
        r#type: TYPE_DIRECTORY,
        ..Default::default()
    };
    root_of(&links, &data, entries.iter().map(|(_, r)| r.cumulative))
}

/// The CID of a whole in-memory file (tests and small contents).
pub fn file_cid(content: &[u8]) -> DagRoot {
    let mut b = FileCidBuilder::new();
    b.write(content);
    b.finish()
}

#[cfg(test)]
mod tests;
