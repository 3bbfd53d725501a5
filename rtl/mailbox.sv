// VF<->PF mailbox of one VF (Intel SR-IOV style): 16 x 32-bit words each way,
// a doorbell (REQ) and an acknowledge (ACK) per direction, an interrupt towards
// the VF, and request/acknowledge status towards the PF. Two register ports,
// the VF's and the PF's, each with a one-cycle read latency. A function-level
// reset (or the VF being disabled) clears everything but the PF's error counter
// and sets RSTD, so the VF driver learns that it was reset.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module mailbox
  import nic_regs_pkg::*;
#(
    // Interrupt vector of the mailbox on the VF's function (after the queue vectors).
    parameter int VECTOR = 2
) (
    input wire logic clk,
    input wire logic rst,
    // Function-level reset of the VF, or the VF disabled (level).
    input wire logic flr,

    // VF side: offset inside the VF's mailbox window.
    input  wire logic        vf_reg_wr,
    input  wire logic        vf_reg_rd,
    input  wire logic [15:0] vf_reg_addr,
    input  wire logic [31:0] vf_reg_wdata,
    output logic      [31:0] vf_reg_rdata,

    // PF side: offset inside this VF's block of the PF's mailbox window.
    input  wire logic        pf_reg_wr,
    input  wire logic        pf_reg_rd,
    input  wire logic [ 7:0] pf_reg_addr,
    input  wire logic [31:0] pf_reg_wdata,
    output logic      [31:0] pf_reg_rdata,

    // To the PF's control block.
    output logic vf_req,   // a VF message waits for the PF's ACK
    output logic vf_ack,   // the VF acknowledged the PF's message
    output logic pf_event, // pulse: VF doorbell or VF acknowledge accepted

    // Interrupt request on the VF's function (vector VECTOR).
    output logic      vf_irq_valid,
    input  wire logic vf_irq_ready
);

  localparam int WORDS = VMBX_VF_MSG_COUNT;

  // Control register bits (positions of ixgbe's VFMAILBOX where they exist).
  // W1: doorbell; reads 1 while the message is unacknowledged
  localparam int B_REQ = VMBX_CTRL_REQ_LSB;
  localparam int B_ACK = VMBX_CTRL_ACK_LSB;  // W1: acknowledge the other side's message
  localparam int B_STS = VMBX_CTRL_STS_LSB;  // RO: a message from the other side waits
  localparam int B_OACK = VMBX_CTRL_OACK_LSB;  // W1C: the other side acknowledged our message
  localparam int B_RSTD = VMBX_CTRL_RSTD_LSB;  // W1C (VF side): a function-level reset happened

  // VF-side offsets.
  localparam logic [15:0] VF_CTRL_OFF = VMBX_CTRL;
  localparam logic [15:0] VF_IRQ_OFF = VMBX_IRQ;
  localparam logic [15:0] VF_INFO_OFF = VMBX_INFO;
  // PF-side offsets.
  localparam logic [7:0] PF_CTRL_OFF = PMBX_CTRL[7:0];
  localparam logic [7:0] PF_ERRS_OFF = PMBX_ERRS[7:0];
  // Both sides: VF->PF message words in the quarter [7:6] = MSG_VF, PF->VF in MSG_PF.
  localparam logic [1:0] MSG_VF = VMBX_VF_MSG[7:6];
  localparam logic [1:0] MSG_PF = VMBX_PF_MSG[7:6];

  // the decode takes a message word from bits [5:2] of its 64-byte quarter
  localparam bit LAYOUT_OK = WORDS == 16 && VMBX_VF_MSG[5:0] == '0 && VMBX_PF_MSG[5:0] == '0
      && PMBX_VF_MSG == VMBX_VF_MSG && PMBX_PF_MSG == VMBX_PF_MSG && PMBX_CTRL_REQ_LSB == B_REQ
      && PMBX_CTRL_ACK_LSB == B_ACK && PMBX_CTRL_STS_LSB == B_STS && PMBX_CTRL_OACK_LSB == B_OACK
      && PMBX_CTRL_RSTD_LSB == B_RSTD;
  `ASSERT_PARAM(g_check_layout, LAYOUT_OK,
                "mailbox layout of nic_regs_pkg is not the one this decode assumes")

  logic [WORDS-1:0][31:0] vf_msg_reg;  // VF -> PF
  logic [WORDS-1:0][31:0] pf_msg_reg;  // PF -> VF
  logic                   req_reg;  // VF doorbell, not yet acknowledged by the PF
  logic                   pfack_reg;  // PF acknowledged the VF's message (VF W1C)
  logic                   pfsts_reg;  // PF doorbell, not yet acknowledged by the VF
  logic                   vfack_reg;  // VF acknowledged the PF's message (PF W1C)
  logic                   rstd_reg;
  logic                   mask_reg;
  logic                   irq_pend_reg;
  logic [     15:0]       errs_reg;  // refused VF accesses, saturating; cleared only by rst

  // Decoded VF-side offsets.
  logic                   vf_hi_zero;
  logic [      3:0]       vf_word;
  assign vf_hi_zero = vf_reg_addr[15:8] == '0 && vf_reg_addr[1:0] == 2'b00;
  assign vf_word    = vf_reg_addr[5:2];
  logic vf_in_vfmsg, vf_in_pfmsg;
  assign vf_in_vfmsg = vf_hi_zero && vf_reg_addr[7:6] == MSG_VF;
  assign vf_in_pfmsg = vf_hi_zero && vf_reg_addr[7:6] == MSG_PF;

  logic [3:0] pf_word;
  assign pf_word = pf_reg_addr[5:2];
  logic pf_aligned;
  assign pf_aligned = pf_reg_addr[1:0] == 2'b00;

  // VF-side write decode: what is accepted, what is refused (and counted).
  logic vf_doorbell, vf_ackw, vf_msg_wr, vf_refused;
  always_comb begin
    vf_doorbell = 1'b0;
    vf_ackw     = 1'b0;
    vf_msg_wr   = 1'b0;
    vf_refused  = 1'b0;
    if (vf_reg_wr) begin
      if (vf_hi_zero && vf_reg_addr[7:0] == VF_CTRL_OFF[7:0]) begin
        // A doorbell while the previous message is unacknowledged, or an
        // acknowledge with no PF message waiting, is a protocol error.
        if (vf_reg_wdata[B_REQ]) begin
          if (req_reg) vf_refused = 1'b1;
          else vf_doorbell = 1'b1;
        end
        if (vf_reg_wdata[B_ACK]) begin
          if (pfsts_reg) vf_ackw = 1'b1;
          else vf_refused = 1'b1;
        end
      end else if (vf_hi_zero && vf_reg_addr[7:0] == VF_IRQ_OFF[7:0]) begin
        // the mask, written below
      end else if (vf_in_vfmsg && !req_reg) begin
        vf_msg_wr = 1'b1;
      end else begin
        // Message words while the doorbell is pending, the PF's message
        // words, read-only and unmapped offsets.
        vf_refused = 1'b1;
      end
    end
  end

  logic pf_doorbell, pf_ackw;
  always_comb begin
    pf_doorbell = pf_reg_wr && pf_aligned && pf_reg_addr == PF_CTRL_OFF && pf_reg_wdata[B_REQ]
                  && !pfsts_reg;
    pf_ackw     = pf_reg_wr && pf_aligned && pf_reg_addr == PF_CTRL_OFF && pf_reg_wdata[B_ACK]
                  && req_reg;
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      errs_reg <= '0;
    end else if (vf_refused && !flr && errs_reg != 16'hFFFF) begin
      errs_reg <= errs_reg + 16'd1;
    end
  end

  always_ff @(posedge clk) begin
    if (rst || flr) begin
      vf_msg_reg   <= '0;
      pf_msg_reg   <= '0;
      req_reg      <= 1'b0;
      pfack_reg    <= 1'b0;
      pfsts_reg    <= 1'b0;
      vfack_reg    <= 1'b0;
      mask_reg     <= 1'b0;
      irq_pend_reg <= 1'b0;
      rstd_reg     <= !rst;
    end else begin
      // VF side.
      if (vf_msg_wr) vf_msg_reg[vf_word] <= vf_reg_wdata;
      if (vf_doorbell) begin
        req_reg   <= 1'b1;
        pfack_reg <= 1'b0;
      end
      if (vf_ackw) begin
        pfsts_reg <= 1'b0;
        vfack_reg <= 1'b1;
      end
      if (vf_reg_wr && vf_hi_zero && vf_reg_addr[7:0] == VF_CTRL_OFF[7:0]) begin
        if (vf_reg_wdata[B_OACK] && !vf_doorbell) pfack_reg <= 1'b0;
        if (vf_reg_wdata[B_RSTD]) rstd_reg <= 1'b0;
      end
      if (vf_reg_wr && vf_hi_zero && vf_reg_addr[7:0] == VF_IRQ_OFF[7:0]) begin
        mask_reg <= vf_reg_wdata[VMBX_IRQ_MASK_LSB];
      end
      // PF side.
      if (pf_reg_wr && pf_aligned && pf_reg_addr[7:6] == MSG_PF) begin
        pf_msg_reg[pf_word] <= pf_reg_wdata;
      end
      if (pf_doorbell) begin
        pfsts_reg <= 1'b1;
        vfack_reg <= 1'b0;
      end
      if (pf_ackw) begin
        req_reg   <= 1'b0;
        pfack_reg <= 1'b1;
      end
      if (pf_reg_wr && pf_aligned && pf_reg_addr == PF_CTRL_OFF && pf_reg_wdata[B_OACK]
          && !pf_doorbell) begin
        vfack_reg <= 1'b0;
      end
      // Interrupt towards the VF: a PF message or a PF acknowledge.
      if (pf_doorbell || pf_ackw) irq_pend_reg <= 1'b1;
      else if (vf_irq_valid && vf_irq_ready) irq_pend_reg <= 1'b0;
    end
  end

  assign vf_irq_valid = irq_pend_reg && !mask_reg;
  assign vf_req       = req_reg;
  assign vf_ack       = vfack_reg;
  assign pf_event     = !flr && (vf_doorbell || vf_ackw);

  // Reads, one cycle after the strobe.
  always_ff @(posedge clk) begin
    if (rst) begin
      vf_reg_rdata <= '0;
      pf_reg_rdata <= '0;
    end else begin
      if (vf_reg_rd) begin
        vf_reg_rdata <= 32'h0;
        if (vf_hi_zero) begin
          if (vf_reg_addr[7:0] == VF_CTRL_OFF[7:0]) begin
            vf_reg_rdata[B_REQ]  <= req_reg;
            vf_reg_rdata[B_STS]  <= pfsts_reg;
            vf_reg_rdata[B_OACK] <= pfack_reg;
            vf_reg_rdata[B_RSTD] <= rstd_reg;
          end else if (vf_reg_addr[7:0] == VF_IRQ_OFF[7:0]) begin
            vf_reg_rdata[0] <= mask_reg;
          end else if (vf_reg_addr[7:0] == VF_INFO_OFF[7:0]) begin
            vf_reg_rdata <= {16'h0, 8'(VECTOR), 8'(WORDS)};
          end else if (vf_in_vfmsg) begin
            vf_reg_rdata <= vf_msg_reg[vf_word];
          end else if (vf_in_pfmsg) begin
            vf_reg_rdata <= pf_msg_reg[vf_word];
          end
        end
      end
      if (pf_reg_rd) begin
        pf_reg_rdata <= 32'h0;
        if (pf_aligned) begin
          if (pf_reg_addr == PF_CTRL_OFF) begin
            pf_reg_rdata[B_REQ]  <= pfsts_reg;
            pf_reg_rdata[B_STS]  <= req_reg;
            pf_reg_rdata[B_OACK] <= vfack_reg;
            pf_reg_rdata[B_RSTD] <= rstd_reg;
          end else if (pf_reg_addr == PF_ERRS_OFF) begin
            pf_reg_rdata <= {16'h0, errs_reg};
          end else if (pf_reg_addr[7:6] == MSG_VF) begin
            pf_reg_rdata <= vf_msg_reg[pf_word];
          end else if (pf_reg_addr[7:6] == MSG_PF) begin
            pf_reg_rdata <= pf_msg_reg[pf_word];
          end
        end
      end
    end
  end

  // ---------------------------------------------------------------- assertions
  // REQ/ACK: a VF doorbell stays until the PF acknowledges it (or an FLR), a PF
  // doorbell until the VF does; the VF's message is frozen while its REQ is up;
  // an FLR leaves RSTD set for the VF driver.
  `ASSERT(vf_req_held, req_reg && !flr && !pf_ackw |=> req_reg)
  `ASSERT(pf_req_held, pfsts_reg && !flr && !vf_ackw |=> pfsts_reg)
  `ASSERT(vf_msg_frozen, req_reg && !flr |=> $stable(vf_msg_reg))
  `ASSERT(ack_needs_req, pfack_reg |-> !req_reg)
  `ASSERT(rstd_after_flr, flr |=> rstd_reg)
  `ASSERT_NEVER(event_in_flr, pf_event && flr)
  `ASSERT_NEVER(irq_while_masked, vf_irq_valid && mask_reg)

endmodule

`resetall
