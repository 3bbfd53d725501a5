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

`include "prim_assert.svh"

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
    input wire logic              clk,
    input wire logic              rst,
    input wire logic [FUNC_W-1:0] func_num,

    input wire logic [NV-1:0]       v_en,        // queue enabled (0 clears the vector)
    input wire logic [NV-1:0]       v_mask,
    input wire logic [NV-1:0][15:0] v_interval,  // MIN_INTERVAL, cycles
    input wire logic [NV-1:0][ 7:0] v_thresh,    // COUNT_THRESH, entries (0 = 1)
    input wire logic [NV-1:0]       v_err,       // queue in the error state

    input wire logic            ev_valid,  // completion entries written
    input wire logic [  VW-1:0] ev_vec,
    input wire logic [EV_W-1:0] ev_n,

    output logic      [FUNC_W-1:0] m_irq_func,
    output logic      [ VEC_W-1:0] m_irq_vector,
    output logic                   m_irq_valid,
    input  wire logic              m_irq_ready
);

  `ASSERT_PARAM(g_check_vec_w, (1 << VEC_W) > ERR_VEC, "VEC_W too small for vector ERR_VEC")
  `ASSERT_PARAM(g_check_err_vec, ERR_VEC >= NV, "ERR_VEC collides with a queue vector")

  logic [NV-1:0][15:0] count_reg, count_next;  // entries pending
  logic [NV-1:0][15:0] since_reg, since_next;  // cycles since the last interrupt (saturating)
  logic [NV-1:0][15:0] age_reg, age_next;  // cycles the oldest pending entry waited (saturating)
  logic valid_reg, valid_next;
  logic [VEC_W-1:0] vec_reg, vec_next;  // data: qualified by valid_reg, not reset
  logic [NV-1:0] err_prev_reg, err_prev_next;  // v_err last cycle
  logic [NV-1:0] err_pend_reg, err_pend_next;  // error interrupt owed, per source

  logic [NV-1:0] err_ready;  // error interrupt owed and sendable
  logic err_sel_valid;
  logic [VW-1:0] err_sel;
  logic [NV-1:0] ready_v;  // moderation satisfied: the vector may fire
  logic [NV-1:0][15:0] add;  // entries the event adds to each vector
  logic sel_valid;
  logic [VW-1:0] sel;
  logic out_free, fire, err_fire;

  // Requests of the arbiter, a block of their own: the next state below depends
  // on its grant, so one block would be a combinational loop through it.
  always_comb begin
    // error messages first: the lowest pending unmasked source
    err_ready     = err_pend_reg & v_err & ~v_mask;
    err_sel_valid = 1'b0;
    err_sel       = '0;
    for (int i = NV - 1; i >= 0; i--) begin
      if (err_ready[i]) begin
        err_sel_valid = 1'b1;
        err_sel       = VW'(i);
      end
    end
    for (int v = 0; v < NV; v++) begin
      logic [15:0] th;
      th = (v_thresh[v] == '0) ? 16'd1 : 16'(v_thresh[v]);
      ready_v[v] = v_en[v] && !v_mask[v] && count_reg[v] != '0 && since_reg[v] >= v_interval[v] &&
          (count_reg[v] >= th || age_reg[v] >= v_interval[v]);
    end
  end

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

  always_comb begin
    count_next    = count_reg;
    since_next    = since_reg;
    age_next      = age_reg;
    valid_next    = valid_reg;
    vec_next      = vec_reg;
    err_prev_next = v_err;
    err_pend_next = err_pend_reg;

    // the output register takes a request when it is empty or being emptied;
    // an error message goes ahead of the moderated vectors
    out_free      = !valid_reg || m_irq_ready;
    err_fire      = err_sel_valid && out_free;
    fire          = sel_valid && out_free && !err_sel_valid;

    if (err_fire) vec_next = VEC_W'(ERR_VEC);
    else if (fire) vec_next = VEC_W'(sel);
    if (fire || err_fire) valid_next = 1'b1;
    else if (m_irq_ready) valid_next = 1'b0;

    // an error interrupt is owed from v_err's rising edge until sent, and
    // forgotten when the queue leaves the error state
    for (int v = 0; v < NV; v++) begin
      if (!v_err[v]) err_pend_next[v] = 1'b0;
      else if (!err_prev_reg[v]) err_pend_next[v] = 1'b1;
      else if (err_fire && err_sel == VW'(v)) err_pend_next[v] = 1'b0;
    end

    for (int v = 0; v < NV; v++) begin
      add[v] = (ev_valid && ev_vec == VW'(v)) ? 16'(ev_n) : 16'd0;
      if (!v_en[v]) begin
        count_next[v] = '0;
        since_next[v] = '1;
        age_next[v]   = '0;
      end else if (fire && sel == VW'(v)) begin
        // entries of this cycle's event count towards the next interrupt
        count_next[v] = add[v];
        since_next[v] = '0;
        age_next[v]   = '0;
      end else begin
        count_next[v] = count_reg[v] + add[v];
        if (since_reg[v] != '1) since_next[v] = since_reg[v] + 1'b1;
        if (count_reg[v] == '0) age_next[v] = '0;
        else if (age_reg[v] != '1) age_next[v] = age_reg[v] + 1'b1;
      end
    end
  end

  always_ff @(posedge clk) begin
    vec_reg <= vec_next;
    if (rst) begin
      count_reg    <= '0;
      since_reg    <= '1;
      age_reg      <= '0;
      valid_reg    <= 1'b0;
      err_prev_reg <= '0;
      err_pend_reg <= '0;
    end else begin
      count_reg    <= count_next;
      since_reg    <= since_next;
      age_reg      <= age_next;
      valid_reg    <= valid_next;
      err_prev_reg <= err_prev_next;
      err_pend_reg <= err_pend_next;
    end
  end

  assign m_irq_func   = func_num;
  assign m_irq_vector = vec_reg;
  assign m_irq_valid  = valid_reg;

  // events name a queue vector; the output carries a queue vector or ERR_VEC
  `ASSERT(ev_vec_in_range, ev_valid |-> 32'(ev_vec) < NV)
  `ASSERT(vec_legal, valid_reg |-> 32'(vec_reg) < NV || 32'(vec_reg) == ERR_VEC)
  // a masked or disabled vector never fires; a masked queue sends no error message
  `ASSERT_NEVER(fire_masked, fire && (v_mask[sel] || !v_en[sel]))
  `ASSERT_NEVER(err_fire_masked, err_fire && v_mask[err_sel])
  // a vector fires only with entries pending, and its pending count never wraps
  `ASSERT(fire_pending, fire |-> count_reg[sel] != '0)
`ifndef SYNTHESIS
  logic [NV-1:0] count_wrap;
  always_comb begin
    for (int v = 0; v < NV; v++) begin
      count_wrap[v] = v_en[v] && !(fire && sel == VW'(v)) &&
          17'(count_reg[v]) + 17'(add[v]) > 17'hffff;
    end
  end
`endif
  `ASSERT_NEVER(count_wraps, count_wrap != '0)

endmodule

`resetall
