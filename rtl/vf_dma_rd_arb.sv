// vf_dma_rd_arb: AXI4 read-channel arbiter inside one vf_dma.
//
// NS read masters share the AR channel round-robin (vf_dma_addr_arb: registered
// output, one request per cycle). Read data is routed back by ID: source i owns the
// IDs whose kind (dma_rd_kind_e) is i, so responses may come back in any order
// across sources and interleave beat by beat.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_rd_arb
  import axi_pkg::*;
#(
    parameter  int NS = 3,                       // read masters (<= 4: the kind is 2 bits)
    localparam int SW = NS > 1 ? $clog2(NS) : 1
) (
    input wire logic clk,
    input wire logic rst,

    input  wire dma_a_t [NS-1:0] s_ar,
    input  wire logic   [NS-1:0] s_arvalid,
    output logic        [NS-1:0] s_arready,
    output logic        [NS-1:0] s_rvalid,   // rdata/rresp/rlast are shared
    input  wire logic   [NS-1:0] s_rready,

    output dma_a_t       m_ar,
    output logic         m_arvalid,
    input  wire logic    m_arready,
    input  wire dma_id_t m_rid,
    input  wire logic    m_rvalid,
    output logic         m_rready
);

  `ASSERT_PARAM(g_check_ns, NS >= 1 && NS <= 4, "NS must be 1..4 (the ID kind is 2 bits)")

  // Read data is routed by ID, not by grant order.
  logic          unused_grant;
  logic [SW-1:0] unused_grant_idx;
  vf_dma_addr_arb #(
      .NS(NS)
  ) u_ar (
      .clk,
      .rst,
      .s_a(s_ar),
      .s_valid(s_arvalid),
      .s_ready(s_arready),
      .hold(1'b0),
      .m_a(m_ar),
      .m_valid(m_arvalid),
      .m_ready(m_arready),
      .grant(unused_grant),
      .grant_idx(unused_grant_idx)
  );

  always_comb begin
    s_rvalid = '0;
    m_rready = 1'b0;
    for (int i = 0; i < NS; i++) begin
      if (m_rid.kind == DMA_KIND_W'(i)) begin
        s_rvalid[i] = m_rvalid;
        m_rready    = s_rready[i];
      end
    end
  end

  logic [DMA_QUEUE_W-1:0] unused_rid_queue;  // reads of every kind carry queue 0
  assign unused_rid_queue = m_rid.qnum;

  // every read data beat carries the ID of one of the sources, and goes to that one only
  `ASSERT(rid_of_source, m_rvalid |-> int'(m_rid.kind) < NS)
  `ASSERT_ONEHOT0(rvalid_onehot, s_rvalid)
  `ASSERT(rvalid_routed, m_rvalid == (s_rvalid != '0))

endmodule

`resetall
