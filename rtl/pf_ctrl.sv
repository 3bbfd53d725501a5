// PF global control: the SR-IOV capability's NumVFs (enables VFs 1..NumVFs),
// per-VF administration (function-level reset, status, out-of-space access
// counter), per-VF statistics of its DMA engine, the mailbox request/acknowledge
// bitmaps, VF-initiated FLR events and the PF's mailbox interrupt. Reachable only
// through the PF's register space.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module pf_ctrl
  import nic_regs_pkg::*;
#(
    // VFs the hardware implements (SR-IOV TotalVFs).
    parameter int NUM_VF = 2,
    // Queue pairs per function, reported to the driver.
    parameter int NUM_QUEUES = 1,
    // Interrupt vector of the mailbox/misc cause on every function.
    parameter int MBX_VECTOR = 2
) (
    input wire logic clk,
    input wire logic rst,

    input  wire logic        reg_wr,
    input  wire logic        reg_rd,
    input  wire logic [15:0] reg_addr,
    input  wire logic [31:0] reg_wdata,
    output logic      [31:0] reg_rdata,

    // Bit n-1 enables VF n.
    output logic      [NUM_VF-1:0]       vf_enable,
    // Bit n-1: the PF resets VF n (one-cycle pulse).
    output logic      [NUM_VF-1:0]       vf_flr,
    // Bit n-1: VF n reset itself (FUNC_CTRL.FLR written by the VF), pulse.
    input  wire logic [NUM_VF-1:0]       vf_self_flr,
    // Bit n-1: VF n accessed an offset outside its register space, pulse.
    input  wire logic [NUM_VF-1:0]       vf_bad_access,
    // Frames VF n's engine dropped (no buffer, queue stopped) or abandoned (queue
    // disabled, FLR) this cycle, at index n-1.
    input  wire logic [NUM_VF-1:0][15:0] vf_rx_drops,
    input  wire logic [NUM_VF-1:0][15:0] vf_rx_abandoned,
    input  wire logic [NUM_VF-1:0][15:0] vf_tx_abandoned,
    // Mailbox state of VF n at bit n-1.
    input  wire logic [NUM_VF-1:0]       mbx_req,
    input  wire logic [NUM_VF-1:0]       mbx_ack,
    input  wire logic [NUM_VF-1:0]       mbx_event,

    // Interrupt request on the PF's function, vector MBX_VECTOR.
    output logic      irq_valid,
    input  wire logic irq_ready
);

  localparam logic [15:0] PF_ID_OFF = PFC_PF_ID;
  localparam logic [15:0] NUM_VFS_OFF = PFC_NUM_VFS;
  localparam logic [15:0] IRQ_CTRL_OFF = PFC_IRQ_CTRL;
  localparam logic [15:0] CAPS_OFF = PFC_CAPS;
  // Bitmaps, bit b of word w = VF 32w+b (bit 0 of word 0 is the PF: 0).
  localparam logic [7:0] MBX_REQ_PAGE = PFC_MBX_VFREQ[15:8];  // + 4w
  localparam logic [7:0] MBX_ACK_PAGE = PFC_MBX_VFACK[15:8];  // + 4w
  localparam logic [7:0] VFLR_PAGE = PFC_VFLR[15:8];  // + 4w, W1C
  // Per-VF admin block of VF n: 0x1000 + 0x10 n.
  localparam logic [3:0] ADMIN_PAGE = PFC_VF_ADMIN[15:12];
  localparam logic [3:0] VF_CTRL_OFF = PFC_VF_ADMIN_CTRL[3:0];
  localparam logic [3:0] VF_STAT_OFF = PFC_VF_ADMIN_STATUS[3:0];
  localparam logic [3:0] VF_BAD_OFF = PFC_VF_ADMIN_BAD_ACCESS[3:0];
  // Per-VF statistics block of VF n: 0x2000 + 0x10 n.
  localparam logic [3:0] STATS_PAGE = PFC_VF_STATS[15:12];
  localparam logic [3:0] RX_DROPS_OFF = PFC_VF_STATS_RX_DROPS[3:0];
  localparam logic [3:0] RX_ABAND_OFF = PFC_VF_STATS_RX_ABANDONED[3:0];
  localparam logic [3:0] TX_ABAND_OFF = PFC_VF_STATS_TX_ABANDONED[3:0];

  // the decode takes VF n from bits [11:4] of a 4 KiB page, a bitmap word from [7:2]
  // of a 256-byte page, and packs VF_STATUS and CAPS in the field order below
  localparam bit LAYOUT_OK = PFC_VF_ADMIN[11:0] == '0 && PFC_VF_STATS[11:0] == '0
      && PFC_VF_ADMIN_STRIDE == 16 && PFC_VF_STATS_STRIDE == 16 && PFC_MBX_VFREQ[7:0] == '0
      && PFC_MBX_VFACK[7:0] == '0 && PFC_VFLR[7:0] == '0 && PFC_VF_ADMIN_STATUS_ENABLED_LSB == 0
      && PFC_VF_ADMIN_STATUS_VFLR_LSB == 1 && PFC_VF_ADMIN_STATUS_MBX_REQ_LSB == 2
      && PFC_VF_ADMIN_STATUS_MBX_ACK_LSB == 3 && PFC_CAPS_MBX_WORDS_LSB == 0
      && PFC_CAPS_MBX_VECTOR_LSB == 8;
  `ASSERT_PARAM(g_check_layout, LAYOUT_OK,
                "PF control layout of nic_regs_pkg is not the one this decode assumes")

  localparam int NVF_W = $clog2(NUM_VF + 1);
  localparam int NBITS = NUM_VF + 1;
  localparam int NWORDS = (NBITS + 31) / 32;
  localparam int WSEL_W = (NWORDS > 1) ? $clog2(NWORDS) : 1;
  localparam int VI_W = (NUM_VF > 1) ? $clog2(NUM_VF) : 1;

  `ASSERT_PARAM(g_check_num_vf, NUM_VF >= 1 && NUM_VF <= 254,
                $sformatf("NUM_VF=%0d outside 1..254", NUM_VF))

  logic [ NVF_W-1:0]       num_vfs_reg;
  logic [NUM_VF-1:0]       vflr_reg;
  logic [NUM_VF-1:0]       vf_flr_reg;
  logic [NUM_VF-1:0][31:0] bad_reg;
  // Counted over the VF's lifetime: kept across its FLR, cleared when it is disabled.
  logic [NUM_VF-1:0][31:0] rx_drops_reg, rx_aband_reg, tx_aband_reg;
  logic mask_reg;
  logic irq_pend_reg;

  // Bitmaps padded to whole words, VF n at bit n.
  logic [NWORDS*32-1:0] req_map, ack_map, vflr_map;
  always_comb begin
    req_map = '0;
    ack_map = '0;
    vflr_map = '0;
    req_map[NBITS-1:1] = mbx_req;
    ack_map[NBITS-1:1] = mbx_ack;
    vflr_map[NBITS-1:1] = vflr_reg;
  end

  // Address decode.
  logic in_word_page, word_ok;
  logic [WSEL_W-1:0] wsel;
  logic admin_ok, stats_ok;
  logic [     7:0] admin_vf;  // VF number of the admin block
  logic [VI_W-1:0] vi;  // its bit index (VF number - 1)
  assign in_word_page = reg_addr[15:10] == 6'h0 && reg_addr[1:0] == 2'b00;
  assign wsel = WSEL_W'(reg_addr[7:2]);
  assign word_ok = 32'(reg_addr[7:2]) < NWORDS;
  assign admin_vf = reg_addr[11:4];
  assign vi = VI_W'(admin_vf - 8'd1);
  assign admin_ok = reg_addr[15:12] == ADMIN_PAGE && admin_vf != 8'h0 && 32'(admin_vf) <= NUM_VF;
  assign stats_ok = reg_addr[15:12] == STATS_PAGE && admin_vf != 8'h0 && 32'(admin_vf) <= NUM_VF;

  always_ff @(posedge clk) begin
    if (rst) begin
      num_vfs_reg  <= '0;
      vflr_reg     <= '0;
      vf_flr_reg   <= '0;
      bad_reg      <= '0;
      rx_drops_reg <= '0;
      rx_aband_reg <= '0;
      tx_aband_reg <= '0;
      mask_reg     <= 1'b0;
      irq_pend_reg <= 1'b0;
      reg_rdata    <= '0;
    end else begin
      vf_flr_reg <= '0;
      // A NumVFs above TotalVFs is refused: the old value stays.
      if (reg_wr && reg_addr == NUM_VFS_OFF && reg_wdata <= 32'(NUM_VF)) begin
        num_vfs_reg <= NVF_W'(reg_wdata);
      end
      if (reg_wr && reg_addr == IRQ_CTRL_OFF) mask_reg <= reg_wdata[PFC_IRQ_CTRL_MASK_LSB];
      // Per-VF admin: FLR of an enabled VF.
      if (reg_wr && admin_ok && reg_addr[3:0] == VF_CTRL_OFF && reg_wdata[PFC_VF_ADMIN_CTRL_FLR_LSB]
          && vf_enable[vi]) begin
        vf_flr_reg[vi] <= 1'b1;
      end
      for (int n = 0; n < NUM_VF; n++) begin
        // VF-initiated FLR events, write 1 to clear; cleared when the VF is disabled.
        if (!vf_enable[n]) begin
          vflr_reg[n] <= 1'b0;
        end else if (vf_self_flr[n]) begin
          vflr_reg[n] <= 1'b1;
        end else if (reg_wr && in_word_page && reg_addr[9:8] == VFLR_PAGE[1:0] && word_ok
                     && 32'(wsel) == (n + 1) / 32 && reg_wdata[(n + 1) % 32]) begin
          vflr_reg[n] <= 1'b0;
        end
        if (vf_bad_access[n] && bad_reg[n] != 32'hFFFF_FFFF) bad_reg[n] <= bad_reg[n] + 32'd1;
        if (!vf_enable[n]) begin
          rx_drops_reg[n] <= '0;
          rx_aband_reg[n] <= '0;
          tx_aband_reg[n] <= '0;
        end else begin
          rx_drops_reg[n] <= rx_drops_reg[n] + 32'(vf_rx_drops[n]);
          rx_aband_reg[n] <= rx_aband_reg[n] + 32'(vf_rx_abandoned[n]);
          tx_aband_reg[n] <= tx_aband_reg[n] + 32'(vf_tx_abandoned[n]);
        end
      end
      // The PF's mailbox interrupt: any VF doorbell or acknowledge, or a VF's own FLR.
      if (|(mbx_event & vf_enable) || |(vf_self_flr & vf_enable)) irq_pend_reg <= 1'b1;
      else if (irq_valid && irq_ready) irq_pend_reg <= 1'b0;

      if (reg_rd) begin
        reg_rdata <= 32'h0;
        if (reg_addr == PF_ID_OFF) begin
          reg_rdata <= {PFC_PF_ID_BLOCK_ID_RESET, 8'(NUM_QUEUES), 8'(NUM_VF)};
        end else if (reg_addr == NUM_VFS_OFF) begin
          reg_rdata <= 32'(num_vfs_reg);
        end else if (reg_addr == IRQ_CTRL_OFF) begin
          reg_rdata <= {31'h0, mask_reg};
        end else if (reg_addr == CAPS_OFF) begin
          reg_rdata <= {16'h0, 8'(MBX_VECTOR), PFC_CAPS_MBX_WORDS_RESET};
        end else if (in_word_page && word_ok && reg_addr[9:8] == MBX_REQ_PAGE[1:0]) begin
          reg_rdata <= req_map[32*wsel+:32];
        end else if (in_word_page && word_ok && reg_addr[9:8] == MBX_ACK_PAGE[1:0]) begin
          reg_rdata <= ack_map[32*wsel+:32];
        end else if (in_word_page && word_ok && reg_addr[9:8] == VFLR_PAGE[1:0]) begin
          reg_rdata <= vflr_map[32*wsel+:32];
        end else if (admin_ok && reg_addr[3:0] == VF_STAT_OFF) begin
          reg_rdata <= {28'h0, mbx_ack[vi], mbx_req[vi], vflr_reg[vi], vf_enable[vi]};
        end else if (admin_ok && reg_addr[3:0] == VF_BAD_OFF) begin
          reg_rdata <= bad_reg[vi];
        end else if (stats_ok && reg_addr[3:0] == RX_DROPS_OFF) begin
          reg_rdata <= rx_drops_reg[vi];
        end else if (stats_ok && reg_addr[3:0] == RX_ABAND_OFF) begin
          reg_rdata <= rx_aband_reg[vi];
        end else if (stats_ok && reg_addr[3:0] == TX_ABAND_OFF) begin
          reg_rdata <= tx_aband_reg[vi];
        end
      end
    end
  end

  always_comb begin
    for (int n = 1; n <= NUM_VF; n++) begin
      vf_enable[n-1] = (NVF_W'(n) <= num_vfs_reg);
    end
  end

  assign vf_flr    = vf_flr_reg;
  assign irq_valid = irq_pend_reg && !mask_reg;

  // ---------------------------------------------------------------- assertions
  // NumVFs never above TotalVFs, so the enabled VFs are 1..NumVFs; an FLR by the
  // PF is a one-cycle pulse for one enabled VF
  `ASSERT(num_vfs_range, 32'(num_vfs_reg) <= NUM_VF)
  `ASSERT(enable_contiguous, ((NUM_VF + 1)'(vf_enable) & ((NUM_VF + 1)'(vf_enable) + 1'b1)) == '0)
  `ASSERT_ONEHOT0(flr_one_vf, vf_flr)
  `ASSERT(flr_pulse, vf_flr != '0 |=> vf_flr == '0)
  `ASSERT(flr_of_enabled, (vf_flr & ~vf_enable) == '0)
  `ASSERT_NEVER(rd_and_wr, reg_wr && reg_rd)

endmodule

`resetall
