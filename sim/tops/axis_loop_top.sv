// Simulation-only top: two independent AXI-Stream channels, each through one
// full-throughput register slice (skid buffer), so tvalid rises after a clock
// edge and backpressure reaches the producer as on the NIC's uplink.
// tests/test_axis_fast.py checks tb/net/axis_fast against cocotbext-axi with it:
// channel a carries the fast source into cocotbext-axi's sink, channel b
// cocotbext-axi's source into the fast sink. Not part of rtl/.

`resetall
`timescale 1ns / 1ps
`default_nettype none

// The register slice lives beside the only top that uses it (a test harness, not
// a reusable part), so this file holds two modules.
/* verilator lint_off DECLFILENAME */
module axis_loop_stage #(
  /* verilator lint_on DECLFILENAME */
  parameter int DATA_W = 512
) (
  input  wire logic                clk,
  input  wire logic                rst,
  input  wire logic [DATA_W-1:0]   s_tdata,
  input  wire logic [DATA_W/8-1:0] s_tkeep,
  input  wire logic                s_tlast,
  input  wire logic                s_tvalid,
  output wire logic                s_tready,
  output wire logic [DATA_W-1:0]   m_tdata,
  output wire logic [DATA_W/8-1:0] m_tkeep,
  output wire logic                m_tlast,
  output wire logic                m_tvalid,
  input  wire logic                m_tready
);
  localparam int W = DATA_W + DATA_W / 8 + 1;

  logic [W-1:0] main_q, skid_q;
  logic         main_v, skid_v;

  assign s_tready = !skid_v;
  assign m_tvalid = main_v;
  assign {m_tlast, m_tkeep, m_tdata} = main_q;

  always_ff @(posedge clk) begin
    if (rst) begin
      main_v <= 1'b0;
      skid_v <= 1'b0;
    end else if (s_tvalid && s_tready) begin
      if (!main_v || m_tready) begin
        main_q <= {s_tlast, s_tkeep, s_tdata};
        main_v <= 1'b1;
      end else begin
        skid_q <= {s_tlast, s_tkeep, s_tdata};
        skid_v <= 1'b1;
      end
    end else if (m_tready) begin
      main_q <= skid_q;
      main_v <= skid_v;
      skid_v <= 1'b0;
    end
  end
endmodule

module axis_loop_top #(
  parameter int DATA_W = 512
) (
  input  wire logic                clk,
  input  wire logic                rst,
  input  wire logic [DATA_W-1:0]   a_s_axis_tdata,
  input  wire logic [DATA_W/8-1:0] a_s_axis_tkeep,
  input  wire logic                a_s_axis_tlast,
  input  wire logic                a_s_axis_tvalid,
  output wire logic                a_s_axis_tready,
  output wire logic [DATA_W-1:0]   a_m_axis_tdata,
  output wire logic [DATA_W/8-1:0] a_m_axis_tkeep,
  output wire logic                a_m_axis_tlast,
  output wire logic                a_m_axis_tvalid,
  input  wire logic                a_m_axis_tready,
  input  wire logic [DATA_W-1:0]   b_s_axis_tdata,
  input  wire logic [DATA_W/8-1:0] b_s_axis_tkeep,
  input  wire logic                b_s_axis_tlast,
  input  wire logic                b_s_axis_tvalid,
  output wire logic                b_s_axis_tready,
  output wire logic [DATA_W-1:0]   b_m_axis_tdata,
  output wire logic [DATA_W/8-1:0] b_m_axis_tkeep,
  output wire logic                b_m_axis_tlast,
  output wire logic                b_m_axis_tvalid,
  input  wire logic                b_m_axis_tready
);
  axis_loop_stage #(.DATA_W(DATA_W)) u_a (
    .clk, .rst,
    .s_tdata(a_s_axis_tdata), .s_tkeep(a_s_axis_tkeep), .s_tlast(a_s_axis_tlast),
    .s_tvalid(a_s_axis_tvalid), .s_tready(a_s_axis_tready),
    .m_tdata(a_m_axis_tdata), .m_tkeep(a_m_axis_tkeep), .m_tlast(a_m_axis_tlast),
    .m_tvalid(a_m_axis_tvalid), .m_tready(a_m_axis_tready)
  );
  axis_loop_stage #(.DATA_W(DATA_W)) u_b (
    .clk, .rst,
    .s_tdata(b_s_axis_tdata), .s_tkeep(b_s_axis_tkeep), .s_tlast(b_s_axis_tlast),
    .s_tvalid(b_s_axis_tvalid), .s_tready(b_s_axis_tready),
    .m_tdata(b_m_axis_tdata), .m_tkeep(b_m_axis_tkeep), .m_tlast(b_m_axis_tlast),
    .m_tvalid(b_m_axis_tvalid), .m_tready(b_m_axis_tready)
  );
endmodule

`resetall
