// vf_dma_cpl_wr: completion ring writer for the TX and RX queues of one function.
//
// Takes normalized completion requests from the TX and RX paths (round-robin),
// keeps each completion ring's write index and generation bit (GEN flips at
// every wrap; a disabled queue's ring starts from its start state, index 0
// and GEN 1 unless the queue resumes a saved state, docs §4c), has the ring format
// encode the entry, and writes it as one beat with the entries' byte lanes
// strobed. Consecutive entries of one ring that share a beat are coalesced
// into one write (one pending beat per ring, i.e. per queue and direction, so
// completions of other rings do not break a ring's coalescing: with one beat
// per direction, RX frames spread over two queues got a beat each, 0.5
// frames/cycle on the write channel): a partly filled beat is written when its
// last lane is filled, when an entry of its ring for another beat comes, when
// its queue is disabled, or once it is HOLD cycles old if the write channel is
// free, else as soon as it is free, at most HOLD_MAX cycles after its first
// entry. The hold adapts to congestion because a beat costs a whole cycle of
// the host write channel however few of its lanes are filled: with 8 VFs at
// 64 B each ring's entries come 12-22 cycles apart, beats written 16 cycles
// after their first entry carried 1-2 of 4 entries, and RX data plus those
// beats needed more write beats than the channel has (all_rx 0.93x line
// rate). The channel counts as busy while a beat written before still waits
// (its AW in the register or its W in the FIFO) or for CONG_KEEP cycles after
// an AW waited AW_WAIT cycles or more; on a free channel a beat goes at HOLD
// as with a fixed hold, so idle latency does not change. One beat is written
// per cycle; a ring whose new entry waits for its beat to go has priority,
// the others take turns. TX completions use AXI ID {q, TX_KIND}, RX ones
// {q, RX_KIND} (the ID of the RX data writes, so they land after the data).
// Queue reset / FLR: a beat being coalesced for a disabled queue is written
// at once (its address was fixed when its first entry was taken, and its
// frames were done); a request of a disabled queue not yet taken is
// discarded and reported (tx_discard / rx_discard: its frame is abandoned).

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_cpl_wr
  import nic_pkg::*, axi_pkg::*;
