// Simulation-only top: two hosts in one simulation (issue 13, docs/MIGRATION.md).
// Host A and host B are each a nic_sim_top (nic_top with its host bus served in
// HDL by sim_host_bus and its uplink's wire by sim_stream_source/sink), with its
// own clock, resets and AXI4-Lite register port, its own host bus state in
// sim/dpi/host_mem.cpp (HOST_BUS_INST 0 and 1: separate memory, IOMMU mirror,
// watches and logs) and its own stream channels in sim/dpi/stream.cpp, so the
// top-of-rack switch model in Python (tb/net/tor_switch.py, tb/datacenter/)
// moves frames between the two uplinks and the outside host. Host A's VFs are
// ring format A (vendor A), host B's format B (vendor B) by default. Every port
// of a host is its nic_sim_top port under the prefix a_ or b_; its per-host
// parameters carry the prefix A_ or B_ (tb/datacenter/host_view.py maps the
// names back, so tb/env.py's NicTb drives each host unchanged). Built by
// sim/runner.py: two_host_top(). Not part of rtl/.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "nic_sim_params.svh"

module two_host_top import nic_pkg::*; #(
    // nic_top's parameters, the same on both hosts (nic_sim_top's, nic_sim_params.svh).
    `NIC_SIM_PARAMS,
    // Ring format of each host's VFs (bit n-1: VF n is format B).
    parameter logic [255:0] A_VF_RING_FMT = '0,
    parameter logic [255:0] B_VF_RING_FMT = '1,
    // Each host's host bus state in sim/dpi/host_mem.cpp.
    parameter int A_HOST_BUS_INST = 0,
    parameter int B_HOST_BUS_INST = 1,
    // Each host's stream channels in sim/dpi/stream.cpp: the uplink into the NIC,
    // out of it, and the first of its 2 * (NUM_VF + 2) pcap tap channels.
    parameter int A_UPLINK_IN_CH = 0,
    parameter int A_UPLINK_OUT_CH = 1,
    parameter int A_TAP_CH = 2,
    parameter int B_UPLINK_IN_CH = 64,
    parameter int B_UPLINK_OUT_CH = 65,
    parameter int B_TAP_CH = 66,
    localparam int NUM_FUNC = NUM_VF + 1,
    localparam int TAPS = 2 * (NUM_FUNC + 1),
    localparam int AXIL_ADDR_W = 20
) (
`define TWO_HOST_PORTS(h) \
    input  wire logic                   h``_clk, \
    input  wire logic                   h``_rst, \
    input  wire logic                   h``_host_bus_rst, \
    output logic [31:0]                 h``_host_bus_event, \
    output logic                        h``_host_bus_idle, \
    input  wire logic [AXIL_ADDR_W-1:0] h``_s_axil_awaddr, \
    input  wire logic [FUNC_W-1:0]      h``_s_axil_awuser, \
    input  wire logic                   h``_s_axil_awvalid, \
    output logic                        h``_s_axil_awready, \
    input  wire logic [31:0]            h``_s_axil_wdata, \
    input  wire logic [3:0]             h``_s_axil_wstrb, \
    input  wire logic                   h``_s_axil_wvalid, \
    output logic                        h``_s_axil_wready, \
    output logic [1:0]                  h``_s_axil_bresp, \
    output logic                        h``_s_axil_bvalid, \
    input  wire logic                   h``_s_axil_bready, \
    input  wire logic [AXIL_ADDR_W-1:0] h``_s_axil_araddr, \
    input  wire logic [FUNC_W-1:0]      h``_s_axil_aruser, \
    input  wire logic                   h``_s_axil_arvalid, \
    output logic                        h``_s_axil_arready, \
    output logic [31:0]                 h``_s_axil_rdata, \
    output logic [1:0]                  h``_s_axil_rresp, \
    output logic                        h``_s_axil_rvalid, \
    input  wire logic                   h``_s_axil_rready, \
    input  wire logic                   h``_uplink_in_rst, \
    output logic [31:0]                 h``_uplink_in_frames, \
    output logic                        h``_uplink_in_busy, \
    input  wire logic                   h``_uplink_out_rst, \
    output logic [31:0]                 h``_uplink_out_frames, \
    output logic [FUNC_W-1:0]           h``_m_irq_func, \
    output logic [7:0]                  h``_m_irq_vector, \
    output logic                        h``_m_irq_valid, \
    input  wire logic                   h``_m_irq_ready
    `TWO_HOST_PORTS(a),
    `TWO_HOST_PORTS(b)
