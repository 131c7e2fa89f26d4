//! The overlay's bounds, validated once when the overlay is built.

/// Bounds on everything the overlay holds. A full overlay refuses new blocks
/// ([`InsertError::OverlayFull`](crate::InsertError::OverlayFull)); it never grows past
/// these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForkOverlayConfig {
    /// Unfinalized blocks held at once, over all forks. Also bounds the depth of any
    /// chain, so a read visits at most this many layers.
    pub max_unfinalized_blocks: usize,
    /// Writes (puts and deletes) held at once, over all unfinalized blocks.
    pub max_unfinalized_write_count: usize,
    /// Bytes of written values held at once, over all unfinalized blocks (keys and map
    /// overhead not counted; they are bounded by `max_unfinalized_write_count`).
    pub max_unfinalized_value_bytes: usize,
}

/// Why a [`ForkOverlayConfig`] is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A bound is outside its allowed range.
    #[error("{field} = {value} is outside {min}..={max}")]
    OutOfRange {
        /// The field's name.
        field: &'static str,
        /// The value given.
        value: usize,
        /// Smallest allowed.
        min: usize,
        /// Largest allowed.
        max: usize,
    },
}

impl ForkOverlayConfig {
    /// Largest allowed `max_unfinalized_blocks`: the block map is allocated up front, and a
    /// read walks at most this many layers.
    pub const MAX_UNFINALIZED_BLOCKS_LIMIT: usize = 1 << 16;

    /// Defaults: 1024 blocks (finality normally trails the tip by two or three blocks; this
    /// leaves room for a long stall), 4 Mi writes, 1 GiB of values.
    pub const DEFAULT: Self = Self {
        max_unfinalized_blocks: 1024,
        max_unfinalized_write_count: 1 << 22,
        max_unfinalized_value_bytes: 1 << 30,
    };

    /// Checks every bound is in range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let checks = [
            (
                "max_unfinalized_blocks",
                self.max_unfinalized_blocks,
                Self::MAX_UNFINALIZED_BLOCKS_LIMIT,
            ),
            (
                "max_unfinalized_write_count",
                self.max_unfinalized_write_count,
                usize::MAX,
            ),
            (
                "max_unfinalized_value_bytes",
                self.max_unfinalized_value_bytes,
                usize::MAX,
            ),
        ];
        for (field, value, max) in checks {
            if !(1..=max).contains(&value) {
                return Err(ConfigError::OutOfRange {
                    field,
                    value,
                    min: 1,
                    max,
                });
            }
        }
        Ok(())
    }
}

impl Default for ForkOverlayConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

const _: () = assert!(
    ForkOverlayConfig::DEFAULT.max_unfinalized_blocks
        <= ForkOverlayConfig::MAX_UNFINALIZED_BLOCKS_LIMIT
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_zero_or_huge_bounds_are_not() {
        assert_eq!(ForkOverlayConfig::default().validate(), Ok(()));
        let zero_blocks = ForkOverlayConfig {
            max_unfinalized_blocks: 0,
            ..ForkOverlayConfig::DEFAULT
        };
        assert!(matches!(
            zero_blocks.validate(),
            Err(ConfigError::OutOfRange {
                field: "max_unfinalized_blocks",
                value: 0,
                ..
            })
        ));
        let huge_blocks = ForkOverlayConfig {
            max_unfinalized_blocks: ForkOverlayConfig::MAX_UNFINALIZED_BLOCKS_LIMIT + 1,
            ..ForkOverlayConfig::DEFAULT
        };
        assert!(huge_blocks.validate().is_err());
        let zero_writes = ForkOverlayConfig {
            max_unfinalized_write_count: 0,
            ..ForkOverlayConfig::DEFAULT
        };
        assert!(zero_writes.validate().is_err());
        let zero_bytes = ForkOverlayConfig {
            max_unfinalized_value_bytes: 0,
            ..ForkOverlayConfig::DEFAULT
        };
        assert!(zero_bytes.validate().is_err());
    }
}
