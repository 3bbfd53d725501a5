// vf_dma: DMA engine of one PCIe function (PF or VF) — register block, TX and
// RX descriptor rings in host memory, TX frames to the switch, RX frames from
// it, completion rings; docs/ARCHITECTURE.md §3.1, §4 and §4b for the contract.
// Parts: vf_dma_regs; vf_dma_fetch (descriptor fetch, ring positions); the ring
// format (ring_fmt_a, or ring_fmt_b for vmxnet3's rings with RING_FMT_B), the
// only ring-layout knowledge, seen through nic_pkg's txd_t, rxd_t, cpl_fields_t;
// vf_dma_tx and vf_dma_rx; vf_dma_cpl (completion rings, interrupts); vf_dma_bus
// (the AXI4 master port). Format B adds a second RX descriptor ring per queue.
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
    input wire logic              clk,
    input wire logic              rst,
    input wire logic [FUNC_W-1:0] func_num,    // this function's number, static
    input wire logic              func_enable, // 0: DMA off, queues held in reset

    input  wire logic                    reg_wr,
    input  wire logic                    reg_rd,
    input  wire logic [FUNC_SPACE_W-1:0] reg_addr,
    input  wire logic [       REG_W-1:0] reg_wdata,
    output logic      [       REG_W-1:0] reg_rdata,

    output logic      [  ID_W-1:0] m_axi_awid,
    output logic      [ADDR_W-1:0] m_axi_awaddr,
    output logic      [       7:0] m_axi_awlen,
    output logic      [       2:0] m_axi_awsize,
    output logic      [       1:0] m_axi_awburst,
    output logic      [FUNC_W-1:0] m_axi_awuser,
    output logic                   m_axi_awvalid,
    input  wire logic              m_axi_awready,
    output logic      [DATA_W-1:0] m_axi_wdata,
    output logic      [KEEP_W-1:0] m_axi_wstrb,
    output logic                   m_axi_wlast,
    output logic                   m_axi_wvalid,
    input  wire logic              m_axi_wready,
    input  wire logic [  ID_W-1:0] m_axi_bid,
    input  wire logic [       1:0] m_axi_bresp,
    input  wire logic              m_axi_bvalid,
    output logic                   m_axi_bready,
    output logic      [  ID_W-1:0] m_axi_arid,
    output logic      [ADDR_W-1:0] m_axi_araddr,
    output logic      [       7:0] m_axi_arlen,
    output logic      [       2:0] m_axi_arsize,
    output logic      [       1:0] m_axi_arburst,
    output logic      [FUNC_W-1:0] m_axi_aruser,
    output logic                   m_axi_arvalid,
    input  wire logic              m_axi_arready,
    input  wire logic [  ID_W-1:0] m_axi_rid,
    input  wire logic [DATA_W-1:0] m_axi_rdata,
    input  wire logic [       1:0] m_axi_rresp,
    input  wire logic              m_axi_rlast,
    input  wire logic              m_axi_rvalid,
    output logic                   m_axi_rready,

    output logic      [   DATA_W-1:0] m_axis_tx_tdata,
    output logic      [   KEEP_W-1:0] m_axis_tx_tkeep,
    output logic                      m_axis_tx_tlast,
    output logic      [TX_META_W-1:0] m_axis_tx_tuser,
    output logic                      m_axis_tx_tvalid,
    input  wire logic                 m_axis_tx_tready,

    input  wire logic [   DATA_W-1:0] s_axis_rx_tdata,
    input  wire logic [   KEEP_W-1:0] s_axis_rx_tkeep,
    input  wire logic                 s_axis_rx_tlast,
    input  wire logic [RX_META_W-1:0] s_axis_rx_tuser,
    input  wire logic                 s_axis_rx_tvalid,
    output logic                      s_axis_rx_tready,

    // interrupt requests: vector 2q = TX queue q, 2q+1 = RX queue q, 2*NUM_QUEUES+1 = error (§3.1)
    output logic      [FUNC_W-1:0] m_irq_func,
    output logic      [       7:0] m_irq_vector,
    output logic                   m_irq_valid,
    input  wire logic              m_irq_ready,

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

  // >= 2 ring entries per beat; <= 64-byte beats, the RX buffer granule of the contract
  `ASSERT_PARAM(g_check_data_w, DATA_W >= 256 && DATA_W <= 512 && (DATA_W & (DATA_W - 1)) == 0,
                "DATA_W must be 256 or 512")
  `ASSERT_PARAM(g_check_id_w, ID_W == ENGINE_ID_W,
                $sformatf("ID_W (%0d) must be axi_pkg::ENGINE_ID_W (%0d)", ID_W, ENGINE_ID_W))
  `ASSERT_PARAM(g_check_queues, NUM_QUEUES <= (1 << DMA_QUEUE_W),
                $sformatf("NUM_QUEUES (%0d) must fit the ID's queue field", NUM_QUEUES))
  `ASSERT_PARAM(g_check_addr_w, ADDR_W == AXI_ADDR_W,
                $sformatf("ADDR_W (%0d) must be axi_pkg::AXI_ADDR_W", ADDR_W))
  `ASSERT_PARAM(g_check_rx_fifo, RX_FIFO_BEATS * BEAT_BYTES >= MAX_FRAME_BYTES,
                "RX FIFO smaller than one frame")
  // the batched TX prefetch (16 entries) must fit beside a partial frame (MAX_TX_BUFS)
  `ASSERT_PARAM(g_check_desc_depth, DESC_DEPTH >= MAX_TX_BUFS + 16,
                "DESC_DEPTH must be >= MAX_TX_BUFS + 16")
  // format B: a frame's per-buffer completions wait together for its last data write
  `ASSERT_PARAM(g_check_rx_frames, !FMT_B || RX_MAX_FRAMES >= (MAX_FRAME_BYTES + 63) / 64,
                "RX_FIFO_BEATS too small to queue a jumbo frame's completions")
  `ASSERT_PARAM(g_check_space, (1 << FUNC_SPACE_W) <= int'(nic_regs_pkg::PF_SPACE_ESW),
                "function space overlaps the switch window")

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

  // ---------------- read and write sources (vf_dma_bus) ----------------
  // the read sources are numbered by the kind of their reads (routing by ID)
  localparam int RD_TXD = int'(RD_TX_DESC), RD_RXD = int'(RD_RX_DESC), RD_TXDATA = int'(RD_TX_DATA);
  localparam int WR_RX_SRC = 0, WR_CPL_SRC = 1;  // write sources
  dma_a_t [2:0] ar;
  logic [2:0] ar_valid, ar_ready, r_valid, r_ready;
  dma_a_t [1:0] aw;
  logic [1:0] aw_valid, aw_ready, w_valid, w_ready;
  axi_w_t [1:0] w;
  logic b_err;
  dma_id_t b_err_id;
  logic [1:0][NUM_QUEUES-1:0] wr_busy;  // writes outstanding per [dma_wr_kind_e][queue]

  // ---------------- descriptor fetch and ring positions ----------------
  logic [NUM_QUEUES-1:0][CNT_W-1:0] txq_used;
  logic [NR-1:0][CNT_W-1:0] rxq_used;
  logic [NR-1:0] rxq_starve;  // RX: a frame waits for buffers, fetch unbatched
  logic [NR-1:0] rxq_taken;  // RX: a ring's next buffer was taken
  logic [NR-1:0] rxf_idle;
  logic [NUM_QUEUES-1:0] txf_quiet, txf_err, rxq_fetch_quiet, rxq_fetch_err;
  logic [ENTRY_W-1:0] txd_raw, rxd_raw;
  logic [QW-1:0] txd_q;
  logic [RW-1:0] rxd_q;
  logic [15:0] txd_idx, rxd_idx;
  logic txd_valid, txd_ready, rxd_valid, rxd_ready, txd_gen_exp, rxd_gen_exp, rxd_ring2;

  vf_dma_fetch #(
      .NUM_QUEUES(NUM_QUEUES),
      .DATA_W(DATA_W),
      .ADDR_W(ADDR_W),
      .DEPTH(DESC_DEPTH),
      .BEATS(DESC_BEATS),
      .FMT_B(FMT_B)
  ) fetch (
      .clk,
      .rst,
      .txq_en,
      .txq_run,
      .txq_base,
      .txq_size,
      .txq_prod,
      .txd_start,
      .txq_cons,
      .txd_live,
      .rxq_en,
      .rxq_run,
      .rxq_base,
      .rxq_size,
      .rxq_prod,
      .rxd_start,
      .rx2_base,
      .rx2_size,
      .rx2_prod,
      .rx2_start,
      .rxq_cons,
      .rx2_cons,
      .rxd_live,
      .rx2_live,
      .txq_used,
      .rxq_used,
      .rxq_starve,
      .rxq_taken,
      .txf_quiet,
      .txf_err,
      .rxf_idle,
      .rxq_fetch_quiet,
      .rxq_fetch_err,
      .m_ar({ar[RD_RXD], ar[RD_TXD]}),
      .m_arvalid({ar_valid[RD_RXD], ar_valid[RD_TXD]}),
      .m_arready({ar_ready[RD_RXD], ar_ready[RD_TXD]}),
      .s_rdata(m_axi_rdata),
      .s_rresp(m_axi_rresp),
      .s_rlast(m_axi_rlast),
      .s_rvalid({r_valid[RD_RXD], r_valid[RD_TXD]}),
      .s_rready({r_ready[RD_RXD], r_ready[RD_TXD]}),
      .txd_raw,
      .txd_q,
      .txd_idx,
      .txd_gen_exp,
      .txd_valid,
      .txd_ready,
      .rxd_raw,
      .rxd_q,
      .rxd_idx,
      .rxd_gen_exp,
      .rxd_ring2,
      .rxd_valid,
      .rxd_ready
  );

  // ---------------- ring format ----------------
  txd_t                      txd;
  rxd_t                      rxd;
  cpl_fields_t               cpl;
  logic        [ENTRY_W-1:0] cpl_raw;

  if (FMT_B) begin : g_fmt_b
    ring_fmt_b #(
        .NUM_QUEUES(NUM_QUEUES)
    ) fmt (
        .txd_raw,
        .txd_gen_exp,
        .txd,
        .rxd_raw,
        .rxd_gen_exp,
        .rxd_ring2,
        .rxd,
        .cpl,
        .cpl_raw
    );
  end else begin : g_fmt_a
    ring_fmt_a #(
        .NUM_QUEUES(NUM_QUEUES)
    ) fmt (
        .txd_raw,
        .txd_gen_exp,
        .txd,
        .rxd_raw,
        .rxd_gen_exp,
        .rxd_ring2,
        .rxd,
        .cpl,
        .cpl_raw
    );
  end

  // ---------------- the frame streams: flat at the port, axis_t inside ----------------
  axis_t tx_axis, rx_axis;

  always_comb begin
    m_axis_tx_tdata = tx_axis.data[DATA_W-1:0];
    m_axis_tx_tkeep = tx_axis.keep[KEEP_W-1:0];
    m_axis_tx_tlast = tx_axis.last;
    rx_axis = '{
        data: AXI_DATA_W'(s_axis_rx_tdata),
        keep: AXI_STRB_W'(s_axis_rx_tkeep),
        last: s_axis_rx_tlast
    };
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
      .d(txd),
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
      .m_axis_tx(tx_axis),
      .m_axis_tx_tuser,
      .m_axis_tx_tvalid,
      .m_axis_tx_tready,
      .cpl_data(txc_data),
      .cpl_valid(txc_valid),
      .cpl_ready(txc_ready)
  );

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
      .s_axis_rx(rx_axis),
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
      .d(rxd),
      .d_q(rxd_q),
      .d_idx(rxd_idx),
      .d_valid(rxd_valid),
      .d_ready(rxd_ready),
      .m_aw(aw[WR_RX_SRC]),
      .m_awvalid(aw_valid[WR_RX_SRC]),
      .m_awready(aw_ready[WR_RX_SRC]),
      .m_w(w[WR_RX_SRC]),
      .m_wvalid(w_valid[WR_RX_SRC]),
      .m_wready(w_ready[WR_RX_SRC]),
      .cpl_data(rxc_data),
      .cpl_valid(rxc_valid),
      .cpl_ready(rxc_ready)
  );

  // ---------------- completions and interrupts ----------------
  vf_dma_cpl #(
      .NUM_QUEUES(NUM_QUEUES),
      .DATA_W(DATA_W),
      .ADDR_W(ADDR_W)
  ) cpl_irq (
      .clk,
      .rst,
      .func_num,
      .txq_en,
      .txq_run,
      .txq_cpl_base,
      .txq_size,
      .rxq_en,
      .rxq_run,
      .rxq_cpl_base,
      .rxq_cpl_size,
      .txc_start,
      .rxc_start,
      .txc_live,
      .rxc_live,
      .irq_mask,
      .irq_interval,
      .irq_thresh,
      .txc_data,
      .txc_valid,
      .txc_ready,
      .rxc_data,
      .rxc_valid,
      .rxc_ready,
      .txc_discard,
      .rxc_discard,
      .txc_pend,
      .rxc_pend,
      .cpl,
      .cpl_raw,
      .m_aw(aw[WR_CPL_SRC]),
      .m_awvalid(aw_valid[WR_CPL_SRC]),
      .m_awready(aw_ready[WR_CPL_SRC]),
      .m_w(w[WR_CPL_SRC]),
      .m_wvalid(w_valid[WR_CPL_SRC]),
      .m_wready(w_ready[WR_CPL_SRC]),
      .m_irq_func,
      .m_irq_vector,
      .m_irq_valid,
      .m_irq_ready
  );

  // ---------------- AXI4 master port ----------------
  axi_a_t bus_aw, bus_ar;
  axi_w_t bus_w;

  vf_dma_bus #(
      .NUM_QUEUES(NUM_QUEUES),
      .DATA_W(DATA_W),
      .NRS(3),
      .NWS(2)
  ) bus (
      .clk,
      .rst,
      .func_num,
      .s_ar(ar),
      .s_arvalid(ar_valid),
      .s_arready(ar_ready),
      .s_rvalid(r_valid),
      .s_rready(r_ready),
      .s_aw(aw),
      .s_awvalid(aw_valid),
      .s_awready(aw_ready),
      .s_w(w),
      .s_wvalid(w_valid),
      .s_wready(w_ready),
      .b_err,
      .b_err_id,
      .wr_busy,
      .m_aw(bus_aw),
      .m_awvalid(m_axi_awvalid),
      .m_awready(m_axi_awready),
      .m_w(bus_w),
      .m_wvalid(m_axi_wvalid),
      .m_wready(m_axi_wready),
      .m_b(axi_b_t'({m_axi_bid, m_axi_bresp})),
      .m_bvalid(m_axi_bvalid),
      .m_bready(m_axi_bready),
      .m_ar(bus_ar),
      .m_arvalid(m_axi_arvalid),
      .m_arready(m_axi_arready),
      .m_rid(dma_id_t'(m_axi_rid)),
      .m_rvalid(m_axi_rvalid),
      .m_rready(m_axi_rready)
  );

  // ---------------- the flat AXI4 port; queue state ----------------
  // The flat AXI4 port (vf_dma is a cocotb top of its own) is packed here and only here.
  // Completions discarded (queue disabled before they were taken) count their frames as
  // abandoned; format B writes a completion per buffer, so only a frame's EOP one counts.
  // A queue is busy while DMA of it is outstanding (queue reset / FLR): descriptor reads
  // in flight, TX frames whose data is in flight, an RX frame being written, its writes.
  logic rx_discard_frame;
  always_comb begin
    {m_axi_awid, m_axi_awaddr, m_axi_awlen, m_axi_awsize, m_axi_awburst, m_axi_awuser} = bus_aw;
    {m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst, m_axi_aruser} = bus_ar;
    {m_axi_wdata, m_axi_wstrb, m_axi_wlast} = {
      bus_w.data[DATA_W-1:0], bus_w.strb[KEEP_W-1:0], bus_w.last
    };

    rx_discard_frame = !FMT_B || cpl.req.nbufs[1];
    stat_rx_drops = '0;
    stat_rx_abandoned = '0;
    stat_tx_abandoned = '0;
    for (int q = 0; q < NUM_QUEUES; q++) begin
      logic bq_tx, bq_rx;
      txq_abandon[q] = txe_abandon[q] + 8'(txc_discard[q]);
      rxq_abandon[q] = 8'(rxe_abandon[q]) + 8'(rxc_discard[q] && rx_discard_frame);
      stat_rx_drops = stat_rx_drops + 16'(rxq_drop[q]);
      stat_rx_abandoned = stat_rx_abandoned + 16'(rxq_abandon[q]);
      stat_tx_abandoned = stat_tx_abandoned + 16'(txq_abandon[q]);

      bq_tx = b_err && b_err_id == dma_wr_id(WR_TX_CPL, DMA_QUEUE_W'(q));
      bq_rx = b_err && b_err_id == dma_wr_id(WR_RX, DMA_QUEUE_W'(q));
      txq_err[q] = txe_err[q] || txf_err[q] || bq_tx;
      txq_err_code[q] = txe_err[q] ? txe_code[q] : (txf_err[q] ? ERR_BUS_READ : ERR_BUS_WRITE);
      rxq_err[q] = rxe_err[q] || rxq_fetch_err[q] || bq_rx;
      rxq_err_code[q] = rxe_err[q] ? rxe_code[q]
                                   : (rxq_fetch_err[q] ? ERR_BUS_READ : ERR_BUS_WRITE);
      txq_busy[q] = !txf_quiet[q] || txe_busy[q] || wr_busy[WR_TX_CPL][q] || txc_pend[q];
      rxq_busy[q] = !rxq_fetch_quiet[q] || rxe_busy[q] || wr_busy[WR_RX][q] || rxc_pend[q];
    end
  end

endmodule

`resetall
