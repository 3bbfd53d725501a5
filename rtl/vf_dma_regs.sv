// vf_dma_regs: register block of one function — FUNC_ID and, per queue pair,
// the TX and RX ring registers (docs/ARCHITECTURE.md §3.1, §4b, §4c).
//
// Holds each queue's ENABLE bit and latched error state: run = enabled, not in
// error, function enabled. Errors come from PROD writes out of range, from
// enabling with a bad size or a misaligned base, and from the engine; the
// first one is kept until ENABLE is written again. FUNC_CTRL.FLR (or
// func_enable low) resets every register of the function, the statistics
// included (frames the FLR abandons are counted after it); FUNC_STATUS.BUSY
// and *Q_STATUS.BUSY tell when the DMA of a disabled queue has drained.
//
// Ring state (§4c): per ring a {gen, index} register follows the engine while
// its queue is enabled and keeps the last value once it stops, so the state
// can be read after a quiesce and written into a stopped queue; an enable with
// RESUME starts the engine there, one without it at index 0, gen 1. The
// engines load `*_start` while their queue is disabled.
//
// Format B (RING_FMT_B) adds RX ring 2 and the RX completion ring size per
// queue, and vmxnet3's BAR0 page at FUNC_UPT, whose doorbells and IMRs
// are decoded as the queue registers they alias.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_regs
  import nic_pkg::*, nic_regs_pkg::*;
