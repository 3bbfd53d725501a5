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
    input logic clk,
    input logic rst,

    input  logic [   DATA_W-1:0] s_axis_rx_tdata,
    input  logic [   KEEP_W-1:0] s_axis_rx_tkeep,
    input  logic                 s_axis_rx_tlast,
    input  logic [RX_META_W-1:0] s_axis_rx_tuser,
    input  logic                 s_axis_rx_tvalid,
    output logic                 s_axis_rx_tready,

    input logic hash_en,  // RX_STEER.HASH: steer by flow hash
    input logic [NUM_QUEUES-1:0] q_en,
    input logic [NUM_QUEUES-1:0] q_run,
    input logic [NR-1:0] q_idle,  // fetcher: no more posted descriptors to come
    output logic [NR-1:0][CNT_W-1:0] q_used,  // per ring
    output logic [NUM_QUEUES-1:0] q_err,
    output logic [NUM_QUEUES-1:0][7:0] q_err_code,
    output logic [NUM_QUEUES-1:0] q_drop,  // pulse: a frame for the queue was dropped
    output logic [NUM_QUEUES-1:0] q_busy,  // a frame of the queue is being written
    output logic [NUM_QUEUES-1:0] q_abandon,  // pulse: a frame was cut short by disable
    output logic [NR-1:0] q_starve,  // the head frame waits for this ring's buffers
    output logic [NR-1:0] q_taken,  // pulse: the ring's next buffer was taken (§4c)

    input  logic [  63:0] d_addr,
    input  logic [  15:0] d_len,
    input  logic [   7:0] d_err,    // q_err_e the ring format refused the entry with
    input  logic [RW-1:0] d_q,      // ring
    input  logic [  15:0] d_idx,
    input  logic          d_valid,
    output logic          d_ready,

    output dma_a_t              m_aw,
    output logic                m_awvalid,
    input  logic                m_awready,
    output logic   [DATA_W-1:0] m_wdata,
    output logic   [KEEP_W-1:0] m_wstrb,
    output logic                m_wlast,
    output logic                m_wvalid,
    input  logic                m_wready,

    output cpl_req_t cpl_data,
    output logic     cpl_valid,
    input  logic     cpl_ready
);

  localparam int OFF_W = $clog2(KEEP_W);
  localparam int FB_W = 16 + CNT_W;  // fetched bytes per queue
  localparam int BT_W = 13 - OFF_W + 1;  // beats of one burst (<= 4 KiB)

  assign d_ready = 1'b1;  // FIFO room is guaranteed by the fetcher's credit

  // ---------------- flow hash of the first beat ----------------
  // The hash reads bytes 12..41 of the first beat: those 42 bytes as a byte
  // array (zero past the beat: no hash with beats < 42 bytes). Constant byte
  // selects of it cost a word access in simulation, where a shift of the whole
  // beat per byte cost a 512-bit shift each (docs/SIM_SPEED.md).
  localparam int HDR_B = 42;
  logic [HDR_B-1:0][7:0] hdr;
  assign hdr = (HDR_B * 8)'(s_axis_rx_tdata);
  function automatic logic [7:0] byte_at(input logic [HDR_B-1:0][7:0] d, input int i);
    byte_at = d[i];
  endfunction
  function automatic logic [31:0] be32(input logic [HDR_B-1:0][7:0] d, input int i);
    be32 = {d[i], d[i+1], d[i+2], d[i+3]};
  endfunction

  logic [QW-1:0] hash_q;
  always_comb begin
    logic [15:0] etype;
    logic [31:0] h;
    logic [ 7:0] f;
    logic vlan, ipv4, l4;
    vlan  = {byte_at(hdr, 12), byte_at(hdr, 13)} == 16'h8100;
    etype = vlan ? {byte_at(hdr, 16), byte_at(hdr, 17)} : {byte_at(hdr, 12), byte_at(hdr, 13)};
    ipv4  = etype == 16'h0800;
    h     = '0;
    l4    = 1'b0;
    if (!vlan) begin
      l4 = byte_at(hdr, 14) == 8'h45 && (byte_at(hdr, 23) == 8'd6 || byte_at(hdr, 23) == 8'd17);
      h  = be32(hdr, 26) ^ be32(hdr, 30) ^ (l4 ? be32(hdr, 34) : '0);
    end else begin
      l4 = byte_at(hdr, 18) == 8'h45 && (byte_at(hdr, 27) == 8'd6 || byte_at(hdr, 27) == 8'd17);
      h  = be32(hdr, 30) ^ be32(hdr, 34) ^ (l4 ? be32(hdr, 38) : '0);
    end
    f      = h[31:24] ^ h[23:16] ^ h[15:8] ^ h[7:0];
    hash_q = (hash_en && ipv4 && KEEP_W >= 42) ? QW'(int'(f) % NUM_QUEUES) : '0;
  end

  logic          first_reg;  // next input beat starts a frame
  logic [QW-1:0] frame_q_reg;  // steering of the frame being received
  always_ff @(posedge clk) begin
    if (rst) begin
      first_reg   <= 1'b1;
      frame_q_reg <= '0;
    end else if (s_axis_rx_tvalid && s_axis_rx_tready) begin
      first_reg <= s_axis_rx_tlast;
      if (first_reg) frame_q_reg <= hash_q;
    end
  end
  wire [QW-1:0] in_q = first_reg ? hash_q : frame_q_reg;

  // ---------------- store-and-forward FIFO ----------------
  localparam int UW = QW + RX_META_W;
  rx_meta_t          fi_meta;
  logic     [QW-1:0] fi_q;
  logic     [  15:0] fi_len;
  logic fi_valid, fi_pop;
  logic [DATA_W-1:0] ff_data;
  logic [KEEP_W-1:0] ff_keep;
  logic ff_last, ff_valid, ff_ready;
  logic                           ovf_drop;
  logic [                 UW-1:0] unused_beat_user;
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
      .s_tdata(s_axis_rx_tdata),
      .s_tkeep(s_axis_rx_tkeep),
      .s_tlast(s_axis_rx_tlast),
      .s_tuser({in_q, s_axis_rx_tuser}),
      .s_drop(1'b0),
      .s_tvalid(s_axis_rx_tvalid),
      .s_tready(s_axis_rx_tready),
      .ovf_drop,
      .m_tdata(ff_data),
      .m_tkeep(ff_keep),
      .m_tlast(ff_last),
      .m_tuser(unused_beat_user),
      .m_tvalid(ff_valid),
      .m_tready(ff_ready),
      .m_info_user({fi_q, fi_meta}),
      .m_info_len(fi_len),
      .m_info_valid(fi_valid),
      .m_info_ready(fi_pop),
      .used(unused_used)
  );

  // ---------------- per-queue descriptor FIFOs ----------------
  logic [NR-1:0][63:0] dh_addr;
  logic [NR-1:0][15:0] dh_len, dh_idx;
  logic [NR-1:0] dh_valid, dh_pop;
  logic [NR-1:0][FB_W-1:0] fetched_reg;
  logic [NR-1:0] flush, r_err;
  logic [NR-1:0][7:0] r_code;

  typedef enum logic [0:0] {
    S_IDLE,
    S_WRITE
  } state_e;
  state_e          state_reg;
  logic   [QW-1:0] cur_q_reg;

  for (genvar gr = 0; gr < NR; gr++) begin : g_q
    localparam int GQ = gr % NUM_QUEUES;  // the ring's queue
    wire mine = d_valid && d_q == RW'(gr) && q_run[GQ];
    logic [7:0] code;
    always_comb begin
      code = ERR_NONE;
      if (d_err != ERR_NONE) code = d_err;
      else if (d_len == '0) code = ERR_DESC_LEN_ZERO;
      else if (d_addr[OFF_W-1:0] != '0 || d_len[OFF_W-1:0] != '0) code = ERR_DESC_ALIGN;
    end
    wire good = mine && code == ERR_NONE;

    assign flush[gr]  = !q_en[GQ] && !(state_reg == S_WRITE && cur_q_reg == QW'(GQ));
    assign r_err[gr]  = mine && code != ERR_NONE;
    assign r_code[gr] = code;

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
        .s_data({d_addr, d_len, d_idx}),
        .s_valid(good),
        .s_ready(unused_dready),
        .m_data({dh_addr[gr], dh_len[gr], dh_idx[gr]}),
        .m_valid(dh_valid[gr]),
        .m_ready(dh_pop[gr]),
        .count(q_used[gr])
    );

    always_ff @(posedge clk) begin
      if (rst || flush[gr]) begin
        fetched_reg[gr] <= '0;
      end else begin
        fetched_reg[gr] <= fetched_reg[gr] + (good ? FB_W'(d_len) : '0)
                           - (dh_pop[gr] ? FB_W'(dh_len[gr]) : '0);
      end
    end
  end

  // one descriptor per cycle: at most one ring of a queue reports an error at a time
  always_comb begin
    q_err      = '0;
    q_err_code = '0;
    for (int r = 0; r < NR; r++) begin
      if (r_err[r]) begin
        q_err[r%NUM_QUEUES]      = 1'b1;
        q_err_code[r%NUM_QUEUES] = r_code[r];
      end
    end
  end

  // ---------------- frame decision and AW generation ----------------
  localparam int WCMD_W = 1 + BT_W;  // {drop, beats}
  localparam int PEND_W = QW + 16 + 8 + 16 + RX_META_W;

  logic [15:0] len_rem_reg, len_reg;
  logic [15:0] first_idx_reg;
  logic [ 7:0] nbufs_reg;
  logic [15:0] buf_idx_reg, buf_bytes_reg;  // format B: the buffer being filled
  logic buf_first_reg;
  rx_meta_t meta_reg;
  logic loaded_reg;
  logic [63:0] addr_reg;
  logic [15:0] rem_reg;

  logic aw_valid_reg;
  logic [7:0] aw_nrel_reg;  // completions the AW releases: its frame's, at the frame's end
  logic [7:0] fpushed_reg;  // completions of the frame being written queued so far (format B)
  logic [ADDR_W-1:0] aw_addr_reg;
  logic [7:0] aw_len_reg;

  logic wcmd_ready, wcmd_push, wcmd_valid, wcmd_pop;
  logic [WCMD_W-1:0] wcmd_in, wcmd_head;
  logic pend_ready, pend_push, pend_valid, pend_pop;
  logic [PEND_W-1:0] pend_in, pend_head;

  wire [QW-1:0] steer_q = fi_q;

  // The next frame may start in the cycle the current one's last AW issues
  // (`last_issue`), so one-beat frames go out one per cycle; starting only
  // from S_IDLE cost a second cycle per frame (0.5 frames/cycle, 0.84 of the
  // 64 B line rate). Its buffers are then the fetched ones minus the one the
  // current frame pops in that cycle. Drops are decided in S_IDLE only.
  // Format B: the frame's head buffer comes from ring 1 (head_r), the rest
  // from ring 2 (body_r); it goes when the head is fetched and the fetched
  // ring-2 buffers hold the rest, and is dropped when the ring it waits for
  // has no more posted buffers (or its FIFO is full).
  logic last_issue;
  wire [RW-1:0] head_r = RW'(steer_q);
  wire [RW-1:0] body_r = FMT_B ? RW'(32'(steer_q) + NUM_QUEUES) : RW'(steer_q);
  wire [FB_W-1:0] avail = fetched_reg[head_r] - (dh_pop[head_r] ? FB_W'(dh_len[head_r]) : '0);
  logic fit, no_more;
  always_comb begin
    if (FMT_B) begin
      fit = dh_valid[head_r] && FB_W'(dh_len[head_r]) + fetched_reg[body_r] >= FB_W'(fi_len);
      no_more = !q_run[steer_q] || (dh_valid[head_r] ?
                                    q_idle[body_r] || q_used[body_r] == CNT_W'(DEPTH) :
                                    q_idle[head_r]);
    end else begin
      fit     = avail >= FB_W'(fi_len);
      no_more = q_idle[head_r] || q_used[head_r] == CNT_W'(DEPTH) || !q_run[steer_q];
    end
  end
  wire do_drop = state_reg == S_IDLE && fi_valid && (!q_run[steer_q] || (!fit && no_more))
                 && wcmd_ready;
  wire do_go = (state_reg == S_IDLE || (!FMT_B && last_issue)) && fi_valid && q_run[steer_q] && fit;

  // The fetcher batches RX descriptor reads; a frame that needs more buffers
  // than are fetched asks for an immediate refill (registered: a cycle late
  // costs nothing, and keeps the fit compare out of the fetcher's issue path).
  logic [NR-1:0] starve_reg;
  always_ff @(posedge clk) begin
    if (rst) begin
      starve_reg <= '0;
    end else begin
      for (int r = 0; r < NR; r++) begin
        logic wait_r;  // the head frame waits for ring r
        wait_r = (!FMT_B || dh_valid[head_r]) ? body_r == RW'(r) : head_r == RW'(r);
        starve_reg[r] <= state_reg == S_IDLE && fi_valid && q_run[steer_q] && !fit && wait_r;
      end
    end
  end
  assign q_starve = starve_reg;
  assign q_taken  = dh_pop;

  // the ring of the frame's next buffer: ring 1 for its first, ring 2 after (format B)
  wire [RW-1:0] cur_r = (FMT_B && nbufs_reg != '0) ? RW'(32'(cur_q_reg) + NUM_QUEUES)
                                                 : RW'(cur_q_reg);
  wire [63:0] eff_addr = loaded_reg ? addr_reg : dh_addr[cur_r];
  wire [15:0] eff_rem = loaded_reg ? rem_reg : dh_len[cur_r];
  wire [12:0] to_4k = 13'd4096 - 13'(eff_addr[11:0]);
  logic [15:0] bytes;
  always_comb begin
    bytes = len_rem_reg;
    if (eff_rem < bytes) bytes = eff_rem;
    if (17'(to_4k) < 17'(bytes)) bytes = 16'(to_4k);
  end
  wire [BT_W-1:0] bbeats = BT_W'((17'(bytes) + 17'(KEEP_W - 1)) >> OFF_W);
  wire frame_end = (bytes == len_rem_reg);
  wire buf_done = (bytes == eff_rem);
  // a completion per frame (format A) or per buffer (format B) ends with this burst
  wire cpl_end = FMT_B ? frame_end || buf_done : frame_end;
  wire aw_free = !aw_valid_reg || m_awready;
  // queue disabled mid-frame: issue no more bursts, drop the rest of the frame
  wire cut = state_reg == S_WRITE && !q_en[cur_q_reg] && wcmd_ready;
  wire            issue     = state_reg == S_WRITE && q_en[cur_q_reg] && aw_free && wcmd_ready
                              && (!cpl_end || pend_ready) && (loaded_reg || dh_valid[cur_r]);
  wire [7:0] nbufs_new = nbufs_reg + (loaded_reg ? 8'd0 : 8'd1);
  assign last_issue = issue && frame_end;
  // the frame's first buffer is the FIFO head at its first burst (at do_go the
  // head may still be the previous frame's last buffer)
  wire [15:0] first_idx = nbufs_reg == '0 ? dh_idx[cur_r] : first_idx_reg;
  // format B: the buffer this burst writes, its bytes so far, whether it is the frame's first
  wire        buf_first = loaded_reg ? buf_first_reg : nbufs_reg == '0;
  wire [15:0] buf_idx = loaded_reg ? buf_idx_reg : dh_idx[cur_r];
  wire [15:0] buf_len = (loaded_reg ? buf_bytes_reg : 16'd0) + bytes;
  wire [ 7:0] buf_flags = {5'd0, !buf_first, frame_end, buf_first};  // {ring2, eop, sop}

  assign fi_pop = do_drop || do_go;
  assign wcmd_push = do_drop || issue || cut;
  // a drop runs to the frame's last beat
  assign wcmd_in = (do_drop || cut) ? {1'b1, BT_W'(0)} : {1'b0, bbeats};
  assign pend_push = issue && cpl_end;
  assign pend_in   = FMT_B ? {cur_q_reg, buf_idx, buf_flags, buf_len, meta_reg}
                           : {cur_q_reg, first_idx, nbufs_new, len_reg, meta_reg};

  localparam int PQ_W = $clog2(RX_MAX_FRAMES) + 1;
  logic [NUM_QUEUES-1:0][PQ_W-1:0] pendq_reg;
  always_comb begin
    for (int r = 0; r < NR; r++) dh_pop[r] = issue && !loaded_reg && cur_r == RW'(r);
    for (int q = 0; q < NUM_QUEUES; q++) begin
      q_drop[q] = (do_drop && steer_q == QW'(q)) || (ovf_drop && q == 0);
      q_busy[q] = (state_reg == S_WRITE && cur_q_reg == QW'(q)) || pendq_reg[q] != '0;
      q_abandon[q] = cut && cur_q_reg == QW'(q);
    end
  end

  always_ff @(posedge clk) begin
    if (issue) begin
      aw_addr_reg <= {eff_addr[ADDR_W-1:OFF_W], OFF_W'(0)};
      aw_len_reg  <= 8'(bbeats - 1'b1);
      // a frame's completions (format B: one per buffer) go together, after all its data
      aw_nrel_reg <= !frame_end ? 8'd0 : FMT_B ? nbufs_new : 8'd1;
    end
    if (issue && nbufs_reg == '0) first_idx_reg <= dh_idx[cur_r];
    if (do_go || cut) fpushed_reg <= '0;
    else if (pend_push) fpushed_reg <= fpushed_reg + 1'b1;
    if (issue && !cpl_end) begin
      buf_idx_reg   <= buf_idx;
      buf_bytes_reg <= buf_len;
      buf_first_reg <= buf_first;
    end
    if (do_go) begin
      len_rem_reg <= fi_len;
      len_reg     <= fi_len;
      meta_reg    <= fi_meta;
    end else if (issue) begin
      len_rem_reg <= len_rem_reg - bytes;
    end
    if (rst) begin
      state_reg    <= S_IDLE;
      cur_q_reg    <= '0;
      nbufs_reg    <= '0;
      loaded_reg   <= 1'b0;
      addr_reg     <= '0;
      rem_reg      <= '0;
      aw_valid_reg <= 1'b0;
    end else begin
      if (issue) aw_valid_reg <= 1'b1;
      else if (m_awready) aw_valid_reg <= 1'b0;
      unique case (state_reg)
        S_IDLE: begin
          if (do_go) begin
            state_reg  <= S_WRITE;
            cur_q_reg  <= steer_q;
            nbufs_reg  <= '0;
            loaded_reg <= 1'b0;
          end
        end
        S_WRITE: begin
          if (cut) begin
            state_reg  <= S_IDLE;
            loaded_reg <= 1'b0;
          end else if (do_go) begin
            // back to back: the current frame's last burst issues now
            cur_q_reg  <= steer_q;
            nbufs_reg  <= '0;
            loaded_reg <= 1'b0;
          end else if (issue) begin
            nbufs_reg <= nbufs_new;
            if (frame_end || buf_done) begin
              loaded_reg <= 1'b0;
            end else begin
              loaded_reg <= 1'b1;
              addr_reg   <= eff_addr + 64'(bytes);
              rem_reg    <= eff_rem - bytes;
            end
            if (frame_end) state_reg <= S_IDLE;
          end
        end
        default: state_reg <= S_IDLE;
      endcase
    end
  end

  assign m_aw = '{
          id: dma_wr_id(KIND, DMA_QUEUE_W'(cur_q_reg)),
          addr: AXI_ADDR_W'(aw_addr_reg),
          len: aw_len_reg
      };
  assign m_awvalid = aw_valid_reg;

  logic [$clog2(RX_MAX_FRAMES):0] unused_wcmd_count, unused_pend_count;
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
      .count(unused_pend_count)
  );

  // ---------------- completions: released by their frame's last data AW ----------------
  logic [$clog2(RX_MAX_FRAMES):0] released_reg;
  wire aw_fire = m_awvalid && m_awready;
  assign cpl_valid = pend_valid && released_reg != '0;
  assign pend_pop  = cpl_valid && cpl_ready;

  always_ff @(posedge clk) begin
    if (rst) released_reg <= '0;
    // a frame cut by a queue disable releases the completions it queued: the completion
    // writer discards them (their queue is off), and they must not hold up the FIFO
    else
      released_reg <= released_reg + (aw_fire ? $bits(
          released_reg
      )'(aw_nrel_reg) : '0) + (cut ? $bits(
          released_reg
      )'(fpushed_reg) : '0) - $bits(
          released_reg
      )'(pend_pop);
  end

  logic [QW-1:0] p_q;
  logic [15:0] p_idx, p_len;
  logic     [7:0] p_nbufs;
  rx_meta_t       p_meta;
  assign {p_q, p_idx, p_nbufs, p_len, p_meta} = pend_head;
  assign cpl_data = '{
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
  // (pendq_reg is declared with q_busy, which reads it)
  always_ff @(posedge clk) begin
    if (rst) begin
      pendq_reg <= '0;
    end else begin
      for (int q = 0; q < NUM_QUEUES; q++) begin
        pendq_reg[q] <= pendq_reg[q] + PQ_W'(pend_push && pend_ready && cur_q_reg == QW'(q))
                                     - PQ_W'(pend_pop && p_q == QW'(q));
      end
    end
  end

  // ---------------- W: frame beats per command ----------------
  logic [BT_W-1:0] wcnt_reg;
  wire             w_drop = wcmd_head[WCMD_W-1];
  wire  [BT_W-1:0] w_beats = wcmd_head[BT_W-1:0];
  wire             w_last = (wcnt_reg + 1'b1) == w_beats;

  assign m_wdata  = ff_data;
  assign m_wstrb  = ff_keep;
  assign m_wlast  = w_last;
  assign m_wvalid = wcmd_valid && !w_drop && ff_valid;
  assign ff_ready = wcmd_valid && (w_drop || m_wready);
  wire w_beat = ff_valid && ff_ready;
  assign wcmd_pop = w_beat && (w_drop ? ff_last : w_last);

  always_ff @(posedge clk) begin
    if (rst) wcnt_reg <= '0;
    else if (wcmd_pop) wcnt_reg <= '0;
    else if (w_beat) wcnt_reg <= wcnt_reg + 1'b1;
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst) begin
      assert (!(state_reg == S_WRITE && !loaded_reg && !dh_valid[cur_r]))
      else $error("%m: frame accepted without its buffers");
      assert (!(m_wvalid && m_wlast != ff_last && ff_last))
      else $error("%m: frame ends inside a burst");
    end
  end
`endif

endmodule

`resetall
