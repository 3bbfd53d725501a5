// Simulation-only top for tests/test_hdl_stream.py: the HDL stream ends of
// nic_sim_top (sim_stream_source, sim_stream_sink) beside the Python models they
// replace, each behind the same full-throughput register slice as
// axis_loop_top's, so both see the same handshakes.
//   a: sim_stream_source (channel 0)  -> slice -> a_m_axis (a cocotbext-axi sink)
//   c: c_s_axis (a Python source)     -> slice -> c_m_axis (a cocotbext-axi sink)
//   b: b_s_axis (a cocotbext source)  -> slice -> sim_stream_sink (channel 1)
//   d: d_s_axis (a cocotbext source)  -> slice -> d_m_axis (FastStreamSink)
// Not part of rtl/.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hdl_stream_pair_top #(
  parameter int DATA_W = 512,
  parameter int SRC_CH = 0,
  parameter int SINK_CH = 1,
  localparam int KEEP_W = DATA_W / 8
) (
  input  wire logic              clk,
  input  wire logic              rst,

  input  wire logic              a_src_rst,
  output logic [31:0]            a_src_frames,
  output logic                   a_src_busy,
  output logic [DATA_W-1:0]      a_m_axis_tdata,
  output logic [KEEP_W-1:0]      a_m_axis_tkeep,
  output logic                   a_m_axis_tlast,
  output logic                   a_m_axis_tvalid,
  input  wire logic              a_m_axis_tready,

  input  wire logic [DATA_W-1:0] c_s_axis_tdata,
  input  wire logic [KEEP_W-1:0] c_s_axis_tkeep,
  input  wire logic              c_s_axis_tlast,
  input  wire logic              c_s_axis_tvalid,
  output logic                   c_s_axis_tready,
  output logic [DATA_W-1:0]      c_m_axis_tdata,
  output logic [KEEP_W-1:0]      c_m_axis_tkeep,
  output logic                   c_m_axis_tlast,
  output logic                   c_m_axis_tvalid,
  input  wire logic              c_m_axis_tready,

  input  wire logic [DATA_W-1:0] b_s_axis_tdata,
  input  wire logic [KEEP_W-1:0] b_s_axis_tkeep,
  input  wire logic              b_s_axis_tlast,
  input  wire logic              b_s_axis_tvalid,
  output logic                   b_s_axis_tready,
  input  wire logic              b_sink_rst,
  output logic [31:0]            b_sink_frames,

  input  wire logic [DATA_W-1:0] d_s_axis_tdata,
  input  wire logic [KEEP_W-1:0] d_s_axis_tkeep,
  input  wire logic              d_s_axis_tlast,
  input  wire logic              d_s_axis_tvalid,
  output logic                   d_s_axis_tready,
  output logic [DATA_W-1:0]      d_m_axis_tdata,
  output logic [KEEP_W-1:0]      d_m_axis_tkeep,
  output logic                   d_m_axis_tlast,
  output logic                   d_m_axis_tvalid,
  input  wire logic              d_m_axis_tready
);

  // a: the HDL source into the slice.
  logic [DATA_W-1:0] a_tdata;
  logic [KEEP_W-1:0] a_tkeep;
  logic              a_tlast, a_tvalid, a_tready;

  sim_stream_source #(.DATA_W(DATA_W), .CHANNEL(SRC_CH)) u_src (
    .clk, .rst(a_src_rst),
    .m_tdata(a_tdata), .m_tkeep(a_tkeep), .m_tlast(a_tlast), .m_tvalid(a_tvalid),
    .m_tready(a_tready), .frames_done(a_src_frames), .busy(a_src_busy)
  );
  axis_loop_stage #(.DATA_W(DATA_W)) u_a (
    .clk, .rst,
    .s_tdata(a_tdata), .s_tkeep(a_tkeep), .s_tlast(a_tlast), .s_tvalid(a_tvalid),
    .s_tready(a_tready),
    .m_tdata(a_m_axis_tdata), .m_tkeep(a_m_axis_tkeep), .m_tlast(a_m_axis_tlast),
    .m_tvalid(a_m_axis_tvalid), .m_tready(a_m_axis_tready)
  );

  // c: the Python reference source through the same slice.
  axis_loop_stage #(.DATA_W(DATA_W)) u_c (
    .clk, .rst,
    .s_tdata(c_s_axis_tdata), .s_tkeep(c_s_axis_tkeep), .s_tlast(c_s_axis_tlast),
    .s_tvalid(c_s_axis_tvalid), .s_tready(c_s_axis_tready),
    .m_tdata(c_m_axis_tdata), .m_tkeep(c_m_axis_tkeep), .m_tlast(c_m_axis_tlast),
    .m_tvalid(c_m_axis_tvalid), .m_tready(c_m_axis_tready)
  );

  // b: the slice into the HDL sink.
  logic [DATA_W-1:0] b_tdata;
  logic [KEEP_W-1:0] b_tkeep;
  logic              b_tlast, b_tvalid, b_tready;

  axis_loop_stage #(.DATA_W(DATA_W)) u_b (
    .clk, .rst,
    .s_tdata(b_s_axis_tdata), .s_tkeep(b_s_axis_tkeep), .s_tlast(b_s_axis_tlast),
    .s_tvalid(b_s_axis_tvalid), .s_tready(b_s_axis_tready),
    .m_tdata(b_tdata), .m_tkeep(b_tkeep), .m_tlast(b_tlast), .m_tvalid(b_tvalid),
    .m_tready(b_tready)
  );
  sim_stream_sink #(.DATA_W(DATA_W), .CHANNEL(SINK_CH)) u_sink (
    .clk, .rst(b_sink_rst),
    .s_tdata(b_tdata), .s_tkeep(b_tkeep), .s_tlast(b_tlast), .s_tvalid(b_tvalid),
    .s_tready(b_tready), .frames_done(b_sink_frames)
  );

  // d: the slice into the Python reference sink.
  axis_loop_stage #(.DATA_W(DATA_W)) u_d (
    .clk, .rst,
    .s_tdata(d_s_axis_tdata), .s_tkeep(d_s_axis_tkeep), .s_tlast(d_s_axis_tlast),
    .s_tvalid(d_s_axis_tvalid), .s_tready(d_s_axis_tready),
    .m_tdata(d_m_axis_tdata), .m_tkeep(d_m_axis_tkeep), .m_tlast(d_m_axis_tlast),
    .m_tvalid(d_m_axis_tvalid), .m_tready(d_m_axis_tready)
  );

endmodule

`resetall
