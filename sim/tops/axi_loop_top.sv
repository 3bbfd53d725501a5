// Simulation-only top: an AXI4 slave port wired straight to an AXI4 master port.
// tests/test_host_model.py drives s_axi with cocotbext-axi's AxiMaster and serves
// m_axi with tb/host's AxiDmaResponder. Not part of rtl/.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module axi_loop_top #(
  parameter int DATA_W = 512,  // data bus width, 8 * 2**k bits
  parameter int ADDR_W = 64,   // address width
  parameter int ID_W   = 8,    // AXI ID width
  parameter int USER_W = 8     // a*user width: PCIe function number
) (
  input  wire logic                clk,
  input  wire logic                rst,

  // From the master model.
  input  wire logic [ID_W-1:0]     s_axi_awid,
  input  wire logic [ADDR_W-1:0]   s_axi_awaddr,
  input  wire logic [7:0]          s_axi_awlen,
  input  wire logic [2:0]          s_axi_awsize,
  input  wire logic [1:0]          s_axi_awburst,
  input  wire logic [USER_W-1:0]   s_axi_awuser,
  input  wire logic                s_axi_awvalid,
  output wire logic                s_axi_awready,
  input  wire logic [DATA_W-1:0]   s_axi_wdata,
  input  wire logic [DATA_W/8-1:0] s_axi_wstrb,
  input  wire logic                s_axi_wlast,
  input  wire logic                s_axi_wvalid,
  output wire logic                s_axi_wready,
  output wire logic [ID_W-1:0]     s_axi_bid,
  output wire logic [1:0]          s_axi_bresp,
  output wire logic                s_axi_bvalid,
  input  wire logic                s_axi_bready,
  input  wire logic [ID_W-1:0]     s_axi_arid,
  input  wire logic [ADDR_W-1:0]   s_axi_araddr,
  input  wire logic [7:0]          s_axi_arlen,
  input  wire logic [2:0]          s_axi_arsize,
  input  wire logic [1:0]          s_axi_arburst,
  input  wire logic [USER_W-1:0]   s_axi_aruser,
  input  wire logic                s_axi_arvalid,
  output wire logic                s_axi_arready,
  output wire logic [ID_W-1:0]     s_axi_rid,
  output wire logic [DATA_W-1:0]   s_axi_rdata,
  output wire logic [1:0]          s_axi_rresp,
  output wire logic                s_axi_rlast,
  output wire logic                s_axi_rvalid,
  input  wire logic                s_axi_rready,

  // To the responder model.
  output wire logic [ID_W-1:0]     m_axi_awid,
  output wire logic [ADDR_W-1:0]   m_axi_awaddr,
  output wire logic [7:0]          m_axi_awlen,
  output wire logic [2:0]          m_axi_awsize,
  output wire logic [1:0]          m_axi_awburst,
  output wire logic [USER_W-1:0]   m_axi_awuser,
  output wire logic                m_axi_awvalid,
  input  wire logic                m_axi_awready,
  output wire logic [DATA_W-1:0]   m_axi_wdata,
  output wire logic [DATA_W/8-1:0] m_axi_wstrb,
  output wire logic                m_axi_wlast,
  output wire logic                m_axi_wvalid,
  input  wire logic                m_axi_wready,
  input  wire logic [ID_W-1:0]     m_axi_bid,
  input  wire logic [1:0]          m_axi_bresp,
  input  wire logic                m_axi_bvalid,
  output wire logic                m_axi_bready,
  output wire logic [ID_W-1:0]     m_axi_arid,
  output wire logic [ADDR_W-1:0]   m_axi_araddr,
  output wire logic [7:0]          m_axi_arlen,
  output wire logic [2:0]          m_axi_arsize,
  output wire logic [1:0]          m_axi_arburst,
  output wire logic [USER_W-1:0]   m_axi_aruser,
  output wire logic                m_axi_arvalid,
  input  wire logic                m_axi_arready,
  input  wire logic [ID_W-1:0]     m_axi_rid,
  input  wire logic [DATA_W-1:0]   m_axi_rdata,
  input  wire logic [1:0]          m_axi_rresp,
  input  wire logic                m_axi_rlast,
  input  wire logic                m_axi_rvalid,
  output wire logic                m_axi_rready
);

  initial begin
    if (DATA_W < 8 || (DATA_W & (DATA_W - 1)) != 0) begin
      $fatal(1, "%m: DATA_W (%0d) must be a power of two >= 8", DATA_W);
    end
  end

  // Write address and data: master -> responder.
  assign m_axi_awid    = s_axi_awid;
  assign m_axi_awaddr  = s_axi_awaddr;
  assign m_axi_awlen   = s_axi_awlen;
  assign m_axi_awsize  = s_axi_awsize;
  assign m_axi_awburst = s_axi_awburst;
  assign m_axi_awuser  = s_axi_awuser;
  assign m_axi_awvalid = s_axi_awvalid;
  assign s_axi_awready = m_axi_awready;
  assign m_axi_wdata   = s_axi_wdata;
  assign m_axi_wstrb   = s_axi_wstrb;
  assign m_axi_wlast   = s_axi_wlast;
  assign m_axi_wvalid  = s_axi_wvalid;
  assign s_axi_wready  = m_axi_wready;

  // Write response: responder -> master.
  assign s_axi_bid     = m_axi_bid;
  assign s_axi_bresp   = m_axi_bresp;
  assign s_axi_bvalid  = m_axi_bvalid;
  assign m_axi_bready  = s_axi_bready;

  // Read address: master -> responder.
  assign m_axi_arid    = s_axi_arid;
  assign m_axi_araddr  = s_axi_araddr;
  assign m_axi_arlen   = s_axi_arlen;
  assign m_axi_arsize  = s_axi_arsize;
  assign m_axi_arburst = s_axi_arburst;
  assign m_axi_aruser  = s_axi_aruser;
  assign m_axi_arvalid = s_axi_arvalid;
  assign s_axi_arready = m_axi_arready;

  // Read data: responder -> master.
  assign s_axi_rid     = m_axi_rid;
  assign s_axi_rdata   = m_axi_rdata;
  assign s_axi_rresp   = m_axi_rresp;
  assign s_axi_rlast   = m_axi_rlast;
  assign s_axi_rvalid  = m_axi_rvalid;
  assign m_axi_rready  = s_axi_rready;

  // clk and rst only pace the models; nothing here is clocked.
  wire unused_ok = &{1'b0, clk, rst};

endmodule

`resetall
