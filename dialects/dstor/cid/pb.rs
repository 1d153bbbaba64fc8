//! The dag-pb and UnixFS protobuf messages of a kubo block (specs/dstor.md §7, "Encoding").
//!
//! `PBLink` and UnixFS `Data` are derived with `prost`: its derive writes fields in tag order,
//! which is exactly kubo's order for these two (`Hash`, `Name`, `Tsize`; `Type`, `Data`,
//! `filesize`, `blocksizes`). `PBNode` is written by hand because kubo writes its `Links`
//! (field 2) **before** its `Data` (field 1), an order a tag-sorted derive cannot produce and on
//! which every CID depends.

use prost::Message;

/// UnixFS `Data.Type` values used here.
pub const TYPE_DIRECTORY: i32 = 1;
pub const TYPE_FILE: i32 = 2;

/// Wire key of `PBNode.Data`: field 1, length-delimited.
const NODE_DATA_KEY: u8 = 0x0a;
/// Wire key of `PBNode.Links`: field 2, length-delimited.
const NODE_LINK_KEY: u8 = 0x12;

/// A dag-pb link. Every field is present in kubo's blocks, including an empty `Name`
/// (written as `12 00`) on the links of a file's internal nodes.
#[derive(Clone, PartialEq, Message)]
pub struct PbLink {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub hash: Option<Vec<u8>>,
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
    #[prost(uint64, optional, tag = "3")]
    pub tsize: Option<u64>,
}

/// The UnixFS `Data` message carried in `PBNode.Data`.
#[derive(Clone, PartialEq, Message)]
pub struct UnixFsData {
    /// `required DataType Type`: written even when it is 0.
    #[prost(int32, required, tag = "1")]
    pub r#type: i32,
    /// Absent on an empty leaf and on internal nodes.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub data: Option<Vec<u8>>,
    #[prost(uint64, optional, tag = "3")]
    pub filesize: Option<u64>,
    /// proto2 `repeated uint64`, not packed: one key per entry.
    #[prost(uint64, repeated, packed = "false", tag = "4")]
    pub blocksizes: Vec<u64>,
}

/// The encoded `PBNode` of `links` and `data`: links first, then data (kubo's order).
pub fn encode_node(links: &[PbLink], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(node_len(links, data.len()));
    for link in links {
        out.push(NODE_LINK_KEY);
        link.encode_length_delimited(&mut out)
            .expect("a Vec grows as needed");
    }
    out.push(NODE_DATA_KEY);
    prost::encode_length_delimiter(data.len(), &mut out).expect("a Vec grows as needed");
    out.extend_from_slice(data);
    out
}

/// The length of [`encode_node`]'s output, without encoding it.
pub fn node_len(links: &[PbLink], data_len: usize) -> usize {
    let links: usize = links
        .iter()
        .map(|l| {
            let len = l.encoded_len();
            1 + prost::length_delimiter_len(len) + len
        })
        .sum();
    links + 1 + prost::length_delimiter_len(data_len) + data_len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_of_hello_world_is_encoded_byte_for_byte_as_kubo_does() {
        // Arrange: the worked bytes of the vectors' README.
        let data = UnixFsData {
            r#type: TYPE_FILE,
            data: Some(b"hello world\n".to_vec()),
            filesize: Some(12),
            blocksizes: vec![],
        };

        // Act
        let block = encode_node(&[], &data.encode_to_vec());

        // Assert
        assert_eq!(
            hex::encode(&block),
            "0a120802120c68656c6c6f20776f726c640a180c"
        );
        assert_eq!(node_len(&[], data.encoded_len()), block.len());
    }

    #[test]
    fn an_empty_leaf_has_a_filesize_and_no_data_bytes() {
        let data = UnixFsData {
            r#type: TYPE_FILE,
            data: None,
            filesize: Some(0),
            blocksizes: vec![],
        };
        assert_eq!(
            hex::encode(encode_node(&[], &data.encode_to_vec())),
            "0a0408021800"
        );
    }

    #[test]
    fn a_directory_has_links_before_its_data_and_names_every_link() {
        // Arrange
        let data = UnixFsData {
            r#type: TYPE_DIRECTORY,
            ..Default::default()
        };
        let link = |name: &str| PbLink {
            hash: Some(vec![0x12, 0x20, 1, 2]),
            name: Some(name.into()),
            tsize: Some(300),
        };

        // Act
        let block = encode_node(&[link(""), link("a")], &data.encode_to_vec());

        // Assert: 12 len (0a 04 12200102 | 12 00 | 18 ac02) ... 0a 02 0801
        assert_eq!(
            hex::encode(&block),
            "120b0a0412200102120018ac02\
             120c0a041220010212016118ac02\
             0a020801"
        );
        assert_eq!(node_len(&[link(""), link("a")], 2), block.len());
    }

    #[test]
    fn blocksizes_are_written_one_key_per_entry() {
        let data = UnixFsData {
            r#type: TYPE_FILE,
            data: None,
            filesize: Some(3),
            blocksizes: vec![1, 2],
        };
        assert_eq!(hex::encode(data.encode_to_vec()), "0802180320012002");
    }
}
