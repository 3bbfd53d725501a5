// vf_dma_fifo: synchronous first-word-fall-through FIFO with flush and fill count.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vf_dma_fifo #(
  parameter int WIDTH = 8,   // entry width in bits
  parameter int DEPTH = 16,  // entries, a power of two >= 2
  localparam int CNT_W = $clog2(DEPTH) + 1
) (
  input  logic             clk,
  input  logic             rst,
  input  logic             clr,      // synchronous flush (drops every entry)

  input  logic [WIDTH-1:0] s_data,
  input  logic             s_valid,
  output logic             s_ready,  // not full

  output logic [WIDTH-1:0] m_data,   // head entry, valid while m_valid
  output logic             m_valid,
  input  logic             m_ready,

  output logic [CNT_W-1:0] count     // entries held
);

  localparam int PTR_W = $clog2(DEPTH);

  initial begin
    if (DEPTH < 2 || (1 << PTR_W) != DEPTH) begin
      $fatal(1, "%m: DEPTH (%0d) must be a power of two >= 2", DEPTH);
    end
  end

  logic [WIDTH-1:0] mem [DEPTH];
  logic [PTR_W:0]   wr_ptr_reg, rd_ptr_reg;

  wire push = s_valid && s_ready;
  wire pop  = m_valid && m_ready;

  assign count   = wr_ptr_reg - rd_ptr_reg;
  assign s_ready = (count != CNT_W'(DEPTH));
  assign m_valid = (wr_ptr_reg != rd_ptr_reg);
  assign m_data  = mem[rd_ptr_reg[PTR_W-1:0]];

  always_ff @(posedge clk) begin
    if (push) begin
      mem[wr_ptr_reg[PTR_W-1:0]] <= s_data;
    end
    if (rst || clr) begin
      wr_ptr_reg <= '0;
      rd_ptr_reg <= '0;
    end else begin
      if (push) wr_ptr_reg <= wr_ptr_reg + 1'b1;
      if (pop)  rd_ptr_reg <= rd_ptr_reg + 1'b1;
    end
  end

`ifndef SYNTHESIS
  // The pointers never drift apart by more than DEPTH.
  always_ff @(posedge clk) begin
    if (!rst && !clr) begin
      assert (count <= CNT_W'(DEPTH)) else $error("%m: count overflow");
    end
  end
`endif

endmodule

`resetall
