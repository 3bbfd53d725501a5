// Simulation tops only: nic_top's parameters as nic_sim_top passes them through
// and two_host_top gives both its hosts, written once (the same names and
// defaults on either top; tb/env.py's NicTb and tb/datacenter/host_view.py read
// them by these names). NIC_SIM_PARAMS opens a parameter port list,
// NIC_SIM_PARAMS_PASS hands them on to an instance (nic_top, or a nic_sim_top).

`ifndef NIC_SIM_PARAMS_SVH
`define NIC_SIM_PARAMS_SVH

`define NIC_SIM_PARAMS \
    parameter int NUM_VF = 2, \
    parameter int NUM_QUEUES = 1, \
    parameter int DATA_W = 512, \
    parameter int ADDR_W = 64, \
    parameter int DMA_ID_W = 4, \
    parameter int MAC_TABLE_SIZE = 64

`define NIC_SIM_PARAMS_PASS \
    .NUM_VF(NUM_VF), .NUM_QUEUES(NUM_QUEUES), .DATA_W(DATA_W), .ADDR_W(ADDR_W), \
    .DMA_ID_W(DMA_ID_W), .MAC_TABLE_SIZE(MAC_TABLE_SIZE)

`endif
