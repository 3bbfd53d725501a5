// Simulation only: the valid/ready protocol checker (rtl/prim/prim_vr_check.sv)
// bound to every AXI-Stream port and every AXI4 / AXI4-Lite channel of vf_dma,
// eswitch (source ports; see there), dma_arbiter and nic_top, and to the interrupt
// streams. Part of every
// simulation build (sim/runner.py), never of synthesis. A channel whose ready is
// constant (B and R of the engines) is still checked for its valid and payload.

// ---------------------------------------------------------------- vf_dma
bind vf_dma prim_vr_check #(
  .W($bits({m_axi_awid, m_axi_awaddr, m_axi_awlen, m_axi_awsize, m_axi_awburst, m_axi_awuser}))
) u_vr_axi_aw (
  .clk, .rst, .valid(m_axi_awvalid), .ready(m_axi_awready),
  .data({m_axi_awid, m_axi_awaddr, m_axi_awlen, m_axi_awsize, m_axi_awburst, m_axi_awuser})
);
bind vf_dma prim_vr_check #(.W($bits({m_axi_wdata, m_axi_wstrb, m_axi_wlast}))) u_vr_axi_w (
  .clk, .rst, .valid(m_axi_wvalid), .ready(m_axi_wready),
  .data({m_axi_wdata, m_axi_wstrb, m_axi_wlast})
);
bind vf_dma prim_vr_check #(.W($bits({m_axi_bid, m_axi_bresp}))) u_vr_axi_b (
  .clk, .rst, .valid(m_axi_bvalid), .ready(m_axi_bready), .data({m_axi_bid, m_axi_bresp})
);
bind vf_dma prim_vr_check #(
  .W($bits({m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst, m_axi_aruser}))
) u_vr_axi_ar (
  .clk, .rst, .valid(m_axi_arvalid), .ready(m_axi_arready),
  .data({m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst, m_axi_aruser})
);
bind vf_dma prim_vr_check #(
  .W($bits({m_axi_rid, m_axi_rdata, m_axi_rresp, m_axi_rlast}))
) u_vr_axi_r (
  .clk, .rst, .valid(m_axi_rvalid), .ready(m_axi_rready),
  .data({m_axi_rid, m_axi_rdata, m_axi_rresp, m_axi_rlast})
);
bind vf_dma prim_vr_check #(
  .W($bits({m_axis_tx_tdata, m_axis_tx_tkeep, m_axis_tx_tlast, m_axis_tx_tuser}))
) u_vr_axis_tx (
  .clk, .rst, .valid(m_axis_tx_tvalid), .ready(m_axis_tx_tready),
  .data({m_axis_tx_tdata, m_axis_tx_tkeep, m_axis_tx_tlast, m_axis_tx_tuser})
);
bind vf_dma prim_vr_check #(
  .W($bits({s_axis_rx_tdata, s_axis_rx_tkeep, s_axis_rx_tlast, s_axis_rx_tuser}))
) u_vr_axis_rx (
  .clk, .rst, .valid(s_axis_rx_tvalid), .ready(s_axis_rx_tready),
  .data({s_axis_rx_tdata, s_axis_rx_tkeep, s_axis_rx_tlast, s_axis_rx_tuser})
);
bind vf_dma prim_vr_check #(.W($bits({m_irq_func, m_irq_vector}))) u_vr_irq (
  .clk, .rst, .valid(m_irq_valid), .ready(m_irq_ready), .data({m_irq_func, m_irq_vector})
);

// ---------------------------------------------------------------- eswitch
// Its sink ports (what the engines and the uplink offer it, and, when the switch is
// tested alone, what its test benches offer: tb/eswitch/saturation.py ends its
// offered load port by port, each after its beat was taken) and its source ports.
bind eswitch prim_vr_check #(.N(NUM_FUNC), .W(DATA_W)) u_vr_s_func_tdata (
  .clk, .rst, .valid(s_axis_func_tvalid), .ready(s_axis_func_tready), .data(s_axis_func_tdata)
);
bind eswitch prim_vr_check #(.N(NUM_FUNC), .W(DATA_W / 8)) u_vr_s_func_tkeep (
  .clk, .rst, .valid(s_axis_func_tvalid), .ready(s_axis_func_tready), .data(s_axis_func_tkeep)
);
bind eswitch prim_vr_check #(.N(NUM_FUNC), .W(1)) u_vr_s_func_tlast (
  .clk, .rst, .valid(s_axis_func_tvalid), .ready(s_axis_func_tready), .data(s_axis_func_tlast)
);
bind eswitch prim_vr_check #(.N(NUM_FUNC), .W($bits(s_axis_func_tuser[0]))) u_vr_s_func_tuser (
  .clk, .rst, .valid(s_axis_func_tvalid), .ready(s_axis_func_tready), .data(s_axis_func_tuser)
);
bind eswitch prim_vr_check #(
  .W($bits({s_axis_uplink_tdata, s_axis_uplink_tkeep, s_axis_uplink_tlast}))
) u_vr_s_uplink (
  .clk, .rst, .valid(s_axis_uplink_tvalid), .ready(s_axis_uplink_tready),
  .data({s_axis_uplink_tdata, s_axis_uplink_tkeep, s_axis_uplink_tlast})
);
bind eswitch prim_vr_check #(.N(NUM_FUNC), .W(DATA_W)) u_vr_m_func_tdata (
  .clk, .rst, .valid(m_axis_func_tvalid), .ready(m_axis_func_tready), .data(m_axis_func_tdata)
);
bind eswitch prim_vr_check #(.N(NUM_FUNC), .W(DATA_W / 8)) u_vr_m_func_tkeep (
  .clk, .rst, .valid(m_axis_func_tvalid), .ready(m_axis_func_tready), .data(m_axis_func_tkeep)
);
bind eswitch prim_vr_check #(.N(NUM_FUNC), .W(1)) u_vr_m_func_tlast (
  .clk, .rst, .valid(m_axis_func_tvalid), .ready(m_axis_func_tready), .data(m_axis_func_tlast)
);
bind eswitch prim_vr_check #(.N(NUM_FUNC), .W($bits(m_axis_func_tuser[0]))) u_vr_m_func_tuser (
  .clk, .rst, .valid(m_axis_func_tvalid), .ready(m_axis_func_tready), .data(m_axis_func_tuser)
);
bind eswitch prim_vr_check #(
  .W($bits({m_axis_uplink_tdata, m_axis_uplink_tkeep, m_axis_uplink_tlast}))
) u_vr_m_uplink (
  .clk, .rst, .valid(m_axis_uplink_tvalid), .ready(m_axis_uplink_tready),
  .data({m_axis_uplink_tdata, m_axis_uplink_tkeep, m_axis_uplink_tlast})
);

