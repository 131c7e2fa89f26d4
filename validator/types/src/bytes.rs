//! Length-bounded byte strings: a newtype per use, each with its own maximum.

/// Defines a newtype over `Vec<u8>` whose length never exceeds `$max`: the constructor
/// checks it, and decoding checks it before allocating. Encoded as a varint length and the
/// raw bytes.
macro_rules! bounded_bytes {
    ($(#[$meta:meta])* $name:ident, max = $max:path, field = $field:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name(Vec<u8>);

        impl $name {
            /// The largest length allowed.
            pub const MAX_LEN: usize = $max;

            /// Wraps `bytes`, refusing more than [`Self::MAX_LEN`] of them.
            pub fn new(bytes: Vec<u8>) -> Result<Self, $crate::BuildError> {
                if bytes.len() > Self::MAX_LEN {
                    return Err($crate::BuildError::TooLong {
                        what: $field,
                        length: bytes.len(),
                        max: Self::MAX_LEN,
                    });
                }
                Ok(Self(bytes))
            }

            /// The bytes.
            pub fn as_slice(&self) -> &[u8] {
                &self.0
            }

            /// The bytes, owned.
            pub fn into_vec(self) -> Vec<u8> {
                self.0
            }

            /// Number of bytes.
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// True when there are no bytes.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl $crate::codec::Encode for $name {
            fn encode_to(&self, out: &mut Vec<u8>) {
                $crate::codec::encode_bytes(out, &self.0);
            }
            fn encoded_len(&self) -> usize {
                $crate::codec::varint_len(self.0.len() as u32) + self.0.len()
            }
        }

        impl $crate::codec::Decode for $name {
            const MIN_ENCODED_LEN: usize = 1;
            fn decode_from(
                reader: &mut $crate::codec::Reader<'_>,
            ) -> Result<Self, $crate::codec::DecodeError> {
                Ok(Self($crate::codec::decode_bytes(reader, $field, Self::MAX_LEN)?))
            }
        }
    };
}

pub(crate) use bounded_bytes;
