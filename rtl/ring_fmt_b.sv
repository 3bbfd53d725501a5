// ring_fmt_b: ring format B (vmxnet3's own rings, VMware UPT) — descriptor
// decode and completion encode, with the same struct ports as ring_fmt_a.
//
// Layouts are Linux's vmxnet3_defs.h (docs/ARCHITECTURE.md §4b): Vmxnet3_TxDesc,
// Vmxnet3_TxCompDesc, Vmxnet3_RxDesc and Vmxnet3_RxCompDesc, little-endian,
// each field at its bit position in the 128-bit entry. Ownership is the gen
// bit: a descriptor whose gen is not the one the device expects at its index
// was not handed over, and is refused (ERR_DESC_GEN) rather than used. The
// engine takes frame boundaries from EOP only (vmxnet3 has no SOP flag, and
// format A's SOF is ignored by the engine the same way).

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module ring_fmt_b
  import nic_pkg::*;
#(
    parameter  int NUM_QUEUES = 1,              // RX ring 2 of queue q is rqID q + NUM_QUEUES
    localparam int ENTRY_W    = DESC_BYTES * 8  // entry width in bits (16 bytes)
) (
    // TX descriptor
    input  wire logic        [ENTRY_W-1:0] txd_raw,
    input  wire logic                      txd_gen_exp,  // gen the device expects at this index
    output txd_t                           txd,
    // RX descriptor
    input  wire logic        [ENTRY_W-1:0] rxd_raw,
    input  wire logic                      rxd_gen_exp,
    input  wire logic                      rxd_ring2,    // entry of ring 2 (body buffers)
    output rxd_t                           rxd,
    // completion (TX or RX); RX: nbufs carries {ring2, eop, sop} in [2:0] (§4b)
    input  wire cpl_fields_t               cpl,
    output logic             [ENTRY_W-1:0] cpl_raw
);

  localparam logic [6:0] CDTYPE_TXCOMP = 7'd0;  // VMXNET3_CDTYPE_TXCOMP
  localparam logic [6:0] CDTYPE_RXCOMP = 7'd3;  // VMXNET3_CDTYPE_RXCOMP
  localparam int TX_LEN_ZERO = 16384;  // a TX len field of 0 means this many bytes

  `ASSERT_PARAM(g_check_entry, DESC_BYTES == 16,
                $sformatf("vmxnet3 descriptors are 16 bytes, nic_pkg::DESC_BYTES is %0d",
                          DESC_BYTES))
  `ASSERT_PARAM(g_check_queues, 2 * NUM_QUEUES <= 1024, "rqID is 10 bits")

  // Vmxnet3_TxDesc: addr 0-63, len 64-77, gen 78, oco 79, dtype 80, ext1 81,
  // msscof 82-95, hlen 96-105, om 106-107, eop 108, cq 109, ext2 110, ti 111, tci 112-127.
  logic tx_gen, tx_dtype;
  logic [1:0] tx_om;
  // Vmxnet3_RxDesc: addr 0-63, len 64-77, btype 78, dtype 79, rsvd 80-94, gen 95, ext1 96-127.
  logic rx_btype, rx_dtype, rx_gen;  // btype: 0 head, 1 body
  always_comb begin
    tx_gen       = txd_raw[78];
    tx_dtype     = txd_raw[80];
    tx_om        = txd_raw[107:106];
    txd.addr     = txd_raw[63:0];
    txd.len      = txd_raw[77:64] == '0 ? 16'(TX_LEN_ZERO) : {2'b00, txd_raw[77:64]};
    txd.sof      = 1'b0;
    txd.eof      = txd_raw[108];
    txd.vlan_ins = txd_raw[111];
    txd.vlan_tci = txd_raw[127:112];
    txd.err      = ERR_NONE;
    if (tx_gen != txd_gen_exp) txd.err = ERR_DESC_GEN;
    else if (tx_dtype || tx_om != 2'b00) txd.err = ERR_DESC_TYPE;  // no offloads on this device

    rx_btype = rxd_raw[78];
    rx_dtype = rxd_raw[79];
    rx_gen   = rxd_raw[95];
    rxd.addr = rxd_raw[63:0];
    rxd.len  = {2'b00, rxd_raw[77:64]};
    rxd.err  = ERR_NONE;
    if (rx_gen != rxd_gen_exp) rxd.err = ERR_DESC_GEN;
    else if (rx_dtype || rx_btype != rxd_ring2) rxd.err = ERR_DESC_TYPE;
    else if (!rxd_ring2 && rxd.len != '0 && int'(rxd.len) < MIN_HEAD_BUF_BYTES)
      rxd.err = ERR_SMALL_BUF;
  end

  always_comb begin
    cpl_raw = '0;
    if (cpl.req.rx) begin
      // Vmxnet3_RxCompDesc: rxdIdx 0-11, eop 14, sop 15, rqID 16-25, cnc 30,
      // len 64-77, err 78, ts 79, tci 80-95, type 120-126.
      cpl_raw[11:0]    = cpl.req.idx[11:0];
      cpl_raw[14]      = cpl.req.nbufs[1];
      cpl_raw[15]      = cpl.req.nbufs[0];
      cpl_raw[25:16]   = cpl.req.nbufs[2] ? 10'(cpl.req.q) + 10'(NUM_QUEUES) : 10'(cpl.req.q);
      cpl_raw[30]      = 1'b1;  // checksum not calculated: this device computes none
      cpl_raw[77:64]   = cpl.req.len[13:0];
      cpl_raw[78]      = cpl.req.status != ERR_NONE;
      cpl_raw[79]      = cpl.req.vlan_stripped;
      cpl_raw[95:80]   = cpl.req.vlan_stripped ? cpl.req.vlan_tci : '0;
      cpl_raw[126:120] = CDTYPE_RXCOMP;
    end else begin
      // Vmxnet3_TxCompDesc: txdIdx 0-11, type 120-126; it has no status field.
      cpl_raw[11:0]    = cpl.req.idx[11:0];
      cpl_raw[126:120] = CDTYPE_TXCOMP;
    end
    cpl_raw[127] = cpl.gen;
  end

  // Fields this device ignores by design (§4b): cq, hlen, msscof, oco, ext, rsvd;
  // index bits above 11 (rings are at most 4096 entries).
  logic unused_fields;
  assign unused_fields = ^{txd_raw[79], txd_raw[105:81], txd_raw[110:109], rxd_raw[127:96],
                           rxd_raw[94:80], cpl.req.idx[15:12], cpl.req.len[15:14],
                           cpl.req.nbufs[7:3]};

endmodule

`resetall
