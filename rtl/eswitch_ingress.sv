// Embedded switch: one input port. Store-and-forward frame buffer, header parse,
// table lookup and forwarding decision, then a stream of whole frames with their
// destination port mask towards the crossbar.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module eswitch_ingress
  import nic_pkg::*, nic_regs_pkg::*, axi_pkg::*;
#(
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
    parameter int MIN_BYTES = 14,
    // Allowed source MACs, allowed VLANs and multicast list entries per port.
    parameter int NUM_SMAC = 4,
    parameter int NUM_VLAN = 8,
    parameter int NUM_MC = 4
) (
    input  wire logic                                      clk,
    input  wire logic                                      rst,
    // frames from the port (DATA_W low bits)
    input  wire axis_t                                     s_axis,
    input  wire logic  [TX_META_W-1:0]                     s_axis_tuser,
    input  wire logic                                      s_axis_tvalid,
    output logic                                           s_axis_tready,
    // forwarding table lookup (combinational answer)
    output logic       [         47:0]                     lk_mac,
    output logic       [         11:0]                     lk_vid,
    input  wire logic                                      lk_hit,
    input  wire logic  [          7:0]                     lk_port,
    // policy of every port (docs §3.2): PORT_CTRL, PORT_VLAN, effective link/promisc/allmulti
    input  wire logic  [NUM_PORTS-1:0][        31:0]       port_ctrl,
    input  wire logic  [NUM_PORTS-1:0][        31:0]       port_pvlan,
    input  wire logic  [NUM_PORTS-1:0]                     port_link,
    input  wire logic  [NUM_PORTS-1:0]                     port_promisc,
    input  wire logic  [NUM_PORTS-1:0]                     port_allmulti,
    // PORT_MAX_LEN: the largest frame each port sends or receives, an 802.1Q tag not counted
    input  wire logic  [NUM_PORTS-1:0][        15:0]       port_max_len,
    input  wire logic  [NUM_PORTS-1:0][NUM_VLAN-1:0][11:0] port_vlan,
    input  wire logic  [NUM_PORTS-1:0][NUM_VLAN-1:0]       port_vlan_valid,
    input  wire logic  [NUM_PORTS-1:0][  NUM_MC-1:0][47:0] port_mc,
    input  wire logic  [NUM_PORTS-1:0][  NUM_MC-1:0]       port_mc_valid,
    // this port's allowed source MACs and TX rate limit
    input  wire logic  [ NUM_SMAC-1:0][        47:0]       smac,
    input  wire logic  [ NUM_SMAC-1:0]                     smac_valid,
    input  wire logic  [         31:0]                     rate_inc,
    input  wire logic  [         23:0]                     rate_burst,
    input  wire logic                                      rate_load,
    // frames to the crossbar: fwd_req and fwd_mask hold for the whole frame;
    // fwd_tuser is the per-output strip mask
    output logic                                           fwd_req,
    output logic       [NUM_PORTS-1:0]                     fwd_mask,
    output axis_t                                          fwd,
    output logic       [NUM_PORTS-1:0]                     fwd_tuser,
    output logic                                           fwd_tvalid,
    input  wire logic                                      fwd_pop,
    // counter events: one per received frame, with its length and drop reason (0 = forwarded)
    output logic                                           ev_rx,
    output logic       [         15:0]                     ev_len,
    output logic       [          2:0]                     ev_drop
);

  localparam int KEEP_W = DATA_W / 8;
  localparam int UPLINK = NUM_PORTS - 1;
  localparam int MAX_BEATS = (MAX_BYTES + KEEP_W - 1) / KEEP_W;
  localparam int BEAT_W = $clog2(MAX_BEATS + 1);
  localparam int HDR_BYTES = 24;
  localparam int D_W = DATA_W + KEEP_W + 1;
  localparam int I_W = 3 + 2 * NUM_PORTS + 17;  // {drop, strip, mask, ins, tci}

  // drop reasons (same codes in eswitch_counters and docs §3.2)
  localparam logic [2:0] DROP_NONE = 3'd0;
  localparam logic [2:0] DROP_NO_ROUTE = 3'd1;
  localparam logic [2:0] DROP_SPOOF_MAC = 3'd2;
  localparam logic [2:0] DROP_SPOOF_VLAN = 3'd3;
  // longer than the sender's PORT_MAX_LEN, or than a unicast destination's
  localparam logic [2:0] DROP_TOO_BIG = 3'd4;
  localparam logic [2:0] DROP_LINK_DOWN = 3'd5;
  localparam logic [2:0] DROP_BAD_LEN = 3'd6;
  localparam logic [2:0] DROP_VLAN_POLICY = 3'd7;

  // PORT_CTRL bits
  localparam int C_SPOOFCHK = ESW_PORT_CTRL_SPOOFCHK_LSB;
  localparam int C_VLAN_FILTER = ESW_PORT_CTRL_VLAN_FILTER_LSB;
  localparam int C_VLAN_STRIP = ESW_PORT_CTRL_VLAN_STRIP_LSB;
  localparam int C_RX_UCAST = ESW_PORT_CTRL_RX_UCAST_LSB;
  localparam int C_RX_MCAST = ESW_PORT_CTRL_RX_MCAST_LSB;
  localparam int C_RX_BCAST = ESW_PORT_CTRL_RX_BCAST_LSB;
  // PORT_VLAN fields
  localparam int PV_EN = ESW_PORT_VLAN_ENABLE_LSB;
  localparam int PV_VID = ESW_PORT_VLAN_VID_LSB;
  localparam int PV_PCP = ESW_PORT_VLAN_PCP_LSB;

  `ASSERT_PARAM(g_check_tci, ESW_PORT_VLAN_VID_W == 12 && ESW_PORT_VLAN_PCP_W == 3,
                "PORT_VLAN fields of nic_regs_pkg are not an 802.1Q TCI's")
  `ASSERT_PARAM(g_check_data_w, DATA_W >= 256 && DATA_W % 64 == 0,
                $sformatf("DATA_W (%0d) must be a multiple of 64, >= 256", DATA_W))
  `ASSERT_PARAM(g_check_port, NUM_PORTS >= 2 && PORT >= 0 && PORT < NUM_PORTS,
                $sformatf("PORT (%0d) / NUM_PORTS (%0d) out of range", PORT, NUM_PORTS))
  `ASSERT_PARAM(g_check_fifo, FIFO_BEATS >= MAX_BEATS,
                $sformatf("FIFO_BEATS (%0d) < beats of the longest frame (%0d)", FIFO_BEATS,
                          MAX_BEATS))
  `ASSERT_PARAM(g_check_bytes, MAX_BYTES <= 65535 && MIN_BYTES >= 14 && MIN_BYTES <= MAX_BYTES,
                $sformatf("MIN_BYTES/MAX_BYTES (%0d/%0d) out of range", MIN_BYTES, MAX_BYTES))

  // TX shaper bucket in 1/65536 byte, two's complement: down to minus a longest
  // frame (16 + 16 bits) and up to RATE_BURST (24 + 16 bits)
  localparam int TOK_W = 41;
  logic signed [TOK_W-1:0] tokens_reg, tokens_next, tokens_fill, tokens_cap;
  logic rate_on;

  // ---------------------------------------------------------------- write side
  logic first_reg, first_next;
  logic [BEAT_W-1:0] beats_reg, beats_next;
  logic [15:0] len_reg, len_next;
  logic [HDR_BYTES*8-1:0] hdr_reg, hdr_next;
  logic [TX_META_W-1:0] user_reg, user_next;
  logic evt_valid_reg, evt_valid_next;
  logic [HDR_BYTES*8-1:0] evt_hdr_reg, evt_hdr_next;
  logic [TX_META_W-1:0] evt_user_reg, evt_user_next;
  logic [15:0] evt_len_reg, evt_len_next;

  logic d_ready, d_valid, d_push, d_pop;
  logic d_empty, i_empty;  // FIFOs idle (tests/cocotb_eswitch.py waits on them)
  logic [D_W-1:0] d_push_data, d_head;
  logic i_valid, i_pop;
  logic [I_W-1:0] i_push_data, i_head;
  logic beat, stored_last;
  logic [16:0] len_sum;

  always_comb begin
    // The TX shaper holds a frame back at its first beat while the bucket is in
    // debt; once started, a frame is taken whole (registered terms only, so tready
    // never depends on tvalid).
    s_axis_tready  = d_ready && !(rate_on && first_reg && tokens_reg[TOK_W-1]);
    beat           = s_axis_tvalid && s_axis_tready;
    d_push         = beat && (32'(beats_reg) < MAX_BEATS);
    stored_last    = s_axis.last || (32'(beats_reg) == MAX_BEATS - 1);
    d_push_data    = {stored_last, s_axis.keep[KEEP_W-1:0], s_axis.data[DATA_W-1:0]};
    len_sum        = {1'b0, len_reg} + 17'($countones(s_axis.keep[KEEP_W-1:0]));

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
        hdr_next  = s_axis.data[HDR_BYTES*8-1:0];
        user_next = s_axis_tuser;
      end
      if (32'(beats_reg) < MAX_BEATS) begin
        beats_next = beats_reg + 1'b1;
      end
      len_next   = len_sum[16] ? 16'hFFFF : len_sum[15:0];
      first_next = 1'b0;
      if (s_axis.last) begin
        evt_valid_next = 1'b1;
        evt_hdr_next   = first_reg ? s_axis.data[HDR_BYTES*8-1:0] : hdr_reg;
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

  // d_push only with s_axis_tready, which includes d_ready
  logic [$clog2(FIFO_BEATS):0] unused_d_count, unused_i_count;
  prim_fifo #(
      .WIDTH(D_W),
      .DEPTH(FIFO_BEATS),
      .CHECK_OVERFLOW(1'b1)
  ) u_data_fifo (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data(d_push_data),
      .s_valid(d_push),
      .s_ready(d_ready),
      .m_data(d_head),
      .m_valid(d_valid),
      .m_ready(d_pop),
      .count(unused_d_count)
  );

  // ---------------------------------------------------------------- decision (frame end + 1)
  logic [47:0] dmac, smac_f;
  logic [15:0] ethertype, inner_type;
  logic [11:0] vid_f;
  logic is_tagged, bcast, mcast;
  tx_meta_t meta;

  function automatic logic [7:0] hdr_byte(input logic [HDR_BYTES*8-1:0] h, input int b);
    return h[8*b+:8];
  endfunction

  function automatic logic [47:0] hdr_mac(input logic [HDR_BYTES*8-1:0] h, input int b);
    return {h[8*b+:8], h[8*(b+1)+:8], h[8*(b+2)+:8], h[8*(b+3)+:8], h[8*(b+4)+:8], h[8*(b+5)+:8]};
  endfunction

  // frame VLAN after ingress tagging, and the tag to insert
  logic pv_en, ins, tagged_out, vid_ok, smac_ok;
  logic [15:0] body_len;  // the frame's length without its 802.1Q tag, against PORT_MAX_LEN
  logic [11:0] vid;
  logic [15:0] ins_tci;
  logic [ 2:0] pre_drop;

  always_comb begin
    dmac       = hdr_mac(evt_hdr_reg, 0);
    smac_f     = hdr_mac(evt_hdr_reg, 6);
    ethertype  = {hdr_byte(evt_hdr_reg, 12), hdr_byte(evt_hdr_reg, 13)};
    inner_type = {hdr_byte(evt_hdr_reg, 16), hdr_byte(evt_hdr_reg, 17)};
    vid_f      = {evt_hdr_reg[8*14+:4], hdr_byte(evt_hdr_reg, 15)};
    meta       = evt_user_reg;
    is_tagged  = ethertype == 16'h8100;
    bcast      = dmac == 48'hFFFF_FFFF_FFFF;
    mcast      = dmac[40];
    pv_en      = PORT != UPLINK && port_pvlan[PORT][PV_EN];

    smac_ok    = 1'b0;
    for (int k = 0; k < NUM_SMAC; k++) begin
      if (smac_valid[k] && smac[k] == smac_f) smac_ok = 1'b1;
    end

    ins     = 1'b0;
    ins_tci = '0;
    vid     = is_tagged ? vid_f : 12'h000;
    if (pv_en) begin
      ins     = 1'b1;
      ins_tci = {port_pvlan[PORT][PV_PCP+:3], 1'b0, port_pvlan[PORT][PV_VID+:12]};
      vid     = port_pvlan[PORT][PV_VID+:12];
    end else if (PORT != UPLINK && meta.vlan_ins) begin
      ins     = 1'b1;
      ins_tci = meta.vlan_tci;
      vid     = meta.vlan_tci[11:0];
    end
    tagged_out = is_tagged || ins;

    vid_ok = vid == 12'h000;
    for (int k = 0; k < NUM_VLAN; k++) begin
      if (port_vlan_valid[PORT][k] && port_vlan[PORT][k] == vid) vid_ok = 1'b1;
    end

    body_len = evt_len_reg - (is_tagged ? 16'd4 : 16'd0);
    pre_drop = DROP_NONE;
    if (evt_len_reg < 16'(MIN_BYTES) || evt_len_reg > 16'(MAX_BYTES) ||
        (is_tagged && evt_len_reg < 16'(MIN_BYTES + 4))) begin
      pre_drop = DROP_BAD_LEN;
    end else if (body_len > port_max_len[PORT]) begin
      pre_drop = DROP_TOO_BIG;
    end else if (PORT != UPLINK) begin
      if (!port_link[PORT]) begin
        pre_drop = DROP_LINK_DOWN;
      end else if (port_ctrl[PORT][C_SPOOFCHK] && !smac_ok) begin
        pre_drop = DROP_SPOOF_MAC;
      end else if (ethertype == 16'h88A8 ||
                   (pv_en && (is_tagged || meta.vlan_ins)) ||
                   (is_tagged && (meta.vlan_ins || inner_type == 16'h8100 ||
                                  inner_type == 16'h88A8))) begin
        pre_drop = DROP_VLAN_POLICY;
      end else if (!pv_en && port_ctrl[PORT][C_VLAN_FILTER] && !vid_ok) begin
        pre_drop = DROP_SPOOF_VLAN;
      end
    end
    lk_mac = dmac;
    lk_vid = vid;
  end

  // eligibility of every destination port for this frame
  logic [NUM_PORTS-1:0] member, fits, ok, bc_ok, mc_ok, uc_ok, prom_ok, strip;
  logic [NUM_PORTS-1:0] mask;
  logic [          2:0] drop;

  always_comb begin
    for (int q = 0; q < NUM_PORTS; q++) begin
      logic in_list, mc_hit;
      in_list = vid == 12'h000;
      for (int k = 0; k < NUM_VLAN; k++) begin
        if (port_vlan_valid[q][k] && port_vlan[q][k] == vid) in_list = 1'b1;
      end
      mc_hit = 1'b0;
      for (int k = 0; k < NUM_MC; k++) begin
        if (port_mc_valid[q][k] && port_mc[q][k] == dmac) mc_hit = 1'b1;
      end
      fits[q] = body_len <= port_max_len[q];
      if (q == UPLINK) begin
        member[q]  = 1'b1;
        ok[q]      = q != PORT && fits[q];
        bc_ok[q]   = ok[q];
        mc_ok[q]   = ok[q];
        uc_ok[q]   = ok[q];
        prom_ok[q] = 1'b0;
        strip[q]   = 1'b0;
      end else begin
        member[q]  = port_pvlan[q][PV_EN] ? (tagged_out && vid == port_pvlan[q][PV_VID +: 12]) :
                     port_ctrl[q][C_VLAN_FILTER] ? in_list : 1'b1;
        ok[q] = q != PORT && port_link[q] && member[q] && fits[q];
        bc_ok[q] = ok[q] && port_ctrl[q][C_RX_BCAST];
        mc_ok[q]   = ok[q] && (port_allmulti[q] || port_promisc[q] ||
                               (port_ctrl[q][C_RX_MCAST] && mc_hit));
        uc_ok[q] = ok[q] && port_ctrl[q][C_RX_UCAST];
        prom_ok[q] = ok[q] && port_promisc[q];
        strip[q] = tagged_out && (port_pvlan[q][PV_EN] || port_ctrl[q][C_VLAN_STRIP]);
      end
    end

    mask = '0;
    drop = pre_drop;
    if (pre_drop == DROP_NONE) begin
      if (bcast) begin
        mask = bc_ok;
      end else if (mcast) begin
        mask = mc_ok;
      end else if (lk_hit && 32'(lk_port) < NUM_PORTS && 32'(lk_port) != PORT) begin
        if (uc_ok[lk_port[$clog2(NUM_PORTS)-1:0]]) begin
          mask[lk_port[$clog2(NUM_PORTS)-1:0]] = 1'b1;
        end else if (!port_link[lk_port[$clog2(NUM_PORTS)-1:0]]) begin
          drop = DROP_LINK_DOWN;
        end else if (!fits[lk_port[$clog2(NUM_PORTS)-1:0]]) begin
          drop = DROP_TOO_BIG;
        end
      end else if (!lk_hit) begin
        mask = prom_ok;
        if (PORT != UPLINK) begin
          mask[UPLINK] = fits[UPLINK];
        end
      end
      if (mask == '0 && drop == DROP_NONE) begin
        drop = DROP_NO_ROUTE;
      end
    end

    if (drop != DROP_NONE) begin
      mask = '0;
    end

    i_push_data = {drop, strip & mask, mask, ins, ins_tci};
    ev_rx       = evt_valid_reg;
    ev_len      = evt_len_reg;
    ev_drop     = drop;
  end

  // ---------------------------------------------------------------- TX shaper (functions only)
  // Token bucket (docs §3.2): RATE_INC/65536 bytes per cycle, capped at RATE_BURST.
  // Every frame received on the port is charged its length on its last beat; the
  // next frame may start once the bucket is out of debt, so the long-run rate is
  // exactly RATE_INC and nothing is dropped. A RATE_* write fills the bucket.
  always_comb begin
    rate_on     = PORT != UPLINK && rate_inc[31];
    tokens_cap  = TOK_W'({rate_burst, 16'h0000});
    tokens_fill = tokens_reg + TOK_W'({rate_inc[23:0]});
    if (tokens_fill > tokens_cap) begin
      tokens_fill = tokens_cap;
    end
    tokens_next = tokens_fill;
    if (rate_on && beat && s_axis.last) begin
      tokens_next = tokens_fill - TOK_W'({evt_len_next, 16'h0000});
    end
    if (rate_load) begin
      tokens_next = tokens_cap;
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      tokens_reg <= '0;
    end else begin
      tokens_reg <= tokens_next;
    end
  end

  // Every stored frame has at least one beat, so the info FIFO cannot overflow.
  logic unused_i_ready;  // no wait: asserted never full when pushed (CHECK_OVERFLOW)
  prim_fifo #(
      .WIDTH(I_W),
      .DEPTH(FIFO_BEATS),
      .CHECK_OVERFLOW(1'b1)
  ) u_info_fifo (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data(i_push_data),
      .s_valid(evt_valid_reg),
      .s_ready(unused_i_ready),
      .m_data(i_head),
      .m_valid(i_valid),
      .m_ready(i_pop),
      .count(unused_i_count)
  );

  logic unused_ok;
  assign unused_ok = ^{rate_inc[30:24], meta.src_func};

  // ---------------------------------------------------------------- read side
  logic dropping, h_ins, ins_ready, pop_now;
  axis_t d_beat;
  logic [15:0] h_tci;
  logic [2:0] h_drop;
  logic [NUM_PORTS-1:0] h_strip, h_mask;

  always_comb begin
    {h_drop, h_strip, h_mask, h_ins, h_tci} = i_head;
    dropping = i_valid && h_drop != DROP_NONE;
    fwd_req = i_valid && h_drop == DROP_NONE;
    fwd_mask = h_mask;
    fwd_tuser = h_strip;
    d_beat = '{
        data: AXI_DATA_W'(d_head[DATA_W-1:0]),
        keep: AXI_STRB_W'(d_head[DATA_W+:KEEP_W]),
        last: d_head[D_W-1]
    };
  end

  eswitch_vlan_insert #(
      .DATA_W(DATA_W)
  ) u_insert (
      .clk,
      .rst,
      .ins(h_ins),
      .tci(h_tci),
      .s_axis(d_beat),
      .s_axis_tvalid(fwd_req && d_valid),
      .s_axis_tready(ins_ready),
      .m_axis(fwd),
      .m_axis_tvalid(fwd_tvalid),
      .m_axis_tready(fwd_pop)
  );

  always_comb begin
    d_empty = !d_valid;
    i_empty = !i_valid;
    pop_now = fwd_req && d_valid && ins_ready;
    d_pop   = dropping ? d_valid : pop_now;
    i_pop   = dropping ? (d_valid && d_head[D_W-1]) : (fwd_pop && fwd_tvalid && fwd.last);
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst) begin
      assert (!(fwd_pop && !fwd_tvalid))
      else $error("%m: pop without a beat");
      assert (!(fwd_req && fwd_mask == '0))
      else $error("%m: forward with an empty mask");
      assert (!(i_empty && !d_empty && d_pop))
      else $error("%m: data popped without info");
    end
  end
`endif

endmodule

`resetall
