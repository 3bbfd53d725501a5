// DMA arbiter: the AXI4 masters of all functions' DMA engines onto the one
// host-bus master. Round-robin per burst on AR and on AW (W beats follow in AW
// order), so a saturating function cannot starve another; the source index is
// prepended to the ID so R and B responses route back without a lookup table.
// Both sides are typed (axi_pkg): upstream the engines' channels, downstream
// the same channels with the function number (host_*_t, ID {func, engine ID}),
// which nic_top flattens into its host-bus port.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module dma_arbiter
  import nic_pkg::FUNC_W, axi_pkg::*;
#(
    // Number of upstream masters (functions).
    parameter int N = 3,
    // Data width of the engines: the low DATA_W bits of the channels' data fields.
    parameter int DATA_W = 512,
    // Write bursts granted whose W beats are not all through (a power of two):
    // how far AW may run ahead of W.
    parameter int W_ORDER = 8,
    localparam int SEL_W = (N > 1) ? $clog2(N) : 1
) (
    input wire logic clk,
    input wire logic rst,

    // Upstream masters (one per function), packed arrays indexed by function.
    input  wire axi_a_t [N-1:0] s_axi_aw,
    input  wire logic   [N-1:0] s_axi_awvalid,
    output logic        [N-1:0] s_axi_awready,
    input  wire axi_w_t [N-1:0] s_axi_w,
    input  wire logic   [N-1:0] s_axi_wvalid,
    output logic        [N-1:0] s_axi_wready,
    output axi_b_t      [N-1:0] s_axi_b,
    output logic        [N-1:0] s_axi_bvalid,
    input  wire logic   [N-1:0] s_axi_bready,
    input  wire axi_a_t [N-1:0] s_axi_ar,
    input  wire logic   [N-1:0] s_axi_arvalid,
    output logic        [N-1:0] s_axi_arready,
    output axi_r_t      [N-1:0] s_axi_r,
    output logic        [N-1:0] s_axi_rvalid,
    input  wire logic   [N-1:0] s_axi_rready,

    // Downstream host-bus master: the granted engine's channels and its function.
    output host_a_t      m_axi_aw,
    output logic         m_axi_awvalid,
    input  wire logic    m_axi_awready,
    output axi_w_t       m_axi_w,
    output logic         m_axi_wvalid,
    input  wire logic    m_axi_wready,
    input  wire host_b_t m_axi_b,
    input  wire logic    m_axi_bvalid,
    output logic         m_axi_bready,
    output host_a_t      m_axi_ar,
    output logic         m_axi_arvalid,
    input  wire logic    m_axi_arready,
    input  wire host_r_t m_axi_r,
    input  wire logic    m_axi_rvalid,
    output logic         m_axi_rready
);

  `ASSERT_PARAM(g_check_n, N >= 1 && N <= (1 << FUNC_W),
                $sformatf("N (%0d) must be 1..%0d (function numbers)", N, 1 << FUNC_W))
  `ASSERT_PARAM(g_check_data, DATA_W >= 8 && DATA_W <= AXI_DATA_W,
                $sformatf("DATA_W (%0d) must be 8..axi_pkg::AXI_DATA_W (%0d)", DATA_W, AXI_DATA_W))

  // ---------------------------------------------------------------- reads
  // AR is granted round-robin per burst; as on AW, the winner keeps AR until it is
  // accepted (AXI: a presented request may not change while it waits for ready).
  logic             ar_grant_valid;
  logic [SEL_W-1:0] ar_grant_idx;
  logic             ar_lock_reg;  // the granted burst's AR waits for ARREADY
  logic [SEL_W-1:0] ar_lock_sel_reg;
  logic [    N-1:0] ar_req;
  logic             ar_fire;

  // While locked only the owner requests, so the grant stays on it.
  always_comb begin
    ar_req = s_axi_arvalid;
    if (ar_lock_reg) begin
      ar_req = '0;
      ar_req[ar_lock_sel_reg] = 1'b1;
    end
  end

  prim_rr_arb #(
      .N(N)
  ) u_ar_arb (
      .clk        (clk),
      .rst        (rst),
      .req        (ar_req),
      .advance    (ar_fire),
      .grant_valid(ar_grant_valid),
      .grant_idx  (ar_grant_idx)
  );

  assign ar_fire = m_axi_arvalid && m_axi_arready;

  always_ff @(posedge clk) begin
    if (rst) begin
      ar_lock_reg     <= 1'b0;
      ar_lock_sel_reg <= '0;
    end else if (ar_fire) begin
      ar_lock_reg <= 1'b0;
    end else if (ar_grant_valid) begin
      ar_lock_reg     <= 1'b1;
      ar_lock_sel_reg <= ar_grant_idx;
    end
  end

  always_comb begin
    m_axi_ar = '{func: FUNC_W'(ar_grant_idx), a: s_axi_ar[ar_grant_idx]};
    m_axi_arvalid = ar_grant_valid;
    s_axi_arready = '0;
    s_axi_arready[ar_grant_idx] = ar_grant_valid && m_axi_arready;
  end

  // R beats go back to the master named by the ID's function.
  logic [SEL_W-1:0] r_sel;
  assign r_sel = m_axi_r.func[SEL_W-1:0];

  always_comb begin
    for (int i = 0; i < N; i++) begin
      s_axi_r[i] = m_axi_r.r;
      s_axi_r[i].data = AXI_DATA_W'(m_axi_r.r.data[DATA_W-1:0]);
      s_axi_rvalid[i] = m_axi_rvalid && (r_sel == SEL_W'(i));
    end
    m_axi_rready = s_axi_rready[r_sel];
  end

  // --------------------------------------------------------------- writes
  // AW is granted round-robin per burst; the winner keeps AW until it is
  // accepted (AXI: a presented request may not change). At the grant its
  // source is queued for W, and W beats follow that queue one whole burst at a
  // time, so W beats of different bursts never interleave (AXI4 has no WID)
  // and stay in AW order. W does not wait for AWREADY (the head burst's W is
  // offered before, with or after its AW), and the next AW does not wait for
  // the previous burst's W: with a host that takes W only after its AW (the
  // host models, a beat after), one burst per cycle still flows, where holding
  // both channels per burst cost a cycle per burst (RX at 64 B: 0.4 frames
  // per cycle, line rate needs 0.6).
  logic             aw_lock_reg;  // the granted burst's AW waits for AWREADY
  logic [SEL_W-1:0] aw_lock_sel_reg;
  logic [    N-1:0] aw_req;
  logic             aw_grant_valid;
  logic [SEL_W-1:0] aw_sel;
  logic aw_fire, aw_new, wlast_fire;
  logic order_ready, order_valid;
  logic [SEL_W-1:0] w_sel;

  // While locked only the owner requests, so the grant stays on it; a new
  // burst is granted only while the W queue has room for it.
  always_comb begin
    aw_req = order_ready ? s_axi_awvalid : '0;
    if (aw_lock_reg) begin
      aw_req = '0;
      aw_req[aw_lock_sel_reg] = 1'b1;
    end
  end

  prim_rr_arb #(
      .N(N)
  ) u_aw_arb (
      .clk        (clk),
      .rst        (rst),
      .req        (aw_req),
      .advance    (aw_fire),
      .grant_valid(aw_grant_valid),
      .grant_idx  (aw_sel)
  );

  assign aw_fire    = m_axi_awvalid && m_axi_awready;
  assign aw_new     = aw_grant_valid && !aw_lock_reg;  // first cycle of a grant: queue its W
  assign wlast_fire = m_axi_wvalid && m_axi_wready && m_axi_w.last;

  logic [$clog2(W_ORDER):0] unused_order_count;
  prim_fifo #(
      .WIDTH(SEL_W),
      .DEPTH(W_ORDER)
  ) u_w_order (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data(aw_sel),
      .s_valid(aw_new),
      .s_ready(order_ready),
      .m_data(w_sel),
      .m_valid(order_valid),
      .m_ready(wlast_fire),
      .count(unused_order_count)
  );

  always_comb begin
    m_axi_aw = '{func: FUNC_W'(aw_sel), a: s_axi_aw[aw_sel]};
    m_axi_awvalid = aw_grant_valid;
    s_axi_awready = '0;
    s_axi_awready[aw_sel] = aw_grant_valid && m_axi_awready;

    m_axi_w = '{
        data: AXI_DATA_W'(s_axi_w[w_sel].data[DATA_W-1:0]),
        strb: AXI_STRB_W'(s_axi_w[w_sel].strb[DATA_W/8-1:0]),
        last: s_axi_w[w_sel].last
    };
    m_axi_wvalid = order_valid && s_axi_wvalid[w_sel];
    s_axi_wready = '0;
    s_axi_wready[w_sel] = order_valid && m_axi_wready;
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      aw_lock_reg     <= 1'b0;
      aw_lock_sel_reg <= '0;
    end else if (aw_fire) begin
      aw_lock_reg <= 1'b0;
    end else if (aw_grant_valid) begin
      aw_lock_reg     <= 1'b1;
      aw_lock_sel_reg <= aw_sel;
    end
  end

  logic [SEL_W-1:0] b_sel;
  assign b_sel = m_axi_b.func[SEL_W-1:0];

  always_comb begin
    for (int i = 0; i < N; i++) begin
      s_axi_b[i]      = m_axi_b.b;
      s_axi_bvalid[i] = m_axi_bvalid && (b_sel == SEL_W'(i));
    end
    m_axi_bready = s_axi_bready[b_sel];
  end

  // a locked grant's owner still presents the request it was granted for
  `ASSERT(ar_owner_valid, ar_lock_reg |-> s_axi_arvalid[ar_lock_sel_reg])
  `ASSERT(aw_owner_valid, aw_lock_reg |-> s_axi_awvalid[aw_lock_sel_reg])

`ifndef SYNTHESIS
  // A response naming a master that does not exist is a host-model bug.
  always_ff @(posedge clk) begin
    if (!rst && m_axi_rvalid && int'(m_axi_r.func) >= N) begin
      $error("%m: R beat of function %0d routes to no master", m_axi_r.func);
    end
    if (!rst && m_axi_bvalid && int'(m_axi_b.func) >= N) begin
      $error("%m: B response of function %0d routes to no master", m_axi_b.func);
    end
  end
`endif

endmodule

`resetall
