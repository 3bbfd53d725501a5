// Simulation-only top for tests/test_hdl_bus.py: two identical AXI4 paths, A passed
// through to m_axi_a_* (served by tb/host's Python AxiDmaResponder) and B into
// sim_host_bus (the HDL host bus). The same master traffic on both must give the
// same handshakes at the same edges, the same data and the same memory. Not part of rtl/.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hdl_bus_pair_top #(
  parameter int DATA_W = 512,  // data bus width, 8 * 2**k bits
  parameter int ADDR_W = 64,   // address width
  parameter int ID_W   = 8,    // AXI ID width
  parameter int USER_W = 8     // a*user width: PCIe function number
) (
  input  wire logic                clk,
  // The masters' reset: read by cocotbext-axi through VPI, not by the HDL.
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire logic                rst,
  /* verilator lint_on UNUSEDSIGNAL */

  // Path B's host bus model (tb/host/hdl_bus.py).
  input  wire logic                bus_b_rst,
  output wire logic [31:0]         bus_b_event,
  output wire logic                bus_b_idle,

  input  wire logic [ID_W-1:0]        s_axi_a_awid,
  output wire logic [ID_W-1:0]        m_axi_a_awid,
  input  wire logic [ADDR_W-1:0]      s_axi_a_awaddr,
  output wire logic [ADDR_W-1:0]      m_axi_a_awaddr,
  input  wire logic [7:0]             s_axi_a_awlen,
  output wire logic [7:0]             m_axi_a_awlen,
  input  wire logic [2:0]             s_axi_a_awsize,
  output wire logic [2:0]             m_axi_a_awsize,
  input  wire logic [1:0]             s_axi_a_awburst,
  output wire logic [1:0]             m_axi_a_awburst,
  input  wire logic [USER_W-1:0]      s_axi_a_awuser,
  output wire logic [USER_W-1:0]      m_axi_a_awuser,
  input  wire logic                   s_axi_a_awvalid,
  output wire logic                   m_axi_a_awvalid,
  output wire logic                   s_axi_a_awready,
  input  wire logic                   m_axi_a_awready,
  input  wire logic [DATA_W-1:0]      s_axi_a_wdata,
  output wire logic [DATA_W-1:0]      m_axi_a_wdata,
  input  wire logic [DATA_W/8-1:0]    s_axi_a_wstrb,
  output wire logic [DATA_W/8-1:0]    m_axi_a_wstrb,
  input  wire logic                   s_axi_a_wlast,
  output wire logic                   m_axi_a_wlast,
  input  wire logic                   s_axi_a_wvalid,
  output wire logic                   m_axi_a_wvalid,
  output wire logic                   s_axi_a_wready,
  input  wire logic                   m_axi_a_wready,
  output wire logic [ID_W-1:0]        s_axi_a_bid,
  input  wire logic [ID_W-1:0]        m_axi_a_bid,
  output wire logic [1:0]             s_axi_a_bresp,
  input  wire logic [1:0]             m_axi_a_bresp,
  output wire logic                   s_axi_a_bvalid,
  input  wire logic                   m_axi_a_bvalid,
  input  wire logic                   s_axi_a_bready,
  output wire logic                   m_axi_a_bready,
  input  wire logic [ID_W-1:0]        s_axi_a_arid,
  output wire logic [ID_W-1:0]        m_axi_a_arid,
  input  wire logic [ADDR_W-1:0]      s_axi_a_araddr,
  output wire logic [ADDR_W-1:0]      m_axi_a_araddr,
  input  wire logic [7:0]             s_axi_a_arlen,
  output wire logic [7:0]             m_axi_a_arlen,
  input  wire logic [2:0]             s_axi_a_arsize,
  output wire logic [2:0]             m_axi_a_arsize,
  input  wire logic [1:0]             s_axi_a_arburst,
  output wire logic [1:0]             m_axi_a_arburst,
  input  wire logic [USER_W-1:0]      s_axi_a_aruser,
  output wire logic [USER_W-1:0]      m_axi_a_aruser,
  input  wire logic                   s_axi_a_arvalid,
  output wire logic                   m_axi_a_arvalid,
  output wire logic                   s_axi_a_arready,
  input  wire logic                   m_axi_a_arready,
  output wire logic [ID_W-1:0]        s_axi_a_rid,
  input  wire logic [ID_W-1:0]        m_axi_a_rid,
  output wire logic [DATA_W-1:0]      s_axi_a_rdata,
  input  wire logic [DATA_W-1:0]      m_axi_a_rdata,
  output wire logic [1:0]             s_axi_a_rresp,
  input  wire logic [1:0]             m_axi_a_rresp,
  output wire logic                   s_axi_a_rlast,
  input  wire logic                   m_axi_a_rlast,
  output wire logic                   s_axi_a_rvalid,
  input  wire logic                   m_axi_a_rvalid,
  input  wire logic                   s_axi_a_rready,
  output wire logic                   m_axi_a_rready,
  input  wire logic [ID_W-1:0]        s_axi_b_awid,
  input  wire logic [ADDR_W-1:0]      s_axi_b_awaddr,
  input  wire logic [7:0]             s_axi_b_awlen,
  input  wire logic [2:0]             s_axi_b_awsize,
  input  wire logic [1:0]             s_axi_b_awburst,
  input  wire logic [USER_W-1:0]      s_axi_b_awuser,
  input  wire logic                   s_axi_b_awvalid,
  output wire logic                   s_axi_b_awready,
  input  wire logic [DATA_W-1:0]      s_axi_b_wdata,
  input  wire logic [DATA_W/8-1:0]    s_axi_b_wstrb,
  input  wire logic                   s_axi_b_wlast,
  input  wire logic                   s_axi_b_wvalid,
  output wire logic                   s_axi_b_wready,
  output wire logic [ID_W-1:0]        s_axi_b_bid,
  output wire logic [1:0]             s_axi_b_bresp,
  output wire logic                   s_axi_b_bvalid,
  input  wire logic                   s_axi_b_bready,
  input  wire logic [ID_W-1:0]        s_axi_b_arid,
  input  wire logic [ADDR_W-1:0]      s_axi_b_araddr,
  input  wire logic [7:0]             s_axi_b_arlen,
  input  wire logic [2:0]             s_axi_b_arsize,
  input  wire logic [1:0]             s_axi_b_arburst,
  input  wire logic [USER_W-1:0]      s_axi_b_aruser,
  input  wire logic                   s_axi_b_arvalid,
  output wire logic                   s_axi_b_arready,
  output wire logic [ID_W-1:0]        s_axi_b_rid,
  output wire logic [DATA_W-1:0]      s_axi_b_rdata,
  output wire logic [1:0]             s_axi_b_rresp,
  output wire logic                   s_axi_b_rlast,
  output wire logic                   s_axi_b_rvalid,
  input  wire logic                   s_axi_b_rready
);

  assign m_axi_a_awid = s_axi_a_awid;
  assign m_axi_a_awaddr = s_axi_a_awaddr;
  assign m_axi_a_awlen = s_axi_a_awlen;
  assign m_axi_a_awsize = s_axi_a_awsize;
  assign m_axi_a_awburst = s_axi_a_awburst;
  assign m_axi_a_awuser = s_axi_a_awuser;
  assign m_axi_a_awvalid = s_axi_a_awvalid;
  assign s_axi_a_awready = m_axi_a_awready;
  assign m_axi_a_wdata = s_axi_a_wdata;
  assign m_axi_a_wstrb = s_axi_a_wstrb;
  assign m_axi_a_wlast = s_axi_a_wlast;
  assign m_axi_a_wvalid = s_axi_a_wvalid;
  assign s_axi_a_wready = m_axi_a_wready;
  assign s_axi_a_bid = m_axi_a_bid;
  assign s_axi_a_bresp = m_axi_a_bresp;
  assign s_axi_a_bvalid = m_axi_a_bvalid;
  assign m_axi_a_bready = s_axi_a_bready;
  assign m_axi_a_arid = s_axi_a_arid;
  assign m_axi_a_araddr = s_axi_a_araddr;
  assign m_axi_a_arlen = s_axi_a_arlen;
  assign m_axi_a_arsize = s_axi_a_arsize;
  assign m_axi_a_arburst = s_axi_a_arburst;
  assign m_axi_a_aruser = s_axi_a_aruser;
  assign m_axi_a_arvalid = s_axi_a_arvalid;
  assign s_axi_a_arready = m_axi_a_arready;
  assign s_axi_a_rid = m_axi_a_rid;
  assign s_axi_a_rdata = m_axi_a_rdata;
  assign s_axi_a_rresp = m_axi_a_rresp;
  assign s_axi_a_rlast = m_axi_a_rlast;
  assign s_axi_a_rvalid = m_axi_a_rvalid;
  assign m_axi_a_rready = s_axi_a_rready;

  sim_host_bus #(
      .DATA_W(DATA_W), .ADDR_W(ADDR_W), .ID_W(ID_W), .USER_W(USER_W)
  ) u_bus_b (
      .clk,
      .rst(bus_b_rst),
      .event_count(bus_b_event),
      .idle(bus_b_idle),
      .s_axi_awid(s_axi_b_awid),
      .s_axi_awaddr(s_axi_b_awaddr),
      .s_axi_awlen(s_axi_b_awlen),
      .s_axi_awsize(s_axi_b_awsize),
      .s_axi_awburst(s_axi_b_awburst),
      .s_axi_awuser(s_axi_b_awuser),
      .s_axi_awvalid(s_axi_b_awvalid),
      .s_axi_awready(s_axi_b_awready),
      .s_axi_wdata(s_axi_b_wdata),
      .s_axi_wstrb(s_axi_b_wstrb),
      .s_axi_wlast(s_axi_b_wlast),
      .s_axi_wvalid(s_axi_b_wvalid),
      .s_axi_wready(s_axi_b_wready),
      .s_axi_bid(s_axi_b_bid),
      .s_axi_bresp(s_axi_b_bresp),
      .s_axi_bvalid(s_axi_b_bvalid),
      .s_axi_bready(s_axi_b_bready),
      .s_axi_arid(s_axi_b_arid),
      .s_axi_araddr(s_axi_b_araddr),
      .s_axi_arlen(s_axi_b_arlen),
      .s_axi_arsize(s_axi_b_arsize),
      .s_axi_arburst(s_axi_b_arburst),
      .s_axi_aruser(s_axi_b_aruser),
      .s_axi_arvalid(s_axi_b_arvalid),
      .s_axi_arready(s_axi_b_arready),
      .s_axi_rid(s_axi_b_rid),
      .s_axi_rdata(s_axi_b_rdata),
      .s_axi_rresp(s_axi_b_rresp),
      .s_axi_rlast(s_axi_b_rlast),
      .s_axi_rvalid(s_axi_b_rvalid),
      .s_axi_rready(s_axi_b_rready)
  );

endmodule

`resetall
