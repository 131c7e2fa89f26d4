//! Encodes one group (a block's writes or a compaction batch) for a segment: its records,
//! its commit record, and the index updates it makes once durable.

use aether_types::Hash;

use crate::format::{
    CommitRecord, GroupKind, MAX_GROUP_BYTES, MAX_GROUP_RECORDS, Salt, encode_commit,
    encode_delete, encode_put,
};
use crate::index::{Location, Update};
use crate::report::CommittedBlock;

/// An update at an offset relative to the group's start.
#[derive(Debug, Clone, Copy)]
struct PendingUpdate {
    key: Hash,
    put: bool,
    relative_offset: u64,
    len: u32,
}

/// Builds a group's bytes record by record.
#[derive(Debug)]
pub(crate) struct GroupBuilder<'s> {
    salt: &'s Salt,
    records: Vec<u8>,
    updates: Vec<PendingUpdate>,
}

/// A group ready to be written.
#[derive(Debug)]
pub(crate) struct EncodedGroup {
    /// The put and delete records.
    pub(crate) records: Vec<u8>,
    /// The commit record, written after `records` are durable.
    pub(crate) commit: Vec<u8>,
    updates: Vec<PendingUpdate>,
}

impl<'s> GroupBuilder<'s> {
    /// An empty group for a segment with checksum key `salt`.
    pub(crate) fn new(salt: &'s Salt) -> Self {
        GroupBuilder {
            salt,
            records: Vec::new(),
            updates: Vec::new(),
        }
    }

    /// Makes room for `records_bytes` of records in `records` entries.
    pub(crate) fn reserve(&mut self, records_bytes: usize, records: usize) {
        self.records.reserve(records_bytes);
        self.updates.reserve(records);
    }

    /// Adds a put (the caller has checked the value size).
    pub(crate) fn put(&mut self, key: &Hash, value: &[u8]) {
        let relative_offset = self.records.len() as u64;
        let len = encode_put(&mut self.records, self.salt, key, value);
        self.push(*key, true, relative_offset, len);
    }

    /// Adds a delete.
    pub(crate) fn delete(&mut self, key: &Hash) {
        let relative_offset = self.records.len() as u64;
        let len = encode_delete(&mut self.records, self.salt, key);
        self.push(*key, false, relative_offset, len);
    }

    fn push(&mut self, key: Hash, put: bool, relative_offset: u64, len: usize) {
        self.updates.push(PendingUpdate {
            key,
            put,
            relative_offset,
            len: len as u32,
        });
        // Callers bound their groups; these hold for every group a writer produces.
        assert!(self.updates.len() <= MAX_GROUP_RECORDS);
        assert!(self.records.len() <= MAX_GROUP_BYTES);
    }

    /// Seals the group with its commit record.
    pub(crate) fn finish(self, seq: u64, kind: GroupKind, block: &CommittedBlock) -> EncodedGroup {
        let mut commit = Vec::new();
        encode_commit(
            &mut commit,
            self.salt,
            &CommitRecord {
                seq,
                slot: block.slot,
                block_hash: block.block_hash,
                state_root: block.state_root,
                record_count: self.updates.len() as u32,
                kind,
                records_digest: *blake3::keyed_hash(self.salt, &self.records).as_bytes(),
            },
        );
        EncodedGroup {
            records: self.records,
            commit,
            updates: self.updates,
        }
    }
}

impl EncodedGroup {
    /// Bytes of records and commit record together.
    pub(crate) fn len(&self) -> u64 {
        (self.records.len() + self.commit.len()) as u64
    }

    /// The index updates of this group once written at `base_offset` of `segment`.
    pub(crate) fn updates(
        &self,
        segment: u32,
        base_offset: u64,
    ) -> impl Iterator<Item = Update> + '_ {
        self.updates.iter().map(move |pending| {
            let location = Location {
                segment,
                offset: base_offset + pending.relative_offset,
                len: pending.len,
            };
            if pending.put {
                Update::Put {
                    key: pending.key,
                    location,
                }
            } else {
                Update::Delete {
                    key: pending.key,
                    location,
                }
            }
        })
    }
}

/// Bytes a put record of `value_len` takes (for sizing batches before encoding).
pub(crate) fn put_record_len(value_len: usize) -> usize {
    crate::format::RECORD_HEADER_LEN + crate::format::KEY_LEN + value_len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Record, decode_record};

    #[test]
    fn group_decodes_to_its_records_and_commit() {
        let salt = [1u8; 32];
        let block = CommittedBlock {
            slot: 3,
            block_hash: Hash::digest(b"b"),
            state_root: Hash::digest(b"r"),
        };
        let mut builder = GroupBuilder::new(&salt);
        builder.put(&Hash::digest(b"a"), b"1");
        builder.delete(&Hash::digest(b"b"));
        let group = builder.finish(7, GroupKind::Block, &block);
        let updates: Vec<Update> = group.updates(2, 100).collect();
        assert_eq!(updates.len(), 2);
        let Update::Put { location, .. } = updates[0] else {
            panic!("put first")
        };
        assert_eq!(
            (location.segment, location.offset, location.len as usize),
            (2, 100, put_record_len(1))
        );
        let (record, _) = decode_record(&salt, &group.commit).unwrap();
        let Record::Commit(commit) = record else {
            panic!("commit")
        };
        assert_eq!((commit.seq, commit.slot, commit.record_count), (7, 3, 2));
        assert_eq!(
            commit.records_digest,
            *blake3::keyed_hash(&salt, &group.records).as_bytes()
        );
        assert_eq!(
            group.len(),
            (group.records.len() + group.commit.len()) as u64
        );
    }
}
