"""Python models of everything around the NIC RTL: host, drivers, hypervisor, guests, network."""
