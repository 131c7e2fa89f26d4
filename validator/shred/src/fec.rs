//! Reed-Solomon erasure coding of one FEC set (`reed-solomon-simd`, GF(2^16), Leopard
//! style): `data_count` original shards give `coding_count` recovery shards, and any
//! `data_count` of the `data_count + coding_count` shards give back the originals.
//!
//! Shard `i` of the originals is data shred `i`'s header and payload; recovery shard `j`
//! is coding shred `j`'s body. Indexes on both sides are the shreds' positions in the set.

use reed_solomon_simd::{Error, ReedSolomonDecoder, ReedSolomonEncoder};

use crate::layout::SetShape;

/// Computes the set's recovery shards from its `data_count` original shards (in
/// position order, each `shape.shard_bytes()` long) and hands each to `write` with its
/// position.
pub(crate) fn encode_parity<'a>(
    shape: SetShape,
    data_shards: impl IntoIterator<Item = &'a [u8]>,
    mut write: impl FnMut(usize, &[u8]),
) -> Result<(), Error> {
    let mut encoder = ReedSolomonEncoder::new(
        usize::from(shape.data_count()),
        usize::from(shape.coding_count()),
        shape.shard_bytes(),
    )?;
    for shard in data_shards {
        encoder.add_original_shard(shard)?;
    }
    let result = encoder.encode()?;
    let mut written = 0;
    for (position, parity) in result.recovery_iter().enumerate() {
        write(position, parity);
        written += 1;
    }
    assert_eq!(written, usize::from(shape.coding_count()));
    Ok(())
}

/// Restores the missing original shards from the shards at hand (at least
/// `data_count` in all, positions distinct and in range). Returns the restored shards
/// with their positions, in position order.
pub(crate) fn recover_data<'a>(
    shape: SetShape,
    data_shards: impl IntoIterator<Item = (usize, &'a [u8])>,
    coding_shards: impl IntoIterator<Item = (usize, &'a [u8])>,
) -> Result<Vec<(usize, Vec<u8>)>, Error> {
    let data_count = usize::from(shape.data_count());
    let mut decoder = ReedSolomonDecoder::new(
        data_count,
        usize::from(shape.coding_count()),
        shape.shard_bytes(),
    )?;
    for (position, shard) in data_shards {
        decoder.add_original_shard(position, shard)?;
    }
    for (position, shard) in coding_shards {
        decoder.add_recovery_shard(position, shard)?;
    }
    let result = decoder.decode()?;
    let restored: Vec<(usize, Vec<u8>)> = result
        .restored_original_iter()
        .map(|(position, shard)| (position, shard.to_vec()))
        .collect();
    assert!(restored.iter().all(|(position, _)| *position < data_count));
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_data_count_shards_recover_the_rest() {
        let shape = SetShape::new(4, 3).unwrap();
        let shards: Vec<Vec<u8>> = (0..4u8)
            .map(|i| vec![i.wrapping_mul(37); shape.shard_bytes()])
            .collect();
        let mut parity = vec![Vec::new(); 3];
        encode_parity(
            shape,
            shards.iter().map(Vec::as_slice),
            |position, bytes| {
                parity[position] = bytes.to_vec();
            },
        )
        .unwrap();
        // Keep data 1 and coding 0, 1, 2: restore data 0, 2, 3.
        let restored = recover_data(
            shape,
            [(1, shards[1].as_slice())],
            parity.iter().enumerate().map(|(i, p)| (i, p.as_slice())),
        )
        .unwrap();
        let positions: Vec<usize> = restored.iter().map(|(p, _)| *p).collect();
        assert_eq!(positions, [0, 2, 3]);
        for (position, shard) in restored {
            assert_eq!(shard, shards[position]);
        }
        // Three shards are not enough.
        assert!(
            recover_data(
                shape,
                [(1, shards[1].as_slice())],
                parity[..2]
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (i, p.as_slice())),
            )
            .is_err()
        );
    }
}
