// vf_dma_tx_sched: TX descriptor check, per-queue descriptor FIFOs, frame
// scheduling and buffer read issue.
//
// Descriptors arrive one per cycle (normalized by the ring format). Each
// queue's checker validates them frame by frame (length 1..MAX_FRAME_BYTES,
// frame length <= MAX_FRAME_BYTES, at most MAX_BUFS buffers); a bad one puts
// the queue in error and is never passed on. A frame becomes schedulable only
// when its EOF descriptor has been checked, so no byte of a bad frame is ever
// read or sent. Queues with a complete frame are served round-robin, a whole
// frame at a time, when the TX frame FIFO has room for it (credit counted
// here, so read data is never stalled for lack of space); the next frame is
// picked in the cycle the current one's last burst issues (back to back). Each buffer is read
// in bursts that do not cross 4 KiB; all data reads use one AXI ID, so they
// return in order.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_tx_sched
  import nic_pkg::*, axi_pkg::*;
#(
    parameter int NUM_QUEUES = 1,  // TX queues
    parameter int DATA_W = 512,  // AXI data width
    parameter int ADDR_W = 64,  // AXI address width
    parameter dma_rd_kind_e KIND = RD_TX_DATA,  // ID kind of data reads
    parameter int DEPTH = 32,  // descriptor FIFO entries per queue
    parameter int MAX_BUFS = 16,  // buffers per frame at most (ERR_TOO_MANY_BUFS above)
    parameter int TXF_BEATS = 512,  // TX frame FIFO depth in beats (the credit)
    localparam int QW = NUM_QUEUES > 1 ? $clog2(NUM_QUEUES) : 1,
    localparam int CNT_W = $clog2(DEPTH) + 1,
    localparam int OFF_W = $clog2(DATA_W / 8),
    localparam int INFO_W = QW + 16 + 16 + 1 + 16  // {q, eof_idx, len, vlan_ins, vlan_tci}
) (
    input wire logic clk,
    input wire logic rst,

    input wire logic [NUM_QUEUES-1:0] q_en,
    input wire logic [NUM_QUEUES-1:0] q_run,
    output logic [NUM_QUEUES-1:0][CNT_W-1:0] q_used,  // descriptor FIFO occupancy
    output logic [NUM_QUEUES-1:0] q_err,  // pulse: descriptor error
    output logic [NUM_QUEUES-1:0][7:0] q_err_code,
    output logic [NUM_QUEUES-1:0] q_busy,  // a frame of the queue is being issued
    output logic [NUM_QUEUES-1:0][7:0] q_flushed,  // frames dropped by a disable this cycle

    // normalized descriptors from the fetcher
    input  wire txd_t          d,        // the descriptor, as the ring format decoded it
    input  wire logic [QW-1:0] d_q,
    input  wire logic [  15:0] d_idx,
    input  wire logic          d_valid,
    output logic               d_ready,

    // buffer reads
    output dma_a_t m_ar,
    output logic m_arvalid,
    input wire logic m_arready,

    // per burst: {lo, hi, frame_last} to the read-data side
    output logic      [2*OFF_W:0] trk_data,
    output logic                  trk_valid,
    input  wire logic             trk_ready,

    // per frame: {q, eof_idx, len, vlan_ins, vlan_tci}
    output logic      [INFO_W-1:0] info_data,
    output logic                   info_valid,
    input  wire logic              info_ready,

    // TX frame FIFO credit returns
    input wire logic        txf_pop,      // one beat left the FIFO
    input wire logic        txf_drop,     // a frame was discarded
    input wire logic [15:0] txf_drop_len  // its length in bytes
);

  localparam int NB_W = $clog2(MAX_BUFS + 1) + 1;
  localparam int TC_W = $clog2(TXF_BEATS) + 2;
  localparam int BEAT_BYTES = DATA_W / 8;

  `ASSERT_PARAM(g_check_bufs, MAX_BUFS <= DEPTH, "MAX_BUFS must fit the descriptor FIFO")
  `ASSERT_PARAM(g_check_depth, DEPTH <= 254,
                "DEPTH must be < 255 (abandoned frames counted in 8 bits)")
  `ASSERT_PARAM(g_check_txf, TXF_BEATS * BEAT_BYTES >= 2 * MAX_FRAME_BYTES,
                "TXF_BEATS too small for two frames")

  assign d_ready = 1'b1;  // FIFO room is guaranteed by the fetcher's credit

  // ---------------- per-queue checker and FIFOs ----------------
  logic [NUM_QUEUES-1:0][63:0] dh_addr;
  logic [NUM_QUEUES-1:0][15:0] dh_len;
  logic [NUM_QUEUES-1:0] dh_valid, dh_pop;
  logic [NUM_QUEUES-1:0][15:0] fh_len, fh_idx, fh_tci;
  logic [NUM_QUEUES-1:0][NB_W-1:0] fh_nbufs;
  logic [NUM_QUEUES-1:0] fh_vlan_ins, fh_valid, fh_pop;
  logic [NUM_QUEUES-1:0] flush;

  logic busy_reg, busy_next;  // a frame is being issued
  logic [QW-1:0] cur_q_reg, cur_q_next;  // ... of this queue

  for (genvar gq = 0; gq < NUM_QUEUES; gq++) begin : g_q
    // the frame being checked: buffers and bytes so far, VLAN request of its SOF
    logic in_frame_reg, in_frame_next;
    logic [NB_W-1:0] nbufs_reg, nbufs_next;
    logic [15:0] flen_reg, flen_next;
    logic vlan_ins_reg, vlan_ins_next;
    logic [15:0] vlan_tci_reg, vlan_tci_next;

    logic mine, good, sof_vlan;
    logic [NB_W-1:0] nb_new;
    logic [16:0] fl_new;
    logic [7:0] code;
    logic [15:0] sof_tci;
    logic [CNT_W-1:0] fcount;  // checked frames waiting in this queue's frame FIFO

    always_comb begin
      mine   = d_valid && d_q == QW'(gq) && q_run[gq];
      nb_new = in_frame_reg ? nbufs_reg + 1'b1 : NB_W'(1);
      fl_new = (in_frame_reg ? 17'(flen_reg) : 17'd0) + 17'(d.len);
      code   = ERR_NONE;
      if (d.err != ERR_NONE) code = d.err;
      else if (d.len == '0) code = ERR_DESC_LEN_ZERO;
      else if (fl_new > 17'(MAX_FRAME_BYTES)) code = ERR_DESC_LEN_MAX;
      else if (nb_new > NB_W'(MAX_BUFS)) code = ERR_TOO_MANY_BUFS;
      good = mine && code == ERR_NONE;
      // SOF is implied at a frame start; a SOF flag inside a frame is ignored.
      sof_vlan = in_frame_reg ? vlan_ins_reg : d.vlan_ins;
      sof_tci = in_frame_reg ? vlan_tci_reg : d.vlan_tci;

      in_frame_next = in_frame_reg;
      nbufs_next = nbufs_reg;
      flen_next = flen_reg;
      vlan_ins_next = vlan_ins_reg;
      vlan_tci_next = vlan_tci_reg;
      if (flush[gq]) begin
        in_frame_next = 1'b0;
        nbufs_next    = '0;
        flen_next     = '0;
        vlan_ins_next = 1'b0;
        vlan_tci_next = '0;
      end else if (good) begin
        in_frame_next = !d.eof;
        nbufs_next    = nb_new;
        flen_next     = 16'(fl_new);
        vlan_ins_next = sof_vlan;
        vlan_tci_next = sof_tci;
      end
    end

    always_ff @(posedge clk) begin
      if (rst) begin
        in_frame_reg <= 1'b0;
        nbufs_reg    <= '0;
        flen_reg     <= '0;
        vlan_ins_reg <= 1'b0;
        vlan_tci_reg <= '0;
      end else begin
        in_frame_reg <= in_frame_next;
        nbufs_reg    <= nbufs_next;
        flen_reg     <= flen_next;
        vlan_ins_reg <= vlan_ins_next;
        vlan_tci_reg <= vlan_tci_next;
      end
    end

    // a queue is flushed while disabled, but not under the frame being issued
    // (its descriptors are still being read from the FIFO head)
    assign flush[gq]      = !q_en[gq] && !(busy_reg && cur_q_reg == QW'(gq));
    assign q_err[gq]      = mine && code != ERR_NONE;
    assign q_err_code[gq] = code;
    assign q_busy[gq]     = busy_reg && cur_q_reg == QW'(gq);
    // a disabled queue's checked frames and its partly fetched one are abandoned (counted once:
    // the flush empties them)
    assign q_flushed[gq]  = flush[gq] ? 8'(fcount) + 8'(in_frame_reg) : 8'd0;

    logic unused_sof;
    assign unused_sof = d.sof;

    // the fetcher reads only as far as the descriptor FIFO has room, and a frame
    // entry has at least one descriptor entry: neither waits for s_ready, an
    // overflow is asserted
    logic unused_dready, unused_fready;
    prim_fifo #(
        .WIDTH(64 + 16),
        .DEPTH(DEPTH),
        .CHECK_OVERFLOW(1'b1)
    ) desc_fifo (
        .clk,
        .rst,
        .clr(flush[gq]),
        .s_data({d.addr, d.len}),
        .s_valid(good),
        .s_ready(unused_dready),
        .m_data({dh_addr[gq], dh_len[gq]}),
        .m_valid(dh_valid[gq]),
        .m_ready(dh_pop[gq]),
        .count(q_used[gq])
    );

    prim_fifo #(
        .WIDTH(16 + NB_W + 16 + 1 + 16),
        .DEPTH(DEPTH),
        .CHECK_OVERFLOW(1'b1)
    ) frame_fifo (
        .clk,
        .rst,
        .clr(flush[gq]),
        .s_data({16'(fl_new), nb_new, d_idx, sof_vlan, sof_tci}),
        .s_valid(good && d.eof),
        .s_ready(unused_fready),
        .m_data({fh_len[gq], fh_nbufs[gq], fh_idx[gq], fh_vlan_ins[gq], fh_tci[gq]}),
        .m_valid(fh_valid[gq]),
        .m_ready(fh_pop[gq]),
        .count(fcount)
    );
  end

  // ---------------- frame scheduler and read issue ----------------
  logic [TC_W-1:0] txf_used_reg, txf_used_next;  // TX FIFO beats reserved or held
  logic [NB_W-1:0] bufs_left_reg, bufs_left_next;  // buffers of the frame not yet done
  logic loaded_reg, loaded_next;  // the current buffer is in addr/rem, not the FIFO head
  logic [63:0] addr_reg, addr_next;
  logic [15:0] rem_reg, rem_next;

  logic arvalid_reg, arvalid_next;
  logic [ADDR_W-1:0] araddr_reg, araddr_next;  // data: qualified by arvalid_reg, not reset
  logic [7:0] arlen_reg, arlen_next;

  function automatic logic [TC_W-1:0] beats_of(input logic [15:0] len);
    beats_of = TC_W'((17'(len) + 17'(BEAT_BYTES - 1)) >> OFF_W);
  endfunction

  // Requests of the arbiter, a block of their own: the issue logic below depends
  // on its grant, so one block would be a combinational loop through it.
  logic [NUM_QUEUES-1:0] elig;
  always_comb begin
    for (int q = 0; q < NUM_QUEUES; q++) begin
      elig[q] = fh_valid[q] && q_run[q] && (txf_used_reg + beats_of(fh_len[q]) <= TC_W'(TXF_BEATS));
    end
  end

  logic sel_valid;
  logic [QW-1:0] sel_q;
  logic start;
  // Queue 1 first after reset (the order the engine was measured with).
  prim_rr_arb #(
      .N(NUM_QUEUES),
      .FIRST(1 % NUM_QUEUES)
  ) u_rr (
      .clk,
      .rst,
      .req(elig),
      .advance(start),
      .grant_valid(sel_valid),
      .grant_idx(sel_q)
  );

  logic [63:0] eff_addr;
  logic [15:0] eff_rem, bytes;
  logic [12:0] to_4k;
  logic [16:0] span;
  logic buf_done, ar_free, issue, frame_last, done;

  always_comb begin
    // current buffer: the FIFO head until its first burst, then the registers
    eff_addr = loaded_reg ? addr_reg : dh_addr[cur_q_reg];
    eff_rem = loaded_reg ? rem_reg : dh_len[cur_q_reg];
    // a burst ends at the buffer's end or the next 4 KiB boundary (AXI)
    to_4k = 13'd4096 - 13'(eff_addr[11:0]);
    bytes = (17'(eff_rem) < 17'(to_4k)) ? eff_rem : 16'(to_4k);
    span = 17'(eff_addr[OFF_W-1:0]) + 17'(bytes) + 17'(BEAT_BYTES - 1);
    buf_done = (bytes == eff_rem);
    ar_free = !arvalid_reg || m_arready;
    issue = busy_reg && ar_free && trk_ready && (loaded_reg || dh_valid[cur_q_reg]);
    frame_last = buf_done && bufs_left_reg == NB_W'(1);
    done = issue && frame_last;
    // A frame starts while idle, or in the cycle the last burst of the current
    // frame issues (`done`), so one-burst frames go out one per cycle: waiting
    // for idle cost a second cycle per frame (0.45 frames/cycle at 64 B, line
    // rate needs 0.60). The new frame's first burst issues the cycle after.
    start = (!busy_reg || done) && sel_valid && info_ready;

    for (int q = 0; q < NUM_QUEUES; q++) begin
      fh_pop[q] = start && sel_q == QW'(q);
      dh_pop[q] = issue && !loaded_reg && cur_q_reg == QW'(q);
    end

    busy_next = busy_reg;
    cur_q_next = cur_q_reg;
    bufs_left_next = bufs_left_reg;
    loaded_next = loaded_reg;
    addr_next = addr_reg;
    rem_next = rem_reg;
    arvalid_next = arvalid_reg;
    araddr_next = araddr_reg;
    arlen_next = arlen_reg;

    // credit: reserved at a frame's start, returned per beat sent or per frame dropped
    txf_used_next = txf_used_reg + (start ? beats_of(fh_len[sel_q]) : '0) -
        (txf_pop ? TC_W'(1) : '0) - (txf_drop ? beats_of(txf_drop_len) : '0);

    if (issue) begin
      arvalid_next = 1'b1;
      araddr_next  = {eff_addr[ADDR_W-1:OFF_W], OFF_W'(0)};
      arlen_next   = 8'((span >> OFF_W) - 17'd1);
    end else if (m_arready) begin
      arvalid_next = 1'b0;
    end

    // a start in the cycle the last burst issues takes over at once
    if (start) begin
      busy_next      = 1'b1;
      cur_q_next     = sel_q;
      bufs_left_next = fh_nbufs[sel_q];
      loaded_next    = 1'b0;
    end else if (issue) begin
      if (buf_done) begin
        loaded_next    = 1'b0;
        bufs_left_next = bufs_left_reg - 1'b1;
        if (frame_last) busy_next = 1'b0;
      end else begin
        loaded_next = 1'b1;
        addr_next   = eff_addr + 64'(bytes);
        rem_next    = eff_rem - bytes;
      end
    end
  end

  always_ff @(posedge clk) begin
    araddr_reg <= araddr_next;
    arlen_reg  <= arlen_next;
    if (rst) begin
      busy_reg      <= 1'b0;
      cur_q_reg     <= '0;
      bufs_left_reg <= '0;
      loaded_reg    <= 1'b0;
      addr_reg      <= '0;
      rem_reg       <= '0;
      arvalid_reg   <= 1'b0;
      txf_used_reg  <= '0;
    end else begin
      busy_reg      <= busy_next;
      cur_q_reg     <= cur_q_next;
      bufs_left_reg <= bufs_left_next;
      loaded_reg    <= loaded_next;
      addr_reg      <= addr_next;
      rem_reg       <= rem_next;
      arvalid_reg   <= arvalid_next;
      txf_used_reg  <= txf_used_next;
    end
  end

  assign info_valid = start;
  assign info_data = {sel_q, fh_idx[sel_q], fh_len[sel_q], fh_vlan_ins[sel_q], fh_tci[sel_q]};
  assign trk_valid = issue;
  assign trk_data = {
    eff_addr[OFF_W-1:0], OFF_W'(eff_addr[OFF_W-1:0] + OFF_W'(bytes - 16'd1)), frame_last
  };

  assign m_ar = '{id: dma_rd_id(KIND, '0), addr: AXI_ADDR_W'(araddr_reg), len: arlen_reg};
  assign m_arvalid = arvalid_reg;

  // the whole frame was checked before it was scheduled, so its buffers are all here
  `ASSERT_NEVER(desc_missing, busy_reg && !loaded_reg && !dh_valid[cur_q_reg])
  // a burst is at most 4 KiB and does not cross a 4 KiB boundary (AXI)
  `ASSERT_NEVER(burst_too_long, issue && span > 17'(4096 + BEAT_BYTES - 1))
  `ASSERT_NEVER(burst_crosses_4k, issue && 17'(eff_addr[11:0]) + 17'(bytes) > 17'd4096)
  // a frame being issued has a buffer left; the TX FIFO credit never exceeds its
  // depth nor wraps below zero (returns match reservations)
  `ASSERT_NEVER(busy_no_bufs, busy_reg && bufs_left_reg == '0)
  `ASSERT(txf_credit_range, txf_used_reg <= TC_W'(TXF_BEATS))

endmodule

`resetall
