"""Block-level verification components: pyuvm environments and bus agents over the actor models."""
