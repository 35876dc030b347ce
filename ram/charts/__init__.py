"""Charts: chart data, style, Plotly figures, static export and the self-contained report."""
