// Simulation-only top: nic_top with its host bus served in HDL by sim_host_bus
// (DPI-C into sim/dpi/host_mem.cpp) instead of a Python AXI4 slave, and its
// uplink's wire by sim_stream_source/sim_stream_sink (DPI-C into
// sim/dpi/stream.cpp) instead of Python stream models, so no Python runs per
// DMA or stream beat, and the only inputs Python drives are the clock, the
// resets, the register port and the interrupt ready. Every other nic_top port
// and parameter is re-exported under the same name (tb/env.py's NicTb drives
// either top); the host bus stays visible as the wires m_axi_*, the uplink as
// the wires s_axis_uplink_*/m_axis_uplink_*, and the per-function streams the
// pcap taps read are copied up as tx_*/rx_*. Built by sim/runner.py:
// nic_sim_top(). Not part of rtl/.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "nic_sim_params.svh"

module nic_sim_top import nic_pkg::*; #(
    // nic_top's parameters, passed through (NUM_VF … MAC_TABLE_SIZE: nic_sim_params.svh).
    `NIC_SIM_PARAMS,
    parameter logic [255:0] VF_RING_FMT = '0,
    // Host bus FIFOs: the most read/write bursts the C side may allow in flight.
    parameter int HOST_RD_DEPTH = 256,
    parameter int HOST_WR_DEPTH = 256,
    // The host bus's state in sim/dpi/host_mem.cpp (sim_host_bus's INSTANCE): 0 for
    // one host; sim/tops/two_host_top.sv gives each of its hosts its own.
    parameter int HOST_BUS_INST = 0,
    // The uplink's channels in sim/dpi/stream.cpp (tb/net/hdl_stream.py reads them).
    parameter int UPLINK_IN_CH = 0,
    parameter int UPLINK_OUT_CH = 1,
    // The pcap taps' channels (opened only while a capture runs): TAP_CH + 0 the
    // uplink into the switch, + 1 out of it; + 2 + 2f function f's TX stream (into
    // the switch), + 3 + 2f its RX stream (out of it).
    parameter int TAP_CH = 2,
    localparam int NUM_FUNC = NUM_VF + 1,
    localparam int SEL_W = (NUM_FUNC > 1) ? $clog2(NUM_FUNC) : 1,
    localparam int M_ID_W = DMA_ID_W + SEL_W,
    localparam int STRB_W = DATA_W / 8,
    localparam int AXIL_ADDR_W = 20
) (
    input  wire logic                   clk,
    input  wire logic                   rst,

    // The host bus model: its own reset (tb/host/hdl_bus.py holds it for the
    // first edge and for reset()), its event count and idle flag.
    input  wire logic                   host_bus_rst,
    output logic [31:0]                 host_bus_event,
    output logic                        host_bus_idle,

    input  wire logic [AXIL_ADDR_W-1:0] s_axil_awaddr,
    input  wire logic [FUNC_W-1:0]      s_axil_awuser,
    input  wire logic                   s_axil_awvalid,
    output logic                        s_axil_awready,
    input  wire logic [31:0]            s_axil_wdata,
    input  wire logic [3:0]             s_axil_wstrb,
    input  wire logic                   s_axil_wvalid,
    output logic                        s_axil_wready,
    output logic [1:0]                  s_axil_bresp,
    output logic                        s_axil_bvalid,
    input  wire logic                   s_axil_bready,
    input  wire logic [AXIL_ADDR_W-1:0] s_axil_araddr,
    input  wire logic [FUNC_W-1:0]      s_axil_aruser,
    input  wire logic                   s_axil_arvalid,
    output logic                        s_axil_arready,
    output logic [31:0]                 s_axil_rdata,
    output logic [1:0]                  s_axil_rresp,
    output logic                        s_axil_rvalid,
    input  wire logic                   s_axil_rready,

    // The uplink's wire: the outside network's frames into the NIC (source) and
    // out of it (sink), each with its own reset and its count of whole frames.
    input  wire logic                   uplink_in_rst,
    output logic [31:0]                 uplink_in_frames,
    output logic                        uplink_in_busy,
    input  wire logic                   uplink_out_rst,
    output logic [31:0]                 uplink_out_frames,

    output logic [FUNC_W-1:0]           m_irq_func,
    output logic [7:0]                  m_irq_vector,
    output logic                        m_irq_valid,
    input  wire logic                   m_irq_ready
);

  // The host bus between nic_top and the model.
  logic [M_ID_W-1:0] m_axi_awid, m_axi_bid, m_axi_arid, m_axi_rid;
  logic [ADDR_W-1:0] m_axi_awaddr, m_axi_araddr;
  logic [7:0]        m_axi_awlen, m_axi_arlen;
  logic [2:0]        m_axi_awsize, m_axi_arsize;
  logic [1:0]        m_axi_awburst, m_axi_arburst, m_axi_bresp, m_axi_rresp;
  logic [FUNC_W-1:0] m_axi_awuser, m_axi_aruser;
  logic              m_axi_awvalid, m_axi_awready, m_axi_wlast, m_axi_wvalid, m_axi_wready;
  logic              m_axi_bvalid, m_axi_bready, m_axi_arvalid, m_axi_arready;
  logic              m_axi_rlast, m_axi_rvalid, m_axi_rready;
  logic [DATA_W-1:0] m_axi_wdata, m_axi_rdata;
  logic [STRB_W-1:0] m_axi_wstrb;

  logic [DATA_W-1:0] s_axis_uplink_tdata, m_axis_uplink_tdata;
  logic [STRB_W-1:0] s_axis_uplink_tkeep, m_axis_uplink_tkeep;
  logic              s_axis_uplink_tlast, s_axis_uplink_tvalid, s_axis_uplink_tready;
  logic              m_axis_uplink_tlast, m_axis_uplink_tvalid, m_axis_uplink_tready;

  nic_top #(`NIC_SIM_PARAMS_PASS, .VF_RING_FMT(VF_RING_FMT)) u_nic (.*);

  sim_host_bus #(
      .DATA_W(DATA_W), .ADDR_W(ADDR_W), .ID_W(M_ID_W), .USER_W(FUNC_W),
      .RD_DEPTH(HOST_RD_DEPTH), .WR_DEPTH(HOST_WR_DEPTH), .INSTANCE(HOST_BUS_INST)
  ) u_host_bus (
      .clk,
      .rst(host_bus_rst),
      .event_count(host_bus_event),
      .idle(host_bus_idle),
      .s_axi_awid(m_axi_awid), .s_axi_awaddr(m_axi_awaddr), .s_axi_awlen(m_axi_awlen),
      .s_axi_awsize(m_axi_awsize), .s_axi_awburst(m_axi_awburst),
      .s_axi_awuser(m_axi_awuser), .s_axi_awvalid(m_axi_awvalid),
      .s_axi_awready(m_axi_awready),
      .s_axi_wdata(m_axi_wdata), .s_axi_wstrb(m_axi_wstrb), .s_axi_wlast(m_axi_wlast),
      .s_axi_wvalid(m_axi_wvalid), .s_axi_wready(m_axi_wready),
      .s_axi_bid(m_axi_bid), .s_axi_bresp(m_axi_bresp), .s_axi_bvalid(m_axi_bvalid),
      .s_axi_bready(m_axi_bready),
      .s_axi_arid(m_axi_arid), .s_axi_araddr(m_axi_araddr), .s_axi_arlen(m_axi_arlen),
      .s_axi_arsize(m_axi_arsize), .s_axi_arburst(m_axi_arburst),
      .s_axi_aruser(m_axi_aruser), .s_axi_arvalid(m_axi_arvalid),
      .s_axi_arready(m_axi_arready),
      .s_axi_rid(m_axi_rid), .s_axi_rdata(m_axi_rdata), .s_axi_rresp(m_axi_rresp),
      .s_axi_rlast(m_axi_rlast), .s_axi_rvalid(m_axi_rvalid), .s_axi_rready(m_axi_rready)
  );

  sim_stream_source #(.DATA_W(DATA_W), .CHANNEL(UPLINK_IN_CH)) u_uplink_in (
      .clk,
      .rst(uplink_in_rst),
      .m_tdata(s_axis_uplink_tdata), .m_tkeep(s_axis_uplink_tkeep),
      .m_tlast(s_axis_uplink_tlast), .m_tvalid(s_axis_uplink_tvalid),
      .m_tready(s_axis_uplink_tready),
      .frames_done(uplink_in_frames),
      .busy(uplink_in_busy)
  );

  sim_stream_sink #(.DATA_W(DATA_W), .CHANNEL(UPLINK_OUT_CH)) u_uplink_out (
      .clk,
      .rst(uplink_out_rst),
      .s_tdata(m_axis_uplink_tdata), .s_tkeep(m_axis_uplink_tkeep),
      .s_tlast(m_axis_uplink_tlast), .s_tvalid(m_axis_uplink_tvalid),
      .s_tready(m_axis_uplink_tready),
      .frames_done(uplink_out_frames)
  );

  // The per-function streams of the switch ports, for the pcap taps (and read
  // through VPI by tb/net/stream_tap.py on nic_top's build).
  logic [NUM_FUNC-1:0][DATA_W-1:0] tx_tdata, rx_tdata;
  logic [NUM_FUNC-1:0][STRB_W-1:0] tx_tkeep, rx_tkeep;
  logic [NUM_FUNC-1:0]             tx_tlast, tx_tvalid, tx_tready;
  logic [NUM_FUNC-1:0]             rx_tlast, rx_tvalid, rx_tready;
  assign tx_tdata  = u_nic.tx_tdata;
  assign tx_tkeep  = u_nic.tx_tkeep;
  assign tx_tlast  = u_nic.tx_tlast;
  assign tx_tvalid = u_nic.tx_tvalid;
  assign tx_tready = u_nic.tx_tready;
  assign rx_tdata  = u_nic.rx_tdata;
  assign rx_tkeep  = u_nic.rx_tkeep;
  assign rx_tlast  = u_nic.rx_tlast;
  assign rx_tvalid = u_nic.rx_tvalid;
  assign rx_tready = u_nic.rx_tready;

  // pcap taps: every switch port, both directions (tb/env.py, PCAP=1). Their
  // state is in C (opened and drained by Python), so they need no reset; nothing
  // uses their frames_done (Python drains them on a timer, not on a wake-up).
  /* verilator lint_off UNUSEDSIGNAL */
  logic [2*NUM_FUNC+1:0][31:0] tap_frames;
  /* verilator lint_on UNUSEDSIGNAL */

  sim_stream_tap #(.DATA_W(DATA_W), .CHANNEL(TAP_CH)) u_tap_uplink_in (
      .clk, .rst(1'b0),
      .s_tdata(s_axis_uplink_tdata), .s_tkeep(s_axis_uplink_tkeep),
      .s_tlast(s_axis_uplink_tlast), .s_tvalid(s_axis_uplink_tvalid),
      .s_tready(s_axis_uplink_tready), .frames_done(tap_frames[0])
  );
  sim_stream_tap #(.DATA_W(DATA_W), .CHANNEL(TAP_CH + 1)) u_tap_uplink_out (
      .clk, .rst(1'b0),
      .s_tdata(m_axis_uplink_tdata), .s_tkeep(m_axis_uplink_tkeep),
      .s_tlast(m_axis_uplink_tlast), .s_tvalid(m_axis_uplink_tvalid),
      .s_tready(m_axis_uplink_tready), .frames_done(tap_frames[1])
  );
  for (genvar f = 0; f < NUM_FUNC; f++) begin : g_tap
    sim_stream_tap #(.DATA_W(DATA_W), .CHANNEL(TAP_CH + 2 + 2 * f)) u_tx (
        .clk, .rst(1'b0),
        .s_tdata(tx_tdata[f]), .s_tkeep(tx_tkeep[f]), .s_tlast(tx_tlast[f]),
        .s_tvalid(tx_tvalid[f]), .s_tready(tx_tready[f]), .frames_done(tap_frames[2 + 2 * f])
    );
    sim_stream_tap #(.DATA_W(DATA_W), .CHANNEL(TAP_CH + 3 + 2 * f)) u_rx (
        .clk, .rst(1'b0),
        .s_tdata(rx_tdata[f]), .s_tkeep(rx_tkeep[f]), .s_tlast(rx_tlast[f]),
        .s_tvalid(rx_tvalid[f]), .s_tready(rx_tready[f]), .frames_done(tap_frames[3 + 2 * f])
    );
  end

endmodule

`resetall
