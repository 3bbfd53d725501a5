// Embedded switch: removes the 802.1Q tag (bytes 12..15) of frames marked strip
// and reports its TCI in rx_meta when report is set; other frames pass through.
// One held partial beat realigns the rest of the frame by 4 bytes.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module eswitch_vlan_strip
  import nic_pkg::*, axi_pkg::*;
#(
    // Stream data width in bits (multiple of 64, >= 256).
    parameter int DATA_W = 512
) (
    input  wire logic                  clk,
    input  wire logic                  rst,
    // report the stripped tag in rx_meta (else the strip is invisible: port VLAN)
    input  wire logic                  report,
    // input stream, DATA_W low bits; s_strip is constant over a frame (tagged frames
    // only, >= 18 bytes)
    input  wire axis_t                 s_axis,
    input  wire logic                  s_strip,
    input  wire logic                  s_axis_tvalid,
    output logic                       s_axis_tready,
    // output stream
    output axis_t                      m_axis,
    output logic       [RX_META_W-1:0] m_axis_tuser,
    output logic                       m_axis_tvalid,
    input  wire logic                  m_axis_tready
);

  localparam int KEEP_W = DATA_W / 8;

  `ASSERT_PARAM(g_check_data_w, DATA_W >= 256 && DATA_W % 64 == 0,
                $sformatf("DATA_W (%0d) must be a multiple of 64, >= 256", DATA_W))

  logic first_reg, first_next;
  logic strip_reg, strip_next;  // current frame is being stripped
  logic hold_reg, hold_next;  // a partial beat (W-4 bytes max) is held
  logic hold_last_reg, hold_last_next;
  logic [DATA_W-33:0] hold_data_reg, hold_data_next;
  logic [KEEP_W-5:0] hold_keep_reg, hold_keep_next;
  logic [RX_META_W-1:0] meta_reg, meta_next;
  logic                 strip_now;
  logic [  DATA_W-33:0] first_stripped;
  logic [   KEEP_W-5:0] first_keep;
  logic [RX_META_W-1:0] first_meta;
  logic [          1:0] take_mode;
  logic [   DATA_W-1:0] m_tdata;
  logic [   KEEP_W-1:0] m_tkeep;
  logic                 m_tlast;

  // DATA_W low bits of s_axis; m_axis 0 above them
  assign m_axis = '{data: AXI_DATA_W'(m_tdata), keep: AXI_STRB_W'(m_tkeep), last: m_tlast};

  // take_mode 3: the tail beat goes out and, in the same cycle, the first beat of
  // a following multi-beat strip frame is taken into the hold register, so back to
  // back stripped frames lose no cycle to the 4-byte realignment
  assign s_axis_tready = take_mode == 2'd2 || (take_mode == 2'd0 && m_axis_tready) ||
                    (take_mode == 2'd3 && m_axis_tready && s_strip && !s_axis.last);

  always_comb begin
    strip_now      = first_reg ? s_strip : strip_reg;
    first_stripped = {s_axis.data[DATA_W-1:128], s_axis.data[95:0]};
    first_keep     = {s_axis.keep[KEEP_W-1:16], s_axis.keep[11:0]};
    first_meta     = report ? {s_axis.data[119:112], s_axis.data[127:120], 1'b1} : '0;

    first_next     = first_reg;
    strip_next     = strip_reg;
    hold_next      = hold_reg;
    hold_last_next = hold_last_reg;
    hold_data_next = hold_data_reg;
    hold_keep_next = hold_keep_reg;
    meta_next      = meta_reg;

    m_tdata        = s_axis.data[DATA_W-1:0];
    m_tkeep        = s_axis.keep[KEEP_W-1:0];
    m_tlast        = s_axis.last;
    m_axis_tuser   = '0;
    m_axis_tvalid  = s_axis_tvalid;
    take_mode      = 2'd0;  // s_axis_tready: 0 m_axis_tready, 2 always, 3 tail (above)

    if (!strip_now) begin
      if (s_axis_tvalid && m_axis_tready) begin
        first_next = s_axis.last;
        strip_next = 1'b0;
      end
    end else if (hold_reg && hold_last_reg) begin
      // tail of the frame
      m_tdata = DATA_W'(hold_data_reg);
      m_tkeep = KEEP_W'(hold_keep_reg);
      m_tlast = 1'b1;
      m_axis_tuser = meta_reg;
      m_axis_tvalid = 1'b1;
      take_mode = 2'd3;
      if (m_axis_tready) begin
        hold_next  = 1'b0;
        first_next = 1'b1;
        if (s_axis_tvalid && s_strip && !s_axis.last) begin
          // next frame's first beat, as in the first-beat branch below
          meta_next      = first_meta;
          strip_next     = 1'b1;
          first_next     = 1'b0;
          hold_next      = 1'b1;
          hold_last_next = 1'b0;
          hold_data_next = first_stripped;
          hold_keep_next = first_keep;
        end
      end
    end else if (first_reg) begin
      m_tdata = DATA_W'(first_stripped);
      m_tkeep = KEEP_W'(first_keep);
      m_axis_tuser = first_meta;
      m_axis_tvalid = s_axis_tvalid && s_axis.last;
      take_mode = s_axis.last ? 2'd0 : 2'd2;
      if (s_axis_tvalid && (s_axis.last ? m_axis_tready : 1'b1)) begin
        meta_next  = first_meta;
        strip_next = 1'b1;
        if (!s_axis.last) begin
          first_next     = 1'b0;
          hold_next      = 1'b1;
          hold_last_next = 1'b0;
          hold_data_next = first_stripped;
          hold_keep_next = first_keep;
        end
      end
    end else begin
      // held W-4 bytes + the first 4 bytes of this beat
      m_tdata = {s_axis.data[31:0], hold_data_reg};
      m_tkeep = {s_axis.keep[3:0], hold_keep_reg};
      m_tlast = s_axis.last && s_axis.keep[KEEP_W-1:4] == '0;
      m_axis_tuser = meta_reg;
      m_axis_tvalid = s_axis_tvalid;
      if (s_axis_tvalid && m_axis_tready) begin
        hold_data_next = s_axis.data[DATA_W-1:32];
        hold_keep_next = s_axis.keep[KEEP_W-1:4];
        hold_last_next = s_axis.last;
        hold_next      = !m_tlast;
        if (m_tlast) begin
          first_next = 1'b1;
        end
      end
    end
  end

  always_ff @(posedge clk) begin
    hold_data_reg <= hold_data_next;
    hold_keep_reg <= hold_keep_next;
    meta_reg      <= meta_next;
    hold_last_reg <= hold_last_next;
    strip_reg     <= strip_next;
    if (rst) begin
      first_reg <= 1'b1;
      hold_reg  <= 1'b0;
    end else begin
      first_reg <= first_next;
      hold_reg  <= hold_next;
    end
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst) begin
      assert (!(s_axis_tvalid && (first_reg || (hold_reg && hold_last_reg)) && s_strip &&
                s_axis.data[111:96] != 16'h0081))
      else $error("%m: strip of an untagged frame");
    end
  end
`endif

endmodule

`resetall
