// Simulation-only AXI-Stream sink: every beat accepted is handed to
// sim/dpi/stream.cpp, which assembles the frame (bytes whose tkeep bit is set,
// as cocotbext-axi's recv() compacts them); tb/net/hdl_stream.py's HdlStreamSink
// wakes once per frame on frames_done and takes it. tready is always high: the
// outside network never holds the NIC's uplink back (as NicTb's FastStreamSink
// without a pause generator). tests/test_hdl_stream.py compares it with
// cocotbext-axi's sink. Not part of rtl/.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module sim_stream_sink #(
  parameter int DATA_W  = 512,  // stream width, 8 * 2**k bits
  parameter int CHANNEL = 1,    // the channel number in sim/dpi/stream.cpp
  localparam int KEEP_W = DATA_W / 8
) (
  input  wire logic              clk,
  input  wire logic              rst,  // clears the frame count (C keeps its frames)

  input  wire logic [DATA_W-1:0] s_tdata,
  input  wire logic [KEEP_W-1:0] s_tkeep,
  input  wire logic              s_tlast,
  input  wire logic              s_tvalid,
  output logic                   s_tready,

  // Frames received so far on the channel: one value change per frame.
  output logic [31:0]            frames_done
);

  import "DPI-C" function int sim_stream_sink_beat(input int ch, input longint now_ns,
      input bit [DATA_W-1:0] data, input bit [KEEP_W-1:0] keep, input int last);

  assign s_tready = 1'b1;

  initial frames_done = '0;

  always_ff @(posedge clk) begin
    if (rst) begin
      frames_done <= '0;
    end else if (s_tvalid) begin
      frames_done <= sim_stream_sink_beat(CHANNEL, longint'($time), s_tdata, s_tkeep,
                                          int'(s_tlast));
    end
  end

endmodule

`resetall
