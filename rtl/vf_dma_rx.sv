// vf_dma_rx: RX path of one function — store-and-forward FIFO from the
// switch, per-queue RX descriptor FIFOs, buffer writes and completions.
//
// s_axis_rx_tready is always 1: a frame that does not fit the FIFO is
// dropped. At the FIFO head a frame is written only if the buffers already
// fetched for its queue hold it; if its queue has no more posted buffers
// (or is disabled or in error), it is dropped and counted (q_drop). A frame
// spans as many 64-byte-multiple buffers as it needs, each buffer is used by
// one frame, bursts stop at 4 KiB boundaries. The completion request is
// released once the frame's last data AW is accepted; data and completion use
// the same AXI ID, so the completion lands after the data.
// Format B (FMT_B, docs §4b): each queue has two descriptor rings, ring r = q
// (ring 1, head buffers) and r = q + NUM_QUEUES (ring 2, body buffers); a
// frame starts in the next ring-1 buffer and continues in ring-2 buffers, and
// every buffer gets its own completion ({ring2, eop, sop} in the request's
// nbufs field), all released by the frame's last data AW. Format B frames start
// from S_IDLE only (2 cycles per frame: line rate is asked from 256 B).
// Steering: with hash_en, IPv4 frames (optionally one VLAN tag) go to queue
// fold8(src ^ dst ^ ports) % NUM_QUEUES (ports only for TCP/UDP without IP
// options, see docs §3.1); other frames, and all frames without hash_en, to
// queue 0.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module vf_dma_rx
  import nic_pkg::*, axi_pkg::*;
