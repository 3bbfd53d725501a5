// DMA arbiter: the AXI4 masters of all functions' DMA engines onto the one
// host-bus master. Round-robin per burst on AR and on AW (W beats follow in AW
// order), so a saturating function cannot starve another; the source index is
// prepended to the ID so R and B responses route back without a lookup table.
// Upstream channels are the engines' typed AXI4 channels (axi_pkg); downstream
// is nic_top's flat host-bus port (its ID is {function, engine ID}).

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module dma_arbiter
  import axi_pkg::*;
#(
    // Number of upstream masters (functions).
    parameter int N = 3,
    parameter int DATA_W = 512,
    parameter int ADDR_W = 64,
    // ID width of one upstream master: axi_pkg::ENGINE_ID_W.
    parameter int S_ID_W = ENGINE_ID_W,
    parameter int USER_W = AXI_USER_W,
    // Write bursts granted whose W beats are not all through (a power of two):
    // how far AW may run ahead of W.
    parameter int W_ORDER = 8,
    localparam int SEL_W = (N > 1) ? $clog2(N) : 1,
    localparam int M_ID_W = S_ID_W + SEL_W,
    localparam int STRB_W = DATA_W / 8
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

    // Downstream host-bus master.
    output logic      [M_ID_W-1:0] m_axi_awid,
    output logic      [ADDR_W-1:0] m_axi_awaddr,
    output logic      [       7:0] m_axi_awlen,
    output logic      [       2:0] m_axi_awsize,
    output logic      [       1:0] m_axi_awburst,
    output logic      [USER_W-1:0] m_axi_awuser,
    output logic                   m_axi_awvalid,
    input  wire logic              m_axi_awready,
    output logic      [DATA_W-1:0] m_axi_wdata,
    output logic      [STRB_W-1:0] m_axi_wstrb,
    output logic                   m_axi_wlast,
    output logic                   m_axi_wvalid,
    input  wire logic              m_axi_wready,
    input  wire logic [M_ID_W-1:0] m_axi_bid,
    input  wire logic [       1:0] m_axi_bresp,
    input  wire logic              m_axi_bvalid,
    output logic                   m_axi_bready,
    output logic      [M_ID_W-1:0] m_axi_arid,
    output logic      [ADDR_W-1:0] m_axi_araddr,
    output logic      [       7:0] m_axi_arlen,
    output logic      [       2:0] m_axi_arsize,
    output logic      [       1:0] m_axi_arburst,
    output logic      [USER_W-1:0] m_axi_aruser,
    output logic                   m_axi_arvalid,
    input  wire logic              m_axi_arready,
    input  wire logic [M_ID_W-1:0] m_axi_rid,
    input  wire logic [DATA_W-1:0] m_axi_rdata,
    input  wire logic [       1:0] m_axi_rresp,
    input  wire logic              m_axi_rlast,
    input  wire logic              m_axi_rvalid,
    output logic                   m_axi_rready
);

  if (N < 1) begin : g_check_n
    $fatal(1, "%m: dma_arbiter needs at least one upstream master (N=%0d)", N);
  end
  if (S_ID_W != ENGINE_ID_W || USER_W != AXI_USER_W || ADDR_W != AXI_ADDR_W) begin : g_check_w
    $fatal(
        1,
        "%m: S_ID_W, USER_W and ADDR_W must be axi_pkg's (%0d, %0d, %0d)",
        ENGINE_ID_W,
        AXI_USER_W,
        AXI_ADDR_W
    );
  end
  if (DATA_W > AXI_DATA_W) begin : g_check_data
    $fatal(1, "%m: DATA_W (%0d) above axi_pkg::AXI_DATA_W (%0d)", DATA_W, AXI_DATA_W);
  end

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
    m_axi_arid    = {ar_grant_idx, s_axi_ar[ar_grant_idx].id};
    m_axi_araddr  = s_axi_ar[ar_grant_idx].addr;
    m_axi_arlen   = s_axi_ar[ar_grant_idx].len;
    m_axi_arsize  = s_axi_ar[ar_grant_idx].size;
    m_axi_arburst = s_axi_ar[ar_grant_idx].burst;
    m_axi_aruser  = s_axi_ar[ar_grant_idx].user;
    m_axi_arvalid = ar_grant_valid;
    s_axi_arready = '0;
    s_axi_arready[ar_grant_idx] = ar_grant_valid && m_axi_arready;
  end

  // R beats go back to the master named by the ID's top bits.
  logic [SEL_W-1:0] r_sel;
  assign r_sel = m_axi_rid[M_ID_W-1-:SEL_W];

  always_comb begin
    for (int i = 0; i < N; i++) begin
      s_axi_r[i] = '{
          id: dma_id_t'(m_axi_rid[S_ID_W-1:0]),
          data: AXI_DATA_W'(m_axi_rdata),
          resp: axi_resp_e'(m_axi_rresp),
          last: m_axi_rlast
      };
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
  assign wlast_fire = m_axi_wvalid && m_axi_wready && m_axi_wlast;

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
    m_axi_awid    = {aw_sel, s_axi_aw[aw_sel].id};
    m_axi_awaddr  = s_axi_aw[aw_sel].addr;
    m_axi_awlen   = s_axi_aw[aw_sel].len;
    m_axi_awsize  = s_axi_aw[aw_sel].size;
    m_axi_awburst = s_axi_aw[aw_sel].burst;
    m_axi_awuser  = s_axi_aw[aw_sel].user;
    m_axi_awvalid = aw_grant_valid;
    s_axi_awready = '0;
    s_axi_awready[aw_sel] = aw_grant_valid && m_axi_awready;

    m_axi_wdata  = DATA_W'(s_axi_w[w_sel].data);
    m_axi_wstrb  = STRB_W'(s_axi_w[w_sel].strb);
    m_axi_wlast  = s_axi_w[w_sel].last;
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
  assign b_sel = m_axi_bid[M_ID_W-1-:SEL_W];

  always_comb begin
    for (int i = 0; i < N; i++) begin
      s_axi_b[i]      = '{id: dma_id_t'(m_axi_bid[S_ID_W-1:0]), resp: axi_resp_e'(m_axi_bresp)};
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
    if (!rst && m_axi_rvalid && int'(r_sel) >= N) begin
      $error("%m: R beat with ID 0x%0h routes to no master", m_axi_rid);
    end
    if (!rst && m_axi_bvalid && int'(b_sel) >= N) begin
      $error("%m: B response with ID 0x%0h routes to no master", m_axi_bid);
    end
  end
`endif

endmodule

`resetall
