// vf_dma_desc_fetch: descriptor prefetch for the queues of one direction (TX or RX).
//
// Per queue, reads descriptors between its fetch index (the ring's CONS) and
// PROD in bursts of up to MAX_DESC entries (several entries per beat; with
// BATCH only once the whole burst the ring allows fits), never
// across the ring end or a 4 KiB boundary, and only as far as the downstream
// per-queue FIFO has room (q_used + in flight <= DEPTH), so R is never
// stalled. Returned beats are buffered (BEATS deep, reserved at issue) and
// handed out one raw entry per cycle with its queue and ring index. All reads
// of one fetcher use one AXI ID (so they return in order); responses of other
// IDs may come in between.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_desc_fetch
  import nic_pkg::*, axi_pkg::*;
#(
    parameter int NUM_QUEUES = 1,  // queues of this direction
    parameter int DATA_W = 512,  // AXI data width in bits, >= 2 entries
    parameter int ADDR_W = 64,  // AXI address width
    parameter dma_rd_kind_e KIND = RD_TX_DESC,  // ID kind of this fetcher's reads
    parameter int DEPTH = 32,  // downstream descriptor FIFO entries per queue
    parameter int BEATS = 8,  // returned beats buffered; bounds the beats in flight
    parameter int MAX_DESC = 16,  // descriptors per read at most (a multiple of entries per beat)
    // Prefetch batch: a read waits until the downstream FIFO and the beat buffer
    // have room for the whole read the ring allows (up to MAX_DESC entries)
    // instead of refilling one freed entry at a time, which would spend one host
    // read slot per descriptor. 0 = refill as soon as any entry is free. With
    // BATCH, a queue whose consumer waits for entries (q_starve: an RX frame
    // needs more buffers than are fetched) refills at once, so a FIFO nearly
    // full of too few buffers cannot deadlock against the batch rule.
    parameter bit BATCH = 1'b0,
    localparam int QW = NUM_QUEUES > 1 ? $clog2(NUM_QUEUES) : 1,
    localparam int ENTRY_W = DESC_BYTES * 8,
    localparam int CNT_W = $clog2(DEPTH) + 1
) (
    input wire logic clk,
    input wire logic rst,

    input wire logic [NUM_QUEUES-1:0] q_en,  // queue enabled (0: fetch index := q_start)
    input wire logic [NUM_QUEUES-1:0] q_run,  // enabled and not in error: may fetch
    input wire logic [NUM_QUEUES-1:0][ADDR_W-1:0] q_base,  // ring base
    input wire logic [NUM_QUEUES-1:0][3:0] q_size,  // log2 entries
    input wire logic [NUM_QUEUES-1:0][15:0] q_prod,  // producer index (< size, checked by regs)
    input wire logic [NUM_QUEUES-1:0][15:0] q_start,  // fetch index a disabled queue starts from
    input wire logic [NUM_QUEUES-1:0][CNT_W-1:0] q_used,  // downstream FIFO occupancy
    input wire logic [NUM_QUEUES-1:0] q_starve,  // consumer waits for more entries: no batching
    output logic [NUM_QUEUES-1:0][15:0] q_cons,  // fetch index (next entry to read)
    output logic [NUM_QUEUES-1:0] q_idle,  // all posted entries delivered, none in flight
    output logic [NUM_QUEUES-1:0] q_quiet,  // nothing in flight
    output logic [NUM_QUEUES-1:0] q_rd_err,  // pulse: a descriptor read returned an error

    output dma_a_t m_ar,
    output logic m_arvalid,
    input wire logic m_arready,

    input  wire logic [DATA_W-1:0] s_rdata,
    input  wire logic [       1:0] s_rresp,
    input  wire logic              s_rlast,
    input  wire logic              s_rvalid,
    output logic                   s_rready,

    output logic      [ENTRY_W-1:0] ent_raw,
    output logic      [     QW-1:0] ent_q,
    output logic      [       15:0] ent_idx,
    output logic                    ent_valid,
    input  wire logic               ent_ready
);

  localparam int EPB = DATA_W / ENTRY_W;  // entries per beat
  localparam int SLOT_W = $clog2(EPB);
  localparam int BEAT_B = $clog2(DATA_W / 8);  // byte offset bits of a beat
  localparam int N_W = $clog2(MAX_DESC) + 1;
  localparam int BC_W = $clog2(BEATS) + 1;
  localparam int IN_W = $clog2(DEPTH) + 2;  // in-flight entries per queue

  `ASSERT_PARAM(g_check_epb, EPB >= 2 && (1 << SLOT_W) == EPB,
                "DATA_W must hold a power of two >= 2 entries")
  `ASSERT_PARAM(g_check_max_desc, MAX_DESC % EPB == 0 && MAX_DESC >= EPB,
                "MAX_DESC must be a multiple of the entries per beat")
  `ASSERT_PARAM(g_check_beats, BEATS >= MAX_DESC / EPB, "BEATS must hold one full read")

  // ---------------- per-queue state ----------------
  logic [NUM_QUEUES-1:0][15:0] cons_reg, cons_next;
  logic [NUM_QUEUES-1:0][IN_W-1:0] inflight_reg, inflight_next;
  // 0 while disabled, and after an enable until the queue's old reads have drained
  logic [NUM_QUEUES-1:0] active_reg, active_next;
  logic [BC_W-1:0] beats_out_reg, beats_out_next;  // beats issued, not yet unpacked

  logic arvalid_reg, arvalid_next;
  logic [ADDR_W-1:0] araddr_reg, araddr_next;  // data: qualified by arvalid_reg, not reset
  logic [7:0] arlen_reg, arlen_next;

  // ---------------- issue ----------------
  logic [NUM_QUEUES-1:0] elig;
  logic [NUM_QUEUES-1:0][16:0] n_q;  // entries the queue's next read would take
  logic [NUM_QUEUES-1:0][ADDR_W-1:0] addr_q;
  logic [BC_W-1:0] beat_credit;  // beats we may still reserve in the beat buffer

  // Requests of the arbiter, a block of their own: the rest depends on its grant,
  // so one block would be a combinational loop through it.
  always_comb begin
    beat_credit = BC_W'(BEATS) - beats_out_reg;
    for (int q = 0; q < NUM_QUEUES; q++) begin
      logic [16:0] size_n, avail, to_end, free, lim, lim_ring, to_4k, by_cred;
      logic [SLOT_W-1:0] slot;
      size_n    = 17'd1 << q_size[q];
      avail     = 17'(q_prod[q] - cons_reg[q]) & (size_n - 17'd1);
      to_end    = size_n - 17'(cons_reg[q]);
      free      = 17'(DEPTH) - 17'(q_used[q]) - 17'(inflight_reg[q]);
      slot      = cons_reg[q][SLOT_W-1:0];
      addr_q[q] = q_base[q] + (ADDR_W'(cons_reg[q]) << $clog2(DESC_BYTES));
      to_4k     = (17'd4096 - 17'(addr_q[q][11:0])) >> $clog2(DESC_BYTES);
      // beat credit as entries from slot 0
      by_cred   = (17'(beat_credit) << SLOT_W) - 17'(slot);
      lim       = 17'(MAX_DESC) - 17'(slot);
      if (beat_credit == '0) by_cred = '0;
      if (avail < lim) lim = avail;
      if (to_end < lim) lim = to_end;
      if (to_4k < lim) lim = to_4k;
      lim_ring = lim;  // what the ring allows now, before FIFO room and beat credit
      if (free < lim) lim = free;
      if (by_cred < lim) lim = by_cred;
      // q_used + in flight never exceed DEPTH, so free does not wrap
      n_q[q] = lim;
      elig[q] = active_reg[q] && q_run[q] && (lim != '0) &&
          (!BATCH || lim == lim_ring || q_starve[q]);
    end
  end

  logic trk_ready;
  logic sel_valid;
  logic [QW-1:0] sel_q;
  logic issue;
  // Queue 1 first after reset (the order the engine was measured with).
  prim_rr_arb #(
      .N(NUM_QUEUES),
      .FIRST(1 % NUM_QUEUES)
  ) u_rr (
      .clk,
      .rst,
      .req(elig),
      .advance(issue),
      .grant_valid(sel_valid),
      .grant_idx(sel_q)
  );

  // ---------------- read tracking ----------------
  typedef struct packed {
    logic [QW-1:0]  q;
    logic [15:0]    idx;
    logic [N_W-1:0] n;
  } trk_t;

  trk_t trk_in, trk_head;
  logic [BC_W-1:0] unused_trk_count, unused_beat_count;
  logic trk_valid, trk_pop;

  prim_fifo #(
      .WIDTH($bits(trk_t)),
      .DEPTH(BEATS)
  ) trk_fifo (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data(trk_in),
      .s_valid(issue),
      .s_ready(trk_ready),
      .m_data(trk_head),
      .m_valid(trk_valid),
      .m_ready(trk_pop),
      .count(unused_trk_count)
  );

  // ---------------- R side: one beat -> beat buffer ----------------
  // data last, at bit 0: copying the beat in and out is then word aligned in
  // simulation (first, it sat at an odd bit offset: a 512-bit shift per copy).
  typedef struct packed {
    logic [QW-1:0]     q;
    logic [SLOT_W-1:0] first;
    logic [N_W-1:0]    cnt;
    logic [15:0]       idx;
    logic              err;
    logic [DATA_W-1:0] data;
  } beat_t;

  // the burst being received: first beat next, ring index and entries left
  logic r_first_reg, r_first_next;
  logic [15:0] r_idx_reg, r_idx_next;
  logic [N_W-1:0] r_left_reg, r_left_next;
  beat_t beat_in, beat_head;
  logic beat_ready, beat_valid, beat_pop, r_beat;

  prim_fifo #(
      .WIDTH($bits(beat_t)),
      .DEPTH(BEATS)
  ) beat_fifo (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data(beat_in),
      .s_valid(r_beat),
      .s_ready(beat_ready),
      .m_data(beat_head),
      .m_valid(beat_valid),
      .m_ready(beat_pop),
      .count(unused_beat_count)
  );

  // ---------------- unpack: one entry per cycle ----------------
  logic [N_W-1:0] k_reg, k_next;  // entries of the head beat handed out
  logic head_discard, k_last, ent_take, discard;
  logic [SLOT_W-1:0] slot_now;

  logic ar_free;
  logic [16:0] sel_n, sel_beats;
  logic [SLOT_W-1:0] sel_slot;

  always_comb begin
    // issue
    ar_free = !arvalid_reg || m_arready;
    issue = sel_valid && ar_free && trk_ready;
    sel_n = n_q[sel_q];
    sel_slot = cons_reg[sel_q][SLOT_W-1:0];
    sel_beats = (17'(sel_slot) + sel_n + 17'(EPB - 1)) >> SLOT_W;
    trk_in = '{q: sel_q, idx: cons_reg[sel_q], n: N_W'(sel_n)};

    // R side: the entries of a beat are those of its read from its first slot on
    begin
      logic [N_W-1:0] left, room;
      beat_in.data  = s_rdata;
      beat_in.q     = trk_head.q;
      beat_in.first = r_first_reg ? trk_head.idx[SLOT_W-1:0] : '0;
      beat_in.idx   = r_first_reg ? trk_head.idx : r_idx_reg;
      beat_in.err   = (s_rresp != 2'b00);
      left          = r_first_reg ? trk_head.n : r_left_reg;
      room          = N_W'(EPB) - N_W'(beat_in.first);
      beat_in.cnt   = (left < room) ? left : room;
    end
    s_rready = beat_ready && trk_valid;
    r_beat = s_rvalid && s_rready;
    trk_pop = r_beat && s_rlast;

    // unpack; a beat that returned an error, or whose queue was disabled or stopped in
    // error, is dropped whole: after a failed read the entries of a later read in
    // flight would skip the lost ones (the queue sends nothing after its error)
    head_discard = beat_head.err || !active_reg[beat_head.q] || !q_run[beat_head.q];
    slot_now = beat_head.first + SLOT_W'(k_reg);
    k_last = (k_reg + 1'b1) == beat_head.cnt;
    ent_raw = beat_head.data[slot_now*ENTRY_W+:ENTRY_W];
    ent_q = beat_head.q;
    ent_idx = beat_head.idx + 16'(k_reg);
    ent_valid = beat_valid && !head_discard;
    ent_take = ent_valid && ent_ready;
    discard = beat_valid && head_discard;
    beat_pop = discard || (ent_take && k_last);

    for (int q = 0; q < NUM_QUEUES; q++) begin
      q_rd_err[q] = discard && beat_head.err && active_reg[q] && (beat_head.q == QW'(q));
      q_cons[q]   = cons_reg[q];
      q_quiet[q]  = (inflight_reg[q] == '0);
      q_idle[q]   = (cons_reg[q] == q_prod[q]) && (inflight_reg[q] == '0);
    end

    // next state
    cons_next = cons_reg;
    inflight_next = inflight_reg;
    active_next = active_reg;
    beats_out_next = beats_out_reg;
    arvalid_next = arvalid_reg;
    araddr_next = araddr_reg;
    arlen_next = arlen_reg;
    r_first_next = r_first_reg;
    r_idx_next = r_idx_reg;
    r_left_next = r_left_reg;
    k_next = k_reg;

    if (issue) begin
      arvalid_next = 1'b1;
      araddr_next  = {addr_q[sel_q][ADDR_W-1:BEAT_B], BEAT_B'(0)};
      arlen_next   = 8'(sel_beats - 17'd1);
    end else if (m_arready) begin
      arvalid_next = 1'b0;
    end

    // beat buffer room: reserved at issue, returned as beats are unpacked
    beats_out_next = beats_out_reg + (issue ? BC_W'(sel_beats) : '0) - (beat_pop ? BC_W'(1) : '0);

    if (r_beat) begin
      r_first_next = s_rlast;
      r_idx_next   = beat_in.idx + 16'(beat_in.cnt);
      r_left_next  = (r_first_reg ? trk_head.n : r_left_reg) - beat_in.cnt;
    end

    if (discard || (ent_take && k_last)) k_next = '0;
    else if (ent_take) k_next = k_reg + 1'b1;

    for (int q = 0; q < NUM_QUEUES; q++) begin
      logic [IN_W-1:0] inc, dec;
      logic [16:0] mask;
      inc = (issue && sel_q == QW'(q)) ? IN_W'(sel_n) : '0;
      dec = '0;
      if (beat_valid && beat_head.q == QW'(q)) begin
        if (discard) dec = IN_W'(beat_head.cnt - k_reg);
        else if (ent_take) dec = IN_W'(1);
      end
      inflight_next[q] = inflight_reg[q] + inc - dec;
      // a re-enabled queue waits until the reads of its previous life are gone
      active_next[q] = q_en[q] && (active_reg[q] || inflight_reg[q] == '0);
      mask = (17'd1 << q_size[q]) - 17'd1;
      if (!q_en[q]) begin
        cons_next[q] = q_start[q] & 16'(mask);
      end else if (issue && sel_q == QW'(q)) begin
        cons_next[q] = 16'((17'(cons_reg[q]) + sel_n) & mask);
      end
    end
  end

  // ---------------- state ----------------
  always_ff @(posedge clk) begin
    araddr_reg <= araddr_next;
    arlen_reg  <= arlen_next;
    if (rst) begin
      cons_reg      <= '0;
      inflight_reg  <= '0;
      active_reg    <= '0;
      beats_out_reg <= '0;
      arvalid_reg   <= 1'b0;
      r_first_reg   <= 1'b1;
      r_idx_reg     <= '0;
      r_left_reg    <= '0;
      k_reg         <= '0;
    end else begin
      cons_reg      <= cons_next;
      inflight_reg  <= inflight_next;
      active_reg    <= active_next;
      beats_out_reg <= beats_out_next;
      arvalid_reg   <= arvalid_next;
      r_first_reg   <= r_first_next;
      r_idx_reg     <= r_idx_next;
      r_left_reg    <= r_left_next;
      k_reg         <= k_next;
    end
  end

  // one ID per fetcher (queue 0): its reads return in order
  assign m_ar      = '{id: dma_rd_id(KIND, '0), addr: AXI_ADDR_W'(araddr_reg), len: arlen_reg};
  assign m_arvalid = arvalid_reg;

  `ASSERT_NEVER(data_without_read, s_rvalid && !trk_valid)
  `ASSERT_NEVER(read_too_large, issue && sel_beats > 17'(BEATS))
  `ASSERT_NEVER(ar_changed, m_arvalid && !m_arready && $past(m_arvalid && !m_arready) && $changed
                (m_ar))
  // the beat buffer's reservations never exceed it (nor wrap below zero), the
  // unpacker stays inside the head beat, and the downstream FIFO never holds
  // more than its share (q_used + in flight <= DEPTH: free never wraps)
  `ASSERT(beats_out_range, beats_out_reg <= BC_W'(BEATS))
  `ASSERT(k_in_beat, beat_valid |-> k_reg < beat_head.cnt)
`ifndef SYNTHESIS
  logic [NUM_QUEUES-1:0] over_depth;
  always_comb begin
    for (int q = 0; q < NUM_QUEUES; q++) begin
      over_depth[q] = 32'(q_used[q]) + 32'(inflight_reg[q]) > DEPTH;
    end
  end
`endif
  `ASSERT_NEVER(fifo_share_exceeded, over_depth != '0)

endmodule

`resetall