// ---------------------------------------------------------------- dma_arbiter
bind dma_arbiter prim_vr_check #(.N(N), .W($bits(s_axi_aw[0]))) u_vr_s_aw (
  .clk, .rst, .valid(s_axi_awvalid), .ready(s_axi_awready), .data(s_axi_aw)
);
bind dma_arbiter prim_vr_check #(.N(N), .W($bits(s_axi_w[0]))) u_vr_s_w (
  .clk, .rst, .valid(s_axi_wvalid), .ready(s_axi_wready), .data(s_axi_w)
);
bind dma_arbiter prim_vr_check #(.N(N), .W($bits(s_axi_b[0]))) u_vr_s_b (
  .clk, .rst, .valid(s_axi_bvalid), .ready(s_axi_bready), .data(s_axi_b)
);
bind dma_arbiter prim_vr_check #(.N(N), .W($bits(s_axi_ar[0]))) u_vr_s_ar (
  .clk, .rst, .valid(s_axi_arvalid), .ready(s_axi_arready), .data(s_axi_ar)
);
bind dma_arbiter prim_vr_check #(.N(N), .W($bits(s_axi_r[0]))) u_vr_s_r (
  .clk, .rst, .valid(s_axi_rvalid), .ready(s_axi_rready), .data(s_axi_r)
);
bind dma_arbiter prim_vr_check #(.W($bits(m_axi_aw))) u_vr_m_aw (
  .clk, .rst, .valid(m_axi_awvalid), .ready(m_axi_awready), .data(m_axi_aw)
);
bind dma_arbiter prim_vr_check #(.W($bits(m_axi_w))) u_vr_m_w (
  .clk, .rst, .valid(m_axi_wvalid), .ready(m_axi_wready), .data(m_axi_w)
);
bind dma_arbiter prim_vr_check #(.W($bits(m_axi_b))) u_vr_m_b (
  .clk, .rst, .valid(m_axi_bvalid), .ready(m_axi_bready), .data(m_axi_b)
);
bind dma_arbiter prim_vr_check #(.W($bits(m_axi_ar))) u_vr_m_ar (
  .clk, .rst, .valid(m_axi_arvalid), .ready(m_axi_arready), .data(m_axi_ar)
);
bind dma_arbiter prim_vr_check #(.W($bits(m_axi_r))) u_vr_m_r (
  .clk, .rst, .valid(m_axi_rvalid), .ready(m_axi_rready), .data(m_axi_r)
);

// ---------------------------------------------------------------- nic_top
// (its host bus is dma_arbiter's m_axi port, its uplink output the switch's, checked above)
bind nic_top prim_vr_check #(
  .W($bits({s_axis_uplink_tdata, s_axis_uplink_tkeep, s_axis_uplink_tlast}))
) u_vr_s_uplink (
  .clk, .rst, .valid(s_axis_uplink_tvalid), .ready(s_axis_uplink_tready),
  .data({s_axis_uplink_tdata, s_axis_uplink_tkeep, s_axis_uplink_tlast})
);
bind nic_top prim_vr_check #(.W($bits({s_axil_awaddr, s_axil_awuser}))) u_vr_axil_aw (
  .clk, .rst, .valid(s_axil_awvalid), .ready(s_axil_awready), .data({s_axil_awaddr, s_axil_awuser})
);
bind nic_top prim_vr_check #(.W($bits({s_axil_wdata, s_axil_wstrb}))) u_vr_axil_w (
  .clk, .rst, .valid(s_axil_wvalid), .ready(s_axil_wready), .data({s_axil_wdata, s_axil_wstrb})
);
bind nic_top prim_vr_check #(.W($bits(s_axil_bresp))) u_vr_axil_b (
  .clk, .rst, .valid(s_axil_bvalid), .ready(s_axil_bready), .data(s_axil_bresp)
);
bind nic_top prim_vr_check #(.W($bits({s_axil_araddr, s_axil_aruser}))) u_vr_axil_ar (
  .clk, .rst, .valid(s_axil_arvalid), .ready(s_axil_arready), .data({s_axil_araddr, s_axil_aruser})
);
bind nic_top prim_vr_check #(.W($bits({s_axil_rdata, s_axil_rresp}))) u_vr_axil_r (
  .clk, .rst, .valid(s_axil_rvalid), .ready(s_axil_rready), .data({s_axil_rdata, s_axil_rresp})
);
bind nic_top prim_vr_check #(.W($bits({m_irq_func, m_irq_vector}))) u_vr_irq (
  .clk, .rst, .valid(m_irq_valid), .ready(m_irq_ready), .data({m_irq_func, m_irq_vector})
);
