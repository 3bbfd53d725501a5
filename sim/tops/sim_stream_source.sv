// Simulation-only AXI-Stream source: the frames tb/net/hdl_stream.py's
// HdlStreamSource hands to sim/dpi/stream.cpp are driven here beat by beat, so no
// Python runs per beat. Once per rising edge while no beat is held (tvalid low,
// or the beat taken at this edge) the module asks C for the next beat; C keeps
// the frames, the pacing of the outside link (WirePacing) and the position in the
// frame, and follows FastStreamSource's timing: the first beat of a frame queued
// before edge n is driven after edge n, frames follow back to back unless the
// pacing holds the next one. tests/test_hdl_stream.py compares it with
// cocotbext-axi's and FastStreamSource. Not part of rtl/.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module sim_stream_source #(
  parameter int DATA_W  = 512,  // stream width, 8 * 2**k bits
  parameter int CHANNEL = 0,    // the channel number in sim/dpi/stream.cpp
  localparam int KEEP_W = DATA_W / 8
) (
  input  wire logic              clk,
  input  wire logic              rst,  // drops the beat on the wire (the frame stays in C)

  output logic [DATA_W-1:0]      m_tdata,
  output logic [KEEP_W-1:0]      m_tkeep,
  output logic                   m_tlast,
  output logic                   m_tvalid,
  input  wire logic              m_tready,

  // Frames whose last beat was taken, and whether frames are queued or on the
  // wire (as of this edge): Python's wait() sleeps until busy falls, one wake-up.
  output logic [31:0]            frames_done,
  output logic                   busy
);

  import "DPI-C" function int sim_stream_source_step(input int ch, input longint now_ns,
      input int accepted, output bit [DATA_W-1:0] data, output bit [KEEP_W-1:0] keep,
      output int last);
  import "DPI-C" function int sim_stream_source_pending(input int ch);

  // Defined from time 0: Python may queue a frame before the first reset.
  initial begin
    m_tvalid = 1'b0; m_tlast = 1'b0; m_tkeep = '0; m_tdata = '0; frames_done = '0;
    busy = 1'b0;
  end

  always_ff @(posedge clk) begin
    automatic bit [DATA_W-1:0] data;
    automatic bit [KEEP_W-1:0] keep;
    automatic int last, more;
    automatic logic taken;
    if (rst) begin
      m_tvalid    <= 1'b0;
      m_tlast     <= 1'b0;
      frames_done <= '0;
      busy        <= 1'b0;
    end else begin
      taken = m_tvalid && m_tready;
      if (taken && m_tlast) frames_done <= frames_done + 32'd1;
      if (!m_tvalid || taken) begin
        more = sim_stream_source_step(CHANNEL, longint'($time), int'(taken), data, keep, last);
        m_tvalid <= more != 0;
        if (more != 0) begin
          m_tdata <= data;
          m_tkeep <= keep;
          m_tlast <= last != 0;
        end
      end
      busy <= sim_stream_source_pending(CHANNEL) != 0;
    end
  end

endmodule

`resetall
