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

module vf_dma_addr_arb #(
  parameter int NS     = 2,    // masters
  parameter int ADDR_W = 64,   // AXI address width
  parameter int ID_W   = 4,    // AXI ID width
  localparam int SW = NS > 1 ? $clog2(NS) : 1
) (
  input  wire logic                      clk,
  input  wire logic                      rst,

  input  wire logic [NS-1:0][ID_W-1:0]   s_id,
  input  wire logic [NS-1:0][ADDR_W-1:0] s_addr,
  input  wire logic [NS-1:0][7:0]        s_len,
  input  wire logic [NS-1:0]             s_valid,
  output logic [NS-1:0]                  s_ready,

  input  wire logic                      hold,

  output logic [ID_W-1:0]                m_id,
  output logic [ADDR_W-1:0]              m_addr,
  output logic [7:0]                     m_len,
  output logic                           m_valid,
  input  wire logic                      m_ready,

  output logic                           grant,
  output logic [SW-1:0]                  grant_idx
);

  logic              valid_reg;
  logic [ID_W-1:0]   id_reg;
  logic [ADDR_W-1:0] addr_reg;
  logic [7:0]        len_reg;

  logic sel_valid;

  // Master 1 first after reset (the order the engine was measured with).
  prim_rr_arb #(.N(NS), .FIRST(1 % NS)) u_rr (
    .clk, .rst,
    .req(s_valid), .advance(grant),
    .grant_valid(sel_valid), .grant_idx
  );

  assign grant = sel_valid && !hold && (!valid_reg || m_ready);
  always_comb begin
    for (int i = 0; i < NS; i++) s_ready[i] = grant && grant_idx == SW'(i);
  end

  always_ff @(posedge clk) begin
    if (grant) begin
      id_reg   <= s_id[grant_idx];
      addr_reg <= s_addr[grant_idx];
      len_reg  <= s_len[grant_idx];
    end
    if (rst) begin
      valid_reg <= 1'b0;
    end else if (grant) begin
      valid_reg <= 1'b1;
    end else if (m_ready) begin
      valid_reg <= 1'b0;
    end
  end

  assign m_id    = id_reg;
  assign m_addr  = addr_reg;
  assign m_len   = len_reg;
  assign m_valid = valid_reg;

endmodule

`resetall
