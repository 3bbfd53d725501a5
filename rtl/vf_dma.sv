// vf_dma: DMA engine of one PCIe function (PF or VF) — register block, TX and
// RX descriptor rings in host memory, TX frames to the switch, RX frames from
// it, completion rings. The ring format module (ring_fmt_a, or ring_fmt_b for
// vmxnet3's rings with RING_FMT_B) is the only ring-layout knowledge; see
// docs/ARCHITECTURE.md §3.1, §4 and §4b for the contract. Format B adds a
// second RX descriptor ring per queue: the RX fetcher then serves 2 *
// NUM_QUEUES rings, ring q + NUM_QUEUES being queue q's ring 2.
//
// AXI IDs: axi_pkg::dma_id_t {queue, kind}. Reads (dma_rd_kind_e): TX
// descriptors, RX descriptors, TX data, each kind with queue field 0 (reads of
// one kind return in order). Writes (dma_wr_kind_e): TX completions, RX data
// and RX completions, with the queue number (B errors are charged to that queue).

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma
  import nic_pkg::*, axi_pkg::*;
#(
    parameter int DATA_W = 512,  // AXI and stream data width in bits
    parameter int ADDR_W = 64,  // host address width
    parameter int ID_W = 4,  // AXI ID width: axi_pkg::ENGINE_ID_W
    parameter int NUM_QUEUES = 2,  // queue pairs
    // Store-and-forward FIFOs, in beats; the defaults are 32 KiB at any DATA_W
    // (TX must hold two jumbo frames, RX one).
    parameter int RX_FIFO_BEATS = 32768 / (DATA_W / 8),
    parameter int TX_FIFO_BEATS = 32768 / (DATA_W / 8),
    parameter int DESC_DEPTH = 128,  // prefetched descriptors per queue and direction
    parameter int DESC_BEATS = 32,  // descriptor read beats in flight per direction
    parameter int MAX_TX_BUFS = 16,  // buffers per TX frame at most (ERR_TOO_MANY_BUFS)
    parameter int TX_INFLIGHT = 128,  // TX data bursts and frames in flight at most
    parameter ring_fmt_e RING_FMT = RING_FMT_A,  // descriptor and completion ring format
    localparam int KEEP_W = DATA_W / 8,
    localparam int QW = NUM_QUEUES > 1 ? $clog2(NUM_QUEUES) : 1,
    localparam int ENTRY_W = DESC_BYTES * 8
) (
    input logic              clk,
    input logic              rst,
    input logic [FUNC_W-1:0] func_num,    // this function's number, static
    input logic              func_enable, // 0: DMA off, queues held in reset

    input  logic                    reg_wr,
    input  logic                    reg_rd,
    input  logic [FUNC_SPACE_W-1:0] reg_addr,
    input  logic [       REG_W-1:0] reg_wdata,
    output logic [       REG_W-1:0] reg_rdata,

    output logic [  ID_W-1:0] m_axi_awid,
    output logic [ADDR_W-1:0] m_axi_awaddr,
    output logic [       7:0] m_axi_awlen,
    output logic [       2:0] m_axi_awsize,
    output logic [       1:0] m_axi_awburst,
    output logic [FUNC_W-1:0] m_axi_awuser,
    output logic              m_axi_awvalid,
    input  logic              m_axi_awready,
    output logic [DATA_W-1:0] m_axi_wdata,
    output logic [KEEP_W-1:0] m_axi_wstrb,
    output logic              m_axi_wlast,
    output logic              m_axi_wvalid,
    input  logic              m_axi_wready,
    input  logic [  ID_W-1:0] m_axi_bid,
    input  logic [       1:0] m_axi_bresp,
    input  logic              m_axi_bvalid,
    output logic              m_axi_bready,
    output logic [  ID_W-1:0] m_axi_arid,
    output logic [ADDR_W-1:0] m_axi_araddr,
    output logic [       7:0] m_axi_arlen,
    output logic [       2:0] m_axi_arsize,
    output logic [       1:0] m_axi_arburst,
    output logic [FUNC_W-1:0] m_axi_aruser,
    output logic              m_axi_arvalid,
    input  logic              m_axi_arready,
    input  logic [  ID_W-1:0] m_axi_rid,
    input  logic [DATA_W-1:0] m_axi_rdata,
    input  logic [       1:0] m_axi_rresp,
    input  logic              m_axi_rlast,
    input  logic              m_axi_rvalid,
    output logic              m_axi_rready,

    output logic [   DATA_W-1:0] m_axis_tx_tdata,
    output logic [   KEEP_W-1:0] m_axis_tx_tkeep,
    output logic                 m_axis_tx_tlast,
    output logic [TX_META_W-1:0] m_axis_tx_tuser,
    output logic                 m_axis_tx_tvalid,
    input  logic                 m_axis_tx_tready,

    input  logic [   DATA_W-1:0] s_axis_rx_tdata,
    input  logic [   KEEP_W-1:0] s_axis_rx_tkeep,
    input  logic                 s_axis_rx_tlast,
    input  logic [RX_META_W-1:0] s_axis_rx_tuser,
    input  logic                 s_axis_rx_tvalid,
    output logic                 s_axis_rx_tready,

    // interrupt requests: vector 2q = TX queue q, 2q+1 = RX queue q, 2*NUM_QUEUES+1 = error (§3.1)
    output logic [FUNC_W-1:0] m_irq_func,
    output logic [       7:0] m_irq_vector,
    output logic              m_irq_valid,
    input  logic              m_irq_ready,

    // frames the engine dropped or abandoned this cycle, summed over the queues, for
    // the PF's per-VF statistics (they survive the function's FLR, its own do not)
    output logic [15:0] stat_rx_drops,
    output logic [15:0] stat_rx_abandoned,
    output logic [15:0] stat_tx_abandoned
);

  localparam bit FMT_B = RING_FMT == RING_FMT_B;
  localparam int NR = FMT_B ? 2 * NUM_QUEUES : NUM_QUEUES;  // RX descriptor rings
  localparam int RW = NR > 1 ? $clog2(NR) : 1;
  localparam int ST_W = 17;  // ring state {gen, index}
  localparam int BEAT_BYTES = DATA_W / 8;
  localparam int CNT_W = $clog2(DESC_DEPTH) + 1;
  // frames the RX FIFO can hold: one per beat of a minimum frame
  localparam int RX_MAX_FRAMES = RX_FIFO_BEATS / ((MIN_FRAME_BYTES + BEAT_BYTES - 1) / BEAT_BYTES);

  initial begin
    // >= 2 ring entries per beat; <= 64-byte beats, the RX buffer granule of the contract
    if (DATA_W < 256 || DATA_W > 512 || (DATA_W & (DATA_W - 1)) != 0)
      $fatal(1, "%m: DATA_W must be 256 or 512");
    if (ID_W != ENGINE_ID_W)
      $fatal(1, "%m: ID_W (%0d) must be axi_pkg::ENGINE_ID_W (%0d)", ID_W, ENGINE_ID_W);
    if (NUM_QUEUES > (1 << DMA_QUEUE_W))
      $fatal(1, "%m: NUM_QUEUES (%0d) must fit the ID's queue field", NUM_QUEUES);
    if (ADDR_W != AXI_ADDR_W) $fatal(1, "%m: ADDR_W (%0d) must be axi_pkg::AXI_ADDR_W", ADDR_W);
    if (RX_FIFO_BEATS * BEAT_BYTES < MAX_FRAME_BYTES)
      $fatal(1, "%m: RX FIFO smaller than one frame");
    // the batched TX prefetch (16 entries) must fit beside a partial frame (MAX_TX_BUFS)
    if (DESC_DEPTH < MAX_TX_BUFS + 16) $fatal(1, "%m: DESC_DEPTH must be >= MAX_TX_BUFS + 16");
    // format B: a frame's per-buffer completions wait together for its last data write
    if (FMT_B && RX_MAX_FRAMES < (MAX_FRAME_BYTES + 63) / 64)
      $fatal(1, "%m: RX_FIFO_BEATS too small to queue a jumbo frame's completions");
    if ((1 << FUNC_SPACE_W) > int'(nic_regs_pkg::PF_SPACE_ESW))
      $fatal(1, "%m: function space overlaps the switch window");
  end

  // ---------------- registers ----------------
  logic [NUM_QUEUES-1:0] txq_en, txq_run, rxq_en, rxq_run;
  logic [NUM_QUEUES-1:0][ADDR_W-1:0] txq_base, txq_cpl_base, rxq_base, rxq_cpl_base;
  logic [NUM_QUEUES-1:0][3:0] txq_size, rxq_size;
  logic [NUM_QUEUES-1:0][15:0] txq_prod, rxq_prod, txq_cons, rxq_cons;
  logic [NUM_QUEUES-1:0] txq_err, rxq_err, rxq_drop;
  logic [NUM_QUEUES-1:0] txq_busy, rxq_busy;
  logic [NUM_QUEUES-1:0][7:0] txq_abandon, rxq_abandon;  // frames abandoned this cycle
  logic [NUM_QUEUES-1:0] txe_busy, rxe_busy;
  logic [NUM_QUEUES-1:0][7:0] txq_err_code, rxq_err_code;
  logic                                rx_hash_en;
  logic [2*NUM_QUEUES-1:0]             irq_mask;
  logic [2*NUM_QUEUES-1:0][      15:0] irq_interval;
  logic [2*NUM_QUEUES-1:0][       7:0] irq_thresh;
  logic [  NUM_QUEUES-1:0][ADDR_W-1:0] rx2_base;
  logic [NUM_QUEUES-1:0][3:0] rx2_size, rxq_cpl_size;
  logic [NUM_QUEUES-1:0][15:0] rx2_prod, rx2_cons;
  logic [NUM_QUEUES-1:0][ST_W-1:0] txd_live, txc_live, rxd_live, rxc_live, rx2_live;
  logic [NUM_QUEUES-1:0][ST_W-1:0] txd_start, txc_start, rxd_start, rxc_start, rx2_start;

  vf_dma_regs #(
      .NUM_QUEUES(NUM_QUEUES),
      .ADDR_W(ADDR_W),
      .RING_FMT(RING_FMT)
  ) regs (
      .clk,
      .rst,
      .func_num,
      .func_enable,
      .reg_wr,
      .reg_rd,
      .reg_addr,
      .reg_wdata,
      .reg_rdata,
      .txq_en,
      .txq_run,
      .txq_base,
      .txq_cpl_base,
      .txq_size,
      .txq_prod,
      .txq_cons,
      .txq_err,
      .txq_err_code,
      .rxq_en,
      .rxq_run,
      .rxq_base,
      .rxq_cpl_base,
      .rxq_size,
      .rxq_prod,
      .rxq_cons,
      .rx2_base,
      .rx2_size,
      .rx2_prod,
      .rx2_cons,
      .rxq_cpl_size,
      .rxq_err,
      .rxq_err_code,
      .rxq_drop,
      .txq_busy,
      .rxq_busy,
      .txq_abandon,
      .rxq_abandon,
      .txd_live,
      .txc_live,
      .rxd_live,
      .rxc_live,
      .rx2_live,
      .txd_start,
      .txc_start,
      .rxd_start,
      .rxc_start,
      .rx2_start,
      .rx_hash_en,
      .irq_mask,
      .irq_interval,
      .irq_thresh
  );

  // RX descriptor rings as the fetcher and the RX engine see them: ring r < NUM_QUEUES
  // is queue r's ring 1, ring NUM_QUEUES + q its ring 2 (format B)
  logic [NR-1:0] rr_en, rr_run;
  logic [NR-1:0][ADDR_W-1:0] rr_base;
  logic [NR-1:0][       3:0] rr_size;
  logic [NR-1:0][15:0] rr_prod, rr_cons;
  logic [        NR-1:0][ST_W-1:0] rr_start;
  logic [NUM_QUEUES-1:0][    15:0] txd_start_idx;  // fetch index a disabled queue starts from
  logic [        NR-1:0][    15:0] rr_start_idx;
  always_comb begin
    for (int r = 0; r < NR; r++) begin
      int q;
      q = r % NUM_QUEUES;
      rr_en[r]    = rxq_en[q];
      rr_run[r]   = rxq_run[q];
      rr_base[r]  = r < NUM_QUEUES ? rxq_base[q] : rx2_base[q];
      rr_size[r]  = r < NUM_QUEUES ? rxq_size[q] : rx2_size[q];
      rr_prod[r]  = r < NUM_QUEUES ? rxq_prod[q] : rx2_prod[q];
      rr_start[r] = r < NUM_QUEUES ? rxd_start[q] : rx2_start[q];
    end
    for (int q = 0; q < NUM_QUEUES; q++) begin
      rxq_cons[q] = rr_cons[q];
      rx2_cons[q] = FMT_B ? rr_cons[NR-NUM_QUEUES+q] : '0;
    end
  end

  // ---------------- ring format ----------------
  logic [ENTRY_W-1:0] txd_raw, rxd_raw, cpl_raw;
  logic [63:0] txd_addr, rxd_addr;
  logic [15:0] txd_len, rxd_len, txd_vlan_tci;
  logic txd_sof, txd_eof, txd_vlan_ins, txd_gen_exp, rxd_gen_exp, rxd_ring2;
  logic [7:0] txd_err, rxd_err;
  logic f_rx, f_gen, f_vlan_stripped;
  logic [15:0] f_idx, f_len, f_vlan_tci;
  logic [7:0] f_q, f_nbufs, f_status;

  if (FMT_B) begin : g_fmt_b
    ring_fmt_b #(
        .NUM_QUEUES(NUM_QUEUES)
    ) fmt (
        .txd_raw,
        .txd_gen_exp,
        .txd_addr,
        .txd_len,
        .txd_sof,
        .txd_eof,
        .txd_vlan_ins,
        .txd_vlan_tci,
        .txd_err,
        .rxd_raw,
        .rxd_gen_exp,
        .rxd_ring2,
        .rxd_addr,
        .rxd_len,
        .rxd_err,
        .cpl_rx(f_rx),
        .cpl_gen(f_gen),
        .cpl_q(f_q),
        .cpl_idx(f_idx),
        .cpl_len(f_len),
        .cpl_nbufs(f_nbufs),
        .cpl_vlan_stripped(f_vlan_stripped),
        .cpl_vlan_tci(f_vlan_tci),
        .cpl_status(f_status),
        .cpl_raw
    );
  end else begin : g_fmt_a
    ring_fmt_a #(
        .NUM_QUEUES(NUM_QUEUES)
    ) fmt (
        .txd_raw,
        .txd_gen_exp,
        .txd_addr,
        .txd_len,
        .txd_sof,
        .txd_eof,
        .txd_vlan_ins,
        .txd_vlan_tci,
        .txd_err,
        .rxd_raw,
        .rxd_gen_exp,
        .rxd_ring2,
        .rxd_addr,
        .rxd_len,
        .rxd_err,
        .cpl_rx(f_rx),
        .cpl_gen(f_gen),
        .cpl_q(f_q),
        .cpl_idx(f_idx),
        .cpl_len(f_len),
        .cpl_nbufs(f_nbufs),
        .cpl_vlan_stripped(f_vlan_stripped),
        .cpl_vlan_tci(f_vlan_tci),
        .cpl_status(f_status),
        .cpl_raw
    );
  end

  // ---------------- read channel ----------------
  // the read arbiter's source index is the kind of its reads (routing by ID)
  localparam int RD_TXD = int'(RD_TX_DESC), RD_RXD = int'(RD_RX_DESC), RD_TXDATA = int'(RD_TX_DATA);
  dma_a_t [2:0] ar;
  dma_a_t       m_ar;
  logic [2:0] ar_valid, ar_ready, r_valid, r_ready;

  vf_dma_rd_arb #(
      .NS(3)
  ) rd_arb (
      .clk,
      .rst,
      .s_ar(ar),
      .s_arvalid(ar_valid),
      .s_arready(ar_ready),
      .s_rvalid(r_valid),
      .s_rready(r_ready),
      .m_ar,
      .m_arvalid(m_axi_arvalid),
      .m_arready(m_axi_arready),
      .m_rid(dma_id_t'(m_axi_rid)),
      .m_rvalid(m_axi_rvalid),
      .m_rready(m_axi_rready)
  );
  // the AXI4 port: one place where the engine's request becomes the flat AR channel
  assign m_axi_arid    = ID_W'(m_ar.id);
  assign m_axi_araddr  = ADDR_W'(m_ar.addr);
  assign m_axi_arlen   = m_ar.len;
  assign m_axi_arsize  = 3'($clog2(BEAT_BYTES));
  assign m_axi_arburst = AXI_BURST_INCR;
  assign m_axi_aruser  = func_num;

  // ---------------- descriptor fetch ----------------
  logic [NUM_QUEUES-1:0][CNT_W-1:0] txq_used;
  logic [        NR-1:0][CNT_W-1:0] rxq_used;
  logic [        NR-1:0]            rxq_starve;  // RX: a frame waits for buffers, fetch unbatched
  logic [        NR-1:0]            rxq_taken;  // RX: a ring's next buffer was taken
  logic [NUM_QUEUES-1:0] txf_idle, txf_quiet, txf_err;
  logic [NR-1:0] rxf_idle, rxf_quiet, rxf_err;
  logic [QW-1:0] txd_q;
  logic [RW-1:0] rxd_q;
  logic [15:0] txd_idx, rxd_idx;
  logic txd_valid, txd_ready, rxd_valid, rxd_ready;

  vf_dma_desc_fetch #(
      .NUM_QUEUES(NUM_QUEUES),
      .DATA_W(DATA_W),
      .ADDR_W(ADDR_W),
      .KIND(RD_TX_DESC),
      .DEPTH(DESC_DEPTH),
      .BEATS(DESC_BEATS),
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
      .q_idle(txf_idle),
      .q_quiet(txf_quiet),
      .q_rd_err(txf_err),
      .m_ar(ar[RD_TXD]),
      .m_arvalid(ar_valid[RD_TXD]),
      .m_arready(ar_ready[RD_TXD]),
      .s_rdata(m_axi_rdata),
      .s_rresp(m_axi_rresp),
      .s_rlast(m_axi_rlast),
      .s_rvalid(r_valid[RD_TXD]),
      .s_rready(r_ready[RD_TXD]),
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
      .DEPTH(DESC_DEPTH),
      .BEATS(DESC_BEATS),
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
      .m_ar(ar[RD_RXD]),
      .m_arvalid(ar_valid[RD_RXD]),
      .m_arready(ar_ready[RD_RXD]),
      .s_rdata(m_axi_rdata),
      .s_rresp(m_axi_rresp),
      .s_rlast(m_axi_rlast),
      .s_rvalid(r_valid[RD_RXD]),
      .s_rready(r_ready[RD_RXD]),
      .ent_raw(rxd_raw),
      .ent_q(rxd_q),
      .ent_idx(rxd_idx),
      .ent_valid(rxd_valid),
      .ent_ready(rxd_ready)
  );

  // ---------------- ring pointers (format B ownership, saved state §4c) ----------------
  // TX and RX: {gen, index} of the next entry the fetcher hands out, the gen a
  // format-B descriptor must carry; RX: the next buffer the engine has not used.
  logic [NUM_QUEUES-1:0] txd_step;
  logic [        NR-1:0] rxd_step;
  logic [NR-1:0][ST_W-1:0] rxd_next, rr_used;
  always_comb begin
    for (int q = 0; q < NUM_QUEUES; q++) begin
      txd_start_idx[q] = txd_start[q][15:0];
      txd_step[q]      = txd_valid && txd_ready && txd_q == QW'(q);
    end
    for (int r = 0; r < NR; r++) begin
      rr_start_idx[r] = rr_start[r][15:0];
      rxd_step[r]     = rxd_valid && rxd_ready && rxd_q == RW'(r);
    end
  end

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
  assign txd_gen_exp = txd_live[txd_q][ST_W-1];
  assign rxd_gen_exp = rxd_next[rxd_q][ST_W-1];
  assign rxd_ring2   = int'(rxd_q) >= NUM_QUEUES;
  always_comb begin
    for (int q = 0; q < NUM_QUEUES; q++) begin
      rxd_live[q] = rr_used[q];
      rx2_live[q] = FMT_B ? rr_used[NR-NUM_QUEUES+q] : rx2_start[q];
    end
  end

  // ---------------- TX ----------------
  logic [NUM_QUEUES-1:0]      txe_err;
  logic [NUM_QUEUES-1:0][7:0] txe_abandon;
  logic [NUM_QUEUES-1:0][7:0] txe_code;
  cpl_req_t txc_data, rxc_data;
  logic txc_valid, txc_ready, rxc_valid, rxc_ready;
  logic [NUM_QUEUES-1:0] txc_discard, rxc_discard, txc_pend, rxc_pend;

  vf_dma_tx #(
      .NUM_QUEUES(NUM_QUEUES),
      .DATA_W(DATA_W),
      .ADDR_W(ADDR_W),
      .KIND(RD_TX_DATA),
      .DEPTH(DESC_DEPTH),
      .MAX_BUFS(MAX_TX_BUFS),
      .TXF_BEATS(TX_FIFO_BEATS),
      .INFLIGHT(TX_INFLIGHT)
  ) tx (
      .clk,
      .rst,
      .func_num,
      .q_en(txq_en),
      .q_run(txq_run),
      .q_used(txq_used),
      .q_err(txe_err),
      .q_err_code(txe_code),
      .q_busy(txe_busy),
      .q_abandon(txe_abandon),
      .d_addr(txd_addr),
      .d_len(txd_len),
      .d_sof(txd_sof),
      .d_eof(txd_eof),
      .d_vlan_ins(txd_vlan_ins),
      .d_vlan_tci(txd_vlan_tci),
      .d_err(txd_err),
      .d_q(txd_q),
      .d_idx(txd_idx),
      .d_valid(txd_valid),
      .d_ready(txd_ready),
      .m_ar(ar[RD_TXDATA]),
      .m_arvalid(ar_valid[RD_TXDATA]),
      .m_arready(ar_ready[RD_TXDATA]),
      .s_rdata(m_axi_rdata),
      .s_rresp(m_axi_rresp),
      .s_rlast(m_axi_rlast),
      .s_rvalid(r_valid[RD_TXDATA]),
      .s_rready(r_ready[RD_TXDATA]),
      .m_axis_tx_tdata,
      .m_axis_tx_tkeep,
      .m_axis_tx_tlast,
      .m_axis_tx_tuser,
      .m_axis_tx_tvalid,
      .m_axis_tx_tready,
      .cpl_data(txc_data),
      .cpl_valid(txc_valid),
      .cpl_ready(txc_ready)
  );

  // ---------------- write channel ----------------
  localparam int WR_RX_SRC = 0, WR_CPL_SRC = 1;  // write arbiter sources
  dma_a_t [1:0] aw;
  dma_a_t       m_aw;
  logic [1:0] aw_valid, aw_ready, w_last, w_valid, w_ready;
  logic [1:0][DATA_W-1:0] w_data;
  logic [1:0][KEEP_W-1:0] w_strb;
  logic b_err, b_done;
  dma_id_t b_err_id;
  axi_b_t  m_b;

  // the AXI4 port: one place where the flat B channel becomes the engine's type
  assign m_b = '{id: dma_id_t'(m_axi_bid), resp: axi_resp_e'(m_axi_bresp)};

  vf_dma_wr_arb #(
      .NS(2),
      .DATA_W(DATA_W)
  ) wr_arb (
      .clk,
      .rst,
      .s_aw(aw),
      .s_awvalid(aw_valid),
      .s_awready(aw_ready),
      .s_wdata(w_data),
      .s_wstrb(w_strb),
      .s_wlast(w_last),
      .s_wvalid(w_valid),
      .s_wready(w_ready),
      .m_aw,
      .m_awvalid(m_axi_awvalid),
      .m_awready(m_axi_awready),
      .m_wdata(m_axi_wdata),
      .m_wstrb(m_axi_wstrb),
      .m_wlast(m_axi_wlast),
      .m_wvalid(m_axi_wvalid),
      .m_wready(m_axi_wready),
      .m_b,
      .m_bvalid(m_axi_bvalid),
      .m_bready(m_axi_bready),
      .b_err,
      .b_err_id,
      .b_done
  );
  assign m_axi_awid    = ID_W'(m_aw.id);
  assign m_axi_awaddr  = ADDR_W'(m_aw.addr);
  assign m_axi_awlen   = m_aw.len;
  assign m_axi_awsize  = 3'($clog2(BEAT_BYTES));
  assign m_axi_awburst = AXI_BURST_INCR;
  assign m_axi_awuser  = func_num;

  // ---------------- RX ----------------
  logic [NUM_QUEUES-1:0] rxe_err, rxe_abandon;
  logic [NUM_QUEUES-1:0][7:0] rxe_code;

  vf_dma_rx #(
      .NUM_QUEUES(NUM_QUEUES),
      .DATA_W(DATA_W),
      .ADDR_W(ADDR_W),
      .KIND(WR_RX),
      .DEPTH(DESC_DEPTH),
      .RX_FIFO_BEATS(RX_FIFO_BEATS),
      .RX_MAX_FRAMES(RX_MAX_FRAMES),
      .FMT_B(FMT_B)
  ) rx (
      .clk,
      .rst,
      .s_axis_rx_tdata,
      .s_axis_rx_tkeep,
      .s_axis_rx_tlast,
      .s_axis_rx_tuser,
      .s_axis_rx_tvalid,
      .s_axis_rx_tready,
      .hash_en(rx_hash_en),
      .q_en(rxq_en),
      .q_run(rxq_run),
      .q_idle(rxf_idle),
      .q_used(rxq_used),
      .q_err(rxe_err),
      .q_err_code(rxe_code),
      .q_drop(rxq_drop),
      .q_busy(rxe_busy),
      .q_abandon(rxe_abandon),
      .q_starve(rxq_starve),
      .q_taken(rxq_taken),
      .d_addr(rxd_addr),
      .d_len(rxd_len),
      .d_err(rxd_err),
      .d_q(rxd_q),
      .d_idx(rxd_idx),
      .d_valid(rxd_valid),
      .d_ready(rxd_ready),
      .m_aw(aw[WR_RX_SRC]),
      .m_awvalid(aw_valid[WR_RX_SRC]),
      .m_awready(aw_ready[WR_RX_SRC]),
      .m_wdata(w_data[WR_RX_SRC]),
      .m_wstrb(w_strb[WR_RX_SRC]),
      .m_wlast(w_last[WR_RX_SRC]),
      .m_wvalid(w_valid[WR_RX_SRC]),
      .m_wready(w_ready[WR_RX_SRC]),
      .cpl_data(rxc_data),
      .cpl_valid(rxc_valid),
      .cpl_ready(rxc_ready)
  );

  // ---------------- completions ----------------
  // Completion-writer events feed the interrupt block below.
  localparam int SLOT_W = $clog2(DATA_W / ENTRY_W);
  localparam int IRQ_VW = $clog2(2 * NUM_QUEUES);
  logic ev_valid, ev_rx;
  logic [  QW-1:0] ev_q;
  logic [SLOT_W:0] ev_n;

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
      .f_rx,
      .f_gen,
      .f_q,
      .f_idx,
      .f_len,
      .f_nbufs,
      .f_vlan_stripped,
      .f_vlan_tci,
      .f_status,
      .f_raw(cpl_raw),
      .m_aw(aw[WR_CPL_SRC]),
      .m_awvalid(aw_valid[WR_CPL_SRC]),
      .m_awready(aw_ready[WR_CPL_SRC]),
      .m_wdata(w_data[WR_CPL_SRC]),
      .m_wstrb(w_strb[WR_CPL_SRC]),
      .m_wlast(w_last[WR_CPL_SRC]),
      .m_wvalid(w_valid[WR_CPL_SRC]),
      .m_wready(w_ready[WR_CPL_SRC]),
      .ev_valid,
      .ev_rx,
      .ev_q,
      .ev_n,
      .tx_discard(txc_discard),
      .rx_discard(rxc_discard),
      .tx_pend(txc_pend),
      .rx_pend(rxc_pend)
  );

  // completions discarded (queue disabled before they were taken) count their frames as
  // abandoned; format B writes a completion per buffer, so only a frame's EOP one counts
  wire rx_discard_frame = !FMT_B || f_nbufs[1];
  always_comb begin
    stat_rx_drops     = '0;
    stat_rx_abandoned = '0;
    stat_tx_abandoned = '0;
    for (int q = 0; q < NUM_QUEUES; q++) begin
      txq_abandon[q]    = txe_abandon[q] + 8'(txc_discard[q]);
      rxq_abandon[q]    = 8'(rxe_abandon[q]) + 8'(rxc_discard[q] && rx_discard_frame);
      stat_rx_drops     = stat_rx_drops + 16'(rxq_drop[q]);
      stat_rx_abandoned = stat_rx_abandoned + 16'(rxq_abandon[q]);
      stat_tx_abandoned = stat_tx_abandoned + 16'(txq_abandon[q]);
    end
  end

  // ---------------- interrupts ----------------
  logic [2*NUM_QUEUES-1:0] irq_en, irq_err;
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

  // ---------------- queue errors ----------------
  // a queue's RX descriptor rings (1, or 2 with format B)
  logic [NUM_QUEUES-1:0] rxq_fetch_err, rxq_fetch_quiet;
  always_comb begin
    rxq_fetch_err   = '0;
    rxq_fetch_quiet = '1;
    for (int r = 0; r < NR; r++) begin
      if (rxf_err[r]) rxq_fetch_err[r%NUM_QUEUES] = 1'b1;
      if (!rxf_quiet[r]) rxq_fetch_quiet[r%NUM_QUEUES] = 1'b0;
    end
  end

  always_comb begin
    for (int q = 0; q < NUM_QUEUES; q++) begin
      logic bq_tx, bq_rx;
      bq_tx = b_err && b_err_id == dma_wr_id(WR_TX_CPL, DMA_QUEUE_W'(q));
      bq_rx = b_err && b_err_id == dma_wr_id(WR_RX, DMA_QUEUE_W'(q));
      txq_err[q] = txe_err[q] || txf_err[q] || bq_tx;
      txq_err_code[q] = txe_err[q] ? txe_code[q] : (txf_err[q] ? ERR_BUS_READ : ERR_BUS_WRITE);
      rxq_err[q] = rxe_err[q] || rxq_fetch_err[q] || bq_rx;
      rxq_err_code[q] = rxe_err[q] ? rxe_code[q]
                                   : (rxq_fetch_err[q] ? ERR_BUS_READ : ERR_BUS_WRITE);
    end
  end

  // ---------------- outstanding DMA per queue (queue reset / FLR) ----------------
  // writes: from acceptance by the write arbiter (or waiting in a source's AW
  // register) to the B response; reads: descriptor reads in flight, TX frames
  // whose data is in flight, an RX frame being written.
  logic    [1:0][NUM_QUEUES-1:0][7:0] wr_out_reg;
  logic    [1:0][NUM_QUEUES-1:0]      wr_busy;
  dma_id_t [1:0][NUM_QUEUES-1:0]      wr_qid;  // the ID of kind k, queue q
  always_comb begin
    for (int k = 0; k < 2; k++) begin
      for (int q = 0; q < NUM_QUEUES; q++)
      wr_qid[k][q] = dma_wr_id(dma_wr_kind_e'(k), DMA_QUEUE_W'(q));
    end
  end
  always_ff @(posedge clk) begin
    if (rst) begin
      wr_out_reg <= '0;
    end else begin
      for (int k = 0; k < 2; k++) begin
        for (int q = 0; q < NUM_QUEUES; q++) begin
          logic inc, dec;
          inc = 1'b0;
          for (int src = 0; src < 2; src++) begin
            if (aw_valid[src] && aw_ready[src] && aw[src].id == wr_qid[k][q]) inc = 1'b1;
          end
          dec = m_axi_bvalid && m_axi_bready && m_b.id == wr_qid[k][q];
          wr_out_reg[k][q] <= wr_out_reg[k][q] + 8'(inc) - 8'(dec);
        end
      end
    end
  end
  always_comb begin
    for (int k = 0; k < 2; k++) begin
      for (int q = 0; q < NUM_QUEUES; q++) begin
        wr_busy[k][q] = wr_out_reg[k][q] != '0;
        for (int src = 0; src < 2; src++) begin
          if (aw_valid[src] && aw[src].id == wr_qid[k][q]) wr_busy[k][q] = 1'b1;
        end
      end
    end
    for (int q = 0; q < NUM_QUEUES; q++) begin
      txq_busy[q] = !txf_quiet[q] || txe_busy[q] || wr_busy[0][q] || txc_pend[q];
      rxq_busy[q] = !rxq_fetch_quiet[q] || rxe_busy[q] || wr_busy[1][q] || rxc_pend[q];
    end
  end

  logic unused_misc;
  assign unused_misc = ^{txf_idle, b_done, b_err_id};

  // ---------------------------------------------------------------- assertions
`ifndef SYNTHESIS
  // the B response's ID names a kind and queue with a write outstanding
  logic b_expected, wr_out_max;
  always_comb begin
    b_expected = 1'b0;
    wr_out_max = 1'b0;
    for (int k = 0; k < 2; k++) begin
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
  `ASSERT(b_after_aw, m_axi_bvalid && m_axi_bready |-> b_expected)
  `ASSERT_NEVER(wr_out_wrap, wr_out_max)
  `ASSERT_ONEHOT0(rd_arb_one_source, ar_valid & ar_ready)

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
