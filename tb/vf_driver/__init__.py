"""A standard VF driver model (ixgbevf-like): owns a function's queue pairs through its own BAR."""
