// vf_dma_bus: the AXI4 master port of a vf_dma — the read and the write arbiter
// over the engine's sources, the one place where their requests (dma_a_t) become
// the flat AXI4 channels, and the writes outstanding per kind and queue.
//
// A queue counts as busy (queue reset, FLR: docs/ARCHITECTURE.md §3.1) from the
// acceptance of its write by the write arbiter, or while it waits in a source's
// AW register, to the write's B response.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_bus
  import nic_pkg::*, axi_pkg::*;
#(
    parameter  int NUM_QUEUES = 2,           // queue pairs
    parameter  int DATA_W     = 512,         // AXI data width in bits
    parameter  int ADDR_W     = 64,          // host address width
    parameter  int ID_W       = 4,           // AXI ID width: axi_pkg::ENGINE_ID_W
    parameter  int NRS        = 3,           // read sources; index = the kind of their reads
    parameter  int NWS        = 2,           // write sources
    localparam int KEEP_W     = DATA_W / 8,
    localparam int NK         = 2            // write kinds (dma_wr_kind_e)
) (
    input wire logic              clk,
    input wire logic              rst,
    input wire logic [FUNC_W-1:0] func_num, // a*user

    // read sources; R data goes to all, its handshake to the source of the ID's kind
    input  wire dma_a_t [NRS-1:0] s_ar,
    input  wire logic   [NRS-1:0] s_arvalid,
    output logic        [NRS-1:0] s_arready,
    output logic        [NRS-1:0] s_rvalid,
    input  wire logic   [NRS-1:0] s_rready,

    // write sources
    input  wire dma_a_t [NWS-1:0]             s_aw,
    input  wire logic   [NWS-1:0]             s_awvalid,
    output logic        [NWS-1:0]             s_awready,
    input  wire logic   [NWS-1:0][DATA_W-1:0] s_wdata,
    input  wire logic   [NWS-1:0][KEEP_W-1:0] s_wstrb,
    input  wire logic   [NWS-1:0]             s_wlast,
    input  wire logic   [NWS-1:0]             s_wvalid,
    output logic        [NWS-1:0]             s_wready,

    // pulse: an error response, and its ID; writes outstanding per [kind][queue]
    output logic                             b_err,
    output dma_id_t                          b_err_id,
    output logic    [NK-1:0][NUM_QUEUES-1:0] wr_busy,

    output logic      [  ID_W-1:0] m_axi_awid,
    output logic      [ADDR_W-1:0] m_axi_awaddr,
    output logic      [       7:0] m_axi_awlen,
    output logic      [       2:0] m_axi_awsize,
    output logic      [       1:0] m_axi_awburst,
    output logic      [FUNC_W-1:0] m_axi_awuser,
    output logic                   m_axi_awvalid,
    input  wire logic              m_axi_awready,
    output logic      [DATA_W-1:0] m_axi_wdata,
    output logic      [KEEP_W-1:0] m_axi_wstrb,
    output logic                   m_axi_wlast,
    output logic                   m_axi_wvalid,
    input  wire logic              m_axi_wready,
    input  wire logic [  ID_W-1:0] m_axi_bid,
    input  wire logic [       1:0] m_axi_bresp,
    input  wire logic              m_axi_bvalid,
    output logic                   m_axi_bready,
    output logic      [  ID_W-1:0] m_axi_arid,
    output logic      [ADDR_W-1:0] m_axi_araddr,
    output logic      [       7:0] m_axi_arlen,
    output logic      [       2:0] m_axi_arsize,
    output logic      [       1:0] m_axi_arburst,
    output logic      [FUNC_W-1:0] m_axi_aruser,
    output logic                   m_axi_arvalid,
    input  wire logic              m_axi_arready,
    input  wire logic [  ID_W-1:0] m_axi_rid,
    input  wire logic              m_axi_rvalid,
    output logic                   m_axi_rready
);

  dma_a_t m_ar, m_aw;
  axi_b_t m_b;
  logic   b_done;

  vf_dma_rd_arb #(
      .NS(NRS)
  ) rd_arb (
      .clk,
      .rst,
      .s_ar,
      .s_arvalid,
      .s_arready,
      .s_rvalid,
      .s_rready,
      .m_ar,
      .m_arvalid(m_axi_arvalid),
      .m_arready(m_axi_arready),
      .m_rid(dma_id_t'(m_axi_rid)),
      .m_rvalid(m_axi_rvalid),
      .m_rready(m_axi_rready)
  );

  vf_dma_wr_arb #(
      .NS(NWS),
      .DATA_W(DATA_W)
  ) wr_arb (
      .clk,
      .rst,
      .s_aw,
      .s_awvalid,
      .s_awready,
      .s_wdata,
      .s_wstrb,
      .s_wlast,
      .s_wvalid,
      .s_wready,
      .m_aw,
      .m_awvalid(m_axi_awvalid),
      .m_awready(m_axi_awready),
      .m_wdata  (m_axi_wdata),
      .m_wstrb  (m_axi_wstrb),
      .m_wlast  (m_axi_wlast),
      .m_wvalid (m_axi_wvalid),
      .m_wready (m_axi_wready),
      .m_b,
      .m_bvalid (m_axi_bvalid),
      .m_bready (m_axi_bready),
      .b_err,
      .b_err_id,
      .b_done
  );

  // the flat AXI4 channels
  always_comb begin
    m_axi_arid    = ID_W'(m_ar.id);
    m_axi_araddr  = ADDR_W'(m_ar.addr);
    m_axi_arlen   = m_ar.len;
    m_axi_arsize  = 3'($clog2(KEEP_W));
    m_axi_arburst = AXI_BURST_INCR;
    m_axi_aruser  = func_num;
    m_axi_awid    = ID_W'(m_aw.id);
    m_axi_awaddr  = ADDR_W'(m_aw.addr);
    m_axi_awlen   = m_aw.len;
    m_axi_awsize  = 3'($clog2(KEEP_W));
    m_axi_awburst = AXI_BURST_INCR;
    m_axi_awuser  = func_num;
    m_b           = '{id: dma_id_t'(m_axi_bid), resp: axi_resp_e'(m_axi_bresp)};
  end

  // ---------------------------------------------------------------- writes outstanding
  logic [NK-1:0][NUM_QUEUES-1:0][7:0] wr_out_reg, wr_out_next;
  dma_id_t [NK-1:0][NUM_QUEUES-1:0] wr_qid;  // the ID of kind k, queue q

  always_comb begin
    wr_out_next = wr_out_reg;
    for (int k = 0; k < NK; k++) begin
      for (int q = 0; q < NUM_QUEUES; q++) begin
        logic inc, dec;
        wr_qid[k][q] = dma_wr_id(dma_wr_kind_e'(k), DMA_QUEUE_W'(q));
        inc = 1'b0;
        wr_busy[k][q] = wr_out_reg[k][q] != '0;
        for (int src = 0; src < NWS; src++) begin
          if (s_awvalid[src] && s_aw[src].id == wr_qid[k][q]) begin
            wr_busy[k][q] = 1'b1;
            if (s_awready[src]) inc = 1'b1;
          end
        end
        dec = m_axi_bvalid && m_axi_bready && m_b.id == wr_qid[k][q];
        wr_out_next[k][q] = wr_out_reg[k][q] + 8'(inc) - 8'(dec);
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      wr_out_reg <= '0;
    end else begin
      wr_out_reg <= wr_out_next;
    end
  end

  logic unused_b_done;
  assign unused_b_done = b_done;

  // ---------------------------------------------------------------- assertions
`ifndef SYNTHESIS
  // the B response's ID names a kind and queue with a write outstanding
  logic b_expected, wr_out_max;
  always_comb begin
    b_expected = 1'b0;
    wr_out_max = 1'b0;
    for (int k = 0; k < NK; k++) begin
      for (int q = 0; q < NUM_QUEUES; q++) begin
        if (m_b.id == wr_qid[k][q] && wr_out_reg[k][q] != '0) begin
          b_expected = 1'b1;
        end
        if (wr_out_reg[k][q] == '1) wr_out_max = 1'b1;
      end
    end
  end
`endif
  // no write response without its write; outstanding counts never wrap
  `ASSERT(b_after_aw, m_axi_bvalid && m_axi_bready |-> b_expected)
  `ASSERT_NEVER(wr_out_wrap, wr_out_max)
  `ASSERT_ONEHOT0(rd_arb_one_source, s_arvalid & s_arready)

endmodule

`resetall
