// vf_dma_fetch: the descriptor side of a vf_dma — a fetcher for the TX rings, one
// for the RX rings, and each ring's position ({gen, index}, docs/ARCHITECTURE.md
// §4b ownership, §4c saved state).
//
// Format B adds a second RX descriptor ring per queue: the RX fetcher then serves
// 2 * NUM_QUEUES rings, ring r < NUM_QUEUES being queue r's ring 1 and ring
// NUM_QUEUES + q its ring 2. The RX engine sees the same ring numbers (q_used,
// q_starve, q_taken, the entry's ring); the registers see queues.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_fetch
  import nic_pkg::*, axi_pkg::*;
#(
    parameter int NUM_QUEUES = 2,  // queue pairs
    parameter int DATA_W = 512,  // AXI data width in bits
    parameter int ADDR_W = 64,  // host address width
    parameter int DEPTH = 128,  // prefetched entries per ring
    parameter int BEATS = 32,  // read beats in flight per direction
    parameter bit FMT_B = 1'b0,  // ring format B: RX ring 2
    localparam int NR = FMT_B ? 2 * NUM_QUEUES : NUM_QUEUES,  // RX descriptor rings
    localparam int QW = NUM_QUEUES > 1 ? $clog2(NUM_QUEUES) : 1,
    localparam int RW = NR > 1 ? $clog2(NR) : 1,
    localparam int ST_W = 17,  // ring state {gen, index}
    localparam int CNT_W = $clog2(DEPTH) + 1,
    localparam int ENTRY_W = DESC_BYTES * 8
) (
    input wire logic clk,
    input wire logic rst,

    // TX rings (vf_dma_regs): configuration, and the position a disabled ring starts from
    input  wire logic [NUM_QUEUES-1:0]             txq_en,
    input  wire logic [NUM_QUEUES-1:0]             txq_run,
    input  wire logic [NUM_QUEUES-1:0][ADDR_W-1:0] txq_base,
    input  wire logic [NUM_QUEUES-1:0][       3:0] txq_size,
    input  wire logic [NUM_QUEUES-1:0][      15:0] txq_prod,
    input  wire logic [NUM_QUEUES-1:0][  ST_W-1:0] txd_start,
    output logic      [NUM_QUEUES-1:0][      15:0] txq_cons,
    output logic      [NUM_QUEUES-1:0][  ST_W-1:0] txd_live,   // next entry handed out
    // RX rings 1 and 2 (format B) of each queue; live: the next buffer not yet used
    input  wire logic [NUM_QUEUES-1:0]             rxq_en,
    input  wire logic [NUM_QUEUES-1:0]             rxq_run,
    input  wire logic [NUM_QUEUES-1:0][ADDR_W-1:0] rxq_base,
    input  wire logic [NUM_QUEUES-1:0][       3:0] rxq_size,
    input  wire logic [NUM_QUEUES-1:0][      15:0] rxq_prod,
    input  wire logic [NUM_QUEUES-1:0][  ST_W-1:0] rxd_start,
    input  wire logic [NUM_QUEUES-1:0][ADDR_W-1:0] rx2_base,
    input  wire logic [NUM_QUEUES-1:0][       3:0] rx2_size,
    input  wire logic [NUM_QUEUES-1:0][      15:0] rx2_prod,
    input  wire logic [NUM_QUEUES-1:0][  ST_W-1:0] rx2_start,
    output logic      [NUM_QUEUES-1:0][      15:0] rxq_cons,
    output logic      [NUM_QUEUES-1:0][      15:0] rx2_cons,
    output logic      [NUM_QUEUES-1:0][  ST_W-1:0] rxd_live,
    output logic      [NUM_QUEUES-1:0][  ST_W-1:0] rx2_live,

    // the consumers: entries held downstream per ring; RX: a frame waits for buffers
    // (fetch unbatched), a ring's next buffer was taken
    input  wire logic [NUM_QUEUES-1:0][CNT_W-1:0] txq_used,
    input  wire logic [        NR-1:0][CNT_W-1:0] rxq_used,
    input  wire logic [        NR-1:0]            rxq_starve,
    input  wire logic [        NR-1:0]            rxq_taken,
    // fetch state: nothing in flight; pulse: a read returned an error (RX: per queue, both rings)
    output logic      [NUM_QUEUES-1:0]            txf_quiet,
    output logic      [NUM_QUEUES-1:0]            txf_err,
    output logic      [        NR-1:0]            rxf_idle,         // RX ring: all posted delivered
    output logic      [NUM_QUEUES-1:0]            rxq_fetch_quiet,
    output logic      [NUM_QUEUES-1:0]            rxq_fetch_err,

    // descriptor reads, index dma_rd_kind_e (RD_TX_DESC, RD_RX_DESC)
    output dma_a_t    [       1:0] m_ar,
    output logic      [       1:0] m_arvalid,
    input  wire logic [       1:0] m_arready,
    input  wire logic [DATA_W-1:0] s_rdata,
    input  wire logic [       1:0] s_rresp,
    input  wire logic              s_rlast,
    input  wire logic [       1:0] s_rvalid,
    output logic      [       1:0] s_rready,

    // entries, with the gen their position expects (format B ownership)
    output logic      [ENTRY_W-1:0] txd_raw,
    output logic      [     QW-1:0] txd_q,
    output logic      [       15:0] txd_idx,
    output logic                    txd_gen_exp,
    output logic                    txd_valid,
    input  wire logic               txd_ready,
    output logic      [ENTRY_W-1:0] rxd_raw,
    output logic      [     RW-1:0] rxd_q,        // ring
    output logic      [       15:0] rxd_idx,
    output logic                    rxd_gen_exp,
    output logic                    rxd_ring2,    // the entry is of a ring 2
    output logic                    rxd_valid,
    input  wire logic               rxd_ready
);

  localparam int TXD = int'(RD_TX_DESC), RXD = int'(RD_RX_DESC);
  `ASSERT_PARAM(g_check_kinds, TXD <= 1 && RXD <= 1 && TXD != RXD,
                "the descriptor read kinds must be 0 and 1 (the m_ar index)")

  // RX descriptor rings as the fetcher and the RX engine see them
  logic [NR-1:0] rr_en, rr_run;
  logic [NR-1:0][ADDR_W-1:0] rr_base;
  logic [NR-1:0][       3:0] rr_size;
  logic [NR-1:0][15:0] rr_prod, rr_cons;
  logic [        NR-1:0][ST_W-1:0] rr_start;
  logic [NUM_QUEUES-1:0][    15:0] txd_start_idx;  // fetch index a disabled queue starts from
  logic [        NR-1:0][    15:0] rr_start_idx;
  logic [NR-1:0] rxf_quiet, rxf_err;
  // steps of the positions: an entry handed out
  logic [NUM_QUEUES-1:0] txd_step;
  logic [        NR-1:0] rxd_step;
  logic [NR-1:0][ST_W-1:0] rxd_next, rr_used;

  always_comb begin
    for (int r = 0; r < NR; r++) begin
      int q;
      q               = r % NUM_QUEUES;
      rr_en[r]        = rxq_en[q];
      rr_run[r]       = rxq_run[q];
      rr_base[r]      = r < NUM_QUEUES ? rxq_base[q] : rx2_base[q];
      rr_size[r]      = r < NUM_QUEUES ? rxq_size[q] : rx2_size[q];
      rr_prod[r]      = r < NUM_QUEUES ? rxq_prod[q] : rx2_prod[q];
      rr_start[r]     = r < NUM_QUEUES ? rxd_start[q] : rx2_start[q];
      rr_start_idx[r] = rr_start[r][15:0];
      rxd_step[r]     = rxd_valid && rxd_ready && rxd_q == RW'(r);
    end
    for (int q = 0; q < NUM_QUEUES; q++) begin
      rxq_cons[q]      = rr_cons[q];
      rx2_cons[q]      = FMT_B ? rr_cons[NR-NUM_QUEUES+q] : '0;
      rxd_live[q]      = rr_used[q];
      rx2_live[q]      = FMT_B ? rr_used[NR-NUM_QUEUES+q] : rx2_start[q];
      txd_start_idx[q] = txd_start[q][15:0];
      txd_step[q]      = txd_valid && txd_ready && txd_q == QW'(q);
    end
    // a queue's RX descriptor rings (1, or 2 with format B)
    rxq_fetch_err   = '0;
    rxq_fetch_quiet = '1;
    for (int r = 0; r < NR; r++) begin
      if (rxf_err[r]) rxq_fetch_err[r%NUM_QUEUES] = 1'b1;
      if (!rxf_quiet[r]) rxq_fetch_quiet[r%NUM_QUEUES] = 1'b0;
    end
  end

  assign txd_gen_exp = txd_live[txd_q][ST_W-1];
  assign rxd_gen_exp = rxd_next[rxd_q][ST_W-1];
  assign rxd_ring2   = int'(rxd_q) >= NUM_QUEUES;

  logic [NUM_QUEUES-1:0] unused_txf_idle;

  vf_dma_desc_fetch #(
      .NUM_QUEUES(NUM_QUEUES),
      .DATA_W(DATA_W),
      .ADDR_W(ADDR_W),
      .KIND(RD_TX_DESC),
      .DEPTH(DEPTH),
      .BEATS(BEATS),
      .BATCH(1'b1)
  ) tx_fetch (
      .clk,
      .rst,
      .q_en(txq_en),
      .q_run(txq_run),
      .q_base(txq_base),
      .q_size(txq_size),
      .q_prod(txq_prod),
      .q_start(txd_start_idx),
      .q_used(txq_used),
      .q_starve('0),
      .q_cons(txq_cons),
      .q_idle(unused_txf_idle),
      .q_quiet(txf_quiet),
      .q_rd_err(txf_err),
      .m_ar(m_ar[TXD]),
      .m_arvalid(m_arvalid[TXD]),
      .m_arready(m_arready[TXD]),
      .s_rdata,
      .s_rresp,
      .s_rlast,
      .s_rvalid(s_rvalid[TXD]),
      .s_rready(s_rready[TXD]),
      .ent_raw(txd_raw),
      .ent_q(txd_q),
      .ent_idx(txd_idx),
      .ent_valid(txd_valid),
      .ent_ready(txd_ready)
  );

  vf_dma_desc_fetch #(
      .NUM_QUEUES(NR),
      .DATA_W(DATA_W),
      .ADDR_W(ADDR_W),
      .KIND(RD_RX_DESC),
      .DEPTH(DEPTH),
      .BEATS(BEATS),
      .BATCH(1'b1)
  ) rx_fetch (
      .clk,
      .rst,
      .q_en(rr_en),
      .q_run(rr_run),
      .q_base(rr_base),
      .q_size(rr_size),
      .q_prod(rr_prod),
      .q_start(rr_start_idx),
      .q_used(rxq_used),
      .q_starve(rxq_starve),
      .q_cons(rr_cons),
      .q_idle(rxf_idle),
      .q_quiet(rxf_quiet),
      .q_rd_err(rxf_err),
      .m_ar(m_ar[RXD]),
      .m_arvalid(m_arvalid[RXD]),
      .m_arready(m_arready[RXD]),
      .s_rdata,
      .s_rresp,
      .s_rlast,
      .s_rvalid(s_rvalid[RXD]),
      .s_rready(s_rready[RXD]),
      .ent_raw(rxd_raw),
      .ent_q(rxd_q),
      .ent_idx(rxd_idx),
      .ent_valid(rxd_valid),
      .ent_ready(rxd_ready)
  );

  // TX and RX: {gen, index} of the next entry the fetcher hands out, the gen a
  // format-B descriptor must carry; RX: the next buffer the engine has not used.
  vf_dma_ring_ptr #(
      .N(NUM_QUEUES)
  ) txd_ptr (
      .clk,
      .rst,
      .en(txq_en),
      .size(txq_size),
      .start(txd_start),
      .step(txd_step),
      .ptr(txd_live)
  );
  vf_dma_ring_ptr #(
      .N(NR)
  ) rxd_ptr (
      .clk,
      .rst,
      .en(rr_en),
      .size(rr_size),
      .start(rr_start),
      .step(rxd_step),
      .ptr(rxd_next)
  );
  vf_dma_ring_ptr #(
      .N(NR)
  ) rx_used_ptr (
      .clk,
      .rst,
      .en(rr_en),
      .size(rr_size),
      .start(rr_start),
      .step(rxq_taken),
      .ptr(rr_used)
  );

  // ---------------------------------------------------------------- assertions
`ifndef SYNTHESIS
  // the pointers follow the fetchers entry by entry
  always_ff @(posedge clk) begin
    if (!rst) begin
      assert (!(txd_valid && txd_ready && txq_en[txd_q] && txd_live[txd_q][15:0] != txd_idx))
      else $error("%m: TX ring pointer %0d, entry %0d", txd_live[txd_q][15:0], txd_idx);
      assert (!(rxd_valid && rxd_ready && rr_en[rxd_q] && rxd_next[rxd_q][15:0] != rxd_idx))
      else $error("%m: RX ring pointer %0d, entry %0d", rxd_next[rxd_q][15:0], rxd_idx);
    end
  end
`endif

endmodule

`resetall
