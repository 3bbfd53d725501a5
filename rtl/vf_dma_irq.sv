// vf_dma_irq: per-queue interrupt moderation and the interrupt request stream.
//
// Vector 2q is TX queue q, vector 2q+1 is RX queue q. An event is a
// completion entry that has been written (its W beat accepted, so the entry
// is ordered before the interrupt message). A vector fires when it has
// pending entries, is not masked, at least MIN_INTERVAL cycles passed since
// its last interrupt, and either COUNT_THRESH entries are pending or the
// oldest pending entry waited MIN_INTERVAL cycles. A masked vector keeps
// counting and fires once unmasked. One request per cycle at most leaves on
// m_irq (valid held until ready), vectors served round-robin.
//
// Error interrupt: a queue entering the error state (v_err rising) raises one
// message on vector ERR_VEC, with no moderation and ahead of the queue
// vectors. It is masked by that queue's own mask bit (pending while masked,
// sent once unmasked) and forgotten when the queue leaves the error state
// (queue reset / FLR) before it was sent.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vf_dma_irq
  import nic_pkg::*;
#(
    parameter  int NUM_QUEUES = 2,                   // queue pairs
    parameter  int VEC_W      = 8,                   // width of the vector number
    parameter  int EV_W       = 3,                   // width of the per-event entry count
    parameter  int ERR_VEC    = 2 * NUM_QUEUES + 1,  // vector of the error interrupt
    localparam int NV         = 2 * NUM_QUEUES,
    localparam int VW         = $clog2(NV)
) (
    input logic              clk,
    input logic              rst,
    input logic [FUNC_W-1:0] func_num,

    input logic [NV-1:0]       v_en,        // queue enabled (0 clears the vector)
    input logic [NV-1:0]       v_mask,
    input logic [NV-1:0][15:0] v_interval,  // MIN_INTERVAL, cycles
    input logic [NV-1:0][ 7:0] v_thresh,    // COUNT_THRESH, entries (0 = 1)
    input logic [NV-1:0]       v_err,       // queue in the error state

    input logic            ev_valid,  // completion entries written
    input logic [  VW-1:0] ev_vec,
    input logic [EV_W-1:0] ev_n,

    output logic [FUNC_W-1:0] m_irq_func,
    output logic [ VEC_W-1:0] m_irq_vector,
    output logic              m_irq_valid,
    input  logic              m_irq_ready
);

  initial begin
    if ((1 << VEC_W) <= ERR_VEC) $fatal(1, "%m: VEC_W too small for vector %0d", ERR_VEC);
    if (ERR_VEC < NV) $fatal(1, "%m: ERR_VEC (%0d) collides with a queue vector", ERR_VEC);
  end

  logic [   NV-1:0][15:0] count_reg;  // entries pending
  logic [   NV-1:0][15:0] since_reg;  // cycles since the last interrupt (saturating)
  logic [   NV-1:0][15:0] age_reg;  // cycles the oldest pending entry waited (saturating)
  logic                   valid_reg;
  logic [VEC_W-1:0]       vec_reg;
  logic [   NV-1:0]       err_prev_reg;  // v_err last cycle
  logic [   NV-1:0]       err_pend_reg;  // error interrupt owed, per source

  // error messages first: the lowest pending unmasked source
  wire  [   NV-1:0]       err_ready = err_pend_reg & v_err & ~v_mask;
  logic                   err_sel_valid;
  logic [   VW-1:0]       err_sel;
  always_comb begin
    err_sel_valid = 1'b0;
    err_sel       = '0;
    for (int i = NV - 1; i >= 0; i--) begin
      if (err_ready[i]) begin
        err_sel_valid = 1'b1;
        err_sel       = VW'(i);
      end
    end
  end

  logic [NV-1:0] ready_v;
  always_comb begin
    for (int v = 0; v < NV; v++) begin
      logic [15:0] th;
      th = (v_thresh[v] == '0) ? 16'd1 : 16'(v_thresh[v]);
      ready_v[v] = v_en[v] && !v_mask[v] && count_reg[v] != '0 && since_reg[v] >= v_interval[v] &&
                   (count_reg[v] >= th || age_reg[v] >= v_interval[v]);
    end
  end

  logic          sel_valid;
  logic [VW-1:0] sel;
  logic          fire;
  // Vector 1 first after reset (the order the engine was measured with).
  prim_rr_arb #(
      .N(NV),
      .FIRST(1 % NV)
  ) u_rr (
      .clk,
      .rst,
      .req(ready_v),
      .advance(fire),
      .grant_valid(sel_valid),
      .grant_idx(sel)
  );

  wire out_free = !valid_reg || m_irq_ready;
  wire err_fire = err_sel_valid && out_free;
  assign fire = sel_valid && out_free && !err_sel_valid;

  always_ff @(posedge clk) begin
    if (err_fire) vec_reg <= VEC_W'(ERR_VEC);
    else if (fire) vec_reg <= VEC_W'(sel);
    if (rst) begin
      count_reg    <= '0;
      since_reg    <= '1;
      age_reg      <= '0;
      valid_reg    <= 1'b0;
      err_prev_reg <= '0;
      err_pend_reg <= '0;
    end else begin
      if (fire || err_fire) valid_reg <= 1'b1;
      else if (m_irq_ready) valid_reg <= 1'b0;
      err_prev_reg <= v_err;
      for (int v = 0; v < NV; v++) begin
        if (!v_err[v]) err_pend_reg[v] <= 1'b0;
        else if (!err_prev_reg[v]) err_pend_reg[v] <= 1'b1;
        else if (err_fire && err_sel == VW'(v)) err_pend_reg[v] <= 1'b0;
      end
      for (int v = 0; v < NV; v++) begin
        logic [15:0] add;
        add = (ev_valid && ev_vec == VW'(v)) ? 16'(ev_n) : 16'd0;
        if (!v_en[v]) begin
          count_reg[v] <= '0;
          since_reg[v] <= '1;
          age_reg[v]   <= '0;
        end else if (fire && sel == VW'(v)) begin
          count_reg[v] <= add;
          since_reg[v] <= '0;
          age_reg[v]   <= '0;
        end else begin
          count_reg[v] <= count_reg[v] + add;
          if (since_reg[v] != '1) since_reg[v] <= since_reg[v] + 1'b1;
          if (count_reg[v] == '0) age_reg[v] <= '0;
          else if (age_reg[v] != '1) age_reg[v] <= age_reg[v] + 1'b1;
        end
      end
    end
  end

  assign m_irq_func   = func_num;
  assign m_irq_vector = vec_reg;
  assign m_irq_valid  = valid_reg;

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst && ev_valid) begin
      assert (int'(ev_vec) < NV)
      else $error("%m: event for vector %0d of %0d", ev_vec, NV);
    end
  end
`endif

endmodule

`resetall
