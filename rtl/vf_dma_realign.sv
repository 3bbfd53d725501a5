// vf_dma_realign: packs byte ranges of input beats into a dense frame stream.
//
// Each input beat carries the valid byte range [lo, lo+cnt) of its data; the
// ranges of one frame are concatenated and emitted as full beats, the last
// one with a partial tkeep. Used for TX buffers at any byte alignment.
// Throughput: one input beat per cycle, plus one cycle at a frame's end when
// its tail does not fit the last emitted beat. Registered output.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_realign
  import axi_pkg::*;
#(
    parameter int DATA_W = 512,  // beat width in bits
    localparam int KEEP_W = DATA_W / 8,
    localparam int OFF_W = $clog2(KEEP_W)
) (
    input wire logic clk,
    input wire logic rst,

    input  wire logic [DATA_W-1:0] s_data,
    input  wire logic [ OFF_W-1:0] s_lo,     // first valid byte of the beat
    input  wire logic [   OFF_W:0] s_cnt,    // valid bytes, 1..KEEP_W
    input  wire logic              s_last,   // last beat of the frame
    input  wire logic              s_err,    // the beat is bad: mark the frame
    input  wire logic              s_valid,
    output logic                   s_ready,

    output axis_t     m_axis,         // DATA_W low bits
    output logic      m_err,          // with last: some beat of the frame was bad
    output logic      m_axis_tvalid,
    input  wire logic m_axis_tready
);

  `ASSERT_PARAM(g_check_keep_pow2, (1 << OFF_W) == KEEP_W, "DATA_W/8 must be a power of two")

  localparam logic [OFF_W+1:0] FULL = (OFF_W + 2)'(KEEP_W);  // bytes of a whole beat
  localparam logic [OFF_W:0] CNT_FULL = (OFF_W + 1)'(KEEP_W);  // the same, as s_cnt counts

  logic [DATA_W-1:0] acc_reg, acc_next;
  logic [OFF_W-1:0] acc_cnt_reg, acc_cnt_next;  // bytes held, < KEEP_W
  logic flush_reg, flush_next;  // emit the held tail as the frame's last beat
  logic err_reg, err_next;  // some beat of the frame so far was bad

  logic [DATA_W-1:0] out_data_reg, out_data_next;
  logic [KEEP_W-1:0] out_keep_reg, out_keep_next;
  logic out_last_reg, out_last_next;
  logic out_err_reg, out_err_next;
  logic out_valid_reg, out_valid_next;

  function automatic logic [KEEP_W-1:0] keep_of(input logic [OFF_W+1:0] n);
    keep_of = (n >= FULL) ? '1 : ((KEEP_W'(1) << n) - KEEP_W'(1));
  endfunction

  // The low n bytes of a beat set (all of them for n >= KEEP_W): the byte
  // expansion of keep_of(n), as one shift (a loop over the byte lanes cost 64
  // part-select writes of a 512-bit vector per evaluation in simulation).
  function automatic logic [DATA_W-1:0] bytes_mask(input logic [OFF_W+1:0] n);
    bytes_mask = ~({DATA_W{1'b1}} << (32'(n) * 8));
  endfunction

  logic                out_free;
  logic                take;
  logic                frame_err;
  logic [  DATA_W-1:0] shifted;
  logic [2*DATA_W-1:0] merged;  // the held bytes, then the new beat's range after them
  logic [   OFF_W+1:0] total;  // bytes held plus the new beat's

  always_comb begin
    out_free = !out_valid_reg || m_axis_tready;
    // a held tail is flushed before the next frame's first beat is taken
    s_ready = out_free && !flush_reg;
    take = s_valid && s_ready;
    frame_err = err_reg || s_err;
    shifted = (s_data >> (32'(s_lo) * 8)) & bytes_mask((OFF_W + 2)'(s_cnt));
    merged = {{DATA_W{1'b0}}, acc_reg} | ({{DATA_W{1'b0}}, shifted} << (32'(acc_cnt_reg) * 8));
    total = (OFF_W + 2)'(acc_cnt_reg) + (OFF_W + 2)'(s_cnt);

    acc_next = acc_reg;
    acc_cnt_next = acc_cnt_reg;
    flush_next = flush_reg;
    err_next = err_reg;
    out_data_next = out_data_reg;
    out_keep_next = out_keep_reg;
    out_last_next = out_last_reg;
    out_err_next = out_err_reg;
    out_valid_next = out_valid_reg;

    if (m_axis_tready) out_valid_next = 1'b0;
    if (flush_reg && out_free) begin
      out_valid_next = 1'b1;
      out_data_next  = acc_reg;
      out_keep_next  = keep_of((OFF_W + 2)'(acc_cnt_reg));
      out_last_next  = 1'b1;
      out_err_next   = err_reg;
      acc_next       = '0;
      acc_cnt_next   = '0;
      flush_next     = 1'b0;
      err_next       = 1'b0;
    end else if (take) begin
      if (total >= FULL) begin
        // a whole beat out; the rest is held, and flushed next if the frame ends here
        out_valid_next = 1'b1;
        out_data_next  = merged[DATA_W-1:0];
        out_keep_next  = '1;
        out_last_next  = s_last && (total == FULL);
        out_err_next   = frame_err;
        acc_next       = merged[2*DATA_W-1:DATA_W];
        acc_cnt_next   = OFF_W'(total - FULL);
        flush_next     = s_last && (total != FULL);
        err_next       = (s_last && total == FULL) ? 1'b0 : frame_err;
      end else if (s_last) begin
        out_valid_next = 1'b1;
        out_data_next  = merged[DATA_W-1:0];
        out_keep_next  = keep_of(total);
        out_last_next  = 1'b1;
        out_err_next   = frame_err;
        acc_next       = '0;
        acc_cnt_next   = '0;
        err_next       = 1'b0;
      end else begin
        acc_next     = merged[DATA_W-1:0];
        acc_cnt_next = OFF_W'(total);
        err_next     = frame_err;
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      acc_reg       <= '0;
      acc_cnt_reg   <= '0;
      flush_reg     <= 1'b0;
      err_reg       <= 1'b0;
      out_valid_reg <= 1'b0;
      out_data_reg  <= '0;
      out_keep_reg  <= '0;
      out_last_reg  <= 1'b0;
      out_err_reg   <= 1'b0;
    end else begin
      acc_reg       <= acc_next;
      acc_cnt_reg   <= acc_cnt_next;
      flush_reg     <= flush_next;
      err_reg       <= err_next;
      out_valid_reg <= out_valid_next;
      out_data_reg  <= out_data_next;
      out_keep_reg  <= out_keep_next;
      out_last_reg  <= out_last_next;
      out_err_reg   <= out_err_next;
    end
  end

  assign m_axis = '{
          data: AXI_DATA_W'(out_data_reg),
          keep: AXI_STRB_W'(out_keep_reg),
          last: out_last_reg
      };
  assign m_err = out_err_reg;
  assign m_axis_tvalid = out_valid_reg;

  // every input beat carries a byte range inside the beat, at least one byte
  `ASSERT(in_range,
          s_valid |-> s_cnt != '0 && s_cnt <= CNT_FULL && (OFF_W + 1)'(s_lo) + s_cnt <= CNT_FULL)
  // only a frame's last beat is partial
  `ASSERT(partial_only_last, out_valid_reg && out_keep_reg != '1 |-> out_last_reg)
  // a tail waits for flushing only at the end of a frame
  `ASSERT(flush_holds_bytes, flush_reg |-> acc_cnt_reg != '0)
  // an output beat carries at least one byte, from byte 0 on (dense packing)
  `ASSERT(keep_dense,
          out_valid_reg |-> out_keep_reg != '0 && ((out_keep_reg + 1'b1) & out_keep_reg) == '0)

endmodule

`resetall
