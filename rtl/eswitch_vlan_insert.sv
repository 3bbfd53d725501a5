// Embedded switch: inserts an 802.1Q tag (0x8100 + TCI) after the source MAC of a
// frame when ins is set; otherwise passes the frame through. Combinational data
// path with a 4-byte carry; one extra beat when the frame grows past a beat edge.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module eswitch_vlan_insert
  import axi_pkg::*;
#(
    // Stream data width in bits (multiple of 64, >= 256).
    parameter int DATA_W = 512
) (
    input  wire logic         clk,
    input  wire logic         rst,
    // per-frame control, constant while the frame is in flight
    input  wire logic         ins,
    input  wire logic  [15:0] tci,
    // input stream (first beat holds >= 14 bytes), DATA_W low bits
    input  wire axis_t        s_axis,
    input  wire logic         s_axis_tvalid,
    output logic              s_axis_tready,
    // output stream
    output axis_t             m_axis,
    output logic              m_axis_tvalid,
    input  wire logic         m_axis_tready
);

  localparam int KEEP_W = DATA_W / 8;

  `ASSERT_PARAM(g_check_data_w, DATA_W >= 256 && DATA_W % 64 == 0,
                $sformatf("DATA_W (%0d) must be a multiple of 64, >= 256", DATA_W))

  logic first_reg, first_next;
  logic extra_reg, extra_next;  // the carry alone still has to go out
  logic [31:0] carry_reg, carry_next;
  logic [3:0] carry_keep_reg, carry_keep_next;
  logic [$clog2(KEEP_W+1)-1:0] n_in;

  logic fire, grow;
  logic [DATA_W-1:0] m_tdata;
  logic [KEEP_W-1:0] m_tkeep;
  logic m_tlast;

  // DATA_W low bits of s_axis; m_axis 0 above them
  assign m_axis = '{data: AXI_DATA_W'(m_tdata), keep: AXI_STRB_W'(m_tkeep), last: m_tlast};

  always_comb begin
    n_in = ($clog2(KEEP_W + 1))'($countones(s_axis.keep[KEEP_W-1:0]));
    grow = 32'(n_in) + 4 > KEEP_W;  // last input beat spills into an extra beat
    if (extra_reg) begin
      m_tdata = DATA_W'(carry_reg);
      m_tkeep = KEEP_W'(carry_keep_reg);
      m_tlast = 1'b1;
      m_axis_tvalid = 1'b1;
    end else if (!ins) begin
      m_tdata = s_axis.data[DATA_W-1:0];
      m_tkeep = s_axis.keep[KEEP_W-1:0];
      m_tlast = s_axis.last;
      m_axis_tvalid = s_axis_tvalid;
    end else begin
      if (first_reg) begin
        m_tdata = {s_axis.data[DATA_W-33:96], tci[7:0], tci[15:8], 8'h00, 8'h81, s_axis.data[95:0]};
      end else begin
        m_tdata = {s_axis.data[DATA_W-33:0], carry_reg};
      end
      // output bytes of this beat: 4 carried/inserted + the input's, capped at a beat
      m_tkeep = grow || 32'(n_in) + 4 == KEEP_W ? '1 : ((KEEP_W'(1) << (n_in + 4)) - 1'b1);
      m_tlast = s_axis.last && !grow;
      m_axis_tvalid = s_axis_tvalid;
    end
  end

  assign s_axis_tready = !extra_reg && m_axis_tready;
  assign fire          = s_axis_tvalid && s_axis_tready;

  always_comb begin
    first_next      = first_reg;
    extra_next      = extra_reg;
    carry_next      = carry_reg;
    carry_keep_next = carry_keep_reg;
    if (extra_reg) begin
      if (m_axis_tready) begin
        extra_next = 1'b0;
        first_next = 1'b1;
      end
    end else if (fire) begin
      first_next = s_axis.last;
      if (ins) begin
        carry_next      = s_axis.data[DATA_W-1-:32];
        carry_keep_next = s_axis.keep[KEEP_W-1-:4];
        extra_next      = s_axis.last && grow;
        first_next      = s_axis.last && !grow;
      end
    end
  end

  always_ff @(posedge clk) begin
    carry_reg      <= carry_next;
    carry_keep_reg <= carry_keep_next;
    if (rst) begin
      first_reg <= 1'b1;
      extra_reg <= 1'b0;
    end else begin
      first_reg <= first_next;
      extra_reg <= extra_next;
    end
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst) begin
      assert (!(s_axis_tvalid && first_reg && ins && n_in < 14))
      else $error("%m: first beat < 14 bytes");
    end
  end
`endif

endmodule

`resetall
