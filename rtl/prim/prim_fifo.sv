// prim_fifo: synchronous first-word-fall-through FIFO, valid/ready on both sides,
// with a synchronous flush and a fill count. The one FIFO of the RTL.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module prim_fifo #(
    // Width of one entry in bits.
    parameter int WIDTH = 8,
    // Number of entries; a power of two, at least 2.
    parameter int DEPTH = 16,
    // 1: the writer does not wait for s_ready (it knows there is room), so a push
    // while full would lose an entry; that is asserted in simulation.
    parameter bit CHECK_OVERFLOW = 1'b0,
    localparam int PTR_W = $clog2(DEPTH),
    localparam int CNT_W = PTR_W + 1
) (
    input wire logic clk,
    input wire logic rst,
    input wire logic clr,  // synchronous flush: drops every entry

    input  wire logic [WIDTH-1:0] s_data,
    input  wire logic             s_valid,
    output logic                  s_ready,  // not full

    output logic      [WIDTH-1:0] m_data,   // head entry, valid while m_valid
    output logic                  m_valid,  // not empty
    input  wire logic             m_ready,

    output logic [CNT_W-1:0] count  // entries held
);

  `ASSERT_PARAM(g_check_depth, DEPTH >= 2 && (1 << PTR_W) == DEPTH,
                "DEPTH must be a power of two >= 2")
  `ASSERT_PARAM(g_check_width, WIDTH >= 1, "WIDTH must be positive")

  logic [WIDTH-1:0] mem[DEPTH];
  logic [PTR_W:0] wr_ptr_reg, wr_ptr_next;
  logic [PTR_W:0] rd_ptr_reg, rd_ptr_next;
  logic push, pop;

  // full: the pointers a whole lap apart (compares, no subtractor: count is
  // built only where it is used)
  always_comb begin
    count = wr_ptr_reg - rd_ptr_reg;
    s_ready     = !(wr_ptr_reg[PTR_W] != rd_ptr_reg[PTR_W] &&
                    wr_ptr_reg[PTR_W-1:0] == rd_ptr_reg[PTR_W-1:0]);
    m_valid = wr_ptr_reg != rd_ptr_reg;
    m_data = mem[rd_ptr_reg[PTR_W-1:0]];
    push = s_valid && s_ready;
    pop = m_valid && m_ready;
    wr_ptr_next = wr_ptr_reg + (PTR_W + 1)'(push);
    rd_ptr_next = rd_ptr_reg + (PTR_W + 1)'(pop);
    if (clr) begin
      wr_ptr_next = '0;
      rd_ptr_next = '0;
    end
  end

  always_ff @(posedge clk) begin
    if (push) begin
      mem[wr_ptr_reg[PTR_W-1:0]] <= s_data;
    end
    if (rst) begin
      wr_ptr_reg <= '0;
      rd_ptr_reg <= '0;
    end else begin
      wr_ptr_reg <= wr_ptr_next;
      rd_ptr_reg <= rd_ptr_next;
    end
  end

  // the pointers never drift apart by more than DEPTH
  `ASSERT(count_in_range, count <= CNT_W'(DEPTH))
  // a writer that ignores s_ready never pushes into a full FIFO
  `ASSERT_NEVER(overflow, CHECK_OVERFLOW && s_valid && !s_ready)
  `ASSERT_KNOWN(valid_known, {s_valid, m_ready})

endmodule

`resetall
