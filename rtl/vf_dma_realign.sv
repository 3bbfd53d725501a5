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

module vf_dma_realign #(
    parameter int DATA_W = 512,  // beat width in bits
    localparam int KEEP_W = DATA_W / 8,
    localparam int OFF_W = $clog2(KEEP_W)
) (
    input logic clk,
    input logic rst,

    input  logic [DATA_W-1:0] s_data,
    input  logic [ OFF_W-1:0] s_lo,     // first valid byte of the beat
    input  logic [   OFF_W:0] s_cnt,    // valid bytes, 1..KEEP_W
    input  logic              s_last,   // last beat of the frame
    input  logic              s_err,    // the beat is bad: mark the frame
    input  logic              s_valid,
    output logic              s_ready,

    output logic [DATA_W-1:0] m_data,
    output logic [KEEP_W-1:0] m_keep,
    output logic              m_last,
    output logic              m_err,    // with m_last: some beat of the frame was bad
    output logic              m_valid,
    input  logic              m_ready
);

  initial begin
    if ((1 << OFF_W) != KEEP_W) $fatal(1, "%m: DATA_W/8 must be a power of two");
  end

  logic [DATA_W-1:0] acc_reg;
  logic [ OFF_W-1:0] acc_cnt_reg;  // bytes held, < KEEP_W
  logic              flush_reg;  // emit the held tail as the frame's last beat
  logic              err_reg;

  logic [DATA_W-1:0] out_data_reg;
  logic [KEEP_W-1:0] out_keep_reg;
  logic out_last_reg, out_err_reg, out_valid_reg;

  function automatic logic [KEEP_W-1:0] keep_of(input logic [OFF_W+1:0] n);
    keep_of = (n >= (OFF_W + 2)'(KEEP_W)) ? '1 : ((KEEP_W'(1) << n) - KEEP_W'(1));
  endfunction

  // The low n bytes of a beat set (all of them for n >= KEEP_W): the byte
  // expansion of keep_of(n), as one shift (a loop over the byte lanes cost 64
  // part-select writes of a 512-bit vector per evaluation in simulation).
  function automatic logic [DATA_W-1:0] bytes_mask(input logic [OFF_W+1:0] n);
    bytes_mask = ~({DATA_W{1'b1}} << (32'(n) * 8));
  endfunction

  wire out_free = !out_valid_reg || m_ready;

  logic [DATA_W-1:0]   shifted;
  logic [2*DATA_W-1:0] merged;
  logic [OFF_W+1:0]    total;
  always_comb begin
    shifted = (s_data >> (32'(s_lo) * 8)) & bytes_mask((OFF_W + 2)'(s_cnt));
    merged  = {{DATA_W{1'b0}}, acc_reg} | ({{DATA_W{1'b0}}, shifted} << (32'(acc_cnt_reg) * 8));
    total   = (OFF_W + 2)'(acc_cnt_reg) + (OFF_W + 2)'(s_cnt);
  end

  assign s_ready = out_free && !flush_reg;
  wire take = s_valid && s_ready;
  wire frame_err = err_reg || s_err;

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
      if (m_ready) out_valid_reg <= 1'b0;
      if (flush_reg && out_free) begin
        out_valid_reg <= 1'b1;
        out_data_reg  <= acc_reg;
        out_keep_reg  <= keep_of((OFF_W + 2)'(acc_cnt_reg));
        out_last_reg  <= 1'b1;
        out_err_reg   <= err_reg;
        acc_reg       <= '0;
        acc_cnt_reg   <= '0;
        flush_reg     <= 1'b0;
        err_reg       <= 1'b0;
      end else if (take) begin
        if (total >= (OFF_W + 2)'(KEEP_W)) begin
          out_valid_reg <= 1'b1;
          out_data_reg  <= merged[DATA_W-1:0];
          out_keep_reg  <= '1;
          out_last_reg  <= s_last && (total == (OFF_W + 2)'(KEEP_W));
          out_err_reg   <= frame_err;
          acc_reg       <= merged[2*DATA_W-1:DATA_W];
          acc_cnt_reg   <= OFF_W'(total - (OFF_W + 2)'(KEEP_W));
          flush_reg     <= s_last && (total != (OFF_W + 2)'(KEEP_W));
          err_reg       <= (s_last && total == (OFF_W + 2)'(KEEP_W)) ? 1'b0 : frame_err;
        end else if (s_last) begin
          out_valid_reg <= 1'b1;
          out_data_reg  <= merged[DATA_W-1:0];
          out_keep_reg  <= keep_of(total);
          out_last_reg  <= 1'b1;
          out_err_reg   <= frame_err;
          acc_reg       <= '0;
          acc_cnt_reg   <= '0;
          err_reg       <= 1'b0;
        end else begin
          acc_reg     <= merged[DATA_W-1:0];
          acc_cnt_reg <= OFF_W'(total);
          err_reg     <= frame_err;
        end
      end
    end
  end

  assign m_data  = out_data_reg;
  assign m_keep  = out_keep_reg;
  assign m_last  = out_last_reg;
  assign m_err   = out_err_reg;
  assign m_valid = out_valid_reg;

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst && s_valid) begin
      assert (s_cnt != '0 && s_cnt <= (OFF_W+1)'(KEEP_W)
              && (OFF_W+1)'(s_lo) + s_cnt <= (OFF_W+1)'(KEEP_W))
      else $error("%m: bad input byte range lo=%0d cnt=%0d", s_lo, s_cnt);
    end
  end
`endif

endmodule

`resetall
