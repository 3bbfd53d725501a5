// Embedded switch: inserts an 802.1Q tag (0x8100 + TCI) after the source MAC of a
// frame when ins is set; otherwise passes the frame through. Combinational data
// path with a 4-byte carry; one extra beat when the frame grows past a beat edge.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module eswitch_vlan_insert #(
    // Stream data width in bits (multiple of 64, >= 256).
    parameter int DATA_W = 512
) (
    input  wire logic                clk,
    input  wire logic                rst,
    // per-frame control, constant while the frame is in flight
    input  wire logic                ins,
    input  wire logic [        15:0] tci,
    // input stream (first beat holds >= 14 bytes)
    input  wire logic [  DATA_W-1:0] s_tdata,
    input  wire logic [DATA_W/8-1:0] s_tkeep,
    input  wire logic                s_tlast,
    input  wire logic                s_tvalid,
    output logic                     s_tready,
    // output stream
    output logic      [  DATA_W-1:0] m_tdata,
    output logic      [DATA_W/8-1:0] m_tkeep,
    output logic                     m_tlast,
    output logic                     m_tvalid,
    input  wire logic                m_tready
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

  always_comb begin
    n_in = ($clog2(KEEP_W + 1))'($countones(s_tkeep));
    grow = 32'(n_in) + 4 > KEEP_W;  // last input beat spills into an extra beat
    if (extra_reg) begin
      m_tdata  = DATA_W'(carry_reg);
      m_tkeep  = KEEP_W'(carry_keep_reg);
      m_tlast  = 1'b1;
      m_tvalid = 1'b1;
    end else if (!ins) begin
      m_tdata  = s_tdata;
      m_tkeep  = s_tkeep;
      m_tlast  = s_tlast;
      m_tvalid = s_tvalid;
    end else begin
      if (first_reg) begin
        m_tdata = {s_tdata[DATA_W-33:96], tci[7:0], tci[15:8], 8'h00, 8'h81, s_tdata[95:0]};
      end else begin
        m_tdata = {s_tdata[DATA_W-33:0], carry_reg};
      end
      // output bytes of this beat: 4 carried/inserted + the input's, capped at a beat
      m_tkeep  = grow || 32'(n_in) + 4 == KEEP_W ? '1 : ((KEEP_W'(1) << (n_in + 4)) - 1'b1);
      m_tlast  = s_tlast && !grow;
      m_tvalid = s_tvalid;
    end
  end

  assign s_tready = !extra_reg && m_tready;
  assign fire     = s_tvalid && s_tready;

  always_comb begin
    first_next      = first_reg;
    extra_next      = extra_reg;
    carry_next      = carry_reg;
    carry_keep_next = carry_keep_reg;
    if (extra_reg) begin
      if (m_tready) begin
        extra_next = 1'b0;
        first_next = 1'b1;
      end
    end else if (fire) begin
      first_next = s_tlast;
      if (ins) begin
        carry_next      = s_tdata[DATA_W-1-:32];
        carry_keep_next = s_tkeep[KEEP_W-1-:4];
        extra_next      = s_tlast && grow;
        first_next      = s_tlast && !grow;
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
      assert (!(s_tvalid && first_reg && ins && n_in < 14))
      else $error("%m: first beat < 14 bytes");
    end
  end
`endif

endmodule

`resetall
