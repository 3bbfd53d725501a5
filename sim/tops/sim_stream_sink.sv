// Simulation-only AXI-Stream sink: a sim_stream_tap whose tready is always high,
// the end of the NIC's uplink in nic_sim_top (the outside network never holds
// the NIC back, as NicTb's FastStreamSink without a pause generator).
// tb/net/hdl_stream.py's HdlStreamSink takes the frames; tests/test_hdl_stream.py
// compares it with FastStreamSink. Not part of rtl/.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module sim_stream_sink #(
  parameter int DATA_W  = 512,  // stream width, 8 * 2**k bits
  parameter int CHANNEL = 1,    // the channel number in sim/dpi/stream.cpp
  localparam int KEEP_W = DATA_W / 8
) (
  input  wire logic              clk,
  input  wire logic              rst,  // clears frames_done (C keeps its frames)

  input  wire logic [DATA_W-1:0] s_tdata,
  input  wire logic [KEEP_W-1:0] s_tkeep,
  input  wire logic              s_tlast,
  input  wire logic              s_tvalid,
  output logic                   s_tready,

  // Changes once per Python wake-up asked for (HdlStreamSink.wait()).
  output logic [31:0]            frames_done
);

  assign s_tready = 1'b1;

  sim_stream_tap #(.DATA_W(DATA_W), .CHANNEL(CHANNEL)) u_tap (
    .clk, .rst,
    .s_tdata, .s_tkeep, .s_tlast, .s_tvalid, .s_tready(1'b1),
    .frames_done
  );

endmodule

`resetall
