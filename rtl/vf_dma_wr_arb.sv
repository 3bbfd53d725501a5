// vf_dma_wr_arb: AXI4 write-channel arbiter inside one vf_dma.
//
// NS write masters share AW round-robin (vf_dma_addr_arb); the order of
// granted bursts is queued and W beats follow it, one whole burst at a time.
// A master may present W before its AW is granted. B responses are always
// accepted; an error response is reported with its ID.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_wr_arb
  import axi_pkg::*;
#(
    parameter int NS = 2,  // write masters
    parameter int DATA_W = 512,  // AXI data width
    parameter int MAX_OUT = 32,  // bursts granted whose W is not done yet (a power of two)
    localparam int SW = NS > 1 ? $clog2(NS) : 1,
    localparam int STRB_W = DATA_W / 8
) (
    input wire logic clk,
    input wire logic rst,

    input  wire dma_a_t [NS-1:0] s_aw,
    input  wire logic   [NS-1:0] s_awvalid,
    output logic        [NS-1:0] s_awready,
    input  wire axi_w_t [NS-1:0] s_w,
    input  wire logic   [NS-1:0] s_wvalid,
    output logic        [NS-1:0] s_wready,

    output dma_a_t      m_aw,
    output logic        m_awvalid,
    input  wire logic   m_awready,
    output axi_w_t      m_w,
    output logic        m_wvalid,
    input  wire logic   m_wready,
    input  wire axi_b_t m_b,
    input  wire logic   m_bvalid,
    output logic        m_bready,

    output logic    b_err,     // pulse: an error response
    output dma_id_t b_err_id,
    output logic    b_done     // pulse: a write response arrived
);

  logic order_ready, order_valid;
  logic [SW-1:0] order_head;
  logic          granted;
  logic [SW-1:0] granted_idx;

  // A burst is granted only while the W-order queue has room for it.
  vf_dma_addr_arb #(
      .NS(NS)
  ) u_aw (
      .clk,
      .rst,
      .s_a(s_aw),
      .s_valid(s_awvalid),
      .s_ready(s_awready),
      .hold(!order_ready),
      .m_a(m_aw),
      .m_valid(m_awvalid),
      .m_ready(m_awready),
      .grant(granted),
      .grant_idx(granted_idx)
  );

  logic [$clog2(MAX_OUT):0] unused_order_count;
  prim_fifo #(
      .WIDTH(SW),
      .DEPTH(MAX_OUT)
  ) order_fifo (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data(granted_idx),
      .s_valid(granted),
      .s_ready(order_ready),
      .m_data(order_head),
      .m_valid(order_valid),
      .m_ready(m_wvalid && m_wready && m_w.last),
      .count(unused_order_count)
  );

  always_comb begin
    // the multiplexer is DATA_W wide: above it the sources' fields are 0 (axi_w_t is 512)
    m_w = '{
        data: AXI_DATA_W'(s_w[order_head].data[DATA_W-1:0]),
        strb: AXI_STRB_W'(s_w[order_head].strb[STRB_W-1:0]),
        last: s_w[order_head].last
    };
    m_wvalid = order_valid && s_wvalid[order_head];
    for (int i = 0; i < NS; i++) s_wready[i] = order_valid && m_wready && order_head == SW'(i);
    m_bready = 1'b1;
    b_done   = m_bvalid;
    b_err    = m_bvalid && m_b.resp != AXI_RESP_OKAY;
    b_err_id = m_b.id;
  end

  // W follows the granted order: only the head burst's master is served, and a burst is
  // granted only with room to queue its order
  `ASSERT_ONEHOT0(wready_onehot, s_wready)
  `ASSERT(w_only_ordered, m_wvalid |-> order_valid)
  `ASSERT(grant_has_room, granted |-> order_ready)

endmodule

`resetall
