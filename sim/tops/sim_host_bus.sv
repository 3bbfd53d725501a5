// Simulation-only AXI4 slave: the host bus of tb/host/hdl_bus.py. Beats move
// between the bus and host memory through DPI-C calls into sim/dpi/host_mem.cpp
// (memory, IOMMU, watches), so no Python runs per beat. The timing is that of
// tb/host/dma_responder.py's AxiDmaResponder with in-order reads, no latency
// jitter and ready_probability 1.0: a read accepted at edge n shows its first
// rvalid at edge n + read_latency (bursts in order, never interleaved), a write
// burst whose last W beat is taken at edge n shows bvalid at edge n + write_latency,
// readies high while below the outstanding limits. Latencies and limits come from
// the C side (sim_host_config), latched while rst is high. Run-time faults, set
// from Python while the model runs (tb/host/hdl_bus.py): an extra latency, asked
// of the C side once per burst (sim_host_extra_latency: a read at its AR
// handshake, a write at its last W beat), is added to that burst's latency, so a
// latency spike delays exactly the bursts accepted while it is set; bursts stay in
// order (a later burst due earlier waits behind the head of its FIFO). Injected
// error responses come from the C side like translation refusals (the read or
// write burst call returns SLVERR). INSTANCE selects the C
// side's state (its memory, IOMMU mirror and logs), so several instances in one
// model serve independent hosts (sim/tops/two_host_top.sv). tests/test_hdl_bus.py
// compares it with AxiDmaResponder handshake for handshake. Not part of rtl/.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module sim_host_bus #(
  parameter int DATA_W   = 512,  // data bus width, 8 * 2**k bits
  parameter int ADDR_W   = 64,   // address width (at most 64)
  parameter int ID_W     = 8,    // AXI ID width
  parameter int USER_W   = 8,    // a*user width: the PCIe function number
  parameter int RD_DEPTH = 256,  // read bursts that can be outstanding, at most (the
                                 // DmaResponderConfig default: 8-bit PCIe tags)
  parameter int WR_DEPTH = 64,   // write bursts that can be outstanding, at most
  parameter int INSTANCE = 0,    // which host's state in sim/dpi/host_mem.cpp
  localparam int STRB_W  = DATA_W / 8,
  localparam int RD_PTR_W = $clog2(RD_DEPTH),
  localparam int WR_PTR_W = $clog2(WR_DEPTH)
) (
  input  wire logic                clk,
  input  wire logic                rst,  // drops every burst in flight, latches the config

  // Something for Python to collect (an error, a watched write, a protocol
  // violation): the count of such bursts, so one value change wakes Python once.
  output logic [31:0]              event_count,
  output logic                     idle,  // nothing accepted and not yet answered

  input  wire logic [ID_W-1:0]     s_axi_awid,
  input  wire logic [ADDR_W-1:0]   s_axi_awaddr,
  input  wire logic [7:0]          s_axi_awlen,
  input  wire logic [2:0]          s_axi_awsize,
  input  wire logic [1:0]          s_axi_awburst,
  input  wire logic [USER_W-1:0]   s_axi_awuser,
  input  wire logic                s_axi_awvalid,
  output logic                     s_axi_awready,
  input  wire logic [DATA_W-1:0]   s_axi_wdata,
  input  wire logic [STRB_W-1:0]   s_axi_wstrb,
  input  wire logic                s_axi_wlast,
  input  wire logic                s_axi_wvalid,
  output logic                     s_axi_wready,
  output logic [ID_W-1:0]          s_axi_bid,
  output logic [1:0]               s_axi_bresp,
  output logic                     s_axi_bvalid,
  input  wire logic                s_axi_bready,
  input  wire logic [ID_W-1:0]     s_axi_arid,
  input  wire logic [ADDR_W-1:0]   s_axi_araddr,
  input  wire logic [7:0]          s_axi_arlen,
  input  wire logic [2:0]          s_axi_arsize,
  input  wire logic [1:0]          s_axi_arburst,
  input  wire logic [USER_W-1:0]   s_axi_aruser,
  input  wire logic                s_axi_arvalid,
  output logic                     s_axi_arready,
  output logic [ID_W-1:0]          s_axi_rid,
  output logic [DATA_W-1:0]        s_axi_rdata,
  output logic [1:0]               s_axi_rresp,
  output logic                     s_axi_rlast,
  output logic                     s_axi_rvalid,
  input  wire logic                s_axi_rready
);

  if (DATA_W < 8 || DATA_W % 8 != 0 || (STRB_W & (STRB_W - 1)) != 0 || ADDR_W > 64
      || RD_DEPTH < 2 || WR_DEPTH < 2) begin : g_check
    $fatal(1, "%m: DATA_W=%0d, ADDR_W=%0d, RD_DEPTH=%0d or WR_DEPTH=%0d not supported",
           DATA_W, ADDR_W, RD_DEPTH, WR_DEPTH);
  end

  // sim/dpi/host_mem.cpp; every call returns at once (no simulated time).
  import "DPI-C" function void sim_host_config(input int inst, input int data_bytes,
      output int read_latency, output int write_latency, output int max_reads,
      output int max_writes);
  import "DPI-C" function int sim_host_extra_latency(input int inst, input int write);
  import "DPI-C" function int sim_host_check_burst(input int inst, input int write,
      input int axi_id, input longint addr, input int beats, input int size, input int burst);
  import "DPI-C" function void sim_host_wlast_violation(input int inst, input int beat,
      input int beats, input int axi_id, input longint addr, input int wlast);
  import "DPI-C" function int sim_host_read_burst(input int inst, input int func,
      input int axi_id, input longint addr, input int beats, input int size, input int burst,
      output int notify);
  import "DPI-C" function void sim_host_read_beat(input int inst, input int idx,
      output bit [DATA_W-1:0] data);
  import "DPI-C" function void sim_host_write_beat(input int inst, input int idx,
      input bit [DATA_W-1:0] data, input bit [STRB_W-1:0] strb);
  import "DPI-C" function int sim_host_write_burst(input int inst, input int func,
      input int axi_id, input longint addr, input int beats, input int size, input int burst,
      output int notify);

  typedef struct packed {
    logic [ID_W-1:0]   id;
    logic [63:0]       addr;
    logic [7:0]        len;
    logic [2:0]        size;
    logic [1:0]        burst;
    logic [USER_W-1:0] func;
  } req_t;

  // Edge counter: "edge n" of the timing model (free-running, not reset).
  logic [63:0] cycle;
  initial cycle = '0;
  always_ff @(posedge clk) cycle <= cycle + 64'd1;

  // Configuration (latched in reset).
  logic [31:0] read_latency, write_latency, max_reads, max_writes;

  // Read bursts accepted and not started, with the edge their first beat may be driven.
  req_t              rq_req [RD_DEPTH];
  logic [63:0]       rq_due [RD_DEPTH];
  logic [RD_PTR_W-1:0] rq_head, rq_tail;
  logic [RD_PTR_W:0] rq_count;
  // The burst on the R channel.
  logic              r_active;
  logic [8:0]        r_idx;   // beat presented now
  logic [7:0]        r_len;

  // Write bursts accepted whose data has not all arrived; the head receives W beats.
  req_t              aw_req [WR_DEPTH];
  logic [WR_PTR_W-1:0] aw_head, aw_tail;
  logic [WR_PTR_W:0] aw_count;
  logic [8:0]        w_idx;   // beats of the head burst received
  logic [31:0]       w_out;   // accepted write bursts whose B is not yet taken
  // B responses waiting for their edge.
  logic [ID_W-1:0]   bq_id [WR_DEPTH];
  logic [1:0]        bq_resp [WR_DEPTH];
  logic [63:0]       bq_due [WR_DEPTH];
  logic [WR_PTR_W-1:0] bq_head, bq_tail;
  logic [WR_PTR_W:0] bq_count;
  logic              b_busy;  // a B response is presented and not yet taken

  // Defined from time 0, before the first reset: with --x-initial unique the
  // state would otherwise be random, and a random "burst in flight" would reach
  // the C side before Python has handed it any memory.
  initial begin
    read_latency = 32'd1; write_latency = 32'd1; max_reads = '0; max_writes = '0;
    rq_head = '0; rq_tail = '0; rq_count = '0;
    r_active = 1'b0; r_idx = '0; r_len = '0;
    aw_head = '0; aw_tail = '0; aw_count = '0; w_idx = '0; w_out = '0;
    bq_head = '0; bq_tail = '0; bq_count = '0; b_busy = 1'b0;
    s_axi_arready = 1'b0; s_axi_awready = 1'b0; s_axi_wready = 1'b0;
    s_axi_rvalid = 1'b0; s_axi_rlast = 1'b0; s_axi_bvalid = 1'b0;
    event_count = '0;
  end

  assign idle = rq_count == '0 && !r_active && aw_count == '0 && bq_count == '0 && !b_busy;

  always_ff @(posedge clk) begin
    automatic logic r_take, r_done, ar_acc, aw_acc, w_take, b_take, r_act_n, b_busy_n;
    automatic logic [RD_PTR_W:0] rq_n;
    automatic logic [WR_PTR_W:0] aw_n, bq_n;
    automatic logic [31:0] w_out_n;
    automatic req_t cand, head;
    automatic logic [63:0] cand_due, ar_due, b_due;
    automatic logic [ID_W-1:0] b_id;
    automatic logic [1:0] b_resp;
    automatic logic [8:0] n;
    automatic logic [DATA_W-1:0] beat;
    automatic logic [1:0] resp;
    automatic int notify, events;
    if (rst) begin
      int rl, wl, mr, mw;
      sim_host_config(INSTANCE, STRB_W, rl, wl, mr, mw);
      read_latency  <= rl;
      write_latency <= wl;
      max_reads     <= mr;
      max_writes    <= mw;
      rq_head <= '0; rq_tail <= '0; rq_count <= '0;
      r_active <= 1'b0; r_idx <= '0; r_len <= '0;
      aw_head <= '0; aw_tail <= '0; aw_count <= '0; w_idx <= '0; w_out <= '0;
      bq_head <= '0; bq_tail <= '0; bq_count <= '0; b_busy <= 1'b0;
      s_axi_arready <= 1'b0; s_axi_awready <= 1'b0; s_axi_wready <= 1'b0;
      s_axi_rvalid <= 1'b0; s_axi_rlast <= 1'b0; s_axi_rid <= '0; s_axi_rresp <= '0;
      s_axi_rdata <= '0;
      s_axi_bvalid <= 1'b0; s_axi_bid <= '0; s_axi_bresp <= '0;
      event_count <= '0;
    end else begin
      events = 0;
      // Handshakes at this edge.
      r_take = s_axi_rvalid && s_axi_rready;
      r_done = r_take && r_idx == {1'b0, r_len};
      b_take = s_axi_bvalid && s_axi_bready;
      ar_acc = s_axi_arvalid && s_axi_arready;
      aw_acc = s_axi_awvalid && s_axi_awready;
      w_take = s_axi_wvalid && s_axi_wready;

      // -- read address
      rq_n = rq_count;
      ar_due = cycle + 64'(read_latency) - 64'd1;
      if (ar_acc) begin
        ar_due = ar_due + 64'(32'(sim_host_extra_latency(INSTANCE, 0)));
        rq_req[rq_tail] <= '{s_axi_arid, 64'(s_axi_araddr), s_axi_arlen, s_axi_arsize,
                             s_axi_arburst, s_axi_aruser};
        rq_due[rq_tail] <= ar_due;
        rq_tail <= rq_tail + 1'b1;
        rq_n = rq_n + 1'b1;
        events += sim_host_check_burst(INSTANCE, 0, int'(s_axi_arid), longint'(s_axi_araddr),
                                       int'(s_axi_arlen) + 1, int'(s_axi_arsize),
                                       int'(s_axi_arburst));
      end
      // -- address channels, then W: a burst completed at this edge is in memory
      // before a read started at this edge reads it (AxiDmaResponder._step's order)
      aw_n = aw_count;
      bq_n = bq_count;
      w_out_n = w_out + 32'(aw_acc) - 32'(b_take);
      if (aw_acc) begin
        aw_req[aw_tail] <= '{s_axi_awid, 64'(s_axi_awaddr), s_axi_awlen, s_axi_awsize,
                             s_axi_awburst, s_axi_awuser};
        aw_tail <= aw_tail + 1'b1;
        aw_n = aw_n + 1'b1;
        events += sim_host_check_burst(INSTANCE, 1, int'(s_axi_awid), longint'(s_axi_awaddr),
                                       int'(s_axi_awlen) + 1, int'(s_axi_awsize),
                                       int'(s_axi_awburst));
      end
      b_id = '0;
      b_resp = '0;
      b_due = cycle + 64'(write_latency) - 64'd1;
      if (w_take) begin  // wready was high: the head burst exists
        head = aw_req[aw_head];
        sim_host_write_beat(INSTANCE, int'(w_idx), s_axi_wdata, s_axi_wstrb);
        n = w_idx + 9'd1;
        if (s_axi_wlast != (n == {1'b0, head.len} + 9'd1)) begin
          sim_host_wlast_violation(INSTANCE, int'(n), int'(head.len) + 1, int'(head.id),
                                   longint'(head.addr), int'(s_axi_wlast));
          events += 1;
        end
        if (n == {1'b0, head.len} + 9'd1 || s_axi_wlast) begin
          resp = 2'(sim_host_write_burst(INSTANCE, int'(head.func), int'(head.id),
                                          longint'(head.addr), int'(head.len) + 1,
                                          int'(head.size), int'(head.burst), notify));
          events += notify;
          aw_head <= aw_head + 1'b1;
          aw_n = aw_n - 1'b1;
          w_idx <= '0;
          bq_id[bq_tail]   <= head.id;
          bq_resp[bq_tail] <= resp;
          b_due = b_due + 64'(32'(sim_host_extra_latency(INSTANCE, 1)));
          bq_due[bq_tail]  <= b_due;
          bq_tail <= bq_tail + 1'b1;
          bq_n = bq_n + 1'b1;
          b_id = head.id;
          b_resp = resp;
        end else begin
          w_idx <= n;
        end
      end
      // -- read data
      // The oldest burst; one accepted at this edge may already be due (latency 1).
      if (rq_count != '0) begin
        cand = rq_req[rq_head];
        cand_due = rq_due[rq_head];
      end else begin
        cand = '{s_axi_arid, 64'(s_axi_araddr), s_axi_arlen, s_axi_arsize, s_axi_arburst,
                 s_axi_aruser};
        cand_due = ar_due;
      end
      r_act_n = r_active && !r_done;
      if (!r_act_n) begin
        if (rq_n != '0 && cand_due <= cycle) begin
          rq_head <= rq_head + 1'b1;
          rq_n = rq_n - 1'b1;
          resp = 2'(sim_host_read_burst(INSTANCE, int'(cand.func), int'(cand.id),
                                         longint'(cand.addr), int'(cand.len) + 1,
                                         int'(cand.size), int'(cand.burst), notify));
          events += notify;
          sim_host_read_beat(INSTANCE, 0, beat);
          s_axi_rdata  <= beat;
          s_axi_rvalid <= 1'b1;
          s_axi_rlast  <= cand.len == 8'd0;
          s_axi_rid    <= cand.id;
          s_axi_rresp  <= resp;
          r_act_n = 1'b1;
          r_idx <= '0;
          r_len <= cand.len;
        end else begin
          s_axi_rvalid <= 1'b0;
        end
      end else if (r_take) begin
        sim_host_read_beat(INSTANCE, int'(r_idx) + 1, beat);
        s_axi_rdata <= beat;
        s_axi_rlast <= r_idx + 9'd1 == {1'b0, r_len};
        r_idx <= r_idx + 9'd1;
      end
      r_active <= r_act_n;
      rq_count <= rq_n;
      s_axi_arready <= 32'(rq_n) + 32'(r_act_n) < max_reads;

      // -- write response
      // The oldest B; one queued at this edge may already be due (latency 1).
      if (bq_count != '0) begin
        b_id = bq_id[bq_head];
        b_resp = bq_resp[bq_head];
        cand_due = bq_due[bq_head];
      end else begin
        cand_due = b_due;
      end
      b_busy_n = b_busy && !b_take;
      if (!b_busy_n) begin
        if (bq_n != '0 && cand_due <= cycle) begin
          bq_head <= bq_head + 1'b1;
          bq_n = bq_n - 1'b1;
          s_axi_bvalid <= 1'b1;
          s_axi_bid    <= b_id;
          s_axi_bresp  <= b_resp;
          b_busy_n = 1'b1;
        end else begin
          s_axi_bvalid <= 1'b0;
        end
      end
      b_busy <= b_busy_n;
      aw_count <= aw_n;
      bq_count <= bq_n;
      w_out <= w_out_n;
      s_axi_awready <= w_out_n < max_writes;
      s_axi_wready <= aw_n != '0;
      event_count <= event_count + 32'(events);
    end
  end

`ifndef SYNTHESIS
  // The C side's limits must fit the FIFOs.
  always_ff @(posedge clk) begin
    if (!rst && (max_reads > RD_DEPTH || max_writes > WR_DEPTH)) begin
      $fatal(1, "%m: max outstanding %0d reads / %0d writes exceed RD_DEPTH=%0d / WR_DEPTH=%0d",
             max_reads, max_writes, RD_DEPTH, WR_DEPTH);
    end
  end
`endif

endmodule

`resetall
