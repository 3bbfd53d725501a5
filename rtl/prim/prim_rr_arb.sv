// prim_rr_arb: round-robin arbiter, one grant among N requests, priority rotating
// past the last grant so that no requester can be starved. The one round-robin
// pick of the RTL. Combinational grant; the priority moves only when the granted
// transfer is accepted (advance), so a grant held over backpressure stays with
// the same requester.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module prim_rr_arb #(
    // Number of requesters.
    parameter int N = 4,
    // Requester with the highest priority after reset.
    parameter int FIRST = 0,
    // Width of the grant index.
    localparam int IDX_W = (N > 1) ? $clog2(N) : 1
) (
    input  wire logic             clk,
    input  wire logic             rst,
    input  wire logic [    N-1:0] req,
    // Advance the priority past the current grant (the granted transfer is accepted).
    input  wire logic             advance,
    output logic                  grant_valid,
    output logic      [IDX_W-1:0] grant_idx
);

  `ASSERT_PARAM(g_check_n, N >= 1, "N must be at least 1")
  `ASSERT_PARAM(g_check_first, FIRST >= 0 && FIRST < N, "FIRST outside 0..N-1")

  logic [IDX_W-1:0] last_reg, last_next;

  // Search from last+1 upward, wrapping; the first requester found wins.
  always_comb begin
    grant_valid = 1'b0;
    grant_idx   = '0;
    for (int k = N; k >= 1; k--) begin
      logic [IDX_W:0] cand;
      cand = {1'b0, last_reg} + (IDX_W + 1)'(k);
      if (cand >= (IDX_W + 1)'(N)) cand = cand - (IDX_W + 1)'(N);
      if (req[cand[IDX_W-1:0]]) begin
        grant_valid = 1'b1;
        grant_idx   = cand[IDX_W-1:0];
      end
    end
  end

  // A block of its own: advance usually depends on the grant.
  always_comb begin
    last_next = (advance && grant_valid) ? grant_idx : last_reg;
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      last_reg <= IDX_W'((FIRST + N - 1) % N);
    end else begin
      last_reg <= last_next;
    end
  end

  // the grant goes to a requester that asks, and some request is always granted
  `ASSERT(grant_requested, grant_valid |-> req[grant_idx])
  `ASSERT(grant_if_req, grant_valid == (req != '0))
  `ASSERT(grant_in_range, 32'(grant_idx) < N)

endmodule

`resetall
