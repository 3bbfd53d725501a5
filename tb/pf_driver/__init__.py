"""The PF driver model: SR-IOV enable, switch forwarding table, per-port statistics."""
