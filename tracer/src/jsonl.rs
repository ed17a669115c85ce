//! Recorded event streams (JSON Lines).
