"""`make soak`: hostile guests, injected faults and invariant monitors on the NIC RTL.

One host (nic_sim_top, 4 VFs): three honest NPA VMs and one hostile VM, all on
vendor A's plugin, plus the outside host, run random UDP traffic while attacks
and faults drawn from the seed are injected (sim/soak/attacks.py, faults.py) and
five monitors (sim/soak/monitors.py) judge the run. docs/ROBUSTNESS.md.
"""
