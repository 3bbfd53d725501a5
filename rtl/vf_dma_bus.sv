// vf_dma_bus: the AXI4 master port of a vf_dma — the read and the write arbiter
// over the engine's sources, the one place where their requests (dma_a_t) become
// the flat AXI4 channels, and the writes outstanding per kind and queue.
//
// A queue counts as busy (queue reset, FLR: docs/ARCHITECTURE.md §3.1) from the
// acceptance of its write by the write arbiter, or while it waits in a source's
// AW register, to the write's B response.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_bus
  import nic_pkg::*, axi_pkg::*;
#(
    parameter  int NUM_QUEUES = 2,           // queue pairs
    parameter  int DATA_W     = 512,         // AXI data width in bits
    parameter  int NRS        = 3,           // read sources; index = the kind of their reads
    parameter  int NWS        = 2,           // write sources
    localparam int KEEP_W     = DATA_W / 8,
    localparam int NK         = 2            // write kinds (dma_wr_kind_e)
) (
    input wire logic              clk,
    input wire logic              rst,
    input wire logic [FUNC_W-1:0] func_num, // a*user

    // read sources; R data goes to all, its handshake to the source of the ID's kind
    input  wire dma_a_t [NRS-1:0] s_ar,
    input  wire logic   [NRS-1:0] s_arvalid,
    output logic        [NRS-1:0] s_arready,
    output logic        [NRS-1:0] s_rvalid,
    input  wire logic   [NRS-1:0] s_rready,

    // write sources
    input  wire dma_a_t [NWS-1:0] s_aw,
    input  wire logic   [NWS-1:0] s_awvalid,
    output logic        [NWS-1:0] s_awready,
    input  wire axi_w_t [NWS-1:0] s_w,
    input  wire logic   [NWS-1:0] s_wvalid,
    output logic        [NWS-1:0] s_wready,

    // pulse: an error response, and its ID; writes outstanding per [kind][queue]
    output logic                             b_err,
    output dma_id_t                          b_err_id,
    output logic    [NK-1:0][NUM_QUEUES-1:0] wr_busy,

    // the host bus as typed channels (axi_pkg); vf_dma packs them into its flat AXI4 port
    output axi_a_t       m_aw,
    output logic         m_awvalid,
    input  wire logic    m_awready,
    output axi_w_t       m_w,
    output logic         m_wvalid,
    input  wire logic    m_wready,
    input  wire axi_b_t  m_b,
    input  wire logic    m_bvalid,
    output logic         m_bready,
    output axi_a_t       m_ar,
    output logic         m_arvalid,
    input  wire logic    m_arready,
    input  wire dma_id_t m_rid,
    input  wire logic    m_rvalid,
    output logic         m_rready
);

  dma_a_t ar, aw;  // the arbiters' picks
  logic b_done;

  vf_dma_rd_arb #(
      .NS(NRS)
  ) rd_arb (
      .clk,
      .rst,
      .s_ar,
      .s_arvalid,
      .s_arready,
      .s_rvalid,
      .s_rready,
      .m_ar(ar),
      .m_arvalid,
      .m_arready,
      .m_rid,
      .m_rvalid,
      .m_rready
  );

  vf_dma_wr_arb #(
      .NS(NWS),
      .DATA_W(DATA_W)
  ) wr_arb (
      .clk,
      .rst,
      .s_aw,
      .s_awvalid,
      .s_awready,
      .s_w,
      .s_wvalid,
      .s_wready,
      .m_aw(aw),
      .m_awvalid,
      .m_awready,
      .m_w,
      .m_wvalid,
      .m_wready,
      .m_b,
      .m_bvalid,
      .m_bready,
      .b_err,
      .b_err_id,
      .b_done
  );

  // an engine's request on the host bus: size, burst and user are the engine's constants
  localparam logic [2:0] A_SIZE = 3'($clog2(KEEP_W));  // full beats
  function automatic axi_a_t on_bus(dma_a_t a, logic [FUNC_W-1:0] user);
    axi_a_t c;
    c = '{
        id: a.id,
        addr: a.addr,
        len: a.len,
        size: A_SIZE,
        burst: AXI_BURST_INCR,
        user: user
    };
    return c;
  endfunction

  always_comb begin
    m_ar = on_bus(ar, func_num);
    m_aw = on_bus(aw, func_num);
  end

  // ---------------------------------------------------------------- writes outstanding
  logic [NK-1:0][NUM_QUEUES-1:0][7:0] wr_out_reg, wr_out_next;
  dma_id_t [NK-1:0][NUM_QUEUES-1:0] wr_qid;  // the ID of kind k, queue q

  always_comb begin
    wr_out_next = wr_out_reg;
    for (int k = 0; k < NK; k++) begin
      for (int q = 0; q < NUM_QUEUES; q++) begin
        logic inc, dec;
        wr_qid[k][q] = dma_wr_id(dma_wr_kind_e'(k), DMA_QUEUE_W'(q));
        inc = 1'b0;
        wr_busy[k][q] = wr_out_reg[k][q] != '0;
        for (int src = 0; src < NWS; src++) begin
          if (s_awvalid[src] && s_aw[src].id == wr_qid[k][q]) begin
            wr_busy[k][q] = 1'b1;
            if (s_awready[src]) inc = 1'b1;
          end
        end
        dec = m_bvalid && m_bready && m_b.id == wr_qid[k][q];
        wr_out_next[k][q] = wr_out_reg[k][q] + 8'(inc) - 8'(dec);
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      wr_out_reg <= '0;
    end else begin
      wr_out_reg <= wr_out_next;
    end
  end

  logic unused_b_done;
  assign unused_b_done = b_done;

  // ---------------------------------------------------------------- assertions
`ifndef SYNTHESIS
  // the B response's ID names a kind and queue with a write outstanding
  logic b_expected, wr_out_max;
  always_comb begin
    b_expected = 1'b0;
    wr_out_max = 1'b0;
    for (int k = 0; k < NK; k++) begin
      for (int q = 0; q < NUM_QUEUES; q++) begin
        if (m_b.id == wr_qid[k][q] && wr_out_reg[k][q] != '0) begin
          b_expected = 1'b1;
        end
        if (wr_out_reg[k][q] == '1) wr_out_max = 1'b1;
      end
    end
  end
`endif
  // no write response without its write; outstanding counts never wrap
  `ASSERT(b_after_aw, m_bvalid && m_bready |-> b_expected)
  `ASSERT_NEVER(wr_out_wrap, wr_out_max)
  `ASSERT_ONEHOT0(rd_arb_one_source, s_arvalid & s_arready)

endmodule

`resetall
