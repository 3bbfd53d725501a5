// Embedded switch: one input port. Store-and-forward frame buffer, header parse,
// table lookup and forwarding decision, then a stream of whole frames with their
// destination port mask towards the crossbar.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module eswitch_ingress import nic_pkg::*; #(
  // Stream data width in bits (>= 256 so that the first beat holds every header field).
  parameter int DATA_W = 512,
  // Number of switch ports (functions + uplink).
  parameter int NUM_PORTS = 4,
  // Index of this port; NUM_PORTS-1 is the uplink.
  parameter int PORT = 0,
  // Depth of the frame buffer in beats (power of two, >= MAX_BEATS).
  parameter int FIFO_BEATS = 512,
  // Longest frame accepted in bytes; longer frames are dropped as oversize.
  parameter int MAX_BYTES = MAX_FRAME_BYTES,
  // Shortest frame accepted in bytes; shorter frames are dropped as runts.
  parameter int MIN_BYTES = 14
) (
  input  wire logic                  clk,
  input  wire logic                  rst,
  // frames from the port
  input  wire logic [DATA_W-1:0]     s_axis_tdata,
  input  wire logic [DATA_W/8-1:0]   s_axis_tkeep,
  input  wire logic                  s_axis_tlast,
  input  wire logic [TX_META_W-1:0]  s_axis_tuser,
  input  wire logic                  s_axis_tvalid,
  output      logic                  s_axis_tready,
  // forwarding table lookup (combinational answer)
  output      logic [47:0]           lk_mac,
  output      logic [11:0]           lk_vid,
  input  wire logic                  lk_hit,
  input  wire logic [7:0]            lk_port,
  // frames to the crossbar: fwd_req and fwd_mask hold for the whole frame
  output      logic                  fwd_req,
  output      logic [NUM_PORTS-1:0]  fwd_mask,
  output      logic [DATA_W-1:0]     fwd_tdata,
  output      logic [DATA_W/8-1:0]   fwd_tkeep,
  output      logic                  fwd_tlast,
  output      logic [RX_META_W-1:0]  fwd_tuser,
  output      logic                  fwd_tvalid,
  input  wire logic                  fwd_pop,
  // counter events: one per received frame, with its length and drop reason (0 = forwarded)
  output      logic                  ev_rx,
  output      logic [15:0]           ev_len,
  output      logic [2:0]            ev_drop
);

  localparam int KEEP_W    = DATA_W / 8;
  localparam int UPLINK    = NUM_PORTS - 1;
  localparam int MAX_BEATS = (MAX_BYTES + KEEP_W - 1) / KEEP_W;
  localparam int BEAT_W    = $clog2(MAX_BEATS + 1);
  localparam int HDR_BYTES = 24;
  localparam int D_W       = DATA_W + KEEP_W + 1;
  localparam int I_W       = NUM_PORTS + 3;

  // drop reasons (same codes in eswitch_counters and docs §3.2)
  localparam logic [2:0] DROP_NONE     = 3'd0;
  localparam logic [2:0] DROP_NO_ROUTE = 3'd1;
  localparam logic [2:0] DROP_BAD_LEN  = 3'd6;

  initial begin
    if (DATA_W < 256 || DATA_W % 64 != 0) begin
      $fatal(1, "%m: DATA_W (%0d) must be a multiple of 64, >= 256", DATA_W);
    end
    if (NUM_PORTS < 2 || PORT < 0 || PORT >= NUM_PORTS) begin
      $fatal(1, "%m: PORT (%0d) / NUM_PORTS (%0d) out of range", PORT, NUM_PORTS);
    end
    if (FIFO_BEATS < MAX_BEATS) begin
      $fatal(1, "%m: FIFO_BEATS (%0d) < beats of the longest frame (%0d)", FIFO_BEATS, MAX_BEATS);
    end
    if (MAX_BYTES > 65535 || MIN_BYTES < 14 || MIN_BYTES > MAX_BYTES) begin
      $fatal(1, "%m: MIN_BYTES/MAX_BYTES (%0d/%0d) out of range", MIN_BYTES, MAX_BYTES);
    end
  end

  // ---------------------------------------------------------------- write side
  logic                   first_reg, first_next;
  logic [BEAT_W-1:0]      beats_reg, beats_next;
  logic [15:0]            len_reg, len_next;
  logic [HDR_BYTES*8-1:0] hdr_reg, hdr_next;
  logic [TX_META_W-1:0]   user_reg, user_next;
  logic                   evt_valid_reg, evt_valid_next;
  logic [HDR_BYTES*8-1:0] evt_hdr_reg, evt_hdr_next;
  logic [TX_META_W-1:0]   evt_user_reg, evt_user_next;
  logic [15:0]            evt_len_reg, evt_len_next;

  logic              d_full, d_empty, d_push, d_pop;
  logic [D_W-1:0]    d_push_data, d_head;
  logic              i_empty, i_full, i_pop;
  logic [I_W-1:0]    i_push_data, i_head;
  logic              beat, stored_last;
  logic [16:0]       len_sum;

  always_comb begin
    s_axis_tready  = !d_full;
    beat           = s_axis_tvalid && s_axis_tready;
    d_push         = beat && (32'(beats_reg) < MAX_BEATS);
    stored_last    = s_axis_tlast || (32'(beats_reg) == MAX_BEATS - 1);
    d_push_data    = {stored_last, s_axis_tkeep, s_axis_tdata};
    len_sum        = {1'b0, len_reg} + 17'($countones(s_axis_tkeep));

    first_next     = first_reg;
    beats_next     = beats_reg;
    len_next       = len_reg;
    hdr_next       = hdr_reg;
    user_next      = user_reg;
    evt_valid_next = 1'b0;
    evt_hdr_next   = evt_hdr_reg;
    evt_user_next  = evt_user_reg;
    evt_len_next   = evt_len_reg;
    if (beat) begin
      if (first_reg) begin
        hdr_next  = s_axis_tdata[HDR_BYTES*8-1:0];
        user_next = s_axis_tuser;
      end
      if (32'(beats_reg) < MAX_BEATS) begin
        beats_next = beats_reg + 1'b1;
      end
      len_next   = len_sum[16] ? 16'hFFFF : len_sum[15:0];
      first_next = 1'b0;
      if (s_axis_tlast) begin
        evt_valid_next = 1'b1;
        evt_hdr_next   = first_reg ? s_axis_tdata[HDR_BYTES*8-1:0] : hdr_reg;
        evt_user_next  = first_reg ? s_axis_tuser : user_reg;
        evt_len_next   = len_next;
        first_next     = 1'b1;
        beats_next     = '0;
        len_next       = '0;
      end
    end
  end

  always_ff @(posedge clk) begin
    hdr_reg      <= hdr_next;
    user_reg     <= user_next;
    len_reg      <= len_next;
    evt_hdr_reg  <= evt_hdr_next;
    evt_user_reg <= evt_user_next;
    evt_len_reg  <= evt_len_next;
    if (rst) begin
      first_reg     <= 1'b1;
      beats_reg     <= '0;
      evt_valid_reg <= 1'b0;
      len_reg       <= '0;
    end else begin
      first_reg     <= first_next;
      beats_reg     <= beats_next;
      evt_valid_reg <= evt_valid_next;
    end
  end

  eswitch_fifo #(.WIDTH(D_W), .DEPTH(FIFO_BEATS)) u_data_fifo (
    .clk, .rst,
    .push(d_push), .push_data(d_push_data),
    .pop(d_pop), .head(d_head), .empty(d_empty), .full(d_full)
  );

  // ---------------------------------------------------------------- decision (frame end + 1)
  logic [47:0]          dmac;
  logic [15:0]          ethertype;
  logic [11:0]          vid;
  logic                 is_tagged, bcast, mcast;
  logic [NUM_PORTS-1:0] mask;
  logic [2:0]           drop;

  function automatic logic [7:0] hdr_byte(input logic [HDR_BYTES*8-1:0] h, input int b);
    return h[8*b +: 8];
  endfunction

  always_comb begin
    dmac      = {hdr_byte(evt_hdr_reg, 0), hdr_byte(evt_hdr_reg, 1), hdr_byte(evt_hdr_reg, 2),
                 hdr_byte(evt_hdr_reg, 3), hdr_byte(evt_hdr_reg, 4), hdr_byte(evt_hdr_reg, 5)};
    ethertype = {hdr_byte(evt_hdr_reg, 12), hdr_byte(evt_hdr_reg, 13)};
    vid       = {evt_hdr_reg[8*14 +: 4], hdr_byte(evt_hdr_reg, 15)};
    is_tagged    = ethertype == 16'h8100;
    bcast     = dmac == 48'hFFFF_FFFF_FFFF;
    mcast     = dmac[40];
    lk_mac    = dmac;
    lk_vid    = is_tagged ? vid : 12'h000;
  end

  always_comb begin
    mask = '0;
    drop = DROP_NONE;
    if (evt_len_reg < 16'(MIN_BYTES) || evt_len_reg > 16'(MAX_BYTES) ||
        (is_tagged && evt_len_reg < 16'(MIN_BYTES + 4))) begin
      drop = DROP_BAD_LEN;
    end else if (bcast || mcast) begin
      mask = '1;
      mask[PORT] = 1'b0;
    end else if (lk_hit && 32'(lk_port) < NUM_PORTS && 32'(lk_port) != PORT) begin
      mask[lk_port[$clog2(NUM_PORTS)-1:0]] = 1'b1;
    end else if (PORT != UPLINK && !lk_hit) begin
      mask[UPLINK] = 1'b1;
    end else begin
      drop = DROP_NO_ROUTE;
    end
    i_push_data = {drop, mask};
    ev_rx       = evt_valid_reg;
    ev_len      = evt_len_reg;
    ev_drop     = drop;
  end

  // Every stored frame has at least one beat, so the info FIFO cannot overflow.
  eswitch_fifo #(.WIDTH(I_W), .DEPTH(FIFO_BEATS)) u_info_fifo (
    .clk, .rst,
    .push(evt_valid_reg), .push_data(i_push_data),
    .pop(i_pop), .head(i_head), .empty(i_empty), .full(i_full)
  );

  // ---------------------------------------------------------------- read side
  logic dropping;

  always_comb begin
    dropping   = !i_empty && i_head[I_W-1 -: 3] != DROP_NONE;
    fwd_req    = !i_empty && i_head[I_W-1 -: 3] == DROP_NONE;
    fwd_mask   = i_head[NUM_PORTS-1:0];
    fwd_tvalid = fwd_req && !d_empty;
    fwd_tdata  = d_head[DATA_W-1:0];
    fwd_tkeep  = d_head[DATA_W +: KEEP_W];
    fwd_tlast  = d_head[D_W-1];
    fwd_tuser  = '0;
  end

  always_comb begin
    d_pop      = dropping ? !d_empty : (fwd_pop && fwd_tvalid);
    i_pop      = d_pop && !d_empty && d_head[D_W-1];
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst) begin
      assert (!(fwd_pop && !fwd_tvalid)) else $error("%m: pop without a beat");
      assert (!(fwd_req && fwd_mask == '0)) else $error("%m: forward with an empty mask");
      assert (!(i_empty && !d_empty && d_pop)) else $error("%m: data popped without info");
      assert (!(evt_valid_reg && i_full)) else $error("%m: frame info overflow");
    end
  end
`endif

endmodule

`resetall
