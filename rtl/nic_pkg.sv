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

  // Register space per function and the PF-only window for the switch.
  localparam int FUNC_SPACE_W = 16;                 // 64 KiB per function
  localparam logic [19:0] ESW_WINDOW_BASE = 20'h10000; // PF only

  // Descriptor and completion entries of ring format A (native): 16 bytes.
  localparam int DESC_BYTES = 16;
  localparam int RING_SIZE_LOG2_MIN = 5;   // 32 entries
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
    ERR_RING_SIZE     = 8'h08
  } q_err_e;

endpackage

`resetall
