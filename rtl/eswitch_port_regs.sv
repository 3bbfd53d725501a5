// Embedded switch: policy registers of one port (docs §3.2, 0x2000 + 0x80·p):
// control and RX mode, port VLAN, rate limit, largest frame, allowed source MACs,
// allowed VLANs and the multicast list.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module eswitch_port_regs
  import nic_regs_pkg::*;
#(
    // Allowed source MAC entries (anti-spoofing), 1..4.
    parameter int NUM_SMAC = 4,
    // Allowed VLAN entries (VLAN anti-spoofing), 1..8.
    parameter int NUM_VLAN = 8,
    // Multicast list entries, 1..4.
    parameter int NUM_MC = 4,
    // PORT_MAX_LEN after reset: the switch's own limit, so a reset port limits nothing more.
    parameter int MAX_LEN_RESET = 9018
) (
    input  wire logic                      clk,
    input  wire logic                      rst,
    // register port: byte offset inside the port's 0x80 block
    input  wire logic                      wr,
    input  wire logic [         6:0]       addr,
    input  wire logic [        31:0]       wdata,
    output logic      [        31:0]       rdata,
    // read-only status bits shown in PORT_STATUS
    input  wire logic [        31:0]       status,
    // configuration
    output logic      [        31:0]       ctrl,
    output logic      [        31:0]       pvlan,
    output logic      [        31:0]       rate_inc,
    output logic      [        23:0]       rate_burst,
    output logic                           rate_load,   // RATE_* written: refill the bucket
    output logic      [        15:0]       max_len,     // largest frame, tag not counted
    output logic      [NUM_SMAC-1:0][47:0] smac,
    output logic      [NUM_SMAC-1:0]       smac_valid,
    output logic      [NUM_VLAN-1:0][11:0] vlan,
    output logic      [NUM_VLAN-1:0]       vlan_valid,
    output logic      [  NUM_MC-1:0][47:0] mc,
    output logic      [  NUM_MC-1:0]       mc_valid
);

  // reset value of PORT_CTRL: receive unicast, broadcast and all multicast, link auto
  localparam logic [31:0] CTRL_RESET = ESW_PORT_CTRL_RESET;
  // offsets inside the port's block
  localparam logic [6:0] A_CTRL = 7'(ESW_PORT_CTRL), A_PVLAN = 7'(ESW_PORT_VLAN),
                         A_RATE_INC = 7'(ESW_PORT_RATE_INC), A_RATE_BURST = 7'(ESW_PORT_RATE_BURST),
                         A_STATUS = 7'(ESW_PORT_STATUS), A_MAX_LEN = 7'(ESW_PORT_MAX_LEN);
  localparam int SMAC_LO = int'(ESW_PORT_SMAC) + int'(ESW_PORT_SMAC_LO);
  localparam int SMAC_HI = int'(ESW_PORT_SMAC) + int'(ESW_PORT_SMAC_HI);
  localparam int MC_LO = int'(ESW_PORT_MC) + int'(ESW_PORT_MC_LO);
  localparam int MC_HI = int'(ESW_PORT_MC) + int'(ESW_PORT_MC_HI);
  localparam int VLAN_LIST = int'(ESW_PORT_VLAN_LIST);
  // writable bits of PORT_VLAN and RATE_INC (the rest read 0)
  localparam logic [31:0] PVLAN_VID = 32'((1 << ESW_PORT_VLAN_VID_W) - 1) << ESW_PORT_VLAN_VID_LSB;
  localparam logic [31:0] PVLAN_PCP = 32'((1 << ESW_PORT_VLAN_PCP_W) - 1) << ESW_PORT_VLAN_PCP_LSB;
  localparam logic [31:0] PVLAN_MASK = PVLAN_VID | PVLAN_PCP | (32'd1 << ESW_PORT_VLAN_ENABLE_LSB);
  localparam logic [31:0] RATE_INC_BITS = 32'((1 << ESW_PORT_RATE_INC_INC_W) - 1);
  localparam logic [31:0] RATE_INC_MASK = (RATE_INC_BITS << ESW_PORT_RATE_INC_INC_LSB)
      | (32'd1 << ESW_PORT_RATE_INC_ENABLE_LSB);

  localparam bit LISTS_OK = NUM_SMAC >= 1 && NUM_SMAC <= 4 && NUM_VLAN >= 1 && NUM_VLAN <= 8
      && NUM_MC >= 1 && NUM_MC <= 4;
  `ASSERT_PARAM(g_check_lists, LISTS_OK, "list sizes out of range")

  always_ff @(posedge clk) begin
    rate_load <= 1'b0;
    if (wr) begin
      unique casez (addr)
        A_CTRL: ctrl <= wdata & ESW_PORT_CTRL_FIELDS;  // bits no field defines read 0
        A_PVLAN: pvlan <= wdata & PVLAN_MASK;
        A_RATE_INC: begin
          rate_inc  <= wdata & RATE_INC_MASK;
          rate_load <= 1'b1;
        end
        A_RATE_BURST: begin
          rate_burst <= wdata[23:0];
          rate_load  <= 1'b1;
        end
        A_MAX_LEN: max_len <= wdata[15:0];
        default: ;
      endcase
      for (int i = 0; i < NUM_SMAC; i++) begin
        if (addr == 7'(SMAC_LO + ESW_PORT_SMAC_STRIDE * i)) smac[i][31:0] <= wdata;
        if (addr == 7'(SMAC_HI + ESW_PORT_SMAC_STRIDE * i)) begin
          smac[i][47:32] <= wdata[15:0];
          smac_valid[i]  <= wdata[31];
        end
      end
      for (int i = 0; i < NUM_VLAN; i++) begin
        if (addr == 7'(VLAN_LIST + ESW_PORT_VLAN_LIST_STRIDE * i)) begin
          vlan[i]       <= wdata[11:0];
          vlan_valid[i] <= wdata[31];
        end
      end
      for (int i = 0; i < NUM_MC; i++) begin
        if (addr == 7'(MC_LO + ESW_PORT_MC_STRIDE * i)) mc[i][31:0] <= wdata;
        if (addr == 7'(MC_HI + ESW_PORT_MC_STRIDE * i)) begin
          mc[i][47:32] <= wdata[15:0];
          mc_valid[i]  <= wdata[31];
        end
      end
    end
    if (rst) begin
      ctrl       <= CTRL_RESET;
      pvlan      <= '0;
      rate_inc   <= '0;
      rate_burst <= '0;
      rate_load  <= 1'b0;
      max_len    <= 16'(MAX_LEN_RESET);
      smac       <= '0;
      smac_valid <= '0;
      vlan       <= '0;
      vlan_valid <= '0;
      mc         <= '0;
      mc_valid   <= '0;
    end
  end

  always_comb begin
    rdata = '0;
    unique casez (addr)
      A_CTRL: rdata = ctrl;
      A_PVLAN: rdata = pvlan;
      A_RATE_INC: rdata = rate_inc;
      A_RATE_BURST: rdata = {8'h0, rate_burst};
      A_STATUS: rdata = status;
      A_MAX_LEN: rdata = {16'h0, max_len};
      default: ;
    endcase
    for (int i = 0; i < NUM_SMAC; i++) begin
      if (addr == 7'(SMAC_LO + ESW_PORT_SMAC_STRIDE * i)) rdata = smac[i][31:0];
      if (addr == 7'(SMAC_HI + ESW_PORT_SMAC_STRIDE * i))
        rdata = {smac_valid[i], 15'h0, smac[i][47:32]};
    end
    for (int i = 0; i < NUM_VLAN; i++) begin
      if (addr == 7'(VLAN_LIST + ESW_PORT_VLAN_LIST_STRIDE * i))
        rdata = {vlan_valid[i], 19'h0, vlan[i]};
    end
    for (int i = 0; i < NUM_MC; i++) begin
      if (addr == 7'(MC_LO + ESW_PORT_MC_STRIDE * i)) rdata = mc[i][31:0];
      if (addr == 7'(MC_HI + ESW_PORT_MC_STRIDE * i)) rdata = {mc_valid[i], 15'h0, mc[i][47:32]};
    end
  end

endmodule

`resetall
