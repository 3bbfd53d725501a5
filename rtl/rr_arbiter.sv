// Round-robin arbiter: one grant among N requests, priority rotating past the
// last grant so that no requester can be starved. Combinational grant; the
// priority moves only when the granted transfer is accepted (advance), so a
// grant held over backpressure stays with the same requester.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module rr_arbiter #(
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
    output logic                  grant_valid,
    output logic [IDX_W-1:0]      grant_idx
);

  initial begin
    if (FIRST < 0 || FIRST >= N) $fatal(1, "%m: FIRST (%0d) outside 0..N-1", FIRST);
  end

  logic [IDX_W-1:0] last_reg;

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

  always_ff @(posedge clk) begin
    if (rst) begin
      last_reg <= IDX_W'((FIRST + N - 1) % N);
    end else if (advance && grant_valid) begin
      last_reg <= grant_idx;
    end
  end

endmodule

`resetall