#(
    parameter int NUM_QUEUES = 1,  // queue pairs
    parameter int DATA_W = 512,  // AXI data width
    parameter int ADDR_W = 64,  // AXI address width
    parameter dma_wr_kind_e TX_KIND = WR_TX_CPL,  // ID kind of TX completion writes
    parameter dma_wr_kind_e RX_KIND = WR_RX,  // ID kind of RX writes
    parameter int HOLD = 16,  // cycles a partly filled completion beat waits for more entries
    parameter int HOLD_MAX = 64,  // ... at most, while the write channel is busy (>= HOLD)
    parameter int AW_WAIT = 4,  // cycles an AW waits for the write channel: it is congested
    parameter int CONG_KEEP = 64,  // cycles the channel counts as busy after that
    parameter int W_DEPTH = 4,  // completion beats whose AW went ahead of their W beat
    localparam int QW = NUM_QUEUES > 1 ? $clog2(NUM_QUEUES) : 1,
    localparam int ENTRY_W = DESC_BYTES * 8,
    localparam int SLOT_W = $clog2(DATA_W / ENTRY_W)
) (
    input wire logic clk,
    input wire logic rst,

    input wire logic [NUM_QUEUES-1:0] txq_en,
    input wire logic [NUM_QUEUES-1:0][ADDR_W-1:0] txq_cpl_base,
    input wire logic [NUM_QUEUES-1:0][3:0] txq_size,
    input wire logic [NUM_QUEUES-1:0] rxq_en,
    input wire logic [NUM_QUEUES-1:0][ADDR_W-1:0] rxq_cpl_base,
    input wire logic [NUM_QUEUES-1:0][3:0] rxq_cpl_size,  // RX completion ring, log2 entries
    // ring state {gen, index} (§4c): loaded while the queue is disabled, and live
    input wire logic [NUM_QUEUES-1:0][16:0] tx_start,
    input wire logic [NUM_QUEUES-1:0][16:0] rx_start,
    output logic [NUM_QUEUES-1:0][16:0] tx_state,
    output logic [NUM_QUEUES-1:0][16:0] rx_state,

    input  wire cpl_req_t tx_data,
    input  wire logic     tx_valid,
    output logic          tx_ready,
    input  wire cpl_req_t rx_data,
    input  wire logic     rx_valid,
    output logic          rx_ready,

    // to / from the ring format: the entry's fields, and the entry
    output cpl_fields_t               f_cpl,
    input  wire logic   [ENTRY_W-1:0] f_raw,

    output dma_a_t    m_aw,
    output logic      m_awvalid,
    input  wire logic m_awready,
    output axi_w_t    m_w,
    output logic      m_wvalid,
    input  wire logic m_wready,

    // event: entries of one ring became visible (their W beat was accepted)
    output logic            ev_valid,
    output logic            ev_rx,
    output logic [  QW-1:0] ev_q,
    output logic [SLOT_W:0] ev_n,

    // queue reset / FLR accounting
    output logic [NUM_QUEUES-1:0] tx_discard,  // pulse: a completion of the queue discarded
    output logic [NUM_QUEUES-1:0] rx_discard,
    output logic [NUM_QUEUES-1:0] tx_pend,     // a beat of the queue is being coalesced
    output logic [NUM_QUEUES-1:0] rx_pend
);

  localparam int EPB = DATA_W / ENTRY_W;
  localparam int OFF_W = $clog2(DATA_W / 8);
  localparam int EB = ENTRY_W / 8;
  localparam int HOLD_W = $clog2(HOLD_MAX + 1) + 1;

  `ASSERT_PARAM(g_check_hold, HOLD_MAX >= HOLD, "HOLD_MAX must be at least HOLD")

  // each ring's write index and generation bit
  logic [NUM_QUEUES-1:0][15:0] tx_idx_reg, tx_idx_next, rx_idx_reg, rx_idx_next;
  logic [NUM_QUEUES-1:0] tx_gen_reg, tx_gen_next, rx_gen_reg, rx_gen_next;

  // output: AW register, and a small W FIFO so that a beat's AW can go out
  // while earlier W beats wait behind RX data on the write channel
  logic aw_valid_reg, aw_valid_next;
  logic [ADDR_W-1:0] aw_addr_reg, aw_addr_next;  // data: qualified by aw_valid_reg, not reset
  dma_id_t aw_id_reg, aw_id_next;
  typedef struct packed {
    logic [DATA_W-1:0]   data;
    logic [DATA_W/8-1:0] strb;
    logic                rx;
    logic [QW-1:0]       q;
    logic [SLOT_W:0]     n;     // entries in the beat
  } wf_t;
  wf_t wf_in, wf_head;
  logic wf_ready, wf_valid;

  // pending (coalescing) beats, one per ring: slot 2q + d for queue q,
  // direction d (0 TX, 1 RX); entries of the ring that share a beat. Only
  // pv_reg (pending) and page_reg (age) are reset: the rest is qualified by pv_reg.
  localparam int NS = 2 * NUM_QUEUES;
  localparam int SW = $clog2(NS);
  logic [NS-1:0] pv_reg, pv_next, pfull_reg, pfull_next;
  logic [NS-1:0][ADDR_W-OFF_W-1:0] pbeat_reg, pbeat_next;
  logic [NS-1:0][DATA_W-1:0] pdata_reg, pdata_next;
  logic [NS-1:0][DATA_W/8-1:0] pstrb_reg, pstrb_next;
  logic [NS-1:0][HOLD_W-1:0] page_reg, page_next;

  // Write channel busy, so a partly filled beat past HOLD keeps coalescing
  // (up to HOLD_MAX): a beat written earlier still waits for it (its AW in
  // the register or its W in the FIFO), or it was congested lately. The
  // congestion memory is there because the writer's own beats come too
  // seldom (one per ~20 cycles per function at 8 VFs) for out_busy alone to
  // cover the time between them: a beat written as soon as the output frees
  // is often still partial, and its remaining lanes then cost a beat of their
  // own. An AW that waited AW_WAIT cycles (longer than losing a round of the
  // engine's write arbiter to an RX data AW) marks the channel congested for
  // CONG_KEEP cycles.
  localparam int AWW_W = $clog2(AW_WAIT + 1);
  localparam int CONG_W = $clog2(CONG_KEEP + 1);
  // cycles the AW in the register has waited (saturating)
  logic [AWW_W-1:0] aw_wait_reg, aw_wait_next;
  logic [CONG_W-1:0] cong_reg, cong_next;  // cycles left of the congestion memory
  logic out_free, out_busy, congested, hold_more;

  // TX (0) and RX (1) requests served round-robin, RX first after reset
  logic pick_rx, req, take, discard;
  prim_rr_arb #(
      .N(2),
      .FIRST(1)
  ) u_src_rr (
      .clk,
      .rst,
      .req({rx_valid, tx_valid}),
      .advance(take || discard),
      .grant_valid(req),
      .grant_idx(pick_rx)
  );

  cpl_req_t req_data;
  logic r_rx, req_off, same;
  logic [QW-1:0] r_q;
  logic [  15:0] widx;  // the request's ring index
  logic [ADDR_W-1:0] base, eaddr;
  logic [3:0] size;
  logic [SLOT_W-1:0] lane;  // its lane in the beat
  logic [16:0] nidx;
  logic [ADDR_W-OFF_W-1:0] beat;
  logic [DATA_W/8-1:0] lane_strb;
  logic [SW-1:0] p;  // the request's ring slot
  logic [NS-1:0] off, want, flush;
  logic [SW-1:0] flush_sel, rr_sel;
  logic rr_valid, flush_now, merge;

  // The request and the rings that want their beat written: the flush
  // arbiter's requests, and the ring format's inputs. A block of its own: the
  // next state below depends on the flush grant and on the format's f_raw.
  always_comb begin
    out_free = (!aw_valid_reg || m_awready) && wf_ready;
    out_busy = aw_valid_reg || wf_valid;
    congested = cong_reg != '0;
    hold_more = out_busy || congested;

    req_data = pick_rx ? rx_data : tx_data;
    r_rx = req_data.rx;
    r_q = QW'(req_data.q);
    // the request as it came, on the ring of the port it came on
    f_cpl.req = req_data;
    f_cpl.req.rx = pick_rx;
    f_cpl.req.q = 8'(r_q);
    f_cpl.gen = pick_rx ? rx_gen_reg[r_q] : tx_gen_reg[r_q];

    widx = pick_rx ? rx_idx_reg[r_q] : tx_idx_reg[r_q];
    base = pick_rx ? rxq_cpl_base[r_q] : txq_cpl_base[r_q];
    size = pick_rx ? rxq_cpl_size[r_q] : txq_size[r_q];
    eaddr = base + (ADDR_W'(widx) << $clog2(EB));
    lane = widx[SLOT_W-1:0];
    nidx = (17'(widx) + 17'd1) & ((17'd1 << size) - 17'd1);
    beat = eaddr[ADDR_W-1:OFF_W];
    lane_strb = {{(DATA_W / 8 - EB) {1'b0}}, {EB{1'b1}}} << (32'(lane) * EB);

    // requests of a disabled queue are discarded; its pending beat is flushed (queue reset / FLR)
    req_off = pick_rx ? !rxq_en[r_q] : !txq_en[r_q];
    p = SW'(32'(r_q) * 2 + 32'(pick_rx));
    for (int i = 0; i < NS; i++) begin
      off[i] = pv_reg[i] && (i % 2 == 1 ? !rxq_en[i/2] : !txq_en[i/2]);
    end
    same = pv_reg[p] && pbeat_reg[p] == beat;
    for (int i = 0; i < NS; i++) begin
      want[i] = pv_reg[i] &&
          (off[i] || pfull_reg[i] || page_reg[i] >= HOLD_W'(HOLD_MAX) ||
           (page_reg[i] >= HOLD_W'(HOLD) && !hold_more) ||
           (req && !req_off && p == SW'(i) && !same));
    end
  end

  // the ring whose new entry waits goes first, the others in turn
  prim_rr_arb #(
      .N(NS)
  ) u_flush_rr (
      .clk,
      .rst,
      .req(want),
      .advance(flush_now && !(req && want[p])),
      .grant_valid(rr_valid),
      .grant_idx(rr_sel)
  );

  always_comb begin
    flush_now = out_free && rr_valid;  // rr_valid: some ring wants its beat written
    flush_sel = (req && want[p]) ? p : rr_sel;
    for (int i = 0; i < NS; i++) flush[i] = flush_now && flush_sel == SW'(i);
    // a request is taken into a free slot, one being written this cycle, or
    // the same beat while it has room
    take = req && !req_off && (!pv_reg[p] || flush[p] || (same && !pfull_reg[p] && !off[p]));
    merge = take && pv_reg[p] && !flush[p];
    discard = req && req_off;
    tx_ready = (take || discard) && !pick_rx;
    rx_ready = (take || discard) && pick_rx;

    wf_in = '{
        data: pdata_reg[flush_sel],
        strb: pstrb_reg[flush_sel],
        rx: flush_sel[0],
        q: QW'(flush_sel >> 1),
        n: (SLOT_W + 1)'($countones(pstrb_reg[flush_sel]) / EB)
    };

    for (int q = 0; q < NUM_QUEUES; q++) begin
      tx_discard[q] = discard && !pick_rx && r_q == QW'(q);
      rx_discard[q] = discard && pick_rx && r_q == QW'(q);
      tx_pend[q]    = pv_reg[2*q];
      rx_pend[q]    = pv_reg[2*q+1];
      tx_state[q]   = {tx_gen_reg[q], tx_idx_reg[q]};
      rx_state[q]   = {rx_gen_reg[q], rx_idx_reg[q]};
    end

    aw_valid_next = aw_valid_reg;
    aw_addr_next = aw_addr_reg;
    aw_id_next = aw_id_reg;
    aw_wait_next = aw_wait_reg;
    cong_next = cong_reg;
    pv_next = pv_reg;
    pfull_next = pfull_reg;
    pbeat_next = pbeat_reg;
    pdata_next = pdata_reg;
    pstrb_next = pstrb_reg;
    page_next = page_reg;
    tx_idx_next = tx_idx_reg;
    tx_gen_next = tx_gen_reg;
    rx_idx_next = rx_idx_reg;
    rx_gen_next = rx_gen_reg;

    if (flush_now) begin
      aw_valid_next = 1'b1;
      aw_addr_next  = {pbeat_reg[flush_sel], OFF_W'(0)};
      aw_id_next    = dma_wr_id(flush_sel[0] ? RX_KIND : TX_KIND, DMA_QUEUE_W'(flush_sel >> 1));
    end else if (m_awready) begin
      aw_valid_next = 1'b0;
    end
    if (!aw_valid_reg || m_awready) aw_wait_next = '0;
    else if (aw_wait_reg != AWW_W'(AW_WAIT)) aw_wait_next = aw_wait_reg + 1'b1;
    if (aw_valid_reg && !m_awready && aw_wait_reg == AWW_W'(AW_WAIT))
      cong_next = CONG_W'(CONG_KEEP);
    else if (congested) cong_next = cong_reg - 1'b1;

    if (take) begin
      pbeat_next[p] = beat;
      pfull_next[p] = lane == '1;
      if (merge) begin
        for (int i = 0; i < EPB; i++) begin
          if (lane == SLOT_W'(i)) pdata_next[p][i*ENTRY_W+:ENTRY_W] = f_raw;
        end
        pstrb_next[p] = pstrb_reg[p] | lane_strb;
      end else begin
        pdata_next[p] = {EPB{f_raw}};
        pstrb_next[p] = lane_strb;
      end
    end
    // a slot's age counts from its first entry (saturating)
    for (int i = 0; i < NS; i++) begin
      if (take && p == SW'(i)) begin
        pv_next[i] = 1'b1;
        if (!merge) page_next[i] = '0;
        else if (page_reg[i] != '1) page_next[i] = page_reg[i] + 1'b1;
      end else if (flush[i]) begin
        pv_next[i] = 1'b0;
      end else if (pv_reg[i] && page_reg[i] != '1) begin
        page_next[i] = page_reg[i] + 1'b1;
      end
    end

    // a disabled queue's ring indexes hold their start state (§4c)
    for (int q = 0; q < NUM_QUEUES; q++) begin
      if (!txq_en[q]) begin
        tx_idx_next[q] = tx_start[q][15:0] & ((16'd1 << txq_size[q]) - 16'd1);
        tx_gen_next[q] = tx_start[q][16];
      end else if (take && !pick_rx && r_q == QW'(q)) begin
        tx_idx_next[q] = 16'(nidx);
        if (nidx == '0) tx_gen_next[q] = !tx_gen_reg[q];
      end
      if (!rxq_en[q]) begin
        rx_idx_next[q] = rx_start[q][15:0] & ((16'd1 << rxq_cpl_size[q]) - 16'd1);
        rx_gen_next[q] = rx_start[q][16];
      end else if (take && pick_rx && r_q == QW'(q)) begin
        rx_idx_next[q] = 16'(nidx);
        if (nidx == '0) rx_gen_next[q] = !rx_gen_reg[q];
      end
    end
  end

  always_ff @(posedge clk) begin
    aw_addr_reg <= aw_addr_next;
    aw_id_reg   <= aw_id_next;
    pbeat_reg   <= pbeat_next;
    pfull_reg   <= pfull_next;
    pdata_reg   <= pdata_next;
    pstrb_reg   <= pstrb_next;
    if (rst) begin
      aw_valid_reg <= 1'b0;
      aw_wait_reg  <= '0;
      cong_reg     <= '0;
      pv_reg       <= '0;
      page_reg     <= '0;
      tx_idx_reg   <= '0;
      rx_idx_reg   <= '0;
      tx_gen_reg   <= '1;
      rx_gen_reg   <= '1;
    end else begin
      aw_valid_reg <= aw_valid_next;
      aw_wait_reg  <= aw_wait_next;
      cong_reg     <= cong_next;
      pv_reg       <= pv_next;
      page_reg     <= page_next;
      tx_idx_reg   <= tx_idx_next;
      rx_idx_reg   <= rx_idx_next;
      tx_gen_reg   <= tx_gen_next;
      rx_gen_reg   <= rx_gen_next;
    end
  end

  assign m_aw = '{id: aw_id_reg, addr: AXI_ADDR_W'(aw_addr_reg), len: 8'd0};
  assign m_awvalid = aw_valid_reg;

  logic [$clog2(W_DEPTH):0] unused_wf_count;
  prim_fifo #(
      .WIDTH($bits(wf_t)),
      .DEPTH(W_DEPTH)
  ) w_fifo (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data(wf_in),
      .s_valid(flush_now),
      .s_ready(wf_ready),
      .m_data(wf_head),
      .m_valid(wf_valid),
      .m_ready(m_wready),
      .count(unused_wf_count)
  );
  // one beat per write; its entries become visible (an event) when W is accepted
  assign m_w      = '{data: AXI_DATA_W'(wf_head.data), strb: AXI_STRB_W'(wf_head.strb), last: 1'b1};
  assign m_wvalid = wf_valid;
  assign ev_valid = wf_valid && m_wready;
  assign ev_rx    = wf_head.rx;
  assign ev_q     = wf_head.q;
  assign ev_n     = wf_head.n;

  logic [OFF_W-1:0] unused_eaddr_lo;  // entries are addressed by beat and lane
  assign unused_eaddr_lo = eaddr[OFF_W-1:0];

  `ASSERT(req_on_its_port, take || discard |-> r_rx == pick_rx)
  // a merged entry fills a lane of the beat not yet filled (ring order, no
  // wrap inside a beat), and a pending beat has at least one lane
  `ASSERT_NEVER(lane_refilled, merge && (pstrb_reg[p] & lane_strb) != '0)
`ifndef SYNTHESIS
  logic [NS-1:0] pend_empty;
  always_comb begin
    for (int i = 0; i < NS; i++) pend_empty[i] = pv_reg[i] && pstrb_reg[i] == '0;
  end
`endif
  `ASSERT_NEVER(pending_without_lanes, pend_empty != '0)
  // an event reports 1..EPB entries of one beat
  `ASSERT(ev_n_range, ev_valid |-> ev_n != '0 && 32'(ev_n) <= EPB)

endmodule

`resetall
