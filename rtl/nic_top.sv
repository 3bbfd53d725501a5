// SR-IOV NIC top: the PF's and NUM_VF VFs' DMA engines, the embedded switch,
// the DMA arbiter onto the host bus, function-routed register access, the PF's
// control block and one VF<->PF mailbox per VF.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "prim_assert.svh"

module nic_top
  import nic_pkg::*, nic_regs_pkg::*, axi_pkg::*;
#(
    // Virtual functions implemented (SR-IOV TotalVFs).
    parameter int NUM_VF = 2,
    // Queue pairs per function.
    parameter int NUM_QUEUES = 1,
    // Data path width: host bus, streams and switch.
    parameter int DATA_W = 512,
    // Host (IOVA) address width.
    parameter int ADDR_W = 64,
    // AXI ID width of one function's DMA engine.
    parameter int DMA_ID_W = 4,
    // Exact-match (MAC, VLAN) forwarding entries.
    parameter int MAC_TABLE_SIZE = 64,
    // Ring format of each VF's queues, bit n-1 for VF n: 0 format A, 1 format B
    // (vmxnet3/UPT, docs/ARCHITECTURE.md §4b). The PF's queues are format A.
    parameter logic [255:0] VF_RING_FMT = '0,
    localparam int NUM_FUNC = NUM_VF + 1,
    localparam int SEL_W = (NUM_FUNC > 1) ? $clog2(NUM_FUNC) : 1,
    localparam int M_ID_W = DMA_ID_W + SEL_W,
    // Interrupt vector of the mailbox (misc) cause, after the queue vectors.
    localparam int MBX_VECTOR = 2 * NUM_QUEUES,
    localparam int STRB_W = DATA_W / 8,
    localparam int AXIL_ADDR_W = 20
) (
    input wire logic clk,
    input wire logic rst,

    // Register access; a*user carries the function number.
    input  wire logic [AXIL_ADDR_W-1:0] s_axil_awaddr,
    input  wire logic [     FUNC_W-1:0] s_axil_awuser,
    input  wire logic                   s_axil_awvalid,
    output logic                        s_axil_awready,
    input  wire logic [           31:0] s_axil_wdata,
    input  wire logic [            3:0] s_axil_wstrb,
    input  wire logic                   s_axil_wvalid,
    output logic                        s_axil_wready,
    output logic      [            1:0] s_axil_bresp,
    output logic                        s_axil_bvalid,
    input  wire logic                   s_axil_bready,
    input  wire logic [AXIL_ADDR_W-1:0] s_axil_araddr,
    input  wire logic [     FUNC_W-1:0] s_axil_aruser,
    input  wire logic                   s_axil_arvalid,
    output logic                        s_axil_arready,
    output logic      [           31:0] s_axil_rdata,
    output logic      [            1:0] s_axil_rresp,
    output logic                        s_axil_rvalid,
    input  wire logic                   s_axil_rready,

    // Host bus; a*user carries the function number for the IOMMU.
    output logic      [M_ID_W-1:0] m_axi_awid,
    output logic      [ADDR_W-1:0] m_axi_awaddr,
    output logic      [       7:0] m_axi_awlen,
    output logic      [       2:0] m_axi_awsize,
    output logic      [       1:0] m_axi_awburst,
    output logic      [FUNC_W-1:0] m_axi_awuser,
    output logic                   m_axi_awvalid,
    input  wire logic              m_axi_awready,
    output logic      [DATA_W-1:0] m_axi_wdata,
    output logic      [STRB_W-1:0] m_axi_wstrb,
    output logic                   m_axi_wlast,
    output logic                   m_axi_wvalid,
    input  wire logic              m_axi_wready,
    input  wire logic [M_ID_W-1:0] m_axi_bid,
    input  wire logic [       1:0] m_axi_bresp,
    input  wire logic              m_axi_bvalid,
    output logic                   m_axi_bready,
    output logic      [M_ID_W-1:0] m_axi_arid,
    output logic      [ADDR_W-1:0] m_axi_araddr,
    output logic      [       7:0] m_axi_arlen,
    output logic      [       2:0] m_axi_arsize,
    output logic      [       1:0] m_axi_arburst,
    output logic      [FUNC_W-1:0] m_axi_aruser,
    output logic                   m_axi_arvalid,
    input  wire logic              m_axi_arready,
    input  wire logic [M_ID_W-1:0] m_axi_rid,
    input  wire logic [DATA_W-1:0] m_axi_rdata,
    input  wire logic [       1:0] m_axi_rresp,
    input  wire logic              m_axi_rlast,
    input  wire logic              m_axi_rvalid,
    output logic                   m_axi_rready,

    // Uplink: frames from the wire.
    input  wire logic [DATA_W-1:0] s_axis_uplink_tdata,
    input  wire logic [STRB_W-1:0] s_axis_uplink_tkeep,
    input  wire logic              s_axis_uplink_tlast,
    input  wire logic              s_axis_uplink_tvalid,
    output logic                   s_axis_uplink_tready,
    // Uplink: frames to the wire.
    output logic      [DATA_W-1:0] m_axis_uplink_tdata,
    output logic      [STRB_W-1:0] m_axis_uplink_tkeep,
    output logic                   m_axis_uplink_tlast,
    output logic                   m_axis_uplink_tvalid,
    input  wire logic              m_axis_uplink_tready,

    // Interrupt messages {function, vector} to the host's interrupt controller.
    output logic      [FUNC_W-1:0] m_irq_func,
    output logic      [       7:0] m_irq_vector,
    output logic                   m_irq_valid,
    input  wire logic              m_irq_ready
);

  if (NUM_VF < 1 || NUM_VF > 254) begin : g_check_vf
    $fatal(1, "%m: NUM_VF=%0d outside 1..254", NUM_VF);
  end
  // the decode takes the window from address bits [19:16], VF n's PF-side mailbox from [15:8]
  if (PF_SPACE_FUNC[15:0] != '0 || PF_SPACE_ESW[15:0] != '0 || PF_SPACE_PF[15:0] != '0
      || PF_SPACE_MBX[15:0] != '0 || VF_SPACE_MBX[15:0] != '0 || VF_SPACE_FUNC != PF_SPACE_FUNC
      || PF_SPACE_MBX_STRIDE != 256) begin : g_check_windows
    $fatal(1, "%m: register windows of nic_regs_pkg are not the ones this decode assumes");
  end

  // the host-bus port flattens the engines' typed channels (axi_pkg) as they are
  `ASSERT_PARAM(
      g_check_bus, DMA_ID_W == ENGINE_ID_W && ADDR_W == AXI_ADDR_W && DATA_W <= AXI_DATA_W,
      $sformatf("DMA_ID_W (%0d), ADDR_W (%0d), DATA_W (%0d): axi_pkg has %0d, %0d, <= %0d",
                DMA_ID_W, ADDR_W, DATA_W, ENGINE_ID_W, AXI_ADDR_W, AXI_DATA_W))

  // ------------------------------------------------------- register access
  // Windows (address bits [19:16]). PF: 0 its DMA engine, 1 the switch, 2 PF
  // control, 3 the PF side of every VF's mailbox (0x100 per VF, VF n at n).
  // VF: 0 its DMA engine, 1 its side of its mailbox; nothing else.
  localparam logic [3:0] WIN_FUNC = PF_SPACE_FUNC[19:16];
  localparam logic [3:0] WIN_ESW = PF_SPACE_ESW[19:16];
  localparam logic [3:0] WIN_PF = PF_SPACE_PF[19:16];
  localparam logic [3:0] WIN_PF_MBX = PF_SPACE_MBX[19:16];
  localparam logic [3:0] WIN_VF_MBX = VF_SPACE_MBX[19:16];
  // Read value of a disabled or absent function: as PCIe answers an
  // unsupported request, all ones.
  localparam logic [31:0] ABSENT_READ = 32'hFFFF_FFFF;

  logic reg_wr, reg_rd;
  logic [AXIL_ADDR_W-1:0] reg_addr;
  logic [     FUNC_W-1:0] reg_func;
  logic [31:0] reg_wdata, reg_rdata;

  axil_regs #(
      .ADDR_W(AXIL_ADDR_W),
      .USER_W(FUNC_W)
  ) u_axil_regs (
      .clk,
      .rst,
      .s_axil_awaddr,
      .s_axil_awuser,
      .s_axil_awvalid,
      .s_axil_awready,
      .s_axil_wdata,
      .s_axil_wstrb,
      .s_axil_wvalid,
      .s_axil_wready,
      .s_axil_bresp,
      .s_axil_bvalid,
      .s_axil_bready,
      .s_axil_araddr,
      .s_axil_aruser,
      .s_axil_arvalid,
      .s_axil_arready,
      .s_axil_rdata,
      .s_axil_rresp,
      .s_axil_rvalid,
      .s_axil_rready,
      .reg_wr,
      .reg_rd,
      .reg_addr,
      .reg_func,
      .reg_wdata,
      .reg_rdata
  );

  logic [  NUM_VF-1:0] vf_enable;
  logic [  NUM_VF-1:0] vf_flr;  // the PF resets VF n at bit n-1 (pulse)
  logic [NUM_FUNC-1:0] func_enable;  // register space present
  logic [NUM_FUNC-1:0] dma_enable;  // DMA engine out of reset (0 for one cycle = FLR by the PF)
  assign func_enable = {vf_enable, 1'b1};
  assign dma_enable  = {vf_enable & ~vf_flr, 1'b1};

  // Target selection.
  typedef enum logic [2:0] {
    T_NONE,    // unmapped: reads 0
    T_ABSENT,  // disabled or absent function: reads all ones
    T_FUNC,    // a function's DMA engine
    T_ESW,     // the switch (PF only)
    T_PF,      // PF global control (PF only)
    T_MBX_PF,  // PF side of a VF's mailbox (PF only)
    T_MBX_VF   // the VF's side of its own mailbox (VF only)
  } target_e;

  target_e             sel;
  target_e             sel_reg;
  logic    [SEL_W-1:0] sel_func_reg;
  logic    [SEL_W-1:0] sel_mbx_reg;
  logic    [      3:0] win;
  logic                is_pf;
  logic    [      7:0] mbx_vf;  // PF mailbox window: VF number, address bits [15:8]
  assign win    = reg_addr[19:16];
  assign is_pf  = reg_func == '0;
  assign mbx_vf = reg_addr[15:8];

  always_comb begin
    sel = T_NONE;
    if (32'(reg_func) >= NUM_FUNC || !func_enable[reg_func[SEL_W-1:0]]) begin
      sel = T_ABSENT;
    end else if (win == WIN_FUNC) begin
      sel = T_FUNC;
    end else if (!is_pf && win == WIN_VF_MBX) begin
      sel = T_MBX_VF;
    end else if (is_pf && win == WIN_ESW) begin
      sel = T_ESW;
    end else if (is_pf && win == WIN_PF) begin
      sel = T_PF;
    end else if (is_pf && win == WIN_PF_MBX && mbx_vf != 8'h0 && 32'(mbx_vf) <= NUM_VF) begin
      sel = T_MBX_PF;
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      sel_reg      <= T_NONE;
      sel_func_reg <= '0;
      sel_mbx_reg  <= '0;
    end else if (reg_rd) begin
      sel_reg      <= sel;
      sel_func_reg <= reg_func[SEL_W-1:0];
      sel_mbx_reg  <= SEL_W'(mbx_vf);
    end
  end

  logic [NUM_FUNC-1:0][31:0] func_rdata;
  logic [NUM_FUNC-1:0][31:0] mbx_vf_rdata, mbx_pf_rdata;  // index 0 unused (no mailbox)
  logic [31:0] esw_rdata, pf_rdata;

  always_comb begin
    unique case (sel_reg)
      T_ABSENT: reg_rdata = ABSENT_READ;
      T_FUNC:   reg_rdata = func_rdata[sel_func_reg];
      T_ESW:    reg_rdata = esw_rdata;
      T_PF:     reg_rdata = pf_rdata;
      T_MBX_PF: reg_rdata = mbx_pf_rdata[sel_mbx_reg];
      T_MBX_VF: reg_rdata = mbx_vf_rdata[sel_func_reg];
      default:  reg_rdata = 32'h0;
    endcase
  end

  // FLR. A VF resets itself by writing FUNC_CTRL.FLR (offset 0x0004 bit 0 of
  // its DMA window, decoded by vf_dma too); the PF resets VF n through its admin
  // block, which drops the VF's func_enable for one cycle (vf_dma treats that as
  // an FLR). Either one also resets the VF's mailbox.
  logic [NUM_VF-1:0] vf_self_flr, vf_bad_access;
  // engine statistics of every function (index f); the PF's own are not forwarded
  logic [NUM_FUNC-1:0][15:0] st_rx_drops, st_rx_aband, st_tx_aband;
  logic unused_pf_stats;  // the PF reads its own queues' counters
  assign unused_pf_stats = ^{st_rx_drops[0], st_rx_aband[0], st_tx_aband[0]};
  logic [NUM_VF-1:0] mbx_req, mbx_ack, mbx_event;
  logic pf_irq_valid, pf_irq_ready;

  always_comb begin
    for (int n = 1; n <= NUM_VF; n++) begin
      vf_self_flr[n-1] = reg_wr && sel == T_FUNC && 32'(reg_func) == n
                         && reg_addr[15:0] == FUNC_CTRL && reg_wdata[FUNC_CTRL_FLR_LSB];
      // A VF's access outside its two windows: answered 0 / ignored, and counted.
      vf_bad_access[n-1] = (reg_wr || reg_rd) && sel == T_NONE && 32'(reg_func) == n;
    end
  end

  pf_ctrl #(
      .NUM_VF(NUM_VF),
      .NUM_QUEUES(NUM_QUEUES),
      .MBX_VECTOR(MBX_VECTOR)
  ) u_pf_ctrl (
      .clk,
      .rst,
      .reg_wr         (reg_wr && sel == T_PF),
      .reg_rd         (reg_rd && sel == T_PF),
      .reg_addr       (reg_addr[15:0]),
      .reg_wdata      (reg_wdata),
      .reg_rdata      (pf_rdata),
      .vf_enable      (vf_enable),
      .vf_flr         (vf_flr),
      .vf_self_flr    (vf_self_flr),
      .vf_bad_access  (vf_bad_access),
      .vf_rx_drops    (st_rx_drops[NUM_FUNC-1:1]),
      .vf_rx_abandoned(st_rx_aband[NUM_FUNC-1:1]),
      .vf_tx_abandoned(st_tx_aband[NUM_FUNC-1:1]),
      .mbx_req        (mbx_req),
      .mbx_ack        (mbx_ack),
      .mbx_event      (mbx_event),
      .irq_valid      (pf_irq_valid),
      .irq_ready      (pf_irq_ready)
  );

  // ---------------------------------------------------------------- mailboxes
  logic [NUM_FUNC-1:0] mbx_irq_valid, mbx_irq_ready;  // per function; 0 = the PF's cause
  assign mbx_irq_valid[0] = pf_irq_valid;
  assign pf_irq_ready     = mbx_irq_ready[0];
  assign mbx_vf_rdata[0]  = '0;
  assign mbx_pf_rdata[0]  = '0;

  for (genvar n = 1; n <= NUM_VF; n++) begin : g_mbx
    mailbox #(
        .VECTOR(MBX_VECTOR)
    ) u_mbx (
        .clk,
        .rst,
        .flr         (!vf_enable[n-1] || vf_flr[n-1] || vf_self_flr[n-1]),
        .vf_reg_wr   (reg_wr && sel == T_MBX_VF && reg_func[SEL_W-1:0] == SEL_W'(n)),
        .vf_reg_rd   (reg_rd && sel == T_MBX_VF && reg_func[SEL_W-1:0] == SEL_W'(n)),
        .vf_reg_addr (reg_addr[15:0]),
        .vf_reg_wdata(reg_wdata),
        .vf_reg_rdata(mbx_vf_rdata[n]),
        .pf_reg_wr   (reg_wr && sel == T_MBX_PF && mbx_vf == 8'(n)),
        .pf_reg_rd   (reg_rd && sel == T_MBX_PF && mbx_vf == 8'(n)),
        .pf_reg_addr (reg_addr[7:0]),
        .pf_reg_wdata(reg_wdata),
        .pf_reg_rdata(mbx_pf_rdata[n]),
        .vf_req      (mbx_req[n-1]),
        .vf_ack      (mbx_ack[n-1]),
        .pf_event    (mbx_event[n-1]),
        .vf_irq_valid(mbx_irq_valid[n]),
        .vf_irq_ready(mbx_irq_ready[n])
    );
  end

  // ------------------------------------------------------ function engines
  // Each engine's host-bus master as typed channels (axi_pkg), indexed by function.
  axi_a_t [NUM_FUNC-1:0] f_aw, f_ar;
  axi_w_t [NUM_FUNC-1:0] f_w;
  axi_b_t [NUM_FUNC-1:0] f_b;
  axi_r_t [NUM_FUNC-1:0] f_r;
  logic [NUM_FUNC-1:0] f_awvalid, f_awready, f_wvalid, f_wready;
  logic [NUM_FUNC-1:0] f_bvalid, f_bready, f_arvalid, f_arready;
  logic [NUM_FUNC-1:0] f_rvalid, f_rready;

  // Function <-> switch streams.
  logic [NUM_FUNC-1:0][DATA_W-1:0] tx_tdata, rx_tdata;
  logic [NUM_FUNC-1:0][STRB_W-1:0] tx_tkeep, rx_tkeep;
  logic [NUM_FUNC-1:0] tx_tlast, tx_tvalid, tx_tready;
  logic [NUM_FUNC-1:0] rx_tlast, rx_tvalid, rx_tready;
  logic [NUM_FUNC-1:0][TX_META_W-1:0] tx_tuser;
  logic [NUM_FUNC-1:0][RX_META_W-1:0] rx_tuser;

  // Interrupt messages merged round-robin: source f < NUM_FUNC is function f's
  // DMA engine, source NUM_FUNC + f its mailbox cause (vector MBX_VECTOR; for
  // the PF the mailbox/VFLR cause of pf_ctrl).
  localparam int IRQ_SRC = 2 * NUM_FUNC;
  localparam int IRQ_SEL_W = $clog2(IRQ_SRC);
  logic [NUM_FUNC-1:0][FUNC_W-1:0] irq_func;
  logic [NUM_FUNC-1:0][       7:0] irq_vector;
  logic [NUM_FUNC-1:0] irq_valid, irq_ready;
  logic [  IRQ_SRC-1:0] irq_req;
  logic                 irq_grant_valid;
  logic [IRQ_SEL_W-1:0] irq_grant;
  logic                 irq_grant_mbx;
  logic [    SEL_W-1:0] irq_grant_func;

  assign irq_req = {mbx_irq_valid, irq_valid};

  prim_rr_arb #(
      .N(IRQ_SRC)
  ) u_irq_arb (
      .clk,
      .rst,
      .req        (irq_req),
      .advance    (m_irq_valid && m_irq_ready),
      .grant_valid(irq_grant_valid),
      .grant_idx  (irq_grant)
  );

  always_comb begin
    irq_grant_mbx  = 32'(irq_grant) >= NUM_FUNC;
    irq_grant_func = irq_grant_mbx ? SEL_W'(32'(irq_grant) - NUM_FUNC) : SEL_W'(irq_grant);
    m_irq_valid    = irq_grant_valid;
    m_irq_func     = irq_grant_mbx ? FUNC_W'(irq_grant_func) : irq_func[irq_grant_func];
    m_irq_vector   = irq_grant_mbx ? 8'(MBX_VECTOR) : irq_vector[irq_grant_func];
    irq_ready      = '0;
    mbx_irq_ready  = '0;
    if (irq_grant_mbx) mbx_irq_ready[irq_grant_func] = irq_grant_valid && m_irq_ready;
    else irq_ready[irq_grant_func] = irq_grant_valid && m_irq_ready;
  end

  for (genvar f = 0; f < NUM_FUNC; f++) begin : g_func
    logic sel_me;
    assign sel_me = (sel == T_FUNC) && (reg_func[SEL_W-1:0] == SEL_W'(f));

    // vf_dma's flat AXI4 port (it is a cocotb top of its own) packed into the
    // typed channels, here and only here
    logic [1:0] awburst, arburst;
    logic [DATA_W-1:0] wdata;
    logic [STRB_W-1:0] wstrb;
    logic              wlast;
    assign f_aw[f].burst = axi_burst_e'(awburst);
    assign f_ar[f].burst = axi_burst_e'(arburst);
    assign f_w[f]        = '{data: AXI_DATA_W'(wdata), strb: AXI_STRB_W'(wstrb), last: wlast};

    vf_dma #(
        .DATA_W    (DATA_W),
        .ADDR_W    (ADDR_W),
        .ID_W      (DMA_ID_W),
        .NUM_QUEUES(NUM_QUEUES),
        .RING_FMT  ((f > 0 && VF_RING_FMT[f>0?f-1 : 0]) ? RING_FMT_B : RING_FMT_A)
    ) u_dma (
        .clk,
        .rst,
        .func_num         (FUNC_W'(f)),
        .func_enable      (dma_enable[f]),
        .reg_wr           (reg_wr && sel_me),
        .reg_rd           (reg_rd && sel_me),
        .reg_addr         (reg_addr[15:0]),
        .reg_wdata        (reg_wdata),
        .reg_rdata        (func_rdata[f]),
        .m_axi_awid       (f_aw[f].id),
        .m_axi_awaddr     (f_aw[f].addr),
        .m_axi_awlen      (f_aw[f].len),
        .m_axi_awsize     (f_aw[f].size),
        .m_axi_awburst    (awburst),
        .m_axi_awuser     (f_aw[f].user),
        .m_axi_awvalid    (f_awvalid[f]),
        .m_axi_awready    (f_awready[f]),
        .m_axi_wdata      (wdata),
        .m_axi_wstrb      (wstrb),
        .m_axi_wlast      (wlast),
        .m_axi_wvalid     (f_wvalid[f]),
        .m_axi_wready     (f_wready[f]),
        .m_axi_bid        (f_b[f].id),
        .m_axi_bresp      (f_b[f].resp),
        .m_axi_bvalid     (f_bvalid[f]),
        .m_axi_bready     (f_bready[f]),
        .m_axi_arid       (f_ar[f].id),
        .m_axi_araddr     (f_ar[f].addr),
        .m_axi_arlen      (f_ar[f].len),
        .m_axi_arsize     (f_ar[f].size),
        .m_axi_arburst    (arburst),
        .m_axi_aruser     (f_ar[f].user),
        .m_axi_arvalid    (f_arvalid[f]),
        .m_axi_arready    (f_arready[f]),
        .m_axi_rid        (f_r[f].id),
        .m_axi_rdata      (f_r[f].data[DATA_W-1:0]),
        .m_axi_rresp      (f_r[f].resp),
        .m_axi_rlast      (f_r[f].last),
        .m_axi_rvalid     (f_rvalid[f]),
        .m_axi_rready     (f_rready[f]),
        .m_axis_tx_tdata  (tx_tdata[f]),
        .m_axis_tx_tkeep  (tx_tkeep[f]),
        .m_axis_tx_tlast  (tx_tlast[f]),
        .m_axis_tx_tuser  (tx_tuser[f]),
        .m_axis_tx_tvalid (tx_tvalid[f]),
        .m_axis_tx_tready (tx_tready[f]),
        .s_axis_rx_tdata  (rx_tdata[f]),
        .s_axis_rx_tkeep  (rx_tkeep[f]),
        .s_axis_rx_tlast  (rx_tlast[f]),
        .s_axis_rx_tuser  (rx_tuser[f]),
        .s_axis_rx_tvalid (rx_tvalid[f]),
        .s_axis_rx_tready (rx_tready[f]),
        .m_irq_func       (irq_func[f]),
        .m_irq_vector     (irq_vector[f]),
        .m_irq_valid      (irq_valid[f]),
        .m_irq_ready      (irq_ready[f]),
        .stat_rx_drops    (st_rx_drops[f]),
        .stat_rx_abandoned(st_rx_aband[f]),
        .stat_tx_abandoned(st_tx_aband[f])
    );
  end

  // the host bus: dma_arbiter's typed channels (axi_pkg::host_*_t), flattened
  // into the flat AXI4 port here and only here; the ID is {function, engine ID}
  // with the SEL_W low bits of the function
  host_a_t h_aw, h_ar;
  axi_w_t  h_w;
  host_b_t h_b;
  host_r_t h_r;

  always_comb begin
    {m_axi_awid, m_axi_awaddr, m_axi_awlen, m_axi_awsize, m_axi_awburst, m_axi_awuser} = {
      h_aw.func[SEL_W-1:0], h_aw.a
    };
    {m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst, m_axi_aruser} = {
      h_ar.func[SEL_W-1:0], h_ar.a
    };
    {m_axi_wdata, m_axi_wstrb, m_axi_wlast} = {
      h_w.data[DATA_W-1:0], h_w.strb[STRB_W-1:0], h_w.last
    };
    h_b.func = FUNC_W'(m_axi_bid[M_ID_W-1-:SEL_W]);
    h_b.b = '{id: dma_id_t'(m_axi_bid[DMA_ID_W-1:0]), resp: axi_resp_e'(m_axi_bresp)};
    h_r.func = FUNC_W'(m_axi_rid[M_ID_W-1-:SEL_W]);
    h_r.r = '{
        id: dma_id_t'(m_axi_rid[DMA_ID_W-1:0]),
        data: AXI_DATA_W'(m_axi_rdata),
        resp: axi_resp_e'(m_axi_rresp),
        last: m_axi_rlast
    };
  end

  dma_arbiter #(
      .N     (NUM_FUNC),
      .DATA_W(DATA_W)
  ) u_dma_arbiter (
      .clk,
      .rst,
      .s_axi_aw(f_aw),
      .s_axi_awvalid(f_awvalid),
      .s_axi_awready(f_awready),
      .s_axi_w(f_w),
      .s_axi_wvalid(f_wvalid),
      .s_axi_wready(f_wready),
      .s_axi_b(f_b),
      .s_axi_bvalid(f_bvalid),
      .s_axi_bready(f_bready),
      .s_axi_ar(f_ar),
      .s_axi_arvalid(f_arvalid),
      .s_axi_arready(f_arready),
      .s_axi_r(f_r),
      .s_axi_rvalid(f_rvalid),
      .s_axi_rready(f_rready),
      .m_axi_aw(h_aw),
      .m_axi_awvalid,
      .m_axi_awready,
      .m_axi_w(h_w),
      .m_axi_wvalid,
      .m_axi_wready,
      .m_axi_b(h_b),
      .m_axi_bvalid,
      .m_axi_bready,
      .m_axi_ar(h_ar),
      .m_axi_arvalid,
      .m_axi_arready,
      .m_axi_r(h_r),
      .m_axi_rvalid,
      .m_axi_rready
  );

  // ------------------------------------------------------------------ switch
  eswitch #(
      .DATA_W        (DATA_W),
      .NUM_FUNC      (NUM_FUNC),
      .MAC_TABLE_SIZE(MAC_TABLE_SIZE)
  ) u_eswitch (
      .clk,
      .rst,
      .reg_wr            (reg_wr && sel == T_ESW),
      .reg_rd            (reg_rd && sel == T_ESW),
      .reg_addr          (reg_addr[15:0]),
      .reg_wdata         (reg_wdata),
      .reg_rdata         (esw_rdata),
      .s_axis_func_tdata (tx_tdata),
      .s_axis_func_tkeep (tx_tkeep),
      .s_axis_func_tlast (tx_tlast),
      .s_axis_func_tuser (tx_tuser),
      .s_axis_func_tvalid(tx_tvalid),
      .s_axis_func_tready(tx_tready),
      .m_axis_func_tdata (rx_tdata),
      .m_axis_func_tkeep (rx_tkeep),
      .m_axis_func_tlast (rx_tlast),
      .m_axis_func_tuser (rx_tuser),
      .m_axis_func_tvalid(rx_tvalid),
      .m_axis_func_tready(rx_tready),
      .s_axis_uplink_tdata,
      .s_axis_uplink_tkeep,
      .s_axis_uplink_tlast,
      .s_axis_uplink_tvalid,
      .s_axis_uplink_tready,
      .m_axis_uplink_tdata,
      .m_axis_uplink_tkeep,
      .m_axis_uplink_tlast,
      .m_axis_uplink_tvalid,
      .m_axis_uplink_tready
  );

  // ---------------------------------------------------------------- assertions
  // the interrupt merge hands ready to the granted source only; an FLR by the PF
  // only for an enabled VF; a register strobe reaches one target at most
  `ASSERT_ONEHOT0(irq_ready_onehot, {mbx_irq_ready, irq_ready})
  `ASSERT(irq_ready_granted, {mbx_irq_ready, irq_ready} != '0 |-> m_irq_valid && m_irq_ready)
  `ASSERT(flr_of_enabled_vf, (vf_flr & ~vf_enable) == '0)
  // the arbiter grants functions that exist: the ID's SEL_W bits hold the whole number
  `ASSERT(aw_func_in_range, m_axi_awvalid |-> 32'(h_aw.func) < NUM_FUNC)
  `ASSERT(ar_func_in_range, m_axi_arvalid |-> 32'(h_ar.func) < NUM_FUNC)
  `ASSERT_NEVER(strobe_to_absent, (reg_wr || reg_rd) && sel == T_ABSENT && (vf_self_flr != '0))

endmodule

`resetall
