// ring_fmt_a: ring format A (native) — descriptor decode and completion encode.
//
// The only place that knows the byte layout of format A entries
// (docs/ARCHITECTURE.md §4). The rest of vf_dma sees normalized fields:
// a descriptor {addr, len, sof, eof, vlan_ins, vlan_tci} and a completion
// {rx, idx, len, nbufs, vlan_stripped, vlan_tci, status, gen}. Ring format B
// (ring_fmt_b.sv) has the same ports; vf_dma instantiates one per RING_FMT.
// Format A has no ownership bit and no RX ring 2: the gen and ring inputs are
// unused and it refuses no descriptor itself (the engine checks lengths).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ring_fmt_a
  import nic_pkg::*;
#(
    parameter  int NUM_QUEUES = 1,              // same parameters as ring_fmt_b
    localparam int ENTRY_W    = DESC_BYTES * 8  // entry width in bits (16 bytes)
) (
    // TX descriptor
    input  logic [ENTRY_W-1:0] txd_raw,
    input  logic               txd_gen_exp,
    output logic [       63:0] txd_addr,
    output logic [       15:0] txd_len,
    output logic               txd_sof,
    output logic               txd_eof,
    output logic               txd_vlan_ins,
    output logic [       15:0] txd_vlan_tci,
    output logic [        7:0] txd_err,
    // RX descriptor
    input  logic [ENTRY_W-1:0] rxd_raw,
    input  logic               rxd_gen_exp,
    input  logic               rxd_ring2,
    output logic [       63:0] rxd_addr,
    output logic [       15:0] rxd_len,
    output logic [        7:0] rxd_err,
    // completion (TX or RX)
    input  logic               cpl_rx,             // 1: RX completion layout
    input  logic               cpl_gen,
    input  logic [        7:0] cpl_q,
    input  logic [       15:0] cpl_idx,
    input  logic [       15:0] cpl_len,
    input  logic [        7:0] cpl_nbufs,          // RX only
    input  logic               cpl_vlan_stripped,  // RX only
    input  logic [       15:0] cpl_vlan_tci,       // RX only
    input  logic [        7:0] cpl_status,
    output logic [ENTRY_W-1:0] cpl_raw
);

  initial begin
    if (DESC_BYTES != 16) begin
      $fatal(1, "%m: ring format A has 16-byte entries, nic_pkg::DESC_BYTES is %0d", DESC_BYTES);
    end
    if (NUM_QUEUES < 1) $fatal(1, "%m: NUM_QUEUES must be >= 1");
  end

  // TX descriptor: bytes 0-7 addr, 8-9 len, 10 flags, 12-13 vlan_tci.
  assign txd_addr     = txd_raw[63:0];
  assign txd_len      = txd_raw[79:64];
  assign txd_sof      = txd_raw[80];
  assign txd_eof      = txd_raw[81];
  assign txd_vlan_ins = txd_raw[82];
  assign txd_vlan_tci = txd_raw[111:96];

  // RX descriptor: bytes 0-7 addr, 8-9 len.
  assign rxd_addr     = rxd_raw[63:0];
  assign rxd_len      = rxd_raw[79:64];

  assign txd_err      = ERR_NONE;
  assign rxd_err      = ERR_NONE;

  always_comb begin
    cpl_raw = '0;
    if (cpl_rx) begin
      // RX completion: 0-1 idx, 2 nbufs, 3 flags, 4-5 len, 6-7 tci, 8 status, 15.7 gen.
      cpl_raw[15:0]  = cpl_idx;
      cpl_raw[23:16] = cpl_nbufs;
      cpl_raw[24]    = cpl_vlan_stripped;
      cpl_raw[47:32] = cpl_len;
      cpl_raw[63:48] = cpl_vlan_tci;
      cpl_raw[71:64] = cpl_status;
    end else begin
      // TX completion: 0-1 idx, 2-3 len, 4 status, 15.7 gen.
      cpl_raw[15:0]  = cpl_idx;
      cpl_raw[31:16] = cpl_len;
      cpl_raw[39:32] = cpl_status;
    end
    cpl_raw[127] = cpl_gen;
  end

  // Reserved descriptor bytes are ignored by design (format A says "0").
  logic unused_reserved;
  assign unused_reserved = ^{txd_raw[95:83], txd_raw[127:112], rxd_raw[127:80],
                             txd_gen_exp, rxd_gen_exp, rxd_ring2, cpl_q};

endmodule

`resetall
