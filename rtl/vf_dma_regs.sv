// vf_dma_regs: register block of one function — FUNC_ID and, per queue pair,
// the TX and RX ring registers (docs/ARCHITECTURE.md §3.1).
//
// Holds each queue's ENABLE bit and latched error state: run = enabled, not in
// error, function enabled. Errors come from PROD writes out of range, from
// enabling with a bad size or a misaligned base, and from the engine; the
// first one is kept until ENABLE is written again. FUNC_CTRL.FLR (or
// func_enable low) resets every register of the function, the statistics
// included (frames the FLR abandons are counted after it); FUNC_STATUS.BUSY
// and *Q_STATUS.BUSY tell when the DMA of a disabled queue has drained.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vf_dma_regs import nic_pkg::*; #(
  parameter int NUM_QUEUES = 1,   // queue pairs (<= 16: 0x100 each in 0x1000..0x1FFF)
  parameter int ADDR_W     = 64   // host address width
) (
  input  logic                              clk,
  input  logic                              rst,
  input  logic [FUNC_W-1:0]                 func_num,
  input  logic                              func_enable,

  input  logic                              reg_wr,
  input  logic                              reg_rd,
  input  logic [FUNC_SPACE_W-1:0]           reg_addr,
  input  logic [REG_W-1:0]                  reg_wdata,
  output logic [REG_W-1:0]                  reg_rdata,

  output logic [NUM_QUEUES-1:0]             txq_en,
  output logic [NUM_QUEUES-1:0]             txq_run,
  output logic [NUM_QUEUES-1:0][ADDR_W-1:0] txq_base,
  output logic [NUM_QUEUES-1:0][ADDR_W-1:0] txq_cpl_base,
  output logic [NUM_QUEUES-1:0][3:0]        txq_size,
  output logic [NUM_QUEUES-1:0][15:0]       txq_prod,
  input  logic [NUM_QUEUES-1:0][15:0]       txq_cons,
  input  logic [NUM_QUEUES-1:0]             txq_err,       // pulse from the engine
  input  logic [NUM_QUEUES-1:0][7:0]        txq_err_code,

  output logic [NUM_QUEUES-1:0]             rxq_en,
  output logic [NUM_QUEUES-1:0]             rxq_run,
  output logic [NUM_QUEUES-1:0][ADDR_W-1:0] rxq_base,
  output logic [NUM_QUEUES-1:0][ADDR_W-1:0] rxq_cpl_base,
  output logic [NUM_QUEUES-1:0][3:0]        rxq_size,
  output logic [NUM_QUEUES-1:0][15:0]       rxq_prod,
  input  logic [NUM_QUEUES-1:0][15:0]       rxq_cons,
  input  logic [NUM_QUEUES-1:0]             rxq_err,
  input  logic [NUM_QUEUES-1:0][7:0]        rxq_err_code,
  input  logic [NUM_QUEUES-1:0]             rxq_drop,      // pulse: one frame dropped
  input  logic [NUM_QUEUES-1:0]             txq_busy,      // DMA of the queue outstanding
  input  logic [NUM_QUEUES-1:0]             rxq_busy,
  input  logic [NUM_QUEUES-1:0][7:0]        txq_abandon,   // frames abandoned by disable, this cycle
  input  logic [NUM_QUEUES-1:0][7:0]        rxq_abandon,

  output logic                              rx_hash_en,    // RX_STEER.HASH

  // interrupt vectors: 2q = TX queue q, 2q+1 = RX queue q
  output logic [2*NUM_QUEUES-1:0]           irq_mask,
  output logic [2*NUM_QUEUES-1:0][15:0]     irq_interval,
  output logic [2*NUM_QUEUES-1:0][7:0]      irq_thresh
);

  localparam logic [15:0] BLOCK_ID = 16'h5A01;
  localparam int QW = NUM_QUEUES > 1 ? $clog2(NUM_QUEUES) : 1;

  initial begin
    if (NUM_QUEUES < 1 || NUM_QUEUES > 16) $fatal(1, "%m: NUM_QUEUES must be 1..16");
    if (ADDR_W > 64 || ADDR_W < 32) $fatal(1, "%m: ADDR_W must be 32..64");
  end

  // index 0: TX, 1: RX
  logic [1:0][NUM_QUEUES-1:0][63:0] base_reg, cpl_reg;
  logic [1:0][NUM_QUEUES-1:0][4:0]  size_reg;
  logic [1:0][NUM_QUEUES-1:0]       en_reg, err_reg;
  logic [1:0][NUM_QUEUES-1:0][7:0]  code_reg;
  logic [1:0][NUM_QUEUES-1:0][15:0] prod_reg;
  logic [NUM_QUEUES-1:0][31:0]      drops_reg;
  logic [1:0][NUM_QUEUES-1:0][31:0] aband_reg;
  logic [1:0][NUM_QUEUES-1:0]       mask_reg;
  logic                             hash_en_reg;
  logic [1:0][NUM_QUEUES-1:0][23:0] mod_reg;

  // decode
  wire       in_q  = reg_addr[15:12] == 4'h1;
  wire [3:0] qa    = reg_addr[11:8];
  wire       q_ok  = in_q && int'(qa) < NUM_QUEUES;
  wire [QW-1:0] qi = QW'(qa);
  wire       dir   = reg_addr[6];          // 0x40..0x7F: RX
  wire [5:0] sub   = reg_addr[5:0];
  wire       hi_ok = reg_addr[7] == 1'b0;

  function automatic logic size_ok(input logic [4:0] s);
    size_ok = int'(s) >= RING_SIZE_LOG2_MIN && int'(s) <= RING_SIZE_LOG2_MAX;
  endfunction

  // function-level reset: FUNC_CTRL.FLR written 1, or the function disabled;
  // every queue register returns to its reset value (counters are kept)
  wire flr = !func_enable || (reg_wr && reg_addr == 16'h0004 && reg_wdata[0]);

  // statistics: reset by rst and FLR
  always_ff @(posedge clk) begin
    if (rst || flr) begin
      drops_reg <= '0;
      aband_reg <= '0;
    end else begin
      for (int q = 0; q < NUM_QUEUES; q++) begin
        if (rxq_drop[q])    drops_reg[q]    <= drops_reg[q] + 1'b1;
        aband_reg[0][q] <= aband_reg[0][q] + 32'(txq_abandon[q]);
        aband_reg[1][q] <= aband_reg[1][q] + 32'(rxq_abandon[q]);
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst || flr) begin
      en_reg    <= '0;
      err_reg   <= '0;
      code_reg  <= '0;
      prod_reg  <= '0;
      base_reg  <= '0;
      cpl_reg   <= '0;
      mask_reg  <= '0;
      mod_reg   <= '0;
      size_reg  <= '0;
      hash_en_reg <= 1'b0;
    end else begin
      if (reg_wr && reg_addr == 16'h000C) hash_en_reg <= reg_wdata[0];
      // engine errors: the first one is kept
      for (int q = 0; q < NUM_QUEUES; q++) begin
        if (txq_err[q] && en_reg[0][q] && !err_reg[0][q]) begin
          err_reg[0][q]  <= 1'b1;
          code_reg[0][q] <= txq_err_code[q];
        end
        if (rxq_err[q] && en_reg[1][q] && !err_reg[1][q]) begin
          err_reg[1][q]  <= 1'b1;
          code_reg[1][q] <= rxq_err_code[q];
        end
      end
      if (reg_wr && q_ok && hi_ok) begin
        unique case (sub)
          6'h00: base_reg[dir][qi][31:0]  <= reg_wdata;
          6'h04: base_reg[dir][qi][63:32] <= reg_wdata;
          6'h08: cpl_reg[dir][qi][31:0]   <= reg_wdata;
          6'h0C: cpl_reg[dir][qi][63:32]  <= reg_wdata;
          6'h10: size_reg[dir][qi]        <= (reg_wdata > 32'd31) ? 5'd31 : reg_wdata[4:0];
          6'h14: begin
            if (!reg_wdata[0]) begin
              en_reg[dir][qi]   <= 1'b0;
              err_reg[dir][qi]  <= 1'b0;
              code_reg[dir][qi] <= ERR_NONE;
              prod_reg[dir][qi] <= '0;
            end else if (!en_reg[dir][qi]) begin
              en_reg[dir][qi]   <= 1'b1;
              err_reg[dir][qi]  <= 1'b0;
              code_reg[dir][qi] <= ERR_NONE;
              if (!size_ok(size_reg[dir][qi])) begin
                err_reg[dir][qi]  <= 1'b1;
                code_reg[dir][qi] <= ERR_RING_SIZE;
              end else if (base_reg[dir][qi][5:0] != '0 || cpl_reg[dir][qi][5:0] != '0) begin
                err_reg[dir][qi]  <= 1'b1;
                code_reg[dir][qi] <= ERR_DESC_ALIGN;
              end
            end
          end
          6'h18: begin
            if (reg_wdata >= (32'd1 << size_reg[dir][qi]) || !size_ok(size_reg[dir][qi])) begin
              if (en_reg[dir][qi] && !err_reg[dir][qi]) begin
                err_reg[dir][qi]  <= 1'b1;
                code_reg[dir][qi] <= ERR_PROD_RANGE;
              end
            end else begin
              prod_reg[dir][qi] <= reg_wdata[15:0];
            end
          end
          6'h28: mask_reg[dir][qi]        <= reg_wdata[0];
          6'h2C: mod_reg[dir][qi]         <= reg_wdata[23:0];
          default: ;
        endcase
      end
    end
  end

  // read, one cycle latency
  always_ff @(posedge clk) begin
    if (rst) begin
      reg_rdata <= '0;
    end else if (reg_rd) begin
      reg_rdata <= '0;
      if (reg_addr == '0) begin
        reg_rdata <= {BLOCK_ID, 8'(NUM_QUEUES), func_num};
      end else if (reg_addr == 16'h0008) begin
        // bit 1 ERROR: some queue is in the error state (the error interrupt's cause)
        reg_rdata <= {30'd0, |(err_reg & en_reg), |{txq_busy, rxq_busy}};
      end else if (reg_addr == 16'h000C) begin
        reg_rdata <= 32'(hash_en_reg);
      end else if (q_ok && hi_ok) begin
        unique case (sub)
          6'h00: reg_rdata <= base_reg[dir][qi][31:0];
          6'h04: reg_rdata <= base_reg[dir][qi][63:32];
          6'h08: reg_rdata <= cpl_reg[dir][qi][31:0];
          6'h0C: reg_rdata <= cpl_reg[dir][qi][63:32];
          6'h10: reg_rdata <= 32'(size_reg[dir][qi]);
          6'h14: reg_rdata <= 32'(en_reg[dir][qi]);
          6'h18: reg_rdata <= 32'(prod_reg[dir][qi]);
          6'h1C: reg_rdata <= dir ? 32'(rxq_cons[qi]) : 32'(txq_cons[qi]);
          6'h20: reg_rdata <= {err_reg[dir][qi], dir ? rxq_busy[qi] : txq_busy[qi], 22'd0,
                               code_reg[dir][qi]};
          6'h24: reg_rdata <= dir ? drops_reg[qi] : '0;
          6'h28: reg_rdata <= 32'(mask_reg[dir][qi]);
          6'h2C: reg_rdata <= 32'(mod_reg[dir][qi]);
          6'h30: reg_rdata <= aband_reg[dir][qi];
          default: reg_rdata <= '0;
        endcase
      end
    end
  end

  assign rx_hash_en = hash_en_reg;

  always_comb begin
    for (int q = 0; q < NUM_QUEUES; q++) begin
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
      for (int d = 0; d < 2; d++) begin
        irq_mask[2*q+d]     = mask_reg[d][q];
        irq_interval[2*q+d] = mod_reg[d][q][15:0];
        irq_thresh[2*q+d]   = mod_reg[d][q][23:16];
      end
    end
  end

endmodule

`resetall
