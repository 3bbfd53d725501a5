// Embedded switch: policy registers of one port (docs §3.2, 0x2000 + 0x80·p):
// control and RX mode, port VLAN, rate limit, largest frame, allowed source MACs,
// allowed VLANs and the multicast list.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module eswitch_port_regs #(
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
  input  wire logic [6:0]                addr,
  input  wire logic [31:0]               wdata,
  output      logic [31:0]               rdata,
  // read-only status bits shown in PORT_STATUS
  input  wire logic [31:0]               status,
  // configuration
  output      logic [31:0]               ctrl,
  output      logic [31:0]               pvlan,
  output      logic [31:0]               rate_inc,
  output      logic [23:0]               rate_burst,
  output      logic                      rate_load,   // RATE_* written: refill the bucket
  output      logic [15:0]               max_len,     // largest frame, tag not counted
  output      logic [NUM_SMAC-1:0][47:0] smac,
  output      logic [NUM_SMAC-1:0]       smac_valid,
  output      logic [NUM_VLAN-1:0][11:0] vlan,
  output      logic [NUM_VLAN-1:0]       vlan_valid,
  output      logic [NUM_MC-1:0][47:0]   mc,
  output      logic [NUM_MC-1:0]         mc_valid
);

  // reset value of PORT_CTRL: receive unicast, broadcast and all multicast, link auto
  localparam logic [31:0] CTRL_RESET = 32'h0000_0D00;

  initial begin
    if (NUM_SMAC < 1 || NUM_SMAC > 4 || NUM_VLAN < 1 || NUM_VLAN > 8 || NUM_MC < 1 || NUM_MC > 4) begin
      $fatal(1, "%m: list sizes out of range");
    end
  end

  always_ff @(posedge clk) begin
    rate_load <= 1'b0;
    if (wr) begin
      unique casez (addr)
        7'h00: ctrl <= wdata;
        7'h04: pvlan <= wdata & 32'h8000_FFFF;
        7'h08: begin rate_inc <= wdata & 32'h80FF_FFFF; rate_load <= 1'b1; end
        7'h0C: begin rate_burst <= wdata[23:0]; rate_load <= 1'b1; end
        7'h14: max_len <= wdata[15:0];
        default: ;
      endcase
      for (int i = 0; i < NUM_SMAC; i++) begin
        if (addr == 7'(32'h20 + 8 * i)) smac[i][31:0] <= wdata;
        if (addr == 7'(32'h24 + 8 * i)) begin
          smac[i][47:32] <= wdata[15:0];
          smac_valid[i]  <= wdata[31];
        end
      end
      for (int i = 0; i < NUM_VLAN; i++) begin
        if (addr == 7'(32'h40 + 4 * i)) begin
          vlan[i]       <= wdata[11:0];
          vlan_valid[i] <= wdata[31];
        end
      end
      for (int i = 0; i < NUM_MC; i++) begin
        if (addr == 7'(32'h60 + 8 * i)) mc[i][31:0] <= wdata;
        if (addr == 7'(32'h64 + 8 * i)) begin
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
      7'h00: rdata = ctrl;
      7'h04: rdata = pvlan;
      7'h08: rdata = rate_inc;
      7'h0C: rdata = {8'h0, rate_burst};
      7'h10: rdata = status;
      7'h14: rdata = {16'h0, max_len};
      default: ;
    endcase
    for (int i = 0; i < NUM_SMAC; i++) begin
      if (addr == 7'(32'h20 + 8 * i)) rdata = smac[i][31:0];
      if (addr == 7'(32'h24 + 8 * i)) rdata = {smac_valid[i], 15'h0, smac[i][47:32]};
    end
    for (int i = 0; i < NUM_VLAN; i++) begin
      if (addr == 7'(32'h40 + 4 * i)) rdata = {vlan_valid[i], 19'h0, vlan[i]};
    end
    for (int i = 0; i < NUM_MC; i++) begin
      if (addr == 7'(32'h60 + 8 * i)) rdata = mc[i][31:0];
      if (addr == 7'(32'h64 + 8 * i)) rdata = {mc_valid[i], 15'h0, mc[i][47:32]};
    end
  end

endmodule

`resetall
