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
    input logic clk,
    input logic rst,

    input  logic [NUM_QUEUES-1:0]            q_en,
    input  logic [NUM_QUEUES-1:0]            q_run,
    output logic [NUM_QUEUES-1:0][CNT_W-1:0] q_used,      // descriptor FIFO occupancy
    output logic [NUM_QUEUES-1:0]            q_err,       // pulse: descriptor error
    output logic [NUM_QUEUES-1:0][      7:0] q_err_code,
    output logic [NUM_QUEUES-1:0]            q_busy,      // a frame of the queue is being issued
    output logic [NUM_QUEUES-1:0][      7:0] q_flushed,   // frames dropped by a disable this cycle

    // normalized descriptors from the fetcher
    input  logic [  63:0] d_addr,
    input  logic [  15:0] d_len,
    input  logic          d_sof,
    input  logic          d_eof,
    input  logic          d_vlan_ins,
    input  logic [  15:0] d_vlan_tci,
    input  logic [   7:0] d_err,       // q_err_e the ring format refused the entry with
    input  logic [QW-1:0] d_q,
    input  logic [  15:0] d_idx,
    input  logic          d_valid,
    output logic          d_ready,

    // buffer reads
    output dma_a_t m_ar,
    output logic   m_arvalid,
    input  logic   m_arready,

    // per burst: {lo, hi, frame_last} to the read-data side
    output logic [2*OFF_W:0] trk_data,
    output logic             trk_valid,
    input  logic             trk_ready,

    // per frame: {q, eof_idx, len, vlan_ins, vlan_tci}
    output logic [INFO_W-1:0] info_data,
    output logic              info_valid,
    input  logic              info_ready,

    // TX frame FIFO credit returns
    input logic        txf_pop,      // one beat left the FIFO
    input logic        txf_drop,     // a frame was discarded
    input logic [15:0] txf_drop_len  // its length in bytes
);

  localparam int NB_W = $clog2(MAX_BUFS + 1) + 1;
  localparam int TC_W = $clog2(TXF_BEATS) + 2;
  localparam int BEAT_BYTES = DATA_W / 8;

  initial begin
    if (MAX_BUFS > DEPTH) $fatal(1, "%m: MAX_BUFS must fit the descriptor FIFO");
    if (DEPTH > 254) $fatal(1, "%m: DEPTH must be < 255 (abandoned frames counted in 8 bits)");
    if (TXF_BEATS * BEAT_BYTES < 2 * MAX_FRAME_BYTES)
      $fatal(1, "%m: TXF_BEATS too small for two frames");
  end

  assign d_ready = 1'b1;  // FIFO room is guaranteed by the fetcher's credit

  // ---------------- per-queue checker and FIFOs ----------------
  logic [NUM_QUEUES-1:0][63:0] dh_addr;
  logic [NUM_QUEUES-1:0][15:0] dh_len;
  logic [NUM_QUEUES-1:0] dh_valid, dh_pop;
  logic [NUM_QUEUES-1:0][15:0] fh_len, fh_idx, fh_tci;
  logic [NUM_QUEUES-1:0][NB_W-1:0] fh_nbufs;
  logic [NUM_QUEUES-1:0] fh_vlan_ins, fh_valid, fh_pop;
  logic [NUM_QUEUES-1:0] flush;

  logic                  busy_reg;
  logic [        QW-1:0] cur_q_reg;

  for (genvar gq = 0; gq < NUM_QUEUES; gq++) begin : g_q
    logic            in_frame_reg;
    logic [NB_W-1:0] nbufs_reg;
    logic [    15:0] flen_reg;
    logic            vlan_ins_reg;
    logic [    15:0] vlan_tci_reg;

    wire             mine = d_valid && d_q == QW'(gq) && q_run[gq];
    wire  [NB_W-1:0] nb_new = in_frame_reg ? nbufs_reg + 1'b1 : NB_W'(1);
    wire  [    16:0] fl_new = (in_frame_reg ? 17'(flen_reg) : 17'd0) + 17'(d_len);
    logic [     7:0] code;
    always_comb begin
      code = ERR_NONE;
      if (d_err != ERR_NONE) code = d_err;
      else if (d_len == '0) code = ERR_DESC_LEN_ZERO;
      else if (fl_new > 17'(MAX_FRAME_BYTES)) code = ERR_DESC_LEN_MAX;
      else if (nb_new > NB_W'(MAX_BUFS)) code = ERR_TOO_MANY_BUFS;
    end
    wire good = mine && code == ERR_NONE;
    // SOF is implied at a frame start; a SOF flag inside a frame is ignored.
    wire sof_vlan = in_frame_reg ? vlan_ins_reg : d_vlan_ins;
    wire [15:0] sof_tci = in_frame_reg ? vlan_tci_reg : d_vlan_tci;

    logic [CNT_W-1:0] fcount;  // checked frames waiting in this queue's frame FIFO
    assign flush[gq]      = !q_en[gq] && !(busy_reg && cur_q_reg == QW'(gq));
    assign q_err[gq]      = mine && code != ERR_NONE;
    assign q_err_code[gq] = code;
    assign q_busy[gq]     = busy_reg && cur_q_reg == QW'(gq);
    // a disabled queue's checked frames and its partly fetched one are abandoned (counted once:
    // the flush empties them)
    assign q_flushed[gq]  = flush[gq] ? 8'(fcount) + 8'(in_frame_reg) : 8'd0;

    always_ff @(posedge clk) begin
      if (rst || flush[gq]) begin
        in_frame_reg <= 1'b0;
        nbufs_reg    <= '0;
        flen_reg     <= '0;
        vlan_ins_reg <= 1'b0;
        vlan_tci_reg <= '0;
      end else if (good) begin
        in_frame_reg <= !d_eof;
        nbufs_reg    <= nb_new;
        flen_reg     <= 16'(fl_new);
        vlan_ins_reg <= sof_vlan;
        vlan_tci_reg <= sof_tci;
      end
    end

    logic unused_sof;
    assign unused_sof = d_sof;

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
        .s_data({d_addr, d_len}),
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
        .s_valid(good && d_eof),
        .s_ready(unused_fready),
        .m_data({fh_len[gq], fh_nbufs[gq], fh_idx[gq], fh_vlan_ins[gq], fh_tci[gq]}),
        .m_valid(fh_valid[gq]),
        .m_ready(fh_pop[gq]),
        .count(fcount)
    );
  end

  // ---------------- frame scheduler and read issue ----------------
  logic [  TC_W-1:0] txf_used_reg;  // TX FIFO beats reserved or held
  logic [  NB_W-1:0] bufs_left_reg;
  logic              loaded_reg;
  logic [      63:0] addr_reg;
  logic [      15:0] rem_reg;

  logic              arvalid_reg;
  logic [ADDR_W-1:0] araddr_reg;
  logic [       7:0] arlen_reg;

  function automatic logic [TC_W-1:0] beats_of(input logic [15:0] len);
    beats_of = TC_W'((17'(len) + 17'(BEAT_BYTES - 1)) >> OFF_W);
  endfunction

  logic [NUM_QUEUES-1:0] elig;
  always_comb begin
    for (int q = 0; q < NUM_QUEUES; q++) begin
      elig[q] = fh_valid[q] && q_run[q] && (txf_used_reg + beats_of(fh_len[q]) <= TC_W'(TXF_BEATS));
    end
  end

  logic          sel_valid;
  logic [QW-1:0] sel_q;
  logic          start;
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

  // A frame starts while idle, or in the cycle the last burst of the current
  // frame issues (`done`), so one-burst frames go out one per cycle: waiting
  // for idle cost a second cycle per frame (0.45 frames/cycle at 64 B, line
  // rate needs 0.60). The new frame's first burst issues the cycle after.
  logic done;
  assign start = (!busy_reg || done) && sel_valid && info_ready;

  // current buffer: the FIFO head until its first burst, then the registers
  wire [63:0] eff_addr = loaded_reg ? addr_reg : dh_addr[cur_q_reg];
  wire [15:0] eff_rem = loaded_reg ? rem_reg : dh_len[cur_q_reg];
  wire [12:0] to_4k = 13'd4096 - 13'(eff_addr[11:0]);
  wire [15:0] bytes = (17'(eff_rem) < 17'(to_4k)) ? eff_rem : 16'(to_4k);
  wire [16:0] span = 17'(eff_addr[OFF_W-1:0]) + 17'(bytes) + 17'(BEAT_BYTES - 1);
  wire        buf_done = (bytes == eff_rem);
  wire        ar_free = !arvalid_reg || m_arready;
  wire        issue = busy_reg && ar_free && trk_ready && (loaded_reg || dh_valid[cur_q_reg]);
  wire        frame_last = buf_done && bufs_left_reg == NB_W'(1);
  assign done = issue && frame_last;

  always_comb begin
    for (int q = 0; q < NUM_QUEUES; q++) begin
      fh_pop[q] = start && sel_q == QW'(q);
      dh_pop[q] = issue && !loaded_reg && cur_q_reg == QW'(q);
    end
  end

  assign info_valid = start;
  assign info_data = {sel_q, fh_idx[sel_q], fh_len[sel_q], fh_vlan_ins[sel_q], fh_tci[sel_q]};
  assign trk_valid = issue;
  assign trk_data = {
    eff_addr[OFF_W-1:0], OFF_W'(eff_addr[OFF_W-1:0] + OFF_W'(bytes - 16'd1)), frame_last
  };

  always_ff @(posedge clk) begin
    if (issue) begin
      araddr_reg <= {eff_addr[ADDR_W-1:OFF_W], OFF_W'(0)};
      arlen_reg  <= 8'((span >> OFF_W) - 17'd1);
    end
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
      txf_used_reg <= txf_used_reg + (start ? beats_of(
          fh_len[sel_q]
      ) : '0) - (txf_pop ? TC_W'(1) : '0) - (txf_drop ? beats_of(
          txf_drop_len
      ) : '0);
      if (issue) begin
        arvalid_reg <= 1'b1;
      end else if (m_arready) begin
        arvalid_reg <= 1'b0;
      end
      if (start) begin
        busy_reg      <= 1'b1;
        cur_q_reg     <= sel_q;
        bufs_left_reg <= fh_nbufs[sel_q];
        loaded_reg    <= 1'b0;
      end else if (issue) begin
        if (buf_done) begin
          loaded_reg    <= 1'b0;
          bufs_left_reg <= bufs_left_reg - 1'b1;
          if (frame_last) busy_reg <= 1'b0;
        end else begin
          loaded_reg <= 1'b1;
          addr_reg   <= eff_addr + 64'(bytes);
          rem_reg    <= eff_rem - bytes;
        end
      end
    end
  end

  assign m_ar      = '{id: dma_rd_id(KIND, '0), addr: AXI_ADDR_W'(araddr_reg), len: arlen_reg};
  assign m_arvalid = arvalid_reg;

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst) begin
      // the whole frame was checked before it was scheduled, so its buffers are all here
      assert (!(busy_reg && !loaded_reg && !dh_valid[cur_q_reg]))
      else $error("%m: frame descriptor missing");
      assert (!(issue && span > 17'(4096 + BEAT_BYTES - 1)))
      else $error("%m: burst too long");
      assert (!(issue && 17'(eff_addr[11:0]) + 17'(bytes) > 17'd4096))
      else $error("%m: burst crosses 4 KiB");
    end
  end
`endif

endmodule

`resetall
