"""Charts: chart data, style, Plotly figures, static export and the self-contained report."""

# The chart kinds ``ram plot`` draws, in the order its help lists them; ``figures.KINDS`` maps
# each to its builder.  Here, so that ``ram --help`` names them without importing plotly.
KIND_NAMES = (
    "ram-curves", "cumulative", "milestones", "calendar-region", "calendar-org",
    "monthly-region", "monthly-org", "size-mix", "derivative-share",
)  # fmt: skip
