// vf_dma_ring_ptr: {gen, index} of the next entry of each of N rings.
//
// The index walks the ring one entry per step and wraps at the ring size; gen
// flips at each wrap. A disabled ring holds its start value (the state it
// resumes from, docs/ARCHITECTURE.md §4c), the index taken modulo the size.
// Format B checks a descriptor's ownership against the gen here; the RX
// engine's pointer is the saved "next buffer not yet used".

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vf_dma_ring_ptr #(
    parameter  int N    = 1,  // rings
    localparam int ST_W = 17  // {gen, index[15:0]}
) (
    input  wire logic                   clk,
    input  wire logic                   rst,
    input  wire logic [N-1:0]           en,     // 0: the ring is loaded from start
    input  wire logic [N-1:0][     3:0] size,   // log2 entries
    input  wire logic [N-1:0][ST_W-1:0] start,
    input  wire logic [N-1:0]           step,   // one entry taken
    output logic      [N-1:0][ST_W-1:0] ptr
);

  logic [N-1:0][ST_W-1:0] ptr_reg, ptr_next;

  always_comb begin
    ptr_next = ptr_reg;
    for (int r = 0; r < N; r++) begin
      logic [15:0] mask, nxt;
      mask = (16'd1 << size[r]) - 16'd1;
      nxt  = (ptr_reg[r][15:0] + 16'd1) & mask;
      if (!en[r]) begin
        ptr_next[r] = {start[r][16], start[r][15:0] & mask};
      end else if (step[r]) begin
        ptr_next[r] = {ptr_reg[r][16] ^ (nxt == '0), nxt};
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      ptr_reg <= {N{ST_W'({1'b1, 16'd0})}};
    end else begin
      ptr_reg <= ptr_next;
    end
  end

  assign ptr = ptr_reg;

endmodule

`resetall
