// vf_dma_rd_arb: AXI4 read-channel arbiter inside one vf_dma.
//
// NS read masters share the AR channel round-robin (vf_dma_addr_arb: registered
// output, one request per cycle). Read data is routed back by ID: source i owns the
// IDs whose low two bits (the "kind") equal i, so responses may come back in
// any order across sources and interleave beat by beat.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vf_dma_rd_arb #(
  parameter int NS     = 3,    // read masters (<= 4: the kind is 2 bits)
  parameter int ADDR_W = 64,   // AXI address width
  parameter int ID_W   = 4,    // AXI ID width
  localparam int SW = NS > 1 ? $clog2(NS) : 1
) (
  input  logic                       clk,
  input  logic                       rst,

  input  logic [NS-1:0][ID_W-1:0]    s_arid,
  input  logic [NS-1:0][ADDR_W-1:0]  s_araddr,
  input  logic [NS-1:0][7:0]         s_arlen,
  input  logic [NS-1:0]              s_arvalid,
  output logic [NS-1:0]              s_arready,
  output logic [NS-1:0]              s_rvalid,   // rdata/rresp/rlast are shared
  input  logic [NS-1:0]              s_rready,

  output logic [ID_W-1:0]            m_arid,
  output logic [ADDR_W-1:0]          m_araddr,
  output logic [7:0]                 m_arlen,
  output logic                       m_arvalid,
  input  logic                       m_arready,
  input  logic [ID_W-1:0]            m_rid,
  input  logic                       m_rvalid,
  output logic                       m_rready
);

  initial begin
    if (NS > 4 || NS < 1) $fatal(1, "%m: NS must be 1..4");
  end

  // Read data is routed by ID, not by grant order.
  logic          unused_grant;
  logic [SW-1:0] unused_grant_idx;
  vf_dma_addr_arb #(.NS(NS), .ADDR_W(ADDR_W), .ID_W(ID_W)) u_ar (
    .clk, .rst,
    .s_id(s_arid), .s_addr(s_araddr), .s_len(s_arlen), .s_valid(s_arvalid), .s_ready(s_arready),
    .hold(1'b0),
    .m_id(m_arid), .m_addr(m_araddr), .m_len(m_arlen), .m_valid(m_arvalid), .m_ready(m_arready),
    .grant(unused_grant), .grant_idx(unused_grant_idx)
  );

  wire [1:0] kind = m_rid[1:0];
  always_comb begin
    m_rready = 1'b0;
    for (int i = 0; i < NS; i++) begin
      s_rvalid[i] = m_rvalid && kind == 2'(i);
      if (kind == 2'(i)) m_rready = s_rready[i];
    end
  end

  logic [ID_W-3:0] unused_rid_hi;
  assign unused_rid_hi = m_rid[ID_W-1:2];

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst && m_rvalid) begin
      assert (int'(kind) < NS) else $error("%m: read data with an ID of no source: %0h", m_rid);
    end
  end
`endif

endmodule

`resetall
