// vf_dma_tx: TX path of one function — scheduled buffer reads, byte
// realignment, a store-and-forward frame FIFO towards the switch, and one
// completion request per frame.
//
// A frame whose data read returned an AXI error is dropped in the frame FIFO
// (never sent), its completion carries ERR_BUS_READ and its queue goes to
// the error state.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_tx
  import nic_pkg::*, axi_pkg::*;
#(
    parameter int NUM_QUEUES = 1,  // TX queues
    parameter int DATA_W = 512,  // AXI and stream data width
    parameter int ADDR_W = 64,  // AXI address width
    parameter dma_rd_kind_e KIND = RD_TX_DATA,  // ID kind of data reads
    parameter int DEPTH = 32,  // descriptor FIFO entries per queue
    parameter int MAX_BUFS = 16,  // buffers per frame at most
    parameter int TXF_BEATS = 512,  // TX frame FIFO depth in beats
    parameter int INFLIGHT = 32,  // frames and bursts in flight at most (a power of two)
    localparam int QW = NUM_QUEUES > 1 ? $clog2(NUM_QUEUES) : 1,
    localparam int CNT_W = $clog2(DEPTH) + 1,
    localparam int KEEP_W = DATA_W / 8
) (
    input wire logic              clk,
    input wire logic              rst,
    input wire logic [FUNC_W-1:0] func_num,

    input wire logic [NUM_QUEUES-1:0] q_en,
    input wire logic [NUM_QUEUES-1:0] q_run,
    output logic [NUM_QUEUES-1:0][CNT_W-1:0] q_used,
    output logic [NUM_QUEUES-1:0] q_err,
    output logic [NUM_QUEUES-1:0][7:0] q_err_code,
    output logic [NUM_QUEUES-1:0] q_busy,  // frames of the queue in flight
    output logic [NUM_QUEUES-1:0][7:0] q_abandon,  // frames of a disabled queue dropped this cycle

    input  wire txd_t          d,        // the descriptor, as the ring format decoded it
    input  wire logic [QW-1:0] d_q,
    input  wire logic [  15:0] d_idx,
    input  wire logic          d_valid,
    output logic               d_ready,

    output dma_a_t                 m_ar,
    output logic                   m_arvalid,
    input  wire logic              m_arready,
    input  wire logic [DATA_W-1:0] s_rdata,
    input  wire logic [       1:0] s_rresp,
    input  wire logic              s_rlast,
    input  wire logic              s_rvalid,
    output logic                   s_rready,

    output axis_t                     m_axis_tx,         // DATA_W low bits
    output logic      [TX_META_W-1:0] m_axis_tx_tuser,
    output logic                      m_axis_tx_tvalid,
    input  wire logic                 m_axis_tx_tready,

    // completion requests {rx=0, q, idx, len, nbufs, vlan_stripped, vlan_tci, status}
    output cpl_req_t  cpl_data,
    output logic      cpl_valid,
    input  wire logic cpl_ready
);

  localparam int OFF_W = $clog2(KEEP_W);
  localparam int INFO_W = QW + 16 + 16 + 1 + 16;

  // ---------------- scheduler ----------------
  logic [2*OFF_W:0] trk_in, trk_head;
  logic trk_push, trk_ready, trk_valid, trk_pop;
  logic [INFO_W-1:0] info_in, info_head;
  logic info_push, info_ready, info_valid, info_pop;
  logic txf_drop;
  logic [NUM_QUEUES-1:0] sched_err, sched_busy;
  logic [NUM_QUEUES-1:0][7:0] sched_code, sched_flushed;
  // Fields of the frame at the head of the info FIFO (unpacked below); the
  // scheduler needs the length of a frame it drops.
  logic [QW-1:0] info_q;
  logic [15:0] info_idx, info_len, info_tci;
  logic info_vlan_ins;

  vf_dma_tx_sched #(
      .NUM_QUEUES(NUM_QUEUES),
      .DATA_W(DATA_W),
      .ADDR_W(ADDR_W),
      .KIND(KIND),
      .DEPTH(DEPTH),
      .MAX_BUFS(MAX_BUFS),
      .TXF_BEATS(TXF_BEATS)
  ) sched (
      .clk,
      .rst,
      .q_en,
      .q_run,
      .q_used,
      .q_err(sched_err),
      .q_err_code(sched_code),
      .q_busy(sched_busy),
      .q_flushed(sched_flushed),
      .d,
      .d_q,
      .d_idx,
      .d_valid,
      .d_ready,
      .m_ar,
      .m_arvalid,
      .m_arready,
      .trk_data(trk_in),
      .trk_valid(trk_push),
      .trk_ready,
      .info_data(info_in),
      .info_valid(info_push),
      .info_ready,
      .txf_pop(m_axis_tx_tvalid && m_axis_tx_tready),
      .txf_drop,
      .txf_drop_len(info_len)
  );

  logic [$clog2(INFLIGHT):0] unused_trk_count, unused_info_count;
  prim_fifo #(
      .WIDTH(2 * OFF_W + 1),
      .DEPTH(INFLIGHT)
  ) trk_fifo (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data(trk_in),
      .s_valid(trk_push),
      .s_ready(trk_ready),
      .m_data(trk_head),
      .m_valid(trk_valid),
      .m_ready(trk_pop),
      .count(unused_trk_count)
  );

  prim_fifo #(
      .WIDTH(INFO_W),
      .DEPTH(INFLIGHT)
  ) info_fifo (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data(info_in),
      .s_valid(info_push),
      .s_ready(info_ready),
      .m_data(info_head),
      .m_valid(info_valid),
      .m_ready(info_pop),
      .count(unused_info_count)
  );

  assign {info_q, info_idx, info_len, info_vlan_ins, info_tci} = info_head;

  // ---------------- read data -> realign ----------------
  logic r_first_reg, r_first_next;  // the next beat is the first of its burst
  logic [OFF_W-1:0] tlo, thi;
  logic tflast;
  assign {tlo, thi, tflast} = trk_head;

  logic [OFF_W-1:0] lo, hi;  // the beat's first and last valid byte
  logic [OFF_W:0] cnt;
  logic ra_ready, r_beat;

  always_comb begin
    lo = r_first_reg ? tlo : '0;
    hi = s_rlast ? thi : '1;
    cnt = (OFF_W + 1)'(hi) - (OFF_W + 1)'(lo) + 1'b1;
    // a beat is taken only with its burst's tracking entry at the FIFO head
    s_rready = ra_ready && trk_valid;
    r_beat = s_rvalid && s_rready;
    trk_pop = r_beat && s_rlast;
    r_first_next = r_beat ? s_rlast : r_first_reg;
  end

  always_ff @(posedge clk) begin
    if (rst) r_first_reg <= 1'b1;
    else r_first_reg <= r_first_next;
  end

  axis_t ra;
  logic ra_err, ra_valid, ra_ready_out;

  vf_dma_realign #(
      .DATA_W(DATA_W)
  ) realign (
      .clk,
      .rst,
      .s_data(s_rdata),
      .s_lo(lo),
      .s_cnt(cnt),
      .s_last(s_rlast && tflast),
      .s_err(s_rresp != 2'b00),
      .s_valid(s_rvalid && trk_valid),
      .s_ready(ra_ready),
      .m_axis(ra),
      .m_err(ra_err),
      .m_axis_tvalid(ra_valid),
      .m_axis_tready(ra_ready_out)
  );

  // ---------------- frame FIFO and completions ----------------
  logic txf_ready, cpl_room;
  tx_meta_t meta;
  logic frame_end, abandon, bad;
  logic [$clog2(INFLIGHT):0] unused_cplq_count;
  cpl_req_t cpl_in;

  always_comb begin
    meta          = '0;
    meta.vlan_tci = info_tci;
    meta.vlan_ins = info_vlan_ins;
    meta.src_func = func_num;
    // a frame's last beat waits for room for its completion
    ra_ready_out  = txf_ready && (!ra.last || cpl_room);
    frame_end     = ra_valid && ra_ready_out && ra.last;
    // a frame whose queue was disabled while it was in flight is abandoned:
    // dropped here, no completion
    abandon       = !q_en[info_q];
    bad           = ra_err || abandon;
    info_pop      = frame_end;
    txf_drop      = frame_end && bad;
    cpl_in        = '0;
    cpl_in.q      = 8'(info_q);
    cpl_in.idx    = info_idx;
    cpl_in.len    = info_len;
    cpl_in.status = ra_err ? ERR_BUS_READ : ERR_NONE;
  end
  prim_fifo #(
      .WIDTH(CPL_REQ_W),
      .DEPTH(INFLIGHT)
  ) cpl_fifo (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data(cpl_in),
      .s_valid(frame_end && !abandon),
      .s_ready(cpl_room),
      .m_data(cpl_data),
      .m_valid(cpl_valid),
      .m_ready(cpl_ready),
      .count(unused_cplq_count)
  );

  logic [         15:0] unused_len;
  logic [TX_META_W-1:0] unused_user;
  logic unused_iv, unused_ovf;
  logic [$clog2(TXF_BEATS):0] unused_used;

  vf_dma_frame_fifo #(
      .DATA_W(DATA_W),
      .USER_W(TX_META_W),
      .DEPTH(TXF_BEATS),
      .MAX_FRAMES(64),
      .DROP_WHEN_FULL(1'b0)
  ) txf (
      .clk,
      .rst,
      .s_axis(ra),
      .s_axis_tuser(meta),
      .s_drop(bad),
      .s_axis_tvalid(ra_valid && (!ra.last || cpl_room)),
      .s_axis_tready(txf_ready),
      .ovf_drop(unused_ovf),
      .m_axis(m_axis_tx),
      .m_axis_tuser(m_axis_tx_tuser),
      .m_axis_tvalid(m_axis_tx_tvalid),
      .m_axis_tready(m_axis_tx_tready),
      .m_info_user(unused_user),
      .m_info_len(unused_len),
      .m_info_valid(unused_iv),
      .m_info_ready(1'b1),
      .used(unused_used)
  );

  // ---------------- errors ----------------
  always_comb begin
    for (int q = 0; q < NUM_QUEUES; q++) begin
      q_err[q]      = sched_err[q] || (frame_end && ra_err && !abandon && info_q == QW'(q));
      q_err_code[q] = sched_err[q] ? sched_code[q] : ERR_BUS_READ;
    end
  end

  // frames in flight per queue: from scheduling to their end in the frame FIFO;
  // completions per queue waiting in the completion FIFO
  localparam int FW = $clog2(INFLIGHT) + 1;
  logic [NUM_QUEUES-1:0][FW-1:0] flight_reg, flight_next, cplq_reg, cplq_next;
  logic [QW-1:0] push_q, cpl_out_q;

  always_comb begin
    push_q    = info_in[INFO_W-1-:QW];
    cpl_out_q = QW'(cpl_data.q);
    for (int q = 0; q < NUM_QUEUES; q++) begin
      flight_next[q] = flight_reg[q] + FW'(info_push && push_q == QW'(q)) -
          FW'(frame_end && info_q == QW'(q));
      cplq_next[q] = cplq_reg[q] + FW'(frame_end && !abandon && cpl_room && info_q == QW'(q)) -
          FW'(cpl_valid && cpl_ready && cpl_out_q == QW'(q));
      q_busy[q] = sched_busy[q] || flight_reg[q] != '0 || cplq_reg[q] != '0;
      q_abandon[q] = sched_flushed[q] + 8'(frame_end && abandon && info_q == QW'(q));
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      flight_reg <= '0;
      cplq_reg   <= '0;
    end else begin
      flight_reg <= flight_next;
      cplq_reg   <= cplq_next;
    end
  end

  `ASSERT_NEVER(data_without_burst, s_rvalid && !trk_valid)
  `ASSERT_NEVER(end_without_info, ra_valid && ra.last && !info_valid)
  // the per-queue counts never wrap: at most INFLIGHT frames fit the info FIFO
  // and as many completions the completion FIFO
`ifndef SYNTHESIS
  logic count_bad;
  always_comb begin
    count_bad = 1'b0;
    for (int q = 0; q < NUM_QUEUES; q++) begin
      if (32'(flight_reg[q]) > INFLIGHT || 32'(cplq_reg[q]) > INFLIGHT) count_bad = 1'b1;
    end
  end
`endif
  `ASSERT_NEVER(count_wraps, count_bad)

endmodule

`resetall
