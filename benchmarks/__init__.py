"""Performance benchmarks: speed and scale of the metric, collector and CLI, as ratios."""
