// ring_fmt_b: ring format B (vmxnet3's own rings, VMware UPT) — descriptor
// decode and completion encode, with the same normalized ports as ring_fmt_a.
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

module ring_fmt_b
  import nic_pkg::*;
#(
    parameter  int NUM_QUEUES = 1,              // RX ring 2 of queue q is rqID q + NUM_QUEUES
    localparam int ENTRY_W    = DESC_BYTES * 8  // entry width in bits (16 bytes)
) (
    // TX descriptor
    input  logic [ENTRY_W-1:0] txd_raw,
    input  logic               txd_gen_exp,        // gen the device expects at this index
    output logic [       63:0] txd_addr,
    output logic [       15:0] txd_len,
    output logic               txd_sof,
    output logic               txd_eof,
    output logic               txd_vlan_ins,
    output logic [       15:0] txd_vlan_tci,
    output logic [        7:0] txd_err,            // q_err_e: descriptor refused by the format
    // RX descriptor
    input  logic [ENTRY_W-1:0] rxd_raw,
    input  logic               rxd_gen_exp,
    input  logic               rxd_ring2,          // entry of ring 2 (body buffers)
    output logic [       63:0] rxd_addr,
    output logic [       15:0] rxd_len,
    output logic [        7:0] rxd_err,
    // completion (TX or RX)
    input  logic               cpl_rx,             // 1: RX completion layout
    input  logic               cpl_gen,
    input  logic [        7:0] cpl_q,              // queue of the completion ring
    input  logic [       15:0] cpl_idx,
    input  logic [       15:0] cpl_len,
    input  logic [        7:0] cpl_nbufs,          // RX: {ring2, eop, sop} in [2:0] (§4b)
    input  logic               cpl_vlan_stripped,  // RX only
    input  logic [       15:0] cpl_vlan_tci,       // RX only
    input  logic [        7:0] cpl_status,
    output logic [ENTRY_W-1:0] cpl_raw
);

  localparam logic [6:0] CDTYPE_TXCOMP = 7'd0;  // VMXNET3_CDTYPE_TXCOMP
  localparam logic [6:0] CDTYPE_RXCOMP = 7'd3;  // VMXNET3_CDTYPE_RXCOMP
  localparam int TX_LEN_ZERO = 16384;  // a TX len field of 0 means this many bytes

  initial begin
    if (DESC_BYTES != 16) begin
      $fatal(1, "%m: vmxnet3 descriptors are 16 bytes, nic_pkg::DESC_BYTES is %0d", DESC_BYTES);
    end
    if (2 * NUM_QUEUES > 1024) $fatal(1, "%m: rqID is 10 bits");
  end

  // Vmxnet3_TxDesc: addr 0-63, len 64-77, gen 78, oco 79, dtype 80, ext1 81,
  // msscof 82-95, hlen 96-105, om 106-107, eop 108, cq 109, ext2 110, ti 111, tci 112-127.
  wire       tx_gen = txd_raw[78];
  wire       tx_dtype = txd_raw[80];
  wire [1:0] tx_om = txd_raw[107:106];
  assign txd_addr     = txd_raw[63:0];
  assign txd_len      = txd_raw[77:64] == '0 ? 16'(TX_LEN_ZERO) : {2'b00, txd_raw[77:64]};
  assign txd_sof      = 1'b0;
  assign txd_eof      = txd_raw[108];
  assign txd_vlan_ins = txd_raw[111];
  assign txd_vlan_tci = txd_raw[127:112];
  always_comb begin
    txd_err = ERR_NONE;
    if (tx_gen != txd_gen_exp) txd_err = ERR_DESC_GEN;
    else if (tx_dtype || tx_om != 2'b00) txd_err = ERR_DESC_TYPE;  // no offloads on this device
  end

  // Vmxnet3_RxDesc: addr 0-63, len 64-77, btype 78, dtype 79, rsvd 80-94, gen 95, ext1 96-127.
  wire rx_btype = rxd_raw[78];  // 0 head, 1 body
  wire rx_dtype = rxd_raw[79];
  wire rx_gen = rxd_raw[95];
  assign rxd_addr = rxd_raw[63:0];
  assign rxd_len  = {2'b00, rxd_raw[77:64]};
  always_comb begin
    rxd_err = ERR_NONE;
    if (rx_gen != rxd_gen_exp) rxd_err = ERR_DESC_GEN;
    else if (rx_dtype || rx_btype != rxd_ring2) rxd_err = ERR_DESC_TYPE;
    else if (!rxd_ring2 && rxd_len != '0 && int'(rxd_len) < MIN_HEAD_BUF_BYTES)
      rxd_err = ERR_SMALL_BUF;
  end

  always_comb begin
    cpl_raw = '0;
    if (cpl_rx) begin
      // Vmxnet3_RxCompDesc: rxdIdx 0-11, eop 14, sop 15, rqID 16-25, cnc 30,
      // len 64-77, err 78, ts 79, tci 80-95, type 120-126.
      cpl_raw[11:0]    = cpl_idx[11:0];
      cpl_raw[14]      = cpl_nbufs[1];
      cpl_raw[15]      = cpl_nbufs[0];
      cpl_raw[25:16]   = cpl_nbufs[2] ? 10'(cpl_q) + 10'(NUM_QUEUES) : 10'(cpl_q);
      cpl_raw[30]      = 1'b1;  // checksum not calculated: this device computes none
      cpl_raw[77:64]   = cpl_len[13:0];
      cpl_raw[78]      = cpl_status != ERR_NONE;
      cpl_raw[79]      = cpl_vlan_stripped;
      cpl_raw[95:80]   = cpl_vlan_stripped ? cpl_vlan_tci : '0;
      cpl_raw[126:120] = CDTYPE_RXCOMP;
    end else begin
      // Vmxnet3_TxCompDesc: txdIdx 0-11, type 120-126; it has no status field.
      cpl_raw[11:0]    = cpl_idx[11:0];
      cpl_raw[126:120] = CDTYPE_TXCOMP;
    end
    cpl_raw[127] = cpl_gen;
  end

  // Fields this device ignores by design (§4b): cq, hlen, msscof, oco, ext, rsvd;
  // index bits above 11 (rings are at most 4096 entries).
  logic unused_fields;
  assign unused_fields = ^{txd_raw[79], txd_raw[105:81], txd_raw[110:109], rxd_raw[127:96],
                           rxd_raw[94:80], cpl_idx[15:12], cpl_len[15:14], cpl_nbufs[7:3]};

endmodule

`resetall
