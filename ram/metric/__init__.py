"""The Relative Adoption Metric, pure (frames in, frames out, no I/O): curves, baselines, scores,
leaderboard rules and data-quality flags (RAM_SPEC.md)."""
