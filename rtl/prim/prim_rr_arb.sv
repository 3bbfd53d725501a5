// prim_rr_arb: round-robin arbiter, one grant among N requests, priority rotating
// past the last grant so that no requester can be starved. The one round-robin
// pick of the RTL. Combinational grant; the priority moves only when the granted
// transfer is accepted (advance), so a grant held over backpressure stays with
// the same requester.

`resetall
`timescale 1ns / 1ps
`default_nettype none

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
  input  wire logic [N-1:0]     req,
  // Advance the priority past the current grant (the granted transfer is accepted).
  input  wire logic             advance,
  output      logic             grant_valid,
  output      logic [IDX_W-1:0] grant_idx
);

  initial begin
    if (N < 1) $fatal(1, "%m: N (%0d) must be at least 1", N);
    if (FIRST < 0 || FIRST >= N) $fatal(1, "%m: FIRST (%0d) outside 0..N-1", FIRST);
  end

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

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst) begin
      assert (!grant_valid || req[grant_idx]) else $error("%m: grant to a requester not asking");
      assert (grant_valid == (req != '0)) else $error("%m: requests but no grant");
    end
  end
`endif

endmodule

`resetall
