// Simulation-only top: an AXI4 master that streams read and write bursts as fast
// as the slave allows, for measuring the speed of tb/host's AxiDmaResponder (and of
// cocotbext-axi's AxiRam for comparison) without a Python master in the loop.
// Used by sim/host_bench.py and tests/cocotb_host_bench.py. Not part of rtl/.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module axi_traffic_top #(
  parameter int DATA_W = 512,  // data bus width
  parameter int ADDR_W = 64,   // address width
  parameter int ID_W   = 8,    // AXI ID width
  parameter int USER_W = 8     // a*user width: PCIe function number
) (
  input  wire logic                clk,
  input  wire logic                rst,

  // Job, sampled while start is high; the counters below run until done.
  input  wire logic                start,
  input  wire logic [31:0]         cfg_reads,    // read bursts to issue
  input  wire logic [31:0]         cfg_writes,   // write bursts to issue
  input  wire logic [7:0]          cfg_len,      // a*len of every burst (beats - 1)
  input  wire logic [7:0]          cfg_max_out,  // bursts in flight per direction, >= 1
  input  wire logic [ADDR_W-1:0]   cfg_base,     // reads at base, writes at base + 1 MiB
  input  wire logic [USER_W-1:0]   cfg_func,     // a*user
  output logic                     done,
  output logic [31:0]              rd_beats,     // R beats received
  output logic [31:0]              wr_resps,     // B responses received
  output logic [31:0]              errors,       // R beats and B responses not OKAY

  output logic [ID_W-1:0]          m_axi_awid,
  output logic [ADDR_W-1:0]        m_axi_awaddr,
  output logic [7:0]               m_axi_awlen,
  output logic [2:0]               m_axi_awsize,
  output logic [1:0]               m_axi_awburst,
  output logic [USER_W-1:0]        m_axi_awuser,
  output logic                     m_axi_awvalid,
  input  wire logic                m_axi_awready,
  output logic [DATA_W-1:0]        m_axi_wdata,
  output logic [DATA_W/8-1:0]      m_axi_wstrb,
  output logic                     m_axi_wlast,
  output logic                     m_axi_wvalid,
  input  wire logic                m_axi_wready,
  input  wire logic [ID_W-1:0]     m_axi_bid,
  input  wire logic [1:0]          m_axi_bresp,
  input  wire logic                m_axi_bvalid,
  output logic                     m_axi_bready,
  output logic [ID_W-1:0]          m_axi_arid,
  output logic [ADDR_W-1:0]        m_axi_araddr,
  output logic [7:0]               m_axi_arlen,
  output logic [2:0]               m_axi_arsize,
  output logic [1:0]               m_axi_arburst,
  output logic [USER_W-1:0]        m_axi_aruser,
  output logic                     m_axi_arvalid,
  input  wire logic                m_axi_arready,
  input  wire logic [ID_W-1:0]     m_axi_rid,
  input  wire logic [DATA_W-1:0]   m_axi_rdata,
  input  wire logic [1:0]          m_axi_rresp,
  input  wire logic                m_axi_rlast,
  input  wire logic                m_axi_rvalid,
  output logic                     m_axi_rready
);

  localparam int BYTES = DATA_W / 8;
  localparam logic [2:0] SIZE = 3'($clog2(BYTES));
  localparam logic [ADDR_W-1:0] WR_OFFSET = ADDR_W'(64'h10_0000);

  logic        running;
  logic [31:0] ar_cnt, r_bursts, aw_cnt, w_bursts, w_beat, b_cnt;

  wire [31:0] rd_in_flight = ar_cnt - r_bursts;
  wire [31:0] wr_in_flight = aw_cnt - b_cnt;

  // Burst k goes to page k mod 64 of its area (bursts never cross 4 KiB for len < 64).
  assign m_axi_arid    = ID_W'(ar_cnt[1:0]);
  assign m_axi_araddr  = cfg_base + ADDR_W'({ar_cnt[5:0], 12'h000});
  assign m_axi_arlen   = cfg_len;
  assign m_axi_arsize  = SIZE;
  assign m_axi_arburst = 2'b01;
  assign m_axi_aruser  = cfg_func;
  assign m_axi_arvalid = running && ar_cnt < cfg_reads && rd_in_flight < 32'(cfg_max_out);
  assign m_axi_rready  = 1'b1;

  assign m_axi_awid    = ID_W'(aw_cnt[1:0]);
  assign m_axi_awaddr  = cfg_base + WR_OFFSET + ADDR_W'({aw_cnt[5:0], 12'h000});
  assign m_axi_awlen   = cfg_len;
  assign m_axi_awsize  = SIZE;
  assign m_axi_awburst = 2'b01;
  assign m_axi_awuser  = cfg_func;
  assign m_axi_awvalid = running && aw_cnt < cfg_writes && wr_in_flight < 32'(cfg_max_out);
  // W beats follow their AW (data of burst k only after AW k was accepted).
  assign m_axi_wvalid  = running && w_bursts < aw_cnt;
  assign m_axi_wdata   = {(DATA_W / 32){w_bursts ^ w_beat}};
  assign m_axi_wstrb   = '1;
  assign m_axi_wlast   = w_beat == 32'(cfg_len);
  assign m_axi_bready  = 1'b1;

  always_ff @(posedge clk) begin
    if (rst) begin
      running  <= 1'b0;
      done     <= 1'b0;
      ar_cnt   <= '0;
      r_bursts <= '0;
      aw_cnt   <= '0;
      w_bursts <= '0;
      w_beat   <= '0;
      b_cnt    <= '0;
      rd_beats <= '0;
      wr_resps <= '0;
      errors   <= '0;
    end else begin
      if (start && !running) begin
        running  <= 1'b1;
        done     <= 1'b0;
        ar_cnt   <= '0;
        r_bursts <= '0;
        aw_cnt   <= '0;
        w_bursts <= '0;
        w_beat   <= '0;
        b_cnt    <= '0;
        rd_beats <= '0;
        wr_resps <= '0;
        errors   <= '0;
      end
      if (m_axi_arvalid && m_axi_arready) ar_cnt <= ar_cnt + 1;
      if (m_axi_awvalid && m_axi_awready) aw_cnt <= aw_cnt + 1;
      if (m_axi_rvalid && m_axi_rready) begin
        rd_beats <= rd_beats + 1;
        if (m_axi_rlast) r_bursts <= r_bursts + 1;
      end
      if (m_axi_wvalid && m_axi_wready) begin
        if (m_axi_wlast) begin
          w_beat   <= '0;
          w_bursts <= w_bursts + 1;
        end else begin
          w_beat <= w_beat + 1;
        end
      end
      if (m_axi_bvalid && m_axi_bready) begin
        b_cnt    <= b_cnt + 1;
        wr_resps <= wr_resps + 1;
      end
      errors <= errors + 32'(m_axi_rvalid && m_axi_rresp != 2'b00)
                       + 32'(m_axi_bvalid && m_axi_bresp != 2'b00);
      if (running && r_bursts == cfg_reads && b_cnt == cfg_writes) begin
        running <= 1'b0;
        done    <= 1'b1;
      end
    end
  end

  // Only the ID's and response's presence matter here.
  wire unused_ok = &{1'b0, m_axi_bid, m_axi_rid, m_axi_rdata};

endmodule

`resetall