#(
    parameter int NUM_QUEUES = 1,  // queue pairs (<= 16: 0x100 each in 0x1000..0x1FFF)
    parameter int ADDR_W = 64,  // host address width
    parameter ring_fmt_e RING_FMT = RING_FMT_A,  // ring format of the queues
    localparam int ST_W = 17  // ring state {gen, index[15:0]}
) (
    input wire logic              clk,
    input wire logic              rst,
    input wire logic [FUNC_W-1:0] func_num,
    input wire logic              func_enable,

    input  wire logic                    reg_wr,
    input  wire logic                    reg_rd,
    input  wire logic [FUNC_SPACE_W-1:0] reg_addr,
    input  wire logic [       REG_W-1:0] reg_wdata,
    output logic      [       REG_W-1:0] reg_rdata,

    output logic      [NUM_QUEUES-1:0]             txq_en,
    output logic      [NUM_QUEUES-1:0]             txq_run,
    output logic      [NUM_QUEUES-1:0][ADDR_W-1:0] txq_base,
    output logic      [NUM_QUEUES-1:0][ADDR_W-1:0] txq_cpl_base,
    output logic      [NUM_QUEUES-1:0][       3:0] txq_size,
    output logic      [NUM_QUEUES-1:0][      15:0] txq_prod,
    input  wire logic [NUM_QUEUES-1:0][      15:0] txq_cons,
    input  wire logic [NUM_QUEUES-1:0]             txq_err,       // pulse from the engine
    input  wire logic [NUM_QUEUES-1:0][       7:0] txq_err_code,

    output logic [NUM_QUEUES-1:0] rxq_en,
    output logic [NUM_QUEUES-1:0] rxq_run,
    output logic [NUM_QUEUES-1:0][ADDR_W-1:0] rxq_base,
    output logic [NUM_QUEUES-1:0][ADDR_W-1:0] rxq_cpl_base,
    output logic [NUM_QUEUES-1:0][3:0] rxq_size,
    output logic [NUM_QUEUES-1:0][15:0] rxq_prod,
    input wire logic [NUM_QUEUES-1:0][15:0] rxq_cons,
    // format B: RX ring 2 and the RX completion ring size (format A: ring 1's size)
    output logic [NUM_QUEUES-1:0][ADDR_W-1:0] rx2_base,
    output logic [NUM_QUEUES-1:0][3:0] rx2_size,
    output logic [NUM_QUEUES-1:0][15:0] rx2_prod,
    input wire logic [NUM_QUEUES-1:0][15:0] rx2_cons,
    output logic [NUM_QUEUES-1:0][3:0] rxq_cpl_size,
    input wire logic [NUM_QUEUES-1:0] rxq_err,
    input wire logic [NUM_QUEUES-1:0][7:0] rxq_err_code,
    input wire logic [NUM_QUEUES-1:0] rxq_drop,  // pulse: one frame dropped
    input wire logic [NUM_QUEUES-1:0] txq_busy,  // DMA of the queue outstanding
    input wire logic [NUM_QUEUES-1:0] rxq_busy,
    input wire logic [NUM_QUEUES-1:0][7:0] txq_abandon,  // frames abandoned by disable, this cycle
    input wire logic [NUM_QUEUES-1:0][7:0] rxq_abandon,

    // ring state {gen, index}: live from the engines, start values to them (§4c)
    input  wire logic [NUM_QUEUES-1:0][ST_W-1:0] txd_live,
    input  wire logic [NUM_QUEUES-1:0][ST_W-1:0] txc_live,
    input  wire logic [NUM_QUEUES-1:0][ST_W-1:0] rxd_live,
    input  wire logic [NUM_QUEUES-1:0][ST_W-1:0] rxc_live,
    input  wire logic [NUM_QUEUES-1:0][ST_W-1:0] rx2_live,
    output logic      [NUM_QUEUES-1:0][ST_W-1:0] txd_start,
    output logic      [NUM_QUEUES-1:0][ST_W-1:0] txc_start,
    output logic      [NUM_QUEUES-1:0][ST_W-1:0] rxd_start,
    output logic      [NUM_QUEUES-1:0][ST_W-1:0] rxc_start,
    output logic      [NUM_QUEUES-1:0][ST_W-1:0] rx2_start,

    output logic rx_hash_en,  // RX_STEER.HASH

    // interrupt vectors: 2q = TX queue q, 2q+1 = RX queue q
    output logic [2*NUM_QUEUES-1:0]       irq_mask,
    output logic [2*NUM_QUEUES-1:0][15:0] irq_interval,
    output logic [2*NUM_QUEUES-1:0][ 7:0] irq_thresh
);

  localparam bit FMT_B = RING_FMT == RING_FMT_B;
  localparam logic [15:0] VENDOR_ID = FMT_B ? FMT_B_VENDOR_ID : FMT_A_VENDOR_ID;
  localparam logic [15:0] DEVICE_ID = FMT_B ? FMT_B_DEVICE_ID : FMT_A_DEVICE_ID;
  localparam int QW = NUM_QUEUES > 1 ? $clog2(NUM_QUEUES) : 1;
  // queue-pair registers are decoded by their offset inside the TX block; the RX
  // block repeats it at +RX_BLOCK and format B's ring 2 at +R2_BLOCK (checked below)
  localparam logic [7:0] RX_BLOCK = 8'(FUNC_QUEUE_RXQ_BASE_LO - FUNC_QUEUE_TXQ_BASE_LO);
  localparam logic [7:0] R2_BLOCK = 8'(FUNC_QUEUE_RX2_BASE_LO - FUNC_QUEUE_TXQ_BASE_LO);
  localparam logic [5:0] Q_BASE_LO = 6'(FUNC_QUEUE_TXQ_BASE_LO);
  localparam logic [5:0] Q_BASE_HI = 6'(FUNC_QUEUE_TXQ_BASE_HI);
  localparam logic [5:0] Q_CPL_LO = 6'(FUNC_QUEUE_TXQ_CPL_BASE_LO);
  localparam logic [5:0] Q_CPL_HI = 6'(FUNC_QUEUE_TXQ_CPL_BASE_HI);
  localparam logic [5:0] Q_SIZE = 6'(FUNC_QUEUE_TXQ_SIZE);
  localparam logic [5:0] Q_CTRL = 6'(FUNC_QUEUE_TXQ_CTRL);
  localparam logic [5:0] Q_PROD = 6'(FUNC_QUEUE_TXQ_PROD);
  localparam logic [5:0] Q_CONS = 6'(FUNC_QUEUE_TXQ_CONS);
  localparam logic [5:0] Q_STATUS = 6'(FUNC_QUEUE_TXQ_STATUS);
  localparam logic [5:0] Q_DROPS = 6'(FUNC_QUEUE_RXQ_DROPS);
  localparam logic [5:0] Q_IRQ_CTRL = 6'(FUNC_QUEUE_TXQ_IRQ_CTRL);
  localparam logic [5:0] Q_IRQ_MOD = 6'(FUNC_QUEUE_TXQ_IRQ_MOD);
  localparam logic [5:0] Q_ABANDONED = 6'(FUNC_QUEUE_TXQ_ABANDONED);
  localparam logic [5:0] Q_STATE = 6'(FUNC_QUEUE_TXQ_STATE);
  localparam logic [5:0] Q_CPL_STATE = 6'(FUNC_QUEUE_TXQ_CPL_STATE);
  localparam logic [5:0] Q_UPT_ERROR = 6'(FUNC_QUEUE_TXQ_UPT_ERROR);
  // in the ring-2 block: the RX completion ring size
  localparam logic [5:0] R2_CPL_SIZE = 6'(FUNC_QUEUE_RXQ_CPL_SIZE);
  localparam logic [3:0] Q_PAGE = FUNC_QUEUE[15:12];  // the queue pairs' 4 KiB page
  localparam int C_ENABLE = FUNC_QUEUE_TXQ_CTRL_ENABLE_LSB;
  localparam int C_RESUME = FUNC_QUEUE_TXQ_CTRL_RESUME_LSB;
  // format B: vmxnet3's BAR0 page and its doorbells, offsets inside the page
  localparam logic [11:0] UPT_IMR = 12'(FUNC_UPT_IMR);  // + 8 * vector
  localparam logic [11:0] UPT_TXPROD = 12'(FUNC_UPT_TXPROD);  // + 8 * queue
  localparam logic [11:0] UPT_RXPROD = 12'(FUNC_UPT_RXPROD);  // + 8 * queue, ring 1
  localparam logic [11:0] UPT_RXPROD2 = 12'(FUNC_UPT_RXPROD2);  // + 8 * queue, ring 2
  localparam logic [ST_W-1:0] ST_INIT = {1'b1, 16'd0};  // index 0, gen 1

  // ring state registers, by ring
  localparam int ST_TXD = 0, ST_TXC = 1, ST_RXD = 2, ST_RXC = 3, ST_RX2 = 4, ST_N = 5;
  localparam logic [ST_N-1:0] ST_DIR = 5'b11100;  // the queue (0 TX, 1 RX) each ring belongs to

  `ASSERT_PARAM(g_check_num_queues, NUM_QUEUES >= 1 && NUM_QUEUES <= FUNC_QUEUE_COUNT,
                "NUM_QUEUES must be 1..16")
  // the decode below takes the queue from offset bits [11:8], the block from [7:6]
  localparam bit LAYOUT_OK = FUNC_QUEUE[11:0] == '0 && FUNC_QUEUE_STRIDE == 256
      && RX_BLOCK == 8'd64 && R2_BLOCK == 8'd128
      && FUNC_QUEUE_RXQ_PROD - FUNC_QUEUE_TXQ_PROD == 16'(RX_BLOCK)
      && FUNC_QUEUE_RX2_PROD - FUNC_QUEUE_TXQ_PROD == 16'(R2_BLOCK)
      && FUNC_QUEUE_RX2_STATE - FUNC_QUEUE_TXQ_STATE == 16'(R2_BLOCK)
      && FUNC_QUEUE_RX2_SIZE - FUNC_QUEUE_TXQ_SIZE == 16'(R2_BLOCK);
  `ASSERT_PARAM(g_check_layout, LAYOUT_OK,
                "queue-pair layout of nic_regs_pkg is not the one this decode assumes")
  `ASSERT_PARAM(g_check_addr_w, ADDR_W <= 64 && ADDR_W >= 32, "ADDR_W must be 32..64")

  // ---------------- state ----------------
  // queue registers, index 0: TX, 1: RX
  logic [1:0][NUM_QUEUES-1:0][63:0] base_reg, base_next;
  logic [1:0][NUM_QUEUES-1:0][63:0] cpl_reg, cpl_next;
  logic [1:0][NUM_QUEUES-1:0][4:0] size_reg, size_next;
  logic [1:0][NUM_QUEUES-1:0] en_reg, en_next;
  logic [1:0][NUM_QUEUES-1:0] en_d_reg, en_d_next;  // en_reg a cycle late (ring state follows)
  logic [1:0][NUM_QUEUES-1:0] err_reg, err_next;
  logic [1:0][NUM_QUEUES-1:0][7:0] code_reg, code_next;
  logic [1:0][NUM_QUEUES-1:0][15:0] prod_reg, prod_next;
  logic [1:0][NUM_QUEUES-1:0] mask_reg, mask_next;
  logic [1:0][NUM_QUEUES-1:0][23:0] mod_reg, mod_next;
  // format B: RX ring 2 and the RX completion ring
  logic [NUM_QUEUES-1:0][63:0] base2_reg, base2_next;
  logic [NUM_QUEUES-1:0][4:0] size2_reg, size2_next;
  logic [NUM_QUEUES-1:0][4:0] cpl_size_reg, cpl_size_next;
  logic [NUM_QUEUES-1:0][15:0] prod2_reg, prod2_next;
  logic hash_en_reg, hash_en_next;
  // statistics
  logic [NUM_QUEUES-1:0][31:0] drops_reg, drops_next;
  logic [1:0][NUM_QUEUES-1:0][31:0] aband_reg, aband_next;
  // ring state {gen, index} (§4c), by ring
  logic [ST_N-1:0][NUM_QUEUES-1:0][ST_W-1:0] st_reg, st_next;
  logic [REG_W-1:0] rdata_reg, rdata_next;

  // One always_comb per job, not one for the module: Verilator orders combinational
  // logic block by block, and the outputs go to engines whose busy, error and live
  // signals come back; one block reading those and driving these would be a loop.

  // ---------------- decode ----------------
  logic [FUNC_SPACE_W-1:0] addr;  // reg_addr, with the UPT page's aliases resolved
  logic in_q, q_ok, dir, hi_ok, r2_ok, flr, ctrl_wr, enabling, resume;
  logic [3:0] qa;
  logic [QW-1:0] qi;
  logic [5:0] sub;

  always_comb begin
    logic [11:0] off;
    logic [ 8:0] slot;
    // A format-B function's UPT page is decoded as the queue registers it aliases.
    off  = reg_addr[11:0];
    slot = 9'((off - UPT_IMR) >> 3);
    addr = reg_addr;
    if (FMT_B && reg_addr[15:12] == FUNC_UPT[15:12]) begin
      addr = '1;  // unmapped unless one of the aliases below
      if (off[2:0] == '0) begin
        if (off < UPT_TXPROD && int'(slot) < 2 * NUM_QUEUES) begin
          // IMR i: vector i = 2q (TX) / 2q+1 (RX): that queue's IRQ_CTRL.MASK
          addr = {Q_PAGE, 4'(slot >> 1), 1'b0, slot[0], Q_IRQ_CTRL};
        end else if (off >= UPT_TXPROD && off < UPT_TXPROD + 12'(8 * NUM_QUEUES)) begin
          addr = {Q_PAGE, 4'(off[6:3]), 2'b00, Q_PROD};
        end else if (off >= UPT_RXPROD && off < UPT_RXPROD + 12'(8 * NUM_QUEUES)) begin
          addr = {Q_PAGE, 4'(off[6:3]), 2'b01, Q_PROD};
        end else if (off >= UPT_RXPROD2 && off < UPT_RXPROD2 + 12'(8 * NUM_QUEUES)) begin
          addr = {Q_PAGE, 4'(off[6:3]), 2'b10, Q_PROD};
        end
      end
    end

    in_q  = addr[15:12] == Q_PAGE;
    qa    = addr[11:8];
    q_ok  = in_q && int'(qa) < NUM_QUEUES;
    qi    = QW'(qa);
    dir   = addr[6];  // 0x40..0x7F: RX
    sub   = addr[5:0];
    hi_ok = addr[7] == 1'b0;
    r2_ok = FMT_B && addr[7:6] == 2'b10;  // 0x80..0xBF: RX ring 2 (format B)

    // function-level reset: FUNC_CTRL.FLR written 1, or the function disabled;
    // every queue register returns to its reset value (counters are kept)
    flr = !func_enable || (reg_wr && reg_addr == FUNC_CTRL && reg_wdata[FUNC_CTRL_FLR_LSB]);
    // a CTRL write enabling a disabled queue, and whether it resumes (§4c)
    ctrl_wr = reg_wr && q_ok && hi_ok && sub == Q_CTRL;
    enabling = ctrl_wr && reg_wdata[C_ENABLE] && !en_reg[dir][qi];
    resume = reg_wdata[C_RESUME];
  end

  function automatic logic size_ok(input logic [4:0] s);
    size_ok = int'(s) >= RING_SIZE_LOG2_MIN && int'(s) <= RING_SIZE_LOG2_MAX;
  endfunction

  // format B RX: a completion ring of at least ring 1 + ring 2 entries
  function automatic logic cpl_size_ok(input logic [4:0] c, input logic [4:0] s1,
                                       input logic [4:0] s2);
    cpl_size_ok = int'(c) <= RX_CPL_SIZE_LOG2_MAX && c > s1 && c > s2;
  endfunction

  function automatic logic [31:0] upt_code(input logic [7:0] code);
    unique case (code)
      ERR_NONE:                         upt_code = 32'h0;
      ERR_TOO_MANY_BUFS:                upt_code = 32'h8000_0000;  // VMXNET3_ERR_NOEOP
      ERR_DESC_LEN_MAX:                 upt_code = 32'h8000_0002;  // VMXNET3_ERR_BIG_PKT
      ERR_DESC_TYPE:                    upt_code = 32'h8000_0003;  // VMXNET3_ERR_DESC_NOT_SPT
      ERR_DESC_LEN_ZERO, ERR_SMALL_BUF: upt_code = 32'h8000_0004;  // VMXNET3_ERR_SMALL_BUF
      ERR_DESC_GEN:                     upt_code = 32'h8000_0007;  // VMXNET3_ERR_TXD_INVALID
      default:                          upt_code = 32'h8000_0100 | 32'(code);  // no vmxnet3 name
    endcase
  endfunction

  function automatic logic [31:0] state_word(input logic [ST_W-1:0] st);
    state_word = {st[16], 15'd0, st[15:0]};
  endfunction

  // ---------------- next state ----------------
  always_comb begin
    logic [ST_N-1:0][NUM_QUEUES-1:0][ST_W-1:0] live;
    live[ST_TXD] = txd_live;
    live[ST_TXC] = txc_live;
    live[ST_RXD] = rxd_live;
    live[ST_RXC] = rxc_live;
    live[ST_RX2] = rx2_live;

    // statistics: reset by rst and FLR
    drops_next   = drops_reg;
    aband_next   = aband_reg;
    for (int q = 0; q < NUM_QUEUES; q++) begin
      if (rxq_drop[q]) drops_next[q] = drops_reg[q] + 1'b1;
      aband_next[0][q] = aband_reg[0][q] + 32'(txq_abandon[q]);
      aband_next[1][q] = aband_reg[1][q] + 32'(rxq_abandon[q]);
    end
    if (flr) begin
      drops_next = '0;
      aband_next = '0;
    end

    // ring state (§4c): follows the engine while the queue is enabled and in the cycle
    // after it stops (the engine may have taken one more entry in the disabling cycle);
    // then holds, and a write sets it
    st_next = st_reg;
    for (int s = 0; s < ST_N; s++) begin
      for (int q = 0; q < NUM_QUEUES; q++) begin
        if (en_reg[ST_DIR[s]][q] || en_d_reg[ST_DIR[s]][q]) st_next[s][q] = live[s][q];
      end
    end
    if (reg_wr && q_ok && !en_reg[dir][qi]) begin
      if (hi_ok && sub == Q_STATE)
        st_next[dir?ST_RXD : ST_TXD][qi] = {reg_wdata[31], reg_wdata[15:0]};
      if (hi_ok && sub == Q_CPL_STATE)
        st_next[dir?ST_RXC : ST_TXC][qi] = {reg_wdata[31], reg_wdata[15:0]};
    end
    if (reg_wr && q_ok && r2_ok && sub == Q_STATE && !en_reg[1][qi]) begin
      st_next[ST_RX2][qi] = {reg_wdata[31], reg_wdata[15:0]};
    end
    if (enabling && !resume) begin
      for (int s = 0; s < ST_N; s++) begin
        if (ST_DIR[s] == dir) st_next[s][qi] = ST_INIT;
      end
    end
    if (flr) st_next = {(ST_N * NUM_QUEUES) {ST_INIT}};

    // queue registers
    en_next = en_reg;
    en_d_next = en_reg;
    err_next = err_reg;
    code_next = code_reg;
    prod_next = prod_reg;
    base_next = base_reg;
    cpl_next = cpl_reg;
    mask_next = mask_reg;
    mod_next = mod_reg;
    size_next = size_reg;
    base2_next = base2_reg;
    size2_next = size2_reg;
    cpl_size_next = cpl_size_reg;
    prod2_next = prod2_reg;
    hash_en_next = hash_en_reg;
    if (reg_wr && reg_addr == FUNC_RX_STEER) hash_en_next = reg_wdata[FUNC_RX_STEER_HASH_LSB];
    // engine errors: the first one is kept
    for (int q = 0; q < NUM_QUEUES; q++) begin
      if (txq_err[q] && en_reg[0][q] && !err_reg[0][q]) begin
        err_next[0][q]  = 1'b1;
        code_next[0][q] = txq_err_code[q];
      end
      if (rxq_err[q] && en_reg[1][q] && !err_reg[1][q]) begin
        err_next[1][q]  = 1'b1;
        code_next[1][q] = rxq_err_code[q];
      end
    end
    if (reg_wr && q_ok && hi_ok) begin
      unique case (sub)
        Q_BASE_LO:  base_next[dir][qi][31:0] = reg_wdata;
        Q_BASE_HI:  base_next[dir][qi][63:32] = reg_wdata;
        Q_CPL_LO:   cpl_next[dir][qi][31:0] = reg_wdata;
        Q_CPL_HI:   cpl_next[dir][qi][63:32] = reg_wdata;
        Q_SIZE:     size_next[dir][qi] = (reg_wdata > 32'd31) ? 5'd31 : reg_wdata[4:0];
        Q_CTRL: begin
          if (!reg_wdata[C_ENABLE]) begin
            en_next[dir][qi]   = 1'b0;
            err_next[dir][qi]  = 1'b0;
            code_next[dir][qi] = ERR_NONE;
            prod_next[dir][qi] = '0;
            if (dir) prod2_next[qi] = '0;
          end else if (!en_reg[dir][qi]) begin
            // enabling: the ring's size and alignment are checked now
            en_next[dir][qi]   = 1'b1;
            err_next[dir][qi]  = 1'b0;
            code_next[dir][qi] = ERR_NONE;
            if (!size_ok(
                    size_reg[dir][qi]
                ) || (FMT_B && dir && (!size_ok(
                    size2_reg[qi]
                ) || !cpl_size_ok(
                    cpl_size_reg[qi], size_reg[1][qi], size2_reg[qi]
                )))) begin
              err_next[dir][qi]  = 1'b1;
              code_next[dir][qi] = ERR_RING_SIZE;
            end else if (base_reg[dir][qi][5:0] != '0 || cpl_reg[dir][qi][5:0] != '0 ||
                         (FMT_B && dir && base2_reg[qi][5:0] != '0)) begin
              err_next[dir][qi]  = 1'b1;
              code_next[dir][qi] = ERR_DESC_ALIGN;
            end
          end
        end
        Q_PROD: begin
          if (reg_wdata >= (32'd1 << size_reg[dir][qi]) || !size_ok(size_reg[dir][qi])) begin
            if (en_reg[dir][qi] && !err_reg[dir][qi]) begin
              err_next[dir][qi]  = 1'b1;
              code_next[dir][qi] = ERR_PROD_RANGE;
            end
          end else begin
            prod_next[dir][qi] = reg_wdata[15:0];
          end
        end
        Q_IRQ_CTRL: mask_next[dir][qi] = reg_wdata[FUNC_QUEUE_TXQ_IRQ_CTRL_MASK_LSB];
        Q_IRQ_MOD:  mod_next[dir][qi] = reg_wdata[23:0];
        default:    ;
      endcase
    end
    if (reg_wr && q_ok && r2_ok) begin
      unique case (sub)
        Q_BASE_LO:   base2_next[qi][31:0] = reg_wdata;
        Q_BASE_HI:   base2_next[qi][63:32] = reg_wdata;
        R2_CPL_SIZE: cpl_size_next[qi] = (reg_wdata > 32'd31) ? 5'd31 : reg_wdata[4:0];
        Q_SIZE:      size2_next[qi] = (reg_wdata > 32'd31) ? 5'd31 : reg_wdata[4:0];
        Q_PROD: begin
          if (reg_wdata >= (32'd1 << size2_reg[qi]) || !size_ok(size2_reg[qi])) begin
            if (en_reg[1][qi] && !err_reg[1][qi]) begin
              err_next[1][qi]  = 1'b1;
              code_next[1][qi] = ERR_PROD_RANGE;
            end
          end else begin
            prod2_next[qi] = reg_wdata[15:0];
          end
        end
        default:     ;
      endcase
    end
    if (flr) begin
      en_next       = '0;
      en_d_next     = '0;
      err_next      = '0;
      code_next     = '0;
      prod_next     = '0;
      base_next     = '0;
      cpl_next      = '0;
      mask_next     = '0;
      mod_next      = '0;
      size_next     = '0;
      base2_next    = '0;
      size2_next    = '0;
      cpl_size_next = '0;
      prod2_next    = '0;
      hash_en_next  = 1'b0;
    end

    // read, one cycle latency
    rdata_next = rdata_reg;
    if (reg_rd) begin
      rdata_next = '0;
      if (addr == FUNC_ID) begin
        rdata_next = {DEVICE_ID, 8'(NUM_QUEUES), func_num};
      end else if (addr == FUNC_STATUS) begin
        // bit 1 ERROR: some queue is in the error state (the error interrupt's cause)
        rdata_next = {30'd0, |(err_reg & en_reg), |{txq_busy, rxq_busy}};
      end else if (addr == FUNC_RX_STEER) begin
        rdata_next = 32'(hash_en_reg);
      end else if (addr == FUNC_PCI_ID) begin
        rdata_next = {DEVICE_ID, VENDOR_ID};
      end else if (q_ok && hi_ok) begin
        unique case (sub)
          Q_BASE_LO: rdata_next = base_reg[dir][qi][31:0];
          Q_BASE_HI: rdata_next = base_reg[dir][qi][63:32];
          Q_CPL_LO: rdata_next = cpl_reg[dir][qi][31:0];
          Q_CPL_HI: rdata_next = cpl_reg[dir][qi][63:32];
          Q_SIZE: rdata_next = 32'(size_reg[dir][qi]);
          Q_CTRL: rdata_next = 32'(en_reg[dir][qi]);
          Q_PROD: rdata_next = 32'(prod_reg[dir][qi]);
          // a disabled queue's fetcher holds its start index (§4c); CONS reads 0 as documented
          Q_CONS: rdata_next = !en_reg[dir][qi] ? '0 : dir ? 32'(rxq_cons[qi]) : 32'(txq_cons[qi]);
          Q_STATUS:
          rdata_next = {
            err_reg[dir][qi], dir ? rxq_busy[qi] : txq_busy[qi], 22'd0, code_reg[dir][qi]
          };
          Q_DROPS: rdata_next = dir ? drops_reg[qi] : '0;
          Q_IRQ_CTRL: rdata_next = 32'(mask_reg[dir][qi]);
          Q_IRQ_MOD: rdata_next = 32'(mod_reg[dir][qi]);
          Q_ABANDONED: rdata_next = aband_reg[dir][qi];
          Q_STATE: rdata_next = state_word(st_reg[dir?ST_RXD : ST_TXD][qi]);
          Q_CPL_STATE: rdata_next = state_word(st_reg[dir?ST_RXC : ST_TXC][qi]);
          Q_UPT_ERROR: rdata_next = FMT_B && err_reg[dir][qi] ? upt_code(code_reg[dir][qi]) : '0;
          default: rdata_next = '0;
        endcase
      end else if (q_ok && r2_ok) begin
        unique case (sub)
          Q_BASE_LO:   rdata_next = base2_reg[qi][31:0];
          Q_BASE_HI:   rdata_next = base2_reg[qi][63:32];
          R2_CPL_SIZE: rdata_next = 32'(cpl_size_reg[qi]);
          Q_SIZE:      rdata_next = 32'(size2_reg[qi]);
          Q_PROD:      rdata_next = 32'(prod2_reg[qi]);
          Q_CONS:      rdata_next = !en_reg[1][qi] ? '0 : 32'(rx2_cons[qi]);
          Q_STATE:     rdata_next = state_word(st_reg[ST_RX2][qi]);
          default:     rdata_next = '0;
        endcase
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      en_reg       <= '0;
      en_d_reg     <= '0;
      err_reg      <= '0;
      code_reg     <= '0;
      prod_reg     <= '0;
      base_reg     <= '0;
      cpl_reg      <= '0;
      mask_reg     <= '0;
      mod_reg      <= '0;
      size_reg     <= '0;
      base2_reg    <= '0;
      size2_reg    <= '0;
      cpl_size_reg <= '0;
      prod2_reg    <= '0;
      hash_en_reg  <= 1'b0;
      drops_reg    <= '0;
      aband_reg    <= '0;
      st_reg       <= {(ST_N * NUM_QUEUES) {ST_INIT}};
      rdata_reg    <= '0;
    end else begin
      en_reg       <= en_next;
      en_d_reg     <= en_d_next;
      err_reg      <= err_next;
      code_reg     <= code_next;
      prod_reg     <= prod_next;
      base_reg     <= base_next;
      cpl_reg      <= cpl_next;
      mask_reg     <= mask_next;
      mod_reg      <= mod_next;
      size_reg     <= size_next;
      base2_reg    <= base2_next;
      size2_reg    <= size2_next;
      cpl_size_reg <= cpl_size_next;
      prod2_reg    <= prod2_next;
      hash_en_reg  <= hash_en_next;
      drops_reg    <= drops_next;
      aband_reg    <= aband_next;
      st_reg       <= st_next;
      rdata_reg    <= rdata_next;
    end
  end

  // ---------------- outputs ----------------
  always_comb begin
    reg_rdata  = rdata_reg;
    rx_hash_en = hash_en_reg;
    for (int q = 0; q < NUM_QUEUES; q++) begin
      logic tx_init, rx_init;
      // what a disabled queue's engines load: the held state, or the initial
      // state in the cycle an enable without RESUME is written
      tx_init         = enabling && !resume && !dir && qi == QW'(q);
      rx_init         = enabling && !resume && dir && qi == QW'(q);
      txd_start[q]    = tx_init ? ST_INIT : st_reg[ST_TXD][q];
      txc_start[q]    = tx_init ? ST_INIT : st_reg[ST_TXC][q];
      rxd_start[q]    = rx_init ? ST_INIT : st_reg[ST_RXD][q];
      rxc_start[q]    = rx_init ? ST_INIT : st_reg[ST_RXC][q];
      rx2_start[q]    = rx_init ? ST_INIT : st_reg[ST_RX2][q];

      txq_en[q]       = en_reg[0][q];
      txq_run[q]      = en_reg[0][q] && !err_reg[0][q];
      txq_base[q]     = ADDR_W'(base_reg[0][q]);
      txq_cpl_base[q] = ADDR_W'(cpl_reg[0][q]);
      txq_size[q]     = size_reg[0][q][3:0];
      txq_prod[q]     = prod_reg[0][q];
      rxq_en[q]       = en_reg[1][q];
      rxq_run[q]      = en_reg[1][q] && !err_reg[1][q];
      rxq_base[q]     = ADDR_W'(base_reg[1][q]);
      rxq_cpl_base[q] = ADDR_W'(cpl_reg[1][q]);
      rxq_size[q]     = size_reg[1][q][3:0];
      rxq_prod[q]     = prod_reg[1][q];
      rx2_base[q]     = ADDR_W'(base2_reg[q]);
      rx2_size[q]     = size2_reg[q][3:0];
      rx2_prod[q]     = prod2_reg[q];
      rxq_cpl_size[q] = FMT_B ? cpl_size_reg[q][3:0] : size_reg[1][q][3:0];
      for (int d = 0; d < 2; d++) begin
        irq_mask[2*q+d]     = mask_reg[d][q];
        irq_interval[2*q+d] = mod_reg[d][q][15:0];
        irq_thresh[2*q+d]   = mod_reg[d][q][23:16];
      end
    end
  end

  // ---------------------------------------------------------------- assertions
  // a queue runs only while enabled; one register access at a time
  `ASSERT(tx_run_enabled, (txq_run & ~txq_en) == '0)
  `ASSERT(rx_run_enabled, (rxq_run & ~rxq_en) == '0)
  `ASSERT_NEVER(rd_and_wr, reg_wr && reg_rd)
  // only an enabled queue is in error (disabling clears it; FLR clears both)
  `ASSERT(err_only_enabled, (err_reg & ~en_reg) == '0)

endmodule

`resetall
