// vf_dma_rx_hash: the RX queue a frame is steered to, from its first beat.
//
// IPv4 frames (untagged or with one 802.1Q tag) go to queue (f mod NUM_QUEUES),
// where f folds to one byte the XOR of the source and destination addresses and,
// for an unfragmented-header TCP or UDP packet (IHL 5), the port pair; other
// frames, and every frame without en (RX_STEER.HASH), to queue 0 (docs §3.1).
// Combinational: vf_dma_rx registers the result for the rest of the frame.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module vf_dma_rx_hash #(
    parameter int NUM_QUEUES = 1,  // RX queues
    parameter int DATA_W = 512,  // stream data width (under HDR_B bytes: no hash)
    localparam int QW = NUM_QUEUES > 1 ? $clog2(NUM_QUEUES) : 1,
    localparam int HDR_B = 42  // header bytes the hash reads (up to the L4 ports)
) (
    input wire logic [HDR_B*8-1:0] hdr,  // the first beat's bytes 0..HDR_B-1, zero past it
    input wire logic en,  // RX_STEER.HASH
    output logic [QW-1:0] queue
);

  // The hash reads bytes 12..41 of the first beat as a byte array. Constant byte
  // selects of it cost a word access in simulation, where a shift of the whole
  // beat per byte cost a 512-bit shift each (docs/SIM_SPEED.md).
  typedef logic [HDR_B-1:0][7:0] hdr_t;

  function automatic logic [31:0] be32(input hdr_t d, input int i);
    be32 = {d[i], d[i+1], d[i+2], d[i+3]};
  endfunction

  hdr_t d;
  logic [15:0] etype;
  logic [31:0] h;
  logic [7:0] f;
  logic vlan, ipv4, l4;

  always_comb begin
    d     = hdr_t'(hdr);
    vlan  = {d[12], d[13]} == 16'h8100;
    etype = vlan ? {d[16], d[17]} : {d[12], d[13]};
    ipv4  = etype == 16'h0800;
    if (!vlan) begin
      l4 = d[14] == 8'h45 && (d[23] == 8'd6 || d[23] == 8'd17);
      h  = be32(d, 26) ^ be32(d, 30) ^ (l4 ? be32(d, 34) : '0);
    end else begin
      l4 = d[18] == 8'h45 && (d[27] == 8'd6 || d[27] == 8'd17);
      h  = be32(d, 30) ^ be32(d, 34) ^ (l4 ? be32(d, 38) : '0);
    end
    f     = h[31:24] ^ h[23:16] ^ h[15:8] ^ h[7:0];
    queue = (en && ipv4 && DATA_W / 8 >= HDR_B) ? QW'(int'(f) % NUM_QUEUES) : '0;
  end

endmodule

`resetall