`undef TWO_HOST_PORTS
);

  // Every stream channel of the two hosts distinct, and their host bus instances:
  // a shared channel would carry one host's frames into the other's NIC.
  function automatic bit channels_clash();
    int lo[6], hi[6];  // [lo, hi) of each channel set
    lo = '{A_UPLINK_IN_CH, A_UPLINK_OUT_CH, A_TAP_CH, B_UPLINK_IN_CH, B_UPLINK_OUT_CH, B_TAP_CH};
    hi = '{A_UPLINK_IN_CH + 1, A_UPLINK_OUT_CH + 1, A_TAP_CH + TAPS, B_UPLINK_IN_CH + 1,
           B_UPLINK_OUT_CH + 1, B_TAP_CH + TAPS};
    for (int i = 0; i < 6; i++)
      for (int j = i + 1; j < 6; j++)
        if (lo[i] < hi[j] && lo[j] < hi[i]) return 1'b1;
    return 1'b0;
  endfunction

  if (A_HOST_BUS_INST == B_HOST_BUS_INST || channels_clash()) begin : g_check
    $fatal(1, "%m: the two hosts' host bus instances or stream channels overlap");
  end

  // Each host's uplink stream towards the wire, copied up for its width (NicTb
  // sizes its frames' beats from it): read only by Python, through VPI.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [DATA_W-1:0] a_m_axis_uplink_tdata, b_m_axis_uplink_tdata;
  /* verilator lint_on UNUSEDSIGNAL */
  assign a_m_axis_uplink_tdata = u_host_a.m_axis_uplink_tdata;
  assign b_m_axis_uplink_tdata = u_host_b.m_axis_uplink_tdata;

`define TWO_HOST_INST(h, H) \
  nic_sim_top #( \
      `NIC_SIM_PARAMS_PASS, .VF_RING_FMT(H``_VF_RING_FMT), \
      .HOST_BUS_INST(H``_HOST_BUS_INST), .UPLINK_IN_CH(H``_UPLINK_IN_CH), \
      .UPLINK_OUT_CH(H``_UPLINK_OUT_CH), .TAP_CH(H``_TAP_CH) \
  ) u_host_``h ( \
      .clk(h``_clk), .rst(h``_rst), \
      .host_bus_rst(h``_host_bus_rst), .host_bus_event(h``_host_bus_event), \
      .host_bus_idle(h``_host_bus_idle), \
      .s_axil_awaddr(h``_s_axil_awaddr), .s_axil_awuser(h``_s_axil_awuser), \
      .s_axil_awvalid(h``_s_axil_awvalid), .s_axil_awready(h``_s_axil_awready), \
      .s_axil_wdata(h``_s_axil_wdata), .s_axil_wstrb(h``_s_axil_wstrb), \
      .s_axil_wvalid(h``_s_axil_wvalid), .s_axil_wready(h``_s_axil_wready), \
      .s_axil_bresp(h``_s_axil_bresp), .s_axil_bvalid(h``_s_axil_bvalid), \
      .s_axil_bready(h``_s_axil_bready), \
      .s_axil_araddr(h``_s_axil_araddr), .s_axil_aruser(h``_s_axil_aruser), \
      .s_axil_arvalid(h``_s_axil_arvalid), .s_axil_arready(h``_s_axil_arready), \
      .s_axil_rdata(h``_s_axil_rdata), .s_axil_rresp(h``_s_axil_rresp), \
      .s_axil_rvalid(h``_s_axil_rvalid), .s_axil_rready(h``_s_axil_rready), \
      .uplink_in_rst(h``_uplink_in_rst), .uplink_in_frames(h``_uplink_in_frames), \
      .uplink_in_busy(h``_uplink_in_busy), \
      .uplink_out_rst(h``_uplink_out_rst), .uplink_out_frames(h``_uplink_out_frames), \
      .m_irq_func(h``_m_irq_func), .m_irq_vector(h``_m_irq_vector), \
      .m_irq_valid(h``_m_irq_valid), .m_irq_ready(h``_m_irq_ready) \
  );

  `TWO_HOST_INST(a, A)
  `TWO_HOST_INST(b, B)
`undef TWO_HOST_INST

endmodule

`resetall
