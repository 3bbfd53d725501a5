// Embedded switch: exact-match (destination MAC, VLAN id) forwarding table with one
// lookup port per switch input and a word-wide register port.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module eswitch_mac_table
  import nic_regs_pkg::*;
#(
    // Number of entries (1..256); the lowest matching index wins.
    parameter int SIZE = 64,
    // Number of independent lookup ports (one per switch input).
    parameter int NUM_LOOKUP = 4
) (
    input  wire logic                        clk,
    input  wire logic                        rst,
    // register port: word w of entry idx (0 MACT_LO, 1 MACT_HI, 2 MACT_VLAN, 3 MACT_CTRL)
    input  wire logic                        wr_en,
    input  wire logic [           7:0]       wr_idx,
    input  wire logic [           1:0]       wr_word,
    input  wire logic [          31:0]       wr_data,
    input  wire logic [           7:0]       rd_idx,
    input  wire logic [           1:0]       rd_word,
    output logic      [          31:0]       rd_data,
    // lookups (combinational)
    input  wire logic [NUM_LOOKUP-1:0][47:0] lk_mac,
    input  wire logic [NUM_LOOKUP-1:0][11:0] lk_vid,
    output logic      [NUM_LOOKUP-1:0]       lk_hit,
    output logic      [NUM_LOOKUP-1:0][ 7:0] lk_port
);

  // words of an entry (offset bits [3:2])
  localparam logic [1:0] W_LO = ESW_MACT_LO[3:2], W_HI = ESW_MACT_HI[3:2];
  localparam logic [1:0] W_VLAN = ESW_MACT_VLAN[3:2], W_CTRL = ESW_MACT_CTRL[3:2];

  `ASSERT_PARAM(g_check_size, SIZE >= 1 && SIZE <= 256, $sformatf("SIZE (%0d) must be 1..256",
                                                                  SIZE))
  `ASSERT_PARAM(g_check_lookup, NUM_LOOKUP >= 1, $sformatf("NUM_LOOKUP (%0d) must be positive",
                                                           NUM_LOOKUP))

  // Unpacked: the lookups below read every entry every cycle, and an element of
  // an unpacked array is one machine word in simulation, where an entry of a
  // packed 3072-bit vector had to be shifted out of it (docs/SIM_SPEED.md).
  logic [    47:0] mac_reg   [SIZE];
  logic [    11:0] vid_reg   [SIZE];
  logic [     7:0] port_reg  [SIZE];
  logic [SIZE-1:0] valid_reg;
  localparam int IDX_W = (SIZE > 1) ? $clog2(SIZE) : 1;
  logic [IDX_W-1:0] wi, ri;

  assign wi = IDX_W'(wr_idx);
  assign ri = IDX_W'(rd_idx);

  always_ff @(posedge clk) begin
    if (wr_en && 32'(wr_idx) < SIZE) begin
      unique case (wr_word)
        W_LO:    mac_reg[wi][31:0] <= wr_data;
        W_HI:    mac_reg[wi][47:32] <= wr_data[15:0];
        W_VLAN:  vid_reg[wi] <= wr_data[11:0];
        default: port_reg[wi] <= wr_data[7:0];
      endcase
    end
    if (rst) begin
      valid_reg <= '0;
    end else if (wr_en && wr_word == W_CTRL && 32'(wr_idx) < SIZE) begin
      valid_reg[wi] <= wr_data[ESW_MACT_CTRL_VALID_LSB];
    end
  end

  always_comb begin
    rd_data = '0;
    if (32'(rd_idx) < SIZE) begin
      unique case (rd_word)
        W_LO: rd_data = mac_reg[ri][31:0];
        W_HI: rd_data = {16'h0, mac_reg[ri][47:32]};
        W_VLAN: rd_data = {20'h0, vid_reg[ri]};
        default: rd_data = {valid_reg[ri], 23'h0, port_reg[ri]};
      endcase
    end
  end

  for (genvar l = 0; l < NUM_LOOKUP; l++) begin : g_lookup
    // {hit, port} of the lowest-numbered matching entry, in one variable so the
    // search runs once per lookup (hit and port apart were two searches).
    logic [8:0] found;

    always_comb begin
      found = '0;
      for (int e = SIZE - 1; e >= 0; e--) begin
        if (valid_reg[e] && mac_reg[e] == lk_mac[l] && vid_reg[e] == lk_vid[l]) begin
          found = {1'b1, port_reg[e]};
        end
      end
    end

    assign lk_hit[l]  = found[8];
    assign lk_port[l] = found[7:0];
  end

endmodule

`resetall
