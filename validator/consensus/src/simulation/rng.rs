//! The simulator's only source of randomness: SplitMix64 from the seed, so a run is a
//! pure function of its seed.

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator for `seed` and a stream label (independent streams per purpose, so
    /// changing how one is used does not shift the others).
    pub fn new(seed: u64, stream: u64) -> SimRng {
        let mut rng = SimRng(seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high` (via 128-bit multiply-shift).
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high);
        let span = high - low + 1;
        if span == 0 {
            return self.next_u64();
        }
        low + ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as u64
    }

    /// True with probability `permille / 1000`.
    pub fn chance(&mut self, permille: u64) -> bool {
        self.range(0, 999) < permille
    }
}
