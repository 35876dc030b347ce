"""Track open-model adoption on the Hugging Face Hub and compute the Relative Adoption Metric."""

__version__ = "0.1.0"
