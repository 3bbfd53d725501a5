// ring_fmt_a: ring format A (native) — descriptor decode and completion encode.
//
// The only place that knows the byte layout of format A entries
// (docs/ARCHITECTURE.md §4). The rest of vf_dma sees normalized fields, the
// structs of nic_pkg: a TX descriptor txd_t, an RX descriptor rxd_t, a
// completion cpl_fields_t. Ring format B (ring_fmt_b.sv) has the same ports;
// vf_dma instantiates one per RING_FMT.
// Format A has no ownership bit and no RX ring 2: the gen and ring inputs are
// unused and it refuses no descriptor itself (the engine checks lengths).

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module ring_fmt_a
  import nic_pkg::*;
#(
    parameter  int NUM_QUEUES = 1,              // same parameters as ring_fmt_b
    localparam int ENTRY_W    = DESC_BYTES * 8  // entry width in bits (16 bytes)
) (
    // TX descriptor
    input  wire logic        [ENTRY_W-1:0] txd_raw,
    input  wire logic                      txd_gen_exp,
    output txd_t                           txd,
    // RX descriptor
    input  wire logic        [ENTRY_W-1:0] rxd_raw,
    input  wire logic                      rxd_gen_exp,
    input  wire logic                      rxd_ring2,
    output rxd_t                           rxd,
    // completion (TX or RX; nbufs, vlan_stripped and vlan_tci are RX only)
    input  wire cpl_fields_t               cpl,
    output logic             [ENTRY_W-1:0] cpl_raw
);

  `ASSERT_PARAM(g_check_entry, DESC_BYTES == 16,
                $sformatf("ring format A has 16-byte entries, nic_pkg::DESC_BYTES is %0d",
                          DESC_BYTES))
  `ASSERT_PARAM(g_check_queues, NUM_QUEUES >= 1, "NUM_QUEUES must be >= 1")

  // TX descriptor: bytes 0-7 addr, 8-9 len, 10 flags, 12-13 vlan_tci.
  // RX descriptor: bytes 0-7 addr, 8-9 len.
  // Format A refuses no descriptor itself (the engine checks lengths).
  always_comb begin
    txd.addr     = txd_raw[63:0];
    txd.len      = txd_raw[79:64];
    txd.sof      = txd_raw[80];
    txd.eof      = txd_raw[81];
    txd.vlan_ins = txd_raw[82];
    txd.vlan_tci = txd_raw[111:96];
    txd.err      = ERR_NONE;
    rxd.addr     = rxd_raw[63:0];
    rxd.len      = rxd_raw[79:64];
    rxd.err      = ERR_NONE;
  end

  always_comb begin
    cpl_raw = '0;
    if (cpl.req.rx) begin
      // RX completion: 0-1 idx, 2 nbufs, 3 flags, 4-5 len, 6-7 tci, 8 status, 15.7 gen.
      cpl_raw[15:0]  = cpl.req.idx;
      cpl_raw[23:16] = cpl.req.nbufs;
      cpl_raw[24]    = cpl.req.vlan_stripped;
      cpl_raw[47:32] = cpl.req.len;
      cpl_raw[63:48] = cpl.req.vlan_tci;
      cpl_raw[71:64] = cpl.req.status;
    end else begin
      // TX completion: 0-1 idx, 2-3 len, 4 status, 15.7 gen.
      cpl_raw[15:0]  = cpl.req.idx;
      cpl_raw[31:16] = cpl.req.len;
      cpl_raw[39:32] = cpl.req.status;
    end
    cpl_raw[127] = cpl.gen;
  end

  // Reserved descriptor bytes are ignored by design (format A says "0").
  logic unused_reserved;
  assign unused_reserved = ^{txd_raw[95:83], txd_raw[127:112], rxd_raw[127:80],
                             txd_gen_exp, rxd_gen_exp, rxd_ring2, cpl.req.q};

endmodule

`resetall
