//! A stable hash for values that must come out the same on every machine,
//! run and pkgtrace version (a sinkhole address, a scan shard), unlike
//! `std`'s seeded `DefaultHasher`.

/// 64-bit FNV-1a: tiny, unseeded, and it spreads short strings well.
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_published_function() {
        // Test vectors of the FNV reference (draft-eastlake-fnv).
        assert_eq!(super::fnv1a(*b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a(*b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(super::fnv1a(*b"foobar"), 0x8594_4171_f739_67e8);
    }
}
