// Embedded switch: per-port statistics counters (frames, bytes, drops by reason)
// with a word-wide read port. 64-bit counters: reading LO latches HI.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module eswitch_counters
  import nic_regs_pkg::*;
#(
    // Number of switch ports.
    parameter int NUM_PORTS = 4
) (
    input  wire logic                       clk,
    input  wire logic                       rst,
    // clear every counter (one cycle)
    input  wire logic                       clear,
    // ingress: one event per received frame, drop reason 0 = forwarded
    input  wire logic [NUM_PORTS-1:0]       ev_rx,
    input  wire logic [NUM_PORTS-1:0][15:0] ev_rx_len,
    input  wire logic [NUM_PORTS-1:0][ 2:0] ev_rx_drop,
    // egress: one event per frame sent to the port
    input  wire logic [NUM_PORTS-1:0]       ev_tx,
    input  wire logic [NUM_PORTS-1:0][15:0] ev_tx_len,
    // egress: a frame for the port was dropped for lack of buffer downstream
    input  wire logic [NUM_PORTS-1:0]       ev_no_buf,
    // read port: word w (0..15) of port p's block; rd latches HI on LO reads
    input  wire logic                       rd,
    input  wire logic [          7:0]       rd_port,
    input  wire logic [          3:0]       rd_word,
    output logic      [         31:0]       rd_data
);

  `ASSERT_PARAM(g_check_ports, NUM_PORTS >= 2 && NUM_PORTS <= 256,
                $sformatf("NUM_PORTS (%0d) must be 2..256", NUM_PORTS))

  // word map of one port's block (docs §3.2)
  localparam logic [3:0] W_RX_FRAMES = ESW_CNT_RX_FRAMES[5:2];
  localparam logic [3:0] W_RX_DROPS = ESW_CNT_RX_DROPS[5:2];
  localparam logic [3:0] W_RX_BYTES = ESW_CNT_RX_BYTES_LO[5:2];
  localparam logic [3:0] W_TX_FRAMES = ESW_CNT_TX_FRAMES[5:2];
  localparam logic [3:0] W_TX_BYTES = ESW_CNT_TX_BYTES_LO[5:2];
  localparam logic [3:0] W_DROP_BASE = ESW_CNT_DROP_NO_ROUTE[5:2] - 4'd1;  // + drop reason 1..7
  localparam logic [3:0] W_NO_BUF = ESW_CNT_DROP_NO_BUF[5:2];

  // HI follows LO; the drop counters follow the reason codes (1 NO_ROUTE .. 7 VLAN_POLICY)
  localparam bit LAYOUT_OK = ESW_CNT_STRIDE == 64 && ESW_CNT_RX_BYTES_HI == ESW_CNT_RX_BYTES_LO + 4
      && ESW_CNT_TX_BYTES_HI == ESW_CNT_TX_BYTES_LO + 4
      && ESW_CNT_DROP_SPOOF_MAC == ESW_CNT_DROP_NO_ROUTE + 4
      && ESW_CNT_DROP_SPOOF_VLAN == ESW_CNT_DROP_NO_ROUTE + 8
      && ESW_CNT_DROP_TOO_BIG == ESW_CNT_DROP_NO_ROUTE + 12
      && ESW_CNT_DROP_LINK_DOWN == ESW_CNT_DROP_NO_ROUTE + 16
      && ESW_CNT_DROP_BAD_LEN == ESW_CNT_DROP_NO_ROUTE + 20
      && ESW_CNT_DROP_VLAN_POLICY == ESW_CNT_DROP_NO_ROUTE + 24;
  `ASSERT_PARAM(g_check_layout, LAYOUT_OK,
                "counter layout of nic_regs_pkg is not the one this decode assumes")

  logic [NUM_PORTS-1:0][31:0] rx_frames_reg, rx_drops_reg, tx_frames_reg, no_buf_reg;
  logic [NUM_PORTS-1:0][63:0] rx_bytes_reg, tx_bytes_reg;
  logic [NUM_PORTS-1:0][7:1][31:0] drop_reg;
  logic [31:0] hi_shadow_reg, hi_shadow_next;

  for (genvar p = 0; p < NUM_PORTS; p++) begin : g_port
    always_ff @(posedge clk) begin
      if (rst || clear) begin
        rx_frames_reg[p] <= '0;
        rx_drops_reg[p]  <= '0;
        rx_bytes_reg[p]  <= '0;
        tx_frames_reg[p] <= '0;
        tx_bytes_reg[p]  <= '0;
        no_buf_reg[p]    <= '0;
        drop_reg[p]      <= '0;
      end else begin
        if (ev_rx[p]) begin
          rx_frames_reg[p] <= rx_frames_reg[p] + 1'b1;
          rx_bytes_reg[p]  <= rx_bytes_reg[p] + 64'(ev_rx_len[p]);
          if (ev_rx_drop[p] != 3'd0) begin
            rx_drops_reg[p]            <= rx_drops_reg[p] + 1'b1;
            drop_reg[p][ev_rx_drop[p]] <= drop_reg[p][ev_rx_drop[p]] + 1'b1;
          end
        end
        if (ev_tx[p]) begin
          tx_frames_reg[p] <= tx_frames_reg[p] + 1'b1;
          tx_bytes_reg[p]  <= tx_bytes_reg[p] + 64'(ev_tx_len[p]);
        end
        if (ev_no_buf[p]) begin
          no_buf_reg[p] <= no_buf_reg[p] + 1'b1;
        end
      end
    end
  end

  always_comb begin
    rd_data        = '0;
    hi_shadow_next = hi_shadow_reg;
    if (32'(rd_port) < NUM_PORTS) begin
      unique case (rd_word)
        W_RX_FRAMES:       rd_data = rx_frames_reg[rd_port];
        W_RX_DROPS:        rd_data = rx_drops_reg[rd_port];
        W_RX_BYTES: begin
          rd_data        = rx_bytes_reg[rd_port][31:0];
          hi_shadow_next = rx_bytes_reg[rd_port][63:32];
        end
        W_RX_BYTES + 4'd1: rd_data = hi_shadow_reg;
        W_TX_FRAMES:       rd_data = tx_frames_reg[rd_port];
        W_TX_BYTES: begin
          rd_data        = tx_bytes_reg[rd_port][31:0];
          hi_shadow_next = tx_bytes_reg[rd_port][63:32];
        end
        W_TX_BYTES + 4'd1: rd_data = hi_shadow_reg;
        W_NO_BUF:          rd_data = no_buf_reg[rd_port];
        default: begin
          if (rd_word > W_DROP_BASE) begin
            rd_data = drop_reg[rd_port][3'(rd_word-W_DROP_BASE)];
          end
        end
      endcase
    end
    if (!rd) begin
      hi_shadow_next = hi_shadow_reg;
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      hi_shadow_reg <= '0;
    end else begin
      hi_shadow_reg <= hi_shadow_next;
    end
  end

endmodule

`resetall
