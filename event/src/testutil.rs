//! Helpers shared by the workspace's unit tests (event's and sandbox's).

/// xorshift64: enough randomness for fuzzing without a dependency.
pub struct Rng(pub u64);

impl Rng {
    #[allow(clippy::should_implement_trait)] // an RNG, not an iterator
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }

    /// Up to `max` random bytes.
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.byte()).collect()
    }

    /// `seed` with one to four random flips, replacements or cuts.
    pub fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut buf = seed.to_vec();
        for _ in 0..=self.below(4) {
            if buf.is_empty() {
                break;
            }
            let at = self.below(buf.len());
            match self.below(3) {
                0 => buf[at] ^= 1 << self.below(8),
                1 => buf[at] = self.byte(),
                _ => buf.truncate(at),
            }
        }
        buf
    }
}
