// vf_dma_frame_fifo: store-and-forward AXI-Stream frame FIFO with per-frame info.
//
// A frame becomes visible at the output only once its last beat is written
// and it was not dropped (s_drop on the last beat, or overflow when
// DROP_WHEN_FULL). Beats leave through a registered output; the frame's
// {user, byte length} is also offered on a separate info port, which can be
// read ahead of the data (one info entry per committed frame).

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_frame_fifo
  import axi_pkg::*;
#(
    parameter int DATA_W = 512,  // beat width in bits
    parameter int USER_W = 1,  // per-frame sideband width
    parameter int DEPTH = 512,  // beats, a power of two
    parameter int MAX_FRAMES = 64,  // committed frames held at most, a power of two
    // 1: s_axis_tready is always 1, frames that do not fit are dropped
    parameter bit DROP_WHEN_FULL = 1'b0,
    localparam int KEEP_W = DATA_W / 8,
    localparam int LEN_W = 16,
    localparam int CNT_W = $clog2(DEPTH) + 1
) (
    input wire logic clk,
    input wire logic rst,

    input wire axis_t s_axis,  // DATA_W low bits
    // sampled on every beat, stored per beat; info takes the last beat's
    input wire logic [USER_W-1:0] s_axis_tuser,
    input wire logic s_drop,  // with the last beat: discard the whole frame
    input wire logic s_axis_tvalid,
    output logic s_axis_tready,
    output logic ovf_drop,  // pulse: a frame was dropped for lack of space (DROP_WHEN_FULL)

    output axis_t                  m_axis,
    output logic      [USER_W-1:0] m_axis_tuser,
    output logic                   m_axis_tvalid,
    input  wire logic              m_axis_tready,

    output logic      [USER_W-1:0] m_info_user,
    output logic      [ LEN_W-1:0] m_info_len,
    output logic                   m_info_valid,
    input  wire logic              m_info_ready,

    // beats stored, committed or not (not counting the output register)
    output logic [CNT_W-1:0] used
);

  localparam int PTR_W = $clog2(DEPTH);
  localparam int BYTE_W = $clog2(KEEP_W) + 1;

  `ASSERT_PARAM(g_check_depth, (1 << PTR_W) == DEPTH && DEPTH >= 2, "DEPTH must be a power of two")
  `ASSERT_PARAM(g_check_len, DEPTH * KEEP_W <= 65535, "DEPTH*KEEP_W must fit the 16-bit length")

  localparam int W = DATA_W + KEEP_W + 1 + USER_W;
  logic [W-1:0] mem[DEPTH];

  logic [PTR_W:0] wr_ptr_reg, wr_ptr_next;
  logic [PTR_W:0] commit_ptr_reg, commit_ptr_next;  // end of the last committed frame
  logic [PTR_W:0] rd_ptr_reg, rd_ptr_next;
  logic dropping_reg, dropping_next;  // overflowed frame: discard until its last beat
  logic [LEN_W-1:0] len_reg, len_next;  // bytes of the frame being written
  logic out_valid_reg, out_valid_next;
  logic [W-1:0] out_reg;  // the RAM's registered read port (no reset: qualified by out_valid)

  logic full, info_ready, wr_beat, ovf_now, store, commit, discard, load;
  logic [BYTE_W-1:0] beat_bytes;
  logic [ LEN_W-1:0] frame_len;
  logic [DATA_W-1:0] out_data;
  logic [KEEP_W-1:0] out_keep;
  logic out_last, s_tlast;

  assign s_tlast = s_axis.last;

  always_comb begin
    // ---- write side ----
    full = (wr_ptr_reg - rd_ptr_reg) == (PTR_W + 1)'(DEPTH);
    s_axis_tready = DROP_WHEN_FULL ? 1'b1 : (!full && (!s_tlast || info_ready));
    wr_beat = s_axis_tvalid && s_axis_tready;
    // Overflow (DROP_WHEN_FULL only): the beat does not fit, or the frame ends with no info slot.
    ovf_now = DROP_WHEN_FULL && wr_beat && (full || (s_tlast && !info_ready));
    store = wr_beat && !dropping_reg && !ovf_now;
    beat_bytes = BYTE_W'($countones(s_axis.keep[KEEP_W-1:0]));
    frame_len = len_reg + LEN_W'(beat_bytes);
    commit = store && s_tlast && !s_drop;
    discard = wr_beat && s_tlast && (dropping_reg || ovf_now || s_drop);
    ovf_drop = wr_beat && s_tlast && (dropping_reg || ovf_now);

    wr_ptr_next = wr_ptr_reg;
    commit_ptr_next = commit_ptr_reg;
    dropping_next = dropping_reg;
    len_next = len_reg;
    if (wr_beat) len_next = s_tlast ? '0 : frame_len;
    // a discarded frame rewinds to the last commit; its beats were never visible
    if (discard) begin
      wr_ptr_next   = commit_ptr_reg;
      dropping_next = 1'b0;
    end else if (commit) begin
      wr_ptr_next     = wr_ptr_reg + 1'b1;
      commit_ptr_next = wr_ptr_reg + 1'b1;
    end else if (store) begin
      wr_ptr_next = wr_ptr_reg + 1'b1;
    end else if (ovf_now) begin
      dropping_next = 1'b1;
    end

    // ---- read side: one registered output beat, loaded from committed beats only ----
    load = (rd_ptr_reg != commit_ptr_reg) && (!out_valid_reg || m_axis_tready);
    rd_ptr_next = rd_ptr_reg;
    out_valid_next = out_valid_reg;
    if (load) begin
      rd_ptr_next    = rd_ptr_reg + 1'b1;
      out_valid_next = 1'b1;
    end else if (m_axis_tready) begin
      out_valid_next = 1'b0;
    end
  end

  logic [$clog2(MAX_FRAMES):0] unused_info_count;
  prim_fifo #(
      .WIDTH(USER_W + LEN_W),
      .DEPTH(MAX_FRAMES)
  ) info_fifo (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data({s_axis_tuser, frame_len}),
      .s_valid(commit),
      .s_ready(info_ready),
      .m_data({m_info_user, m_info_len}),
      .m_valid(m_info_valid),
      .m_ready(m_info_ready),
      .count(unused_info_count)
  );

  always_ff @(posedge clk) begin
    // RAM write port and registered read port, in the form synthesis infers block RAM from
    if (store)
      mem[wr_ptr_reg[PTR_W-1:0]] <= {
        s_axis.data[DATA_W-1:0], s_axis.keep[KEEP_W-1:0], s_tlast, s_axis_tuser
      };
    if (load) out_reg <= mem[rd_ptr_reg[PTR_W-1:0]];
    if (rst) begin
      wr_ptr_reg     <= '0;
      commit_ptr_reg <= '0;
      rd_ptr_reg     <= '0;
      dropping_reg   <= 1'b0;
      len_reg        <= '0;
      out_valid_reg  <= 1'b0;
    end else begin
      wr_ptr_reg     <= wr_ptr_next;
      commit_ptr_reg <= commit_ptr_next;
      rd_ptr_reg     <= rd_ptr_next;
      dropping_reg   <= dropping_next;
      len_reg        <= len_next;
      out_valid_reg  <= out_valid_next;
    end
  end

  assign {out_data, out_keep, out_last, m_axis_tuser} = out_reg;
  assign m_axis = '{data: AXI_DATA_W'(out_data), keep: AXI_STRB_W'(out_keep), last: out_last};
  assign m_axis_tvalid = out_valid_reg;
  assign used = wr_ptr_reg - rd_ptr_reg;

  // s_axis_tready waits for an info slot, and DROP_WHEN_FULL drops instead: a committed
  // frame always finds one
  `ASSERT_NEVER(commit_info_full, commit && !info_ready)
  // the pointers keep their order: read <= commit <= write, never more than DEPTH apart
  `ASSERT(used_in_range, used <= CNT_W'(DEPTH))
  `ASSERT(commit_behind_wr, (wr_ptr_reg - commit_ptr_reg) <= (wr_ptr_reg - rd_ptr_reg))
  // with DROP_WHEN_FULL the sink never waits
  `ASSERT(drop_when_full_ready, !DROP_WHEN_FULL || s_axis_tready)
  // a drop is reported on the last beat of the frame only
  `ASSERT(ovf_drop_on_last, ovf_drop |-> s_tlast && s_axis_tvalid)

endmodule

`resetall
