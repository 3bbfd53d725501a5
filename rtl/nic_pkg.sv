// SR-IOV NIC: types and constants shared by every block.
// The field layouts here are the single source for the RTL; docs/ARCHITECTURE.md
// documents them and tb/ref/layouts.py mirrors them for the Python models.

`resetall
`timescale 1ns / 1ps
`default_nettype none

package nic_pkg;

  // PCIe function number width (ARI: 256 functions). PF is function 0,
  // VF n is function n.
  localparam int FUNC_W = 8;

  // Register port data width (all registers are 32-bit).
  localparam int REG_W = 32;

  // Register space per function (window 0; the windows are in nic_regs_pkg).
  localparam int FUNC_SPACE_W = 16;  // 64 KiB per function

  // Descriptor and completion entries of ring format A (native): 16 bytes.
  localparam int DESC_BYTES = 16;
  localparam int RING_SIZE_LOG2_MIN = 5;  // 32 entries
  localparam int RING_SIZE_LOG2_MAX = 12;  // 4096 entries

  // Largest frame the NIC carries (jumbo 9000 + 14 header + 4 VLAN tag).
  localparam int MAX_FRAME_BYTES = 9018;
  localparam int MIN_FRAME_BYTES = 60;

  // Sideband of a frame from a function to the switch (AXI-Stream tuser,
  // constant over the frame's beats).
  typedef struct packed {
    logic [15:0]       vlan_tci;  // tag to insert when vlan_ins is set
    logic              vlan_ins;  // per-frame VLAN insertion request
    logic [FUNC_W-1:0] src_func;  // function that sent the frame
  } tx_meta_t;

  // Sideband of a frame from the switch to a function.
  typedef struct packed {
    logic [15:0] vlan_tci;       // tag removed from the frame
    logic        vlan_stripped;  // a tag was removed
  } rx_meta_t;

  localparam int TX_META_W = $bits(tx_meta_t);
  localparam int RX_META_W = $bits(rx_meta_t);

  // Queue error codes (readable in *Q_STATUS and written to completions).
  typedef enum logic [7:0] {
    ERR_NONE          = 8'h00,
    ERR_DESC_LEN_ZERO = 8'h01,
    ERR_DESC_LEN_MAX  = 8'h02,
    ERR_TOO_MANY_BUFS = 8'h03,
    ERR_PROD_RANGE    = 8'h04,
    ERR_BUS_READ      = 8'h05,
    ERR_BUS_WRITE     = 8'h06,
    ERR_DESC_ALIGN    = 8'h07,
    ERR_RING_SIZE     = 8'h08,
    ERR_DESC_GEN      = 8'h09,  // descriptor below PROD not handed over (gen), format B
    ERR_DESC_TYPE     = 8'h0A,  // descriptor type or offload not supported, format B
    ERR_SMALL_BUF     = 8'h0B   // head RX buffer below MIN_HEAD_BUF_BYTES, format B
  } q_err_e;

  // Ring formats of a function's queues (docs/ARCHITECTURE.md §4, §4b).
  typedef enum logic [0:0] {
    RING_FMT_A = 1'b0,  // native format A
    RING_FMT_B = 1'b1   // vmxnet3's own rings (UPT)
  } ring_fmt_e;

  // PCI identity a function reports per ring format (FUNC_ID, FUNC_PCI_ID).
  localparam logic [15:0] FMT_A_VENDOR_ID = 16'h5A00;
  localparam logic [15:0] FMT_A_DEVICE_ID = 16'h5A01;
  localparam logic [15:0] FMT_B_VENDOR_ID = 16'h5B00;
  localparam logic [15:0] FMT_B_DEVICE_ID = 16'h5B01;

  // Format B limits (the UPT page's offsets are in nic_regs_pkg).
  localparam int MIN_HEAD_BUF_BYTES = 128;  // vmxnet3 VMXNET3_MIN_T0_BUF_SIZE
  localparam int RX_CPL_SIZE_LOG2_MAX = 13;  // format B RX completion ring, 8192

  // A completion request, from the TX or RX path of a vf_dma to its completion
  // writer (vf_dma_cpl_wr): what the ring format needs to build the entry.
  typedef struct packed {
    logic        rx;             // 1: RX completion ring, 0: TX
    logic [7:0]  q;              // queue
    logic [15:0] idx;            // ring index of the (first) descriptor
    logic [15:0] len;            // bytes
    logic [7:0]  nbufs;          // RX buffers; format B: {ring2, eop, sop} in [2:0] (§4b)
    logic        vlan_stripped;  // RX: a tag was removed
    logic [15:0] vlan_tci;       // RX: the removed tag
    q_err_e      status;         // error code, ERR_NONE when good
  } cpl_req_t;

  localparam int CPL_REQ_W = $bits(cpl_req_t);

  // The ring format's view of its entries (ring_fmt_a, ring_fmt_b): what a descriptor
  // says, decoded, and what a completion must say, to encode. The byte layouts stay in
  // the format modules (docs/ARCHITECTURE.md §4, §4b).

  // A TX descriptor, decoded: one buffer of a frame.
  typedef struct packed {
    logic [63:0] addr;      // buffer address in host memory
    logic [15:0] len;       // buffer bytes
    logic        sof;       // first buffer of a frame (format A; the engine goes by eof)
    logic        eof;       // last buffer of a frame
    logic        vlan_ins;  // insert vlan_tci into the frame
    logic [15:0] vlan_tci;  // tag to insert
    q_err_e      err;       // why the format refuses the entry, ERR_NONE when it does not
  } txd_t;

  // An RX descriptor, decoded: one buffer to receive into.
  typedef struct packed {
    logic [63:0] addr;  // buffer address in host memory
    logic [15:0] len;   // buffer bytes
    q_err_e      err;   // why the format refuses the entry, ERR_NONE when it does not
  } rxd_t;

  // A completion entry's fields: the request, and the gen bit of the ring position
  // the completion writer puts it at.
  typedef struct packed {
    cpl_req_t req;
    logic     gen;
  } cpl_fields_t;

endpackage

`resetall
