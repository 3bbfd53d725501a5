// Simulation-only passive AXI-Stream tap: every beat that a stream's own
// handshake accepts (tvalid && tready, both observed, nothing driven) is handed
// to sim/dpi/stream.cpp, which assembles the frame (bytes whose tkeep bit is
// set, as cocotbext-axi's recv() compacts them) and keeps it with the edges of
// its first and last beat until Python takes it. Used for the pcap taps of
// nic_sim_top (tb/env.py, PCAP=1) and, with tready tied high, as the uplink's
// sink (sim_stream_sink). frames_done changes only when Python asked to be woken
// (tb/net/hdl_stream.py). A channel Python has not opened costs one lookup per
// beat in C and nothing in Python. Not part of rtl/.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module sim_stream_tap #(
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
  input  wire logic              s_tready,

  // Changes once per Python wake-up asked for (simstream_sink_notify).
  output logic [31:0]            frames_done
);

  import "DPI-C" function int sim_stream_sink_beat(input int ch, input longint now_ns,
      input bit [DATA_W-1:0] data, input bit [KEEP_W-1:0] keep, input int last);

  initial frames_done = '0;

  always_ff @(posedge clk) begin
    if (rst) begin
      frames_done <= '0;
    end else if (s_tvalid && s_tready) begin
      frames_done <= sim_stream_sink_beat(CHANNEL, longint'($time), s_tdata, s_tkeep,
                                          int'(s_tlast));
    end
  end

endmodule

`resetall
