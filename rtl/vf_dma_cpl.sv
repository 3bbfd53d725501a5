// vf_dma_cpl: what a vf_dma tells its driver — the completion rings of its TX
// and RX queues (vf_dma_cpl_wr) and the interrupts their entries and the queues'
// error states raise (vf_dma_irq; vectors docs/ARCHITECTURE.md §3.1: 2q TX queue
// q, 2q+1 RX queue q, 2 * NUM_QUEUES + 1 the error interrupt).
//
// The ring format encodes each entry from cpl (its fields) into cpl_raw.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vf_dma_cpl
  import nic_pkg::*, axi_pkg::*;
#(
    parameter  int NUM_QUEUES = 2,               // queue pairs
    parameter  int DATA_W     = 512,             // AXI data width in bits
    parameter  int ADDR_W     = 64,              // host address width
    localparam int ST_W       = 17,              // ring state {gen, index}
    localparam int ENTRY_W    = DESC_BYTES * 8,
    localparam int NV         = 2 * NUM_QUEUES   // queue vectors
) (
    input wire logic              clk,
    input wire logic              rst,
    input wire logic [FUNC_W-1:0] func_num,

    // queues and their completion rings (vf_dma_regs); the ring states saved (§4c)
    input  wire logic [NUM_QUEUES-1:0]             txq_en,
    input  wire logic [NUM_QUEUES-1:0]             txq_run,
    input  wire logic [NUM_QUEUES-1:0][ADDR_W-1:0] txq_cpl_base,
    input  wire logic [NUM_QUEUES-1:0][       3:0] txq_size,
    input  wire logic [NUM_QUEUES-1:0]             rxq_en,
    input  wire logic [NUM_QUEUES-1:0]             rxq_run,
    input  wire logic [NUM_QUEUES-1:0][ADDR_W-1:0] rxq_cpl_base,
    input  wire logic [NUM_QUEUES-1:0][       3:0] rxq_cpl_size,
    input  wire logic [NUM_QUEUES-1:0][  ST_W-1:0] txc_start,
    input  wire logic [NUM_QUEUES-1:0][  ST_W-1:0] rxc_start,
    output logic      [NUM_QUEUES-1:0][  ST_W-1:0] txc_live,
    output logic      [NUM_QUEUES-1:0][  ST_W-1:0] rxc_live,
    // interrupt moderation (vf_dma_regs), per vector
    input  wire logic [        NV-1:0]             irq_mask,
    input  wire logic [        NV-1:0][      15:0] irq_interval,
    input  wire logic [        NV-1:0][       7:0] irq_thresh,

    // completion requests of the TX and RX paths
    input  wire cpl_req_t                  txc_data,
    input  wire logic                      txc_valid,
    output logic                           txc_ready,
    input  wire cpl_req_t                  rxc_data,
    input  wire logic                      rxc_valid,
    output logic                           rxc_ready,
    // pulse: a request of the queue discarded (queue disabled); a beat of it being coalesced
    output logic          [NUM_QUEUES-1:0] txc_discard,
    output logic          [NUM_QUEUES-1:0] rxc_discard,
    output logic          [NUM_QUEUES-1:0] txc_pend,
    output logic          [NUM_QUEUES-1:0] rxc_pend,

    // the ring format: an entry's fields, and the entry
    output cpl_fields_t               cpl,
    input  wire logic   [ENTRY_W-1:0] cpl_raw,

    // completion writes (a vf_dma_bus write source)
    output dma_a_t    m_aw,
    output logic      m_awvalid,
    input  wire logic m_awready,
    output axi_w_t    m_w,
    output logic      m_wvalid,
    input  wire logic m_wready,

    output logic      [FUNC_W-1:0] m_irq_func,
    output logic      [       7:0] m_irq_vector,
    output logic                   m_irq_valid,
    input  wire logic              m_irq_ready
);

  localparam int QW = NUM_QUEUES > 1 ? $clog2(NUM_QUEUES) : 1;
  localparam int SLOT_W = $clog2(DATA_W / ENTRY_W);
  localparam int IRQ_VW = $clog2(NV);

  // entries written, for the interrupt moderation
  logic ev_valid, ev_rx;
  logic [  QW-1:0] ev_q;
  logic [SLOT_W:0] ev_n;
  logic [NV-1:0] irq_en, irq_err;

  vf_dma_cpl_wr #(
      .NUM_QUEUES(NUM_QUEUES),
      .DATA_W(DATA_W),
      .ADDR_W(ADDR_W),
      .TX_KIND(WR_TX_CPL),
      .RX_KIND(WR_RX)
  ) cpl_wr (
      .clk,
      .rst,
      .txq_en,
      .txq_cpl_base,
      .txq_size,
      .rxq_en,
      .rxq_cpl_base,
      .rxq_cpl_size,
      .tx_start(txc_start),
      .rx_start(rxc_start),
      .tx_state(txc_live),
      .rx_state(rxc_live),
      .tx_data(txc_data),
      .tx_valid(txc_valid),
      .tx_ready(txc_ready),
      .rx_data(rxc_data),
      .rx_valid(rxc_valid),
      .rx_ready(rxc_ready),
      .f_cpl(cpl),
      .f_raw(cpl_raw),
      .m_aw,
      .m_awvalid,
      .m_awready,
      .m_w,
      .m_wvalid,
      .m_wready,
      .ev_valid,
      .ev_rx,
      .ev_q,
      .ev_n,
      .tx_discard(txc_discard),
      .rx_discard(rxc_discard),
      .tx_pend(txc_pend),
      .rx_pend(rxc_pend)
  );

  always_comb begin
    for (int q = 0; q < NUM_QUEUES; q++) begin
      irq_en[2*q]    = txq_en[q];
      irq_en[2*q+1]  = rxq_en[q];
      irq_err[2*q]   = txq_en[q] && !txq_run[q];  // enabled, not running: error state
      irq_err[2*q+1] = rxq_en[q] && !rxq_run[q];
    end
  end

  vf_dma_irq #(
      .NUM_QUEUES(NUM_QUEUES),
      .VEC_W(8),
      .EV_W(SLOT_W + 1),
      .ERR_VEC(2 * NUM_QUEUES + 1)
  ) irq (
      .clk,
      .rst,
      .func_num,
      .v_en(irq_en),
      .v_mask(irq_mask),
      .v_interval(irq_interval),
      .v_thresh(irq_thresh),
      .v_err(irq_err),
      .ev_valid,
      .ev_vec(IRQ_VW'({ev_q, ev_rx})),
      .ev_n,
      .m_irq_func,
      .m_irq_vector,
      .m_irq_valid,
      .m_irq_ready
  );

endmodule

`resetall
