// AXI4-Lite slave to the internal register port: one access at a time,
// function number taken from a*user, fixed one-cycle read latency at the target.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module axil_regs #(
    // Byte address width of the register space.
    parameter int ADDR_W = 20,
    // Width of the function number carried on a*user.
    parameter int USER_W = 8
) (
    input wire logic clk,
    input wire logic rst,

    input  wire logic [ADDR_W-1:0] s_axil_awaddr,
    input  wire logic [USER_W-1:0] s_axil_awuser,
    input  wire logic              s_axil_awvalid,
    output logic                   s_axil_awready,
    input  wire logic [      31:0] s_axil_wdata,
    input  wire logic [       3:0] s_axil_wstrb,
    input  wire logic              s_axil_wvalid,
    output logic                   s_axil_wready,
    output logic      [       1:0] s_axil_bresp,
    output logic                   s_axil_bvalid,
    input  wire logic              s_axil_bready,
    input  wire logic [ADDR_W-1:0] s_axil_araddr,
    input  wire logic [USER_W-1:0] s_axil_aruser,
    input  wire logic              s_axil_arvalid,
    output logic                   s_axil_arready,
    output logic      [      31:0] s_axil_rdata,
    output logic      [       1:0] s_axil_rresp,
    output logic                   s_axil_rvalid,
    input  wire logic              s_axil_rready,

    // Register port towards the decode: strobes last one cycle.
    output logic                   reg_wr,
    output logic                   reg_rd,
    output logic      [ADDR_W-1:0] reg_addr,
    output logic      [USER_W-1:0] reg_func,
    output logic      [      31:0] reg_wdata,
    input  wire logic [      31:0] reg_rdata
);

  typedef enum logic [2:0] {
    S_IDLE,
    S_WRESP,
    S_RWAIT,
    S_RCAPTURE,
    S_RRESP
  } state_e;

  state_e state_reg;

  // Partial-word writes are not supported by any register; a write with a
  // partial strobe is ignored and answered SLVERR so a driver bug is visible.
  logic   full_strobe;
  assign full_strobe = (s_axil_wstrb == 4'hF);

  always_comb begin
    s_axil_awready = (state_reg == S_IDLE) && s_axil_awvalid && s_axil_wvalid;
    s_axil_wready  = s_axil_awready;
    // Writes win a tie; a read waits at most one write.
    s_axil_arready = (state_reg == S_IDLE) && !(s_axil_awvalid && s_axil_wvalid) && s_axil_arvalid;
    s_axil_rresp   = 2'b00;
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      state_reg     <= S_IDLE;
      reg_wr        <= 1'b0;
      reg_rd        <= 1'b0;
      reg_addr      <= '0;
      reg_func      <= '0;
      reg_wdata     <= '0;
      s_axil_bvalid <= 1'b0;
      s_axil_bresp  <= 2'b00;
      s_axil_rvalid <= 1'b0;
      s_axil_rdata  <= '0;
    end else begin
      reg_wr <= 1'b0;
      reg_rd <= 1'b0;
      unique case (state_reg)
        S_IDLE: begin
          if (s_axil_awready) begin
            reg_wr        <= full_strobe;
            reg_addr      <= s_axil_awaddr;
            reg_func      <= s_axil_awuser;
            reg_wdata     <= s_axil_wdata;
            s_axil_bvalid <= 1'b1;
            s_axil_bresp  <= full_strobe ? 2'b00 : 2'b10;
            state_reg     <= S_WRESP;
          end else if (s_axil_arready) begin
            reg_rd    <= 1'b1;
            reg_addr  <= s_axil_araddr;
            reg_func  <= s_axil_aruser;
            state_reg <= S_RWAIT;
          end
        end
        S_WRESP: begin
          if (s_axil_bready) begin
            s_axil_bvalid <= 1'b0;
            state_reg     <= S_IDLE;
          end
        end
        // reg_rd is high in this cycle; the target answers in the next one.
        S_RWAIT: state_reg <= S_RCAPTURE;
        S_RCAPTURE: begin
          s_axil_rdata  <= reg_rdata;
          s_axil_rvalid <= 1'b1;
          state_reg     <= S_RRESP;
        end
        S_RRESP: begin
          if (s_axil_rready) begin
            s_axil_rvalid <= 1'b0;
            state_reg     <= S_IDLE;
          end
        end
        default: state_reg <= S_IDLE;
      endcase
    end
  end

  // ---------------------------------------------------------------- assertions
  // one access at a time: a strobe lasts one cycle, never both kinds at once
  `ASSERT_NEVER(rd_and_wr, reg_wr && reg_rd)
  `ASSERT(wr_one_cycle, reg_wr |=> !reg_wr)
  `ASSERT(rd_one_cycle, reg_rd |=> !reg_rd)
  `ASSERT_NEVER(aw_and_ar, s_axil_awready && s_axil_arready)
  // a response only for an access taken, and every read answered two cycles after its strobe
  `ASSERT(bvalid_in_wresp, s_axil_bvalid == (state_reg == S_WRESP))
  `ASSERT(rvalid_in_rresp, s_axil_rvalid == (state_reg == S_RRESP))
  `ASSERT(rd_answered, $past(reg_rd, 2) |-> s_axil_rvalid)

endmodule

`resetall
