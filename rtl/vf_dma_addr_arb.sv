// vf_dma_addr_arb: the address channel (AR or AW) shared by NS masters inside one
// vf_dma: round-robin among the requests, one registered request out per cycle.
// vf_dma_rd_arb and vf_dma_wr_arb add the data and response routing around it.
//
// ``hold`` keeps a new request from being taken (the write arbiter's W-order
// queue is full); ``grant``/``grant_idx`` say which master's request was taken
// this cycle.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_addr_arb
  import axi_pkg::*;
#(
    parameter  int NS = 2,                       // masters
    localparam int SW = NS > 1 ? $clog2(NS) : 1
) (
    input wire logic clk,
    input wire logic rst,

    input  wire dma_a_t [NS-1:0] s_a,
    input  wire logic   [NS-1:0] s_valid,
    output logic        [NS-1:0] s_ready,

    input wire logic hold,

    output dma_a_t    m_a,
    output logic      m_valid,
    input  wire logic m_ready,

    output logic          grant,
    output logic [SW-1:0] grant_idx
);

  logic valid_reg, valid_next;
  dma_a_t a_reg, a_next;
  logic sel_valid;

  // Master 1 first after reset (the order the engine was measured with).
  prim_rr_arb #(
      .N(NS),
      .FIRST(1 % NS)
  ) u_rr (
      .clk,
      .rst,
      .req(s_valid),
      .advance(grant),
      .grant_valid(sel_valid),
      .grant_idx
  );

  always_comb begin
    grant      = sel_valid && !hold && (!valid_reg || m_ready);
    a_next     = grant ? s_a[grant_idx] : a_reg;
    valid_next = grant || (valid_reg && !m_ready);
    for (int i = 0; i < NS; i++) s_ready[i] = grant && grant_idx == SW'(i);
  end

  always_ff @(posedge clk) begin
    a_reg <= a_next;
    if (rst) begin
      valid_reg <= 1'b0;
    end else begin
      valid_reg <= valid_next;
    end
  end

  assign m_a     = a_reg;
  assign m_valid = valid_reg;

  // one request taken per cycle, only from a master that offers one, never while held
  `ASSERT_ONEHOT0(ready_onehot, s_ready)
  `ASSERT(ready_only_valid, (s_ready & ~s_valid) == '0)
  `ASSERT_NEVER(grant_while_hold, grant && hold)
  `ASSERT(grant_is_ready, grant == (s_ready != '0))

endmodule

`resetall
