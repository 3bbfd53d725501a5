// Embedded switch: synchronous first-word-fall-through FIFO (one push, one pop per cycle).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module eswitch_fifo #(
  // Width of one entry in bits.
  parameter int WIDTH = 8,
  // Number of entries; a power of two, at least 2.
  parameter int DEPTH = 16
) (
  input  wire logic                       clk,
  input  wire logic                       rst,
  // write side: push is ignored when full
  input  wire logic                       push,
  input  wire logic [WIDTH-1:0]           push_data,
  // read side: head is valid while !empty; pop is ignored when empty
  input  wire logic                       pop,
  output      logic [WIDTH-1:0]           head,
  output      logic                       empty,
  output      logic                       full
);

  localparam int PTR_W = $clog2(DEPTH);

  initial begin
    if (DEPTH < 2 || (1 << PTR_W) != DEPTH) begin
      $fatal(1, "%m: DEPTH (%0d) must be a power of two >= 2", DEPTH);
    end
    if (WIDTH < 1) begin
      $fatal(1, "%m: WIDTH (%0d) must be positive", WIDTH);
    end
  end

  logic [WIDTH-1:0] mem [DEPTH];
  logic [PTR_W:0]   wr_ptr_reg, wr_ptr_next;
  logic [PTR_W:0]   rd_ptr_reg, rd_ptr_next;
  logic             do_push, do_pop;

  always_comb begin
    empty       = wr_ptr_reg == rd_ptr_reg;
    full        = (wr_ptr_reg[PTR_W] != rd_ptr_reg[PTR_W]) &&
                  (wr_ptr_reg[PTR_W-1:0] == rd_ptr_reg[PTR_W-1:0]);
    head        = mem[rd_ptr_reg[PTR_W-1:0]];
  end

  always_comb begin
    do_push     = push && !full;
    do_pop      = pop && !empty;
    wr_ptr_next = wr_ptr_reg + (PTR_W+1)'(do_push);
    rd_ptr_next = rd_ptr_reg + (PTR_W+1)'(do_pop);
  end

  always_ff @(posedge clk) begin
    if (do_push) begin
      mem[wr_ptr_reg[PTR_W-1:0]] <= push_data;
    end
    if (rst) begin
      wr_ptr_reg <= '0;
      rd_ptr_reg <= '0;
    end else begin
      wr_ptr_reg <= wr_ptr_next;
      rd_ptr_reg <= rd_ptr_next;
    end
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst) begin
      assert (!(push && full)) else $error("%m: push while full");
      assert (!(pop && empty)) else $error("%m: pop while empty");
    end
  end
`endif

endmodule

`resetall