#(
    parameter int NUM_QUEUES = 1,  // RX queues
    parameter int DATA_W = 512,  // AXI and stream data width
    parameter int ADDR_W = 64,  // AXI address width
    parameter dma_wr_kind_e KIND = WR_RX,  // ID kind of RX writes
    parameter int DEPTH = 32,  // descriptor FIFO entries per queue
    parameter int RX_FIFO_BEATS = 512,  // store-and-forward FIFO in beats
    parameter int RX_MAX_FRAMES = 128,  // frames the FIFO holds at most
    parameter bit FMT_B = 1'b0,  // ring format B: ring 2 and a completion per buffer
    localparam int QW = NUM_QUEUES > 1 ? $clog2(NUM_QUEUES) : 1,
    localparam int NR = FMT_B ? 2 * NUM_QUEUES : NUM_QUEUES,  // descriptor rings
    localparam int RW = NR > 1 ? $clog2(NR) : 1,
    localparam int CNT_W = $clog2(DEPTH) + 1,
    localparam int KEEP_W = DATA_W / 8
) (
    input wire logic clk,
    input wire logic rst,

    input  wire axis_t                 s_axis_rx,         // DATA_W low bits
    input  wire logic  [RX_META_W-1:0] s_axis_rx_tuser,
    input  wire logic                  s_axis_rx_tvalid,
    output logic                       s_axis_rx_tready,

    input wire logic hash_en,  // RX_STEER.HASH: steer by flow hash
    input wire logic [NUM_QUEUES-1:0] q_en,
    input wire logic [NUM_QUEUES-1:0] q_run,
    input wire logic [NR-1:0] q_idle,  // fetcher: no more posted descriptors to come
    output logic [NR-1:0][CNT_W-1:0] q_used,  // per ring
    output logic [NUM_QUEUES-1:0] q_err,
    output logic [NUM_QUEUES-1:0][7:0] q_err_code,
    output logic [NUM_QUEUES-1:0] q_drop,  // pulse: a frame for the queue was dropped
    output logic [NUM_QUEUES-1:0] q_busy,  // a frame of the queue is being written
    output logic [NUM_QUEUES-1:0] q_abandon,  // pulse: a frame was cut short by disable
    output logic [NR-1:0] q_starve,  // the head frame waits for this ring's buffers
    output logic [NR-1:0] q_taken,  // pulse: the ring's next buffer was taken (§4c)

    input  wire rxd_t          d,        // the descriptor, as the ring format decoded it
    input  wire logic [RW-1:0] d_q,      // ring
    input  wire logic [  15:0] d_idx,
    input  wire logic          d_valid,
    output logic               d_ready,

    output dma_a_t    m_aw,
    output logic      m_awvalid,
    input  wire logic m_awready,
    output axi_w_t    m_w,
    output logic      m_wvalid,
    input  wire logic m_wready,

    output cpl_req_t  cpl_data,
    output logic      cpl_valid,
    input  wire logic cpl_ready
);

  localparam int OFF_W = $clog2(KEEP_W);
  localparam int FB_W = 16 + CNT_W;  // fetched bytes per queue
  localparam int BT_W = 13 - OFF_W + 1;  // beats of one burst (<= 4 KiB)
  localparam int UW = QW + RX_META_W;  // frame FIFO sideband: {queue, metadata}
  localparam int WCMD_W = 1 + BT_W;  // {drop, beats}
  localparam int PEND_W = QW + 16 + 8 + 16 + RX_META_W;  // a completion waiting for release
  localparam int PQ_W = $clog2(RX_MAX_FRAMES) + 1;  // completions pending per queue
  localparam int REL_W = $clog2(RX_MAX_FRAMES) + 1;  // completions released, not yet taken

  typedef enum logic [0:0] {
    S_IDLE,
    S_WRITE
  } state_e;

  // ---------------- state ----------------
  // steering of the frame coming in
  logic first_reg, first_next;  // next input beat starts a frame
  logic [QW-1:0] frame_q_reg, frame_q_next;  // steering of the frame being received
  // descriptor bytes fetched per ring, not yet used
  logic [NR-1:0][FB_W-1:0] fetched_reg, fetched_next;
  logic [NR-1:0] starve_reg, starve_next;
  // the frame being written
  state_e state_reg, state_next;
  logic [QW-1:0] cur_q_reg, cur_q_next;
  logic [7:0] nbufs_reg, nbufs_next;  // buffers of the frame started so far
  logic loaded_reg, loaded_next;  // addr/rem hold the buffer being filled (else the FIFO head)
  logic [63:0] addr_reg, addr_next;
  logic [15:0] rem_reg, rem_next;
  logic aw_valid_reg, aw_valid_next;
  // Qualified by state, loaded_reg or aw_valid_reg, so left without reset
  logic [15:0] len_rem_reg, len_rem_next;
  logic [15:0] len_reg, len_next;
  logic [15:0] first_idx_reg, first_idx_next;
  rx_meta_t meta_reg, meta_next;
  logic [15:0] buf_idx_reg, buf_idx_next;  // format B: the buffer being filled
  logic [15:0] buf_bytes_reg, buf_bytes_next;
  logic buf_first_reg, buf_first_next;
  logic [7:0] aw_nrel_reg, aw_nrel_next;  // completions the AW releases: its frame's, at its end
  logic [7:0] fpushed_reg, fpushed_next;  // completions of the frame queued so far (format B)
  logic [ADDR_W-1:0] aw_addr_reg, aw_addr_next;
  logic [7:0] aw_len_reg, aw_len_next;
  // completions
  logic [REL_W-1:0] released_reg, released_next;
  logic [NUM_QUEUES-1:0][PQ_W-1:0] pendq_reg, pendq_next;  // per queue, released or not
  // W beats of the head command
  logic [BT_W-1:0] wcnt_reg, wcnt_next;

  // ---------------- submodule ports ----------------
  logic [QW-1:0] in_q;
  rx_meta_t fi_meta;
  logic [QW-1:0] fi_q;
  logic [15:0] fi_len;
  logic fi_valid, fi_pop;
  axis_t ff;
  logic ff_valid, ff_ready;
  logic ovf_drop;

  logic [NR-1:0][63:0] dh_addr;
  logic [NR-1:0][15:0] dh_len, dh_idx;
  logic [NR-1:0] dh_valid, dh_pop, d_good, flush;

  logic wcmd_ready, wcmd_push, wcmd_valid, wcmd_pop;
  logic [WCMD_W-1:0] wcmd_in, wcmd_head;
  logic pend_ready, pend_push, pend_valid, pend_pop;
  logic [PEND_W-1:0] pend_in, pend_head;

  // ---------------- combinational ----------------
  logic [7:0] d_code;
  logic [RW-1:0] head_r, body_r, cur_r;
  logic [FB_W-1:0] avail;
  logic fit, no_more, do_drop, do_go;
  logic [63:0] eff_addr;
  logic [15:0] eff_rem, bytes;
  logic [12:0] to_4k;
  logic [BT_W-1:0] bbeats;
  logic frame_end, buf_done, cpl_end, aw_free, cut, issue, last_issue;
  logic [7:0] nbufs_new;
  logic [15:0] first_idx, buf_idx, buf_len;
  logic buf_first;
  logic [7:0] buf_flags;
  logic aw_fire;
  logic [QW-1:0] p_q;
  logic [15:0] p_idx, p_len;
  logic [7:0] p_nbufs;
  rx_meta_t p_meta;
  logic w_drop, w_last, w_beat;
  logic [BT_W-1:0] w_beats;
  logic [  QW-1:0] hash_q;  // the queue the beat on s_axis_rx would steer its frame to
  localparam int HDR_W = 42 * 8;  // vf_dma_rx_hash's header, zero-extended past the beat

  // One always_comb per stage, not one for the module: Verilator orders combinational
  // logic block by block, and a block that reads a neighbour's output while driving its
  // input (the FIFOs here, the completion writer's cpl_ready) would be a loop to it.

  // steering: the first beat's hash, kept for the rest of the frame
  always_comb begin
    in_q = first_reg ? hash_q : frame_q_reg;
    first_next = first_reg;
    frame_q_next = frame_q_reg;
    if (s_axis_rx_tvalid && s_axis_rx_tready) begin
      first_next = s_axis_rx.last;
      if (first_reg) frame_q_next = in_q;
    end
  end

  // descriptors in: checked once, queued in their ring's FIFO
  always_comb begin
    d_ready = 1'b1;  // FIFO room is guaranteed by the fetcher's credit
    d_code  = ERR_NONE;
    if (d.err != ERR_NONE) d_code = d.err;
    else if (d.len == '0) d_code = ERR_DESC_LEN_ZERO;
    else if (d.addr[OFF_W-1:0] != '0 || d.len[OFF_W-1:0] != '0) d_code = ERR_DESC_ALIGN;
    // one descriptor per cycle: at most one ring of a queue reports an error at a time
    q_err      = '0;
    q_err_code = '0;
    for (int r = 0; r < NR; r++) begin
      logic mine;  // the descriptor is ring r's, and its queue runs
      mine = d_valid && d_q == RW'(r) && q_run[r%NUM_QUEUES];
      d_good[r] = mine && d_code == ERR_NONE;
      // a disabled queue's buffers are dropped once no frame is written into them
      flush[r] = !q_en[r%NUM_QUEUES] && !(state_reg == S_WRITE && cur_q_reg == QW'(r % NUM_QUEUES));
      if (mine && d_code != ERR_NONE) begin
        q_err[r%NUM_QUEUES]      = 1'b1;
        q_err_code[r%NUM_QUEUES] = d_code;
      end
    end
  end

  // the frame being written, one burst per cycle, and the decision on the next one
  always_comb begin
    // the ring of the frame's next buffer: ring 1 for its first, ring 2 after (format B)
    cur_r = (FMT_B && nbufs_reg != '0) ? RW'(32'(cur_q_reg) + NUM_QUEUES) : RW'(cur_q_reg);
    eff_addr = loaded_reg ? addr_reg : dh_addr[cur_r];
    eff_rem = loaded_reg ? rem_reg : dh_len[cur_r];
    to_4k = 13'd4096 - 13'(eff_addr[11:0]);
    bytes = len_rem_reg;
    if (eff_rem < bytes) bytes = eff_rem;
    if (17'(to_4k) < 17'(bytes)) bytes = 16'(to_4k);
    bbeats = BT_W'((17'(bytes) + 17'(KEEP_W - 1)) >> OFF_W);
    frame_end = (bytes == len_rem_reg);
    buf_done = (bytes == eff_rem);
    // a completion per frame (format A) or per buffer (format B) ends with this burst
    cpl_end = FMT_B ? frame_end || buf_done : frame_end;
    aw_free = !aw_valid_reg || m_awready;
    // queue disabled mid-frame: issue no more bursts, drop the rest of the frame
    cut = state_reg == S_WRITE && !q_en[cur_q_reg] && wcmd_ready;
    issue = state_reg == S_WRITE && q_en[cur_q_reg] && aw_free && wcmd_ready
        && (!cpl_end || pend_ready) && (loaded_reg || dh_valid[cur_r]);
    last_issue = issue && frame_end;
    nbufs_new = nbufs_reg + (loaded_reg ? 8'd0 : 8'd1);
    for (int r = 0; r < NR; r++) dh_pop[r] = issue && !loaded_reg && cur_r == RW'(r);
    // the frame's first buffer is the FIFO head at its first burst (at do_go the
    // head may still be the previous frame's last buffer)
    first_idx = nbufs_reg == '0 ? dh_idx[cur_r] : first_idx_reg;
    // format B: the buffer this burst writes, its bytes so far, whether it is the frame's first
    buf_first = loaded_reg ? buf_first_reg : nbufs_reg == '0;
    buf_idx = loaded_reg ? buf_idx_reg : dh_idx[cur_r];
    buf_len = (loaded_reg ? buf_bytes_reg : 16'd0) + bytes;
    buf_flags = {5'd0, !buf_first, frame_end, buf_first};  // {ring2, eop, sop}

    // ---- frame decision at the FIFO head ----
    // The next frame may start in the cycle the current one's last AW issues
    // (`last_issue`), so one-beat frames go out one per cycle; starting only
    // from S_IDLE cost a second cycle per frame (0.5 frames/cycle, 0.84 of the
    // 64 B line rate). Its buffers are then the fetched ones minus the one the
    // current frame pops in that cycle. Drops are decided in S_IDLE only.
    // Format B: the frame's head buffer comes from ring 1 (head_r), the rest
    // from ring 2 (body_r); it goes when the head is fetched and the fetched
    // ring-2 buffers hold the rest, and is dropped when the ring it waits for
    // has no more posted buffers (or its FIFO is full).
    head_r = RW'(fi_q);
    body_r = FMT_B ? RW'(32'(fi_q) + NUM_QUEUES) : RW'(fi_q);
    avail = fetched_reg[head_r] - (dh_pop[head_r] ? FB_W'(dh_len[head_r]) : '0);
    if (FMT_B) begin
      fit = dh_valid[head_r] && FB_W'(dh_len[head_r]) + fetched_reg[body_r] >= FB_W'(fi_len);
      no_more = !q_run[fi_q] || (dh_valid[head_r] ?
                                 q_idle[body_r] || q_used[body_r] == CNT_W'(DEPTH) :
                                 q_idle[head_r]);
    end else begin
      fit     = avail >= FB_W'(fi_len);
      no_more = q_idle[head_r] || q_used[head_r] == CNT_W'(DEPTH) || !q_run[fi_q];
    end
    do_drop = state_reg == S_IDLE && fi_valid && (!q_run[fi_q] || (!fit && no_more)) && wcmd_ready;
    do_go   = (state_reg == S_IDLE || (!FMT_B && last_issue)) && fi_valid && q_run[fi_q] && fit;

    // The fetcher batches RX descriptor reads; a frame that needs more buffers
    // than are fetched asks for an immediate refill (registered: a cycle late
    // costs nothing, and keeps the fit compare out of the fetcher's issue path).
    for (int r = 0; r < NR; r++) begin
      logic wait_r;  // the head frame waits for ring r
      wait_r = (!FMT_B || dh_valid[head_r]) ? body_r == RW'(r) : head_r == RW'(r);
      starve_next[r] = state_reg == S_IDLE && fi_valid && q_run[fi_q] && !fit && wait_r;
    end
    q_starve = starve_reg;
    q_taken  = dh_pop;

    for (int r = 0; r < NR; r++) begin
      fetched_next[r] = flush[r] ? '0 : fetched_reg[r] + (d_good[r] ? FB_W'(d.len) : '0)
          - (dh_pop[r] ? FB_W'(dh_len[r]) : '0);
    end

    fi_pop = do_drop || do_go;
    wcmd_push = do_drop || issue || cut;
    // a drop runs to the frame's last beat
    wcmd_in = (do_drop || cut) ? {1'b1, BT_W'(0)} : {1'b0, bbeats};
    pend_push = issue && cpl_end;
    pend_in = FMT_B ? {cur_q_reg, buf_idx, buf_flags, buf_len, meta_reg}
                    : {cur_q_reg, first_idx, nbufs_new, len_reg, meta_reg};

    // ---- writer next state ----
    state_next = state_reg;
    cur_q_next = cur_q_reg;
    nbufs_next = nbufs_reg;
    loaded_next = loaded_reg;
    addr_next = addr_reg;
    rem_next = rem_reg;
    aw_valid_next = aw_valid_reg;
    aw_addr_next = aw_addr_reg;
    aw_len_next = aw_len_reg;
    aw_nrel_next = aw_nrel_reg;
    first_idx_next = first_idx_reg;
    fpushed_next = fpushed_reg;
    buf_idx_next = buf_idx_reg;
    buf_bytes_next = buf_bytes_reg;
    buf_first_next = buf_first_reg;
    len_rem_next = len_rem_reg;
    len_next = len_reg;
    meta_next = meta_reg;

    if (issue) begin
      aw_addr_next = {eff_addr[ADDR_W-1:OFF_W], OFF_W'(0)};
      aw_len_next  = 8'(bbeats - 1'b1);
      // a frame's completions (format B: one per buffer) go together, after all its data
      aw_nrel_next = !frame_end ? 8'd0 : FMT_B ? nbufs_new : 8'd1;
    end
    if (issue && nbufs_reg == '0) first_idx_next = dh_idx[cur_r];
    if (do_go || cut) fpushed_next = '0;
    else if (pend_push) fpushed_next = fpushed_reg + 1'b1;
    if (issue && !cpl_end) begin
      buf_idx_next   = buf_idx;
      buf_bytes_next = buf_len;
      buf_first_next = buf_first;
    end
    if (do_go) begin
      len_rem_next = fi_len;
      len_next     = fi_len;
      meta_next    = fi_meta;
    end else if (issue) begin
      len_rem_next = len_rem_reg - bytes;
    end
    if (issue) aw_valid_next = 1'b1;
    else if (m_awready) aw_valid_next = 1'b0;

    unique case (state_reg)
      S_IDLE: begin
        if (do_go) begin
          state_next  = S_WRITE;
          cur_q_next  = fi_q;
          nbufs_next  = '0;
          loaded_next = 1'b0;
        end
      end
      S_WRITE: begin
        if (cut) begin
          state_next  = S_IDLE;
          loaded_next = 1'b0;
        end else if (do_go) begin
          // back to back: the current frame's last burst issues now
          cur_q_next  = fi_q;
          nbufs_next  = '0;
          loaded_next = 1'b0;
        end else if (issue) begin
          nbufs_next = nbufs_new;
          if (frame_end || buf_done) begin
            loaded_next = 1'b0;
          end else begin
            loaded_next = 1'b1;
            addr_next   = eff_addr + 64'(bytes);
            rem_next    = eff_rem - bytes;
          end
          if (frame_end) state_next = S_IDLE;
        end
      end
      default: state_next = S_IDLE;
    endcase

    for (int q = 0; q < NUM_QUEUES; q++) begin
      q_drop[q] = (do_drop && fi_q == QW'(q)) || (ovf_drop && q == 0);
      q_busy[q] = (state_reg == S_WRITE && cur_q_reg == QW'(q)) || pendq_reg[q] != '0;
      q_abandon[q] = cut && cur_q_reg == QW'(q);
    end

    m_aw = '{
        id: dma_wr_id(KIND, DMA_QUEUE_W'(cur_q_reg)),
        addr: AXI_ADDR_W'(aw_addr_reg),
        len: aw_len_reg
    };
    m_awvalid = aw_valid_reg;
  end

  // completions: released by their frame's last data AW
  always_comb begin
    aw_fire = aw_valid_reg && m_awready;
    cpl_valid = pend_valid && released_reg != '0;
    pend_pop = cpl_valid && cpl_ready;
    // a frame cut by a queue disable releases the completions it queued: the completion
    // writer discards them (their queue is off), and they must not hold up the FIFO
    released_next = released_reg + (aw_fire ? REL_W'(aw_nrel_reg) : '0)
        + (cut ? REL_W'(fpushed_reg) : '0) - REL_W'(pend_pop);
    {p_q, p_idx, p_nbufs, p_len, p_meta} = pend_head;
    cpl_data = '{
        rx: 1'b1,
        q: 8'(p_q),
        idx: p_idx,
        len: p_len,
        nbufs: p_nbufs,
        vlan_stripped: p_meta.vlan_stripped,
        vlan_tci: p_meta.vlan_tci,
        status: ERR_NONE
    };
    // completions per queue waiting for release or for the completion writer
    for (int q = 0; q < NUM_QUEUES; q++) begin
      pendq_next[q] = pendq_reg[q] + PQ_W'(pend_push && pend_ready && cur_q_reg == QW'(q))
          - PQ_W'(pend_pop && p_q == QW'(q));
    end
  end

  // W: frame beats per command
  always_comb begin
    w_drop = wcmd_head[WCMD_W-1];
    w_beats = wcmd_head[BT_W-1:0];
    w_last = (wcnt_reg + 1'b1) == w_beats;
    m_w = '{
        data: AXI_DATA_W'(ff.data[DATA_W-1:0]),
        strb: AXI_STRB_W'(ff.keep[KEEP_W-1:0]),
        last: w_last
    };
    m_wvalid = wcmd_valid && !w_drop && ff_valid;
    ff_ready = wcmd_valid && (w_drop || m_wready);
    w_beat = ff_valid && ff_ready;
    wcmd_pop = w_beat && (w_drop ? ff.last : w_last);
    wcnt_next = wcnt_reg;
    if (wcmd_pop) wcnt_next = '0;
    else if (w_beat) wcnt_next = wcnt_reg + 1'b1;
  end

  always_ff @(posedge clk) begin
    len_rem_reg   <= len_rem_next;
    len_reg       <= len_next;
    first_idx_reg <= first_idx_next;
    meta_reg      <= meta_next;
    buf_idx_reg   <= buf_idx_next;
    buf_bytes_reg <= buf_bytes_next;
    buf_first_reg <= buf_first_next;
    aw_nrel_reg   <= aw_nrel_next;
    fpushed_reg   <= fpushed_next;
    aw_addr_reg   <= aw_addr_next;
    aw_len_reg    <= aw_len_next;
    if (rst) begin
      first_reg    <= 1'b1;
      frame_q_reg  <= '0;
      fetched_reg  <= '0;
      starve_reg   <= '0;
      state_reg    <= S_IDLE;
      cur_q_reg    <= '0;
      nbufs_reg    <= '0;
      loaded_reg   <= 1'b0;
      addr_reg     <= '0;
      rem_reg      <= '0;
      aw_valid_reg <= 1'b0;
      released_reg <= '0;
      pendq_reg    <= '0;
      wcnt_reg     <= '0;
    end else begin
      first_reg    <= first_next;
      frame_q_reg  <= frame_q_next;
      fetched_reg  <= fetched_next;
      starve_reg   <= starve_next;
      state_reg    <= state_next;
      cur_q_reg    <= cur_q_next;
      nbufs_reg    <= nbufs_next;
      loaded_reg   <= loaded_next;
      addr_reg     <= addr_next;
      rem_reg      <= rem_next;
      aw_valid_reg <= aw_valid_next;
      released_reg <= released_next;
      pendq_reg    <= pendq_next;
      wcnt_reg     <= wcnt_next;
    end
  end

  // ---------------- flow hash of the first beat ----------------
  vf_dma_rx_hash #(
      .NUM_QUEUES(NUM_QUEUES),
      .DATA_W(DATA_W)
  ) u_hash (
      .hdr(HDR_W'(s_axis_rx.data[DATA_W-1:0])),
      .en(hash_en),
      .queue(hash_q)
  );

  // ---------------- store-and-forward FIFO ----------------
  logic [UW-1:0] unused_beat_user;
  logic [$clog2(RX_FIFO_BEATS):0] unused_used;

  vf_dma_frame_fifo #(
      .DATA_W(DATA_W),
      .USER_W(UW),
      .DEPTH(RX_FIFO_BEATS),
      .MAX_FRAMES(RX_MAX_FRAMES),
      .DROP_WHEN_FULL(1'b1)
  ) rxf (
      .clk,
      .rst,
      .s_axis(s_axis_rx),
      .s_axis_tuser({in_q, s_axis_rx_tuser}),
      .s_drop(1'b0),
      .s_axis_tvalid(s_axis_rx_tvalid),
      .s_axis_tready(s_axis_rx_tready),
      .ovf_drop,
      .m_axis(ff),
      .m_axis_tuser(unused_beat_user),
      .m_axis_tvalid(ff_valid),
      .m_axis_tready(ff_ready),
      .m_info_user({fi_q, fi_meta}),
      .m_info_len(fi_len),
      .m_info_valid(fi_valid),
      .m_info_ready(fi_pop),
      .used(unused_used)
  );

  // ---------------- per-ring descriptor FIFOs ----------------
  for (genvar gr = 0; gr < NR; gr++) begin : g_q
    // the fetcher reads only as far as this FIFO has room (q_used + in flight <=
    // DEPTH), so it never waits for s_ready: an overflow is asserted
    logic unused_dready;
    prim_fifo #(
        .WIDTH(64 + 16 + 16),
        .DEPTH(DEPTH),
        .CHECK_OVERFLOW(1'b1)
    ) desc_fifo (
        .clk,
        .rst,
        .clr(flush[gr]),
        .s_data({d.addr, d.len, d_idx}),
        .s_valid(d_good[gr]),
        .s_ready(unused_dready),
        .m_data({dh_addr[gr], dh_len[gr], dh_idx[gr]}),
        .m_valid(dh_valid[gr]),
        .m_ready(dh_pop[gr]),
        .count(q_used[gr])
    );
  end

  // ---------------- write commands and pending completions ----------------
  logic [$clog2(RX_MAX_FRAMES):0] unused_wcmd_count;
  logic [$clog2(RX_MAX_FRAMES):0] pend_count;  // read by an assertion only
  prim_fifo #(
      .WIDTH(WCMD_W),
      .DEPTH(RX_MAX_FRAMES)
  ) wcmd_fifo (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data(wcmd_in),
      .s_valid(wcmd_push),
      .s_ready(wcmd_ready),
      .m_data(wcmd_head),
      .m_valid(wcmd_valid),
      .m_ready(wcmd_pop),
      .count(unused_wcmd_count)
  );

  prim_fifo #(
      .WIDTH(PEND_W),
      .DEPTH(RX_MAX_FRAMES)
  ) pend_fifo (
      .clk,
      .rst,
      .clr(1'b0),
      .s_data(pend_in),
      .s_valid(pend_push),
      .s_ready(pend_ready),
      .m_data(pend_head),
      .m_valid(pend_valid),
      .m_ready(pend_pop),
      .count(pend_count)
  );

  // ---------------- assertions ----------------
  // a frame is accepted only with its buffers fetched
  `ASSERT_NEVER(write_without_buffer, state_reg == S_WRITE && !loaded_reg && !dh_valid[cur_r])
  // bursts are cut at the frame's end: the FIFO's last beat is the last of a burst
  `ASSERT_NEVER(frame_ends_in_burst, m_wvalid && m_w.last != ff.last && ff.last)
  // a burst stays inside one 4 KiB page and one buffer, and is never empty
  `ASSERT(burst_in_page, issue |-> bytes != '0 && 17'(eff_addr[11:0]) + 17'(bytes) <= 17'd4096)
  // a completion is released only once its frame's data AW went: never more than queued
  `ASSERT(released_queued, 32'(released_reg) <= 32'(pend_count))
  // one buffer taken per cycle, of the frame's own queue
  `ASSERT_ONEHOT0(one_buffer_taken, dh_pop)

endmodule

`resetall
