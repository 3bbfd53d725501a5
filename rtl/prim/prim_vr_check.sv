// prim_vr_check: bindable valid/ready protocol checker for one channel (an
// AXI-Stream port, an AXI4 or AXI4-Lite channel, a request stream): once valid
// is raised it stays until ready, the payload does not change while valid waits
// for ready, and valid is never unknown out of reset. Simulation only: bound to
// the ports from sim/tops/nic_binds.sv; has no logic in synthesis.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module prim_vr_check #(
    // Channels checked (a packed array of ports, lane i = element i).
    parameter int N = 1,
    // Payload width of one channel in bits (what must hold while valid waits).
    parameter int W = 1
) (
    input wire logic                clk,
    input wire logic                rst,
    input wire logic [N-1:0]        valid,
    input wire logic [N-1:0]        ready,
    input wire logic [N-1:0][W-1:0] data
);

  `ASSERT_PARAM(g_check_n, N >= 1 && W >= 1, "N and W must be positive")

`ifndef SYNTHESIS
  for (genvar i = 0; i < N; i++) begin : g_lane
    logic         wait_reg;  // valid without ready last cycle
    logic [W-1:0] data_reg;

    always_ff @(posedge clk) begin
      wait_reg <= !rst && valid[i] && !ready[i];
      data_reg <= data[i];
    end

    `ASSERT(valid_held, wait_reg |-> valid[i])
    `ASSERT(data_stable, wait_reg |-> data[i] == data_reg)
  end
  `ASSERT_KNOWN(valid_known, valid)
`else
  logic unused;
  assign unused = ^{clk, rst, valid, ready, data};
`endif

endmodule

`resetall
