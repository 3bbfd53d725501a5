// Embedded switch (VEB): per-port store-and-forward ingress with table lookup and
// policy, a frame-locked crossbar with replication, per-port counters and the
// switch register window (docs/ARCHITECTURE.md §3.2).

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module eswitch
  import nic_pkg::*, nic_regs_pkg::*, axi_pkg::*;
#(
    // Stream data width in bits (multiple of 64, >= 256).
    parameter int DATA_W = 512,
    // Number of PCIe functions attached (PF + VFs); the uplink is port NUM_FUNC.
    parameter int NUM_FUNC = 3,
    // Entries of the (MAC, VLAN) forwarding table, 1..256.
    parameter int MAC_TABLE_SIZE = 64,
    // Longest frame in bytes; longer frames are dropped (counted as DROP_BAD_LEN).
    parameter int MAX_BYTES = MAX_FRAME_BYTES,
    // Per-input frame buffer in beats; power of two, holds at least one longest frame.
    parameter int FIFO_BEATS = 2 ** $clog2(2 * ((MAX_BYTES + DATA_W / 8 - 1) / (DATA_W / 8))),
    // Per-port list sizes: allowed source MACs (1..4), allowed VLANs (1..8), multicast (1..4).
    parameter int NUM_SMAC = 4,
    parameter int NUM_VLAN = 8,
    parameter int NUM_MC = 4
) (
    input  wire logic                               clk,
    input  wire logic                               rst,
    // register port (docs §1): byte address inside the switch window
    input  wire logic                               reg_wr,
    input  wire logic                               reg_rd,
    input  wire logic [        15:0]                reg_addr,
    input  wire logic [        31:0]                reg_wdata,
    output logic      [        31:0]                reg_rdata,
    // frames from the functions (their TX)
    input  wire logic [NUM_FUNC-1:0][   DATA_W-1:0] s_axis_func_tdata,
    input  wire logic [NUM_FUNC-1:0][ DATA_W/8-1:0] s_axis_func_tkeep,
    input  wire logic [NUM_FUNC-1:0]                s_axis_func_tlast,
    input  wire logic [NUM_FUNC-1:0][TX_META_W-1:0] s_axis_func_tuser,
    input  wire logic [NUM_FUNC-1:0]                s_axis_func_tvalid,
    output logic      [NUM_FUNC-1:0]                s_axis_func_tready,
    // frames to the functions (their RX)
    output logic      [NUM_FUNC-1:0][   DATA_W-1:0] m_axis_func_tdata,
    output logic      [NUM_FUNC-1:0][ DATA_W/8-1:0] m_axis_func_tkeep,
    output logic      [NUM_FUNC-1:0]                m_axis_func_tlast,
    output logic      [NUM_FUNC-1:0][RX_META_W-1:0] m_axis_func_tuser,
    output logic      [NUM_FUNC-1:0]                m_axis_func_tvalid,
    input  wire logic [NUM_FUNC-1:0]                m_axis_func_tready,
    // uplink, from the wire
    input  wire logic [  DATA_W-1:0]                s_axis_uplink_tdata,
    input  wire logic [DATA_W/8-1:0]                s_axis_uplink_tkeep,
    input  wire logic                               s_axis_uplink_tlast,
    input  wire logic                               s_axis_uplink_tvalid,
    output logic                                    s_axis_uplink_tready,
    // uplink, to the wire
    output logic      [  DATA_W-1:0]                m_axis_uplink_tdata,
    output logic      [DATA_W/8-1:0]                m_axis_uplink_tkeep,
    output logic                                    m_axis_uplink_tlast,
    output logic                                    m_axis_uplink_tvalid,
    input  wire logic                               m_axis_uplink_tready
);

  localparam int NUM_PORTS = NUM_FUNC + 1;
  localparam int UPLINK = NUM_FUNC;
  localparam int KEEP_W = DATA_W / 8;

  // identification
  localparam logic [15:0] ESW_BLOCK_ID = ESW_ID_BLOCK_ID_RESET;
  localparam logic [7:0] ESW_VERSION = ESW_ID_VERSION_RESET;
  // regions of the window: the MAC table, the port policy blocks, the counters
  localparam logic [3:0] MACT_PAGE = ESW_MACT[15:12];
  localparam logic [2:0] PORT_PAGE = ESW_PORT[15:13];
  localparam int PORT_SH = $clog2(ESW_PORT_STRIDE);  // policy block: bits [12:7]
  localparam logic [1:0] CNT_PAGE = ESW_CNT[15:14];

  `ASSERT_PARAM(g_check_num_func, NUM_FUNC >= 1 && NUM_FUNC <= 63,
                $sformatf("NUM_FUNC (%0d) must be 1..63 (policy window)", NUM_FUNC))
  `ASSERT_PARAM(g_check_data_w, DATA_W >= 256 && DATA_W % 64 == 0,
                $sformatf("DATA_W (%0d) must be a multiple of 64, >= 256", DATA_W))
  // the decode takes a table entry from bits [11:4], a port's policy block from
  // [12:PORT_SH], its counters from [13:6], and packs ESW_ID, ESW_CAPS, ESW_CTRL and
  // ESW_LISTS in this field order
  localparam bit LAYOUT_OK = ESW_MACT[11:0] == '0 && ESW_MACT_STRIDE == 16 && ESW_PORT[12:0] == '0
      && ESW_CNT[13:0] == '0 && ESW_CNT_STRIDE == 64 && ESW_PORT_STRIDE * ESW_PORT_COUNT == 1 << 13
      && ESW_ID_PORTS_LSB == 0 && ESW_ID_VERSION_LSB == 8 && ESW_ID_BLOCK_ID_LSB == 16
      && ESW_CAPS_MAC_ENTRIES_LSB == 0 && ESW_CAPS_FIFO_BEATS_LSB == 16
      && ESW_CTRL_UPLINK_LINK_LSB == 1 && ESW_LISTS_SMACS_LSB == 8 && ESW_LISTS_VLANS_LSB == 16
      && ESW_LISTS_MCS_LSB == 24;
  `ASSERT_PARAM(g_check_layout, LAYOUT_OK,
                "switch window layout of nic_regs_pkg is not the one this decode assumes")
  `ASSERT_PARAM(g_check_mac_table, MAC_TABLE_SIZE >= 1 && MAC_TABLE_SIZE <= 256,
                $sformatf("MAC_TABLE_SIZE (%0d) must be 1..256", MAC_TABLE_SIZE))
  `ASSERT_PARAM(g_check_max_bytes, MAX_BYTES >= 64 && MAX_BYTES <= 65535,
                $sformatf("MAX_BYTES (%0d) must be 64..65535", MAX_BYTES))
  `ASSERT_PARAM(g_check_fifo,
                FIFO_BEATS >= (MAX_BYTES + KEEP_W - 1) / KEEP_W && FIFO_BEATS <= 65536,
                $sformatf("FIFO_BEATS (%0d) must hold one longest frame", FIFO_BEATS))

  // ---------------------------------------------------------------- port bundling
  // The flat ports (cocotb binds them) as one axis_t per port, DATA_W low bits.
  axis_t [NUM_PORTS-1:0] in_axis, out_axis;
  logic [NUM_PORTS-1:0] in_tvalid, in_tready, out_tvalid, out_tready;
  logic [NUM_PORTS-1:0][TX_META_W-1:0] in_tuser;
  logic [NUM_PORTS-1:0][RX_META_W-1:0] out_tuser;

  always_comb begin
    for (int p = 0; p < NUM_FUNC; p++) begin
      in_axis[p] = '{
          data: AXI_DATA_W'(s_axis_func_tdata[p]),
          keep: AXI_STRB_W'(s_axis_func_tkeep[p]),
          last: s_axis_func_tlast[p]
      };
      in_tuser[p] = s_axis_func_tuser[p];
      in_tvalid[p] = s_axis_func_tvalid[p];
      out_tready[p] = m_axis_func_tready[p];
    end
    in_axis[UPLINK] = '{
        data: AXI_DATA_W'(s_axis_uplink_tdata),
        keep: AXI_STRB_W'(s_axis_uplink_tkeep),
        last: s_axis_uplink_tlast
    };
    in_tuser[UPLINK] = '0;
    in_tvalid[UPLINK] = s_axis_uplink_tvalid;
    out_tready[UPLINK] = m_axis_uplink_tready;
  end

  always_comb begin
    for (int p = 0; p < NUM_FUNC; p++) begin
      s_axis_func_tready[p] = in_tready[p];
      m_axis_func_tdata[p]  = out_axis[p].data[DATA_W-1:0];
      m_axis_func_tkeep[p]  = out_axis[p].keep[KEEP_W-1:0];
      m_axis_func_tlast[p]  = out_axis[p].last;
      m_axis_func_tuser[p]  = out_tuser[p];
      m_axis_func_tvalid[p] = out_tvalid[p];
    end
    s_axis_uplink_tready = in_tready[UPLINK];
    m_axis_uplink_tdata  = out_axis[UPLINK].data[DATA_W-1:0];
    m_axis_uplink_tkeep  = out_axis[UPLINK].keep[KEEP_W-1:0];
    m_axis_uplink_tlast  = out_axis[UPLINK].last;
    m_axis_uplink_tvalid = out_tvalid[UPLINK];
  end

  // ---------------------------------------------------------------- registers
  logic        tbl_wr;
  logic [31:0] tbl_rd_data;
  logic cnt_rd, cnt_clear;
  logic [31:0] cnt_rd_data;
  logic [15:0] cnt_off, pol_off;
  logic pol_sel;
  logic [31:0] rdata_reg, rdata_next;
  logic uplink_link_reg, uplink_link_next;
  logic [NUM_PORTS-1:0][31:0] pol_rdata;

  always_comb begin
    tbl_wr           = reg_wr && reg_addr[15:12] == MACT_PAGE;
    cnt_off          = reg_addr - ESW_CNT;
    cnt_rd           = reg_rd && reg_addr[15:14] == CNT_PAGE;
    cnt_clear        = reg_wr && reg_addr == ESW_CTRL && reg_wdata[ESW_CTRL_CLEAR_COUNTERS_LSB];
    pol_off          = reg_addr - ESW_PORT;
    pol_sel          = reg_addr[15:13] == PORT_PAGE && 32'(pol_off[12:PORT_SH]) < NUM_PORTS;
    uplink_link_next = uplink_link_reg;
    if (reg_wr && reg_addr == ESW_CTRL) begin
      uplink_link_next = reg_wdata[ESW_CTRL_UPLINK_LINK_LSB];
    end
  end

  always_comb begin
    rdata_next = rdata_reg;
    if (reg_rd) begin
      rdata_next = '0;
      if (reg_addr == ESW_ID) begin
        rdata_next = {ESW_BLOCK_ID, ESW_VERSION, 8'(NUM_PORTS)};
      end else if (reg_addr == ESW_CAPS) begin
        rdata_next = {16'(FIFO_BEATS), 16'(MAC_TABLE_SIZE)};
      end else if (reg_addr == ESW_CTRL) begin
        rdata_next = {30'h0, uplink_link_reg, 1'b0};
      end else if (reg_addr == ESW_LISTS) begin
        rdata_next = {8'(NUM_MC), 8'(NUM_VLAN), 8'(NUM_SMAC), 8'h00};
      end else if (reg_addr[15:12] == MACT_PAGE) begin
        rdata_next = tbl_rd_data;
      end else if (pol_sel) begin
        rdata_next = pol_rdata[pol_off[12:PORT_SH]];
      end else if (reg_addr[15:14] == CNT_PAGE) begin
        rdata_next = cnt_rd_data;
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      rdata_reg       <= '0;
      uplink_link_reg <= 1'b1;
    end else begin
      rdata_reg       <= rdata_next;
      uplink_link_reg <= uplink_link_next;
    end
  end

  assign reg_rdata = rdata_reg;

  // ---------------------------------------------------------------- port policy
  logic [NUM_PORTS-1:0][31:0] port_ctrl, port_pvlan, rate_inc;
  logic [NUM_PORTS-1:0][23:0] rate_burst;
  logic [NUM_PORTS-1:0][15:0] port_max_len;
  logic [NUM_PORTS-1:0] rate_load, port_link, port_promisc, port_allmulti;
  logic [NUM_PORTS-1:0][NUM_SMAC-1:0][47:0] port_smac;
  logic [NUM_PORTS-1:0][NUM_SMAC-1:0]       port_smac_valid;
  logic [NUM_PORTS-1:0][NUM_VLAN-1:0][11:0] port_vlan;
  logic [NUM_PORTS-1:0][NUM_VLAN-1:0]       port_vlan_valid;
  logic [NUM_PORTS-1:0][  NUM_MC-1:0][47:0] port_mc;
  logic [NUM_PORTS-1:0][  NUM_MC-1:0]       port_mc_valid;

  for (genvar p = 0; p < NUM_PORTS; p++) begin : g_policy
    logic trust;

    eswitch_port_regs #(
        .NUM_SMAC(NUM_SMAC),
        .NUM_VLAN(NUM_VLAN),
        .NUM_MC(NUM_MC),
        .MAX_LEN_RESET(MAX_BYTES)
    ) u_regs (
        .clk,
        .rst,
        .wr(reg_wr && pol_sel && 32'(pol_off[12:PORT_SH]) == p),
        .addr(pol_off[PORT_SH-1:0]),
        .wdata(reg_wdata),
        .rdata(pol_rdata[p]),
        .status({29'h0, port_allmulti[p], port_promisc[p], port_link[p]}),
        .ctrl(port_ctrl[p]),
        .pvlan(port_pvlan[p]),
        .rate_inc(rate_inc[p]),
        .rate_burst(rate_burst[p]),
        .rate_load(rate_load[p]),
        .max_len(port_max_len[p]),
        .smac(port_smac[p]),
        .smac_valid(port_smac_valid[p]),
        .vlan(port_vlan[p]),
        .vlan_valid(port_vlan_valid[p]),
        .mc(port_mc[p]),
        .mc_valid(port_mc_valid[p])
    );

    // effective state: the PF is always trusted; an untrusted port is neither
    // promiscuous nor all-multicast whatever PORT_CTRL asks (the guest cannot get
    // there through the PF driver either), so it keeps only its multicast list
    always_comb begin
      trust            = p == 0 || port_ctrl[p][ESW_PORT_CTRL_TRUST_LSB];
      port_promisc[p]  = port_ctrl[p][ESW_PORT_CTRL_RX_PROMISC_LSB] && trust;
      port_allmulti[p] = port_ctrl[p][ESW_PORT_CTRL_RX_ALLMULTI_LSB] && trust;
      unique case (port_ctrl[p][ESW_PORT_CTRL_LINK_LSB+:ESW_PORT_CTRL_LINK_W])
        2'd1:    port_link[p] = 1'b1;
        2'd2,
        2'd3:    port_link[p] = 1'b0;
        default: port_link[p] = uplink_link_reg;
      endcase
      if (p == UPLINK) begin
        port_link[p] = 1'b1;
      end
    end
  end

  // ---------------------------------------------------------------- forwarding table
  logic [NUM_PORTS-1:0][47:0] lk_mac;
  logic [NUM_PORTS-1:0][11:0] lk_vid;
  logic [NUM_PORTS-1:0]       lk_hit;
  logic [NUM_PORTS-1:0][ 7:0] lk_port;

  eswitch_mac_table #(
      .SIZE(MAC_TABLE_SIZE),
      .NUM_LOOKUP(NUM_PORTS)
  ) u_mac_table (
      .clk,
      .rst,
      .wr_en  (tbl_wr),
      .wr_idx (reg_addr[11:4]),
      .wr_word(reg_addr[3:2]),
      .wr_data(reg_wdata),
      .rd_idx (reg_addr[11:4]),
      .rd_word(reg_addr[3:2]),
      .rd_data(tbl_rd_data),
      .lk_mac,
      .lk_vid,
      .lk_hit,
      .lk_port
  );

  // ---------------------------------------------------------------- ingress ports
  logic [NUM_PORTS-1:0] fwd_req, fwd_tvalid, fwd_pop;
  logic [NUM_PORTS-1:0][NUM_PORTS-1:0] fwd_mask;
  axis_t [NUM_PORTS-1:0] fwd_axis;
  logic [NUM_PORTS-1:0][NUM_PORTS-1:0] fwd_tuser;
  logic [NUM_PORTS-1:0] ev_rx, ev_tx;
  logic [NUM_PORTS-1:0][15:0] ev_rx_len, ev_tx_len;
  logic [NUM_PORTS-1:0][2:0] ev_rx_drop;

  for (genvar p = 0; p < NUM_PORTS; p++) begin : g_ingress
    eswitch_ingress #(
        .DATA_W(DATA_W),
        .NUM_PORTS(NUM_PORTS),
        .PORT(p),
        .FIFO_BEATS(FIFO_BEATS),
        .MAX_BYTES(MAX_BYTES),
        .NUM_SMAC(NUM_SMAC),
        .NUM_VLAN(NUM_VLAN),
        .NUM_MC(NUM_MC)
    ) u_ingress (
        .clk,
        .rst,
        .s_axis(in_axis[p]),
        .s_axis_tuser(in_tuser[p]),
        .s_axis_tvalid(in_tvalid[p]),
        .s_axis_tready(in_tready[p]),
        .lk_mac(lk_mac[p]),
        .lk_vid(lk_vid[p]),
        .lk_hit(lk_hit[p]),
        .lk_port(lk_port[p]),
        .port_ctrl,
        .port_pvlan,
        .port_link,
        .port_promisc,
        .port_allmulti,
        .port_max_len,
        .port_vlan,
        .port_vlan_valid,
        .port_mc,
        .port_mc_valid,
        .smac(port_smac[p]),
        .smac_valid(port_smac_valid[p]),
        .rate_inc(rate_inc[p]),
        .rate_burst(rate_burst[p]),
        .rate_load(rate_load[p]),
        .fwd_req(fwd_req[p]),
        .fwd_mask(fwd_mask[p]),
        .fwd(fwd_axis[p]),
        .fwd_tuser(fwd_tuser[p]),
        .fwd_tvalid(fwd_tvalid[p]),
        .fwd_pop(fwd_pop[p]),
        .ev_rx(ev_rx[p]),
        .ev_len(ev_rx_len[p]),
        .ev_drop(ev_rx_drop[p])
    );
  end

  // ---------------------------------------------------------------- crossbar
  axis_t [NUM_PORTS-1:0] xb_axis;
  logic [NUM_PORTS-1:0] xb_tvalid, xb_tready;
  logic [NUM_PORTS-1:0][NUM_PORTS-1:0] xb_tuser;

  eswitch_xbar #(
      .DATA_W(DATA_W),
      .USER_W(NUM_PORTS),
      .NUM_PORTS(NUM_PORTS)
  ) u_xbar (
      .clk,
      .rst,
      .in_req(fwd_req),
      .in_mask(fwd_mask),
      .in_axis(fwd_axis),
      .in_tuser(fwd_tuser),
      .in_tvalid(fwd_tvalid),
      .in_pop(fwd_pop),
      .m_axis(xb_axis),
      .m_axis_tuser(xb_tuser),
      .m_axis_tvalid(xb_tvalid),
      .m_axis_tready(xb_tready)
  );

  // ---------------------------------------------------------------- egress: VLAN strip, TX count
  for (genvar p = 0; p < NUM_PORTS; p++) begin : g_egress
    logic [15:0] acc_reg, acc_next;
    logic [16:0] sum;

    eswitch_vlan_strip #(
        .DATA_W(DATA_W)
    ) u_strip (
        .clk,
        .rst,
        .report(!port_pvlan[p][ESW_PORT_VLAN_ENABLE_LSB]),
        .s_axis(xb_axis[p]),
        .s_strip(xb_tuser[p][p]),
        .s_axis_tvalid(xb_tvalid[p]),
        .s_axis_tready(xb_tready[p]),
        .m_axis(out_axis[p]),
        .m_axis_tuser(out_tuser[p]),
        .m_axis_tvalid(out_tvalid[p]),
        .m_axis_tready(out_tready[p])
    );

    always_comb begin
      sum          = {1'b0, acc_reg} + 17'($countones(out_axis[p].keep[KEEP_W-1:0]));
      acc_next     = acc_reg;
      ev_tx[p]     = 1'b0;
      ev_tx_len[p] = sum[16] ? 16'hFFFF : sum[15:0];
      if (out_tvalid[p] && out_tready[p]) begin
        acc_next = ev_tx_len[p];
        if (out_axis[p].last) begin
          ev_tx[p] = 1'b1;
          acc_next = '0;
        end
      end
    end

    always_ff @(posedge clk) begin
      if (rst) begin
        acc_reg <= '0;
      end else begin
        acc_reg <= acc_next;
      end
    end
  end

  // ---------------------------------------------------------------- counters
  eswitch_counters #(
      .NUM_PORTS(NUM_PORTS)
  ) u_counters (
      .clk,
      .rst,
      .clear(cnt_clear),
      .ev_rx,
      .ev_rx_len,
      .ev_rx_drop,
      .ev_tx,
      .ev_tx_len,
      .ev_no_buf('0),
      .rd(cnt_rd),
      .rd_port(cnt_off[13:6]),
      .rd_word(cnt_off[5:2]),
      .rd_data(cnt_rd_data)
  );

  logic unused_ok;
  assign unused_ok = ^{
      cnt_off[15:14], cnt_off[1:0], reg_addr[1:0], out_tuser[UPLINK], pol_off[15:13]
  };

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst) begin
      assert (!(reg_wr && reg_rd))
      else $error("%m: register read and write in one cycle");
    end
  end
`endif

endmodule

`resetall
