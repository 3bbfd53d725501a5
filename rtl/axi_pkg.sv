// SR-IOV NIC: the host bus's AXI4 types. The widths are the design's fixed ones
// (docs/ARCHITECTURE.md §2: 64-bit host addresses, the function number on a*user,
// beats of at most 512 bits); a narrower engine (DATA_W 256) uses the low bits
// of the data fields. The DMA engine's AXI ID and its kinds are defined here too,
// and the host side's channels, which carry the function number besides.

`resetall
`timescale 1ns / 1ps
`default_nettype none

package axi_pkg;

  import nic_pkg::FUNC_W;

  localparam int AXI_ADDR_W = 64;  // host (IOVA) address
  localparam int AXI_DATA_W = 512;  // widest beat
  localparam int AXI_STRB_W = AXI_DATA_W / 8;
  localparam int AXI_USER_W = FUNC_W;  // a*user: the function number (IOMMU)

  typedef logic [AXI_ADDR_W-1:0] axi_addr_t;

  typedef enum logic [1:0] {
    AXI_BURST_FIXED = 2'b00,
    AXI_BURST_INCR  = 2'b01,
    AXI_BURST_WRAP  = 2'b10
  } axi_burst_e;

  typedef enum logic [1:0] {
    AXI_RESP_OKAY   = 2'b00,
    AXI_RESP_EXOKAY = 2'b01,
    AXI_RESP_SLVERR = 2'b10,
    AXI_RESP_DECERR = 2'b11
  } axi_resp_e;

  // ------------------------------------------------------------ DMA engine ID
  // Every request of a function's engine carries {queue, kind}: reads of one
  // kind return in order (one ID per kind, queue 0), writes carry their queue so
  // that a B error is charged to it. dma_arbiter prepends the function (host_*_t).
  localparam int DMA_KIND_W = 2;
  localparam int DMA_QUEUE_W = 2;  // queue pairs per function: at most 4

  typedef enum logic [DMA_KIND_W-1:0] {
    RD_TX_DESC = 2'd0,  // TX descriptors
    RD_RX_DESC = 2'd1,  // RX descriptors
    RD_TX_DATA = 2'd2   // TX frame data
  } dma_rd_kind_e;

  typedef enum logic [DMA_KIND_W-1:0] {
    WR_TX_CPL = 2'd0,  // TX completions
    WR_RX     = 2'd1   // RX data, and RX completions (after the data, same ID)
  } dma_wr_kind_e;

  typedef struct packed {
    logic [DMA_QUEUE_W-1:0] qnum;
    logic [DMA_KIND_W-1:0]  kind;  // dma_rd_kind_e or dma_wr_kind_e
  } dma_id_t;

  localparam int ENGINE_ID_W = $bits(dma_id_t);

  function automatic dma_id_t dma_rd_id(dma_rd_kind_e kind, logic [DMA_QUEUE_W-1:0] qnum);
    return '{qnum: qnum, kind: kind};
  endfunction

  function automatic dma_id_t dma_wr_id(dma_wr_kind_e kind, logic [DMA_QUEUE_W-1:0] qnum);
    return '{qnum: qnum, kind: kind};
  endfunction

  // A request inside the engine (AR or AW): size, burst and user are the
  // engine's constants, added at its port.
  typedef struct packed {
    dma_id_t    id;
    axi_addr_t  addr;
    logic [7:0] len;
  } dma_a_t;

  // ------------------------------------------------- an engine's AXI4 channels
  // AW and AR
  typedef struct packed {
    dma_id_t               id;
    axi_addr_t             addr;
    logic [7:0]            len;
    logic [2:0]            size;
    axi_burst_e            burst;
    logic [AXI_USER_W-1:0] user;
  } axi_a_t;

  typedef struct packed {
    logic [AXI_DATA_W-1:0] data;
    logic [AXI_STRB_W-1:0] strb;
    logic                  last;
  } axi_w_t;

  typedef struct packed {
    dma_id_t   id;
    axi_resp_e resp;
  } axi_b_t;

  typedef struct packed {
    dma_id_t               id;
    logic [AXI_DATA_W-1:0] data;
    axi_resp_e             resp;
    logic                  last;
  } axi_r_t;

  // ------------------------------------------------------- AXI-Stream beats
  // A beat of a frame stream between modules (the switch's ports, crossbar and VLAN
  // stages, the engine's realigner and frame FIFOs): data and keep at the widest
  // width, a narrower stream (DATA_W 256) in the low bits and 0 above; tvalid and
  // tready beside it. tuser is not in it: each stream's sideband is its own
  // (tx_meta_t, rx_meta_t, the crossbar's strip mask, a FIFO's queue number).
  typedef struct packed {
    logic [AXI_DATA_W-1:0] data;
    logic [AXI_STRB_W-1:0] keep;
    logic                  last;
  } axis_t;

  // --------------------------------------- the host bus's channels (dma_arbiter)
  // An engine's channel with the function that issued it: its AXI ID on the host
  // bus is {func, id}, func the high bits. The widths do not depend on the number
  // of functions; nic_top's flat m_axi_*id keeps the low bits of func that its
  // functions need. W has no ID (AXI4): it stays axi_w_t.
  typedef struct packed {
    logic [FUNC_W-1:0] func;
    axi_a_t            a;
  } host_a_t;

  typedef struct packed {
    logic [FUNC_W-1:0] func;
    axi_b_t            b;
  } host_b_t;

  typedef struct packed {
    logic [FUNC_W-1:0] func;
    axi_r_t            r;
  } host_r_t;

endpackage

`resetall
