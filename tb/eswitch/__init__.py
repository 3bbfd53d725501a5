"""Harness of the embedded switch block: frames, the all-ports BFM, saturation runs."""
